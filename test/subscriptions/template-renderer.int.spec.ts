import { defaultClearinghouseConfig, TemplateBudgetConfig } from '../../src/config/hub-config';
import { Position, RecordedEvent } from '../../src/event-store/event-store.port';
import { EventCategory } from '../../src/publishing/learning-event.events';
import { toFeedItem } from '../../src/subscriptions/feed-items';
import { TemplateSet } from '../../src/subscriptions/subscription.events';
import { RenderOutcome } from '../../src/subscriptions/template-conversion';
import { RenderPool, RenderPoolClosed } from '../../src/subscriptions/template-pool';
import { TemplateConverter } from '../../src/subscriptions/template-renderer';
import {
  NESTED_EACH,
  NESTED_EACH_DATA,
  SLOW_COMPARISONS,
  SLOW_COMPARISONS_DATA,
} from './hostile-templates';

/** The render pool and the converter on it: real worker threads running the current source. */

let serial = 0;
const position = (): Position => {
  serial++;
  return `00000000000000000100:${String(serial).padStart(20, '0')}` as Position;
};
const content = (id: string, category: EventCategory | null, data: Record<string, unknown>) => ({
  EventId: `PROG-${id}`,
  PublisherProgramId: 'PROG',
  PublisherSystemId: 'LB',
  EventType: 'LPI_COMP_SUCCESS',
  PublisherEventId: id,
  PublisherParticipantId: 'p-1',
  PublisherEventCategory: category,
  PublisherEventData: data,
  EventStartUtc: '2026-11-19T09:00:00.000Z',
  EventEndUtc: null,
  CreatedUtc: '2026-11-20T08:00:00.000Z',
});
const recorded = (type: string, data: unknown): RecordedEvent => ({
  id: `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`,
  type,
  data,
  metadata: {},
  stream: 'learning-event-PROG/x',
  revision: 0n,
  position: position(),
  recordedAt: new Date('2026-12-01T10:00:00.000Z'),
});
const category = (value: string) => ({ value, label: null });
const published = (id: string, value: string | null, data: Record<string, unknown> = {}) =>
  recorded('LearningEventPublished', content(id, value === null ? null : category(value), data));

const entry = (template: string) => ({ action: 'import' as const, label: null, template });
const budgets = (overrides: Partial<TemplateBudgetConfig> = {}): TemplateBudgetConfig => ({
  ...defaultClearinghouseConfig().templates,
  ...overrides,
});
const converterWith = (overrides: Partial<TemplateBudgetConfig> = {}) =>
  new TemplateConverter({
    clearinghouse: { ...defaultClearinghouseConfig(), templates: budgets(overrides) },
  });

const TIME_FAILURE = (ms: number) => `the template went over its budget of ${ms} ms`;

describe('TemplateConverter', () => {
  const converters: TemplateConverter[] = [];
  const make = (overrides: Partial<TemplateBudgetConfig> = {}) => {
    const converter = converterWith(overrides);
    converters.push(converter);
    return converter;
  };
  afterAll(async () => {
    await Promise.all(converters.map((converter) => converter.onModuleDestroy()));
  });

  it('converts a page exactly as toFeedItem does', async () => {
    const templates: TemplateSet = {
      COURSE: entry('{"course": "{{PublisherEventData.title}}", "as": {{json Kind}}}'),
      BROKEN: entry('{"id": {{EventId}}}'),
      FAILING: entry('{{#if}}{{/if}}'),
      SPAM: { action: 'ignore', label: null, template: null },
      '*_default': entry('{"other": "{{PublisherEventCategory.value}}"}'),
    };
    const events = [
      published('a', 'COURSE', { title: 'Say "hi"' }),
      published('b', 'SPAM'),
      published('c', 'BROKEN'),
      published('d', 'FAILING'),
      published('e', null),
      recorded('LearningEventAmended', {
        ...content('a', category('SPAM'), {}),
        AmendedUtc: '2026-11-25T08:00:00.000Z',
        PreviousCategoryValue: 'COURSE',
      }),
      recorded('LearningEventRetracted', {
        ...content('e', null, {}),
        RetractedUtc: '2026-11-28T08:00:00.000Z',
      }),
      recorded('ParticipantErased', {
        ErasureId: 'er-1',
        PublisherProgramId: 'PROG',
        Events: [
          { EventId: 'PROG-a', CategoryValue: 'COURSE' },
          { EventId: 'PROG-b', CategoryValue: 'SPAM' },
        ],
        ErasedUtc: '2026-11-29T08:00:00.000Z',
      }),
    ];
    const page = await make().convertPage(events, templates, 'sub-1');
    expect(page.converted).toBe(events.length);
    expect(page.items).toEqual(events.map((event) => toFeedItem(event, templates)));
    expect(page.items.map((item) => item && item.kind)).toEqual([
      'published',
      null,
      'published',
      'published',
      'published',
      'retracted',
      'retracted',
      'erased',
    ]);
  });

  it('fails the item of a template that iterates too much, and converts the others (finding 4)', async () => {
    const templates: TemplateSet = {
      HOSTILE: entry(NESTED_EACH),
      '*_default': entry('{"n": {{json PublisherEventData.n}}}'),
    };
    const events = [
      published('n1', 'OTHER', { n: 1 }),
      published('h', 'HOSTILE', NESTED_EACH_DATA),
      published('n2', 'OTHER', { n: 2 }),
    ];
    const page = await make().convertPage(events, templates, 'sub-1');
    expect(page.converted).toBe(3);
    expect(page.items.map((item) => item && 'payload' in item && item.payload)).toEqual([
      { n: 1 },
      null,
      { n: 2 },
    ]);
    expect(page.items[1]).toMatchObject({
      conversionError: 'the template went over its budget of 20000 iterations',
    });
  });

  it('stops a render that counting cannot stop at its time budget', async () => {
    const converter = make({ itemTimeoutMs: 50 });
    const templates: TemplateSet = {
      '*_default': entry(SLOW_COMPARISONS),
      QUICK: entry('{"quick": true}'),
    };
    const page = await converter.convertPage(
      [published('slow', null, SLOW_COMPARISONS_DATA), published('quick', 'QUICK')],
      templates,
      'sub-1',
    );
    expect(page.converted).toBe(2);
    expect(page.items[0]).toMatchObject({ payload: null, conversionError: TIME_FAILURE(50) });
    expect(page.items[1]).toMatchObject({ payload: { quick: true }, conversionError: null });
  });

  it('sets aside a template that went over its time budget three times running', async () => {
    const converter = make({ itemTimeoutMs: 20, quarantineMs: 60_000 });
    const templates: TemplateSet = { '*_default': entry(SLOW_COMPARISONS) };
    const events = Array.from({ length: 5 }, (_, i) =>
      published(`q${i}`, null, SLOW_COMPARISONS_DATA),
    );
    const page = await converter.convertPage(events, templates, 'sub-q');
    expect(page.converted).toBe(5);
    const errors = page.items.map((item) => (item as { conversionError: string }).conversionError);
    expect(errors.slice(0, 3)).toEqual([TIME_FAILURE(20), TIME_FAILURE(20), TIME_FAILURE(20)]);
    for (const error of errors.slice(3))
      expect(error).toMatch(
        /^the template is set aside until \d{4}-\d\d-\d\dT[\d:.]+Z: it went over its time budget 3 times running$/,
      );
    // Other templates are not affected.
    const other = await converter.convertPage(
      [published('fine', null)],
      { '*_default': entry('{"fine": true}') },
      'sub-q',
    );
    expect(other.items[0]).toMatchObject({ payload: { fine: true } });
  });

  describe('page budget', () => {
    /** Events whose template writes exactly `size` characters each. */
    const sized = (count: number, size: number) => ({
      templates: { '*_default': entry('"{{PublisherEventData.text}}"') } as TemplateSet,
      events: Array.from({ length: count }, (_, i) =>
        published(`s${i}`, null, { text: String(i % 10).repeat(size - 2) }),
      ),
    });

    it('ends the page after the item that spent its output budget, items intact', async () => {
      const converter = make({ itemMaxChars: 1_024, pageMaxChars: 3_000 });
      const { templates, events } = sized(10, 1_000);
      const first = await converter.convertPage(events, templates, 'sub-p');
      expect(first.converted).toBe(3);
      expect(first.items).toEqual(events.slice(0, 3).map((event) => toFeedItem(event, templates)));
      // The next page starts with the first event not converted.
      const second = await converter.convertPage(events.slice(3), templates, 'sub-p');
      expect(second.converted).toBe(3);
      expect(second.items).toEqual(events.slice(3, 6).map((event) => toFeedItem(event, templates)));
    });

    it('is shared by the calls of one page, and a spent one converts nothing', async () => {
      const converter = make({ itemMaxChars: 1_024, pageMaxChars: 3_000 });
      const { templates, events } = sized(6, 1_000);
      const budget = converter.newPageBudget();
      expect(
        (await converter.convertPage(events.slice(0, 2), templates, 'c', budget)).converted,
      ).toBe(2);
      const rest = await converter.convertPage(events.slice(2), templates, 'c', budget);
      expect(rest.converted).toBe(1);
      expect(budget.spent).toBe(true);
      expect(await converter.convertPage(events.slice(3), templates, 'c', budget)).toEqual({
        items: [],
        converted: 0,
      });
    });

    it('ends the page once its time is spent, failing only the items over their own budget', async () => {
      const converter = make({ itemTimeoutMs: 30, pageTimeoutMs: 90, quarantineMs: 0 });
      const templates: TemplateSet = { '*_default': entry(SLOW_COMPARISONS) };
      const events = Array.from({ length: 8 }, (_, i) =>
        published(`t${i}`, null, SLOW_COMPARISONS_DATA),
      );
      const page = await converter.convertPage(events, templates, 'sub-t');
      // Each item spends at least its 30 ms: three at most fit in 90 ms.
      expect(page.converted).toBeGreaterThanOrEqual(1);
      expect(page.converted).toBeLessThanOrEqual(3);
      expect(page.items).toHaveLength(page.converted);
      for (const item of page.items)
        expect(item).toMatchObject({ conversionError: TIME_FAILURE(30) });
    });
  });

  describe('fairness', () => {
    const slow = () => published('slow', null, SLOW_COMPARISONS_DATA);
    const slowSet: TemplateSet = { '*_default': entry(SLOW_COMPARISONS) };
    const quickSet: TemplateSet = { '*_default': entry('{"quick": true}') };

    it.each([1, 2])(
      'serves another caller before a busy caller’s page is done (%i workers)',
      async (workers) => {
        const converter = make({ workers, itemTimeoutMs: 40, quarantineMs: 0 });
        const finished: string[] = [];
        const hostile = converter
          .convertPage(Array.from({ length: 6 }, slow), slowSet, 'hostile')
          .then(() => finished.push('hostile'));
        const other = converter
          .convertPage([published('q', null)], quickSet, 'other')
          .then((page) => {
            finished.push('other');
            return page;
          });
        const [, otherPage] = await Promise.all([hostile, other]);
        expect(otherPage.items[0]).toMatchObject({ payload: { quick: true } });
        expect(finished).toEqual(['other', 'hostile']);
      },
    );
  });
});

describe('RenderPool', () => {
  const limits = { maxIterations: 20_000, maxOutputChars: 262_144, maxMilliseconds: 20 };
  const rendered = (outcome: RenderOutcome) =>
    outcome.kind === 'rendered' ? outcome.output : outcome.conversionError;

  it('terminates a worker whose render outlives its time budget, and carries on with a new one', async () => {
    // One JSON.stringify of five million numbers: a single step no counter or clock can interrupt.
    const pool = new RenderPool({ workers: 1, limits, memoryMb: 512, graceMs: 20 });
    try {
      const huge = { PublisherEventData: Array.from({ length: 5_000_000 }, (_, i) => i) };
      const cut = await pool.render('a', { source: '{{json PublisherEventData}}', context: huge })
        .result;
      expect(cut.outcome).toEqual({
        kind: 'failed',
        conversionError: TIME_FAILURE(20),
        budget: 'time',
      });
      expect(cut.renderMs).toBeGreaterThanOrEqual(35);
      expect(pool.stats.terminated).toBe(1);
      const after = await pool.render('a', { source: '{"n": {{json n}}}', context: { n: 7 } })
        .result;
      expect(rendered(after.outcome)).toBe('{"n": 7}');
      expect(pool.stats).toEqual({ workers: 1, terminated: 1, waiting: 0 });
    } finally {
      await pool.close();
    }
  });

  it('terminates a worker whose compile of a new template takes too long', async () => {
    const pool = new RenderPool({ workers: 1, limits, memoryMb: 128, compileTimeoutMs: 30 });
    try {
      const huge = '{{a.b.c}}'.repeat(4_000);
      const cut = await pool.render('a', { source: huge, context: {} }).result;
      expect(rendered(cut.outcome)).toBe('the template took more than 30 ms to compile');
      expect(pool.stats.terminated).toBe(1);
      const after = await pool.render('a', { source: '{"ok": true}', context: {} }).result;
      expect(rendered(after.outcome)).toBe('{"ok": true}');
    } finally {
      await pool.close();
    }
  });

  it('takes turns between callers: a waiting caller goes before the busy one’s next items', async () => {
    const pool = new RenderPool({ workers: 1, limits, memoryMb: 128 });
    try {
      const order: string[] = [];
      const run = (caller: string, n: number) =>
        pool
          .render(caller, {
            source: SLOW_COMPARISONS,
            context: { PublisherEventData: SLOW_COMPARISONS_DATA },
          })
          .result.then(() => order.push(`${caller}${n}`));
      // All wait for the worker to start: A's five, then B's one.
      const busy = [1, 2, 3, 4, 5].map((n) => run('A', n));
      const other = run('B', 1);
      await Promise.all([...busy, other]);
      expect(order).toEqual(['A1', 'B1', 'A2', 'A3', 'A4', 'A5']);
    } finally {
      await pool.close();
    }
  });

  it('refuses work once closed, and fails what was waiting', async () => {
    const pool = new RenderPool({ workers: 1, limits, memoryMb: 128 });
    const context = { PublisherEventData: SLOW_COMPARISONS_DATA };
    const outcomes = Promise.allSettled([
      pool.render('a', { source: SLOW_COMPARISONS, context }).result,
      pool.render('a', { source: SLOW_COMPARISONS, context }).result,
    ]);
    await pool.close();
    expect(await outcomes).toEqual([
      { status: 'rejected', reason: new RenderPoolClosed() },
      { status: 'rejected', reason: new RenderPoolClosed() },
    ]);
    await expect(pool.render('a', { source: '{}', context: {} }).result).rejects.toBeInstanceOf(
      RenderPoolClosed,
    );
  });
});
