import { LogPage } from '../../src/event-store/sql/recent-log';
import { SharedPages } from '../../src/event-store/sql/shared-pages';

const fullPage = (n: number, size = 2): LogPage => ({
  rows: Array.from({ length: size }, (_, i) => ({
    txid: String(n),
    gpos: String(n * 10 + i),
    stream_name: `s-${n}`,
    revision: i,
    id: `id-${n}-${i}`,
    event_type: 'Happened',
    recorded_at: new Date(0),
    data: { n },
    metadata: {},
  })),
  last: { transactionId: String(n), globalPosition: String(n * 10 + size - 1) },
  scanned: size,
});

describe('SharedPages, full pages of the settled log shared by catching-up subscribers', () => {
  let clock = 0;
  const pagesWith = (maxIdleMs: number) =>
    new SharedPages({ maxPages: 64, maxRows: 1_000, maxIdleMs }, () => clock);

  beforeEach(() => {
    clock = 0;
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('serves a full page read a moment ago without reading it again', async () => {
    const pages = pagesWith(30_000);
    const fetch = jest.fn(() => Promise.resolve(fullPage(1)));
    const first = await pages.read('p1', 2, fetch);
    clock += 29_000;
    jest.advanceTimersByTime(29_000);
    expect(await pages.read('p1', 2, fetch)).toBe(first);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('lets go of pages nobody has asked for within maxIdleMs, and keeps the ones still asked for', async () => {
    const pages = pagesWith(30_000);
    await pages.read('p1', 2, () => Promise.resolve(fullPage(1)));
    await pages.read('p2', 2, () => Promise.resolve(fullPage(2)));
    expect(pages.size).toBe(2);
    clock += 20_000;
    jest.advanceTimersByTime(20_000);
    await pages.read('p2', 2, () => Promise.reject(new Error('p2 is kept')));
    clock += 10_000;
    jest.advanceTimersByTime(10_000);
    expect(pages.size).toBe(1);
    clock += 20_000;
    jest.advanceTimersByTime(20_000);
    expect(pages.size).toBe(0);
    const fetch = jest.fn(() => Promise.resolve(fullPage(2)));
    await pages.read('p2', 2, fetch);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('keeps no timer once every page is gone', async () => {
    const pages = pagesWith(1_000);
    await pages.read('p1', 2, () => Promise.resolve(fullPage(1)));
    expect(jest.getTimerCount()).toBe(1);
    clock += 1_000;
    jest.advanceTimersByTime(1_000);
    expect(pages.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    await pages.read('p1', 2, () => Promise.resolve(fullPage(1)));
    pages.discard();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('never keeps a short page', async () => {
    const pages = pagesWith(30_000);
    await pages.read('p1', 5, () => Promise.resolve(fullPage(1, 2)));
    expect(pages.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });
});
