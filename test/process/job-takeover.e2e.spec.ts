import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PgliteDatabase } from '../../src/database/pglite-database';
import { PostgresDatabase } from '../../src/database/postgres-database';
import { SqlExecutor } from '../../src/database/sql-database';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { tempDataDir } from '../support/hub-config';
import { sampleHierarchy, utcDay } from '../support/hub-harness';
import {
  builtFilesExist,
  exited,
  HubProcess,
  spawnHub,
  untilListening,
} from '../support/hub-process';
import {
  createScratchDatabase,
  postgresServer,
  whyNoPostgresServer,
} from '../support/test-databases';

const ADMIN = 'takeover-admin-token-0123456789abcdef';
const BATCH = 'batch-takeover';
const learner = (n: number) => `learner-${String(n).padStart(6, '0')}`;
type Body = Record<string, unknown>;

const children: HubProcess[] = [];
afterEach(() => {
  for (const { child } of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const start = async (env: Record<string, string>): Promise<HubProcess> => {
  const hub = await spawnHub({ ...env, HUB_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' });
  children.push(hub);
  await untilListening(hub);
  return hub;
};

const call = async (hub: HubProcess, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${hub.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Body };
};

/** Learner profiles straight into the store (set-up): bulk enrolment checks each learner's. */
const seedProfiles = async (store: SqlEventStore, learners: number) => {
  for (let from = 0; from < learners; from += 64)
    await Promise.all(
      Array.from({ length: Math.min(64, learners - from) }, (_, i) => {
        const userId = learner(from + i);
        return store.appendToStream(
          `user-${userId}`,
          [
            {
              id: randomUUID(),
              type: 'UserProfileRecorded',
              data: {
                userId,
                organisationId: 'org-t',
                personal: null,
                personalDigest: null,
                attributes: {},
                recordedBy: 'takeover-test',
                recordedAt: new Date().toISOString(),
              },
              metadata: { principal: 'takeover-test', tenant: 'system' },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
      }),
    );
};

/** A course and an open batch, once the users read model has every learner. */
const prepareBatch = async (hub: HubProcess, learners: number) => {
  for (const deadline = Date.now() + 120_000; ; await sleep(200)) {
    if ((await call(hub, 'GET', `/v1/users/${learner(learners - 1)}/profile`)).status === 200)
      break;
    if (Date.now() > deadline) throw new Error('The users read model never caught up');
  }
  const course = await call(hub, 'POST', '/v1/courses', {
    courseId: 'course-takeover',
    name: 'Takeover',
    organisationId: 'org-t',
    trackable: { enabled: true },
    children: sampleHierarchy(),
  });
  expect(course.status).toBe(201);
  const batch = await call(hub, 'POST', '/v1/batches', {
    batchId: BATCH,
    courseId: 'course-takeover',
    name: 'Everyone',
    enrollmentType: 'open',
    startDate: new Date().toISOString(),
    endDate: utcDay(30),
  });
  expect(batch.status).toBe(201);
};

/** Submits the bulk enrolment; resolves once a few chunks are recorded, most still to do. */
const submitAndCatchMidway = async (hub: HubProcess, learners: number): Promise<string> => {
  const userIds = Array.from({ length: learners }, (_, n) => learner(n));
  const submitted = await call(hub, 'POST', `/v1/batches/${BATCH}/enrolments/bulk`, { userIds });
  expect(submitted.status).toBe(202);
  const jobId = String(submitted.body.jobId);
  for (const deadline = Date.now() + 60_000; ; await sleep(10)) {
    const { progress } = (await call(hub, 'GET', `/v1/jobs/${jobId}`)).body as {
      progress: { done: number };
    };
    expect(progress.done).toBeLessThan(learners * 0.8);
    if (progress.done >= 2_000) return jobId;
    if (Date.now() > deadline) throw new Error('The job was never seen mid-way');
  }
};

const untilFinished = async (hub: HubProcess, jobId: string): Promise<Body> => {
  for (const deadline = Date.now() + 120_000; ; await sleep(100)) {
    const job = (await call(hub, 'GET', `/v1/jobs/${jobId}`)).body;
    if (job.state !== 'queued' && job.state !== 'running') return job;
    if (Date.now() > deadline) throw new Error(`Never finished:\n${hub.output.join('')}`);
  }
};

/** Finished by another claim, with every learner counted once as enrolled. */
const expectCompleted = async (hub: HubProcess, jobId: string, learners: number) => {
  expect(await untilFinished(hub, jobId)).toMatchObject({
    state: 'completed',
    attempts: 2,
    progress: { done: learners, total: learners, percent: 100 },
    result: { enrolled: learners, alreadyEnrolled: 0, failed: 0 },
  });
  const bulk = await call(hub, 'GET', `/v1/batches/${BATCH}/enrolments/bulk/${jobId}`);
  expect(bulk.body).toMatchObject({ status: 'completed', processed: learners, enrolled: learners });
  const participants = await call(hub, 'GET', `/v1/batches/${BATCH}/participants?limit=1`);
  expect(participants.body.counts).toMatchObject({ total: learners });
};

/** Every learner enrolled exactly once: one UserEnrolled event in each learner's stream. */
const expectEnrolledOnce = async (db: SqlExecutor, learners: number) => {
  const { rows } = await db.query<{ events: string; users: string; most: string }>(
    `SELECT count(*)::text AS events, count(DISTINCT stream_name)::text AS users,
            coalesce(max(per_user), 0)::text AS most
       FROM (SELECT stream_name, count(*) OVER (PARTITION BY stream_name) AS per_user
               FROM hub_events WHERE event_type = 'UserEnrolled') AS counted`,
  );
  expect(rows[0]).toEqual({ events: String(learners), users: String(learners), most: '1' });
};

/**
 * A large bulk enrolment starts; the hub process that holds its lease is killed with SIGKILL in
 * the middle; once the lease runs out, another hub claims the job, resumes it from its last
 * chunk and finishes it, enrolling every user once.
 */
describe('a bulk enrolment whose instance dies (SIGKILL) mid-job', () => {
  const noServer = whyNoPostgresServer();
  if (noServer !== null) console.warn(`Skipping the two-instance job takeover: ${noServer}`);
  (noServer === null ? it : it.skip)(
    'is finished by the other instance on the same PostgreSQL database',
    async () => {
      const learners = 30_000;
      expect(builtFilesExist()).toBe(true);
      const server = await postgresServer();
      if ('unavailable' in server) throw new Error(server.unavailable);
      const scratch = await createScratchDatabase(server.url, 'takeover');
      const db = new PostgresDatabase(scratch.url, { maxConnections: 70 });
      try {
        await seedProfiles(await SqlEventStore.open(db), learners);
        const env = { DATABASE_URL: scratch.url, HUB_JOB_LEASE_MS: '2000' };
        const hubs = [await start(env), await start(env)];
        await prepareBatch(hubs[0]!, learners);
        const jobId = await submitAndCatchMidway(hubs[0]!, learners);
        const { rows } = await db.query<{ lease_owner: string }>(
          'SELECT lease_owner FROM hub_jobs WHERE id = $1',
          [jobId],
        );
        const pid = Number(/:(\d+):[0-9a-f]{8}:\d+$/.exec(rows[0]?.lease_owner ?? '')?.[1]);
        const victim = hubs.find((hub) => hub.child.pid === pid);
        const survivor = hubs.find((hub) => hub.child.pid !== pid)!;
        expect(victim).toBeDefined();
        victim!.child.kill('SIGKILL');
        await exited(victim!.child);
        await expectCompleted(survivor, jobId, learners);
        await expectEnrolledOnce(db, learners);
        survivor.child.kill('SIGTERM');
        expect(await exited(survivor.child)).toBe(0);
      } finally {
        await db.close();
        await scratch.drop();
        await server.stop();
      }
    },
  );

  it('is finished by the next hub on the same embedded DATA_DIR', async () => {
    const learners = 10_000;
    expect(builtFilesExist()).toBe(true);
    const dataDir = tempDataDir('takeover');
    const seedDb = await PgliteDatabase.open(dataDir);
    await seedProfiles(await SqlEventStore.open(seedDb), learners);
    await seedDb.close();
    const env = { DATA_DIR: dataDir, HUB_JOB_LEASE_MS: '2000' };
    const first = await start(env);
    await prepareBatch(first, learners);
    const jobId = await submitAndCatchMidway(first, learners);
    first.child.kill('SIGKILL');
    await exited(first.child);
    const next = await start(env);
    await expectCompleted(next, jobId, learners);
    next.child.kill('SIGTERM');
    expect(await exited(next.child)).toBe(0);
    const db = await PgliteDatabase.open(dataDir);
    try {
      await expectEnrolledOnce(db, learners);
    } finally {
      await db.close();
    }
  });
});
