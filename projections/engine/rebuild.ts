import { SqlDatabase } from '../../src/database/sql-database';
import { HubError } from '../../src/errors/hub-error';
import { EventStore } from '../../src/event-store/event-store.port';
import { prepareProjection, resetProjection } from './checkpoints';
import { tryLead } from './leadership';
import { Projection } from './projection';
import { projectionFilter, runProjection } from './projection-runner';

export interface RebuildProgress {
  applied: number;
  /** Events to replay as counted at the start; null when the store cannot count. */
  total: number | null;
  elapsedMs: number;
}

export class ProjectionBusyError extends HubError {
  constructor(projection: string) {
    super(
      'conflict',
      'projection_busy',
      `Projection "${projection}" is being run by another hub instance. Stop that instance, then rebuild.`,
    );
  }
}

/**
 * Empties a read model and replays every event it handles from the start, reporting progress
 * per committed batch. Takes the projection's leadership for the duration, so no running
 * instance writes to it meanwhile.
 */
export const rebuildProjection = async (
  projection: Projection,
  deps: { db: SqlDatabase; store: EventStore },
  options: {
    batchSize?: number;
    onProgress?: (progress: RebuildProgress) => void;
    signal?: AbortSignal;
  } = {},
): Promise<RebuildProgress> => {
  const leadership = await tryLead(deps.db, projection.name);
  if (!leadership) throw new ProjectionBusyError(projection.name);
  try {
    const started = Date.now();
    await deps.db.transaction(async (tx) => {
      await prepareProjection(tx, projection);
      await resetProjection(tx, projection);
    });
    const total = await deps.store.countEventsAfter(
      null,
      projectionFilter(projection),
      Number.MAX_SAFE_INTEGER,
    );
    let applied = 0;
    const report = () => ({ applied, total, elapsedMs: Date.now() - started });
    options.onProgress?.(report());
    await runProjection(projection, deps, {
      batchSize: options.batchSize ?? 1_000,
      signal: options.signal ?? new AbortController().signal,
      untilCaughtUp: true,
      onBatch: (batch) => {
        applied += batch.applied;
        options.onProgress?.(report());
      },
    });
    return report();
  } finally {
    await leadership.release();
  }
};
