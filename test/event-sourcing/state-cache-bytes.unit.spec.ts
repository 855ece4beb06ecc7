import fc from 'fast-check';
import { DEFAULT_STATE_CACHE_MB, loadConfig } from '../../src/config/hub-config';
import { EnrolmentState } from '../../src/enrolments/enrolment.decider';
import { estimateEnrolmentBytes } from '../../src/enrolments/enrolment-writer';
import { StateCache, StreamState } from '../../src/event-sourcing/state-cache';

/** States that are their own size, so a test says exactly what each entry weighs. */
const bySize = (capacity: number, maxBytes: number) =>
  new StateCache<number>(capacity, { maxBytes, sizeOf: (state) => state });
const entry = (bytes: number): StreamState<number> => ({ state: bytes, revision: 0n });
/** Which of `keys` the cache holds (probing refreshes recency, so only probe at the end). */
const held = (cache: StateCache<number>, keys: readonly string[]) =>
  keys.filter((key) => cache.get(key) !== undefined);

describe('StateCache with a byte budget', () => {
  it('evicts the least recently used until the estimated bytes fit', () => {
    const cache = bySize(100, 1_000);
    cache.set('a', entry(400));
    cache.set('b', entry(400));
    expect(cache.bytes).toBe(800);
    cache.set('c', entry(300)); // 1,100: a goes
    expect(held(cache, ['a', 'b', 'c'])).toEqual(['b', 'c']);
    expect(cache.bytes).toBe(700);
  });

  it('evicts as many small entries as one large one needs, oldest first', () => {
    const cache = bySize(100, 1_000);
    for (const key of ['a', 'b', 'c', 'd', 'e']) cache.set(key, entry(200));
    cache.get('a'); // a is now the most recently used
    cache.set('big', entry(700)); // 1,700: b, c, d and e go
    expect(held(cache, ['a', 'b', 'c', 'd', 'e', 'big'])).toEqual(['a', 'big']);
    expect(cache.bytes).toBe(900);
  });

  it('replacing an entry counts its new size, not both', () => {
    const cache = bySize(100, 1_000);
    cache.set('a', entry(600));
    cache.set('a', entry(900));
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(900);
    cache.delete('a');
    expect(cache.bytes).toBe(0);
  });

  it('keeps no entry larger than the whole budget, nor anything with a budget of 0', () => {
    const cache = bySize(100, 1_000);
    cache.set('a', entry(100));
    cache.set('huge', entry(1_001));
    expect(cache.size).toBe(0);
    const none = bySize(100, 0);
    none.set('a', entry(1));
    expect(none.size).toBe(0);
  });

  it('still bounds the count when the entries are small', () => {
    const cache = bySize(2, 1_000_000);
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(1));
    expect(held(cache, ['a', 'b', 'c'])).toEqual(['b', 'c']);
  });

  type Op =
    | { kind: 'set'; key: string; bytes: number }
    | { kind: 'get'; key: string }
    | { kind: 'delete'; key: string };
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key, bytes: fc.integer({ min: 0, max: 600 }) }),
    fc.record({ kind: fc.constant('get' as const), key }),
    fc.record({ kind: fc.constant('delete' as const), key }),
  );

  /** The specification: a list in order of use, trimmed from its least recent end. */
  const applyToModel = (model: [string, number][], o: Op, capacity: number, maxBytes: number) => {
    const at = model.findIndex(([k]) => k === o.key);
    const found = at < 0 ? undefined : model.splice(at, 1)[0];
    if (o.kind === 'get' && found) model.push(found);
    if (o.kind === 'set' && capacity > 0) model.push([o.key, o.bytes]);
    const total = () => model.reduce((sum, [, bytes]) => sum + bytes, 0);
    while (model.length > capacity || total() > maxBytes) model.shift();
  };

  it('holds what an LRU list trimmed to both bounds holds, after any sequence', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 1_500 }),
        fc.array(op, { maxLength: 60 }),
        (capacity, maxBytes, ops) => {
          const cache = bySize(capacity, maxBytes);
          const model: [string, number][] = [];
          for (const o of ops) {
            if (o.kind === 'set') cache.set(o.key, entry(o.bytes));
            else if (o.kind === 'get') cache.get(o.key);
            else cache.delete(o.key);
            applyToModel(model, o, capacity, maxBytes);
            expect(cache.size).toBe(model.length);
            expect(cache.bytes).toBe(model.reduce((sum, [, bytes]) => sum + bytes, 0));
            expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
            expect(cache.size).toBeLessThanOrEqual(capacity);
          }
          const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
          expect(held(cache, keys).sort()).toEqual(model.map(([k]) => k).sort());
        },
      ),
    );
  });
});

describe('estimateEnrolmentBytes', () => {
  const enrolment = (contents: number, attempts: number, units = 10): EnrolmentState => ({
    exists: true,
    active: true,
    batchId: 'batch-1',
    courseId: 'course-1',
    userId: 'learner-000001',
    enrolledAt: '2026-12-04T10:00:00.000Z',
    contents: Object.fromEntries(
      Array.from({ length: contents }, (_, i) => [
        `content-${i}`,
        { status: 2, lastAccessTime: '2026-12-04T10:00:00.000Z' },
      ]),
    ),
    progress: {
      completedCount: contents,
      requiredCount: 30,
      percent: 0,
      units: Object.fromEntries(Array.from({ length: units }, (_, i) => [`unit-${i}`, 0])),
    },
    completedOn: null,
    attempts: Object.fromEntries(
      Array.from({ length: attempts }, (_, i) => [
        `quiz-${i}`,
        { [`attempt-${i}`]: { score: 1, maxScore: 10, submittedAt: 'x', digest: 'y' } },
      ]),
    ),
    certificate: null,
    lastContentId: null,
    lastAccessTime: null,
  });

  it('adds up the measured sizes of what the enrolment holds', () => {
    expect(estimateEnrolmentBytes(enrolment(0, 0))).toBe(730);
    expect(estimateEnrolmentBytes(enrolment(15, 0))).toBe(2_080);
    expect(estimateEnrolmentBytes(enrolment(35, 5))).toBe(7_630);
    expect(estimateEnrolmentBytes({ exists: false })).toBe(650);
  });

  it('grows with every content, attempt and unit the enrolment holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 12 }),
        (contents, attempts, units) => {
          const bytes = estimateEnrolmentBytes(enrolment(contents, attempts, units));
          expect(estimateEnrolmentBytes(enrolment(contents + 1, attempts, units))).toBeGreaterThan(
            bytes,
          );
          expect(estimateEnrolmentBytes(enrolment(contents, attempts + 1, units))).toBeGreaterThan(
            bytes,
          );
          expect(estimateEnrolmentBytes(enrolment(contents, attempts, units + 1))).toBeGreaterThan(
            bytes,
          );
        },
      ),
    );
  });
});

describe('HUB_STATE_CACHE_MB', () => {
  it(`defaults to ${DEFAULT_STATE_CACHE_MB} and takes a whole number of MiB`, () => {
    expect(loadConfig({}).stateCacheMb).toBe(DEFAULT_STATE_CACHE_MB);
    expect(loadConfig({ HUB_STATE_CACHE_MB: '16' }).stateCacheMb).toBe(16);
    expect(() => loadConfig({ HUB_STATE_CACHE_MB: '1.5' })).toThrow(/HUB_STATE_CACHE_MB/);
  });

  it('keeps 4 MiB while a report runs unless HUB_STATE_CACHE_REPORT_MB says otherwise', () => {
    expect(loadConfig({}).stateCacheReportMb).toBe(4);
    expect(loadConfig({ HUB_STATE_CACHE_REPORT_MB: '0' }).stateCacheReportMb).toBe(0);
    expect(() => loadConfig({ HUB_STATE_CACHE_REPORT_MB: '-1' })).toThrow(
      /HUB_STATE_CACHE_REPORT_MB/,
    );
  });
});

describe('StateCache.limitBytes', () => {
  it('evicts the least recently used down to a lower bound at once, and refills after the bound is lifted', () => {
    const cache = bySize(100, 1_000);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, entry(200));
    cache.limitBytes(450);
    expect(held(cache, ['a', 'b', 'c', 'd'])).toEqual(['c', 'd']);
    cache.set('e', entry(200)); // the lower bound holds for new entries too
    expect(cache.bytes).toBe(400);
    cache.limitBytes(undefined); // back to the budget's 1,000
    for (const key of ['f', 'g', 'h']) cache.set(key, entry(200));
    expect(cache.bytes).toBe(1_000);
  });
});
