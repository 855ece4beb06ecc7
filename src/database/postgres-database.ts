import { Pool, PoolClient, types } from 'pg';
import { StoreUnavailableError } from '../errors/hub-error';
import { SqlDatabase, SqlExecutor, SqlResult, SqlRow, SqlSession } from './sql-database';

// int8 stays a string (the event store parses positions and revisions as bigint itself), and
// timestamps keep their text so both adapters can hand the same value to `new Date`.
types.setTypeParser(types.builtins.TIMESTAMPTZ, (value) => new Date(value));

export interface PostgresDatabaseOptions {
  maxConnections?: number;
  applicationName?: string;
  /** How long a caller waits for a free connection before the database counts as unavailable. */
  connectionTimeoutMs?: number;
}

const CONNECTION_FAILURE =
  /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|too many clients|the database system is (starting up|shutting down)/i;

/**
 * The pool being exhausted, or the server unreachable or refusing connections, is not the
 * caller's fault nor a bug: it is the database being unavailable (503, retry), never a 500.
 */
const asUnavailable = (error: unknown): unknown => {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const refused =
    typeof code === 'string' && (code.startsWith('08') || code === '53300' || code === '57P03');
  return refused || CONNECTION_FAILURE.test(message)
    ? new StoreUnavailableError(`The database is unavailable: ${message}`, error)
    : error;
};

/**
 * A PostgreSQL server through one pool: requests, transactions, the session that holds advisory
 * locks and the LISTEN connection all take their connections from it, so the hub never holds
 * more connections than DATABASE_POOL_SIZE.
 */
export class PostgresDatabase implements SqlDatabase {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;
  private closed = false;

  constructor(connectionString: string, options: PostgresDatabaseOptions = {}) {
    this.pool = new Pool({
      connectionString,
      max: options.maxConnections ?? 20,
      application_name: options.applicationName ?? 'learning-hub',
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    });
    // An idle client that loses its server connection emits here; without a listener the
    // process would crash. The next query on the pool reconnects.
    this.pool.on('error', () => undefined);
  }

  async query<Row extends SqlRow = SqlRow>(
    text: string,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<Row>> {
    try {
      const result = await this.pool.query<Row>(text, params as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.pool.query(script);
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  private async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.connect();
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
    const client = await this.connect();
    await client.query("SET application_name = 'learning-hub-session'").catch(() => undefined);
    let broken: Error | undefined;
    // An error between queries must not crash the process; the connection is then dropped, not
    // returned to the pool, when the session is released.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    let released = false;
    return {
      ...executorFor(client),
      release: async () => {
        if (released) return;
        released = true;
        // Session state (advisory locks, settings) must not outlive the session on a pooled
        // connection: the connection is closed rather than reused.
        client.release(broken ?? true);
      },
    };
  }

  async listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost: () => void = () => undefined,
  ): Promise<() => Promise<void>> {
    const client = await this.connect();
    let stopped = false;
    let released = false;
    // A broken connection goes back to the pool (to be dropped) at once: the pool counts it as
    // in use until then, and would wait for it on close.
    const lost = () => {
      const wasListening = !stopped;
      stopped = true;
      stop();
      if (wasListening) onLost();
    };
    const onNotification = (message: { channel: string; payload?: string }) => {
      if (message.channel === channel) onNotify(message.payload ?? '');
    };
    const stop = () => {
      if (released) return;
      released = true;
      client.off('error', lost);
      client.off('end', lost);
      client.off('notification', onNotification);
      // Unheard, a late error of the closing connection would crash the process.
      client.on('error', () => undefined);
      // A connection that listened is closed rather than handed to another caller.
      client.release(true);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', onNotification);
    try {
      // Named, so an operator (or a test) can tell it from request traffic.
      await client.query("SET application_name = 'learning-hub-listen'");
      await client.query(`LISTEN ${quoteIdentifier(channel)}`);
    } catch (error) {
      stopped = true;
      stop();
      throw asUnavailable(error);
    }
    return async () => {
      stopped = true;
      stop();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

const executorFor = (client: PoolClient): SqlExecutor => ({
  query: async <Row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) => {
    const result = await client.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  },
  exec: async (script: string) => {
    await client.query(script);
  },
});

export const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;
