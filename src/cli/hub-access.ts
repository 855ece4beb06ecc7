import { setTimeout as sleep } from 'node:timers/promises';
import { HubConfig } from '../config/hub-config';
import { SqlDatabase } from '../database/sql-database';
import { HubError } from '../errors/hub-error';
import { EventStore } from '../event-store/event-store.port';
import { openDatabase, openEventStore } from '../event-store/storage.module';
import { dataDirHolder, HubFile } from '../local-hub/hub-file';
import { HubClient } from './hub-client';

/** A hub that holds the embedded DATA_DIR: the CLI goes through its API, as a system admin. */
export interface LocalHub {
  pid: number;
  client: HubClient;
}

// A hub writes DATA_DIR/hub.json once it listens and removes it when it begins to stop: in
// between the directory is held by a process that cannot be asked. Waiting this long covers
// a hub starting (about 4 s the first time) or draining.
const SETTLE_MS = 10_000;

/**
 * The hub that holds the configured embedded DATA_DIR; null when the CLI may open the store
 * itself (a free DATA_DIR, or a PostgreSQL server, which takes many clients).
 */
export const localHub = async (config: HubConfig): Promise<LocalHub | null> => {
  if (config.storage.kind !== 'embedded') return null;
  const hub = await hubHolding(config.storage.dataDir);
  return hub && { pid: hub.pid, client: new HubClient(hub.url, hub.token) };
};

/** The hub file of the hub that holds `dataDir`, null when it is free. */
export const hubHolding = async (dataDir: string): Promise<HubFile | null> => {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const holder = dataDirHolder(dataDir);
    if (holder.kind === 'free') return null;
    if (holder.kind === 'hub') return holder.hub;
    if (Date.now() >= deadline)
      throw new HubError(
        'unavailable',
        'DATA_DIR_IN_USE',
        `The embedded database in ${dataDir} is in use by process ${holder.pid}, which is not a ` +
          'listening hub (another CLI command, or a hub that is starting or stopping); try again once it is done.',
      );
    await sleep(200);
  }
};

/** Opens the store the configuration names, runs `work`, and closes it again. */
export const withStorage = async <T>(
  config: HubConfig,
  work: (db: SqlDatabase, store: EventStore) => Promise<T>,
): Promise<T> => {
  const db = await openDatabase(config);
  try {
    const store = await openEventStore(config, db);
    try {
      return await work(db, store);
    } finally {
      await store.close();
    }
  } finally {
    await db.close();
  }
};
