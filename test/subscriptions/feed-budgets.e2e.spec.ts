import { defaultClearinghouseConfig } from '../../src/config/hub-config';
import {
  activeSubscription,
  learningEvent,
  Parties,
  publishBatch,
  publishOne,
  readWholeFeed,
  registerProgram,
  setUpParties,
  sleep,
} from '../support/clearinghouse';
import { freshStorage, HubStorage, RunningHub, startHub } from '../support/hub-harness';
import { testConfig } from '../support/hub-config';
import { SLOW_COMPARISONS, SLOW_COMPARISONS_DATA } from './hostile-templates';

/** The pull feed under the rendering budgets: pages that end early, renders cut off. */
describe('Subscription feed budgets', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let p: Parties;

  const ITEM_TIMEOUT_MS = 2_000;
  const feed = (id: string, query = '') =>
    hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/feed${query}`);

  beforeAll(async () => {
    storage = await freshStorage('feed-budgets-e2e');
    const templates = {
      ...defaultClearinghouseConfig().templates,
      itemMaxChars: 1_024,
      pageMaxChars: 4_000,
      itemTimeoutMs: ITEM_TIMEOUT_MS,
      pageTimeoutMs: ITEM_TIMEOUT_MS,
      quarantineMs: 0,
    };
    hub = await startHub(storage.storage, {
      // The slow template and its data are larger than the tests' usual 16 KiB bodies.
      bodyLimitBytes: 262_144,
      clearinghouse: { ...testConfig(storage.storage).clearinghouse, templates },
    });
    p = await setUpParties(hub, 'budget');
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  const program = async (name: string) => {
    const programId = `budget-${name}`;
    await registerProgram(hub, p.publisherAdmin, programId);
    return { subscriberProgram: p.subscriberProgram, publisherProgram: programId };
  };

  it('ends a page once its output budget is spent; the next page goes on from there, nothing skipped or repeated', async () => {
    const parties = await program('PAGES');
    const programId = parties.publisherProgram;
    // 1,022 characters of output each: four spend a page's 4,000.
    const bulky = (n: number) =>
      learningEvent(programId, `bulky-${n}`, {
        data: { courseName: String(n), pad: 'p'.repeat(1_000) },
      });
    const sent = await publishBatch(hub, p.publisher, [
      ...Array.from({ length: 10 }, (_, n) => bulky(n)),
      learningEvent(programId, 'ignored-1', { category: 'EXAM' }),
      ...Array.from({ length: 10 }, (_, n) => bulky(10 + n)),
      learningEvent(programId, 'ignored-2', { category: 'EXAM' }),
    ]);
    const retracted = sent[3]!;
    expect((await hub.call(p.publisher, 'DELETE', `/v1/events/${retracted}`)).status).toBe(204);
    const imported = [...sent.slice(0, 10), ...sent.slice(11, 21)];
    const subscribe = async (template: string) =>
      (
        await activeSubscription(hub, parties, {
          COURSE: { template },
          EXAM: { action: 'ignore' },
        })
      ).subscriptionId;
    const bulkyId = await subscribe(
      '{"n": "{{PublisherEventData.courseName}}", "pad": "{{PublisherEventData.pad}}"}',
    );
    // The same events through a small template: one page, nothing cut short.
    const reference = (await readWholeFeed(hub, p.subscriber, await subscribe('{"small": true}')))
      .items;
    expect(reference.map((item) => item.eventId).sort()).toEqual([...imported, retracted].sort());

    const pages: any[] = [];
    let cursor = 'start';
    for (let guard = 0; guard < 50; guard++) {
      const page = await feed(bulkyId, `?after=${cursor}&limit=1000`);
      expect(page.status).toBe(200);
      pages.push(page.body);
      cursor = page.body.nextCursor;
      if (!page.body.hasMore) break;
    }
    const items = pages.flatMap((page) => page.items);
    const shape = (item: any) => [item.kind, item.eventId, item.cursor];
    expect(items.map(shape)).toEqual(reference.map(shape));
    expect(items.every((item) => item.conversionError === null)).toBe(true);
    expect(items.filter((item) => item.kind === 'published')).toHaveLength(20);
    // Each full page holds the four items that spent its budget; the cursors chain exactly.
    expect(pages.map((page) => page.items.length)).toEqual([4, 4, 4, 4, 4, 1]);
    for (const page of pages.slice(0, -1)) {
      expect(page.hasMore).toBe(true);
      expect(page.nextCursor).toBe(page.items[page.items.length - 1].cursor);
    }
    expect(pages.at(-1).hasMore).toBe(false);
    // Read again from the start, the pages are the same.
    expect((await readWholeFeed(hub, p.subscriber, bulkyId)).items).toEqual(items);
  });

  it('answers /health and another subscription’s feed while a template renders until its time budget', async () => {
    const parties = await program('SLOW');
    const programId = parties.publisherProgram;
    const slow = await publishOne(
      hub,
      p.publisher,
      learningEvent(programId, 'slow', { category: 'SLOW', data: SLOW_COMPARISONS_DATA }),
    );
    const quick = await publishOne(hub, p.publisher, learningEvent(programId, 'quick'));
    const hostile = (
      await activeSubscription(hub, parties, { SLOW: { template: SLOW_COMPARISONS } })
    ).subscriptionId;
    const other = (
      await activeSubscription(hub, parties, { COURSE: { template: '{"quick": true}' } })
    ).subscriptionId;

    const started = performance.now();
    let hostileDone = Number.POSITIVE_INFINITY;
    const reading = feed(hostile, '?after=start').then((page) => {
      hostileDone = performance.now();
      return page;
    });
    // Past the worker's start and the template's compile: the render is under way.
    await sleep(1_000);
    const healthAsked = performance.now();
    const health = await hub.call(null, 'GET', '/health');
    const healthMs = performance.now() - healthAsked;
    const otherAsked = performance.now();
    const otherPage = await feed(other, '?after=start');
    const otherMs = performance.now() - otherAsked;
    const otherDone = performance.now();
    const page = await reading;

    expect(health.status).toBe(200);
    expect(otherPage.status).toBe(200);
    expect(otherPage.body.items).toEqual([
      expect.objectContaining({ eventId: quick, payload: { quick: true } }),
    ]);
    // Both answered while the hostile render was still going on, and promptly (generous bounds).
    expect(otherDone).toBeLessThan(hostileDone);
    expect(healthMs).toBeLessThan(1_000);
    expect(otherMs).toBeLessThan(1_000);

    expect(page.status).toBe(200);
    expect(page.body.items).toEqual([
      expect.objectContaining({
        eventId: slow,
        payload: null,
        conversionError: `the template went over its budget of ${ITEM_TIMEOUT_MS} ms`,
      }),
    ]);
    expect(hostileDone - started).toBeGreaterThanOrEqual(ITEM_TIMEOUT_MS);
  });
});
