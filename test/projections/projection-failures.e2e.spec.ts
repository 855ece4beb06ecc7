import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { batchStatusProjection } from '../../projections/batch-status/batch-status.projection';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { batchStream } from '../../src/batches/batch.events';
import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import { EventStore } from '../../src/event-store/event-store.port';
import { openDatabase, openEventStore } from '../../src/event-store/storage.module';
import { testConfig } from '../support/hub-config';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  sampleHierarchy,
  startHub,
  utcDay,
} from '../support/hub-harness';
import { waitFor } from '../support/clearinghouse';

/**
 * A read model that cannot apply an event (here: a batch name PostgreSQL cannot store, written
 * straight to the log as an older hub let it in) must fail visibly and alone: /health names it,
 * the other read models carry on, a write it should show answers 503 with where to read it
 * rather than a false 404, and a rebuild that meets the same event leaves the old rows in place.
 */
describe('a projection that fails', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let creator: string;
  let admin: string;
  let goodBatch: string;

  const createBatch = (name: string) =>
    hub.call(creator, 'POST', '/v1/batches', {
      courseId: 'course-f',
      name,
      enrollmentType: 'open',
      startDate: utcDay(1),
      endDate: utcDay(30),
    });

  beforeAll(async () => {
    storage = await freshStorage('projection_failures');
    hub = await startHub(storage.storage);
    creator = await issueKey(hub, 'cora', 'org-f', ['CONTENT_CREATOR']);
    admin = await issueKey(hub, 'olga', 'org-f', ['ORG_ADMIN']);
    const course = await hub.call(creator, 'POST', '/v1/courses', {
      courseId: 'course-f',
      name: 'Course',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    const batch = await createBatch('A sound batch');
    expect(batch.status).toBe(201);
    goodBatch = batch.body.batchId as string;

    // The poison: a BatchCreated like the sound one, with a lone surrogate in its name.
    const [created] = await hub.store.readStream(batchStream(goodBatch));
    const poisonId = ulid();
    await hub.store.appendToStream(
      batchStream(poisonId),
      [
        {
          id: randomUUID(),
          type: 'BatchCreated',
          data: { ...(created!.data as object), batchId: poisonId, name: 'Broken \ud800 name' },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
  });

  afterAll(async () => {
    await hub?.close().catch(() => undefined);
    await storage.dispose();
  });

  it('is named with its error by /health, which reports the hub degraded', async () => {
    const health = await waitFor('the failure to show in /health', async () => {
      const response = await hub.call(null, 'GET', '/health');
      return response.body?.status === 'degraded' ? response : undefined;
    });
    expect(health.status).toBe(200);
    const failing = health.body.degraded as Array<{ projection: string; error: string }>;
    expect(failing.map((f) => f.projection)).toEqual(['batch-status']);
    expect(failing[0]!.error).toMatch(/\S/);
    const projections = health.body.details.projections.projections as Array<{
      name: string;
      state: string;
    }>;
    expect(projections.find((p) => p.name === 'batch-status')?.state).toBe('failed');
    // And the metrics count it.
    const metrics = await hub.call(ADMIN_TOKEN, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    const value = (name: string) =>
      Number(
        (metrics.body as string)
          .split('\n')
          .find((line) => line.startsWith(`${name}{projection="batch-status"} `))
          ?.split(' ')[1],
      );
    expect(value('hub_projection_failures_total')).toBeGreaterThanOrEqual(1);
    expect(value('hub_projection_failing')).toBe(1);
  });

  it('does not stop the other read models', async () => {
    const programId = `P${ulid().slice(-10)}`;
    const registered = await hub.call(admin, 'POST', '/v1/programs', {
      programId,
      name: 'Still served',
    });
    expect(registered.status).toBe(201);
    const listed = await hub.call(admin, 'GET', '/v1/programs');
    const programs = listed.body.items as Array<{ programId: string }>;
    expect(programs.map((program) => program.programId)).toContain(programId);
    const profile = await hub.call(admin, 'PUT', '/v1/users/u-still/profile', { name: 'Still' });
    expect(profile.status).toBe(200);
  });

  it('answers a write it should show with 503, Retry-After and where to read it, never 404', async () => {
    const response = await createBatch('Recorded while the view is stuck');
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('VIEW_BEHIND');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    const location = response.headers.get('location');
    expect(location).toMatch(/^\/v1\/batches\/\w+$/);
    expect(response.body.location).toBe(location);
    // The write itself stands: the batch's own history (read from its stream) has it.
    const history = await hub.call(creator, 'GET', `${location}/history`);
    expect(history.status).toBe(200);
    const entries = history.body as Array<{ type: string }>;
    expect(entries.map((entry) => entry.type)).toContain('BatchCreated');
  });

  it('is rebuilt beside the live table: a rebuild that fails leaves the old rows in place', async () => {
    const db = hub.app.get<SqlDatabase>(SQL_DATABASE);
    const countRows = async (database: SqlDatabase) =>
      Number(
        (await database.query<{ n: string }>('SELECT count(*)::text AS n FROM batch_status'))
          .rows[0]!.n,
      );
    expect(await countRows(db)).toBeGreaterThan(0);
    const before = await countRows(db);
    // The CLI's way: the hub stopped, the rebuild on its own connection to the same database.
    await hub.close();
    const config = testConfig(storage.storage);
    const database = await openDatabase(config);
    const store: EventStore = await openEventStore(config, database);
    try {
      await expect(
        rebuildProjection(batchStatusProjection, { db: database, store }),
      ).rejects.toThrow();
      expect(await countRows(database)).toBe(before);
      const { rows } = await database.query<{ batch_id: string }>(
        'SELECT batch_id FROM batch_status WHERE batch_id = $1',
        [goodBatch],
      );
      expect(rows).toHaveLength(1);
      const { rows: schemas } = await database.query(
        "SELECT 1 FROM pg_namespace WHERE nspname LIKE 'hub_rebuild_%'",
      );
      expect(schemas).toHaveLength(0);
    } finally {
      await store.close();
      await database.close();
    }
  });
});
