/**
 * The one event-store port. Three adapters implement it: PostgreSQL server, embedded PostgreSQL
 * (PGlite) and EventStoreDB. Its semantics follow EventStoreDB's: stream revisions start at 0,
 * an expected revision is `no_stream`, `stream_exists`, `any` or the revision of the last event.
 */

/**
 * A position in the global log. Opaque to callers: only the adapter that produced it knows its
 * layout. Every adapter renders positions so that positions it produced order by plain string
 * comparison, which is what checkpoints and tests rely on.
 */
export type Position = string & { readonly __brand: 'Position' };

export const START = 'start' as const;
export const END = 'end' as const;
export type ReadFrom = Position | typeof START | typeof END;

export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  /** The principal (user or API key) on whose behalf the event was recorded. */
  principal?: string;
  tenant?: string;
  [key: string]: unknown;
}

export interface EventToAppend {
  /** A UUID. Re-appending an event with the same id at the same place is a no-op. */
  id: string;
  type: string;
  data: unknown;
  metadata?: EventMetadata;
}

export interface RecordedEvent<Data = unknown> {
  id: string;
  type: string;
  data: Data;
  metadata: EventMetadata;
  stream: string;
  revision: bigint;
  position: Position;
  recordedAt: Date;
}

export interface AppendResult {
  /** Revision of the last event now in the stream; pass it as the next expected revision. */
  nextExpectedRevision: bigint;
  /** Position of the last event of this append. */
  position: Position;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  direction?: Direction;
  /** First revision to read (inclusive). Defaults to the start (forwards) or end (backwards). */
  fromRevision?: bigint;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Defaults to the start. */
  from?: Position | typeof START;
  maxCount?: number;
  filter?: EventFilter;
  /**
   * Also read committed events that lie past the point up to which the log's order is final
   * (an append still running may yet commit events before them). For a search that must see
   * every event acknowledged so far, such as an erasure; never to take a checkpoint from.
   * EventStoreDB's order is always final, so it reads the same either way.
   */
  includeUnsettled?: boolean;
}

/** Server-side filter. Within a list prefixes are alternatives; the two lists must both match. */
export interface EventFilter {
  streamNamePrefixes?: readonly string[];
  eventTypePrefixes?: readonly string[];
}

export interface SubscribeOptions {
  /** Exclusive, as in EventStoreDB: delivery starts after this position. Defaults to the start. */
  from?: ReadFrom;
  filter?: EventFilter;
  /** Hint for how many events the adapter fetches per round trip while catching up. */
  batchSize?: number;
}

/**
 * What a subscription yields:
 * - `event`: the next event, in non-decreasing position order, each exactly once per subscription;
 * - `checkpoint`: every event up to `position` that matches the filter has been delivered. The
 *   adapter emits it at the end of each batch it fetched, so a consumer can commit its work in
 *   batches and advance past events the filter skipped;
 * - `caught-up`: the subscription has delivered everything that existed when it started and
 *   is now live. Emitted once.
 */
export type SubscriptionMessage =
  | { kind: 'event'; event: RecordedEvent }
  | { kind: 'checkpoint'; position: Position }
  | { kind: 'caught-up'; position: Position | null };

export interface Subscription extends AsyncIterable<SubscriptionMessage> {
  /** Ends the iteration; a pending `next()` resolves as done. Safe to call more than once. */
  close(): Promise<void>;
}

export interface EventStore {
  /** Short name of the adapter, for health details and logs. */
  readonly kind: 'postgres' | 'pglite' | 'eventstoredb';

  appendToStream(
    stream: string,
    events: readonly EventToAppend[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;

  /** Events of a stream; an empty array when the stream does not exist. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** Revision of the last event of a stream, or null when there is none. */
  streamRevision(stream: string): Promise<bigint | null>;

  /** A page of the global log, forwards, after `from`. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;

  /**
   * Removes a stream's events for good (erasure of personal data): reading the stream afterwards
   * finds none, and the name may start a new stream. The SQL stores delete the rows, so no later
   * read of the log returns them; EventStoreDB deletes the stream and keeps its events in `$all`
   * until the operator's next scavenge. Deleting a stream that does not exist does nothing.
   */
  deleteStream(stream: string): Promise<void>;

  /** Catch-up subscription to all events: from a checkpoint, then live. Consume with for-await. */
  subscribeToAll(options?: SubscribeOptions): Subscription;

  /** Position of the newest event in the log, or null when it is empty. */
  headPosition(): Promise<Position | null>;

  /**
   * How many events matching `filter` lie after `from`, counting at most `cap`; null when the
   * adapter cannot count cheaply (EventStoreDB).
   */
  countEventsAfter(
    from: Position | null,
    filter: EventFilter | undefined,
    cap: number,
  ): Promise<number | null>;

  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;

  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');

export const comparePositions = (a: Position, b: Position): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether `value` starts with one of `prefixes`; true when there are none. */
const startsWithAny = (value: string, prefixes: readonly string[] | undefined): boolean => {
  if (!prefixes?.length) return true;
  for (const prefix of prefixes) if (value.startsWith(prefix)) return true;
  return false;
};

/**
 * Whether an event of `stream` and `type` passes `filter`. Taken apart rather than as an event,
 * with no closure: the window of the SQL store runs it for every subscriber and every row.
 */
export const matchesFilter = (
  stream: string,
  type: string,
  filter: EventFilter | undefined,
): boolean =>
  !filter ||
  (startsWithAny(stream, filter.streamNamePrefixes) &&
    startsWithAny(type, filter.eventTypePrefixes));
