import { SqlDatabase, SqlResult, SqlRow, SqlSession } from '../database/sql-database';

/** Held while one process runs a projection; released when it stops or its connection dies. */
export interface Leadership {
  /** False once the lock's connection is gone: the holder must stop writing. */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

const LOCK_NAMESPACE = 'hub-projection:';

/**
 * The one connection on which a process holds all its advisory locks (every projection it leads,
 * webhook delivery): one pooled connection however many locks, instead of one each. Advisory
 * locks belong to the session, so when that connection dies every lock on it is gone at once,
 * and every holder finds out through stillHeld; the next lock opens a new one.
 *
 * PGlite is one connection, where advisory locks are re-entrant; the set of names held keeps two
 * runners of one projection in a process apart there (other processes cannot open the same
 * DATA_DIR), and on a server it saves a round trip.
 */
class LockSession {
  private opening: Promise<SqlSession> | null = null;
  /** The open connection the locks are on; null before it opens and after it broke. */
  private live: SqlSession | null = null;
  private readonly held = new Set<string>();
  /** Queries on the session run one after another: many runners share it. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: SqlDatabase) {}

  private query<Row extends SqlRow>(
    session: SqlSession,
    text: string,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<Row>> {
    const result = this.turn.then(() => session.query<Row>(text, params));
    this.turn = result.catch(() => undefined);
    return result;
  }

  async tryLock(name: string): Promise<Leadership | null> {
    if (this.held.has(name)) return null;
    this.held.add(name);
    let session: SqlSession | null = null;
    try {
      session = await this.open();
      const { rows } = await this.query<{ locked: boolean }>(
        session,
        'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
        [LOCK_NAMESPACE + name],
      );
      if (rows[0]?.locked) return this.leadership(name, session);
    } catch (error) {
      this.held.delete(name);
      if (session) this.forget(session);
      throw error;
    }
    this.held.delete(name);
    await this.closeIfUnused();
    return null;
  }

  private leadership(name: string, session: SqlSession): Leadership {
    let released = false;
    return {
      stillHeld: async () => {
        if (released || this.live !== session) return false;
        try {
          await this.query(session, 'SELECT 1');
          return true;
        } catch {
          this.forget(session);
          return false;
        }
      },
      release: async () => {
        if (released) return;
        released = true;
        this.held.delete(name);
        if (this.live !== session) return;
        await this.query(session, 'SELECT pg_advisory_unlock(hashtext($1))', [
          LOCK_NAMESPACE + name,
        ]).catch(() => this.forget(session));
        await this.closeIfUnused();
      },
    };
  }

  private open(): Promise<SqlSession> {
    if (!this.opening) {
      const opening = this.db.session();
      this.opening = opening;
      opening.then(
        (session) => {
          if (this.opening === opening) this.live = session;
        },
        () => {
          if (this.opening === opening) this.opening = null;
        },
      );
    }
    return this.opening;
  }

  /** The connection broke: its locks are gone; the next lock opens a new one. */
  private forget(session: SqlSession): void {
    if (this.live !== session) return;
    this.live = null;
    this.opening = null;
    void session.release().catch(() => undefined);
  }

  private async closeIfUnused(): Promise<void> {
    const idle = this.live;
    if (this.held.size > 0 || !idle) return;
    this.live = null;
    this.opening = null;
    await idle.release().catch(() => undefined);
  }
}

const lockSessions = new WeakMap<SqlDatabase, LockSession>();

/**
 * Tries to become the one instance running `name` (a projection, webhook delivery): a
 * session-level PostgreSQL advisory lock. Returns null when another instance holds it.
 */
export const tryLead = (db: SqlDatabase, name: string): Promise<Leadership | null> => {
  let locks = lockSessions.get(db);
  if (!locks) {
    locks = new LockSession(db);
    lockSessions.set(db, locks);
  }
  return locks.tryLock(name);
};
