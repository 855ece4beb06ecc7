import { getRandomValues } from 'node:crypto';
import { ulid } from 'ulid';

// Random bytes drawn from the system's CSPRNG a few thousand at a time: the ulid package's own
// source asks it for one byte, in a buffer of its own, per character of every id.
const randomPool = new Uint8Array(4_096);
let randomOffset = randomPool.length;
const pooledRandom = (): number => {
  if (randomOffset === randomPool.length) {
    getRandomValues(randomPool);
    randomOffset = 0;
  }
  return randomPool[randomOffset++]! / 256;
};

/** A new ULID (time-ordered, 80 random bits): the hub's generated ids and request ids. */
export const newUlid = (): string => ulid(undefined, pooledRandom);
