/**
 * The slice of a PostgreSQL connection the hub needs, implemented for a `pg` pool (a server) and
 * for PGlite (embedded), so the event store, read models and checkpoints share one SQL dialect.
 */
export interface SqlRow {
  [column: string]: unknown;
}

export interface SqlResult<Row extends SqlRow = SqlRow> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  query<Row extends SqlRow = SqlRow>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<Row>>;
  /** Runs a script of several statements without parameters (migrations, schemas). */
  exec(script: string): Promise<void>;
}

/** A connection held by one caller until released; session-level advisory locks live on it. */
export interface SqlSession extends SqlExecutor {
  release(): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `work` in one transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** A dedicated connection, for session-scoped state such as advisory locks. */
  session(): Promise<SqlSession>;
  /**
   * Calls `onNotify` on every NOTIFY on `channel` until the returned function is called;
   * `onLost` when the listening connection breaks (then listen again).
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const SQL_DATABASE = Symbol('SQL_DATABASE');
