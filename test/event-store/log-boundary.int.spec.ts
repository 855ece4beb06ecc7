import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ulid } from 'ulid';
import { PostgresDatabase } from '../../src/database/postgres-database';
import { SqlDatabase, SqlExecutor, SqlRow } from '../../src/database/sql-database';
import { RecordedEvent, Subscription } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import {
  createScratchDatabase,
  postgresServer,
  ScratchDatabase,
  whyNoPostgresServer,
} from '../support/test-databases';

const unavailable = whyNoPostgresServer();
if (unavailable !== null) console.warn(`Skipping the log boundary tests: ${unavailable}`);

/** The database, counting the filtered pages of the log it is asked to read. */
class CountingDatabase implements SqlDatabase {
  readonly kind = 'postgres' as const;
  filteredPageReads = 0;

  constructor(private readonly inner: PostgresDatabase) {}

  query<Row extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]) {
    if (/^\s*WITH\b[\s\S]*\bpage AS MATERIALIZED/.test(text)) this.filteredPageReads++;
    return this.inner.query<Row>(text, params);
  }
  exec(script: string) {
    return this.inner.exec(script);
  }
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>) {
    return this.inner.transaction(work);
  }
  session() {
    return this.inner.session();
  }
  listen(channel: string, onNotify: (payload: string) => void, onLost?: () => void) {
    return this.inner.listen(channel, onNotify, onLost);
  }
  close() {
    return this.inner.close();
  }
}

const collect = (subscription: Subscription) => {
  const seen = { events: [] as RecordedEvent[], caughtUp: false };
  const done = (async () => {
    for await (const message of subscription) {
      if (message.kind === 'event') seen.events.push(message.event);
      if (message.kind === 'caught-up') seen.caughtUp = true;
    }
  })();
  // A subscription still reading when its test has moved on (a slow connect on a loaded
  // machine) must not fail whichever suite runs next: a test that cares awaits `done`, and one
  // that waits for events times out on its own.
  done.catch(() => undefined);
  return { seen, done };
};

const waitUntil = async (condition: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
};

const anEvent = (type: string, data: unknown = {}) => ({ id: randomUUID(), type, data });

(unavailable === null ? describe : describe.skip)('the log boundary (PostgreSQL)', () => {
  let scratch: ScratchDatabase;
  let elsewhere: ScratchDatabase;
  let stopServer: () => Promise<void>;
  const cleanups: Array<() => Promise<void>> = [];

  /** Polling rarely, so the reads counted are the ones subscribers make to catch up. */
  const openStore = async () => {
    const db = new CountingDatabase(new PostgresDatabase(scratch.url));
    const store = await SqlEventStore.open(db, { pollIntervalMs: 60_000 });
    cleanups.push(async () => {
      await store.close();
      await db.close();
    });
    return { db, store };
  };

  /** Transactions left open by a test, rolled back after it whatever its outcome. */
  const openTransactions: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const end of openTransactions.splice(0)) await end();
  });

  /** A session of its own that stays in a transaction until the test ends. */
  const openTransaction = async (url: string, ...statements: string[]) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    for (const statement of statements) await client.query(statement);
    openTransactions.push(async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    });
    return client;
  };

  beforeAll(async () => {
    const server = await postgresServer();
    if ('unavailable' in server) throw new Error(server.unavailable);
    scratch = await createScratchDatabase(server.url, 'boundary');
    elsewhere = await createScratchDatabase(server.url, 'boundary_other');
    stopServer = server.stop;
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await scratch.drop();
    await elsewhere.drop();
    await stopServer();
  });

  it('is not held back by a transaction of another database, nor by a non-append one of its own', async () => {
    const { store } = await openStore();
    const category = `idle${ulid().toLowerCase()}`;
    await openTransaction(elsewhere.url, 'BEGIN', 'SELECT txid_current()');
    await openTransaction(
      scratch.url,
      'BEGIN',
      'CREATE TABLE IF NOT EXISTS report_scratch (n int)',
      'INSERT INTO report_scratch VALUES (1)',
    );
    await openTransaction(
      scratch.url,
      'BEGIN ISOLATION LEVEL REPEATABLE READ',
      'SELECT count(*) FROM hub_events',
    );
    const live = collect(
      store.subscribeToAll({ from: 'end', filter: { streamNamePrefixes: [category] } }),
    );
    await waitUntil(() => live.seen.caughtUp, 'the subscriber to be live');
    await store.appendToStream(`${category}-1`, [anEvent('AfterIdle')]);
    await waitUntil(
      () => live.seen.events.length === 1,
      'the event past the idle transactions',
      3_000,
    );
    const read = await store.readAll({ filter: { streamNamePrefixes: [category] } });
    expect(read.map((e) => e.type)).toEqual(['AfterIdle']);
  });

  it('still waits for an append in flight, and an unsettled read sees what committed behind it', async () => {
    const { store } = await openStore();
    const category = `inflight${ulid().toLowerCase()}`;
    const slow = await openTransaction(scratch.url, 'BEGIN');
    await slow.query(
      `SELECT * FROM hub_append_each(ARRAY[$1], ARRAY['any'], ARRAY[1], ARRAY[$2], ARRAY['Slow'], ARRAY['{}'], ARRAY['{}'])`,
      [`${category}-slow`, randomUUID()],
    );
    await store.appendToStream(`${category}-fast`, [anEvent('Fast')]);
    const filter = { streamNamePrefixes: [category] };
    expect(await store.readAll({ filter })).toEqual([]);
    const unsettled = await store.readAll({ filter, includeUnsettled: true });
    expect(unsettled.map((e) => e.type)).toEqual(['Fast']);
    await slow.query('COMMIT');
    expect((await store.readAll({ filter })).map((e) => e.type)).toEqual(['Slow', 'Fast']);
  });

  it('reads a publisher category through its index, without scanning other streams', async () => {
    const { db, store } = await openStore();
    const tag = ulid().toLowerCase();
    const category = `learning-event-P${tag}/`;
    const mine = [];
    // 12,000 events of another program, with three of ours among them.
    for (let chunk = 0; chunk < 12; chunk++) {
      await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          store.appendToStream(`learning-event-Q${tag}/${chunk}-${i}`, [anEvent('Other')]),
        ),
      );
      if (chunk % 4 === 1) {
        await store.appendToStream(`${category}${chunk}`, [anEvent('Mine', { chunk })]);
        mine.push(chunk);
      }
    }
    const before = db.filteredPageReads;
    const subscriber = collect(
      store.subscribeToAll({
        from: 'start',
        filter: { streamNamePrefixes: [category] },
        batchSize: 2_000,
      }),
    );
    await waitUntil(() => subscriber.seen.caughtUp, 'the category subscriber to catch up');
    expect(subscriber.seen.events.map((e) => (e.data as { chunk: number }).chunk)).toEqual(mine);
    // One page holds the whole category; scanning the log would take seven pages of 2,000 rows.
    expect(db.filteredPageReads - before).toBe(1);
  });

  it('shares the pages that subscribers catching up on the same filter read', async () => {
    const { db, store } = await openStore();
    const category = `learning-event-S${ulid().toLowerCase()}/`;
    await Promise.all(
      Array.from({ length: 3_000 }, (_, i) =>
        store.appendToStream(`${category}${i}`, [anEvent('Shared', { i })]),
      ),
    );
    const before = db.filteredPageReads;
    const readers = Array.from({ length: 20 }, () =>
      collect(
        store.subscribeToAll({
          from: 'start',
          filter: { streamNamePrefixes: [category] },
          batchSize: 500,
        }),
      ),
    );
    await waitUntil(
      () => readers.every((r) => r.seen.caughtUp),
      'twenty readers to catch up',
      30_000,
    );
    for (const reader of readers) expect(reader.seen.events).toHaveLength(3_000);
    // Six full pages read once each; the short last one, which cannot be kept, at most once a
    // reader. Twenty readers on their own would read 140 pages.
    expect(db.filteredPageReads - before).toBeLessThanOrEqual(6 + 20);
  });
});
