import { loadConfig } from '../../src/config/hub-config';
import { failedConversion, RenderOutcome } from '../../src/subscriptions/template-conversion';
import { FairQueue, Quarantine } from '../../src/subscriptions/template-scheduling';
import { PageBudget } from '../../src/subscriptions/template-renderer';

describe('FairQueue', () => {
  const takeAll = (queue: FairQueue<string>, mayTake: (caller: string) => boolean = () => true) => {
    const taken: string[] = [];
    for (let item = queue.take(mayTake); item !== undefined; item = queue.take(mayTake))
      taken.push(item);
    return taken;
  };

  it('serves callers in turns, one item each, in the order they came', () => {
    const queue = new FairQueue<string>();
    for (const item of ['a1', 'a2', 'a3', 'a4']) queue.push('a', item);
    queue.push('b', 'b1');
    queue.push('c', 'c1');
    queue.push('c', 'c2');
    expect(queue.size).toBe(7);
    expect(takeAll(queue)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3', 'a4']);
    expect(queue.size).toBe(0);
  });

  it('skips callers that may not take one now, keeping their place', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    queue.push('a', 'a2');
    expect(takeAll(queue, (caller) => caller !== 'a')).toEqual(['b1']);
    expect(takeAll(queue)).toEqual(['a1', 'a2']);
  });

  it('removes a waiting item, and drains', () => {
    const queue = new FairQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    queue.remove('a', 'a1');
    queue.remove('a', 'gone');
    queue.remove('c', 'c1');
    expect(queue.size).toBe(2);
    expect(queue.drain()).toEqual(['a2', 'b1']);
    expect(queue.size).toBe(0);
    expect(queue.take(() => true)).toBeUndefined();
  });
});

describe('Quarantine', () => {
  const overTime: RenderOutcome = failedConversion('the template went over its budget', 'time');
  const outOfMemory: RenderOutcome = failedConversion('the template ran out of memory', 'memory');
  const tooMany: RenderOutcome = {
    kind: 'failed',
    conversionError: 'the template went over its budget of 3 iterations',
    budget: 'iterations',
  };
  const fine: RenderOutcome = { kind: 'rendered', output: '{}' };
  let now: number;
  const quarantine = (ms = 60_000) => new Quarantine(ms, () => now);
  beforeEach(() => (now = 1_000_000));

  it('sets a template aside after three overruns in a row, for its duration', () => {
    const book = quarantine();
    book.record('T', overTime);
    book.record('T', outOfMemory);
    expect(book.heldUntil('T')).toBeNull();
    book.record('T', overTime);
    expect(book.heldUntil('T')).toBe(1_060_000);
    expect(book.heldUntil('other')).toBeNull();
    now = 1_059_999;
    expect(book.heldUntil('T')).toBe(1_060_000);
    now = 1_060_000;
    expect(book.heldUntil('T')).toBeNull();
  });

  it('starts counting again after a render that did not overrun', () => {
    const book = quarantine();
    book.record('T', overTime);
    book.record('T', overTime);
    book.record('T', fine);
    book.record('T', overTime);
    book.record('T', tooMany);
    book.record('T', overTime);
    book.record('T', overTime);
    expect(book.heldUntil('T')).toBeNull();
  });

  it('sets nothing aside when its duration is 0', () => {
    const book = quarantine(0);
    for (let i = 0; i < 5; i++) book.record('T', overTime);
    expect(book.heldUntil('T')).toBeNull();
  });
});

describe('PageBudget', () => {
  it('is spent once its time or its characters are', () => {
    const byChars = new PageBudget(1_000, 100);
    byChars.charge(5, 99);
    expect(byChars.spent).toBe(false);
    byChars.charge(5, 1);
    expect(byChars.spent).toBe(true);
    const byTime = new PageBudget(1_000, 100);
    byTime.charge(999.5, 0);
    expect(byTime.spent).toBe(false);
    byTime.charge(0.5, 0);
    expect(byTime.spent).toBe(true);
  });
});

describe('HUB_TEMPLATE_* settings', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as { problems: string[] }).problems;
    }
  };

  it('default to 100 ms, 256 KiB and 20,000 iterations an item; 1 s and 4 MiB a page', () => {
    expect(loadConfig({}).clearinghouse.templates).toEqual({
      itemTimeoutMs: 100,
      itemMaxChars: 262_144,
      itemMaxIterations: 20_000,
      pageTimeoutMs: 1_000,
      pageMaxChars: 4_194_304,
      workers: 2,
      workerMemoryMb: 128,
      quarantineMs: 60_000,
    });
  });

  it('are read from the environment', () => {
    expect(
      loadConfig({
        HUB_TEMPLATE_ITEM_TIMEOUT_MS: '50',
        HUB_TEMPLATE_ITEM_MAX_CHARS: '65536',
        HUB_TEMPLATE_ITEM_MAX_ITERATIONS: '5000',
        HUB_TEMPLATE_PAGE_TIMEOUT_MS: '500',
        HUB_TEMPLATE_PAGE_MAX_CHARS: '1048576',
        HUB_TEMPLATE_WORKERS: '4',
        HUB_TEMPLATE_WORKER_MEMORY_MB: '256',
        HUB_TEMPLATE_QUARANTINE_MS: '0',
      }).clearinghouse.templates,
    ).toEqual({
      itemTimeoutMs: 50,
      itemMaxChars: 65_536,
      itemMaxIterations: 5_000,
      pageTimeoutMs: 500,
      pageMaxChars: 1_048_576,
      workers: 4,
      workerMemoryMb: 256,
      quarantineMs: 0,
    });
  });

  it('refuse values out of range, and a page budget smaller than an item’s', () => {
    expect(
      problemsOf({
        HUB_TEMPLATE_ITEM_TIMEOUT_MS: '5',
        HUB_TEMPLATE_WORKERS: '0',
        HUB_TEMPLATE_ITEM_MAX_ITERATIONS: 'many',
      }),
    ).toEqual([
      'HUB_TEMPLATE_ITEM_TIMEOUT_MS must be a whole number from 10 to 60000, got "5"',
      'HUB_TEMPLATE_ITEM_MAX_ITERATIONS must be a whole number from 1 to 10000000, got "many"',
      'HUB_TEMPLATE_WORKERS must be a whole number from 1 to 64, got "0"',
    ]);
    expect(
      problemsOf({ HUB_TEMPLATE_ITEM_TIMEOUT_MS: '2000', HUB_TEMPLATE_PAGE_MAX_CHARS: '2048' }),
    ).toEqual([
      'HUB_TEMPLATE_PAGE_TIMEOUT_MS must not be less than HUB_TEMPLATE_ITEM_TIMEOUT_MS',
      'HUB_TEMPLATE_PAGE_MAX_CHARS must not be less than HUB_TEMPLATE_ITEM_MAX_CHARS',
    ]);
  });
});
