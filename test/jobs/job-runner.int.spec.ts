import { setTimeout as sleep } from 'node:timers/promises';
import { Actor } from '../../src/auth/principal';
import { runMigrations } from '../../src/database/migrations/migrations';
import { PgliteDatabase } from '../../src/database/pglite-database';
import { SqlDatabase } from '../../src/database/sql-database';
import { Job, JobContext, JobHandler, JobLeaseLostError } from '../../src/jobs/job';
import { JobRunner, JobRunnerOptions } from '../../src/jobs/job-runner';
import { Jobs } from '../../src/jobs/jobs';
import { MemoryRoom } from '../../src/jobs/memory-room';
import { systemClock } from '../../src/time/clock';
import { eventually } from '../support/eventually';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

const requester: Actor = { userId: 'ria', organisationId: 'org-a', roles: ['CONTENT_CREATOR'] };
const request = (kind: string, payload: unknown = {}) => ({
  kind,
  organisationId: requester.organisationId,
  requestedBy: requester.userId,
  payload,
});

/** A handler that waits until its signal aborts, then reports when it stopped. */
const untilAborted = (signal: AbortSignal): Promise<number> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve(performance.now());
    else signal.addEventListener('abort', () => resolve(performance.now()), { once: true });
  });

// 'server' is the PostgreSQL server when the tests have one, else PGlite again.
describe.each(['pglite', 'server'] as const)('the job runner on %s', (where) => {
  let database: TestSqlDatabase | { db: PgliteDatabase; dispose: () => Promise<void> };
  let db: SqlDatabase;
  const runners: JobRunner[] = [];

  /** One "instance": a runner (with `handlers`) and the Jobs service bound to it. */
  const instance = (
    handlers: JobHandler[],
    options: Partial<JobRunnerOptions> = {},
    memoryRoom?: MemoryRoom,
  ) => {
    const runnerOptions = { pollMs: 100, leaseMs: 2_000, ...options };
    const runner = new JobRunner(db, systemClock, runnerOptions, memoryRoom);
    for (const handler of handlers) runner.register(handler);
    runner.start();
    runners.push(runner);
    return { runner, jobs: new Jobs(db, systemClock, runner) };
  };

  const finished = (jobs: Jobs, id: string, timeoutMs = 10_000) =>
    eventually(
      async () => {
        const job = await jobs.find(id);
        if (!job || job.state === 'queued' || job.state === 'running')
          throw new Error(`job ${id} is ${job?.state}`);
        return job;
      },
      { timeoutMs },
    );

  beforeEach(async () => {
    if (where === 'pglite') {
      const pglite = await PgliteDatabase.open(null);
      database = { db: pglite, dispose: () => pglite.close() };
    } else database = await openTestSqlDatabase('jobs');
    db = database.db;
    await runMigrations(db);
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
    await database.dispose();
  });

  it('claims a job at once when it is enqueued here, and records its progress and result', async () => {
    const { jobs } = instance(
      [
        {
          kind: 'echo',
          run: async (job, context) => {
            await context.reportProgress(1, 2);
            await context.checkpoint({ half: true }, { done: 2, total: 2 });
            return { echoed: job.payload };
          },
        },
      ],
      { pollMs: 60_000 },
    );
    const started = performance.now();
    const { job, created } = await jobs.enqueue({ ...request('echo', { n: 1 }), total: 2 });
    expect(created).toBe(true);
    expect(job).toMatchObject({ state: 'queued', attempts: 0, progress: { done: 0, total: 2 } });
    const done = await finished(jobs, job.id);
    // The poll is a minute: only the in-process wake-up can have started it this soon.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(done).toMatchObject({
      state: 'completed',
      attempts: 1,
      progress: { done: 2, total: 2 },
      checkpoint: { half: true },
      result: { echoed: { n: 1 } },
      error: null,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
  });

  it('never runs a job twice with two runners claiming from one database (SKIP LOCKED)', async () => {
    const runs = new Map<string, string[]>();
    const handler = (name: string): JobHandler => ({
      kind: 'count',
      run: async (job) => {
        runs.set(job.id, [...(runs.get(job.id) ?? []), name]);
        await sleep(5);
        return null;
      },
    });
    const a = instance([handler('a')], { concurrency: 4, pollMs: 20 });
    const b = instance([handler('b')], { concurrency: 4, pollMs: 20 });
    const ids: string[] = [];
    for (let n = 0; n < 80; n++)
      ids.push((await (n % 2 ? a : b).jobs.enqueue(request('count', { n }))).job.id);
    for (const id of ids) expect((await finished(a.jobs, id)).state).toBe('completed');
    expect(ids.filter((id) => runs.get(id)?.length !== 1)).toEqual([]);
    const byRunner = [...runs.values()].flat();
    expect(byRunner.length).toBe(80);
    if (where === 'server') {
      expect(byRunner).toContain('a');
      expect(byRunner).toContain('b');
    }
  });

  it('lets another runner resume a job from its checkpoint once the lease of a dead one expires', async () => {
    const lostWrites: unknown[] = [];
    let stalled: JobContext | null = null;
    // "dead": it checkpoints, then stops renewing its lease (its heartbeat never comes).
    const dead = instance(
      [
        {
          kind: 'resumable',
          run: async (_job, context) => {
            await context.checkpoint({ step: 1 }, { done: 1, total: 3 });
            stalled = context;
            await untilAborted(context.signal);
            return 'never recorded';
          },
        },
      ],
      { leaseMs: 400, watchMs: 3_600_000, concurrency: 1 },
    );
    const { job } = await dead.jobs.enqueue(request('resumable'));
    await eventually(async () => expect(stalled).not.toBeNull());

    const resumedFrom: unknown[] = [];
    const alive = instance([
      {
        kind: 'resumable',
        run: async (resumed) => {
          resumedFrom.push(resumed.checkpoint);
          return { finishedBy: 'alive' };
        },
      },
    ]);
    const done = await finished(alive.jobs, job.id);
    expect(done).toMatchObject({
      state: 'completed',
      attempts: 2,
      result: { finishedBy: 'alive' },
    });
    expect(resumedFrom).toEqual([{ step: 1 }]);
    // The dead runner's late writes are fenced off: nothing it records counts any more.
    await stalled!.checkpoint({ step: 2 }, { done: 2, total: 3 }).catch((error: unknown) => {
      lostWrites.push(error);
    });
    expect(lostWrites[0]).toBeInstanceOf(JobLeaseLostError);
    expect((await alive.jobs.find(job.id))?.checkpoint).toEqual({ step: 1 });
  });

  it('retries a failing job with exponential back-off, then fails it', async () => {
    const attempts: number[] = [];
    const failures: string[] = [];
    const { jobs } = instance(
      [
        {
          kind: 'flaky',
          maxAttempts: 3,
          retryBaseMs: 150,
          run: async () => {
            attempts.push(performance.now());
            throw new Error(`attempt ${attempts.length} broke`);
          },
          failed: async (_job, error) => {
            failures.push(error);
          },
        },
      ],
      { pollMs: 60_000 },
    );
    const { job } = await jobs.enqueue(request('flaky'));
    const done = await finished(jobs, job.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 3, error: 'attempt 3 broke' });
    expect(failures).toEqual(['attempt 3 broke']);
    expect(attempts).toHaveLength(3);
    const gaps = [attempts[1]! - attempts[0]!, attempts[2]! - attempts[1]!];
    expect(gaps[0]).toBeGreaterThanOrEqual(140);
    expect(gaps[1]).toBeGreaterThanOrEqual(290);
  });

  it.each([
    ['in the instance that runs it', false],
    ['from another instance', true],
  ])('stops a running handler within a second of its cancellation %s', async (_, elsewhere) => {
    let stoppedAt: number | null = null;
    const runner = instance([
      {
        kind: 'endless',
        run: async (_job, context) => {
          // Works in slices, checking its signal between them, as handlers do.
          while (!context.signal.aborted) await sleep(10);
          stoppedAt = performance.now();
          return 'stopped early';
        },
      },
    ]);
    const other = instance([]);
    const { job } = await runner.jobs.enqueue(request('endless'));
    await eventually(async () => expect((await runner.jobs.find(job.id))?.state).toBe('running'));
    await sleep(100);
    const cancelledAt = performance.now();
    const cancelled = await (elsewhere ? other : runner).jobs.cancel(job.id, requester);
    expect(cancelled.state).toBe('cancelled');
    await eventually(async () => expect(stoppedAt).not.toBeNull(), { timeoutMs: 2_000 });
    const tookMs = stoppedAt! - cancelledAt;
    expect(tookMs).toBeLessThan(1_000);
    await runner.runner.settled(job.id);
    // Stopping early is not completing: the job stays cancelled, without a result.
    expect(await runner.jobs.find(job.id)).toMatchObject({ state: 'cancelled', result: null });
    await expect(runner.jobs.cancel(job.id, requester)).rejects.toMatchObject({
      code: 'JOB_NOT_CANCELLABLE',
    });
  });

  it('returns the existing job for a known idempotency key, and refuses it for another request', async () => {
    const { jobs } = instance([]);
    const keyed = { ...request('keyed'), idempotencyKey: 'k-1', requestDigest: 'one' };
    const first = await jobs.enqueue(keyed);
    const again = await jobs.enqueue(keyed);
    expect(again).toEqual({ job: first.job, created: false });
    await expect(jobs.enqueue({ ...keyed, requestDigest: 'two' })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    // Keys are per requester: someone else's k-1 is another job.
    const other = await jobs.enqueue({ ...keyed, requestedBy: 'sam' });
    expect(other.created).toBe(true);
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM hub_jobs');
    expect(Number(rows[0]!.n)).toBe(2);
  });

  it('keeps a job the domain names under its own id, and runs it again after it failed', async () => {
    let runs = 0;
    const { jobs } = instance([
      {
        kind: 'named',
        maxAttempts: 1,
        run: async () => {
          runs += 1;
          if (runs === 1) throw new Error('first run broke');
          return { made: true };
        },
      },
    ]);
    const id = 'C01446E8F6C1B93221CA78B1BF905AE8';
    const first = await jobs.enqueue({ ...request('named'), id });
    expect(first).toMatchObject({ created: true, job: { id } });
    expect(await jobs.enqueue({ ...request('named'), id })).toMatchObject({ created: false });
    expect(await finished(jobs, id)).toMatchObject({ state: 'failed', error: 'first run broke' });

    expect(await jobs.requeue(id)).toMatchObject({ id, state: 'queued', attempts: 0 });
    expect(await finished(jobs, id)).toMatchObject({ state: 'completed', result: { made: true } });
    // Only a failed job runs again.
    expect(await jobs.requeue(id)).toBeNull();
    expect(runs).toBe(2);
  });

  it('makes memory room while a memory-heavy job runs, and only then', async () => {
    const log: string[] = [];
    const room = new MemoryRoom({
      collect: () => log.push('collect'),
      oldSpace: () => ({ committed: 0, slack: 0 }),
    });
    room.register({ shrink: () => log.push('shrink'), restore: () => log.push('restore') });
    const { jobs } = instance(
      [
        { kind: 'report', needsMemoryRoom: true, run: async () => room.needed },
        { kind: 'light', run: async () => room.needed },
      ],
      {},
      room,
    );
    const light = await jobs.enqueue(request('light'));
    expect(await finished(jobs, light.job.id)).toMatchObject({ result: false });
    expect(log).toEqual([]);
    const report = await jobs.enqueue(request('report'));
    expect(await finished(jobs, report.job.id)).toMatchObject({ result: true });
    expect(log).toEqual(['shrink', 'collect', 'restore']);
  });

  it('hands a running job back to the queue on shutdown, for the next instance to resume', async () => {
    const seen: Job[] = [];
    const first = instance([
      { kind: 'long', run: async (_job, context) => untilAborted(context.signal) },
    ]);
    const { job } = await first.jobs.enqueue(request('long'));
    await eventually(async () => expect((await first.jobs.find(job.id))?.state).toBe('running'));
    await first.runner.stop();
    expect(await first.jobs.find(job.id)).toMatchObject({ state: 'queued', attempts: 0 });
    const next = instance([
      {
        kind: 'long',
        run: async (resumed) => {
          seen.push(resumed);
          return 'done';
        },
      },
    ]);
    expect(await finished(next.jobs, job.id)).toMatchObject({ state: 'completed', attempts: 1 });
    expect(seen).toHaveLength(1);
  });
});

describe('migration 13 on bulk enrolment jobs recorded before it', () => {
  it('copies them to the job table, queueing an unfinished one to resume', async () => {
    const db = await PgliteDatabase.open(null);
    try {
      await runMigrations(db, { upTo: 12 });
      const actor = JSON.stringify(requester);
      await db.query(
        `INSERT INTO hub_enrolment_jobs (job_id, batch_id, organisation_id, requested_by, actor,
           idempotency_key, request_digest, status, user_ids, total, processed, enrolled,
           already_enrolled, failed, created_at, started_at, finished_at, heartbeat_at)
         VALUES ('J1', 'b-1', 'org-a', 'ria', $1, 'k', 'd1', 'completed', '{u1,u2}', 2, 2, 1, 1, 0,
                 now(), now(), now(), now()),
                ('J2', 'b-1', 'org-a', 'ria', $1, NULL, 'd2', 'running', '{u1,u2,u3}', 3, 1, 1, 0,
                 0, now(), now(), NULL, now())`,
        [actor],
      );
      await runMigrations(db);
      const jobs = new Jobs(db, systemClock, new JobRunner(db, systemClock));
      expect(await jobs.find('J1')).toMatchObject({
        kind: 'bulk-enrolment',
        state: 'completed',
        progress: { done: 2, total: 2 },
        result: { enrolled: 1, alreadyEnrolled: 1, failed: 0 },
        payload: { batchId: 'b-1', actor: requester },
      });
      expect(await jobs.find('J2')).toMatchObject({
        state: 'queued',
        progress: { done: 1, total: 3 },
        checkpoint: { processed: 1, enrolled: 1, alreadyEnrolled: 0, failed: 0 },
      });
      const { rows } = await db.query('SELECT * FROM hub_enrolment_jobs ORDER BY job_id');
      expect(rows).toEqual([
        { job_id: 'J1', batch_id: 'b-1', user_ids: ['u1', 'u2'] },
        { job_id: 'J2', batch_id: 'b-1', user_ids: ['u1', 'u2', 'u3'] },
      ]);
    } finally {
      await db.close();
    }
  });
});
