import { Client } from 'pg';
import { batchStream } from '../../src/batches/batch.events';
import {
  activeSubscription,
  learningEvent,
  Parties,
  publishOne,
  setUpParties,
  waitFor,
} from '../support/clearinghouse';
import { issueKey, RunningHub, sampleHierarchy, startHub, utcDay } from '../support/hub-harness';
import { SseReader } from '../support/sse-reader';
import {
  createScratchDatabase,
  postgresServer,
  ScratchDatabase,
  whyNoPostgresServer,
} from '../support/test-databases';

const unavailable = whyNoPostgresServer();
if (unavailable !== null)
  console.warn(
    `Skipping the long-transaction tests (they need a PostgreSQL server): ${unavailable}`,
  );

/**
 * Transactions that have nothing to do with the hub's log must not hold it back: an idle one
 * holding an xid in another database of the same server, and a long read-only report in the
 * hub's own database. With both open, every read-your-writes answer, a live stream and a batch's
 * status change arrive as they would without them. (Before, the first held every reader of the
 * log back until it ended.) The bounds are generous; the benchmark measures the latencies.
 */
(unavailable === null ? describe : describe.skip)('long transactions elsewhere', () => {
  let hubDb: ScratchDatabase;
  let otherDb: ScratchDatabase;
  let stopServer: () => Promise<void>;
  let hub: RunningHub;
  let creator: string;
  let orgAdmin: string;
  let parties: Parties;
  const sessions: Client[] = [];

  const openSession = async (url: string, ...statements: string[]) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    client.on('error', () => undefined);
    for (const statement of statements) await client.query(statement);
    sessions.push(client);
    return client;
  };

  const timed = async <T>(work: Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = Date.now();
    const value = await work;
    return { value, ms: Date.now() - started };
  };

  beforeAll(async () => {
    const server = await postgresServer();
    if ('unavailable' in server) throw new Error(server.unavailable);
    stopServer = server.stop;
    hubDb = await createScratchDatabase(server.url, 'long_tx_hub');
    otherDb = await createScratchDatabase(server.url, 'long_tx_other');
    hub = await startHub({ kind: 'postgres', databaseUrl: hubDb.url });
    creator = await issueKey(hub, 'cleo', 'org-l', ['CONTENT_CREATOR']);
    orgAdmin = await issueKey(hub, 'lars', 'org-l', ['ORG_ADMIN']);
    const course = await hub.call(creator, 'POST', '/v1/courses', {
      courseId: 'course-l',
      name: 'Course',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    parties = await setUpParties(hub, 'longtx');

    // Held open for the whole test: an xid in another database, and a read-only report (a
    // snapshot, no xid) running a long query in the hub's own database.
    await openSession(otherDb.url, 'BEGIN', 'SELECT txid_current()');
    const report = await openSession(hubDb.url, 'BEGIN ISOLATION LEVEL REPEATABLE READ');
    await report.query('SELECT count(*) FROM hub_events');
    void report.query('SELECT pg_sleep(120)').catch(() => undefined);
  });

  afterAll(async () => {
    for (const session of sessions) await session.end().catch(() => undefined);
    await hub?.close();
    await hubDb?.drop();
    await otherDb?.drop();
    await stopServer?.();
  });

  it('answers a new batch and a profile from their read models at once', async () => {
    const batch = await timed(
      hub.call(creator, 'POST', '/v1/batches', {
        courseId: 'course-l',
        name: 'Created beside a long transaction',
        enrollmentType: 'open',
        startDate: utcDay(1),
        endDate: utcDay(20),
      }),
    );
    expect(batch.value.status).toBe(201);
    expect(batch.ms).toBeLessThan(2_000);
    const profile = await timed(
      hub.call(orgAdmin, 'PUT', '/v1/users/u-long/profile', { name: 'Lena', state: 'Goa' }),
    );
    expect(profile.value.status).toBe(200);
    expect(profile.ms).toBeLessThan(2_000);
  });

  it('delivers a published event on a live stream', async () => {
    const subscription = await activeSubscription(hub, parties, {
      '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' },
    });
    const stream = await SseReader.open(
      `${hub.base}/v1/subscriptions/${subscription.subscriptionId}/stream`,
      { authorization: `Bearer ${parties.subscriber}` },
    );
    try {
      expect(stream.status).toBe(200);
      await waitFor('the stream to open', () => stream.messages.length > 0);
      const sent = Date.now();
      const eventId = await publishOne(
        hub,
        parties.publisher,
        learningEvent(parties.publisherProgram, 'long-tx-1'),
      );
      await waitFor(
        'the event on the stream',
        () => stream.events.some((message) => message.data?.includes(eventId)),
        { timeoutMs: 10_000 },
      );
      expect(Date.now() - sent).toBeLessThan(2_000);
    } finally {
      await stream.close();
    }
  });

  it('starts a batch at its boundary', async () => {
    const startsAt = Date.now() + 2_000;
    const created = await hub.call(creator, 'POST', '/v1/batches', {
      courseId: 'course-l',
      name: 'Starts in two seconds',
      enrollmentType: 'open',
      startDate: new Date(startsAt).toISOString(),
      endDate: new Date(startsAt + 3_600_000).toISOString(),
    });
    expect(created.status).toBe(201);
    const batchId = created.body.batchId as string;
    const started = await waitFor(
      'BatchStarted',
      async () =>
        (await hub.store.readStream(batchStream(batchId))).find((e) => e.type === 'BatchStarted'),
      { timeoutMs: 15_000 },
    );
    expect(started.recordedAt.getTime() - startsAt).toBeLessThan(1_500);
    const view = await waitFor('the status in the read model', async () => {
      const response = await hub.call(creator, 'GET', `/v1/batches/${batchId}`);
      return response.body.status === 1 ? response : undefined;
    });
    expect(view.status).toBe(200);
  });
});
