import { SqlDatabase, SqlExecutor } from '../database/sql-database';
import { Position } from '../event-store/event-store.port';
import { FeedItem } from './feed-items';

/** Where a subscription stands: null is the start of the log. */
export interface SubscriptionPosition {
  position: Position | null;
  /** Moves on each replay or redelivery request. */
  generation: bigint;
}

export const readPosition = async (
  db: SqlExecutor,
  subscriptionId: string,
): Promise<SubscriptionPosition> => {
  const { rows } = await db.query<{ position: string | null; generation: string }>(
    `SELECT position, generation::text AS generation FROM hub_subscription_positions
      WHERE subscription_id = $1`,
    [subscriptionId],
  );
  const row = rows[0];
  return row
    ? { position: row.position as Position | null, generation: BigInt(row.generation) }
    : { position: null, generation: 0n };
};

/** A replay: the position moves, and so does the generation, which stops deliveries in flight. */
export const movePosition = async (
  db: SqlExecutor,
  subscriptionId: string,
  position: Position | null,
): Promise<void> => {
  await db.query(
    `INSERT INTO hub_subscription_positions (subscription_id, position, generation, updated_at)
     VALUES ($1, $2, 1, now())
     ON CONFLICT (subscription_id) DO UPDATE
       SET position = $2, generation = hub_subscription_positions.generation + 1, updated_at = now()`,
    [subscriptionId, position],
  );
};

/** Tells the delivery to look again (e.g. at dead letters queued for redelivery). */
export const bumpGeneration = async (db: SqlExecutor, subscriptionId: string): Promise<void> => {
  await db.query(
    `INSERT INTO hub_subscription_positions (subscription_id, position, generation, updated_at)
     VALUES ($1, NULL, 1, now())
     ON CONFLICT (subscription_id) DO UPDATE
       SET generation = hub_subscription_positions.generation + 1, updated_at = now()`,
    [subscriptionId],
  );
};

/**
 * A delivery moves the position forward, unless a replay moved it meanwhile (another
 * generation): then the replayed position stands. Returns whether it moved.
 */
export const advancePosition = async (
  tx: SqlExecutor,
  subscriptionId: string,
  position: Position,
  generation: bigint,
): Promise<boolean> => {
  const { rowCount } = await tx.query(
    `INSERT INTO hub_subscription_positions (subscription_id, position, generation, updated_at)
     SELECT $1, $2, 0, now() WHERE $3::bigint = 0
     ON CONFLICT (subscription_id) DO UPDATE SET position = $2, updated_at = now()
       WHERE hub_subscription_positions.generation = $3::bigint`,
    [subscriptionId, position, generation.toString()],
  );
  return rowCount > 0;
};

export const generations = async (db: SqlExecutor): Promise<Map<string, bigint>> => {
  const { rows } = await db.query<{ subscription_id: string; generation: string }>(
    'SELECT subscription_id, generation::text AS generation FROM hub_subscription_positions',
  );
  return new Map(rows.map((row) => [row.subscription_id, BigInt(row.generation)]));
};

export const storeSecret = async (
  db: SqlExecutor,
  subscriptionId: string,
  secretId: string,
  secret: string,
): Promise<void> => {
  await db.query(
    'INSERT INTO hub_webhook_secrets (subscription_id, secret_id, secret) VALUES ($1, $2, $3)',
    [subscriptionId, secretId, secret],
  );
};

/** The secrets of these ids (the subscription's active ones), in that order. */
export const secretsOf = async (
  db: SqlExecutor,
  subscriptionId: string,
  secretIds: readonly string[],
): Promise<string[]> => {
  if (secretIds.length === 0) return [];
  const { rows } = await db.query<{ secret_id: string; secret: string }>(
    `SELECT secret_id, secret FROM hub_webhook_secrets
      WHERE subscription_id = $1 AND secret_id = ANY($2::text[])`,
    [subscriptionId, [...secretIds]],
  );
  const byId = new Map(rows.map((row) => [row.secret_id, row.secret]));
  return secretIds.flatMap((id) => {
    const secret = byId.get(id);
    return secret === undefined ? [] : [secret];
  });
};

export type AttemptOutcome = 'delivered' | 'failed' | 'dead-lettered' | 'redelivered';

export interface DeliveryAttempt {
  subscriptionId: string;
  deliveryId: string;
  attempt: number;
  outcome: AttemptOutcome;
  itemCount: number;
  firstCursor: string;
  lastCursor: string;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  attemptedAt: Date;
  nextAttemptAt: Date | null;
}

export const recordAttempt = async (tx: SqlExecutor, attempt: DeliveryAttempt): Promise<void> => {
  await tx.query(
    `INSERT INTO hub_webhook_attempts (subscription_id, delivery_id, attempt, outcome, item_count,
       first_cursor, last_cursor, http_status, error, duration_ms, attempted_at, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      attempt.subscriptionId,
      attempt.deliveryId,
      attempt.attempt,
      attempt.outcome,
      attempt.itemCount,
      attempt.firstCursor,
      attempt.lastCursor,
      attempt.httpStatus,
      attempt.error,
      attempt.durationMs,
      attempt.attemptedAt.toISOString(),
      attempt.nextAttemptAt?.toISOString() ?? null,
    ],
  );
};

/** Attempts kept per subscription; older ones are pruned as new ones come. */
export const ATTEMPTS_KEPT = 1_000;

export const pruneAttempts = async (db: SqlExecutor, subscriptionId: string): Promise<void> => {
  await db.query(
    `DELETE FROM hub_webhook_attempts
      WHERE subscription_id = $1 AND attempt_id <= (
        SELECT attempt_id FROM hub_webhook_attempts WHERE subscription_id = $1
         ORDER BY attempt_id DESC OFFSET $2 LIMIT 1)`,
    [subscriptionId, ATTEMPTS_KEPT],
  );
};

export interface ListedAttempt extends DeliveryAttempt {
  attemptId: string;
}

/** Newest first; `before` is the attemptId of the last one seen. */
export const listAttempts = async (
  db: SqlExecutor,
  subscriptionId: string,
  options: { before?: string; outcome?: AttemptOutcome; limit: number },
): Promise<ListedAttempt[]> => {
  const { rows } = await db.query<{
    attempt_id: string;
    delivery_id: string;
    attempt: number;
    outcome: AttemptOutcome;
    item_count: number;
    first_cursor: string;
    last_cursor: string;
    http_status: number | null;
    error: string | null;
    duration_ms: number;
    attempted_at: Date;
    next_attempt_at: Date | null;
  }>(
    `SELECT attempt_id::text AS attempt_id, delivery_id, attempt, outcome, item_count, first_cursor,
            last_cursor, http_status, error, duration_ms, attempted_at, next_attempt_at
       FROM hub_webhook_attempts
      WHERE subscription_id = $1 AND ($2::bigint IS NULL OR attempt_id < $2::bigint)
        AND ($3::text IS NULL OR outcome = $3)
      -- The table's column, not the text alias of the same name: newest first by number.
      ORDER BY hub_webhook_attempts.attempt_id DESC LIMIT $4`,
    [subscriptionId, options.before ?? null, options.outcome ?? null, options.limit],
  );
  return rows.map((row) => ({
    attemptId: row.attempt_id,
    subscriptionId,
    deliveryId: row.delivery_id,
    attempt: Number(row.attempt),
    outcome: row.outcome,
    itemCount: Number(row.item_count),
    firstCursor: row.first_cursor,
    lastCursor: row.last_cursor,
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    error: row.error,
    durationMs: Number(row.duration_ms),
    attemptedAt: new Date(row.attempted_at),
    nextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at),
  }));
};

export type DeadLetterStatus = 'dead' | 'queued' | 'redelivered';

export interface DeadLetter {
  subscriptionId: string;
  deliveryId: string;
  items: FeedItem[];
  attempts: number;
  lastError: string | null;
  lastHttpStatus: number | null;
  deadAt: Date;
  status: DeadLetterStatus;
  redeliveryRequestedAt: Date | null;
  redeliveredAt: Date | null;
}

export const addDeadLetter = async (
  tx: SqlExecutor,
  letter: Omit<DeadLetter, 'status' | 'redeliveryRequestedAt' | 'redeliveredAt'>,
): Promise<void> => {
  await tx.query(
    `INSERT INTO hub_webhook_dead_letters (subscription_id, delivery_id, items, item_count,
       first_cursor, last_cursor, attempts, last_error, last_http_status, dead_at, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'dead')
     ON CONFLICT (subscription_id, delivery_id) DO UPDATE SET attempts = $7, last_error = $8,
       last_http_status = $9, dead_at = $10, status = 'dead'`,
    [
      letter.subscriptionId,
      letter.deliveryId,
      JSON.stringify(letter.items),
      letter.items.length,
      letter.items[0]?.cursor ?? '',
      letter.items.at(-1)?.cursor ?? '',
      letter.attempts,
      letter.lastError,
      letter.lastHttpStatus,
      letter.deadAt.toISOString(),
    ],
  );
};

type DeadLetterRow = {
  delivery_id: string;
  items: FeedItem[];
  attempts: number;
  last_error: string | null;
  last_http_status: number | null;
  dead_at: Date;
  status: DeadLetterStatus;
  redelivery_requested_at: Date | null;
  redelivered_at: Date | null;
};

const toDeadLetter = (subscriptionId: string, row: DeadLetterRow): DeadLetter => ({
  subscriptionId,
  deliveryId: row.delivery_id,
  items: row.items,
  attempts: Number(row.attempts),
  lastError: row.last_error,
  lastHttpStatus: row.last_http_status === null ? null : Number(row.last_http_status),
  deadAt: new Date(row.dead_at),
  status: row.status,
  redeliveryRequestedAt:
    row.redelivery_requested_at === null ? null : new Date(row.redelivery_requested_at),
  redeliveredAt: row.redelivered_at === null ? null : new Date(row.redelivered_at),
});

const DEAD_LETTER_COLUMNS = `delivery_id, items, attempts, last_error, last_http_status, dead_at,
  status, redelivery_requested_at, redelivered_at`;

export const listDeadLetters = async (
  db: SqlExecutor,
  subscriptionId: string,
  options: { status?: DeadLetterStatus; after?: string; limit: number },
): Promise<DeadLetter[]> => {
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
        AND ($3::text IS NULL OR delivery_id > $3)
      ORDER BY delivery_id LIMIT $4`,
    [subscriptionId, options.status ?? null, options.after ?? null, options.limit],
  );
  return rows.map((row) => toDeadLetter(subscriptionId, row));
};

export const readDeadLetter = async (
  db: SqlExecutor,
  subscriptionId: string,
  deliveryId: string,
): Promise<DeadLetter | null> => {
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND delivery_id = $2`,
    [subscriptionId, deliveryId],
  );
  return rows[0] ? toDeadLetter(subscriptionId, rows[0]) : null;
};

/** Queues dead letters for another round of attempts; all of the subscription's when no id. */
export const queueRedelivery = async (
  db: SqlDatabase,
  subscriptionId: string,
  deliveryId: string | null,
): Promise<number> =>
  db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE hub_webhook_dead_letters SET status = 'queued', redelivery_requested_at = now()
        WHERE subscription_id = $1 AND ($2::text IS NULL OR delivery_id = $2) AND status = 'dead'`,
      [subscriptionId, deliveryId],
    );
    if (rowCount > 0) await bumpGeneration(tx, subscriptionId);
    return rowCount;
  });

export const queuedDeadLetters = async (
  db: SqlExecutor,
  subscriptionId: string,
): Promise<DeadLetter[]> => {
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND status = 'queued' ORDER BY dead_at, delivery_id`,
    [subscriptionId],
  );
  return rows.map((row) => toDeadLetter(subscriptionId, row));
};

export const settleDeadLetter = async (
  tx: SqlExecutor,
  subscriptionId: string,
  deliveryId: string,
  outcome:
    | { redelivered: true }
    | { redelivered: false; attempts: number; error: string | null; httpStatus: number | null },
): Promise<void> => {
  if (outcome.redelivered)
    await tx.query(
      `UPDATE hub_webhook_dead_letters SET status = 'redelivered', redelivered_at = now()
        WHERE subscription_id = $1 AND delivery_id = $2`,
      [subscriptionId, deliveryId],
    );
  else
    await tx.query(
      `UPDATE hub_webhook_dead_letters SET status = 'dead', attempts = attempts + $3,
         last_error = $4, last_http_status = $5, dead_at = now()
        WHERE subscription_id = $1 AND delivery_id = $2`,
      [subscriptionId, deliveryId, outcome.attempts, outcome.error, outcome.httpStatus],
    );
};

/**
 * Takes erased events out of every dead letter (of one subscription, or of all), whatever its
 * status: a redelivery must not send them again, and the list must not show them. A letter left
 * with nothing is deleted.
 */
export const purgeErasedEvents = async (
  db: SqlDatabase,
  eventIds: readonly string[],
  subscriptionId: string | null = null,
): Promise<number> => {
  if (eventIds.length === 0) return 0;
  const erased = new Set(eventIds);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{
      subscription_id: string;
      delivery_id: string;
      items: FeedItem[];
    }>(
      `SELECT subscription_id, delivery_id, items FROM hub_webhook_dead_letters
        WHERE ($2::text IS NULL OR subscription_id = $2)
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(items) AS item
                       WHERE item->>'eventId' = ANY($1::text[]))
        FOR UPDATE`,
      [[...erased], subscriptionId],
    );
    for (const row of rows) {
      const kept = row.items.filter((item) => item.kind === 'erased' || !erased.has(item.eventId));
      if (kept.length === 0)
        await tx.query(
          'DELETE FROM hub_webhook_dead_letters WHERE subscription_id = $1 AND delivery_id = $2',
          [row.subscription_id, row.delivery_id],
        );
      else
        await tx.query(
          `UPDATE hub_webhook_dead_letters SET items = $3, item_count = $4
            WHERE subscription_id = $1 AND delivery_id = $2`,
          [row.subscription_id, row.delivery_id, JSON.stringify(kept), kept.length],
        );
    }
    return rows.length;
  });
};
