import { SqlExecutor } from '../../src/database/sql-database';
import { HubError } from '../../src/errors/hub-error';
import { Position } from '../../src/event-store/event-store.port';
import { Projection } from './projection';

export interface ProjectionFailure {
  error: string;
  since: Date;
  /** Attempts that failed in a row. */
  attempts: number;
}

export interface Checkpoint {
  projection: string;
  projectionVersion: number;
  position: Position | null;
  eventsApplied: number;
  lastEventRecordedAt: Date | null;
  rebuiltAt: Date | null;
  updatedAt: Date;
  /** Set while the projection fails; cleared by the next batch it commits. */
  failure: ProjectionFailure | null;
}

interface CheckpointRow {
  projection: string;
  projection_version: number;
  position: string | null;
  events_applied: string | number;
  last_event_recorded_at: Date | string | null;
  rebuilt_at: Date | string | null;
  updated_at: Date | string;
  last_error: string | null;
  failing_since: Date | string | null;
  consecutive_failures: number;
  [column: string]: unknown;
}

const asDate = (value: Date | string | null): Date | null =>
  value === null ? null : value instanceof Date ? value : new Date(value);

const toCheckpoint = (row: CheckpointRow): Checkpoint => ({
  projection: row.projection,
  projectionVersion: Number(row.projection_version),
  position: row.position as Position | null,
  eventsApplied: Number(row.events_applied),
  lastEventRecordedAt: asDate(row.last_event_recorded_at),
  rebuiltAt: asDate(row.rebuilt_at),
  updatedAt: asDate(row.updated_at) ?? new Date(0),
  failure:
    row.last_error === null
      ? null
      : {
          error: row.last_error,
          since: asDate(row.failing_since) ?? new Date(0),
          attempts: Number(row.consecutive_failures),
        },
});

/** Another instance moved the checkpoint under us: this one must stop writing. */
export class CheckpointMovedError extends HubError {
  constructor(projection: string) {
    super(
      'conflict',
      'CHECKPOINT_MOVED',
      `The checkpoint of projection "${projection}" was moved by another instance`,
    );
  }
}

export const readCheckpoint = async (
  db: SqlExecutor,
  projection: string,
): Promise<Checkpoint | null> => {
  const { rows } = await db.query<CheckpointRow>(
    'SELECT * FROM hub_projection_checkpoints WHERE projection = $1',
    [projection],
  );
  return rows[0] ? toCheckpoint(rows[0]) : null;
};

export const readAllCheckpoints = async (db: SqlExecutor): Promise<Checkpoint[]> => {
  const { rows } = await db.query<CheckpointRow>(
    'SELECT * FROM hub_projection_checkpoints ORDER BY projection',
  );
  return rows.map(toCheckpoint);
};

/**
 * Creates the read model's tables and checkpoint row. When the stored version differs from the
 * code's, the read model is emptied and the checkpoint reset: it will be replayed from the start.
 */
export const prepareProjection = async (
  tx: SqlExecutor,
  projection: Projection,
): Promise<Checkpoint> => {
  await tx.exec(projection.schema);
  await tx.query(
    `INSERT INTO hub_projection_checkpoints (projection, projection_version) VALUES ($1, $2)
     ON CONFLICT (projection) DO NOTHING`,
    [projection.name, projection.version],
  );
  const current = await readCheckpoint(tx, projection.name);
  if (current && current.projectionVersion !== projection.version)
    return resetProjection(tx, projection);
  return current!;
};

/** Empties the read model and moves its checkpoint back to the start, in the caller's transaction. */
export const resetProjection = async (
  tx: SqlExecutor,
  projection: Projection,
): Promise<Checkpoint> => {
  if (projection.tables.length > 0)
    await tx.exec(`TRUNCATE ${projection.tables.map((t) => `"${t}"`).join(', ')}`);
  const { rows } = await tx.query<CheckpointRow>(
    `UPDATE hub_projection_checkpoints
        SET position = NULL, events_applied = 0, last_event_recorded_at = NULL, projection_version = $2,
            rebuilt_at = now(), updated_at = now()
      WHERE projection = $1 RETURNING *`,
    [projection.name, projection.version],
  );
  return toCheckpoint(rows[0]!);
};

/** Moves the checkpoint from `expected` to `next`, failing if someone else moved it meanwhile. */
export const advanceCheckpoint = async (
  tx: SqlExecutor,
  projection: string,
  expected: Position | null,
  next: Position,
  eventsApplied: number,
  lastEventRecordedAt: Date | null,
): Promise<void> => {
  const { rowCount } = await tx.query(
    `UPDATE hub_projection_checkpoints
        SET position = $3, events_applied = events_applied + $4,
            last_event_recorded_at = coalesce($5, last_event_recorded_at), updated_at = now(),
            last_error = NULL, failing_since = NULL, consecutive_failures = 0
      WHERE projection = $1 AND position IS NOT DISTINCT FROM $2`,
    [projection, expected, next, eventsApplied, lastEventRecordedAt],
  );
  if (rowCount !== 1) throw new CheckpointMovedError(projection);
};

/** Longest error text kept: enough to tell one failure from another. */
const MAX_ERROR_LENGTH = 1_000;

/** Records that an attempt to apply the projection failed; returns the failure as it now stands. */
export const recordFailure = async (
  db: SqlExecutor,
  projection: string,
  error: string,
): Promise<ProjectionFailure | null> => {
  const { rows } = await db.query<CheckpointRow>(
    `UPDATE hub_projection_checkpoints
        SET last_error = $2, failing_since = coalesce(failing_since, now()),
            consecutive_failures = consecutive_failures + 1
      WHERE projection = $1 RETURNING *`,
    [projection, error.slice(0, MAX_ERROR_LENGTH)],
  );
  return rows[0] ? toCheckpoint(rows[0]).failure : null;
};
