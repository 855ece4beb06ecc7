import { createHash } from 'node:crypto';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Actor, actorOf, isRole, Principal } from '../auth/principal';
import { batchNotFound, canReadBatch } from '../batches/batch.decider';
import { SQL_DATABASE, SqlDatabase, SqlExecutor } from '../database/sql-database';
import { ForbiddenError, HubError } from '../errors/hub-error';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore, Position } from '../event-store/event-store.port';
import { IDENTIFIER } from '../http/request-context';
import { Job, JobContext, JobHandler, JobState, PermanentJobError, percentDone } from '../jobs/job';
import { JobRunner } from '../jobs/job-runner';
import { jobNotFound, Jobs } from '../jobs/jobs';
import { CLOCK, Clock } from '../time/clock';
import {
  BulkCounts,
  BulkEnrolmentCommand,
  bulkEnrolmentDecider,
  bulkEnrolmentStream,
} from './bulk-enrolment.events';
import { managesBatch } from './enrolment.decider';
import { enrolmentStream } from './enrolment.events';
import { EnrolmentLookups } from './enrolment-lookups';
import { EnrolmentWriter } from './enrolment-writer';
import { runConcurrently } from '../jobs/run-concurrently';

export const MAX_BULK_ROWS = 100_000;
export const BULK_ENROLMENT_JOB = 'bulk-enrolment';
/** Rows whose outcome is recorded together: the unit of progress and of resumption. */
const CHUNK_ROWS = 2_000;
/** Enrolments in flight at once: enough to fill the event store's shared append transactions. */
const CONCURRENCY = 128;

export interface BulkEnrolmentJob {
  jobId: string;
  batchId: string;
  status: JobState;
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

/** What the job table holds for a bulk enrolment; the user ids stay in hub_enrolment_jobs. */
interface BulkPayload {
  batchId: string;
  /** The requester: a resumed job acts as them. */
  actor: Actor;
}

/** The checkpoint: rows done, and what became of them. */
interface BulkProgress extends BulkCounts {
  processed: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isActor = (value: unknown): value is Actor =>
  isRecord(value) &&
  typeof value.userId === 'string' &&
  typeof value.organisationId === 'string' &&
  Array.isArray(value.roles) &&
  value.roles.every(isRole);

const payloadOf = (job: Job): BulkPayload => {
  const { payload } = job;
  if (!isRecord(payload) || typeof payload.batchId !== 'string' || !isActor(payload.actor))
    throw new PermanentJobError(`Job ${job.id} is not a bulk enrolment`);
  return { batchId: payload.batchId, actor: payload.actor };
};

const count = (record: Record<string, unknown>, key: string): number =>
  typeof record[key] === 'number' ? record[key] : 0;

const progressOf = (job: Job): BulkProgress => {
  const state = isRecord(job.checkpoint) ? job.checkpoint : {};
  return {
    processed: count(state, 'processed'),
    enrolled: count(state, 'enrolled'),
    alreadyEnrolled: count(state, 'alreadyEnrolled'),
    failed: count(state, 'failed'),
  };
};

const toBulkJob = (job: Job, batchId: string): BulkEnrolmentJob => {
  const { enrolled, alreadyEnrolled, failed } = progressOf(job);
  return {
    jobId: job.id,
    batchId,
    status: job.state,
    total: job.progress.total ?? 0,
    processed: job.progress.done,
    percent: percentDone(job.progress) ?? 0,
    enrolled,
    alreadyEnrolled,
    failed,
    error: job.error,
    requestedBy: job.requestedBy,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
};

/**
 * Bulk enrolment as a job of the job runner. The request is stored first; rows are then enrolled
 * in chunks, each chunk's counts (the job's checkpoint) and failures committed together, so
 * progress is visible while it runs and a job interrupted by a crash resumes at its last
 * recorded chunk on whichever instance claims it next. Retrying is safe: a repeated
 * Idempotency-Key returns the first job, and a user enrolled before counts as already enrolled
 * (unless this very job enrolled them before it was interrupted).
 */
@Injectable()
export class BulkEnrolments implements OnModuleInit {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly jobs: Jobs,
    private readonly runner: JobRunner,
    private readonly writer: EnrolmentWriter,
    private readonly lookups: EnrolmentLookups,
  ) {}

  onModuleInit(): void {
    const handler: JobHandler = {
      kind: BULK_ENROLMENT_JOB,
      run: (job, context) => this.run(job, context),
      failed: (job, error) => this.recordFailed(job, error),
      cancelled: (job, cancelledBy) => this.recordCancelled(job, cancelledBy),
    };
    this.runner.register(handler);
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
    const payload: BulkPayload = { batchId, actor };
    const { job, created } = await this.jobs.enqueue({
      kind: BULK_ENROLMENT_JOB,
      organisationId: actor.organisationId,
      requestedBy: actor.userId,
      payload,
      total: userIds.length,
      requestDigest: digest,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      alongside: async (tx, jobId) => {
        await tx.query(
          'INSERT INTO hub_enrolment_jobs (job_id, batch_id, user_ids) VALUES ($1, $2, $3)',
          [jobId, batchId, userIds],
        );
      },
    });
    if (created) await this.recordRequested(job, payload);
    return { job: toBulkJob(job, batchId), created };
  }

  async read(batchId: string, jobId: string, principal: Principal): Promise<BulkEnrolmentJob> {
    return toBulkJob(await this.visibleJob(batchId, jobId, principal), batchId);
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

  /** The requester, whoever manages the batch, and admins of the requester's organisation. */
  private async visibleJob(batchId: string, jobId: string, principal: Principal): Promise<Job> {
    const job = await this.jobs.find(jobId);
    if (!job || job.kind !== BULK_ENROLMENT_JOB || payloadOf(job).batchId !== batchId)
      throw jobNotFound(jobId);
    const actor = actorOf(principal);
    if (job.requestedBy === actor.userId && job.organisationId === actor.organisationId) return job;
    const batch = await this.lookups.batch(batchId);
    if (batch && canReadBatch(actor, batch) && managesBatch(actor, batch)) return job;
    throw jobNotFound(jobId);
  }

  private async run(job: Job, context: JobContext): Promise<BulkCounts | null> {
    const payload = payloadOf(job);
    const { rows } = await this.db.query<{ user_ids: string[] }>(
      'SELECT user_ids FROM hub_enrolment_jobs WHERE job_id = $1',
      [job.id],
    );
    const userIds = rows[0]?.user_ids;
    if (!userIds) throw new PermanentJobError(`The user ids of job ${job.id} are missing`);
    // Also here, in case the instance that stored the job died before it recorded the request.
    await this.recordRequested(job, payload);
    let progress = progressOf(job);
    const seen = new Set(userIds.slice(0, progress.processed));
    // Rows past the checkpoint that an interrupted attempt may have enrolled already.
    let mayHaveRun = job.attempts > 1 || progress.processed > 0;
    for (let from = progress.processed; from < userIds.length; from += CHUNK_ROWS) {
      if (context.signal.aborted) return null;
      const to = Math.min(from + CHUNK_ROWS, userIds.length);
      const rows = userIds.slice(from, to);
      const outcome = await this.runChunk(job.id, payload, rows, from, seen, mayHaveRun, context);
      // Cancelled mid-chunk: the enrolments made stay, uncounted, as the job ends here.
      if (context.signal.aborted) return null;
      mayHaveRun = false;
      progress = {
        processed: to,
        enrolled: progress.enrolled + outcome.enrolled,
        alreadyEnrolled: progress.alreadyEnrolled + outcome.alreadyEnrolled,
        failed: progress.failed + outcome.failures.length,
      };
      await context.checkpoint(progress, { done: to, total: userIds.length }, (tx) =>
        insertFailures(tx, job.id, outcome.failures),
      );
    }
    const counts: BulkCounts = {
      enrolled: progress.enrolled,
      alreadyEnrolled: progress.alreadyEnrolled,
      failed: progress.failed,
    };
    await this.record(job.id, payload.actor, {
      type: 'CompleteBulkEnrolment',
      data: {
        jobId: job.id,
        batchId: payload.batchId,
        total: userIds.length,
        ...counts,
        completedAt: this.clock.now().toISOString(),
      },
    });
    return counts;
  }

  private async runChunk(
    jobId: string,
    { batchId, actor }: BulkPayload,
    rows: readonly string[],
    from: number,
    seen: Set<string>,
    mayHaveRun: boolean,
    { signal }: Pick<JobContext, 'signal'>,
  ): Promise<{ enrolled: number; alreadyEnrolled: number; failures: RowFailure[] }> {
    const failures: RowFailure[] = [];
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
      this.lookups.batch(batchId),
      this.lookups.learners(todo.map((row) => row.userId)),
    ]);
    const course = batch && (await this.lookups.course(batch.courseId));
    const metadata = { ...actorMetadata(actor), bulkEnrolmentJob: jobId };
    const positions: (Position | undefined)[] = [];
    const enrolledBefore: string[] = [];
    let enrolled = 0;
    await runConcurrently(
      todo,
      CONCURRENCY,
      async ({ userId, index }) => {
        try {
          const outcome = await this.writer.execute(
            {
              type: 'Enrol',
              actor,
              now: this.clock.now(),
              batchId,
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
          if (error.code === 'USER_ALREADY_ENROLLED_COURSE') enrolledBefore.push(userId);
          else fail(index, error.code, error.message);
        }
      },
      signal,
    );
    if (signal.aborted) return { enrolled, alreadyEnrolled: 0, failures };
    const byThisJob = mayHaveRun ? await this.enrolledBy(jobId, batchId, enrolledBefore) : 0;
    // A row counted as processed is one the participants list already shows.
    await this.writer.settle(positions);
    return {
      enrolled: enrolled + byThisJob,
      alreadyEnrolled: enrolledBefore.length - byThisJob,
      failures: failures.sort((a, b) => a.row - b.row),
    };
  }

  /** How many of `userIds` this job's interrupted attempt enrolled (its id is in the metadata). */
  private async enrolledBy(jobId: string, batchId: string, userIds: string[]): Promise<number> {
    let found = 0;
    await runConcurrently(userIds, 32, async (userId) => {
      const events = await this.store.readStream(enrolmentStream(batchId, userId));
      const enrolment = events.findLast((event) => event.type === 'UserEnrolled');
      if (enrolment?.metadata.bulkEnrolmentJob === jobId) found++;
    });
    return found;
  }

  private async recordRequested(job: Job, { batchId }: BulkPayload): Promise<void> {
    await this.record(job.id, payloadOf(job).actor, {
      type: 'RequestBulkEnrolment',
      data: {
        jobId: job.id,
        batchId,
        organisationId: job.organisationId,
        requestedBy: job.requestedBy,
        total: job.progress.total ?? 0,
        requestedAt: job.createdAt,
      },
    });
  }

  private async recordFailed(job: Job, error: string): Promise<void> {
    const { batchId, actor } = payloadOf(job);
    await this.record(job.id, actor, {
      type: 'FailBulkEnrolment',
      data: { jobId: job.id, batchId, error, failedAt: this.clock.now().toISOString() },
    });
  }

  private async recordCancelled(job: Job, cancelledBy: string): Promise<void> {
    const { batchId, actor } = payloadOf(job);
    await this.record(job.id, actor, {
      type: 'CancelBulkEnrolment',
      data: { jobId: job.id, batchId, cancelledBy, cancelledAt: this.clock.now().toISOString() },
    });
  }

  private async record(jobId: string, actor: Actor, command: BulkEnrolmentCommand) {
    await handleCommand(this.store, bulkEnrolmentStream(jobId), bulkEnrolmentDecider, command, {
      metadata: actorMetadata(actor),
    });
  }
}

const insertFailures = async (
  tx: SqlExecutor,
  jobId: string,
  failures: readonly RowFailure[],
): Promise<void> => {
  if (failures.length === 0) return;
  await tx.query(
    `INSERT INTO hub_enrolment_job_failures (job_id, row_number, user_id, code, detail)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])
     ON CONFLICT DO NOTHING`,
    [
      jobId,
      failures.map((f) => f.row),
      failures.map((f) => f.userId),
      failures.map((f) => f.code),
      failures.map((f) => f.detail),
    ],
  );
};
