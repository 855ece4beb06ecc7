/** A stream's folded state as of `revision` (null: the stream did not exist). */
export interface StreamState<State> {
  state: State;
  revision: bigint | null;
}

/**
 * The last known state of recently used streams, so a hot aggregate is not re-read and re-folded
 * for every command. An entry is only a guess: the command handler appends with the cached
 * revision, so a stream another writer moved on is caught by the expected-revision check and
 * re-read from where the cache left off. Least recently used entries go first.
 */
export class StateCache<State> {
  private readonly entries = new Map<string, StreamState<State>>();

  constructor(readonly capacity: number) {}

  get(stream: string): StreamState<State> | undefined {
    const entry = this.entries.get(stream);
    if (entry === undefined) return undefined;
    this.entries.delete(stream);
    this.entries.set(stream, entry);
    return entry;
  }

  set(stream: string, entry: StreamState<State>): void {
    if (this.capacity <= 0) return;
    this.entries.delete(stream);
    this.entries.set(stream, entry);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(stream: string): void {
    this.entries.delete(stream);
  }

  get size(): number {
    return this.entries.size;
  }
}
