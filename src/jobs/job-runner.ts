import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { WakeSignal } from '../coordination/wake-signal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { CLOCK, Clock } from '../time/clock';
import { MemoryRoom } from './memory-room';
import {
  Job,
  JOB_COLUMNS,
  JobContext,
  JobHandler,
  JobLeaseLostError,
  JobRow,
  jsonParam,
  PermanentJobError,
  toJob,
} from './job';

export interface JobRunnerOptions {
  /** How long a claim holds without a heartbeat: a dead instance's jobs wait this long. */
  leaseMs: number;
  /** How often an idle runner looks for jobs that other instances enqueued. */
  pollMs: number;
  /** How often a busy runner checks whether its jobs were cancelled (on another instance). */
  watchMs: number;
  /** Jobs this instance runs at once. */
  concurrency: number;
}

export const JOB_RUNNER_OPTIONS = Symbol('JOB_RUNNER_OPTIONS');

export const DEFAULT_JOB_RUNNER_OPTIONS: JobRunnerOptions = {
  leaseMs: 15_000,
  pollMs: 1_000,
  watchMs: 250,
  concurrency: 4,
};

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_RETRY_BASE_MS = 1_000;
const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** Why a running job's signal aborted. */
export type StopReason = 'cancelled' | 'lost' | 'shutdown';

interface ActiveJob {
  /** This claim's lease: the owner and a number no other claim of this runner uses. */
  lease: string;
  controller: AbortController;
  done: Promise<void>;
}

/** The end of a lease of `$n` milliseconds, by the database's clock: every instance shares it. */
const leaseUntil = (param: string) => `now() + ${param}::int * interval '1 millisecond'`;
const LEASE_UNTIL = leaseUntil('$3');
/** The job ($1) still runs under this claim's lease ($2): a write that fails it is fenced off. */
const HELD = `id = $1 AND lease_owner = $2 AND state = 'running'`;

const CLAIM = `
UPDATE hub_jobs AS j
   SET state = 'running', attempts = j.attempts + 1, lease_owner = $2,
       lease_expires_at = ${LEASE_UNTIL}, heartbeat_at = now(),
       started_at = coalesce(j.started_at, $4)
 WHERE j.id = (
   SELECT id FROM hub_jobs
    WHERE kind = ANY($1::text[])
      AND ((state = 'queued' AND run_after <= now())
        OR (state = 'running' AND lease_expires_at < now()))
    ORDER BY run_after, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING ${JOB_COLUMNS}`;

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * The one runner of background jobs. Each instance claims due jobs of the kinds registered with
 * it (FOR UPDATE SKIP LOCKED, so two never take the same one) under a lease its heartbeat
 * renews; a job whose lease ran out (its instance died) is claimed again by any instance and
 * resumes from its last checkpoint. A failed attempt is retried with exponential back-off up to
 * the kind's attempts, then the job fails. Cancellation aborts the handler's signal: at once in
 * the instance that cancels, within `watchMs` on another.
 *
 * A job enqueued in this process wakes the runner at once; other instances find it when they
 * next poll.
 */
@Injectable()
export class JobRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobRunner.name);
  /** Names this instance in the lease column, for operators reading the table. */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly options: JobRunnerOptions;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly active = new Map<string, ActiveJob>();
  private readonly wakeSignal = new WakeSignal();
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];
  private claims = 0;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(JOB_RUNNER_OPTIONS) options?: Partial<JobRunnerOptions>,
    @Optional() private readonly memoryRoom: MemoryRoom = new MemoryRoom(),
  ) {
    this.options = { ...DEFAULT_JOB_RUNNER_OPTIONS, ...options };
  }

  /** Registers a kind; slices do it while the application initialises, before the runner starts. */
  register(handler: JobHandler): void {
    if (this.handlers.has(handler.kind)) throw new Error(`Job kind ${handler.kind} is taken`);
    this.handlers.set(handler.kind, handler);
    this.wake();
  }

  handlerOf(kind: string): JobHandler | undefined {
    return this.handlers.get(kind);
  }

  maxAttemptsOf(kind: string): number {
    return this.handlers.get(kind)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.loops.length > 0 || this.stopping.signal.aborted) return;
    this.loops = [this.claimLoop(), this.watchLoop()];
  }

  /** Stops claiming, stops the running handlers and hands their jobs back to the queue. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const id of this.active.keys()) this.abort(id, 'shutdown');
    await Promise.allSettled([...this.loops, ...[...this.active.values()].map((a) => a.done)]);
  }

  /** Looks for work now: a job was enqueued (or became due) in this process. */
  wake(): void {
    this.wakeSignal.notify();
  }

  /** Aborts the job's handler if it runs here; whether it did. */
  abort(jobId: string, reason: StopReason): boolean {
    const running = this.active.get(jobId);
    if (!running) return false;
    if (!running.controller.signal.aborted) running.controller.abort(reason);
    return true;
  }

  /** Resolves once the job, if it runs here, has stopped (tests wait on it). */
  async settled(jobId: string): Promise<void> {
    await this.active.get(jobId)?.done;
  }

  private async claimLoop(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      const generation = this.wakeSignal.generation;
      let claimed = false;
      if (this.active.size < this.options.concurrency && this.handlers.size > 0)
        claimed = await this.claimOne().catch((error: unknown) => {
          this.logger.warn(`Could not claim a job: ${errorText(error)}`);
          return false;
        });
      if (!claimed) await this.wakeSignal.wait(generation, this.options.pollMs, signal);
    }
  }

  private async claimOne(): Promise<boolean> {
    // A lease of its own per claim: should this runner lose a job (its heartbeat failing) and
    // claim it again, the first run must not go on writing as if it still held it.
    const lease = `${this.owner}:${++this.claims}`;
    const { rows } = await this.db.query<JobRow>(CLAIM, [
      [...this.handlers.keys()],
      lease,
      this.options.leaseMs,
      this.clock.now().toISOString(),
    ]);
    const row = rows[0];
    if (!row) return false;
    const job = toJob(row);
    const handler = this.handlers.get(job.kind);
    if (!handler) return false;
    this.abort(job.id, 'lost');
    if (job.attempts > job.maxAttempts)
      await this.fail(job, lease, handler, job.error ?? 'Its last attempt stopped unfinished');
    else this.launch(job, lease, handler);
    return true;
  }

  private launch(job: Job, lease: string, handler: JobHandler): void {
    const controller = new AbortController();
    const entry: ActiveJob = { lease, controller, done: Promise.resolve() };
    entry.done = this.execute(job, lease, handler, controller.signal)
      .catch((error: unknown) =>
        this.logger.error(`Job ${job.id} (${job.kind}): ${errorText(error)}`),
      )
      .finally(() => {
        if (this.active.get(job.id) === entry) this.active.delete(job.id);
        this.wake();
      });
    this.active.set(job.id, entry);
  }

  private async execute(
    job: Job,
    lease: string,
    handler: JobHandler,
    signal: AbortSignal,
  ): Promise<void> {
    let result: unknown;
    try {
      const context = this.contextFor(job, lease, signal);
      result = handler.needsMemoryRoom
        ? await this.memoryRoom.during(() => handler.run(job, context))
        : await handler.run(job, context);
    } catch (error) {
      if (error instanceof JobLeaseLostError) this.abort(job.id, 'lost');
      if (signal.aborted) return this.afterStop(job, lease, signal);
      return this.retryOrFail(job, lease, handler, error);
    }
    if (signal.aborted) return this.afterStop(job, lease, signal);
    await this.db.query(
      `UPDATE hub_jobs
          SET state = 'completed', result = $3::jsonb, error = NULL, finished_at = $4,
              lease_owner = NULL, lease_expires_at = NULL
        WHERE ${HELD}`,
      [job.id, lease, jsonParam(result), this.clock.now().toISOString()],
    );
  }

  /** A job stopped for shutdown goes back to the queue at once, that attempt not counted. */
  private async afterStop(job: Job, lease: string, signal: AbortSignal): Promise<void> {
    if (signal.reason !== 'shutdown') return;
    await this.db.query(
      `UPDATE hub_jobs
          SET state = 'queued', run_after = now(), attempts = greatest(attempts - 1, 0),
              lease_owner = NULL, lease_expires_at = NULL
        WHERE ${HELD}`,
      [job.id, lease],
    );
  }

  private async retryOrFail(
    job: Job,
    lease: string,
    handler: JobHandler,
    error: unknown,
  ): Promise<void> {
    const message = errorText(error);
    if (error instanceof PermanentJobError || job.attempts >= job.maxAttempts)
      return this.fail(job, lease, handler, message);
    const base = handler.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    const delay = Math.min(MAX_RETRY_DELAY_MS, base * 2 ** (job.attempts - 1));
    this.logger.warn(`Job ${job.id} (${job.kind}) attempt ${job.attempts} failed: ${message}`);
    await this.db.query(
      `UPDATE hub_jobs
          SET state = 'queued', run_after = now() + $3::int * interval '1 millisecond',
              error = $4, lease_owner = NULL, lease_expires_at = NULL
        WHERE ${HELD}`,
      [job.id, lease, delay, message],
    );
    setTimeout(() => this.wake(), delay).unref();
  }

  private async fail(job: Job, lease: string, handler: JobHandler, message: string) {
    try {
      await handler.failed?.(job, message);
    } catch (error) {
      this.logger.error(`Job ${job.id}: its kind's failure hook failed: ${errorText(error)}`);
    }
    await this.db.query(
      `UPDATE hub_jobs
          SET state = 'failed', error = $3, finished_at = $4,
              lease_owner = NULL, lease_expires_at = NULL
        WHERE ${HELD}`,
      [job.id, lease, message, this.clock.now().toISOString()],
    );
  }

  private contextFor(job: Job, lease: string, signal: AbortSignal): JobContext {
    const lost = () => {
      if (this.active.get(job.id)?.lease === lease) this.abort(job.id, 'lost');
      return new JobLeaseLostError(job.id);
    };
    const { leaseMs } = this.options;
    return {
      signal,
      reportProgress: async (done, total) => {
        const { rowCount } = await this.db.query(
          `UPDATE hub_jobs SET progress_done = $4, progress_total = $5, heartbeat_at = now(),
                  lease_expires_at = ${LEASE_UNTIL}
            WHERE ${HELD}`,
          [job.id, lease, leaseMs, done, total],
        );
        if (rowCount === 0) throw lost();
      },
      checkpoint: (state, { done, total }, work) =>
        this.db.transaction(async (tx) => {
          const { rowCount } = await tx.query(
            `UPDATE hub_jobs SET checkpoint = $4::jsonb, progress_done = $5, progress_total = $6,
                    heartbeat_at = now(), lease_expires_at = ${LEASE_UNTIL}
              WHERE ${HELD}`,
            [job.id, lease, leaseMs, jsonParam(state), done, total],
          );
          if (rowCount === 0) throw lost();
          await work?.(tx);
        }),
    };
  }

  /**
   * While jobs run here: every `watchMs`, whether any was cancelled or taken over elsewhere
   * (its handler is then stopped), and a third of a lease apart, the heartbeat that renews them.
   */
  private async watchLoop(): Promise<void> {
    const { signal } = this.stopping;
    let lastBeat = 0;
    while (!signal.aborted) {
      await sleep(this.options.watchMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted || this.active.size === 0) continue;
      const running = [...this.active.values()];
      const leases = running.map((entry) => entry.lease);
      const beat = Date.now() - lastBeat >= this.options.leaseMs / 3;
      try {
        const held = beat ? await this.heartbeat(leases) : await this.stillHeld(leases);
        if (beat) lastBeat = Date.now();
        for (const { lease, controller } of running)
          if (!held.has(lease) && !controller.signal.aborted) controller.abort('lost');
      } catch (error) {
        this.logger.warn(`Could not renew job leases: ${errorText(error)}`);
      }
    }
  }

  /** Renews the leases still held; returns those. */
  private async heartbeat(leases: string[]): Promise<Set<string>> {
    const { rows } = await this.db.query<{ lease_owner: string }>(
      `UPDATE hub_jobs SET heartbeat_at = now(), lease_expires_at = ${leaseUntil('$2')}
        WHERE lease_owner = ANY($1::text[]) AND state = 'running'
        RETURNING lease_owner`,
      [leases, this.options.leaseMs],
    );
    return new Set(rows.map((row) => row.lease_owner));
  }

  private async stillHeld(leases: string[]): Promise<Set<string>> {
    const { rows } = await this.db.query<{ lease_owner: string }>(
      `SELECT lease_owner FROM hub_jobs WHERE lease_owner = ANY($1::text[]) AND state = 'running'`,
      [leases],
    );
    return new Set(rows.map((row) => row.lease_owner));
  }
}
