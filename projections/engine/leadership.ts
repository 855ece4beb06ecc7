import { SqlDatabase, SqlSession } from '../../src/database/sql-database';

/** Held while one process runs a projection; released when it stops or its connection dies. */
export interface Leadership {
  /** False once the lock's connection is gone: the holder must stop writing. */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

// PGlite is one connection, where advisory locks are re-entrant; within a process these sets
// keep two runners of one projection on one database apart (other processes cannot open the
// same DATA_DIR). Keyed by database, so hubs on different databases in one process do not
// block each other.
const heldInProcess = new WeakMap<SqlDatabase, Set<string>>();

const LOCK_NAMESPACE = 'hub-projection:';

/**
 * Tries to become the one instance running `projection`: a session-level PostgreSQL advisory
 * lock on a dedicated connection. Returns null when another instance holds it.
 */
export const tryLead = async (db: SqlDatabase, projection: string): Promise<Leadership | null> => {
  const key = projection;
  const held = heldInProcess.get(db) ?? new Set<string>();
  heldInProcess.set(db, held);
  if (held.has(key)) return null;
  held.add(key);
  let session: SqlSession | null = null;
  try {
    session = await db.session();
    const { rows } = await session.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [LOCK_NAMESPACE + projection],
    );
    if (!rows[0]?.locked) {
      await session.release();
      held.delete(key);
      return null;
    }
  } catch (error) {
    await session?.release();
    held.delete(key);
    throw error;
  }
  const lockSession = session;
  let released = false;
  return {
    stillHeld: async () => {
      if (released) return false;
      try {
        await lockSession.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    release: async () => {
      if (released) return;
      released = true;
      held.delete(key);
      await lockSession
        .query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_NAMESPACE + projection])
        .catch(() => undefined);
      await lockSession.release();
    },
  };
};
