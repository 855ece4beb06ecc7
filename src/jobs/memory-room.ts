import { getHeapSpaceStatistics } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

/** Memory a cache can give back while a job needs room, and take again afterwards. */
export interface ReclaimableMemory {
  /** Drops down to what it may keep while room is needed. */
  shrink(): void;
  /** Back to its usual bounds; it refills as it is used. */
  restore(): void;
}

/** The old space V8 holds beyond what it uses, in bytes; and what it holds in all. */
export interface OldSpace {
  committed: number;
  slack: number;
}

export type Collect = () => void;

export interface MemoryRoomOptions {
  /** A full collection (`gc` under --expose-gc); without one the caches still shrink. */
  collect?: Collect;
  /** How the old space stands (V8's statistics unless a test says otherwise). */
  oldSpace?: () => OldSpace;
  /** How often the hub looks whether it is calm enough to compact; 0: never. */
  calmCheckMs?: number;
}

const MIB = 1024 * 1024;
/** Compaction is worth its pauses only when this much old space sits unused. */
const SLACK_WORTH_COMPACTING = 48 * MIB;
/** Each collection moves a part of the fragmented pages; a step gaining less than this ends it. */
const MIN_STEP_GAIN = 4 * MIB;
const MAX_STEPS = 16;
/** Between steps V8's unmapper hands the freed pages back, and the event loop runs. */
const STEP_PAUSE_MS = 50;
/** Event-loop utilisation under which the hub counts as calm (its own polling stays below). */
const CALM_UTILISATION = 0.05;
/** Calm checks in a row before compacting, and the least time between two compactions. */
const CALM_CHECKS = 2;
const MIN_MS_BETWEEN_CALM_COMPACTIONS = 60_000;

const v8OldSpace = (): OldSpace => {
  const old = getHeapSpaceStatistics().find((space) => space.space_name === 'old_space');
  if (!old) return { committed: 0, slack: 0 };
  return { committed: old.space_size, slack: old.space_size - old.space_used_size };
};

/** `gc`, when Node runs with --expose-gc (as `npm start` does). */
const exposedCollector = (): Collect | undefined => {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as Collect) : undefined;
};

/**
 * Gives memory back after load, which V8 does not do by itself here. A hub that has just taken a
 * large load keeps the old space V8 grew for it, fragmented: a full collection frees the objects
 * but keeps every page that still holds one, and V8's memory reducer waits for an idle heap,
 * which the hub's own polling never gives it (measured: 436 MiB before a report on the hub that
 * did the set-up, against 157 MiB on one started for it; BENCHMARKS.md). Repeated collections
 * each move part of the fragmented pages, so a few in a row, with pauses, compact the old space
 * without the jump in memory that moving it all at once costs.
 *
 * - While a memory-heavy job (a report) runs, the caches that registered shrink to what they may
 *   keep meanwhile, and the old space is compacted when the job starts.
 * - When the hub has been calm for a while (its event loop nearly idle) and its old space grew
 *   since it was last compacted, the caches are trimmed the same way (their bounds stay; they
 *   refill as commands come) and the old space is compacted.
 *
 * Compaction needs `gc` (--expose-gc); without it the caches shrink for jobs, and V8 alone
 * decides when to give memory back.
 */
@Injectable()
export class MemoryRoom implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MemoryRoom.name);
  private readonly holders = new Set<ReclaimableMemory>();
  private readonly collect: Collect | undefined;
  private readonly oldSpace: () => OldSpace;
  private readonly calmCheckMs: number;
  private jobsNeedingRoom = 0;
  private compacting: Promise<void> | null = null;
  private lastCalmCompaction = Number.NEGATIVE_INFINITY;
  private calmChecks = 0;
  private lastUtilisation = performance.eventLoopUtilization();
  private calmTimer: NodeJS.Timeout | null = null;
  /** The old space's size after the last compaction (0 before any). */
  private compactedTo = 0;

  constructor(options: MemoryRoomOptions = { collect: exposedCollector(), calmCheckMs: 5_000 }) {
    this.collect = options.collect;
    this.oldSpace = options.oldSpace ?? v8OldSpace;
    this.calmCheckMs = options.calmCheckMs ?? 0;
  }

  onApplicationBootstrap(): void {
    if (!this.collect || this.calmCheckMs <= 0) return;
    this.calmTimer = setInterval(() => {
      this.checkCalm().catch((error: unknown) =>
        this.logger.warn(`Could not give memory back: ${String(error)}`),
      );
    }, this.calmCheckMs);
    this.calmTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.calmTimer) clearInterval(this.calmTimer);
  }

  /** Adds a holder of reclaimable memory; the returned function takes it off again. */
  register(holder: ReclaimableMemory): () => void {
    this.holders.add(holder);
    if (this.jobsNeedingRoom > 0) holder.shrink();
    return () => this.holders.delete(holder);
  }

  get needed(): boolean {
    return this.jobsNeedingRoom > 0;
  }

  /** Runs `work` with room made for it; the caches get their bounds back when no job needs room. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    if (this.jobsNeedingRoom++ === 0) for (const holder of this.holders) holder.shrink();
    try {
      // The caches just dropped their entries: what they held is garbage until collected.
      await this.compact('a job needs room', true);
      return await work();
    } finally {
      if (--this.jobsNeedingRoom === 0) for (const holder of this.holders) holder.restore();
    }
  }

  /**
   * Collects until the old space's slack is small or a collection no longer gains much. Unless
   * `always`, only when much is unused already (V8's figure counts garbage as used).
   */
  compact(why: string, always = false): Promise<void> {
    if (!this.collect) return Promise.resolve();
    if (!always && this.oldSpace().slack < SLACK_WORTH_COMPACTING) return Promise.resolve();
    this.compacting ??= this.compactInSteps(this.collect, why).finally(() => {
      this.compacting = null;
    });
    return this.compacting;
  }

  private async compactInSteps(collect: Collect, why: string): Promise<void> {
    const before = this.oldSpace().committed;
    const started = performance.now();
    let pausedMs = 0;
    let collections = 0;
    // The first collection frees objects but rarely a page (each still holds a live one); the
    // ones after it move the live objects off fragmented pages, a part each time.
    for (let committed = before; collections < MAX_STEPS;) {
      const stepStarted = performance.now();
      collect();
      collections += 1;
      pausedMs += performance.now() - stepStarted;
      await sleep(STEP_PAUSE_MS);
      const now = this.oldSpace();
      const gained = committed - now.committed;
      if (now.slack < MIN_STEP_GAIN || (collections > 1 && gained < MIN_STEP_GAIN)) break;
      committed = now.committed;
    }
    const after = this.oldSpace().committed;
    this.compactedTo = after;
    this.logger.log(
      `Compacted the old space (${why}): ${Math.round(before / MIB)} → ${Math.round(after / MIB)} ` +
        `MiB in ${collections} collections, ${Math.round(pausedMs)} ms paused of ` +
        `${Math.round(performance.now() - started)} ms`,
    );
  }

  private async checkCalm(): Promise<void> {
    const utilisation = performance.eventLoopUtilization(this.lastUtilisation);
    this.lastUtilisation = performance.eventLoopUtilization();
    this.calmChecks = utilisation.utilization < CALM_UTILISATION ? this.calmChecks + 1 : 0;
    const now = performance.now();
    if (this.calmChecks < CALM_CHECKS || this.compacting || this.jobsNeedingRoom > 0) return;
    if (now - this.lastCalmCompaction < MIN_MS_BETWEEN_CALM_COMPACTIONS) return;
    // V8 counts garbage as used until it collects, so slack is only known after a collection:
    // a calm hub collects when its old space grew since it was last compacted.
    if (this.oldSpace().committed - this.compactedTo < SLACK_WORTH_COMPACTING) return;
    this.lastCalmCompaction = now;
    // A calm hub has little use for its caches: they give back what they hold beyond what they
    // keep for a report, and refill as commands come again.
    for (const holder of this.holders) holder.shrink();
    for (const holder of this.holders) holder.restore();
    await this.compact('the hub is calm', true);
  }
}
