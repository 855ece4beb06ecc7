import { EventStoreDbEventStore } from '../../src/event-store/eventstoredb/eventstoredb-event-store';
import { eventStoreDbServer, whyNoEventStoreDb } from '../support/test-databases';
import { describeEventStoreConformance } from './event-store-conformance';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describeEventStoreConformance('EventStoreDB', whyNoEventStoreDb(), async () => {
  const server = await eventStoreDbServer();
  if ('unavailable' in server) return { skip: server.unavailable };
  cleanups.push(() => server.stop());
  return {
    orderingRounds: 10,
    // EventStoreDB has no transaction-per-append knob: every append is its own write already.
    open: async () => EventStoreDbEventStore.connect(server.url),
  };
});
