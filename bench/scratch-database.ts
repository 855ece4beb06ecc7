import { Client } from 'pg';
import { quoteIdentifier } from '../src/database/postgres-database';

export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The server the benchmark runs against: BENCH_DATABASE_URL, else DATABASE_URL, else local. */
export const serverUrl = (): string =>
  process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || DEFAULT_SERVER_URL;

/** The URL with its password (if any) masked, for progress lines. */
export const redactUrl = (url: string): string => {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
};

export interface ScratchDatabase {
  name: string;
  url: string;
  /** Drops the database, ending whatever connections still use it. Safe to call more than once. */
  drop(): Promise<void>;
}

const adminClient = async (url: string): Promise<Client> => {
  const client = new Client({ connectionString: url, application_name: 'hub-bench-admin' });
  client.on('error', () => undefined);
  await client.connect();
  return client;
};

/** Creates `bench_<timestamp>` on the server of `url` and returns a URL that points at it. */
export const createScratchDatabase = async (url: string): Promise<ScratchDatabase> => {
  const name = `bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 17)}_${process.pid}`;
  const admin = await adminClient(url);
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  let dropping: Promise<void> | null = null;
  return {
    name,
    url: scratch.toString(),
    drop: () =>
      (dropping ??= (async () => {
        const client = await adminClient(url);
        try {
          await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
        } finally {
          await client.end().catch(() => undefined);
        }
      })()),
  };
};
