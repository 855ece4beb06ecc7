import { performance } from 'node:perf_hooks';
import { LogPage } from './recent-log';

export interface SharedPagesLimits {
  /** Completed pages kept at most. */
  maxPages: number;
  /** Rows kept at most, over all pages. */
  maxRows: number;
  /** A kept page nobody has asked for in this long is let go, in milliseconds. */
  maxIdleMs: number;
}

interface KeptPage {
  page: LogPage;
  usedAt: number;
}

/**
 * Pages of the settled log that catching-up subscribers read, shared between those that ask for
 * the same page: the same start, filter and size. A hundred streams of a new subscription start
 * at the same place and move in step, so they read each page from the database once instead of
 * a hundred times.
 *
 * A read in flight is shared with whoever asks for the same page meanwhile. A completed page is
 * kept only when it came back full: every row of it lies below the log's boundary, and rows below
 * the boundary never change (see 010-log-boundary), so a later read of the same page would return
 * the same rows. A short page ends at the boundary, which moves, so it is never kept. Deleting
 * streams breaks that rule, so the store discards everything when it deletes one.
 *
 * The rows, and the documents parsed from them, are shared between the subscribers that read the
 * page: they must be treated as read-only, as every reader of the event store does.
 *
 * Pages are worth keeping only while subscribers are catching up together; once they are live
 * (served by the RecentLog) nobody asks for them again. So a page left unasked for `maxIdleMs` is
 * dropped, by a timer that does not keep the process alive, rather than held until the next
 * catch-up pushes it out.
 */
export class SharedPages {
  private readonly inFlight = new Map<string, Promise<LogPage>>();
  private readonly kept = new Map<string, KeptPage>();
  private keptRows = 0;
  /** Bumped by discard, so a read begun before a deletion is not kept after it. */
  private generation = 0;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly limits: SharedPagesLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  read(key: string, limit: number, fetch: () => Promise<LogPage>): Promise<LogPage> {
    const kept = this.kept.get(key);
    if (kept) {
      // Most recently used last, so eviction drops the page nobody has asked for the longest.
      this.kept.delete(key);
      kept.usedAt = this.now();
      this.kept.set(key, kept);
      return Promise.resolve(kept.page);
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const read = fetch().then(
      (page) => {
        this.inFlight.delete(key);
        if (page.scanned >= limit && generation === this.generation) this.keep(key, page);
        return page;
      },
      (error: unknown) => {
        this.inFlight.delete(key);
        throw error;
      },
    );
    this.inFlight.set(key, read);
    return read;
  }

  /** Forgets every page: rows left the log. */
  discard(): void {
    this.generation++;
    this.inFlight.clear();
    this.kept.clear();
    this.keptRows = 0;
    this.stopSweeping();
  }

  /** Pages kept now. */
  get size(): number {
    return this.kept.size;
  }

  private keep(key: string, page: LogPage): void {
    this.kept.set(key, { page, usedAt: this.now() });
    this.keptRows += page.rows.length;
    for (const [oldest, evicted] of this.kept) {
      if (this.kept.size <= this.limits.maxPages && this.keptRows <= this.limits.maxRows) break;
      this.kept.delete(oldest);
      this.keptRows -= evicted.page.rows.length;
    }
    this.sweeper ??= this.sweepIn(this.limits.maxIdleMs);
  }

  private sweepIn(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.sweep(), ms);
    timer.unref();
    return timer;
  }

  /** Drops the pages idle for maxIdleMs (the least recently used come first) and re-arms. */
  private sweep(): void {
    this.sweeper = null;
    const now = this.now();
    for (const [key, kept] of this.kept) {
      const idle = now - kept.usedAt;
      if (idle < this.limits.maxIdleMs) {
        this.sweeper = this.sweepIn(this.limits.maxIdleMs - idle);
        return;
      }
      this.kept.delete(key);
      this.keptRows -= kept.page.rows.length;
    }
  }

  private stopSweeping(): void {
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweeper = null;
  }
}
