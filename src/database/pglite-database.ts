import { PGlite, Transaction } from '@electric-sql/pglite';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { claimDataDir } from './data-dir-lock';
import { SqlDatabase, SqlExecutor, SqlResult, SqlRow, SqlSession } from './sql-database';

/**
 * Embedded PostgreSQL in a directory. PGlite is one connection: queries queue behind a running
 * transaction, which gives the same isolation a server would. Two processes must never open the
 * same directory, so a lock file naming the owning pid guards it.
 */
export class PgliteDatabase implements SqlDatabase {
  readonly kind = 'pglite' as const;
  private closed = false;

  private constructor(
    private readonly db: PGlite,
    private readonly lockPath: string | null,
  ) {}

  /** Opens (creating on first use) the database in `dataDir`; in memory when `dataDir` is null. */
  static async open(dataDir: string | null): Promise<PgliteDatabase> {
    if (dataDir === null) return new PgliteDatabase(await PGlite.create(), null);
    const root = resolve(dataDir);
    const lockPath = claimDataDir(root);
    try {
      const db = await PGlite.create(join(root, 'pglite'));
      return new PgliteDatabase(db, lockPath);
    } catch (error) {
      rmSync(lockPath, { force: true });
      throw error;
    }
  }

  async query<Row extends SqlRow = SqlRow>(
    text: string,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<Row>> {
    await yieldToEventLoop();
    const result = await this.db.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }

  async exec(script: string): Promise<void> {
    await yieldToEventLoop();
    await this.db.exec(script);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    await yieldToEventLoop();
    return this.db.transaction((tx) => work(executorFor(tx)));
  }

  async session(): Promise<SqlSession> {
    // One connection only: a session is the database itself, and releasing it must not close it.
    return {
      query: (text, params) => this.query(text, params),
      exec: (script) => this.exec(script),
      release: async () => undefined,
    };
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, onNotify);
    return async () => {
      if (!this.closed) await unlisten();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
    if (this.lockPath) rmSync(this.lockPath, { force: true });
  }
}

/**
 * PGlite executes in WebAssembly on the main thread and its promises settle as microtasks, so a
 * loop of queries (a projection catching up) would never let timers or sockets run. Each
 * top-level call first waits for the next turn of the event loop.
 */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const executorFor = (tx: Transaction): SqlExecutor => ({
  query: async <Row extends SqlRow = SqlRow>(text: string, params: readonly unknown[] = []) => {
    const result = await tx.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  },
  exec: async (script: string) => {
    await tx.exec(script);
  },
});
