import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import {
  activeSubscription,
  expectProblem,
  learningEvent,
  Parties,
  publishBatch,
  readWholeFeed,
  registerProgram,
  setUpParties,
  waitFor,
} from '../support/clearinghouse';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  RunningHub,
  startHub,
} from '../support/hub-harness';
import { SseReader } from '../support/sse-reader';

const STREAMS = 30;

/** A gauge's value in the Prometheus text of GET /metrics. */
const gauge = async (hub: RunningHub, token: string, name: string): Promise<number> => {
  const response = await hub.call(token, 'GET', '/metrics');
  expect(response.status).toBe(200);
  const line = (response.body as string).split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in the metrics`);
  return Number(line.split(' ')[1]);
};

/**
 * Many live streams of one subscription are fed by one reader of the log, not one each; a new
 * subscription's streams catch up from the start of a log full of other programs' events; and
 * when the pool of connections runs dry the hub answers 503 with Retry-After, not 500.
 */
describe('live streams at scale', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let p: Parties;

  beforeAll(async () => {
    storage = await freshStorage('live_scale');
    hub = await startHub(storage.storage, { databasePoolSize: 8 });
    p = await setUpParties(hub, 'scale');
  });

  afterAll(async () => {
    await hub.close();
    await storage.dispose();
  });

  it('feeds every stream of a subscription from one reader of the log once they are live', async () => {
    // Another program's events fill the log around the subscription's own.
    await registerProgram(hub, p.publisherAdmin, 'scale-OTHER');
    const mine: string[] = [];
    for (let round = 0; round < 4; round++) {
      await publishBatch(
        hub,
        p.publisher,
        Array.from({ length: 500 }, (_, i) => learningEvent('scale-OTHER', `o-${round}-${i}`)),
      );
      mine.push(
        ...(await publishBatch(
          hub,
          p.publisher,
          Array.from({ length: 10 }, (_, i) =>
            learningEvent(p.publisherProgram, `m-${round}-${i}`),
          ),
        )),
      );
    }
    const subscription = await activeSubscription(hub, p, {
      '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' },
    });
    await waitFor('the subscription to be live', async () => {
      const response = await hub.call(
        p.subscriber,
        'GET',
        `/v1/subscriptions/${subscription.subscriptionId}/feed?after=start&limit=1`,
      );
      return response.status === 200;
    });
    const readersBefore = await gauge(hub, ADMIN_TOKEN, 'hub_log_subscriptions');

    const streams = await Promise.all(
      Array.from({ length: STREAMS }, () =>
        SseReader.open(
          `${hub.base}/v1/subscriptions/${subscription.subscriptionId}/stream?after=start`,
          {
            authorization: `Bearer ${p.subscriber}`,
          },
        ),
      ),
    );
    try {
      const ids = (stream: SseReader) =>
        stream.events.map((message) => (JSON.parse(message.data!) as { eventId: string }).eventId);
      await waitFor(
        'every stream to catch up',
        () => streams.every((s) => ids(s).length === mine.length),
        {
          timeoutMs: 30_000,
        },
      );
      // Every stream in the hub's order, which the pull feed gives too.
      const feed = await readWholeFeed(hub, p.subscriber, subscription.subscriptionId);
      const inOrder = feed.items.map((item: { eventId: string }) => item.eventId);
      // Batches are recorded in the order they were sent.
      expect(inOrder).toEqual(mine);
      for (const stream of streams) expect(ids(stream)).toEqual(inOrder);

      expect(await gauge(hub, ADMIN_TOKEN, 'hub_live_stream_clients')).toBe(STREAMS);
      // Once at the head, the streams share one subscription of the log.
      await waitFor(
        'the streams to share one reader',
        async () => (await gauge(hub, ADMIN_TOKEN, 'hub_log_subscriptions')) === readersBefore + 1,
      );

      const more = await publishBatch(
        hub,
        p.publisher,
        Array.from({ length: 5 }, (_, i) => learningEvent(p.publisherProgram, `live-${i}`)),
      );
      await waitFor('the live events on every stream', () =>
        streams.every((s) => ids(s).length === mine.length + more.length),
      );
      for (const stream of streams)
        expect([...ids(stream).slice(mine.length)].sort()).toEqual([...more].sort());
      const after = ids(streams[0]!);
      for (const stream of streams) expect(ids(stream)).toEqual(after);
    } finally {
      await Promise.all(streams.map((stream) => stream.close()));
    }
    await waitFor(
      'the streams to be gone',
      async () => (await gauge(hub, ADMIN_TOKEN, 'hub_live_stream_clients')) === 0,
    );
  });

  it('answers 503 with Retry-After when no connection to the database is free, not 500', async () => {
    // Embedded PostgreSQL is one connection that requests queue for: no pool to run dry.
    if (storage.storage.kind !== 'postgres') return;
    const db = hub.app.get<SqlDatabase>(SQL_DATABASE);
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Every connection of the pool taken and kept; those that find none time out on their own.
    const holders = Array.from({ length: 8 }, () =>
      db.transaction(() => held).catch(() => undefined),
    );
    try {
      const response = await hub.call(ADMIN_TOKEN, 'GET', '/v1/batches');
      expectProblem(response, 503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      release();
      await Promise.all(holders);
    }
    expect((await hub.call(ADMIN_TOKEN, 'GET', '/v1/batches')).status).toBe(200);
  });
});
