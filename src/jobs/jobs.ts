import { Inject, Injectable, Logger } from '@nestjs/common';
import { Actor, isAdminOf } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase, SqlExecutor } from '../database/sql-database';
import { ConflictError, NotFoundError } from '../errors/hub-error';
import { newUlid } from '../ids/ulid';
import { CLOCK, Clock } from '../time/clock';
import { Job, JOB_COLUMNS, JobRow, jsonParam, toJob } from './job';
import { JobRunner } from './job-runner';

export interface JobRequest {
  kind: string;
  /**
   * The job's id, when the domain already names the work (a report request's id): a job of that
   * id is returned as it stands. Otherwise a new ULID.
   */
  id?: string;
  organisationId: string;
  requestedBy: string;
  payload: unknown;
  /** The same key (per kind, organisation and requester) returns the job it first created. */
  idempotencyKey?: string;
  /** What the request was, to refuse a key sent again with another one. */
  requestDigest?: string;
  /** The amount of work, when known up front. */
  total?: number | null;
  /** The kind's own rows, written in the job's transaction (only when the job is created). */
  alongside?: (tx: SqlExecutor, jobId: string) => Promise<void>;
}

export const jobNotFound = (jobId: string) =>
  new NotFoundError('JOB_NOT_FOUND', `No job ${jobId}`, { jobId });

/** The requester, admins of the job's organisation and system admins see and cancel a job. */
export const canManageJob = (actor: Actor, job: Job): boolean =>
  (job.requestedBy === actor.userId && job.organisationId === actor.organisationId) ||
  isAdminOf(actor, job.organisationId);

/** Enqueues, reads and cancels jobs; the JobRunner runs them. */
@Injectable()
export class Jobs {
  private readonly logger = new Logger(Jobs.name);

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly runner: JobRunner,
  ) {}

  /** Stores the job and wakes this instance's runner; a known idempotency key returns its job. */
  async enqueue(request: JobRequest): Promise<{ job: Job; created: boolean }> {
    const key = request.idempotencyKey;
    if (key !== undefined) {
      const earlier = await this.byIdempotencyKey(request, key);
      if (earlier) return { job: this.sameRequest(earlier, request), created: false };
    }
    if (request.id !== undefined) {
      const named = await this.find(request.id);
      if (named) return { job: named, created: false };
    }
    const id = request.id ?? newUlid();
    const row = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<JobRow>(
        `INSERT INTO hub_jobs (id, kind, organisation_id, requested_by, idempotency_key,
           request_digest, payload, state, max_attempts, run_after, progress_total, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'queued', $8, now(), $9, $10)
         ON CONFLICT DO NOTHING
         RETURNING ${JOB_COLUMNS}`,
        [
          id,
          request.kind,
          request.organisationId,
          request.requestedBy,
          key ?? null,
          request.requestDigest ?? null,
          jsonParam(request.payload ?? {}),
          this.runner.maxAttemptsOf(request.kind),
          request.total ?? null,
          this.clock.now().toISOString(),
        ],
      );
      const inserted = rows[0];
      if (inserted) await request.alongside?.(tx, id);
      return inserted;
    });
    if (!row) {
      // Another request with the same key won the race.
      const earlier = await this.byIdempotencyKey(request, key ?? '');
      if (!earlier) throw new Error(`Idempotent job ${request.kind} vanished`);
      return { job: this.sameRequest(earlier, request), created: false };
    }
    this.runner.wake();
    return { job: toJob(row), created: true };
  }

  async find(jobId: string): Promise<Job | null> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM hub_jobs WHERE id = $1`,
      [jobId],
    );
    const row = rows[0];
    return row ? toJob(row) : null;
  }

  /** The job, if the actor may see it; JOB_NOT_FOUND otherwise, as for a job that is not. */
  async visible(jobId: string, actor: Actor): Promise<Job> {
    const job = await this.find(jobId);
    if (!job || !canManageJob(actor, job)) throw jobNotFound(jobId);
    return job;
  }

  /**
   * Cancels a queued or running job. A running handler is stopped at once when it runs in this
   * instance, else within the runner's watch interval on the one that runs it.
   */
  async cancel(jobId: string, actor: Actor): Promise<Job> {
    const before = await this.visible(jobId, actor);
    const { rows } = await this.db.query<JobRow>(
      `UPDATE hub_jobs
          SET state = 'cancelled', finished_at = $2, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $1 AND state IN ('queued', 'running')
        RETURNING ${JOB_COLUMNS}`,
      [jobId, this.clock.now().toISOString()],
    );
    const row = rows[0];
    if (!row) {
      const now = (await this.find(jobId)) ?? before;
      throw new ConflictError('JOB_NOT_CANCELLABLE', `Job ${jobId} is already ${now.state}`, {
        jobId,
        state: now.state,
      });
    }
    this.runner.abort(jobId, 'cancelled');
    const job = toJob(row);
    try {
      await this.runner.handlerOf(job.kind)?.cancelled?.(job, actor.userId);
    } catch (error) {
      this.logger.error(`Job ${jobId}: its kind's cancellation hook failed: ${String(error)}`);
    }
    return job;
  }

  /**
   * Runs a failed job again from the start with fresh attempts (a report asked for again after it
   * failed keeps its id), with a new payload if given; null unless the job had failed.
   */
  async requeue(jobId: string, payload?: unknown): Promise<Job | null> {
    const { rows } = await this.db.query<JobRow>(
      `UPDATE hub_jobs
          SET state = 'queued', attempts = 0, run_after = now(), lease_owner = NULL,
              lease_expires_at = NULL, progress_done = 0, checkpoint = NULL, result = NULL,
              error = NULL, finished_at = NULL, payload = coalesce($2::jsonb, payload)
        WHERE id = $1 AND state = 'failed'
        RETURNING ${JOB_COLUMNS}`,
      [jobId, payload === undefined ? null : jsonParam(payload)],
    );
    const row = rows[0];
    if (!row) return null;
    this.runner.wake();
    return toJob(row);
  }

  /** What the job's kind says about it (GET /v1/jobs/{id} `details`), if it says anything. */
  describe(job: Job): Promise<unknown> {
    return this.runner.handlerOf(job.kind)?.describe?.(job) ?? Promise.resolve(undefined);
  }

  /** Replaces a job's payload: to drop what it no longer needs (a report's sealed password). */
  async replacePayload(jobId: string, payload: unknown): Promise<void> {
    await this.db.query('UPDATE hub_jobs SET payload = $2::jsonb WHERE id = $1', [
      jobId,
      jsonParam(payload),
    ]);
  }

  private async byIdempotencyKey(request: JobRequest, key: string): Promise<Job | null> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM hub_jobs
        WHERE kind = $1 AND organisation_id = $2 AND requested_by = $3 AND idempotency_key = $4`,
      [request.kind, request.organisationId, request.requestedBy, key],
    );
    const row = rows[0];
    return row ? toJob(row) : null;
  }

  private sameRequest(job: Job, request: JobRequest): Job {
    if (job.requestDigest !== (request.requestDigest ?? null))
      throw new ConflictError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used for a different request',
        { jobId: job.id },
      );
    return job;
  }
}
