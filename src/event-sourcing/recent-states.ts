import { performance } from 'node:perf_hooks';
import { EventStore } from '../event-store/event-store.port';
import { loadState } from './command-handler';
import { Decider, DomainEvent } from './decider';
import { StateCache } from './state-cache';

/**
 * States of streams that commands look up thousands of times a second (a batch, a course, a
 * publisher's program): read again, from where the cache left off, at most every `freshnessMs`.
 * A change reaches lookups within that time; decisions are still appended against the revision
 * of the stream they change.
 */
export class RecentStates<Event extends DomainEvent, State> {
  private readonly cache: StateCache<State>;
  private readonly checkedAt = new Map<string, number>();

  constructor(
    private readonly store: EventStore,
    private readonly decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
    private readonly capacity: number,
    private readonly freshnessMs: number,
  ) {
    this.cache = new StateCache<State>(capacity);
  }

  async get(stream: string): Promise<State> {
    const cached = this.cache.get(stream);
    const checkedAt = this.checkedAt.get(stream) ?? Number.NEGATIVE_INFINITY;
    if (cached && performance.now() - checkedAt < this.freshnessMs) return cached.state;
    const known = await loadState(this.store, stream, this.decider, cached);
    this.cache.set(stream, known);
    if (this.checkedAt.size >= this.capacity) this.checkedAt.clear();
    this.checkedAt.set(stream, performance.now());
    return known.state;
  }
}
