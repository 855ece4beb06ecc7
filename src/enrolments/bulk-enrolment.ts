import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { newUlid } from '../ids/ulid';
import { Actor, actorOf, Principal } from '../auth/principal';
import { batchNotFound, canReadBatch } from '../batches/batch.decider';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ConflictError, ForbiddenError, HubError, NotFoundError } from '../errors/hub-error';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { Position } from '../event-store/event-store.port';
import { IDENTIFIER } from '../http/request-context';
import { CLOCK, Clock } from '../time/clock';
import { managesBatch } from './enrolment.decider';
import { EnrolmentLookups } from './enrolment-lookups';
import { EnrolmentWriter } from './enrolment-writer';
import { runConcurrently } from './run-concurrently';

export const MAX_BULK_ROWS = 100_000;
/** Rows whose outcome is recorded together: the unit of progress and of resumption. */
const CHUNK_ROWS = 2_000;
/** Enrolments in flight at once: enough to fill the event store's shared append transactions. */
const CONCURRENCY = 128;
/** A running job whose instance has been silent this long is taken over by another. */
const STALE_AFTER_MS = 30_000;
const SWEEP_EVERY_MS = 10_000;

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface BulkEnrolmentJob {
  jobId: string;
  batchId: string;
  status: JobStatus;
  total: number;
  processed: number;
  percent: number;
  enrolled: number;
  alreadyEnrolled: number;
  failed: number;
  error: string | null;
  requestedBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RowFailure {
  row: number;
  userId: string;
  code: string;
  detail: string;
}

interface JobRow {
  job_id: string;
  batch_id: string;
  organisation_id: string;
  requested_by: string;
  actor: Actor;
  status: JobStatus;
  user_ids?: string[];
  total: number;
  processed: number;
  enrolled: number;
  already_enrolled: number;
  failed: number;
  error: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  request_digest: string;
  [column: string]: unknown;
}

const SUMMARY_COLUMNS = `job_id, batch_id, organisation_id, requested_by, actor, status, total,
  processed, enrolled, already_enrolled, failed, error, created_at, started_at, finished_at,
  request_digest`;

const isoOrNull = (value: Date | string | null) =>
  value === null ? null : new Date(value).toISOString();

const toJob = (row: JobRow): BulkEnrolmentJob => ({
  jobId: row.job_id,
  batchId: row.batch_id,
  status: row.status,
  total: Number(row.total),
  processed: Number(row.processed),
  percent: row.total === 0 ? 100 : Math.floor((Number(row.processed) * 100) / Number(row.total)),
  enrolled: Number(row.enrolled),
  alreadyEnrolled: Number(row.already_enrolled),
  failed: Number(row.failed),
  error: row.error,
  requestedBy: row.requested_by,
  createdAt: new Date(row.created_at).toISOString(),
  startedAt: isoOrNull(row.started_at),
  finishedAt: isoOrNull(row.finished_at),
});

const jobNotFound = (jobId: string) =>
  new NotFoundError('JOB_NOT_FOUND', `No enrolment job ${jobId}`, { jobId });

/**
 * Bulk enrolment as a tracked job. The request is stored first; rows are then enrolled in
 * chunks, each chunk's counters and failures committed together, so progress is visible while
 * it runs and a job interrupted by a crash resumes at its last recorded chunk (on this instance
 * at start-up, or on another once this one falls silent). Retrying is safe: a repeated
 * Idempotency-Key returns the first job, and a user enrolled before counts as already enrolled.
 */
@Injectable()
export class BulkEnrolments implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BulkEnrolments.name);
  private readonly running = new Map<string, Promise<void>>();
  private sweeper: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly writer: EnrolmentWriter,
    private readonly lookups: EnrolmentLookups,
  ) {}

  onApplicationBootstrap(): void {
    void this.resumeStale();
    this.sweeper = setInterval(() => void this.resumeStale(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.allSettled([...this.running.values()]);
  }

  /** Stores the job and starts it; with a known idempotency key, returns the earlier job. */
  async submit(
    batchId: string,
    userIds: readonly string[],
    principal: Principal,
    idempotencyKey: string | undefined,
  ): Promise<{ job: BulkEnrolmentJob; created: boolean }> {
    const actor = actorOf(principal);
    const batch = await this.lookups.batch(batchId);
    if (!batch || !canReadBatch(actor, batch)) throw batchNotFound(batchId);
    if (!managesBatch(actor, batch))
      throw new ForbiddenError(
        'UNAUTHORIZED_USER',
        'Only the batch’s creator, its mentors or an admin enrol other users',
      );
    const digest = createHash('sha256')
      .update(JSON.stringify([batchId, userIds]))
      .digest('base64url');
    if (idempotencyKey !== undefined) {
      const earlier = await this.byIdempotencyKey(actor.userId, idempotencyKey);
      if (earlier) return { job: this.sameRequest(earlier, digest), created: false };
    }
    const jobId = newUlid();
    const inserted = await this.db.query<JobRow>(
      `INSERT INTO hub_enrolment_jobs (job_id, batch_id, organisation_id, requested_by, actor,
         idempotency_key, request_digest, status, user_ids, total, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10)
       ON CONFLICT (requested_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING ${SUMMARY_COLUMNS}`,
      [
        jobId,
        batchId,
        actor.organisationId,
        actor.userId,
        JSON.stringify(actor),
        idempotencyKey ?? null,
        digest,
        userIds,
        userIds.length,
        this.clock.now().toISOString(),
      ],
    );
    const row = inserted.rows[0];
    if (!row) {
      // Another request with the same key won the race.
      const earlier = await this.byIdempotencyKey(actor.userId, idempotencyKey ?? '');
      if (!earlier) throw new Error('Idempotent bulk enrolment job vanished');
      return { job: this.sameRequest(earlier, digest), created: false };
    }
    this.start(jobId);
    return { job: toJob(row), created: true };
  }

  async read(batchId: string, jobId: string, principal: Principal): Promise<BulkEnrolmentJob> {
    return toJob(await this.visibleJob(batchId, jobId, principal));
  }

  async failures(
    batchId: string,
    jobId: string,
    principal: Principal,
    afterRow: number,
    limit: number,
  ): Promise<{ items: RowFailure[]; nextAfter: number | null }> {
    await this.visibleJob(batchId, jobId, principal);
    const { rows } = await this.db.query<{
      row_number: number;
      user_id: string;
      code: string;
      detail: string;
    }>(
      `SELECT row_number, user_id, code, detail FROM hub_enrolment_job_failures
        WHERE job_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3`,
      [jobId, afterRow, limit + 1],
    );
    const items = rows.slice(0, limit).map((row) => ({
      row: Number(row.row_number),
      userId: row.user_id,
      code: row.code,
      detail: row.detail,
    }));
    return {
      items,
      nextAfter: rows.length > limit ? (items.at(-1)?.row ?? null) : null,
    };
  }

  /** Resolves when the job has finished here (tests and the CLI wait on it). */
  async settled(jobId: string): Promise<void> {
    await this.running.get(jobId);
  }

  private sameRequest(row: JobRow, digest: string): BulkEnrolmentJob {
    if (row.request_digest !== digest)
      throw new ConflictError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used for a different bulk enrolment',
        { jobId: row.job_id },
      );
    return toJob(row);
  }

  private async byIdempotencyKey(requestedBy: string, key: string): Promise<JobRow | null> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM hub_enrolment_jobs
        WHERE requested_by = $1 AND idempotency_key = $2`,
      [requestedBy, key],
    );
    return rows[0] ?? null;
  }

  /** The requester, whoever manages the batch, and admins of the requester's organisation. */
  private async visibleJob(batchId: string, jobId: string, principal: Principal): Promise<JobRow> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM hub_enrolment_jobs WHERE job_id = $1 AND batch_id = $2`,
      [jobId, batchId],
    );
    const row = rows[0];
    if (!row) throw jobNotFound(jobId);
    const actor = actorOf(principal);
    if (row.requested_by === actor.userId && row.organisation_id === actor.organisationId)
      return row;
    const batch = await this.lookups.batch(batchId);
    if (batch && canReadBatch(actor, batch) && managesBatch(actor, batch)) return row;
    throw jobNotFound(jobId);
  }

  private start(jobId: string): void {
    if (this.running.has(jobId) || this.stopping) return;
    const run = this.run(jobId)
      .catch((error: unknown) =>
        this.logger.error(`Bulk enrolment job ${jobId} failed`, error as Error),
      )
      .finally(() => this.running.delete(jobId));
    this.running.set(jobId, run);
  }

  private async resumeStale(): Promise<void> {
    if (this.stopping) return;
    try {
      const { rows } = await this.db.query<{ job_id: string }>(
        `SELECT job_id FROM hub_enrolment_jobs
          WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < $1)
          ORDER BY created_at`,
        [new Date(this.clock.now().getTime() - STALE_AFTER_MS).toISOString()],
      );
      for (const { job_id } of rows) if (!this.running.has(job_id)) this.start(job_id);
    } catch (error) {
      this.logger.warn(`Could not look for unfinished enrolment jobs: ${String(error)}`);
    }
  }

  /** Takes the job unless another instance runs it; returns what is left to do. */
  private async claim(jobId: string): Promise<JobRow | null> {
    const now = this.clock.now();
    const { rows } = await this.db.query<JobRow>(
      `UPDATE hub_enrolment_jobs
          SET status = 'running', started_at = coalesce(started_at, $2), heartbeat_at = $2
        WHERE job_id = $1
          AND (status = 'queued' OR (status = 'running' AND heartbeat_at < $3))
        RETURNING ${SUMMARY_COLUMNS}, user_ids`,
      [jobId, now.toISOString(), new Date(now.getTime() - STALE_AFTER_MS).toISOString()],
    );
    return rows[0] ?? null;
  }

  private async run(jobId: string): Promise<void> {
    const job = await this.claim(jobId);
    if (!job) return;
    const userIds = job.user_ids ?? [];
    const seen = new Set(userIds.slice(0, job.processed));
    try {
      for (let from = Number(job.processed); from < userIds.length; from += CHUNK_ROWS) {
        if (this.stopping) return;
        await this.runChunk(job, userIds, from, Math.min(from + CHUNK_ROWS, userIds.length), seen);
      }
      await this.db.query(
        `UPDATE hub_enrolment_jobs SET status = 'completed', finished_at = $2, heartbeat_at = $2
          WHERE job_id = $1`,
        [jobId, this.clock.now().toISOString()],
      );
    } catch (error) {
      await this.db.query(
        `UPDATE hub_enrolment_jobs SET status = 'failed', error = $2, finished_at = $3
          WHERE job_id = $1`,
        [jobId, error instanceof Error ? error.message : String(error), this.clock.now()],
      );
      throw error;
    }
  }

  private async runChunk(
    job: JobRow,
    userIds: readonly string[],
    from: number,
    to: number,
    seen: Set<string>,
  ): Promise<void> {
    const { actor } = job;
    const rows = userIds.slice(from, to);
    const failures: RowFailure[] = [];
    let enrolled = 0;
    let alreadyEnrolled = 0;
    const fail = (index: number, code: string, detail: string) =>
      failures.push({ row: from + index + 1, userId: rows[index]!, code, detail });

    const todo: { userId: string; index: number }[] = [];
    rows.forEach((userId, index) => {
      if (!IDENTIFIER.test(userId)) fail(index, 'INVALID_USER_ID', 'Not a valid user id');
      else if (seen.has(userId))
        fail(index, 'DUPLICATE_USER_ID', 'The user appears earlier in this request');
      else {
        seen.add(userId);
        todo.push({ userId, index });
      }
    });
    const [batch, learners] = await Promise.all([
      this.lookups.batch(job.batch_id),
      this.lookups.learners(todo.map((row) => row.userId)),
    ]);
    const course = batch && (await this.lookups.course(batch.courseId));
    const metadata = { ...actorMetadata(actor), bulkEnrolmentJob: job.job_id };
    const positions: (Position | undefined)[] = [];
    await runConcurrently(todo, CONCURRENCY, async ({ userId, index }) => {
      try {
        const outcome = await this.writer.execute(
          {
            type: 'Enrol',
            actor,
            now: this.clock.now(),
            batchId: job.batch_id,
            batch,
            userId,
            learner: learners.get(userId) ?? null,
            course,
          },
          metadata,
          { assumeNew: true },
        );
        positions.push(outcome.appended?.position);
        enrolled++;
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        if (error.code === 'USER_ALREADY_ENROLLED_COURSE') alreadyEnrolled++;
        else fail(index, error.code, error.message);
      }
    });
    // A row counted as processed is one the participants list already shows.
    await this.writer.settle(positions);
    await this.db.transaction(async (tx) => {
      if (failures.length > 0)
        await tx.query(
          `INSERT INTO hub_enrolment_job_failures (job_id, row_number, user_id, code, detail)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])
           ON CONFLICT DO NOTHING`,
          [
            job.job_id,
            failures.map((f) => f.row),
            failures.map((f) => f.userId),
            failures.map((f) => f.code),
            failures.map((f) => f.detail),
          ],
        );
      await tx.query(
        `UPDATE hub_enrolment_jobs
            SET processed = $2, enrolled = enrolled + $3, already_enrolled = already_enrolled + $4,
                failed = failed + $5, heartbeat_at = $6
          WHERE job_id = $1`,
        [job.job_id, to, enrolled, alreadyEnrolled, failures.length, this.clock.now()],
      );
    });
  }
}
