import { PgliteDatabase } from '../../src/database/pglite-database';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { describeEventStoreConformance } from './event-store-conformance';

describeEventStoreConformance('embedded PostgreSQL (PGlite)', null, async () => {
  // One in-memory database shared by every store the suite opens, like one DATA_DIR.
  const db = await PgliteDatabase.open(null);
  let open = 0;
  return {
    orderingRounds: 10,
    open: async (variant) => {
      open++;
      const store = await SqlEventStore.open(db, {
        append: variant === 'transaction-per-append' ? { maxEventsPerBatch: 0 } : {},
        pollIntervalMs: 200,
      });
      const close = store.close.bind(store);
      store.close = async () => {
        await close();
        if (--open === 0) await db.close();
      };
      return store;
    },
  };
});
