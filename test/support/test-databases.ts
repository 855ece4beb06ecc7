import { Client } from 'pg';
import { ulid } from 'ulid';
import { PgliteDatabase } from '../../src/database/pglite-database';
import { PostgresDatabase } from '../../src/database/postgres-database';
import { SqlDatabase } from '../../src/database/sql-database';

/**
 * Where tests get their servers: TEST_DATABASE_URL / TEST_EVENTSTORE_URL when set, else a
 * testcontainers container when a Docker engine answers, else (PostgreSQL only) embedded PGlite.
 */
export interface PostgresServer {
  /** Connection string of the server's maintenance database; tests create their own databases on it. */
  url: string;
  source: 'TEST_DATABASE_URL' | 'testcontainers';
  stop(): Promise<void>;
}

/** Null when a Docker engine answers, else the reason it does not (probed once, in global setup). */
export const whyNoDocker = (): string | null =>
  process.env.TEST_DOCKER_AVAILABLE === '1'
    ? null
    : (process.env.TEST_DOCKER_UNAVAILABLE ?? 'the Docker probe did not run');

/** Why a PostgreSQL server cannot be had for tests, or null when one can. */
export const whyNoPostgresServer = (): string | null => {
  if (process.env.TEST_DATABASE_URL) return null;
  const noDocker = whyNoDocker();
  return noDocker === null
    ? null
    : `TEST_DATABASE_URL is not set and no Docker engine answers (${noDocker})`;
};

/** Why an EventStoreDB server cannot be had for tests, or null when one can. */
export const whyNoEventStoreDb = (): string | null => {
  if (process.env.TEST_EVENTSTORE_URL) return null;
  const noDocker = whyNoDocker();
  return noDocker === null
    ? null
    : `TEST_EVENTSTORE_URL is not set and no Docker engine answers (${noDocker})`;
};

export const postgresServer = async (): Promise<PostgresServer | { unavailable: string }> => {
  const fromEnv = process.env.TEST_DATABASE_URL;
  if (fromEnv) return { url: fromEnv, source: 'TEST_DATABASE_URL', stop: async () => undefined };
  const unavailable = whyNoPostgresServer();
  if (unavailable !== null) return { unavailable };
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('postgres:16-alpine')
    .withEnvironment({ POSTGRES_PASSWORD: 'hub', POSTGRES_USER: 'hub', POSTGRES_DB: 'hub' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://hub:hub@${container.getHost()}:${container.getMappedPort(5432)}/hub`,
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
};

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the server, so test files never see each other's data. */
export const createScratchDatabase = async (
  serverUrl: string,
  label: string,
): Promise<ScratchDatabase> => {
  const name =
    `hub_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${ulid().toLowerCase()}`.slice(0, 63);
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
};

export interface TestSqlDatabase {
  db: SqlDatabase;
  kind: 'postgres' | 'pglite';
  /** Connection string for child processes; null for in-memory PGlite. */
  url: string | null;
  dispose(): Promise<void>;
}

/** A read-model database: a scratch database on the PostgreSQL server when there is one, else PGlite in memory. */
export const openTestSqlDatabase = async (
  label: string,
  options: { maxConnections?: number } = {},
): Promise<TestSqlDatabase> => {
  const server = await postgresServer();
  if ('unavailable' in server) {
    const db = await PgliteDatabase.open(null);
    return { db, kind: 'pglite', url: null, dispose: () => db.close() };
  }
  const scratch = await createScratchDatabase(server.url, label);
  const db = new PostgresDatabase(scratch.url, { maxConnections: options.maxConnections });
  return {
    db,
    kind: 'postgres',
    url: scratch.url,
    dispose: async () => {
      await db.close();
      await scratch.drop();
      await server.stop();
    },
  };
};

export const eventStoreDbServer = async (): Promise<
  { url: string; stop(): Promise<void> } | { unavailable: string }
> => {
  const fromEnv = process.env.TEST_EVENTSTORE_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => undefined };
  const unavailable = whyNoEventStoreDb();
  if (unavailable !== null) return { unavailable };
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('eventstore/eventstore:24.10')
    .withEnvironment({
      EVENTSTORE_CLUSTER_SIZE: '1',
      EVENTSTORE_RUN_PROJECTIONS: 'None',
      EVENTSTORE_INSECURE: 'true',
      EVENTSTORE_MEM_DB: 'true',
    })
    .withExposedPorts(2113)
    .withStartupTimeout(120_000)
    .withWaitStrategy(Wait.forHttp('/health/live', 2113).forStatusCode(204))
    .start();
  return {
    url: `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`,
    stop: async () => {
      await container.stop();
    },
  };
};
