import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { runMigrations } from '../../database/migrations/migrations';
import { SqlDatabase } from '../../database/sql-database';
import {
  expectedRevisionLabel,
  InvalidInputError,
  WrongExpectedRevisionError,
} from '../../errors/hub-error';
import {
  AppendResult,
  END,
  EventFilter,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  START,
  SubscribeOptions,
  Subscription,
  SubscriptionMessage,
} from '../event-store.port';
import { toJsonText, validateAppend, validateStreamName } from '../event-validation';
import { AppendBatcher, AppendBatcherOptions } from './append-batcher';
import { EventRow, LogPage, RecentLog, RecentLogRow } from './recent-log';
import { mapSqlError } from './sql-errors';
import { decodeSqlPosition, encodeSqlPosition, LOG_START, SqlLogKey } from './sql-position';
import { SharedPages } from './shared-pages';
import { WakeSignal } from '../../coordination/wake-signal';

/** See pump: how often a subscriber that found nothing for it reads the database again. */
const QUIET_READ_GAP_MS = 50;
/** The same for a read of the shared window of recent rows, which costs no round trip. */
const QUIET_WINDOW_GAP_MS = 5;
/** See pump: the first wait for commits an older transaction still hides. */
const MIN_PENDING_WAIT_MS = 4;

export interface SqlEventStoreOptions {
  append?: Partial<AppendBatcherOptions>;
  /** How long a live subscription waits for a notification before polling anyway. */
  pollIntervalMs?: number;
  /** Default events per catch-up round trip. */
  subscriptionBatchSize?: number;
}

const NOTIFY_CHANNEL = 'hub_events';
/** The payload of a notification that rows left the log: every process drops its window. */
const DELETED_NOTICE = 'deleted';
const MAX_READ_COUNT = 10_000;
/** Rows a filtered readAll scans per round trip at least. */
const MIN_FILTERED_SCAN = 2_000;

const ROW_COLUMNS = `transaction_id::text AS txid, global_position::text AS gpos, stream_name,
  stream_revision::text AS revision, event_id::text AS id, event_type, recorded_at`;
const EVENT_COLUMNS = `${ROW_COLUMNS}, data, metadata`;

// Readers stop where appends still running may yet commit rows before the ones visible: the
// log's order is settled below this boundary (see 010-log-boundary). The sub-select runs once
// per statement, on the statement's own snapshot.
const SETTLED = 'transaction_id < (SELECT hub_log_boundary())';
const AFTER = '(transaction_id, global_position) > ($1::text::xid8, $2::bigint)';
// LIKE ANY with escaped prefix patterns: one array test per row, where a sub-select over the
// prefixes ran once per row and cost more than reading the row.
const TYPE_FILTER = '(cardinality($4::text[]) = 0 OR event_type LIKE ANY ($4::text[]))';
const FILTER = `(cardinality($3::text[]) = 0 OR stream_name LIKE ANY ($3::text[])) AND ${TYPE_FILTER}`;
// A stream's category as the hub_events_by_category index holds it: its name up to the first '/'.
const CATEGORY = "left(stream_name, strpos(stream_name, '/'))";
const IN_CATEGORY = `${CATEGORY} = $3::text AND strpos(stream_name, '/') > 0`;

/** A prefix as a LIKE pattern matching what starts with it. */
const prefixPattern = (prefix: string): string => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;

const filterPatterns = (filter: EventFilter | undefined): [string[], string[]] => [
  (filter?.streamNamePrefixes ?? []).map(prefixPattern),
  (filter?.eventTypePrefixes ?? []).map(prefixPattern),
];

const isFiltered = (filter: EventFilter | undefined): boolean =>
  Boolean(filter?.streamNamePrefixes?.length || filter?.eventTypePrefixes?.length);

/**
 * The category a filter names when it asks for exactly one, such as a publisher's
 * `learning-event-{program}/`: a prefix ending in its only '/'. Such reads go through the
 * category index and never touch other streams' rows.
 */
const categoryOf = (filter: EventFilter | undefined): string | null => {
  const prefixes = filter?.streamNamePrefixes;
  if (prefixes?.length !== 1) return null;
  const [prefix] = prefixes as [string];
  return prefix.indexOf('/') === prefix.length - 1 ? prefix : null;
};

const pageKey = (after: SqlLogKey, filter: EventFilter | undefined, limit: number): string =>
  JSON.stringify([
    after.transactionId,
    after.globalPosition,
    limit,
    filter?.streamNamePrefixes ?? [],
    filter?.eventTypePrefixes ?? [],
  ]);

/**
 * A filtered page, scanned once and kept narrow: only matched rows carry their columns and
 * documents out of the scan. The last row scanned follows them, with the count, unmatched, to
 * move the reader's cursor.
 *
 * `category` true reads one category through its index ($3 names it). Rows of other streams are
 * never scanned, so when the page comes back short the cursor moves instead to the newest row of
 * the log the page could see: nothing of the category lies between. The boundary is taken once
 * for both, so the two agree on what is settled.
 */
const filteredPageSql = (category: boolean, settled: boolean): string => {
  const visible = settled ? 'transaction_id < (SELECT b FROM bound)' : 'true';
  const last = category
    ? `(SELECT transaction_id, global_position, recorded_at FROM hub_events
         WHERE ${AFTER} AND ${visible} AND (SELECT count(*) FROM page) < $5
         ORDER BY transaction_id DESC, global_position DESC LIMIT 1)
       UNION ALL
       (SELECT t, g, recorded_at FROM page WHERE (SELECT count(*) FROM page) >= $5
         ORDER BY t DESC, g DESC LIMIT 1)`
    : '(SELECT t, g, recorded_at FROM page ORDER BY t DESC, g DESC LIMIT 1)';
  return `
  WITH ${settled ? 'bound AS MATERIALIZED (SELECT hub_log_boundary() AS b),' : ''}
  page AS MATERIALIZED (
     SELECT t, g, m, recorded_at,
            CASE WHEN m THEN stream_name END AS stream_name,
            CASE WHEN m THEN stream_revision END AS stream_revision,
            CASE WHEN m THEN event_id END AS event_id, CASE WHEN m THEN event_type END AS event_type,
            CASE WHEN m THEN data END AS data, CASE WHEN m THEN metadata END AS metadata
       FROM (SELECT transaction_id AS t, global_position AS g, stream_name, stream_revision,
                    event_id, event_type, data, metadata, recorded_at,
                    (${category ? TYPE_FILTER : FILTER}) AS m
               FROM hub_events WHERE ${category ? IN_CATEGORY : 'true'} AND ${AFTER} AND ${visible}
              ORDER BY transaction_id, global_position LIMIT $5) scan)
   SELECT t::text AS txid, g::text AS gpos, stream_name, revision, id, event_type, data,
          metadata, recorded_at, matched, scanned
     FROM (SELECT t, g, stream_name, stream_revision::text AS revision, event_id::text AS id,
                  event_type, data, metadata, recorded_at, true AS matched, NULL::bigint AS scanned
             FROM page WHERE m
           UNION ALL
           SELECT last.t, last.g, NULL, NULL, NULL, NULL, NULL, NULL, last.recorded_at, false,
                  (SELECT count(*) FROM page)
             FROM (${last}) AS last(t, g, recorded_at)) result
    ORDER BY t, g, matched DESC`;
};

/**
 * The event store on PostgreSQL, for a server (`pg`) and for embedded PGlite alike: same
 * schema, same SQL. Appends are coalesced into shared transactions; subscriptions page through
 * the stable part of the log and wait on LISTEN/NOTIFY (or an in-process signal) with polling
 * as the fallback.
 */
export class SqlEventStore implements EventStore {
  readonly kind: 'postgres' | 'pglite';
  private readonly batcher: AppendBatcher;
  private readonly wake = new WakeSignal();
  private readonly recent = new RecentLog((after, limit) => this.readRecent(after, limit), {
    maxRows: 10_000,
    maxChars: 16 * 1024 * 1024,
    fetchRows: 2_000,
  });
  private readonly sharedPages = new SharedPages({
    maxPages: 64,
    maxRows: 100_000,
    maxIdleMs: 30_000,
  });
  private readonly pollIntervalMs: number;
  private readonly subscriptionBatchSize: number;
  private stopListening: Promise<() => Promise<void>> | null = null;
  private closed = false;
  private notifying = false;
  private notifyAgain = false;

  private constructor(
    private readonly db: SqlDatabase,
    options: SqlEventStoreOptions,
  ) {
    this.kind = db.kind;
    this.batcher = new AppendBatcher(db, {
      // Defaults measured with npm run bench:eventstore on 2 cores (see BENCHMARKS.md).
      lanes: options.append?.lanes ?? (db.kind === 'pglite' ? 1 : 2),
      maxEventsPerBatch: options.append?.maxEventsPerBatch ?? 200,
      minEventsForExtraLane: options.append?.minEventsForExtraLane ?? 50,
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.subscriptionBatchSize = options.subscriptionBatchSize ?? 2_000;
  }

  /** Opens the store on a database, applying pending migrations first. */
  static async open(db: SqlDatabase, options: SqlEventStoreOptions = {}): Promise<SqlEventStore> {
    await runMigrations(db);
    return SqlEventStore.onMigrated(db, options);
  }

  /** The store on a database its opener has migrated already, as the hub's storage module does. */
  static onMigrated(db: SqlDatabase, options: SqlEventStoreOptions = {}): SqlEventStore {
    return new SqlEventStore(db, options);
  }

  async appendToStream(
    stream: string,
    events: readonly EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateAppend(stream, events, expected);
    const request = {
      stream,
      expected: typeof expected === 'bigint' ? expected.toString() : expected,
      ids: events.map((e) => e.id.toLowerCase()),
      types: events.map((e) => e.type),
      data: events.map((e, i) => toJsonText(e.data, `Data of event ${i}`)),
      metadata: events.map((e, i) => toJsonText(e.metadata ?? {}, `Metadata of event ${i}`)),
    };
    let outcome;
    try {
      outcome = await this.batcher.submit(request);
    } catch (error) {
      throw mapSqlError(error);
    }
    if (outcome.outcome === 'conflict')
      throw new WrongExpectedRevisionError(stream, expectedRevisionLabel(expected), outcome.actual);
    if (outcome.outcome === 'ok') this.announceCommit();
    return {
      nextExpectedRevision: outcome.revision,
      position: encodeSqlPosition(outcome.transactionId, outcome.globalPosition),
    };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const limit = clampCount(options.maxCount ?? MAX_READ_COUNT);
    const from = options.fromRevision;
    if (from !== undefined && from < 0n)
      throw new InvalidInputError('fromRevision must not be negative', [], 'INVALID_REVISION');
    const { rows } = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM hub_events
        WHERE stream_name = $1 AND ($2::bigint IS NULL OR stream_revision ${backwards ? '<=' : '>='} $2::bigint)
        ORDER BY stream_revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      [stream, from === undefined ? null : from.toString(), limit],
    );
    return rows.map(toRecordedEvent);
  }

  async streamRevision(stream: string): Promise<bigint | null> {
    const { rows } = await this.query<{ revision: string | number }>(
      'SELECT revision::text AS revision FROM hub_streams WHERE stream_name = $1',
      [stream],
    );
    return rows[0] ? BigInt(rows[0].revision) : null;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after =
      options.from === undefined || options.from === START
        ? LOG_START
        : decodeSqlPosition(options.from);
    const limit = clampCount(options.maxCount ?? MAX_READ_COUNT);
    // A filter matching a sliver of the log would otherwise scan it a few rows per round trip.
    const scan = isFiltered(options.filter) ? Math.max(limit, MIN_FILTERED_SCAN) : limit;
    const settled = options.includeUnsettled !== true;
    const result: RecordedEvent[] = [];
    let cursor = after;
    // Filtered pages may hold fewer matches than asked for: keep scanning until full or at the end.
    for (;;) {
      const page = settled
        ? await this.readPage(cursor, options.filter, scan)
        : await this.queryPage(cursor, options.filter, scan, false);
      for (const row of page.rows) if (row.matched !== false) result.push(toRecordedEvent(row));
      if (page.last) cursor = page.last;
      if (result.length >= limit || page.scanned < scan) return result.slice(0, limit);
    }
  }

  async deleteStream(stream: string): Promise<void> {
    validateStreamName(stream);
    try {
      await this.db.transaction(async (tx) => {
        // The stream's row is locked first, so an append to it waits and then finds it gone
        // rather than adding an event this deletion no longer sees.
        await tx.query('SELECT 1 FROM hub_streams WHERE stream_name = $1 FOR UPDATE', [stream]);
        await tx.query('DELETE FROM hub_events WHERE stream_name = $1', [stream]);
        await tx.query('DELETE FROM hub_streams WHERE stream_name = $1', [stream]);
        if (this.db.kind === 'postgres')
          await tx.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, DELETED_NOTICE]);
      });
    } catch (error) {
      throw mapSqlError(error);
    }
    // The window and the shared pages may hold the deleted rows; other processes drop theirs on
    // the notification.
    this.forgetReadRows();
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    const abort = new AbortController();
    const messages = this.pump(options, abort.signal);
    return {
      [Symbol.asyncIterator]: () => messages,
      close: async () => {
        abort.abort();
        this.wake.notify();
      },
    };
  }

  async headPosition(): Promise<Position | null> {
    const { rows } = await this.query<{ txid: string; gpos: string }>(
      `SELECT transaction_id::text AS txid, global_position::text AS gpos FROM hub_events
        ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
    );
    return rows[0] ? encodeSqlPosition(rows[0].txid, rows[0].gpos) : null;
  }

  async countEventsAfter(
    from: Position | null,
    filter: EventFilter | undefined,
    cap: number,
  ): Promise<number> {
    const key = from === null ? LOG_START : decodeSqlPosition(from);
    const { rows } = await this.query<{ n: string | number }>(
      `SELECT count(*)::text AS n FROM (SELECT 1 FROM hub_events WHERE ${AFTER} AND ${FILTER} LIMIT $5) behind`,
      [key.transactionId, key.globalPosition, ...filterPatterns(filter), cap],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 FROM hub_streams LIMIT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sharedPages.discard();
    this.wake.notify();
    const stop = await this.stopListening?.catch(() => null);
    await stop?.();
  }

  private async *pump(
    options: SubscribeOptions,
    signal: AbortSignal,
  ): AsyncGenerator<SubscriptionMessage> {
    const batchSize = clampCount(options.batchSize ?? this.subscriptionBatchSize);
    this.ensureListening();
    let cursor: SqlLogKey;
    if (options.from === END) {
      const head = await this.stableHead();
      cursor = head ?? LOG_START;
    } else {
      cursor =
        options.from === undefined || options.from === START
          ? LOG_START
          : decodeSqlPosition(options.from);
    }
    let caughtUp = false;
    let lastDelivered: Position | null = null;
    let lastEmptyReadAt = Number.NEGATIVE_INFINITY;
    let quietGapMs = QUIET_READ_GAP_MS;
    // Catching up, the next page is read while the subscriber works through this one.
    let ahead: { after: SqlLogKey; page: Promise<LogPage> } | null = null;
    // Whether this read follows a wait for new commits rather than a read that delivered.
    let woken = false;
    let pendingDelayMs = 0;
    while (!signal.aborted && !this.closed) {
      // Woken by appends it does not match, a filtered subscriber reads at most every
      // QUIET_READ_GAP_MS (QUIET_WINDOW_GAP_MS when the shared window served it): under a write
      // storm for others it stays cheap; an event it does match waits that long at most.
      const quiet = lastEmptyReadAt + quietGapMs - performance.now();
      if (quiet > 0) await sleep(quiet, undefined, { signal }).catch(() => undefined);
      if (signal.aborted || this.closed) return;
      const generation = this.wake.generation;
      // Catching up, a subscriber reads the database itself: a window shared with nobody would
      // only cost it. Once live, it shares the window with the other live subscribers.
      const fromWindow = caughtUp
        ? await this.recent.page(cursor, options.filter, batchSize)
        : null;
      const readAhead: Promise<LogPage> | null = ahead?.after === cursor ? ahead.page : null;
      ahead = null;
      const page: LogPage =
        fromWindow ?? (await (readAhead ?? this.readPage(cursor, options.filter, batchSize)));
      if (!caughtUp && page.last && page.scanned >= batchSize) {
        const next: SqlLogKey = page.last;
        ahead = { after: next, page: this.readPage(next, options.filter, batchSize) };
        // Read ahead for nothing if the subscriber stops: its failure is the next read's.
        ahead.page.catch(() => undefined);
      }
      quietGapMs = fromWindow ? QUIET_WINDOW_GAP_MS : QUIET_READ_GAP_MS;
      if (signal.aborted) return;
      let delivered = false;
      for (const row of page.rows) {
        if (row.matched === false) continue;
        const event = toRecordedEvent(row);
        lastDelivered = event.position;
        delivered = true;
        yield { kind: 'event', event };
        if (signal.aborted) return;
      }
      if (page.last) {
        cursor = page.last;
        yield { kind: 'checkpoint', position: encodeKey(cursor) };
      }
      // Only a wake-up that found others' events counts: the read right after a delivery says
      // nothing about others' writes, and throttling after it would hold back the next event.
      lastEmptyReadAt =
        !delivered && woken && page.scanned > 0 ? performance.now() : Number.NEGATIVE_INFINITY;
      woken = false;
      if (delivered) pendingDelayMs = 0;
      if (page.scanned < batchSize) {
        if (!caughtUp) {
          caughtUp = true;
          yield {
            kind: 'caught-up',
            position:
              lastDelivered ?? (page.last ? encodeKey(page.last) : startPositionOf(options.from)),
          };
        }
        // Rows past the stable part are commits that an older transaction still hides. When
        // that transaction is an append, its commit wakes us; when it is not (a read model's
        // write), nothing does: so wait for a commit, but only briefly, backing off, rather than
        // until the poll.
        this.ensureListening();
        if (await this.hasRowsAfter(cursor)) {
          pendingDelayMs = Math.min(
            Math.max(pendingDelayMs * 2, MIN_PENDING_WAIT_MS),
            QUIET_READ_GAP_MS,
          );
          await this.wake.wait(generation, pendingDelayMs, signal);
        } else {
          pendingDelayMs = 0;
          await this.wake.wait(generation, this.pollIntervalMs, signal);
        }
        woken = true;
      }
    }
  }

  /** Whether the log holds rows after `after`, readable yet or not. */
  private async hasRowsAfter(after: SqlLogKey): Promise<boolean> {
    const { rows } = await this.query(
      `SELECT 1 FROM hub_events WHERE ${AFTER} ORDER BY transaction_id, global_position LIMIT 1`,
      [after.transactionId, after.globalPosition],
    );
    return rows.length > 0;
  }

  /**
   * One page of the settled log after `after`: `scanned` rows were read; `rows` holds those the
   * filter matched plus the last one scanned (to move the cursor past filtered-out stretches).
   * Subscribers asking for the same page at once, or for a full page read a moment ago, share
   * one read (see SharedPages).
   */
  private readPage(
    after: SqlLogKey,
    filter: EventFilter | undefined,
    limit: number,
  ): Promise<LogPage> {
    return this.sharedPages.read(pageKey(after, filter, limit), limit, () =>
      this.queryPage(after, filter, limit, true),
    );
  }

  /**
   * Reads a page from the database. Rows the filter rejects never leave the server, so a
   * projection interested in a sliver of the log does not parse all of it; a filter naming one
   * category reads that category's rows only, through its index. `settled` false reads past the
   * boundary too: every committed row.
   */
  private async queryPage(
    after: SqlLogKey,
    filter: EventFilter | undefined,
    limit: number,
    settled: boolean,
  ): Promise<LogPage> {
    if (!isFiltered(filter)) {
      const visible = settled ? SETTLED : 'true';
      const { rows } = await this.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM hub_events WHERE ${AFTER} AND ${visible}
          ORDER BY transaction_id, global_position LIMIT $3`,
        [after.transactionId, after.globalPosition, limit],
      );
      const lastRow = rows[rows.length - 1];
      return {
        rows,
        last: lastRow ? { transactionId: lastRow.txid, globalPosition: lastRow.gpos } : null,
        scanned: rows.length,
      };
    }
    const category = categoryOf(filter);
    const [streamPatterns, typePatterns] = filterPatterns(filter);
    const { rows } = await this.query<EventRow & { scanned: string | number }>(
      filteredPageSql(category !== null, settled),
      [after.transactionId, after.globalPosition, category ?? streamPatterns, typePatterns, limit],
    );
    const lastRow = rows[rows.length - 1];
    return {
      rows,
      last: lastRow ? { transactionId: lastRow.txid, globalPosition: lastRow.gpos } : null,
      scanned: lastRow ? Number(lastRow.scanned) : 0,
    };
  }

  private forgetReadRows(): void {
    this.recent.discard();
    this.sharedPages.discard();
  }

  /** Rows of the stable log after `after`, every one, documents as JSON text: see RecentLog. */
  private async readRecent(after: SqlLogKey, limit: number): Promise<RecentLogRow[]> {
    const { rows } = await this.query<RecentLogRow>(
      `SELECT ${ROW_COLUMNS}, data::text AS data, metadata::text AS metadata
         FROM hub_events WHERE ${AFTER} AND ${SETTLED}
        ORDER BY transaction_id, global_position LIMIT $3`,
      [after.transactionId, after.globalPosition, limit],
    );
    return rows;
  }

  private async stableHead(): Promise<SqlLogKey | null> {
    const { rows } = await this.query<{ txid: string; gpos: string }>(
      `SELECT transaction_id::text AS txid, global_position::text AS gpos FROM hub_events WHERE ${SETTLED}
        ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
    );
    return rows[0] ? { transactionId: rows[0].txid, globalPosition: rows[0].gpos } : null;
  }

  /**
   * Wakes local subscribers at once and other processes through NOTIFY. Notifications are
   * coalesced: while one is in flight, later commits only mark that another is due.
   */
  private announceCommit(): void {
    this.wake.notify();
    if (this.db.kind !== 'postgres' || this.closed) return;
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    void this.db
      // A notification needs no durability: skip the WAL flush its commit would otherwise wait for.
      .query(
        `SELECT set_config('synchronous_commit', 'off', true), pg_notify('${NOTIFY_CHANNEL}', '')`,
      )
      .catch(() => undefined)
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain) {
          this.notifyAgain = false;
          this.announceCommit();
        }
      });
  }

  private ensureListening(): void {
    if (this.stopListening || this.closed || this.db.kind !== 'postgres') return;
    // Other processes append too: their commits arrive as notifications. Without them
    // subscriptions still poll, so a failed or lost LISTEN costs latency, not events; the next
    // wait listens again.
    const forget = () => {
      this.stopListening = null;
      this.wake.notify();
    };
    this.stopListening = this.db.listen(
      NOTIFY_CHANNEL,
      (payload) => {
        if (payload === DELETED_NOTICE) this.forgetReadRows();
        else this.wake.notify();
      },
      forget,
    );
    this.stopListening.catch(forget);
  }

  private async query<Row extends Record<string, unknown>>(
    text: string,
    params: readonly unknown[] = [],
  ) {
    try {
      return await this.db.query<Row>(text, params);
    } catch (error) {
      throw mapSqlError(error);
    }
  }
}

const clampCount = (count: number): number => {
  if (!Number.isInteger(count) || count < 1)
    throw new InvalidInputError('maxCount must be a positive integer', [], 'INVALID_MAX_COUNT');
  return Math.min(count, MAX_READ_COUNT);
};

const encodeKey = (key: SqlLogKey): Position =>
  encodeSqlPosition(key.transactionId, key.globalPosition);

const startPositionOf = (from: SubscribeOptions['from']): Position | null =>
  from === undefined || from === START || from === END ? null : from;

const toRecordedEvent = (row: EventRow): RecordedEvent => ({
  id: row.id,
  type: row.event_type,
  data: row.data,
  metadata: (row.metadata ?? {}) as RecordedEvent['metadata'],
  stream: row.stream_name,
  revision: BigInt(row.revision),
  position: encodeSqlPosition(row.txid, row.gpos),
  recordedAt: row.recorded_at instanceof Date ? row.recorded_at : new Date(row.recorded_at),
});
