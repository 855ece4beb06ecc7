import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { HUB_CONFIG, HubConfig, redact } from '../config/hub-config';
import { runMigrations } from '../database/migrations/migrations';
import { PgliteDatabase } from '../database/pglite-database';
import { PostgresDatabase } from '../database/postgres-database';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store';
import { EVENT_STORE, EventStore } from './event-store.port';
import { SqlEventStore } from './sql/sql-event-store';
import { HUB_METRICS, HubMetrics } from '../metrics/hub-metrics';
import { InstrumentedEventStore } from './instrumented-event-store';

/** Opens the PostgreSQL the hub keeps read models, checkpoints and jobs in, migrated. */
export const openDatabase = async (config: HubConfig): Promise<SqlDatabase> => {
  const db =
    config.storage.kind === 'embedded'
      ? await PgliteDatabase.open(config.storage.dataDir)
      : new PostgresDatabase(config.storage.databaseUrl, {
          maxConnections: config.databasePoolSize,
        });
  await runMigrations(db);
  return db;
};

/**
 * Opens the event store the configuration selects: EventStoreDB, or the SQL store on `db` as
 * openDatabase returned it (migrated).
 */
export const openEventStore = async (config: HubConfig, db: SqlDatabase): Promise<EventStore> => {
  if (config.storage.kind === 'eventstoredb') {
    const logger = new Logger('EventStoreDB');
    return EventStoreDbEventStore.connect(config.storage.eventStoreUrl, {
      logger: { warn: (message, context) => logger.warn(message, context) },
    });
  }
  // openDatabase migrated it.
  return SqlEventStore.onMigrated(db);
};

export const describeStorage = (config: HubConfig): Record<string, string> => {
  switch (config.storage.kind) {
    case 'embedded':
      return { eventStore: 'embedded PostgreSQL (PGlite)', dataDir: config.storage.dataDir };
    case 'postgres':
      return { eventStore: 'PostgreSQL', database: redact(config.storage.databaseUrl) };
    case 'eventstoredb':
      return {
        eventStore: 'EventStoreDB',
        eventStoreUrl: redact(config.storage.eventStoreUrl),
        database: redact(config.storage.databaseUrl),
      };
    default: {
      const unknownStorage: never = config.storage;
      return unknownStorage;
    }
  }
};

@Injectable()
class StorageShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  // Runs after every module's onModuleDestroy, so projections have finished their batch.
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    await this.db.close();
  }
}

@Global()
@Module({
  providers: [
    { provide: SQL_DATABASE, inject: [HUB_CONFIG], useFactory: openDatabase },
    {
      provide: EVENT_STORE,
      inject: [HUB_CONFIG, SQL_DATABASE, HUB_METRICS],
      useFactory: async (config: HubConfig, db: SqlDatabase, metrics: HubMetrics) =>
        new InstrumentedEventStore(await openEventStore(config, db), metrics),
    },
    StorageShutdown,
  ],
  exports: [SQL_DATABASE, EVENT_STORE],
})
export class StorageModule {}
