import {
  activeSubscription,
  expectProblem,
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
import { NESTED_EACH, NESTED_EACH_DATA } from './hostile-templates';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const COURSE_TEMPLATE =
  '{"kind": "course", "title": "{{PublisherEventData.courseName}}", "learner": "{{PublisherParticipantId}}", "score": {{json PublisherEventData.score}}}';
const DEFAULT_TEMPLATE =
  '{"kind": "other", "category": "{{PublisherEventCategory.value}}", "note": "{{PublisherEventData.note}}", "event": "{{EventId}}", "as": "{{Kind}}"}';
/** COURSE with its own template, EXAM ignored, every other category through *_default. */
const SELECTING = {
  COURSE: { action: 'import', label: 'Courses', template: COURSE_TEMPLATE },
  EXAM: { action: 'ignore' },
  '*_default': { action: 'import', label: 'Everything else', template: DEFAULT_TEMPLATE },
};
const TRICKY = 'The "Quoted" \\ Course\nline two\t{{not a mustache}}';

/** The pull feed: template selection, amendments and retractions, cursors and replay. */
describe('Subscription feed', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let p: Parties;

  const feed = (id: string, query = '') =>
    hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/feed${query}`);
  const ids = (items: any[]) => items.map((item) => item.eventId as string);

  /** A publisher program of its own for each part, so the parts do not see each other's events. */
  const program = async (name: string) => {
    const programId = `feed-${name}`;
    await registerProgram(hub, p.publisherAdmin, programId);
    return { subscriberProgram: p.subscriberProgram, publisherProgram: programId };
  };

  beforeAll(async () => {
    storage = await freshStorage('feed-e2e');
    hub = await startHub(storage.storage);
    p = await setUpParties(hub, 'feed');
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('template selection', () => {
    let programId: string;
    let events: Record<string, string>;

    beforeAll(async () => {
      const parties = await program('SEL');
      programId = parties.publisherProgram;
      events = {};
      for (const [key, category, data] of [
        ['course', 'COURSE', { courseName: TRICKY, score: 9 }],
        ['exam', 'EXAM', { note: 'ignored' }],
        ['other', 'OTHER', { note: 'say "hi"' }],
        ['none', null, { note: 'no category' }],
      ] as const)
        events[key] = await publishOne(
          hub,
          p.publisher,
          learningEvent(programId, `sel-${key}`, { category, data }),
        );
    });

    it('uses the category’s template, skips ignored ones and falls back to *_default', async () => {
      const id = (await activeSubscription(hub, { ...p, publisherProgram: programId }, SELECTING))
        .subscriptionId;
      const page = await feed(id, '?after=start');
      expect(page.status).toBe(200);
      expect(page.body.hasMore).toBe(false);
      expect(ids(page.body.items)).toEqual([events.course, events.other, events.none]);
      const [course, other, none] = page.body.items;

      expect(course).toEqual({
        cursor: expect.any(String),
        kind: 'published',
        eventId: events.course,
        publisherProgramId: programId,
        publisherSystemId: 'LB',
        publisherEventId: 'sel-course',
        participantId: 'learner-1',
        eventType: 'LPI_COMP_SUCCESS',
        category: { value: 'COURSE', label: 'COURSE' },
        template: 'COURSE',
        label: 'Courses',
        createdUtc: expect.stringMatching(ISO),
        amendedUtc: null,
        retractedUtc: null,
        recordedUtc: expect.stringMatching(ISO),
        // Quotes, backslashes, newlines and tabs in the data are JSON-escaped, braces kept as text.
        payload: { kind: 'course', title: TRICKY, learner: 'learner-1', score: 9 },
        conversionError: null,
      });
      expect(other).toMatchObject({
        kind: 'published',
        template: '*_default',
        label: 'Everything else',
        category: { value: 'OTHER', label: 'OTHER' },
        payload: {
          kind: 'other',
          category: 'OTHER',
          note: 'say "hi"',
          event: events.other,
          as: 'published',
        },
        conversionError: null,
      });
      expect(none).toMatchObject({
        kind: 'published',
        template: '*_default',
        category: null,
        payload: { kind: 'other', category: '', note: 'no category', event: events.none },
      });
      // The cursor moved past the ignored event too: nothing is left after the last page.
      const after = await feed(id, `?after=${page.body.nextCursor}`);
      expect(after.body).toEqual({ items: [], nextCursor: page.body.nextCursor, hasMore: false });
    });

    it('ignores categories a set without *_default does not list', async () => {
      const id = (
        await activeSubscription(
          hub,
          { ...p, publisherProgram: programId },
          { COURSE: { template: COURSE_TEMPLATE } },
        )
      ).subscriptionId;
      const page = await feed(id, '?after=start');
      expect(ids(page.body.items)).toEqual([events.course]);
      expect(page.body.items[0]).toMatchObject({ template: 'COURSE', label: null });
    });

    it('reports a template whose output is not JSON on the item, with a null payload', async () => {
      const id = (
        await activeSubscription(
          hub,
          { ...p, publisherProgram: programId },
          { OTHER: { template: '{"note": {{PublisherEventData.note}}}' } },
        )
      ).subscriptionId;
      const page = await feed(id, '?after=start');
      expect(page.body.items).toEqual([
        expect.objectContaining({
          eventId: events.other,
          payload: null,
          conversionError: expect.stringContaining('JSON'),
        }),
      ]);
    });
  });

  describe('template budgets', () => {
    /** A request's reply, with how long it took to arrive. */
    const timed = async <T>(request: Promise<T>) => {
      const started = performance.now();
      const reply = await request;
      return { reply, ms: performance.now() - started };
    };

    it('answers at once with a conversionError for three nested each over 200 elements, and /health meanwhile (finding 4)', async () => {
      const parties = await program('HOSTILE');
      const programId = parties.publisherProgram;
      const before = await publishOne(
        hub,
        p.publisher,
        learningEvent(programId, 'h-before', { data: { courseName: 'Before', score: 1 } }),
      );
      const hostile = await publishOne(
        hub,
        p.publisher,
        learningEvent(programId, 'h-list', { category: 'LIST', data: NESTED_EACH_DATA }),
      );
      const after = await publishOne(
        hub,
        p.publisher,
        learningEvent(programId, 'h-after', { data: { courseName: 'After', score: 2 } }),
      );
      const id = (
        await activeSubscription(hub, parties, {
          COURSE: { template: COURSE_TEMPLATE },
          LIST: { template: NESTED_EACH },
        })
      ).subscriptionId;

      const reading = timed(feed(id, '?after=start'));
      const health = await timed(hub.call(null, 'GET', '/health'));
      const { reply: page, ms } = await reading;

      expect(page.status).toBe(200);
      expect(ids(page.body.items)).toEqual([before, hostile, after]);
      expect(page.body.items[1]).toMatchObject({
        kind: 'published',
        payload: null,
        conversionError: 'the template went over its budget of 20000 iterations',
      });
      expect(page.body.items[0].payload).toMatchObject({ title: 'Before', score: 1 });
      expect(page.body.items[2].payload).toMatchObject({ title: 'After', score: 2 });
      expect(page.body.hasMore).toBe(false);
      // Generous bounds: unbudgeted, the render took seconds and held up every other request.
      expect(ms).toBeLessThan(3_000);
      expect(health.reply.status).toBe(200);
      expect(health.ms).toBeLessThan(2_000);
    });
  });

  describe('amendments and retractions', () => {
    it('appear as amended and retracted items after the publication, in hub order', async () => {
      const parties = await program('AMD');
      const programId = parties.publisherProgram;
      const id = (await activeSubscription(hub, parties, SELECTING)).subscriptionId;
      const body = (key: string, category: string | null, data: Record<string, unknown>) =>
        learningEvent(programId, `amd-${key}`, { category, data });
      const e1 = await publishOne(
        hub,
        p.publisher,
        body('1', 'COURSE', { courseName: 'A', score: 1 }),
      );
      const e2 = await publishOne(
        hub,
        p.publisher,
        body('2', 'COURSE', { courseName: 'B', score: 2 }),
      );
      const e3 = await publishOne(hub, p.publisher, body('3', 'OTHER', { note: 'three' }));
      const e4 = await publishOne(
        hub,
        p.publisher,
        body('4', 'COURSE', { courseName: 'D', score: 4 }),
      );
      const e5 = await publishOne(hub, p.publisher, body('5', 'EXAM', { note: 'exam' }));

      const amend = async (eventId: string, event: Record<string, unknown>) => {
        const response = await hub.call(p.publisher, 'PUT', `/v1/events/${eventId}`, event);
        expect(response.status).toBe(200);
        expect(response.body.AmendedUtc).toMatch(ISO);
      };
      const retract = async (eventId: string) =>
        expect((await hub.call(p.publisher, 'DELETE', `/v1/events/${eventId}`)).status).toBe(204);

      await amend(e1, body('1', 'COURSE', { courseName: 'A+', score: 10 }));
      await retract(e2);
      // Into an ignored category: the event leaves the subscriber's view.
      await amend(e3, body('3', 'EXAM', { note: 'now an exam' }));
      // Retracting it there is none of the subscriber's business any more.
      await retract(e3);
      // Moving between imported categories: another template applies.
      await amend(e4, body('4', 'OTHER', { note: 'moved' }));
      // An ignored event's changes are skipped.
      await amend(e5, body('5', 'EXAM', { note: 'exam, corrected' }));
      await retract(e5);

      const { items } = await readWholeFeed(hub, p.subscriber, id);
      expect(items.map((item) => [item.kind, item.eventId])).toEqual([
        ['published', e1],
        ['published', e2],
        ['published', e3],
        ['published', e4],
        ['amended', e1],
        ['retracted', e2],
        ['retracted', e3],
        ['amended', e4],
      ]);
      const [, , , , amended1, retracted2, retracted3, amended4] = items;
      expect(amended1).toMatchObject({
        template: 'COURSE',
        amendedUtc: expect.stringMatching(ISO),
        retractedUtc: null,
        payload: { kind: 'course', title: 'A+', score: 10 },
      });
      expect(retracted2).toMatchObject({
        template: 'COURSE',
        retractedUtc: expect.stringMatching(ISO),
        payload: null,
        conversionError: null,
      });
      expect(retracted3).toMatchObject({ payload: null, template: '*_default' });
      expect(amended4).toMatchObject({
        template: '*_default',
        category: { value: 'OTHER', label: 'OTHER' },
        payload: { kind: 'other', category: 'OTHER', note: 'moved', as: 'amended' },
      });
      // Hub order: each item's cursor is past the one before.
      const cursors = items.map((item) => item.cursor as string);
      expect(new Set(cursors).size).toBe(cursors.length);
      const decoded = cursors.map((cursor) => Buffer.from(cursor, 'base64url').toString('utf8'));
      expect([...decoded].sort()).toEqual(decoded);
    });
  });

  describe('order', () => {
    it('records the events of one batch in the order they were sent', async () => {
      const parties = await program('BATCH');
      const id = (await activeSubscription(hub, parties, SELECTING)).subscriptionId;
      const sent = await publishBatch(
        hub,
        p.publisher,
        Array.from({ length: 10 }, (_, i) =>
          learningEvent(parties.publisherProgram, `batch-${i}`, {
            eventType: i % 2 === 0 ? 'LPI_STARTED' : 'LPI_COMP_SUCCESS',
          }),
        ),
      );
      const { items } = await readWholeFeed(hub, p.subscriber, id);
      expect(ids(items)).toEqual(sent);
    });
  });

  describe('cursors', () => {
    it('pages with limit while publishers write concurrently: nothing missed, nothing repeated', async () => {
      const parties = await program('PAGE');
      const programId = parties.publisherProgram;
      const elsewhere = (await program('ELSEWHERE')).publisherProgram;
      const id = (await activeSubscription(hub, parties, SELECTING)).subscriptionId;

      const imported = new Set<string>();
      const writing = { done: false };
      const categories = ['COURSE', 'OTHER', null, 'EXAM'] as const;
      let serial = 0;
      const next = (writer: number, programOf = programId) => {
        const n = serial++;
        const category = categories[n % categories.length]!;
        const event = learningEvent(programOf, `w${writer}-${n}`, { category });
        return { event, importedHere: programOf === programId && category !== 'EXAM' };
      };
      const writer = async (index: number) => {
        const until = Date.now() + 3_000;
        while (Date.now() < until) {
          if (index === 0) {
            const { event, importedHere } = next(index);
            const eventId = await publishOne(hub, p.publisher, event);
            if (importedHere) imported.add(eventId);
          } else {
            const size = 1 + Math.floor(Math.random() * 10);
            // Writer 2 mixes in another program's events, which the feed must filter out.
            const made = Array.from({ length: size }, (_, i) =>
              next(index, index === 2 && i % 3 === 0 ? elsewhere : programId),
            );
            const eventIds = await publishBatch(
              hub,
              p.publisher,
              made.map((m) => m.event),
            );
            made.forEach((m, i) => {
              if (m.importedHere) imported.add(eventIds[i]!);
            });
          }
        }
      };

      const read: any[] = [];
      const reader = async () => {
        let cursor = 'start';
        const deadline = Date.now() + 30_000;
        for (;;) {
          const page = await feed(id, `?after=${cursor}&limit=7`);
          expect(page.status).toBe(200);
          expect(page.body.items.length).toBeLessThanOrEqual(7);
          read.push(...page.body.items);
          cursor = page.body.nextCursor;
          if (writing.done && !page.body.hasMore && read.length >= imported.size) return;
          if (Date.now() > deadline)
            throw new Error(`the reader gave up with ${read.length} items`);
          if (!page.body.hasMore) await sleep(5);
        }
      };

      const readerDone = reader();
      await Promise.all([writer(0), writer(1), writer(2)]);
      writing.done = true;
      await readerDone;

      expect(imported.size).toBeGreaterThan(50);
      const readIds = ids(read);
      expect(new Set(readIds).size).toBe(readIds.length);
      expect(new Set(readIds)).toEqual(imported);
      const whole = await readWholeFeed(hub, p.subscriber, id);
      expect(read.map((item) => [item.cursor, item.eventId])).toEqual(
        whole.items.map((item) => [item.cursor, item.eventId]),
      );
    });

    it('accepts after=start and refuses cursors it did not hand out (400 INVALID_CURSOR)', async () => {
      const parties = await program('CUR');
      const id = (await activeSubscription(hub, parties, SELECTING)).subscriptionId;
      const eventId = await publishOne(
        hub,
        p.publisher,
        learningEvent(parties.publisherProgram, 'c1'),
      );
      const fromStart = await feed(id, '?after=start');
      expect(ids(fromStart.body.items)).toEqual([eventId]);
      const real = fromStart.body.items[0].cursor as string;
      expect(ids((await feed(id, `?after=${real}`)).body.items)).toEqual([]);

      const forged = Buffer.from('00000000000000000001:xyz', 'utf8').toString('base64url');
      for (const bad of [
        'nonsense',
        forged,
        `${real}x`,
        '00000000000000000001:00000000000000000001',
      ]) {
        const response = await feed(id, `?after=${encodeURIComponent(bad)}`);
        expectProblem(response, 400, 'INVALID_CURSOR');
        expect(response.body.issues).toEqual([{ field: 'after', message: expect.any(String) }]);
      }
      expectProblem(await feed(id, '?limit=0'), 400);
      expectProblem(await feed(id, '?limit=1001'), 400);
    });
  });

  describe('replay', () => {
    let id: string;
    let programId: string;
    let first: string[];
    let cursors: string[];

    const replay = (from: string) =>
      hub.call(p.subscriber, 'POST', `/v1/subscriptions/${id}/replay`, { from });

    beforeAll(async () => {
      const parties = await program('REPLAY');
      programId = parties.publisherProgram;
      id = (await activeSubscription(hub, parties, SELECTING)).subscriptionId;
      first = [];
      for (const n of [1, 2, 3])
        first.push(await publishOne(hub, p.publisher, learningEvent(programId, `r${n}`)));
      cursors = (await readWholeFeed(hub, p.subscriber, id)).items.map((item) => item.cursor);
    });

    it('moves the stored position to a cursor: the feed without after starts after it', async () => {
      const response = await replay(cursors[0]!);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ subscriptionId: id, position: cursors[0] });
      const page = await feed(id);
      expect(ids(page.body.items)).toEqual(first.slice(1));
      // Reading does not move the stored position; replaying does.
      expect(ids((await feed(id)).body.items)).toEqual(first.slice(1));
      await replay(cursors[2]!);
      expect((await feed(id)).body.items).toEqual([]);
    });

    it('moves it back to the start', async () => {
      const response = await replay('start');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ subscriptionId: id, position: 'start' });
      expect(ids((await feed(id)).body.items)).toEqual(first);
    });

    it('moves it to at or before the events recorded since an instant', async () => {
      await replay(cursors[2]!);
      await sleep(20);
      const since = new Date();
      await sleep(20);
      const later = [
        await publishOne(hub, p.publisher, learningEvent(programId, 'r4')),
        await publishOne(hub, p.publisher, learningEvent(programId, 'r5')),
      ];
      const response = await replay(since.toISOString());
      expect(response.status).toBe(200);
      expect(response.body.subscriptionId).toBe(id);
      const whole = (await readWholeFeed(hub, p.subscriber, id)).items;
      const replayed = (await readWholeFeed(hub, p.subscriber, id, response.body.position)).items;
      const fromFeed = (await feed(id)).body.items;
      expect(ids(fromFeed)).toEqual(ids(replayed));
      // A stretch at the end of the feed holding everything recorded since then.
      expect(ids(replayed)).toEqual(ids(whole).slice(whole.length - replayed.length));
      expect(ids(replayed)).toEqual(expect.arrayContaining(later));
      for (const item of whole)
        if (Date.parse(item.recordedUtc) >= since.getTime())
          expect(ids(replayed)).toContain(item.eventId);

      // An instant before anything was published: from the start.
      const early = await replay('2020-01-01T00:00:00Z');
      expect(early.body.position).toBe('start');
      expect(ids((await feed(id)).body.items)).toEqual([...first, ...later]);
    });

    it('refuses a from that is neither an instant, a cursor nor start', async () => {
      expectProblem(await replay('yesterday'), 400, 'INVALID_CURSOR');
      expectProblem(
        await hub.call(p.subscriber, 'POST', `/v1/subscriptions/${id}/replay`, {}),
        400,
      );
    });
  });
});
