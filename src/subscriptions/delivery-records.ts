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

/** Where a subscription stands, its row created if need be: the delivery's guards lock it. */
export const openPosition = async (
  db: SqlExecutor,
  subscriptionId: string,
): Promise<SubscriptionPosition> => {
  await db.query(
    `INSERT INTO hub_subscription_positions (subscription_id, position, generation)
     VALUES ($1, NULL, 0) ON CONFLICT (subscription_id) DO NOTHING`,
    [subscriptionId],
  );
  return readPosition(db, subscriptionId);
};

/**
 * A replay: the position moves, and so does the generation, which stops deliveries in flight.
 * The batch being retried is dropped (delivery starts over from the new position), and a dead
 * letter that delivery waited at stays listed, but no longer holds the subscription's place.
 */
export const movePosition = async (
  db: SqlDatabase,
  subscriptionId: string,
  position: Position | null,
): Promise<void> =>
  db.transaction(async (tx) => {
    // The position's row first, as everything that changes both locks them in this order.
    await tx.query(
      `INSERT INTO hub_subscription_positions (subscription_id, position, generation, updated_at)
       VALUES ($1, $2, 1, now())
       ON CONFLICT (subscription_id) DO UPDATE
         SET position = $2, generation = hub_subscription_positions.generation + 1,
             updated_at = now()`,
      [subscriptionId, position],
    );
    await tx.query(
      `DELETE FROM hub_webhook_dead_letters
        WHERE subscription_id = $1 AND up_to IS NOT NULL AND status = 'retrying'`,
      [subscriptionId],
    );
    await tx.query(
      `UPDATE hub_webhook_dead_letters SET up_to = NULL
        WHERE subscription_id = $1 AND up_to IS NOT NULL`,
      [subscriptionId],
    );
  });

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
 * generation): then the replayed position stands. Returns whether it moved. The row exists:
 * delivery opens it (openPosition) before it reads the generation it passes here.
 */
export const advancePosition = async (
  tx: SqlExecutor,
  subscriptionId: string,
  position: Position,
  generation: bigint,
): Promise<boolean> => {
  const { rowCount } = await tx.query(
    `UPDATE hub_subscription_positions SET position = $2, updated_at = now()
      WHERE subscription_id = $1 AND generation = $3::bigint`,
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

/** How a delivery the hub holds stands: `retrying` ones are not (yet) dead letters. */
export type HeldStatus = 'retrying' | DeadLetterStatus;

/**
 * A delivery that failed, as the hub keeps it. While `upTo` is set it is the subscription's
 * head: its oldest undelivered batch, which must go through before anything newer is sent.
 */
export interface HeldDelivery {
  deliveryId: string;
  items: FeedItem[];
  status: HeldStatus;
  /** Where the subscription's position moves once this is delivered; null: not the head. */
  upTo: Position | null;
  /** Every attempt so far, over all rounds. */
  attempts: number;
  /** Attempts of the current round: a redelivery request starts a new one. */
  roundAttempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  lastHttpStatus: number | null;
  /** When it ran out of attempts (for `retrying`: when its first attempt failed). */
  deadAt: Date;
  redeliveryRequestedAt: Date | null;
  redeliveredAt: Date | null;
}

export interface DeadLetter extends Omit<HeldDelivery, 'status'> {
  subscriptionId: string;
  status: DeadLetterStatus;
}

type HeldRow = {
  delivery_id: string;
  items: FeedItem[];
  status: HeldStatus;
  up_to: string | null;
  attempts: number;
  round_attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  last_http_status: number | null;
  dead_at: Date;
  redelivery_requested_at: Date | null;
  redelivered_at: Date | null;
};

const HELD_COLUMNS = `delivery_id, items, status, up_to, attempts, round_attempts,
  next_attempt_at, last_error, last_http_status, dead_at, redelivery_requested_at, redelivered_at`;

const dateOrNull = (value: Date | null): Date | null => (value === null ? null : new Date(value));

const toHeld = (row: HeldRow): HeldDelivery => ({
  deliveryId: row.delivery_id,
  items: row.items,
  status: row.status,
  upTo: row.up_to as Position | null,
  attempts: Number(row.attempts),
  roundAttempts: Number(row.round_attempts),
  nextAttemptAt: dateOrNull(row.next_attempt_at),
  lastError: row.last_error,
  lastHttpStatus: row.last_http_status === null ? null : Number(row.last_http_status),
  deadAt: new Date(row.dead_at),
  redeliveryRequestedAt: dateOrNull(row.redelivery_requested_at),
  redeliveredAt: dateOrNull(row.redelivered_at),
});

/** The subscription's head, if a delivery failed and has not gone through since. */
export const readHead = async (
  db: SqlExecutor,
  subscriptionId: string,
): Promise<HeldDelivery | null> => {
  const { rows } = await db.query<HeldRow>(
    `SELECT ${HELD_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND up_to IS NOT NULL`,
    [subscriptionId],
  );
  return rows[0] ? toHeld(rows[0]) : null;
};

export const readHeld = async (
  db: SqlExecutor,
  subscriptionId: string,
  deliveryId: string,
): Promise<HeldDelivery | null> => {
  const { rows } = await db.query<HeldRow>(
    `SELECT ${HELD_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND delivery_id = $2`,
    [subscriptionId, deliveryId],
  );
  return rows[0] ? toHeld(rows[0]) : null;
};

/** Locks the subscription's position row; returns whether it is still of `generation`. */
const lockGeneration = async (
  tx: SqlExecutor,
  subscriptionId: string,
  generation: bigint,
): Promise<boolean> => {
  const { rows } = await tx.query<{ generation: string }>(
    `SELECT generation::text AS generation FROM hub_subscription_positions
      WHERE subscription_id = $1 FOR UPDATE`,
    [subscriptionId],
  );
  return rows[0]?.generation === generation.toString();
};

export interface FailedAttempt {
  error: string | null;
  httpStatus: number | null;
  /** Null when this was the last attempt of the round. */
  nextAttemptAt: Date | null;
}

/**
 * A new delivery's first attempt failed: it becomes the subscription's head (a dead letter at
 * once when it has no more attempts), unless a replay moved the subscription meanwhile.
 * Returns whether it was kept.
 */
export const holdDelivery = async (
  db: SqlDatabase,
  head: {
    subscriptionId: string;
    generation: bigint;
    deliveryId: string;
    items: FeedItem[];
    upTo: Position;
  } & FailedAttempt,
): Promise<boolean> =>
  db.transaction(async (tx) => {
    if (!(await lockGeneration(tx, head.subscriptionId, head.generation))) return false;
    await tx.query(
      `INSERT INTO hub_webhook_dead_letters (subscription_id, delivery_id, items, item_count,
         first_cursor, last_cursor, attempts, round_attempts, last_error, last_http_status,
         dead_at, status, up_to, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, 1, 1, $7, $8, now(), $9, $10, $11)`,
      [
        head.subscriptionId,
        head.deliveryId,
        JSON.stringify(head.items),
        head.items.length,
        head.items[0]?.cursor ?? '',
        head.items.at(-1)?.cursor ?? '',
        head.error,
        head.httpStatus,
        head.nextAttemptAt === null ? 'dead' : 'retrying',
        head.upTo,
        head.nextAttemptAt?.toISOString() ?? null,
      ],
    );
    return true;
  });

/** Another attempt of a held delivery failed; the last one of its round makes it dead. */
export const recordHeldFailure = async (
  db: SqlExecutor,
  subscriptionId: string,
  deliveryId: string,
  failure: FailedAttempt,
): Promise<void> => {
  const dead = failure.nextAttemptAt === null;
  await db.query(
    `UPDATE hub_webhook_dead_letters
        SET attempts = attempts + 1, round_attempts = round_attempts + 1, last_error = $3,
            last_http_status = $4, next_attempt_at = $5,
            status = CASE WHEN $6 THEN 'dead' ELSE status END,
            dead_at = CASE WHEN $6 THEN now() ELSE dead_at END
      WHERE subscription_id = $1 AND delivery_id = $2 AND status IN ('retrying', 'queued')`,
    [
      subscriptionId,
      deliveryId,
      failure.error,
      failure.httpStatus,
      failure.nextAttemptAt?.toISOString() ?? null,
      dead,
    ],
  );
};

/**
 * A held delivery went through, or has nothing left to send (its events were erased). The
 * head's position moves in the same transaction, unless a replay moved it meanwhile (then
 * nothing changes and this returns false). A dead letter that was sent is kept as
 * `redelivered`; anything else is forgotten (its attempts stay listed).
 */
export const settleHeld = async (
  db: SqlDatabase,
  subscriptionId: string,
  held: Pick<HeldDelivery, 'deliveryId' | 'status' | 'upTo'>,
  generation: bigint,
  sent: boolean,
): Promise<boolean> =>
  db.transaction(async (tx) => {
    if (held.upTo !== null && !(await advancePosition(tx, subscriptionId, held.upTo, generation)))
      return false;
    if (sent && held.status !== 'retrying')
      await tx.query(
        `UPDATE hub_webhook_dead_letters
            SET status = 'redelivered', redelivered_at = now(), up_to = NULL, next_attempt_at = NULL
          WHERE subscription_id = $1 AND delivery_id = $2`,
        [subscriptionId, held.deliveryId],
      );
    else
      await tx.query(
        'DELETE FROM hub_webhook_dead_letters WHERE subscription_id = $1 AND delivery_id = $2',
        [subscriptionId, held.deliveryId],
      );
    return true;
  });

/** Dead letters are what is held and not `retrying`, with something left in them. */
const LISTED = `status <> 'retrying' AND item_count > 0`;

const toDeadLetter = (subscriptionId: string, row: HeldRow): DeadLetter => {
  const { status, ...held } = toHeld(row);
  return { ...held, subscriptionId, status: status as DeadLetterStatus };
};

export const listDeadLetters = async (
  db: SqlExecutor,
  subscriptionId: string,
  options: { status?: DeadLetterStatus; after?: string; limit: number },
): Promise<DeadLetter[]> => {
  const { rows } = await db.query<HeldRow>(
    `SELECT ${HELD_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND ${LISTED} AND ($2::text IS NULL OR status = $2)
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
  const { rows } = await db.query<HeldRow>(
    `SELECT ${HELD_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND delivery_id = $2 AND ${LISTED}`,
    [subscriptionId, deliveryId],
  );
  return rows[0] ? toDeadLetter(subscriptionId, rows[0]) : null;
};

/**
 * Queues dead letters for another round of attempts; all of the subscription's when no id.
 * Queuing the head resumes delivery there.
 */
export const queueRedelivery = async (
  db: SqlDatabase,
  subscriptionId: string,
  deliveryId: string | null,
): Promise<number> =>
  db.transaction(async (tx) => {
    await tx.query(
      'SELECT 1 FROM hub_subscription_positions WHERE subscription_id = $1 FOR UPDATE',
      [subscriptionId],
    );
    const { rowCount } = await tx.query(
      `UPDATE hub_webhook_dead_letters
          SET status = 'queued', redelivery_requested_at = now(), round_attempts = 0,
              next_attempt_at = NULL
        WHERE subscription_id = $1 AND ($2::text IS NULL OR delivery_id = $2) AND status = 'dead'
          AND item_count > 0`,
      [subscriptionId, deliveryId],
    );
    if (rowCount > 0) await bumpGeneration(tx, subscriptionId);
    return rowCount;
  });

/** Dead letters queued for redelivery that do not hold the subscription's place, oldest first. */
export const queuedDetachedLetters = async (
  db: SqlExecutor,
  subscriptionId: string,
): Promise<HeldDelivery[]> => {
  const { rows } = await db.query<HeldRow>(
    `SELECT ${HELD_COLUMNS} FROM hub_webhook_dead_letters
      WHERE subscription_id = $1 AND status = 'queued' AND up_to IS NULL
      ORDER BY dead_at, delivery_id`,
    [subscriptionId],
  );
  return rows.map(toHeld);
};

export type WebhookDeliveryStatus = 'delivering' | 'retrying' | 'suspended' | 'redelivering';

/** How a subscription's webhook delivery stands, as its deliveries list shows it. */
export interface WebhookDeliveryState {
  /**
   * delivering: nothing is held back; retrying: the oldest undelivered batch is being retried;
   * suspended: it ran out of attempts, and delivery waits for a redelivery request;
   * redelivering: it is queued for, or in, another round of attempts.
   */
  status: WebhookDeliveryStatus;
  /** The delivery everything newer waits behind. */
  deliveryId: string | null;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  lastHttpStatus: number | null;
  /** When the status began. */
  since: Date | null;
}

const HEAD_STATUS: Record<HeldStatus, WebhookDeliveryStatus> = {
  retrying: 'retrying',
  dead: 'suspended',
  queued: 'redelivering',
  // Never the head: a redelivered letter no longer holds the position.
  redelivered: 'delivering',
};

export const webhookDeliveryState = async (
  db: SqlExecutor,
  subscriptionId: string,
): Promise<WebhookDeliveryState> => {
  const head = await readHead(db, subscriptionId);
  if (!head || head.items.length === 0)
    return {
      status: 'delivering',
      deliveryId: null,
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      lastHttpStatus: null,
      since: null,
    };
  return {
    status: HEAD_STATUS[head.status],
    deliveryId: head.deliveryId,
    attempts: head.attempts,
    nextAttemptAt: head.nextAttemptAt,
    lastError: head.lastError,
    lastHttpStatus: head.lastHttpStatus,
    since: head.status === 'queued' ? head.redeliveryRequestedAt : head.deadAt,
  };
};

/**
 * Takes erased events out of every delivery the hub holds (of one subscription, or of all),
 * whatever its status: a retry or a redelivery must not send them again, and the list must not
 * show them. A letter left with nothing is deleted, unless it is a head: that one stays, empty
 * (it keeps the position the delivery moves past it to), and its delivery is restarted to do so.
 */
export const purgeErasedEvents = async (
  db: SqlDatabase,
  eventIds: readonly string[],
  subscriptionId: string | null = null,
): Promise<number> => {
  if (eventIds.length === 0) return 0;
  const erased = new Set(eventIds);
  const holding = `($2::text IS NULL OR subscription_id = $2)
    AND EXISTS (SELECT 1 FROM json_array_elements(items) AS item
                 WHERE item->>'eventId' = ANY($1::text[]))`;
  const params = [[...erased], subscriptionId];
  return db.transaction(async (tx) => {
    // The positions' rows first, as everything that changes both locks them in this order.
    const { rows: subscriptions } = await tx.query<{ subscription_id: string }>(
      `SELECT DISTINCT subscription_id FROM hub_webhook_dead_letters WHERE ${holding}`,
      params,
    );
    if (subscriptions.length === 0) return 0;
    await tx.query(
      `SELECT 1 FROM hub_subscription_positions WHERE subscription_id = ANY($1::text[])
        ORDER BY subscription_id FOR UPDATE`,
      [subscriptions.map((row) => row.subscription_id)],
    );
    const { rows } = await tx.query<{
      subscription_id: string;
      delivery_id: string;
      items: FeedItem[];
      up_to: string | null;
    }>(
      `SELECT subscription_id, delivery_id, items, up_to FROM hub_webhook_dead_letters
        WHERE ${holding} FOR UPDATE`,
      params,
    );
    const emptiedHeads = new Set<string>();
    for (const row of rows) {
      const kept = row.items.filter((item) => item.kind === 'erased' || !erased.has(item.eventId));
      if (kept.length === 0 && row.up_to !== null) emptiedHeads.add(row.subscription_id);
      if (kept.length === 0 && row.up_to === null)
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
    for (const id of emptiedHeads) await bumpGeneration(tx, id);
    return rows.length;
  });
};
