import { randomUUID } from 'node:crypto';
import { PgliteDatabase } from '../../src/database/pglite-database';
import { runMigrations } from '../../src/database/migrations/migrations';
import { START } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

const document = {
  title: 'Café "quoted" \\ back-slashed',
  nested: { list: [1, 2.5, true, null], empty: {} },
  unicode: '名前 ✓',
};

// 'server' is the PostgreSQL server when the tests have one, else PGlite again.
describe.each(['pglite', 'server'] as const)(
  'migration 9 (json documents, bytewise stream names) on a log written before it: %s',
  (where) => {
    let database: TestSqlDatabase | { db: PgliteDatabase; dispose: () => Promise<void> };

    beforeEach(async () => {
      if (where === 'pglite') {
        const db = await PgliteDatabase.open(null);
        database = { db, dispose: () => db.close() };
      } else database = await openTestSqlDatabase('migration9');
    });
    afterEach(() => database.dispose());

    it('keeps every event readable as it was and appends after it', async () => {
      const { db } = database;
      await runMigrations(db, { upTo: 8 });
      // Written the way migration 8's hub_append_batch wrote events: documents as jsonb.
      const ids = [randomUUID(), randomUUID()];
      await db.query(
        `SELECT * FROM hub_append_batch($1::text[], $2::text[], $3::int[], $4::text[], $5::text[],
           $6::jsonb, $7::jsonb, $8::text[], $9::bigint[])`,
        [
          ['old-1', 'old-2'],
          ['no_stream', 'no_stream'],
          [1, 1],
          ids,
          ['Old.Happened', 'Old.Happened'],
          JSON.stringify([document, { n: 2 }]),
          JSON.stringify([{ requestId: 'r1' }, { requestId: 'r2' }]),
          ['old-1', 'old-2'],
          ['0', '0'],
        ],
      );

      const store = await SqlEventStore.open(db);
      try {
        const before = await store.readAll({ from: START });
        expect(before.map((e) => [e.stream, e.id, e.data, e.metadata])).toEqual([
          ['old-1', ids[0], document, { requestId: 'r1' }],
          ['old-2', ids[1], { n: 2 }, { requestId: 'r2' }],
        ]);
        await store.appendToStream('old-1', [{ id: randomUUID(), type: 'New', data: document }], {
          expectedRevision: 0n,
        });
        await store.appendToStream('new-1', [{ id: randomUUID(), type: 'New', data: {} }], {
          expectedRevision: 'no_stream',
        });
        expect((await store.readStream('old-1')).map((e) => [e.revision, e.data])).toEqual([
          [0n, document],
          [1n, document],
        ]);
        const types = await db.query<{ column_name: string; data_type: string }>(
          `SELECT column_name, data_type FROM information_schema.columns
            WHERE table_name = 'hub_events' AND column_name IN ('data', 'metadata') ORDER BY 1`,
        );
        expect(types.rows).toEqual([
          { column_name: 'data', data_type: 'json' },
          { column_name: 'metadata', data_type: 'json' },
        ]);
      } finally {
        await store.close();
      }
    });
  },
);
