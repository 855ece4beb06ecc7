import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryRoom, OldSpace, ReclaimableMemory } from '../../src/jobs/memory-room';
import { eventually } from '../support/eventually';

const MIB = 1024 * 1024;

/** A holder that writes down what it was asked, in order, into `log`. */
const holder = (name: string, log: string[]): ReclaimableMemory => ({
  shrink: () => log.push(`${name} shrinks`),
  restore: () => log.push(`${name} restores`),
});

/** A job that runs until `finish` is called. */
const openJob = () => {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { finish: () => finish(), work: () => done };
};

/**
 * An old space of `committedMib` of which `liveMib` is used, where each collection hands back
 * `gainMib` of the rest (V8 moves part of the fragmented pages per collection).
 */
const fragmentedHeap = (committedMib: number, liveMib: number, gainMib: number) => {
  let committed = committedMib * MIB;
  const heap = {
    collections: 0,
    collect: () => {
      heap.collections += 1;
      committed = Math.max(liveMib * MIB, committed - gainMib * MIB);
    },
    oldSpace: (): OldSpace => ({ committed, slack: committed - liveMib * MIB }),
  };
  return heap;
};

describe('MemoryRoom', () => {
  it('shrinks every holder and collects before the job runs; restores them when it ends', async () => {
    const log: string[] = [];
    const room = new MemoryRoom({
      collect: () => log.push('collect'),
      oldSpace: () => ({ committed: 0, slack: 0 }),
    });
    room.register(holder('states', log));
    room.register(holder('views', log));
    const job = openJob();
    const running = room.during(async () => {
      log.push('job runs');
      await job.work();
    });
    await eventually(async () => expect(log).toContain('job runs'));
    expect(log).toEqual(['states shrinks', 'views shrinks', 'collect', 'job runs']);
    expect(room.needed).toBe(true);
    job.finish();
    await running;
    expect(log.slice(4)).toEqual(['states restores', 'views restores']);
    expect(room.needed).toBe(false);
  });

  it('keeps the room while any of several overlapping jobs runs', async () => {
    const log: string[] = [];
    const room = new MemoryRoom({ oldSpace: () => ({ committed: 0, slack: 0 }) });
    room.register(holder('states', log));
    const first = openJob();
    const second = openJob();
    const running = [room.during(first.work), room.during(second.work)];
    first.finish();
    await running[0];
    expect(log).toEqual(['states shrinks']);
    second.finish();
    await running[1];
    expect(log).toEqual(['states shrinks', 'states restores']);
  });

  it('collects in steps until the old space is compact, not once', async () => {
    const heap = fragmentedHeap(300, 60, 20);
    const room = new MemoryRoom({ collect: heap.collect, oldSpace: heap.oldSpace });
    await room.compact('a test');
    // 300 → 60 MiB at 20 a collection: 12 collections, the last leaving no slack.
    expect(heap.collections).toBe(12);
    expect(heap.oldSpace().slack).toBe(0);
  });

  it('stops when a collection no longer gains much, and does nothing when little is unused', async () => {
    const stuck = fragmentedHeap(300, 60, 1);
    await new MemoryRoom({ collect: stuck.collect, oldSpace: stuck.oldSpace }).compact('a test');
    // The first collection is not judged by its gain (it frees objects, rarely pages).
    expect(stuck.collections).toBe(2);
    const compact = fragmentedHeap(100, 80, 20);
    await new MemoryRoom({ collect: compact.collect, oldSpace: compact.oldSpace }).compact(
      'a test',
    );
    expect(compact.collections).toBe(0);
  });

  it('restores the holders when the job fails, and passes its error on', async () => {
    const log: string[] = [];
    const room = new MemoryRoom({});
    room.register(holder('states', log));
    await expect(
      room.during(async () => {
        throw new Error('report failed');
      }),
    ).rejects.toThrow('report failed');
    expect(log).toEqual(['states shrinks', 'states restores']);
  });

  it('shrinks a holder that registers while room is needed, and forgets one taken off', async () => {
    const log: string[] = [];
    const room = new MemoryRoom({});
    const job = openJob();
    const running = room.during(job.work);
    const takeOff = room.register(holder('late', log));
    expect(log).toEqual(['late shrinks']);
    takeOff();
    job.finish();
    await running;
    expect(log).toEqual(['late shrinks']);
  });

  it('trims the caches of a calm hub whose old space grew and compacts it; leaves a small one alone', async () => {
    const loose = fragmentedHeap(300, 60, 40);
    const small = fragmentedHeap(40, 35, 5);
    const rooms = [loose, small].map(
      (heap) => new MemoryRoom({ collect: heap.collect, oldSpace: heap.oldSpace, calmCheckMs: 20 }),
    );
    const trimmed: string[] = [];
    const untouched: string[] = [];
    rooms[0]!.register(holder('states', trimmed));
    rooms[1]!.register(holder('states', untouched));
    for (const room of rooms) room.onApplicationBootstrap();
    try {
      // This test process idles meanwhile: its event loop is calm.
      await eventually(async () => expect(loose.oldSpace().slack).toBe(0), { timeoutMs: 5_000 });
      // Trimmed once: its bound is back at once, and it refills as commands come.
      expect(trimmed).toEqual(['states shrinks', 'states restores']);
      await sleep(200);
      expect(small.collections).toBe(0);
      expect(untouched).toEqual([]);
    } finally {
      for (const room of rooms) room.onModuleDestroy();
    }
  });
});
