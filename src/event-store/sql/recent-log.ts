import { EventFilter, matchesFilter } from '../event-store.port';
import { decodeSqlPosition, encodeSqlPosition, SqlLogKey } from './sql-position';

/** A row of the log as the SQL store reads it. */
interface LogRowColumns {
  txid: string;
  gpos: string;
  stream_name: string;
  revision: string | number;
  id: string;
  event_type: string;
  recorded_at: Date | string;
}

/** A row of the stable log as read for the window: documents still JSON text. */
export interface RecentLogRow extends LogRowColumns {
  data: string;
  metadata: string;
  [column: string]: unknown;
}

/** A row with its documents parsed; `matched` is false for a row read only to move past it. */
export interface EventRow extends LogRowColumns {
  data: unknown;
  metadata: unknown;
  matched?: boolean;
  [column: string]: unknown;
}

/** What a subscriber's read returns: the rows its filter matched, then the last row scanned. */
export interface LogPage {
  rows: EventRow[];
  last: SqlLogKey | null;
  scanned: number;
}

export interface RecentLogLimits {
  /** Rows the window holds at most. */
  maxRows: number;
  /** JSON text the window holds at most, in characters. */
  maxChars: number;
  /** Rows one read of the log adds. */
  fetchRows: number;
}

type Fetch = (after: SqlLogKey, limit: number) => Promise<RecentLogRow[]>;

/**
 * The newest stretch of the stable log, read once for every live subscriber of the process.
 * Without it each subscriber (every projection, feed, webhook dispatcher) scanned each new row
 * itself, most of them only to skip it: with ten of them that was as much work for PostgreSQL
 * as the appends. Subscribers whose position lies in the window are served from it, filtered
 * here; one read of the log extends it for all of them at once; a subscriber behind it reads
 * the database itself, as before.
 *
 * The window is contiguous: it holds every stable row after `start` up to its last row. Rows
 * only become stable in log order (see 001-event-store), so what a later read returns always
 * follows what an earlier one returned.
 */
/** A row of the window with its position encoded once, as the window compares positions often. */
interface WindowEntry {
  key: string;
  row: RecentLogRow;
}

export class RecentLog {
  private entries: WindowEntry[] = [];
  private chars = 0;
  /** Encoded position the window starts after, or null before the first read. */
  private start: string | null = null;
  private extending: Promise<void> | null = null;
  /** Reads of the log begun so far: each read's sequence number. */
  private started = 0;
  /** The newest read that completed into the window where it now is; -1 when none has. */
  private completed = -1;
  /** Whether that read came back short: it found the end of the stable log. */
  private reachedEnd = false;
  /** Bumped when the window moves to another place, so a read begun before is not appended. */
  private placement = 0;

  constructor(
    private readonly fetch: Fetch,
    private readonly limits: RecentLogLimits,
  ) {}

  /**
   * Up to `limit` rows after `after`: the ones `filter` matches, with their documents parsed,
   * followed by the last row scanned (unmatched) to move the subscriber on. Null when `after`
   * lies before the window.
   */
  async page(
    after: SqlLogKey,
    filter: EventFilter | undefined,
    limit: number,
  ): Promise<LogPage | null> {
    const key = encodeSqlPosition(after.transactionId, after.globalPosition);
    // Only a read begun after this call is sure to see the commits that led to it.
    const entry = this.started;
    if (this.extending) await this.extending.catch(() => undefined);
    // The window follows the subscriber furthest ahead: the ones at the head are the many.
    if (this.start === null || key > this.endKey()) this.moveTo(key);
    if (key < this.start!) return null;
    await this.fill(entry, key, limit);
    if (key < this.start!) return null;
    const from = this.indexAfter(key);
    const end = Math.min(from + limit, this.entries.length);
    // Each subscriber parses its own copy of what it matched.
    const rows: EventRow[] = [];
    for (let index = from; index < end; index++) {
      const { row } = this.entries[index]!;
      if (matchesFilter(row.stream_name, row.event_type, filter))
        rows.push({
          ...row,
          data: JSON.parse(row.data) as unknown,
          metadata: JSON.parse(row.metadata) as unknown,
          matched: true,
        });
    }
    const lastRow = end > from ? this.entries[end - 1]!.row : undefined;
    if (lastRow) rows.push({ ...lastRow, data: null, metadata: null, matched: false });
    return {
      rows,
      last: lastRow ? { transactionId: lastRow.txid, globalPosition: lastRow.gpos } : null,
      scanned: end - from,
    };
  }

  /**
   * Forgets every row held, keeping the place: rows left the log (a stream was deleted), and
   * the window must not serve them. A read in flight is dropped too; the next one reads anew.
   */
  discard(): void {
    if (this.start !== null) this.moveTo(this.start);
  }

  private endKey(): string {
    return this.entries.at(-1)?.key ?? this.start!;
  }

  private moveTo(key: string): void {
    this.entries = [];
    this.chars = 0;
    this.start = key;
    this.completed = -1;
    this.reachedEnd = false;
    this.placement++;
  }

  /** First index whose row comes after `key` (binary search: keys order as strings). */
  private indexAfter(key: string): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.entries[middle]!.key <= key) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Returns once the window holds `limit` rows after `key`, or a read of the log begun after
   * read `entry` has completed and found the end of the stable log: subscribers woken by the same
   * commits share one read instead of each making their own.
   */
  private async fill(entry: number, key: string, limit: number): Promise<void> {
    while (key >= this.start!) {
      if (this.entries.length - this.indexAfter(key) >= limit) return;
      if (this.completed > entry && this.reachedEnd) return;
      if (this.extending) await this.extending;
      else await this.extend(limit);
    }
  }

  /** Reads the rows after the window's end; concurrent callers share the one read. */
  private extend(limit: number): Promise<void> {
    this.extending ??= (async () => {
      const sequence = ++this.started;
      const placement = this.placement;
      const end = this.entries.at(-1)?.row;
      const after: SqlLogKey = end
        ? { transactionId: end.txid, globalPosition: end.gpos }
        : decodeSqlPosition(this.start!);
      const wanted = Math.max(this.limits.fetchRows, limit);
      const fetched = await this.fetch(after, wanted);
      if (placement !== this.placement) return;
      for (const row of fetched) {
        this.entries.push({ key: encodeSqlPosition(row.txid, row.gpos), row });
        this.chars += row.data.length + row.metadata.length;
      }
      this.evict();
      this.reachedEnd = fetched.length < wanted;
      this.completed = sequence;
    })().finally(() => {
      this.extending = null;
    });
    return this.extending;
  }

  private evict(): void {
    let drop = 0;
    let chars = this.chars;
    while (
      drop < this.entries.length - 1 &&
      (this.entries.length - drop > this.limits.maxRows || chars > this.limits.maxChars)
    ) {
      const { row } = this.entries[drop]!;
      chars -= row.data.length + row.metadata.length;
      drop++;
    }
    if (drop === 0) return;
    this.start = this.entries[drop - 1]!.key;
    this.entries.splice(0, drop);
    this.chars = chars;
  }
}
