/** A stream's folded state as of `revision` (null: the stream did not exist). */
export interface StreamState<State> {
  state: State;
  revision: bigint | null;
}

/** A bound on the cache's memory as well as its count of entries. */
export interface ByteBudget<State> {
  /** Most estimated bytes the entries may hold together; 0 keeps none. */
  maxBytes: number;
  /**
   * Estimated heap bytes of one entry: its state, the stream's name and the cache's bookkeeping.
   * Called when an entry comes in and again when it goes (rather than keeping a figure per
   * entry), so it must be cheap (counting, not serializing) and give the same answer for the
   * same state: states are immutable.
   */
  sizeOf: (state: State, stream: string) => number;
}

/**
 * The last known state of recently used streams, so a hot aggregate is not re-read and re-folded
 * for every command. An entry is only a guess: the command handler appends with the cached
 * revision, so a stream another writer moved on is caught by the expected-revision check and
 * re-read from where the cache left off. Least recently used entries go first, until there are
 * at most `capacity` and, with a byte budget, their estimated bytes fit it: states differ in size
 * by ten times and more (an enrolment with thirty contents and five attempts against one just
 * enrolled), so a count alone does not bound the memory.
 */
export class StateCache<State> {
  private readonly entries = new Map<string, StreamState<State>>();
  private heldBytes = 0;
  private maxBytes: number;

  constructor(
    readonly capacity: number,
    private readonly budget?: ByteBudget<State>,
  ) {
    this.maxBytes = budget?.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Sets the byte bound (the budget's own when `maxBytes` is undefined), evicting to fit it now. */
  limitBytes(maxBytes: number | undefined): void {
    this.maxBytes = maxBytes ?? this.budget?.maxBytes ?? Number.POSITIVE_INFINITY;
    this.evictOverBounds();
  }

  get(stream: string): StreamState<State> | undefined {
    const entry = this.entries.get(stream);
    if (entry === undefined) return undefined;
    this.entries.delete(stream);
    this.entries.set(stream, entry);
    return entry;
  }

  set(stream: string, entry: StreamState<State>): void {
    if (this.capacity <= 0) return;
    this.delete(stream);
    this.entries.set(stream, entry);
    this.heldBytes += this.bytesOf(stream, entry);
    this.evictOverBounds();
  }

  delete(stream: string): void {
    const entry = this.entries.get(stream);
    if (entry === undefined) return;
    this.entries.delete(stream);
    this.heldBytes -= this.bytesOf(stream, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Estimated bytes of the entries held (0 without a byte budget). */
  get bytes(): number {
    return this.heldBytes;
  }

  private bytesOf(stream: string, entry: StreamState<State>): number {
    return this.budget?.sizeOf(entry.state, stream) ?? 0;
  }

  /** Drops least recently used entries (the Map's first) until both bounds hold. */
  private evictOverBounds(): void {
    while (this.entries.size > this.capacity || this.heldBytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) return;
      this.delete(oldest.value);
    }
  }
}
