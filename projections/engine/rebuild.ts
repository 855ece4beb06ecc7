import { setTimeout as sleep } from 'node:timers/promises';
import { SqlDatabase, SqlExecutor } from '../../src/database/sql-database';
import { HubError } from '../../src/errors/hub-error';
import { EventStore } from '../../src/event-store/event-store.port';
import { readCheckpoint } from './checkpoints';
import { tryLead } from '../../src/coordination/leadership';
import { Projection } from './projection';
import { projectionFilter, ProjectionTarget, runProjection } from './projection-runner';

export interface RebuildProgress {
  applied: number;
  /** Events to replay as counted at the start; null when the store cannot count. */
  total: number | null;
  elapsedMs: number;
}

export class ProjectionBusyError extends HubError {
  constructor(projection: string) {
    super(
      'conflict',
      'PROJECTION_BUSY',
      `Projection "${projection}" is being run by another hub instance. Stop that instance, then rebuild.`,
    );
  }
}

/** The checkpoint of a rebuild in progress: /health and the CLI show how far it got. */
export const rebuildCheckpointName = (projection: string): string => `${projection}#rebuild`;

/** The schema a rebuild builds its tables in, beside the live ones. */
const shadowSchema = (projection: string): string =>
  `hub_rebuild_${projection.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`.slice(0, 63);

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

// The swap waits at most this long for readers of the live tables, then tries again: a long
// report must not hold every query behind the swap's lock.
const SWAP_LOCK_TIMEOUT = '2s';
const SWAP_ATTEMPTS = 10;

/**
 * Replays every event a projection handles from the start into new tables beside the live read
 * model, then swaps them in, in one transaction. The live read model stays whole and readable
 * throughout; a rebuild that fails or is stopped leaves it exactly as it was (and its own tables
 * are dropped). Takes the projection's leadership for the duration, so no running instance
 * writes to the live tables meanwhile; progress is reported per committed batch.
 */
export const rebuildProjection = async (
  projection: Projection,
  deps: { db: SqlDatabase; store: EventStore },
  options: {
    batchSize?: number;
    onProgress?: (progress: RebuildProgress) => void;
    signal?: AbortSignal;
  } = {},
): Promise<RebuildProgress> => {
  const leadership = await tryLead(deps.db, projection.name);
  if (!leadership) throw new ProjectionBusyError(projection.name);
  const shadow = shadowSchema(projection.name);
  const target: ProjectionTarget = {
    checkpoint: rebuildCheckpointName(projection.name),
    searchPath: `${quote(shadow)}, ${await currentSearchPath(deps.db)}`,
  };
  try {
    const started = Date.now();
    await deps.db.transaction((tx) => prepareShadow(tx, projection, shadow, target));
    const total = await deps.store.countEventsAfter(
      null,
      projectionFilter(projection),
      Number.MAX_SAFE_INTEGER,
    );
    let applied = 0;
    const report = () => ({ applied, total, elapsedMs: Date.now() - started });
    options.onProgress?.(report());
    const signal = options.signal ?? new AbortController().signal;
    await runProjection(projection, deps, {
      batchSize: options.batchSize ?? 1_000,
      signal,
      untilCaughtUp: true,
      target,
      onBatch: (batch) => {
        applied += batch.applied;
        options.onProgress?.(report());
      },
    });
    if (signal.aborted)
      throw new HubError('conflict', 'REBUILD_STOPPED', 'The rebuild was stopped');
    await swapIn(deps.db, projection, shadow, target);
    return report();
  } catch (error) {
    await dropShadow(deps.db, shadow, target).catch(() => undefined);
    throw error;
  } finally {
    await leadership.release();
  }
};

const currentSearchPath = async (db: SqlExecutor): Promise<string> => {
  const { rows } = await db.query<{ path: string }>(
    `SELECT current_setting('search_path') AS path`,
  );
  return rows[0]?.path ?? 'public';
};

const prepareShadow = async (
  tx: SqlExecutor,
  projection: Projection,
  shadow: string,
  target: ProjectionTarget,
): Promise<void> => {
  // Left over by a rebuild that died: start clean.
  await tx.exec(`DROP SCHEMA IF EXISTS ${quote(shadow)} CASCADE; CREATE SCHEMA ${quote(shadow)}`);
  await tx.query(`SELECT set_config('search_path', $1, true)`, [target.searchPath]);
  await tx.exec(projection.schema);
  await tx.query(
    `INSERT INTO hub_projection_checkpoints (projection, projection_version) VALUES ($1, $2)
     ON CONFLICT (projection) DO UPDATE SET position = NULL, events_applied = 0,
       last_event_recorded_at = NULL, projection_version = $2, updated_at = now(),
       last_error = NULL, failing_since = NULL, consecutive_failures = 0`,
    [target.checkpoint, projection.version],
  );
};

/**
 * Drops the live tables and moves the rebuilt ones into their schema, and moves the live
 * checkpoint to where the rebuild got: readers see the old read model or the new, never a mix.
 */
const swapIn = async (
  db: SqlDatabase,
  projection: Projection,
  shadow: string,
  target: ProjectionTarget,
): Promise<void> => {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [SWAP_LOCK_TIMEOUT]);
        for (const table of projection.tables) {
          const live = await liveSchemaOf(tx, table, shadow);
          await tx.exec(
            `DROP TABLE IF EXISTS ${quote(live)}.${quote(table)};
             ALTER TABLE ${quote(shadow)}.${quote(table)} SET SCHEMA ${quote(live)}`,
          );
        }
        const rebuilt = await readCheckpoint(tx, target.checkpoint);
        await tx.query(
          `INSERT INTO hub_projection_checkpoints (projection, projection_version, position,
             events_applied, last_event_recorded_at, rebuilt_at)
           VALUES ($1, $5, $2, $3, $4, now())
           ON CONFLICT (projection) DO UPDATE
             SET position = $2, events_applied = $3, last_event_recorded_at = $4,
                 projection_version = $5, rebuilt_at = now(), updated_at = now(),
                 last_error = NULL, failing_since = NULL, consecutive_failures = 0`,
          [
            projection.name,
            rebuilt?.position ?? null,
            rebuilt?.eventsApplied ?? 0,
            rebuilt?.lastEventRecordedAt?.toISOString() ?? null,
            projection.version,
          ],
        );
        await tx.query('DELETE FROM hub_projection_checkpoints WHERE projection = $1', [
          target.checkpoint,
        ]);
        await tx.exec(`DROP SCHEMA ${quote(shadow)} CASCADE`);
      });
      return;
    } catch (error) {
      // 55P03: lock_not_available, a reader held the live tables past the lock timeout.
      if ((error as { code?: unknown }).code !== '55P03' || attempt >= SWAP_ATTEMPTS) throw error;
      await sleep(200 * attempt);
    }
  }
};

/** The schema the live table is in: the first on the search path, other than the shadow. */
const liveSchemaOf = async (tx: SqlExecutor, table: string, shadow: string): Promise<string> => {
  const { rows } = await tx.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND n.nspname <> $2
        AND n.nspname = ANY (current_schemas(false))
      ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1`,
    [table, shadow],
  );
  return rows[0]?.schema ?? 'public';
};

const dropShadow = async (
  db: SqlDatabase,
  shadow: string,
  target: ProjectionTarget,
): Promise<void> => {
  await db.transaction(async (tx) => {
    await tx.exec(`DROP SCHEMA IF EXISTS ${quote(shadow)} CASCADE`);
    await tx.query('DELETE FROM hub_projection_checkpoints WHERE projection = $1', [
      target.checkpoint,
    ]);
  });
};
