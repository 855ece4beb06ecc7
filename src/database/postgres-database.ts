import { Client, Pool, PoolClient, types } from 'pg';
import { SqlDatabase, SqlExecutor, SqlResult, SqlRow, SqlSession } from './sql-database';

// int8 stays a string (the event store parses positions and revisions as bigint itself), and
// timestamps keep their text so both adapters can hand the same value to `new Date`.
types.setTypeParser(types.builtins.TIMESTAMPTZ, (value) => new Date(value));

export interface PostgresDatabaseOptions {
  maxConnections?: number;
  applicationName?: string;
}

export class PostgresDatabase implements SqlDatabase {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    options: PostgresDatabaseOptions = {},
  ) {
    this.pool = new Pool({
      connectionString,
      max: options.maxConnections ?? 20,
      application_name: options.applicationName ?? 'learning-hub',
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client that loses its server connection emits here; without a listener the
    // process would crash. The next query on the pool reconnects.
    this.pool.on('error', () => undefined);
  }

  async query<Row extends SqlRow = SqlRow>(
    text: string,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<Row>> {
    const result = await this.pool.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    // The pool listens for errors only on idle clients. If the server ends this connection
    // while no query is in flight (between statements of the transaction), the client emits
    // 'error'; unheard, that would crash the process. The next statement then fails anyway.
    const onConnectionError = (error: Error) => {
      broken = error;
    };
    client.on('error', onConnectionError);
    try {
      await client.query('BEGIN');
      const result = await work(executorFor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw error;
    } finally {
      client.off('error', onConnectionError);
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  async session(): Promise<SqlSession> {
    // A client outside the pool, so a long-held session never starves request traffic.
    const client = new Client({
      connectionString: this.connectionString,
      application_name: 'learning-hub-session',
    });
    client.on('error', () => undefined);
    await client.connect();
    return {
      ...executorFor(client),
      release: async () => {
        await client.end().catch(() => undefined);
      },
    };
  }

  async listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost: () => void = () => undefined,
  ): Promise<() => Promise<void>> {
    const client = new Client({
      connectionString: this.connectionString,
      application_name: 'learning-hub-listen',
    });
    let stopped = false;
    const lost = () => {
      if (!stopped) onLost();
      stopped = true;
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    client.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload ?? '');
    });
    await client.query(`LISTEN ${quoteIdentifier(channel)}`);
    return async () => {
      stopped = true;
      await client.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

const executorFor = (client: PoolClient | Client): SqlExecutor => ({
  query: async <Row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) => {
    const result = await client.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  },
  exec: async (script: string) => {
    await client.query(script);
  },
});

export const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;
