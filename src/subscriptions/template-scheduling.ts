import { RenderOutcome } from './template-conversion';

/** How the render pool orders its work: turns between callers, and templates set aside. */

/**
 * Items waiting, one line per caller; the callers take turns, one item at a time, so a caller
 * with a thousand items waiting delays another's first item by one render at most.
 */
export class FairQueue<T> {
  // A Map iterates in insertion order: a caller served goes to the back of the line.
  private readonly lines = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(caller: string, item: T): void {
    const line = this.lines.get(caller);
    if (line) line.push(item);
    else this.lines.set(caller, [item]);
    this.count++;
  }

  /** The next item in turn, among the callers `mayTake` lets take one now. */
  take(mayTake: (caller: string) => boolean): T | undefined {
    for (const [caller, line] of this.lines) {
      if (!mayTake(caller)) continue;
      const item = line.shift()!;
      this.lines.delete(caller);
      if (line.length > 0) this.lines.set(caller, line);
      this.count--;
      return item;
    }
    return undefined;
  }

  remove(caller: string, item: T): void {
    const line = this.lines.get(caller);
    const index = line?.indexOf(item) ?? -1;
    if (!line || index === -1) return;
    line.splice(index, 1);
    if (line.length === 0) this.lines.delete(caller);
    this.count--;
  }

  drain(): T[] {
    const all = [...this.lines.values()].flat();
    this.lines.clear();
    this.count = 0;
    return all;
  }
}

const OVERRUNS_BEFORE_SETTING_ASIDE = 3;
const SOURCES_TRACKED = 10_000;

/**
 * Templates that went over their time budget (or their worker's heap) several times running
 * are set aside for a while: their items fail at once instead of taking a worker each time.
 * Counting renders that fail fast (iterations, output) would gain nothing, so those do not count.
 */
export class Quarantine {
  private readonly overruns = new Map<string, number>();
  private readonly setAside = new Map<string, number>();

  constructor(
    private readonly durationMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Until when the source is set aside, if it is now. */
  heldUntil(source: string): number | null {
    const until = this.setAside.get(source);
    if (until === undefined) return null;
    if (this.now() < until) return until;
    this.setAside.delete(source);
    return null;
  }

  /** Notes how a render of the source went; true when that sets the source aside. */
  record(source: string, outcome: RenderOutcome): boolean {
    if (this.durationMs === 0) return false;
    const costly =
      outcome.kind === 'failed' && (outcome.budget === 'time' || outcome.budget === 'memory');
    if (!costly) {
      this.overruns.delete(source);
      return false;
    }
    const overruns = (this.overruns.get(source) ?? 0) + 1;
    if (overruns < OVERRUNS_BEFORE_SETTING_ASIDE) {
      if (this.overruns.size >= SOURCES_TRACKED) this.overruns.clear();
      this.overruns.set(source, overruns);
      return false;
    }
    this.overruns.delete(source);
    // The oldest first: the map keeps insertion order.
    if (this.setAside.size >= SOURCES_TRACKED)
      this.setAside.delete(this.setAside.keys().next().value!);
    this.setAside.set(source, this.now() + this.durationMs);
    return true;
  }
}

export const setAsideText = (until: number): string =>
  `the template is set aside until ${new Date(until).toISOString()}: it went over its time ` +
  `budget ${OVERRUNS_BEFORE_SETTING_ASIDE} times running`;
