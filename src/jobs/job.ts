import { SqlExecutor, SqlRow } from '../database/sql-database';

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const isFinished = (state: JobState): boolean =>
  state === 'completed' || state === 'failed' || state === 'cancelled';

/** A background job as the job table holds it. `payload`, `checkpoint` and `result` are JSON. */
export interface Job {
  id: string;
  kind: string;
  organisationId: string;
  requestedBy: string;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  payload: unknown;
  /** The state a resumable handler recorded with its last progress; null before any. */
  checkpoint: unknown;
  progress: { done: number; total: number | null };
  result: unknown;
  error: string | null;
  requestDigest: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** What a handler gets besides its job: the signal to stop on, and ways to record progress. */
export interface JobContext {
  /** Aborted when the job is cancelled, its lease is lost or the instance shuts down. */
  readonly signal: AbortSignal;
  /** Progress without a checkpoint, for work that cannot resume part-way. */
  reportProgress(done: number, total: number | null): Promise<void>;
  /**
   * Records progress and the state to resume from after a crash, with the handler's own writes
   * (`work`) in the same transaction. Throws JobLeaseLostError (and writes nothing) once the job
   * is no longer this runner's: cancelled, or taken over after the lease ran out.
   */
  checkpoint(
    state: unknown,
    progress: { done: number; total: number | null },
    work?: (tx: SqlExecutor) => Promise<void>,
  ): Promise<void>;
}

/** One kind of job. Every instance that registers it may run it; each job runs on one at a time. */
export interface JobHandler {
  readonly kind: string;
  /** Attempts before the job fails (a crash or a lost lease counts as one); 5 by default. */
  readonly maxAttempts?: number;
  /** The delay before the first retry, doubling with each further one; 1 s by default. */
  readonly retryBaseMs?: number;
  /** Memory-heavy: while it runs, caches shrink and the heap is collected (MemoryRoom). */
  readonly needsMemoryRoom?: boolean;
  /** Does the work; resolves to the job's result (JSON), or returns early once `signal` aborts. */
  run(job: Job, context: JobContext): Promise<unknown>;
  /** After the last attempt failed, before the job shows failed: at least once. */
  failed?(job: Job, error: string): Promise<void>;
  /** After the job was cancelled (by the user `cancelledBy`), in the instance that cancelled it. */
  cancelled?(job: Job, cancelledBy: string): Promise<void>;
  /** What GET /v1/jobs/{id} adds about a job of this kind (`details`): its domain's view of it. */
  describe?(job: Job): Promise<unknown>;
}

/** Thrown by a handler whose job cannot succeed however often it is tried: no retry. */
export class PermanentJobError extends Error {}

/** The job was cancelled or taken over: the handler's writes were not recorded. */
export class JobLeaseLostError extends Error {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} is no longer held by this instance`);
  }
}

export interface JobRow extends SqlRow {
  id: string;
  kind: string;
  organisation_id: string;
  requested_by: string;
  request_digest: string | null;
  payload: unknown;
  state: JobState;
  attempts: number;
  max_attempts: number;
  progress_done: string | number;
  progress_total: string | number | null;
  checkpoint: unknown;
  result: unknown;
  error: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

export const JOB_COLUMNS = `id, kind, organisation_id, requested_by, request_digest, payload, state,
  attempts, max_attempts, progress_done, progress_total, checkpoint, result, error, created_at,
  started_at, finished_at`;

const isoOrNull = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

export const toJob = (row: JobRow): Job => ({
  id: row.id,
  kind: row.kind,
  organisationId: row.organisation_id,
  requestedBy: row.requested_by,
  state: row.state,
  attempts: Number(row.attempts),
  maxAttempts: Number(row.max_attempts),
  payload: row.payload,
  checkpoint: row.checkpoint ?? null,
  progress: {
    done: Number(row.progress_done),
    total: row.progress_total === null ? null : Number(row.progress_total),
  },
  result: row.result ?? null,
  error: row.error,
  requestDigest: row.request_digest,
  createdAt: new Date(row.created_at).toISOString(),
  startedAt: isoOrNull(row.started_at),
  finishedAt: isoOrNull(row.finished_at),
});

/** Whole percent done, rounded down; null while the total is unknown. */
export const percentDone = ({ done, total }: Job['progress']): number | null =>
  total === null ? null : total === 0 ? 100 : Math.min(100, Math.floor((done * 100) / total));

/** JSON for a jsonb parameter; undefined is SQL NULL. */
export const jsonParam = (value: unknown): string | null =>
  value === undefined ? null : JSON.stringify(value);
