import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { ulid } from 'ulid';
import { PostgresDatabase } from '../../src/database/postgres-database';
import { RecordedEvent, Subscription } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import {
  createScratchDatabase,
  postgresServer,
  ScratchDatabase,
  whyNoPostgresServer,
} from '../support/test-databases';

const unavailable = whyNoPostgresServer();
if (unavailable !== null) console.warn(`Skipping PostgreSQL visibility tests: ${unavailable}`);

const collect = (subscription: Subscription) => {
  const events: RecordedEvent[] = [];
  const done = (async () => {
    for await (const message of subscription)
      if (message.kind === 'event') events.push(message.event);
  })();
  return { events, done };
};

const waitFor = async (condition: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
};

(unavailable === null ? describe : describe.skip)(
  'PostgreSQL event store: visibility and wake-ups',
  () => {
    let scratch: ScratchDatabase;
    let stop: () => Promise<void>;
    const opened: Array<{ store: SqlEventStore; db: PostgresDatabase }> = [];

    /** A separate store with its own pool, as another hub process would have. */
    const openStore = async (pollIntervalMs: number) => {
      const db = new PostgresDatabase(scratch.url);
      const store = await SqlEventStore.open(db, { pollIntervalMs });
      opened.push({ store, db });
      return store;
    };

    beforeAll(async () => {
      const server = await postgresServer();
      if ('unavailable' in server) throw new Error(server.unavailable);
      scratch = await createScratchDatabase(server.url, 'visibility');
      stop = server.stop;
    });

    afterAll(async () => {
      for (const { store, db } of opened) {
        await store.close();
        await db.close();
      }
      await scratch.drop();
      await stop();
    });

    it('never delivers past an event whose transaction commits late', async () => {
      const reader = await openStore(50);
      const writer = await openStore(50);
      const category = `late${ulid().toLowerCase()}`;
      const seen = collect(
        reader.subscribeToAll({ from: 'end', filter: { streamNamePrefixes: [category] } }),
      );
      await sleep(100);

      // A transaction takes its sequence value first and holds its commit.
      const slow = new Client({ connectionString: scratch.url });
      await slow.connect();
      await slow.query('BEGIN');
      await slow.query(
        `SELECT * FROM hub_append_each(ARRAY[$1], ARRAY['any'], ARRAY[1], ARRAY[$2], ARRAY['Slow'], ARRAY['{}'], ARRAY['{}'])`,
        [`${category}-slow`, randomUUID()],
      );
      // Another commits after it began.
      await writer.appendToStream(`${category}-fast`, [
        { id: randomUUID(), type: 'Fast', data: {} },
      ]);
      await sleep(300);
      expect(seen.events).toEqual([]);

      await slow.query('COMMIT');
      await slow.end();
      await waitFor(() => seen.events.length === 2, 'both events');
      expect(seen.events.map((e) => e.type)).toEqual(['Slow', 'Fast']);
    });

    it('moves past a rolled-back append without losing later events', async () => {
      const reader = await openStore(50);
      const writer = await openStore(50);
      const category = `rolled${ulid().toLowerCase()}`;
      const seen = collect(
        reader.subscribeToAll({ from: 'end', filter: { streamNamePrefixes: [category] } }),
      );
      const aborted = new Client({ connectionString: scratch.url });
      await aborted.connect();
      await aborted.query('BEGIN');
      await aborted.query(
        `SELECT * FROM hub_append_each(ARRAY[$1], ARRAY['any'], ARRAY[1], ARRAY[$2], ARRAY['Gone'], ARRAY['{}'], ARRAY['{}'])`,
        [`${category}-x`, randomUUID()],
      );
      await writer.appendToStream(`${category}-y`, [{ id: randomUUID(), type: 'Kept', data: {} }]);
      await aborted.query('ROLLBACK');
      await aborted.end();
      await waitFor(() => seen.events.length === 1, 'the kept event');
      expect(seen.events[0]!.type).toBe('Kept');
    });

    it('wakes a subscriber in another process through NOTIFY, and again after its LISTEN connection dies', async () => {
      // Polling is an hour here, so only a notification can deliver within the test.
      const reader = await openStore(3_600_000);
      const writer = await openStore(3_600_000);
      const category = `notify${ulid().toLowerCase()}`;
      const seen = collect(
        reader.subscribeToAll({ from: 'end', filter: { streamNamePrefixes: [category] } }),
      );
      await sleep(200);
      await writer.appendToStream(`${category}-1`, [{ id: randomUUID(), type: 'First', data: {} }]);
      await waitFor(() => seen.events.length === 1, 'the notified event', 5_000);

      const admin = new Client({ connectionString: scratch.url });
      await admin.connect();
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'learning-hub-listen'`,
      );
      await admin.end();
      expect(rowCount).toBeGreaterThan(0);
      await sleep(500);
      await writer.appendToStream(`${category}-2`, [
        { id: randomUUID(), type: 'Second', data: {} },
      ]);
      await waitFor(
        () => seen.events.length === 2,
        'the event after LISTEN was re-established',
        5_000,
      );
    });
  },
);
