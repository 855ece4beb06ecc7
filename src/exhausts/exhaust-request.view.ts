import { loadState } from '../event-sourcing/command-handler';
import { EventStore } from '../event-store/event-store.port';
import { exhaustRequestDecider, ExhaustRequestState } from './exhaust-request.decider';
import { exhaustRequestStream } from './exhaust-request.events';

type Existing = Extract<ExhaustRequestState, { exists: true }>;

/** A report request as the reference's job_request row shows it, with the rows written so far. */
export interface JobRequestView {
  requestId: string;
  tag: string;
  jobId: string;
  status: Existing['status'];
  requestData: { batchIds: string[]; type: string; encrypted: boolean };
  requestedBy: string;
  requestedChannel: string;
  dtJobSubmitted: string;
  downloadUrls: string[];
  dtJobCompleted: string | null;
  executionTime: number | null;
  errMessage: string | null;
  iteration: number;
  processedBatches: Array<{ batchId: string; filePath: string; fileSize: number; rows: number }>;
  rowsWritten: number;
}

export const readExhaustRequest = async (
  store: EventStore,
  requestId: string,
): Promise<ExhaustRequestState> =>
  (await loadState(store, exhaustRequestStream(requestId), exhaustRequestDecider)).state;

export const jobRequestView = (state: Existing, rowsWritten: number): JobRequestView => ({
  requestId: state.request.requestId,
  tag: state.request.tag,
  jobId: state.request.type,
  status: state.status,
  requestData: {
    batchIds: state.request.batchIds,
    type: state.request.type,
    encrypted: state.request.encrypted,
  },
  requestedBy: state.request.requestedBy,
  requestedChannel: state.request.organisationId,
  dtJobSubmitted: state.request.requestedAt,
  downloadUrls: state.files.map((file) => file.key),
  dtJobCompleted: state.endedAt,
  executionTime: state.executionMs,
  errMessage: state.error,
  iteration: state.iteration,
  processedBatches: state.files.map((file) => ({
    batchId: file.batchId,
    filePath: file.key,
    fileSize: file.bytes,
    rows: file.rows,
  })),
  rowsWritten,
});
