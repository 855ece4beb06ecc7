import { RecentLog, RecentLogRow } from '../../src/event-store/sql/recent-log';
import { LOG_START, SqlLogKey } from '../../src/event-store/sql/sql-position';

/** A stable log in memory: position n is transaction n, global position n. */
const logOf = (streams: string[]): RecentLogRow[] =>
  streams.map((stream, index) => ({
    txid: String(index + 1),
    gpos: String(index + 1),
    stream_name: stream,
    revision: '0',
    id: `id-${index + 1}`,
    event_type: `${stream.split('-')[0]}.Happened`,
    data: JSON.stringify({ n: index + 1 }),
    metadata: '{}',
    recorded_at: new Date(0),
  }));

const at = (n: number): SqlLogKey =>
  n === 0 ? LOG_START : { transactionId: String(n), globalPosition: String(n) };

const windowOver = (
  log: RecentLogRow[],
  limits = { maxRows: 100, maxChars: 1e6, fetchRows: 4 },
) => {
  const reads: number[] = [];
  const recent = new RecentLog(async (after, limit) => {
    reads.push(Number(after.globalPosition));
    await Promise.resolve();
    return log.filter((row) => Number(row.gpos) > Number(after.globalPosition)).slice(0, limit);
  }, limits);
  return { recent, reads };
};

const numbers = (rows: { matched?: boolean; data: unknown }[]) =>
  rows.filter((row) => row.matched).map((row) => (row.data as { n: number }).n);

describe('RecentLog, the window of the log shared by live subscribers', () => {
  it('serves subscribers at one position from a single read, each through its own filter', async () => {
    const log = logOf(['a-1', 'b-1', 'a-2', 'c-1', 'b-2', 'a-3']);
    const { recent, reads } = windowOver(log, { maxRows: 100, maxChars: 1e6, fetchRows: 10 });
    const [a, b, all] = await Promise.all([
      recent.page(at(0), { streamNamePrefixes: ['a-'] }, 10),
      recent.page(at(0), { streamNamePrefixes: ['b-'] }, 10),
      recent.page(at(0), undefined, 10),
    ]);
    expect(numbers(a!.rows)).toEqual([1, 3, 6]);
    expect(numbers(b!.rows)).toEqual([2, 5]);
    expect(numbers(all!.rows)).toEqual([1, 2, 3, 4, 5, 6]);
    // Each page ends with the last row scanned, unmatched, to move its subscriber on.
    for (const page of [a!, b!, all!]) {
      expect(page.scanned).toBe(6);
      expect(page.last).toEqual(at(6));
      expect(page.rows.at(-1)!.matched).toBe(false);
    }
    // One read filled the window; the others found it full or waited for it, and a page that
    // came up short asked the log once more.
    expect(reads.filter((from) => from === 0)).toHaveLength(1);
  });

  it('serves no row it held once discarded, and reads the log again instead', async () => {
    const log = logOf(['a-1', 'b-1', 'a-2', 'b-2']);
    const { recent, reads } = windowOver(log, { maxRows: 100, maxChars: 1e6, fetchRows: 10 });
    expect(numbers((await recent.page(at(0), undefined, 10))!.rows)).toEqual([1, 2, 3, 4]);
    // A stream leaves the log: the window forgets what it held, but not where it stands.
    log.splice(0, log.length, ...log.filter((row) => row.stream_name !== 'a-2'));
    recent.discard();
    const readsBefore = reads.length;
    expect(numbers((await recent.page(at(0), undefined, 10))!.rows)).toEqual([1, 2, 4]);
    expect(numbers((await recent.page(at(1), undefined, 10))!.rows)).toEqual([2, 4]);
    expect(reads.length).toBeGreaterThan(readsBefore);
  });

  it('gives every subscriber its own copy of the documents', async () => {
    const { recent } = windowOver(logOf(['a-1']));
    const first = await recent.page(at(0), undefined, 10);
    const second = await recent.page(at(0), undefined, 10);
    (first!.rows[0]!.data as { n: number }).n = 99;
    expect(numbers(second!.rows)).toEqual([1]);
  });

  it('pages by the limit and extends the window as subscribers move on', async () => {
    const log = logOf(['a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6', 'a-7']);
    const { recent } = windowOver(log);
    const seen: number[] = [];
    let position = at(0);
    for (;;) {
      const page = await recent.page(position, undefined, 3);
      seen.push(...numbers(page!.rows));
      if (!page!.last) break;
      position = page!.last;
      if (page!.scanned < 3) break;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // New rows land in the log: the next page finds them.
    log.push(...logOf(['x', 'x', 'x', 'x', 'x', 'x', 'x', 'b-8']).slice(7));
    const next = await recent.page(position, { streamNamePrefixes: ['b-'] }, 3);
    expect(numbers(next!.rows)).toEqual([8]);
  });

  it('fills a page larger than one read, and comes back short only at the end of the log', async () => {
    const log = logOf(Array.from({ length: 9 }, (_, i) => `a-${i + 1}`));
    const { recent } = windowOver(log, { maxRows: 100, maxChars: 1e6, fetchRows: 2 });
    // Another subscriber's small page starts a read of 2 rows; this one needs 5.
    const [small, large] = await Promise.all([
      recent.page(at(0), undefined, 1),
      recent.page(at(0), undefined, 5),
    ]);
    expect(numbers(small!.rows)).toEqual([1]);
    expect(large!.scanned).toBe(5);
    expect(numbers(large!.rows)).toEqual([1, 2, 3, 4, 5]);
    const rest = await recent.page(at(5), undefined, 5);
    expect(rest!.scanned).toBe(4);
    expect(numbers(rest!.rows)).toEqual([6, 7, 8, 9]);
  });

  it('sends a subscriber that fell behind the window to the database', async () => {
    const log = logOf(Array.from({ length: 20 }, (_, i) => `a-${i + 1}`));
    const { recent } = windowOver(log, { maxRows: 5, maxChars: 1e6, fetchRows: 4 });
    let position = at(0);
    for (let round = 0; round < 4; round++)
      position = (await recent.page(position, undefined, 4))!.last!;
    expect(position).toEqual(at(16));
    // The window keeps the newest five rows: 12 to 16.
    expect(await recent.page(at(3), undefined, 4)).toBeNull();
    expect(numbers((await recent.page(at(11), undefined, 4))!.rows)).toEqual([12, 13, 14, 15]);
  });

  it('bounds the window by the size of the documents too', async () => {
    const log = logOf(['a-1', 'a-2', 'a-3', 'a-4']).map((row) => ({
      ...row,
      data: JSON.stringify({ n: Number(row.gpos), pad: 'x'.repeat(100) }),
    }));
    const { recent } = windowOver(log, { maxRows: 100, maxChars: 250, fetchRows: 4 });
    await recent.page(at(0), undefined, 4);
    expect(await recent.page(at(1), undefined, 4)).toBeNull();
    expect(numbers((await recent.page(at(2), undefined, 4))!.rows)).toEqual([3, 4]);
  });

  it('moves to a subscriber ahead of it, and serves those behind from the database', async () => {
    const log = logOf(Array.from({ length: 12 }, (_, i) => `a-${i + 1}`));
    const { recent, reads } = windowOver(log, { maxRows: 100, maxChars: 1e6, fetchRows: 2 });
    await recent.page(at(0), undefined, 2);
    const ahead = await recent.page(at(9), undefined, 2);
    expect(numbers(ahead!.rows)).toEqual([10, 11]);
    expect(reads.at(-1)).toBe(9);
    expect(await recent.page(at(1), undefined, 2)).toBeNull();
  });

  it('answers a subscriber only from a read begun after it asked', async () => {
    const log = logOf(['a-1']);
    const pending: (() => void)[] = [];
    let reads = 0;
    const recent = new RecentLog(
      (after) => {
        reads++;
        // What the log holds when the read begins, returned when the test lets it finish.
        const snapshot = log.filter((row) => Number(row.gpos) > Number(after.globalPosition));
        return new Promise((resolve) => pending.push(() => resolve(snapshot)));
      },
      { maxRows: 100, maxChars: 1e6, fetchRows: 10 },
    );
    const early = recent.page(at(0), undefined, 10);
    await Promise.resolve();
    // A commit lands while the first read is under way; a subscriber woken by it asks.
    log.push(...logOf(['a-1', 'a-2']).slice(1));
    const late = recent.page(at(0), undefined, 10);
    pending.shift()!();
    expect(numbers((await early)!.rows)).toEqual([1]);
    for (let i = 0; i < 10 && pending.length === 0; i++) await Promise.resolve();
    expect(reads).toBe(2);
    pending.shift()!();
    expect(numbers((await late)!.rows)).toEqual([1, 2]);
  });
});
