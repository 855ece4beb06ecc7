import fc from 'fast-check';
import { retryDelayMs } from '../../src/lms/retry-delay';

const policy = { baseMs: 1_000, maxMs: 60_000 };

describe('retry delay', () => {
  it('doubles from the base, with half of each delay random, and stops growing at the cap', () => {
    expect(retryDelayMs(1, null, policy, () => 0)).toBe(500);
    expect(retryDelayMs(1, null, policy, () => 1)).toBe(1_000);
    expect(retryDelayMs(3, null, policy, () => 0)).toBe(2_000);
    expect(retryDelayMs(3, null, policy, () => 1)).toBe(4_000);
    expect(retryDelayMs(30, null, policy, () => 1)).toBe(60_000);
  });

  it('always lies between half and all of the capped exponential', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r) => {
          const full = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
          const delay = retryDelayMs(attempt, null, policy, () => r);
          return delay >= Math.floor(full / 2) && delay <= full;
        },
      ),
    );
  });

  it('waits as long as the LMS asked with Retry-After', () => {
    expect(retryDelayMs(1, 30_000, policy, () => 0)).toBe(30_000);
    expect(retryDelayMs(8, 0, policy, () => 1)).toBe(0);
  });
});
