import { randomUUID } from 'node:crypto';
import { EventMetadata, EventStore } from '../event-store/event-store.port';
import { lmsMirrorRequestStream, LmsMirrorRequested } from './lms-mirror.events';

/**
 * Asks for a batch's learners to be mirrored again (`null`: the whole batch), in one append to
 * the batch's request stream; answers what was recorded.
 */
export const requestMirror = async (
  store: EventStore,
  batchId: string,
  userIds: readonly (string | null)[],
  request: { requestedBy: string; requestedAt: Date; metadata: EventMetadata },
): Promise<LmsMirrorRequested['data'][]> => {
  const requests = userIds.map((userId) => ({
    batchId,
    userId,
    requestedBy: request.requestedBy,
    requestedAt: request.requestedAt.toISOString(),
  }));
  if (requests.length === 0) return [];
  await store.appendToStream(
    lmsMirrorRequestStream(batchId),
    requests.map((data) => ({
      id: randomUUID(),
      type: 'LmsMirrorRequested',
      data,
      metadata: request.metadata,
    })),
  );
  return requests;
};
