import { decodeTime } from 'ulid';
import { newUlid } from '../../src/ids/ulid';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('newUlid', () => {
  it('is a ULID of the current time, never the same twice', () => {
    const before = Date.now();
    const ids = Array.from({ length: 10_000 }, () => newUlid());
    const after = Date.now();
    for (const id of ids) {
      expect(id).toMatch(ULID);
      expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
      expect(decodeTime(id)).toBeLessThanOrEqual(after);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('draws every character of the random part evenly, across refills of its random pool', () => {
    // 10,000 ids use 160,000 random characters: dozens of refills of the 4,096-byte pool.
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++)
      for (const char of newUlid().slice(10)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(32);
    // Each of the 32 characters is expected 5,000 times; 4,500 is more than 7 standard deviations off.
    for (const count of counts.values()) expect(Math.abs(count - 5_000)).toBeLessThan(500);
  });
});
