import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { tallyStream } from '../support/tally.events';
import { Actor } from '../../src/auth/principal';
import { CourseTracking } from '../../src/enrolments/course-tracking';
import {
  BatchFacts,
  EnrolmentCommand,
  enrolmentDecider,
  EnrolmentState,
} from '../../src/enrolments/enrolment.decider';
import { enrolmentStream } from '../../src/enrolments/enrolment.events';
import {
  ConflictError,
  RuleViolatedError,
  StaleRevisionError,
  WrongExpectedRevisionError,
} from '../../src/errors/hub-error';
import { CommandContext, handleCommand, loadState } from '../../src/event-sourcing/command-handler';
import { StateCache, StreamState } from '../../src/event-sourcing/state-cache';
import { EventStore } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';
import { TallyCommand, tallyDecider, TallyState } from '../support/tally.decider';

describe('StateCache', () => {
  const entry = (n: number): StreamState<number> => ({ state: n, revision: BigInt(n) });
  /** Which of `keys` the cache holds (probing refreshes recency, so only probe at the end). */
  const held = (cache: StateCache<number>, keys: string[]) =>
    keys.filter((key) => cache.get(key) !== undefined);

  it('holds at most `capacity` entries and evicts the least recently set first', () => {
    const cache = new StateCache<number>(3);
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    cache.set('c', entry(3));
    expect(cache.size).toBe(3);
    cache.set('d', entry(4));
    expect(cache.size).toBe(3);
    cache.set('e', entry(5));
    expect(cache.size).toBe(3);
    expect(held(cache, ['a', 'b', 'c', 'd', 'e'])).toEqual(['c', 'd', 'e']);
    expect(cache.get('e')).toEqual(entry(5));
  });

  it('get refreshes recency: the entry read last is evicted last', () => {
    const cache = new StateCache<number>(3);
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    cache.set('c', entry(3));
    expect(cache.get('a')).toEqual(entry(1));
    cache.set('d', entry(4)); // evicts b, the least recently used now
    expect(cache.get('b')).toBeUndefined();
    cache.set('e', entry(5)); // evicts c
    expect(held(cache, ['a', 'b', 'c', 'd', 'e'])).toEqual(['a', 'd', 'e']);
  });

  it('set on a held stream replaces its entry and refreshes it without growing', () => {
    const cache = new StateCache<number>(2);
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    cache.set('a', entry(10));
    expect(cache.size).toBe(2);
    cache.set('c', entry(3)); // evicts b: a was refreshed by the second set
    expect(held(cache, ['a', 'b', 'c'])).toEqual(['a', 'c']);
    expect(cache.get('a')).toEqual(entry(10));
  });

  it('a miss inserts nothing and changes no recency', () => {
    const cache = new StateCache<number>(2);
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    expect(cache.get('x')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.set('c', entry(3));
    expect(held(cache, ['a', 'b', 'c', 'x'])).toEqual(['b', 'c']);
  });

  it('capacity 1 keeps only the latest stream', () => {
    const cache = new StateCache<number>(1);
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    expect(cache.size).toBe(1);
    expect(held(cache, ['a', 'b'])).toEqual(['b']);
  });

  it('capacity 0 (or less) keeps nothing', () => {
    for (const capacity of [0, -1]) {
      const cache = new StateCache<number>(capacity);
      cache.set('a', entry(1));
      cache.set('a', entry(2));
      expect(cache.size).toBe(0);
      expect(cache.get('a')).toBeUndefined();
    }
  });

  it('delete forgets one stream', () => {
    const cache = new StateCache<number>(3);
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    cache.delete('a');
    cache.delete('missing');
    expect(cache.size).toBe(1);
    expect(held(cache, ['a', 'b'])).toEqual(['b']);
  });

  it('keeps null revisions (a stream known not to exist)', () => {
    const cache = new StateCache<string>(2);
    cache.set('a', { state: 'none', revision: null });
    expect(cache.get('a')).toEqual({ state: 'none', revision: null });
  });
});

describe('handleCommand with a state cache', () => {
  let database: TestSqlDatabase;
  let store: SqlEventStore;
  const now = '2026-11-22T10:00:00.000Z';

  const open = (id: string): TallyCommand => ({ type: 'OpenTally', tallyId: id, name: 'n', now });
  const inc = (id: string, by: number): TallyCommand => ({
    type: 'IncrementTally',
    tallyId: id,
    by,
    now,
  });
  const close = (id: string): TallyCommand => ({ type: 'CloseTally', tallyId: id, now });

  const tally = (
    command: TallyCommand,
    options: CommandContext<TallyState> = {},
    on: EventStore = store,
  ) => handleCommand(on, tallyStream(command.tallyId), tallyDecider, command, options);

  /** Opens a new tally (through `cache` when given) and returns its id. */
  const newTally = async (cache?: StateCache<TallyState>): Promise<string> => {
    const id = ulid();
    await tally(open(id), cache ? { cache } : {});
    return id;
  };

  const recorded = async (id: string) =>
    (await store.readStream(tallyStream(id))).map((e) => ({
      revision: e.revision,
      type: e.type,
      by: (e.data as { by?: number }).by,
    }));
  const fresh = async (id: string) => loadState(store, tallyStream(id), tallyDecider);

  beforeAll(async () => {
    database = await openTestSqlDatabase('state_cache');
    store = await SqlEventStore.open(database.db);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await store.close();
    await database.dispose();
  });

  /** A store on which another writer appends to the stream just before each of our appends. */
  const racingStore = (racesLeft: { n: number }, appends: { n: number }): EventStore =>
    new Proxy(store, {
      get(target, property, receiver) {
        if (property !== 'appendToStream')
          return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<EventStore['appendToStream']>) => {
          appends.n++;
          if (racesLeft.n > 0) {
            racesLeft.n--;
            await target.appendToStream(args[0], [
              {
                id: randomUUID(),
                type: 'TallyIncremented',
                data: { tallyId: 'x', by: 10, at: now },
              },
            ]);
          }
          return target.appendToStream(...args);
        };
      },
    });

  describe('hits and misses', () => {
    it('a miss reads the stream, then caches the state it appended', async () => {
      const cache = new StateCache<TallyState>(10);
      const reads = jest.spyOn(store, 'readStream');
      const id = await newTally(cache);
      expect(reads).toHaveBeenCalledTimes(1);
      expect(cache.get(tallyStream(id))).toEqual({
        state: { status: 'open', total: 0 },
        revision: 0n,
      });
    });

    it('a hit decides on the cached state and appends without reading', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      const reads = jest.spyOn(store, 'readStream');
      const first = await tally(inc(id, 2), { cache });
      const second = await tally(inc(id, 3), { cache, maxRetries: 0 });
      expect(reads).not.toHaveBeenCalled();
      expect(first.appended?.nextExpectedRevision).toBe(1n);
      expect(second.appended?.nextExpectedRevision).toBe(2n);
      expect(second.state).toEqual({ status: 'open', total: 5 });
      expect(cache.get(tallyStream(id))).toEqual({
        state: { status: 'open', total: 5 },
        revision: 2n,
      });
      expect(await recorded(id)).toEqual([
        { revision: 0n, type: 'TallyOpened', by: undefined },
        { revision: 1n, type: 'TallyIncremented', by: 2 },
        { revision: 2n, type: 'TallyIncremented', by: 3 },
      ]);
    });

    it('caches the state read for a refused command, so the next command need not read', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally();
      await tally(close(id));
      await expect(tally(inc(id, 1), { cache })).rejects.toBeInstanceOf(RuleViolatedError);
      expect(cache.get(tallyStream(id))).toEqual({
        state: { status: 'closed', total: 0 },
        revision: 1n,
      });
      const reads = jest.spyOn(store, 'readStream');
      // A no-op decided on the cached guess is re-checked against the stream: one read.
      const again = await tally(close(id), { cache });
      expect(again.appended).toBeNull();
      expect(reads).toHaveBeenCalledTimes(1);
    });

    it('a stream evicted from a small cache is read again; a held one is not', async () => {
      const cache = new StateCache<TallyState>(1);
      const x = await newTally(cache);
      const y = await newTally(cache); // evicts x
      const reads = jest.spyOn(store, 'readStream');
      await tally(inc(x, 1), { cache }); // miss: reads x, evicts y
      expect(reads).toHaveBeenCalledTimes(1);
      await tally(inc(x, 1), { cache }); // hit
      expect(reads).toHaveBeenCalledTimes(1);
      await tally(inc(y, 1), { cache }); // miss
      expect(reads).toHaveBeenCalledTimes(2);
      expect(reads.mock.calls.map((call) => call[0])).toEqual([tallyStream(x), tallyStream(y)]);
      expect((await fresh(x)).state).toEqual({ status: 'open', total: 2 });
      expect((await fresh(y)).state).toEqual({ status: 'open', total: 1 });
    });

    it('a cache of capacity 0 reads every time and still decides correctly', async () => {
      const cache = new StateCache<TallyState>(0);
      const id = await newTally(cache);
      const reads = jest.spyOn(store, 'readStream');
      await tally(inc(id, 4), { cache });
      await tally(inc(id, 5), { cache });
      expect(reads).toHaveBeenCalledTimes(2);
      expect(cache.size).toBe(0);
      expect((await fresh(id)).state).toEqual({ status: 'open', total: 9 });
    });
  });

  describe('stale entries', () => {
    it('an entry another writer moved on still appends the right event at the right revision', async () => {
      const mine = new StateCache<TallyState>(10);
      const theirs = new StateCache<TallyState>(10);
      const id = await newTally(mine);
      await tally(inc(id, 10)); // another writer without a cache
      await tally(inc(id, 100), { cache: theirs }); // and one with its own cache
      const reads = jest.spyOn(store, 'readStream');
      const outcome = await tally(inc(id, 1), { cache: mine, maxRetries: 0 });
      // No lost update: the command ran again on the whole stream.
      expect(outcome.state).toEqual({ status: 'open', total: 111 });
      expect(outcome.appended?.nextExpectedRevision).toBe(3n);
      expect(mine.get(tallyStream(id))).toEqual({
        state: { status: 'open', total: 111 },
        revision: 3n,
      });
      // The re-read continued from where the cached entry left off.
      expect(reads).toHaveBeenCalledTimes(1);
      expect(reads.mock.calls[0]![1]).toMatchObject({ fromRevision: 1n });
      expect(await recorded(id)).toEqual([
        { revision: 0n, type: 'TallyOpened', by: undefined },
        { revision: 1n, type: 'TallyIncremented', by: 10 },
        { revision: 2n, type: 'TallyIncremented', by: 100 },
        { revision: 3n, type: 'TallyIncremented', by: 1 },
      ]);
      expect((await fresh(id)).state).toEqual(outcome.state);
    });

    it('a refusal decided on a stale entry is re-decided on the fresh stream (cached refuses, fresh accepts)', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = ulid();
      await expect(tally(inc(id, 1), { cache })).rejects.toBeInstanceOf(RuleViolatedError);
      expect(cache.get(tallyStream(id))).toEqual({ state: { status: 'none' }, revision: null });
      await tally(open(id)); // another writer opens it
      const outcome = await tally(inc(id, 4), { cache });
      expect(outcome.state).toEqual({ status: 'open', total: 4 });
      expect(outcome.appended?.nextExpectedRevision).toBe(1n);
      expect(await recorded(id)).toEqual([
        { revision: 0n, type: 'TallyOpened', by: undefined },
        { revision: 1n, type: 'TallyIncremented', by: 4 },
      ]);
    });

    it('an acceptance decided on a stale entry that the fresh stream refuses is refused, and nothing is appended', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      await tally(close(id)); // another writer closes it
      await expect(tally(inc(id, 1), { cache })).rejects.toBeInstanceOf(RuleViolatedError);
      expect(await recorded(id)).toEqual([
        { revision: 0n, type: 'TallyOpened', by: undefined },
        { revision: 1n, type: 'TallyClosed', by: undefined },
      ]);
      expect(cache.get(tallyStream(id))).toEqual({
        state: { status: 'closed', total: 0 },
        revision: 1n,
      });
    });

    it('a no-op decided on a stale entry is re-checked and answers with the fresh state', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      await tally(inc(id, 5)); // another writer
      const reads = jest.spyOn(store, 'readStream');
      const outcome = await tally(open(id), { cache });
      expect(outcome.appended).toBeNull();
      expect(outcome.events).toEqual([]);
      expect(outcome.state).toEqual({ status: 'open', total: 5 });
      expect(reads).toHaveBeenCalledTimes(1);
      expect(await recorded(id)).toHaveLength(2);
    });
  });

  describe('assumeNew', () => {
    it('on a stream that does not exist appends at the start without reading', async () => {
      const id = ulid();
      const reads = jest.spyOn(store, 'readStream');
      const cache = new StateCache<TallyState>(10);
      const outcome = await tally(open(id), { assumeNew: true, cache });
      expect(reads).not.toHaveBeenCalled();
      expect(outcome.appended?.nextExpectedRevision).toBe(0n);
      expect(cache.get(tallyStream(id))).toEqual({
        state: { status: 'open', total: 0 },
        revision: 0n,
      });
      // Without a cache too.
      const other = ulid();
      await tally(open(other), { assumeNew: true });
      expect(reads).not.toHaveBeenCalled();
      expect(await recorded(other)).toHaveLength(1);
    });

    it('on an existing stream falls back to reading: an event the stream already holds becomes a no-op', async () => {
      const id = await newTally();
      await tally(inc(id, 3));
      const reads = jest.spyOn(store, 'readStream');
      // maxRetries 0: the wrong guess is not a conflict with a concurrent writer.
      const outcome = await tally(open(id), { assumeNew: true, maxRetries: 0 });
      expect(reads).toHaveBeenCalledTimes(1);
      expect(outcome.appended).toBeNull();
      expect(outcome.state).toEqual({ status: 'open', total: 3 });
      expect(await recorded(id)).toHaveLength(2);
    });

    it('on an existing stream re-decides a refusal of the initial state on what was read', async () => {
      const id = await newTally();
      await tally(inc(id, 3));
      const outcome = await tally(inc(id, 4), { assumeNew: true });
      expect(outcome.state).toEqual({ status: 'open', total: 7 });
      expect(outcome.appended?.nextExpectedRevision).toBe(2n);
    });

    it('on an existing stream still refuses what the stream refuses', async () => {
      const id = await newTally();
      await tally(close(id));
      await expect(tally(inc(id, 1), { assumeNew: true })).rejects.toBeInstanceOf(
        RuleViolatedError,
      );
      expect(await recorded(id)).toHaveLength(2);
    });

    it('a cached entry wins over assumeNew', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      const reads = jest.spyOn(store, 'readStream');
      const outcome = await tally(inc(id, 2), { cache, assumeNew: true });
      expect(reads).not.toHaveBeenCalled();
      expect(outcome.appended?.nextExpectedRevision).toBe(1n);
    });
  });

  describe('conflicts', () => {
    it('re-decides on the fresh stream after real conflicts that follow a cache hit', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      const appends = { n: 0 };
      const outcome = await tally(
        inc(id, 1),
        { cache, maxRetries: 3 },
        racingStore({ n: 2 }, appends),
      );
      expect(outcome.state).toEqual({ status: 'open', total: 21 });
      expect(outcome.appended?.nextExpectedRevision).toBe(3n);
      expect(appends.n).toBe(3);
      expect(cache.get(tallyStream(id))).toEqual({
        state: { status: 'open', total: 21 },
        revision: 3n,
      });
    });

    it('by default, eight writers racing on one stream all get through, cache or not', async () => {
      for (const cache of [undefined, new StateCache<TallyState>(10)]) {
        const id = await newTally(cache);
        const outcomes = await Promise.all(
          Array.from({ length: 8 }, () => tally(inc(id, 1), cache ? { cache } : {})),
        );
        expect(outcomes.every((outcome) => outcome.appended !== null)).toBe(true);
        expect((await fresh(id)).state).toEqual({ status: 'open', total: 8 });
      }
    });

    it('gives up after maxRetries conflicts with a concurrent writer, cache or not', async () => {
      for (const maxRetries of [0, 2]) {
        const cache = new StateCache<TallyState>(10);
        const id = await newTally(cache);
        const appends = { n: 0 };
        await expect(
          tally(inc(id, 1), { cache, maxRetries }, racingStore({ n: 50 }, appends)),
        ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        // The first append only tested the cached guess; each one after it was a real conflict.
        expect(appends.n).toBeGreaterThanOrEqual(maxRetries + 1);
        expect(appends.n).toBeLessThanOrEqual(maxRetries + 2);
        // Only the other writer's events were appended.
        const events = await recorded(id);
        expect(events.filter((e) => e.by === 1)).toEqual([]);
        expect(events).toHaveLength(1 + appends.n);

        const uncached = await newTally();
        const uncachedAppends = { n: 0 };
        await expect(
          tally(inc(uncached, 1), { maxRetries }, racingStore({ n: 50 }, uncachedAppends)),
        ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        expect(uncachedAppends.n).toBe(maxRetries + 1);
      }
    });

    it('many concurrent writers with and without caches lose no update', async () => {
      const id = await newTally();
      const caches = [new StateCache<TallyState>(10), new StateCache<TallyState>(10), undefined];
      // Warm the caches so that most commands start from a guess that goes stale.
      await tally(inc(id, 0), { cache: caches[0] });
      await tally(inc(id, 0), { cache: caches[1] });
      const amounts = Array.from({ length: 24 }, (_, i) => i + 1);
      const outcomes = await Promise.all(
        amounts.map((by, i) => {
          const cache = caches[i % 3];
          return tally(inc(id, by), { maxRetries: 100, ...(cache ? { cache } : {}) });
        }),
      );
      const total = amounts.reduce((a, b) => a + b, 0);
      expect((await fresh(id)).state).toEqual({ status: 'open', total });
      const events = await recorded(id);
      expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => BigInt(i)));
      expect(
        events
          .filter((e) => e.type === 'TallyIncremented' && e.by !== 0)
          .map((e) => e.by)
          .sort((a, b) => a! - b!),
      ).toEqual(amounts);
      const revisions = outcomes.map((o) => o.appended!.nextExpectedRevision);
      expect(new Set(revisions).size).toBe(amounts.length);
      // Each outcome's state is the stream folded up to its own append.
      for (const outcome of outcomes) {
        const upTo = events.filter((e) => e.revision <= outcome.appended!.nextExpectedRevision);
        expect(outcome.state).toEqual({
          status: 'open',
          total: upTo.reduce((sum, e) => sum + (e.by ?? 0), 0),
        });
      }
    });

    it('concurrent writers without retries: each fails with a conflict or appends exactly once', async () => {
      const id = await newTally();
      const cache = new StateCache<TallyState>(10);
      await tally(inc(id, 0), { cache });
      const amounts = Array.from({ length: 16 }, (_, i) => 2 ** i);
      const settled = await Promise.allSettled(
        amounts.map((by, i) => tally(inc(id, by), { maxRetries: 0, ...(i % 2 ? { cache } : {}) })),
      );
      for (const result of settled)
        if (result.status === 'rejected')
          expect(result.reason).toBeInstanceOf(WrongExpectedRevisionError);
      const succeeded = amounts.filter((_, i) => settled[i]!.status === 'fulfilled');
      expect(succeeded.length).toBeGreaterThan(0);
      expect((await fresh(id)).state).toEqual({
        status: 'open',
        total: succeeded.reduce((a, b) => a + b, 0),
      });
      expect(await recorded(id)).toHaveLength(2 + succeeded.length);
    });
  });

  describe('ifRevision', () => {
    it('a current cached entry at another revision gives StaleRevisionError, appending nothing', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      await tally(inc(id, 1), { cache });
      await expect(tally(inc(id, 1), { cache, ifRevision: 0n })).rejects.toMatchObject({
        constructor: StaleRevisionError,
        details: { expectedRevision: '0', currentRevision: '1' },
      });
      expect(await recorded(id)).toHaveLength(2);
    });

    it('a stale cached entry at the If-Match revision still gives StaleRevisionError with the real revision', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      await tally(inc(id, 1)); // another writer
      await expect(tally(inc(id, 1), { cache, ifRevision: 0n })).rejects.toMatchObject({
        constructor: StaleRevisionError,
        details: { expectedRevision: '0', currentRevision: '1' },
      });
      expect(await recorded(id)).toHaveLength(2);
    });

    it('a stale cached entry behind an If-Match revision that is current proceeds', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      await tally(inc(id, 6)); // another writer
      const outcome = await tally(inc(id, 1), { cache, ifRevision: 1n });
      expect(outcome.state).toEqual({ status: 'open', total: 7 });
      expect(outcome.appended?.nextExpectedRevision).toBe(2n);
    });

    it('a cached "no stream" refusal does not hide an If-Match revision the stream now has', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = ulid();
      await expect(tally(inc(id, 1), { cache })).rejects.toBeInstanceOf(RuleViolatedError);
      await tally(open(id));
      const outcome = await tally(inc(id, 2), { cache, ifRevision: 0n });
      expect(outcome.appended?.nextExpectedRevision).toBe(1n);
    });

    it('a stale cached entry with a refusal at the If-Match revision answers StaleRevisionError', async () => {
      const cache = new StateCache<TallyState>(10);
      const id = await newTally(cache);
      await tally(close(id));
      await tally(open(id)); // a no-op: the stream stays at revision 1
      // Cached: open at 0 (accepts); fresh: closed at 1. If-Match 0 is stale.
      await expect(tally(inc(id, 1), { cache, ifRevision: 0n })).rejects.toBeInstanceOf(
        StaleRevisionError,
      );
      // If-Match 1 is current: the fresh refusal is the answer.
      await expect(tally(inc(id, 1), { cache, ifRevision: 1n })).rejects.toBeInstanceOf(
        RuleViolatedError,
      );
    });
  });

  describe('with the enrolment decider', () => {
    const batch: BatchFacts = {
      batchId: 'cache-batch',
      courseId: 'cache-course',
      organisationId: 'org-1',
      createdFor: [],
      createdBy: 'creator',
      mentors: ['mentor'],
      invitees: [],
      enrollmentType: 'open',
      startsAt: '2026-01-01T00:00:00.000Z',
      endsAt: null,
      enrollmentEndsAt: null,
      certificateCriteria: { minCompletionPercent: 100, minScorePercent: null },
    };
    const course: CourseTracking = {
      courseId: batch.courseId,
      hierarchyVersion: 1,
      leaves: new Map([
        ['c1', { kind: 'content', optional: false }],
        ['c2', { kind: 'content', optional: false }],
      ]),
      requiredLeafIds: ['c1', 'c2'],
      units: [],
      assessmentIds: [],
    };
    const mentor: Actor = { userId: 'mentor', organisationId: 'org-1', roles: ['COURSE_MENTOR'] };
    const learner = (userId: string): Actor => ({
      userId,
      organisationId: 'org-1',
      roles: ['LEARNER'],
    });
    const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 9, minute));
    const base = (userId: string, actor: Actor, minute: number) => ({
      actor,
      now: at(minute),
      batchId: batch.batchId,
      batch,
      userId,
    });
    const enrol = (userId: string, minute: number): EnrolmentCommand => ({
      ...base(userId, learner(userId), minute),
      type: 'Enrol',
      learner: { organisationId: 'org-1' },
      course,
    });
    const unenrol = (userId: string, minute: number): EnrolmentCommand => ({
      ...base(userId, mentor, minute),
      type: 'Unenrol',
    });
    const progress = (userId: string, minute: number, contentIds: string[]): EnrolmentCommand => ({
      ...base(userId, learner(userId), minute),
      type: 'RecordProgress',
      course,
      policy: 'best',
      contents: contentIds.map((contentId) => ({
        contentId,
        status: 2,
        lastAccessTime: at(minute).toISOString(),
      })),
    });
    const certificate = (userId: string, minute: number): EnrolmentCommand => ({
      ...base(userId, mentor, minute),
      type: 'IssueCertificate',
      course,
      certificateId: `cert-${userId}`,
      recipient: 'known',
      policy: 'best',
    });
    const run = (
      command: EnrolmentCommand,
      options: { cache?: StateCache<EnrolmentState>; assumeNew?: boolean } = {},
    ) =>
      handleCommand(
        store,
        enrolmentStream(batch.batchId, command.userId),
        enrolmentDecider,
        command,
        options,
      );
    const types = async (userId: string) =>
      (await store.readStream(enrolmentStream(batch.batchId, userId))).map((e) => e.type);

    it('a stale "already enrolled" is re-decided: re-enrolment after another instance unenrolled', async () => {
      const userId = `u-${ulid()}`;
      const mine = new StateCache<EnrolmentState>(10);
      const theirs = new StateCache<EnrolmentState>(10);
      await run(enrol(userId, 0), { cache: mine });
      await run(unenrol(userId, 1), { cache: theirs });
      const outcome = await run(enrol(userId, 2), { cache: mine });
      expect(outcome.events).toMatchObject([{ type: 'UserEnrolled', data: { revived: true } }]);
      expect(outcome.appended?.nextExpectedRevision).toBe(2n);
      expect(outcome.state).toMatchObject({ exists: true, active: true });
      expect(await types(userId)).toEqual(['UserEnrolled', 'UserUnenrolled', 'UserEnrolled']);
    });

    it('progress accepted on a stale entry is refused once the unenrolment is read', async () => {
      const userId = `u-${ulid()}`;
      const mine = new StateCache<EnrolmentState>(10);
      await run(enrol(userId, 0), { cache: mine });
      await run(unenrol(userId, 1));
      await expect(run(progress(userId, 2, ['c1']), { cache: mine })).rejects.toMatchObject({
        constructor: ConflictError,
        code: 'USER_NOT_ENROLLED_COURSE',
      });
      expect(await types(userId)).toEqual(['UserEnrolled', 'UserUnenrolled']);
    });

    it('a stale "nothing to issue" is re-checked: the certificate another instance made due is issued', async () => {
      const userId = `u-${ulid()}`;
      const mine = new StateCache<EnrolmentState>(10);
      await run(enrol(userId, 0), { cache: mine });
      const early = await run(certificate(userId, 1), { cache: mine });
      expect(early.appended).toBeNull();
      await run(progress(userId, 2, ['c1', 'c2'])); // completes the course elsewhere
      const outcome = await run(certificate(userId, 3), { cache: mine });
      expect(outcome.events.map((e) => e.type)).toEqual(['CertificateIssued']);
      expect(outcome.appended?.nextExpectedRevision).toBe(3n);
      expect(await types(userId)).toEqual([
        'UserEnrolled',
        'ContentProgressRecorded',
        'CourseCompleted',
        'CertificateIssued',
      ]);
    });

    it('assumeNew enrolment: new streams are not read; an active enrolment is refused; an ended one revived', async () => {
      const fresh = `u-${ulid()}`;
      const reads = jest.spyOn(store, 'readStream');
      await run(enrol(fresh, 0), { assumeNew: true });
      expect(reads).not.toHaveBeenCalled();

      await expect(run(enrol(fresh, 1), { assumeNew: true })).rejects.toMatchObject({
        constructor: ConflictError,
        code: 'USER_ALREADY_ENROLLED_COURSE',
      });
      expect(reads).toHaveBeenCalledTimes(1);

      await run(unenrol(fresh, 2));
      const revived = await run(enrol(fresh, 3), { assumeNew: true });
      expect(revived.events).toMatchObject([{ type: 'UserEnrolled', data: { revived: true } }]);
      expect(await types(fresh)).toEqual(['UserEnrolled', 'UserUnenrolled', 'UserEnrolled']);
    });

    it('with If-Match, a caller who may not act learns that rather than the revision, from a stale cache too', async () => {
      const userId = `u-${ulid()}`;
      const cache = new StateCache<EnrolmentState>(10);
      await run(enrol(userId, 0), { cache });
      await run(progress(userId, 1, ['c1'])); // another instance: the cache is stale
      const stranger: Actor = { userId: 'someone', organisationId: 'org-1', roles: ['LEARNER'] };
      const attempt = { ...unenrol(userId, 2), actor: stranger };
      for (const options of [{ cache }, {}])
        await expect(
          handleCommand(store, enrolmentStream(batch.batchId, userId), enrolmentDecider, attempt, {
            ...options,
            ifRevision: 0n,
          }),
        ).rejects.toMatchObject({ kind: 'forbidden' });
      // The mentor with the stale revision learns it is stale.
      await expect(
        handleCommand(
          store,
          enrolmentStream(batch.batchId, userId),
          enrolmentDecider,
          unenrol(userId, 3),
          { cache, ifRevision: 0n },
        ),
      ).rejects.toBeInstanceOf(StaleRevisionError);
      expect(await types(userId)).toEqual(['UserEnrolled', 'ContentProgressRecorded']);
    });

    it('a forbidden command is refused whatever the cache holds', async () => {
      const userId = `u-${ulid()}`;
      const cache = new StateCache<EnrolmentState>(10);
      await run(enrol(userId, 0), { cache });
      const stranger: Actor = { userId: 'someone', organisationId: 'org-1', roles: ['LEARNER'] };
      await expect(
        run({ ...unenrol(userId, 1), actor: stranger }, { cache }),
      ).rejects.toMatchObject({ kind: 'forbidden' });
      expect(await types(userId)).toEqual(['UserEnrolled']);
    });
  });
});
