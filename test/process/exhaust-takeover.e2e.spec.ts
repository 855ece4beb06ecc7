import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresDatabase } from '../../src/database/postgres-database';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { builtFilesExist, exited, HubProcess } from '../support/hub-process';
import {
  callHub,
  killAll,
  leaseOwnerPid,
  learnerId,
  prepareBatch,
  seedProfiles,
  startHubProcess,
} from '../support/process-fixtures';
import {
  createScratchDatabase,
  postgresServer,
  whyNoPostgresServer,
} from '../support/test-databases';
import { csvIn } from '../support/report-zips';

const ADMIN = 'exhaust-takeover-admin-token-0123456789';
const BATCH = 'batch-report-takeover';
const LEARNERS = 30_000;
const KEY = 'takeover-key-123';

const children: HubProcess[] = [];
afterEach(() => killAll(children));

const call = (hub: HubProcess, method: string, path: string, body?: unknown) =>
  callHub(hub, ADMIN, method, path, body);

/** A course, an open batch and every learner enrolled in it. */
const enrolEveryone = async (hub: HubProcess) => {
  await prepareBatch(hub, ADMIN, {
    batchId: BATCH,
    courseId: 'course-report-takeover',
    organisationId: 'org-r',
    learners: LEARNERS,
  });
  const userIds = Array.from({ length: LEARNERS }, (_, n) => learnerId(n));
  const bulk = await call(hub, 'POST', `/v1/batches/${BATCH}/enrolments/bulk`, { userIds });
  expect(bulk.status).toBe(202);
  for (const deadline = Date.now() + 180_000; ; await sleep(200)) {
    const participants = await call(hub, 'GET', `/v1/batches/${BATCH}/participants?limit=1`);
    const counts = participants.body.counts as { active: number } | undefined;
    if (counts?.active === LEARNERS) return;
    if (Date.now() > deadline) throw new Error('The bulk enrolment never finished');
  }
};

interface ReportJob {
  state: string;
  attempts: number;
  progress: { done: number };
  details: {
    status: string;
    rowsWritten: number;
    downloadUrls: string[];
    processedBatches: { rows: number }[];
  };
}

const report = async (hub: HubProcess, requestId: string): Promise<ReportJob> =>
  (await call(hub, 'GET', `/v1/jobs/${requestId}`)).body as unknown as ReportJob;

/** Polls closely until the report has written some rows but not all of them. */
const catchMidway = async (hub: HubProcess, requestId: string): Promise<void> => {
  for (const deadline = Date.now() + 60_000; ; await sleep(5)) {
    const job = await report(hub, requestId);
    expect(job.details.status).not.toBe('SUCCESS');
    if (job.details.rowsWritten > 0) return;
    if (Date.now() > deadline) throw new Error('The report was never seen mid-way');
  }
};

const eventsOf = async (db: PostgresDatabase, requestId: string): Promise<string[]> => {
  const { rows } = await db.query<{ event_type: string }>(
    `SELECT event_type FROM hub_events WHERE stream_name = $1 ORDER BY global_position`,
    [`exhaust-request-${requestId}`],
  );
  return rows.map((row) => row.event_type);
};

/**
 * Two hubs share one database and one report folder. A progress exhaust of 30,000 learners
 * starts on one of them, which is killed (SIGKILL) while it writes; the other never builds the
 * report while the first holds it, then takes the job over once the lease runs out and makes the
 * whole file again, once.
 */
describe('a report whose worker dies (SIGKILL) mid-file', () => {
  const noServer = whyNoPostgresServer();
  if (noServer !== null) console.warn(`Skipping the report takeover: ${noServer}`);
  (noServer === null ? it : it.skip)(
    'is made by the other instance, every learner in it once',
    async () => {
      expect(builtFilesExist()).toBe(true);
      const server = await postgresServer();
      if ('unavailable' in server) throw new Error(server.unavailable);
      const scratch = await createScratchDatabase(server.url, 'report_takeover');
      const db = new PostgresDatabase(scratch.url, { maxConnections: 70 });
      const exhaustDir = mkdtempSync(join(tmpdir(), 'hub-report-takeover-'));
      try {
        await seedProfiles(await SqlEventStore.open(db), LEARNERS, 'org-r');
        const env = {
          DATABASE_URL: scratch.url,
          HUB_JOB_LEASE_MS: '2000',
          EXHAUST_DIR: exhaustDir,
        };
        const hubs = [
          await startHubProcess(children, ADMIN, env),
          await startHubProcess(children, ADMIN, env),
        ];
        await enrolEveryone(hubs[0]!);
        const requested = await call(hubs[0]!, 'POST', '/v1/jobs', {
          type: 'progress-exhaust',
          batchId: BATCH,
          encryptionKey: KEY,
        });
        expect(requested.status).toBe(201);
        const requestId = String(requested.body.requestId);
        await catchMidway(hubs[0]!, requestId);

        // One worker builds it: a single start, no file yet.
        expect(await eventsOf(db, requestId)).toEqual(['ExhaustRequested', 'ExhaustStarted']);
        const { rows } = await db.query<{ lease_owner: string }>(
          'SELECT lease_owner FROM hub_jobs WHERE id = $1',
          [requestId],
        );
        const pid = leaseOwnerPid(rows[0]?.lease_owner);
        const victim = hubs.find((hub) => hub.child.pid === pid);
        const survivor = hubs.find((hub) => hub.child.pid !== pid)!;
        expect(victim).toBeDefined();
        victim!.child.kill('SIGKILL');
        await exited(victim!.child);

        let job = await report(survivor, requestId);
        for (const deadline = Date.now() + 60_000; job.state !== 'completed'; await sleep(100)) {
          expect(job.state === 'failed').toBe(false);
          if (Date.now() > deadline) throw new Error(`Never made:\n${survivor.output.join('')}`);
          job = await report(survivor, requestId);
        }
        expect(job).toMatchObject({
          attempts: 2,
          details: { status: 'SUCCESS', processedBatches: [{ rows: LEARNERS }] },
        });
        // The killed run is not a failed iteration (it was lost, not refused), and starting a
        // request already PROCESSING records nothing: the job's two attempts show the takeover.
        expect(await eventsOf(db, requestId)).toEqual([
          'ExhaustRequested',
          'ExhaustStarted',
          'ExhaustCompleted',
        ]);
        const folder = join(exhaustDir, 'progress-exhaust', requestId);
        const files = readdirSync(folder);
        expect(files).toHaveLength(1);
        const lines = (await csvIn(readFileSync(join(folder, files[0]!)), KEY))
          .trimEnd()
          .split('\r\n');
        expect(lines).toHaveLength(LEARNERS + 1);
        const users = new Set(lines.slice(1).map((line) => line.split(',')[4]));
        expect(users.size).toBe(LEARNERS);
        survivor.child.kill('SIGTERM');
        expect(await exited(survivor.child)).toBe(0);
      } finally {
        await db.close();
        await scratch.drop();
        await server.stop();
        rmSync(exhaustDir, { recursive: true, force: true });
      }
    },
  );
});
