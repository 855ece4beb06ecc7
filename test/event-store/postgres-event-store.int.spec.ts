import { PostgresDatabase } from '../../src/database/postgres-database';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import {
  createScratchDatabase,
  postgresServer,
  whyNoPostgresServer,
} from '../support/test-databases';
import { describeEventStoreConformance } from './event-store-conformance';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describeEventStoreConformance('PostgreSQL server', whyNoPostgresServer(), async () => {
  const server = await postgresServer();
  if ('unavailable' in server) return { skip: server.unavailable };
  const scratch = await createScratchDatabase(server.url, 'conformance');
  cleanups.push(
    () => server.stop(),
    () => scratch.drop(),
  );
  return {
    orderingRounds: 10,
    open: async (variant) => {
      const db = new PostgresDatabase(scratch.url, { maxConnections: 25 });
      const store = await SqlEventStore.open(db, {
        append: variant === 'transaction-per-append' ? { maxEventsPerBatch: 0 } : {},
        pollIntervalMs: 200,
      });
      const close = store.close.bind(store);
      store.close = async () => {
        await close();
        await db.close();
      };
      return store;
    },
  };
});
