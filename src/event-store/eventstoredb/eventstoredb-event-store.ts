import { toJsonText, validateAppend, validateStreamName } from '../event-validation';
import {
  ANY,
  AccessDeniedError,
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  END as ESDB_END,
  EventStoreDBClient,
  FORWARDS,
  InvalidArgumentError,
  NO_STREAM,
  NotLeaderError,
  START as ESDB_START,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  UnsupportedError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type AppendResult as EsdbAppendResult,
  type Filter,
  type JSONType,
  type ReadPosition,
  type ReadRevision,
  type StreamingRead,
} from '@eventstore/db-client';
import {
  HubError,
  InvalidInputError,
  StoreUnavailableError,
  WrongExpectedRevisionError,
  expectedRevisionLabel,
} from '../../errors/hub-error';
import {
  START,
  matchesFilter,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionMessage,
} from '../event-store.port';
import {
  compareEsdbPositions,
  decodeEsdbPosition,
  encodeEsdbPosition,
  isValidEsdbPosition,
  toEsdbReadPosition,
  type EsdbPosition,
} from './eventstoredb-position';

export interface EventStoreDbLogger {
  warn(msg: string, ctx?: object): void;
}

export interface EventStoreDbEventStoreOptions {
  logger?: EventStoreDbLogger;
}

// Reads always pass a bounded maxCount: an unbounded read of a large stream or of $all makes
// the client buffer without limit (EventStore-Client-NodeJS#169).
const STREAM_PAGE_SIZE = 1_000;
const READ_ALL_DEFAULT_MAX = 1_000;
const READ_ALL_MIN_PAGE = 256;
const READ_ALL_MAX_PAGE = 4_096;
const HEAD_PAGE_SIZE = 100;
// A fresh node writes many $-events (stats, users, scavenges); past this many the newest record
// of any kind is still a valid upper bound for the head, and much better than scanning the log.
const HEAD_SCAN_LIMIT = 2_000;
const PING_TIMEOUT_MS = 5_000;

const isSystemType = (type: string): boolean => type.startsWith('$');

/** The fields of a client-side recorded event this adapter uses, common to JSON and binary. */
interface EsdbEventLike {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  created: unknown;
  data: unknown;
  metadata: unknown;
  isJson: boolean;
  position?: EsdbPosition;
}

const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Failures that say nothing about the request itself: retrying later may succeed. */
export const isEsdbUnavailable = (error: unknown): boolean => {
  if (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof TimeoutError ||
    error instanceof CancelledError ||
    error instanceof NotLeaderError
  ) {
    return true;
  }
  if (!(error instanceof Error)) return false;
  // Cluster discovery gives up with a plain Error rather than a command error.
  if (error.message.startsWith('Failed to discover')) return true;
  const code: unknown = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && TRANSIENT_SOCKET_CODES.has(code);
};

/** The client's error classes leave `name` as "Error" and often the message empty. */
const describeError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const name = error.name === 'Error' ? error.constructor.name : error.name;
  return error.message ? `${name}: ${error.message}` : name;
};

const toHubError = (error: unknown, operation: string): Error => {
  if (error instanceof HubError) return error;
  if (isEsdbUnavailable(error)) {
    return new StoreUnavailableError(
      `EventStoreDB unavailable during ${operation}: ${describeError(error)}`,
      error,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
};

const TICKS_PER_MS = 10_000n;

/**
 * 6.x already hands `created` over as a Date (it converts the server's 100 ns ticks since the Unix
 * epoch itself); the other shapes are handled in case a client version passes the raw ticks.
 */
const toDate = (created: unknown): Date => {
  if (created instanceof Date) return new Date(created.getTime());
  if (typeof created === 'bigint') return new Date(Number(created / TICKS_PER_MS));
  if (typeof created === 'number') return new Date(Math.trunc(created / Number(TICKS_PER_MS)));
  if (typeof created === 'string' && /^\d+$/.test(created)) {
    return new Date(Number(BigInt(created) / TICKS_PER_MS));
  }
  return new Date(0);
};

const decodeData = (event: EsdbEventLike): unknown => {
  if (event.isJson || !(event.data instanceof Uint8Array)) return event.data;
  // Events written by other tools as octet-stream often still carry JSON.
  try {
    return JSON.parse(Buffer.from(event.data).toString('utf8')) as unknown;
  } catch {
    return event.data;
  }
};

const decodeMetadata = (metadata: unknown): EventMetadata =>
  typeof metadata === 'object' &&
  metadata !== null &&
  !Array.isArray(metadata) &&
  !(metadata instanceof Uint8Array)
    ? (metadata as EventMetadata)
    : {};

/**
 * Servers before 22.6 leave the record position out of stream reads; the commit position of the
 * resolved event is the closest stand-in.
 */
const positionOf = (event: EsdbEventLike, commitPosition: bigint | undefined): EsdbPosition => {
  if (isValidEsdbPosition(event.position)) return event.position;
  const commit = commitPosition !== undefined && commitPosition >= 0n ? commitPosition : 0n;
  return { commit, prepare: commit };
};

const toRecordedEvent = (event: EsdbEventLike, position: EsdbPosition): RecordedEvent => ({
  id: event.id,
  type: event.type,
  data: decodeData(event),
  metadata: decodeMetadata(event.metadata),
  stream: event.streamId,
  revision: BigInt(event.revision),
  position: encodeEsdbPosition(position),
  recordedAt: toDate(event.created),
});

const toAppendExpectedRevision = (expected: ExpectedRevision): AppendExpectedRevision => {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
};

/** The client reports the actual revision as a bigint, or "no_stream" when there is no stream. */
const toActualRevision = (actual: unknown): bigint | null => {
  if (typeof actual === 'bigint') return actual >= 0n ? actual : null;
  if (typeof actual === 'number' && Number.isInteger(actual))
    return actual >= 0 ? BigInt(actual) : null;
  if (typeof actual === 'string' && /^\d+$/.test(actual)) return BigInt(actual);
  return null;
};

/**
 * Drains a read completely. Reads are always bounded by maxCount, and draining (instead of
 * breaking out early) lets the gRPC call finish on its own rather than leave it open.
 */
const drain = async <T>(read: StreamingRead<T>): Promise<T[]> => {
  // A late 'error' after the iterator has detached would otherwise be an unhandled event.
  read.on('error', () => undefined);
  const items: T[] = [];
  for await (const item of read) items.push(item);
  return items;
};

const validateMaxCount = (maxCount: number | undefined, field = 'maxCount'): void => {
  if (maxCount === undefined) return;
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) {
    throw new InvalidInputError('maxCount must be a non-negative integer', [
      { field, message: 'must be a non-negative integer' },
    ]);
  }
};

export class EventStoreDbEventStore implements EventStore {
  readonly kind = 'eventstoredb' as const;
  private readonly logger: EventStoreDbLogger | undefined;
  private readonly subscriptions = new Set<EventStoreDbSubscription>();
  private closed = false;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EventStoreDbEventStoreOptions = {},
  ) {
    this.logger = options.logger;
  }

  static connect(
    connectionString: string,
    options?: EventStoreDbEventStoreOptions,
  ): EventStoreDbEventStore {
    return new EventStoreDbEventStore(
      EventStoreDBClient.connectionString(connectionString),
      options,
    );
  }

  async appendToStream(
    stream: string,
    events: readonly EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateAppend(stream, events, expected);
    events.forEach((event, i) => toJsonText(event.data, `Data of event ${i}`));
    const proposed = events.map((event) =>
      jsonEvent({
        id: event.id,
        type: event.type,
        // The client JSON-serialises whatever it is given; the port allows any JSON value.
        data: event.data as JSONType,
        metadata: event.metadata,
      }),
    );

    let result: EsdbAppendResult;
    try {
      result = await this.client.appendToStream(stream, proposed, {
        expectedRevision: toAppendExpectedRevision(expected),
      });
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevisionError(
          stream,
          expectedRevisionLabel(expected),
          toActualRevision(error.actualVersion),
        );
      }
      throw toHubError(error, 'appendToStream');
    }

    if (!result.success) {
      // Only with throwOnAppendFailure=false in the connection string; the revision the client
      // reports then is not reliable (6.x batch append turns it into 0 or 1), so ask the server.
      throw new WrongExpectedRevisionError(
        stream,
        expectedRevisionLabel(expected),
        await this.streamRevision(stream),
      );
    }

    const position = isValidEsdbPosition(result.position)
      ? result.position
      : await this.lastPositionOfStream(stream);
    return {
      nextExpectedRevision: result.nextExpectedRevision,
      position: encodeEsdbPosition(position),
    };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    validateMaxCount(options.maxCount);
    if (options.fromRevision !== undefined && options.fromRevision < 0n) {
      throw new InvalidInputError('fromRevision must not be negative', [
        { field: 'fromRevision', message: 'must be >= 0' },
      ]);
    }
    const forwards = (options.direction ?? 'forwards') === 'forwards';
    const limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    let from: ReadRevision = options.fromRevision ?? (forwards ? ESDB_START : ESDB_END);
    const events: RecordedEvent[] = [];

    try {
      while (events.length < limit) {
        const want = Math.min(STREAM_PAGE_SIZE, limit - events.length);
        const page = await drain(
          this.client.readStream(stream, {
            direction: forwards ? FORWARDS : BACKWARDS,
            fromRevision: from,
            maxCount: want,
          }),
        );
        let lastRevision: bigint | null = null;
        for (const resolved of page) {
          if (!resolved.event) continue;
          events.push(
            toRecordedEvent(resolved.event, positionOf(resolved.event, resolved.commitPosition)),
          );
          lastRevision = BigInt(resolved.event.revision);
        }
        if (page.length < want || lastRevision === null) break;
        if (forwards) {
          from = lastRevision + 1n;
        } else {
          if (lastRevision === 0n) break;
          from = lastRevision - 1n;
        }
      }
    } catch (error) {
      // Deleted streams read like absent ones: the port only knows "no events".
      if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError)
        return events;
      throw toHubError(error, 'readStream');
    }
    return events;
  }

  async deleteStream(stream: string): Promise<void> {
    validateStreamName(stream);
    try {
      await this.client.deleteStream(stream);
    } catch (error) {
      if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) return;
      throw toHubError(error, 'deleteStream');
    }
  }

  async streamRevision(stream: string): Promise<bigint | null> {
    const [last] = await this.readStream(stream, { direction: 'backwards', maxCount: 1 });
    return last ? last.revision : null;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    validateMaxCount(options.maxCount);
    const limit = options.maxCount ?? READ_ALL_DEFAULT_MAX;
    if (limit === 0) return [];
    const from = options.from ?? START;
    // ESDB reads $all forwards *including* the event at fromPosition; the port's `from` is
    // exclusive, so everything at or before it is skipped below.
    let after: EsdbPosition | null = from === START ? null : decodeEsdbPosition(from);
    let cursor: ReadPosition = after ?? ESDB_START;
    // +1 because an inclusive page starting at `after` spends one slot on that event again.
    const pageSize = Math.min(Math.max(limit + 1, READ_ALL_MIN_PAGE), READ_ALL_MAX_PAGE);
    const events: RecordedEvent[] = [];

    try {
      for (;;) {
        const page = await drain(
          this.client.readAll({ direction: FORWARDS, fromPosition: cursor, maxCount: pageSize }),
        );
        let last: EsdbPosition | null = null;
        for (const resolved of page) {
          const event = resolved.event;
          if (!event) continue;
          const position = positionOf(event, resolved.commitPosition);
          last = position;
          if (after && compareEsdbPositions(position, after) <= 0) continue;
          if (isSystemType(event.type)) continue;
          if (!matchesFilter(event.streamId, event.type, options.filter)) continue;
          events.push(toRecordedEvent(event, position));
          if (events.length >= limit) return events;
        }
        if (page.length < pageSize || last === null) return events;
        // Guards against a page that does not move forward, which would loop for ever.
        if (after && compareEsdbPositions(last, after) <= 0) return events;
        after = last;
        cursor = last;
      }
    } catch (error) {
      throw toHubError(error, 'readAll');
    }
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    if (this.closed) throw new StoreUnavailableError('EventStoreDB event store is closed');
    const subscription = new EventStoreDbSubscription(this.client, options, this.logger, (closed) =>
      this.subscriptions.delete(closed),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async headPosition(): Promise<Position | null> {
    let before: EsdbPosition | null = null;
    let newest: EsdbPosition | null = null;
    let scanned = 0;
    try {
      while (scanned < HEAD_SCAN_LIMIT) {
        const page = await drain(
          this.client.readAll({
            direction: BACKWARDS,
            fromPosition: before ?? ESDB_END,
            maxCount: HEAD_PAGE_SIZE,
          }),
        );
        scanned += page.length;
        let oldest: EsdbPosition | null = null;
        for (const resolved of page) {
          const event = resolved.event;
          if (!event) continue;
          const position = positionOf(event, resolved.commitPosition);
          // Backwards reads are not documented as exclusive; never revisit the cursor itself.
          if (before && compareEsdbPositions(position, before) >= 0) continue;
          newest ??= position;
          if (!isSystemType(event.type)) return encodeEsdbPosition(position);
          oldest = position;
        }
        // Reached the start of the log having seen only system events: nothing of ours is in it.
        if (page.length < HEAD_PAGE_SIZE || oldest === null) return null;
        before = oldest;
      }
    } catch (error) {
      throw toHubError(error, 'headPosition');
    }
    return newest ? encodeEsdbPosition(newest) : null;
  }

  async countEventsAfter(): Promise<number | null> {
    // Counting would mean reading the log: EventStoreDB keeps no per-filter counts.
    return null;
  }

  async ping(): Promise<void> {
    // Reads run without a gRPC deadline in 6.x (the `deadline` option is overridden), so the
    // timeout is enforced here.
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: ESDB_END, maxCount: 1 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`));
      }, PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([drain(read), timeout]);
    } catch (error) {
      void read.cancel().catch(() => undefined);
      throw new StoreUnavailableError(
        `EventStoreDB is unreachable: ${describeError(error)}`,
        error,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  /**
   * Idempotent re-appends (same event ids) come back without a position. The stream's last event
   * is then the best answer: it is the last event of that earlier append unless something was
   * appended after it.
   */
  private async lastPositionOfStream(stream: string): Promise<EsdbPosition> {
    const [last] = await this.readStream(stream, { direction: 'backwards', maxCount: 1 });
    if (!last) {
      throw new StoreUnavailableError(
        `EventStoreDB reported no position for the append to "${stream}"`,
      );
    }
    return decodeEsdbPosition(last.position);
  }
}

type PendingMarker =
  { kind: 'checkpoint'; position: EsdbPosition; release: () => void } | { kind: 'caught-up' };

/** Thrown from our own handling of an event: a bug or bad data, which resubscribing cannot fix. */
class ProcessingError extends Error {
  constructor(readonly original: unknown) {
    super(`Failed to process an EventStoreDB event: ${describeError(original)}`, {
      cause: original,
    });
  }
}

const HIGH_WATER_MARK = 1_000;
const LOW_WATER_MARK = 500;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** Fallback for servers before 23.10, which never send caughtUp. */
const CAUGHT_UP_IDLE_MS = 500;

const isTerminalSubscriptionError = (error: unknown): boolean =>
  error instanceof ProcessingError ||
  error instanceof AccessDeniedError ||
  error instanceof InvalidArgumentError ||
  error instanceof UnsupportedError;

/**
 * A catch-up subscription to $all. A pump consumes the client's gRPC subscription with
 * for-await (so the client applies backpressure to the server) and feeds a bounded queue that
 * the consumer's iterator drains.
 *
 * Ordering subtlety: the client signals checkpoints and caughtUp synchronously while earlier
 * events may still sit in its own readable buffer. Such signals are therefore held as pending
 * markers and only enqueued once that buffer is drained, so they never overtake the events
 * they vouch for. The client awaits the checkpoint callback before reading on, which keeps later
 * events from overtaking the checkpoint in turn.
 */
class EventStoreDbSubscription implements Subscription, AsyncIterator<SubscriptionMessage> {
  private readonly queue: SubscriptionMessage[] = [];
  private readonly consumerWaiters: Array<() => void> = [];
  private roomWaiter: (() => void) | null = null;
  private wakeSleeper: (() => void) | null = null;
  private pendingMarkers: PendingMarker[] = [];
  private current: AllStreamSubscription | null = null;
  private pumpBusy = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private pumpDone = false;
  private idleTimer: NodeJS.Timeout | undefined;

  // Pump side.
  private readonly startFrom: ReadPosition;
  /** Last event enqueued: anything at or before it is a duplicate after a resubscription. */
  private lastEnqueuedEvent: EsdbPosition | null = null;
  /** Everything matching up to here has been enqueued (events and server checkpoints). */
  private frontier: EsdbPosition | null = null;
  private caughtUpQueued = false;

  // Consumer side.
  private lastConsumedEvent: Position | null = null;
  private lastCheckpoint: Position | null = null;
  private eventsSinceCheckpoint = false;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: SubscribeOptions,
    private readonly logger: EventStoreDbLogger | undefined,
    private readonly onClosed: (subscription: EventStoreDbSubscription) => void,
  ) {
    this.startFrom = toEsdbReadPosition(options.from);
    if (this.startFrom !== ESDB_START && this.startFrom !== ESDB_END) {
      // Exclusive even if a server were to resend the event at the start position.
      this.frontier = this.startFrom;
      this.lastEnqueuedEvent = this.startFrom;
    }
    void this.run();
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
    return this;
  }

  async next(): Promise<IteratorResult<SubscriptionMessage>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      const message = this.dequeue();
      if (message) return { done: false, value: message };
      // A batch is over as far as the consumer can tell: let it commit what it has.
      if (this.eventsSinceCheckpoint && this.lastConsumedEvent !== null) {
        this.eventsSinceCheckpoint = false;
        this.lastCheckpoint = this.lastConsumedEvent;
        return { done: false, value: { kind: 'checkpoint', position: this.lastConsumedEvent } };
      }
      if (this.failure) {
        const { error } = this.failure;
        this.failure = null;
        await this.close();
        throw error;
      }
      if (this.pumpDone) return { done: true, value: undefined };
      await new Promise<void>((resolve) => this.consumerWaiters.push(resolve));
    }
  }

  async return(): Promise<IteratorResult<SubscriptionMessage>> {
    await this.close();
    return { done: true, value: undefined };
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.releaseMarkers();
    this.wakeConsumers();
    this.roomWaiter?.();
    this.wakeSleeper?.();
    this.queue.length = 0;
    const subscription = this.current;
    this.current = null;
    if (subscription) await subscription.unsubscribe().catch(() => undefined);
    this.onClosed(this);
  }

  /** Consumer side: takes the next message, dropping checkpoints that would not advance. */
  private dequeue(): SubscriptionMessage | undefined {
    for (;;) {
      const message = this.queue.shift();
      if (this.queue.length <= LOW_WATER_MARK && this.roomWaiter) {
        const wake = this.roomWaiter;
        this.roomWaiter = null;
        wake();
      }
      if (!message) return undefined;
      switch (message.kind) {
        case 'event':
          this.lastConsumedEvent = message.event.position;
          this.eventsSinceCheckpoint = true;
          return message;
        case 'checkpoint':
          if (this.lastCheckpoint !== null && message.position <= this.lastCheckpoint) continue;
          this.lastCheckpoint = message.position;
          if (this.lastConsumedEvent === null || message.position >= this.lastConsumedEvent) {
            this.eventsSinceCheckpoint = false;
          }
          return message;
        case 'caught-up':
          return message;
      }
    }
  }

  private enqueue(message: SubscriptionMessage): void {
    this.queue.push(message);
    this.wakeConsumers();
  }

  private wakeConsumers(): void {
    for (const wake of this.consumerWaiters.splice(0)) wake();
  }

  private async waitForRoom(): Promise<void> {
    while (!this.closed && this.queue.length > HIGH_WATER_MARK) {
      await new Promise<void>((resolve) => {
        this.roomWaiter = resolve;
      });
    }
  }

  private async run(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    try {
      while (!this.closed) {
        let subscription: AllStreamSubscription;
        try {
          subscription = this.subscribe();
        } catch (error) {
          // Synchronous failures are invalid options, which a retry would only repeat.
          this.fail(error);
          return;
        }
        let connected = false;
        const markConnected = (): void => {
          if (connected) return;
          connected = true;
          backoff = MIN_BACKOFF_MS;
        };
        subscription.on('confirmation', () => {
          markConnected();
          this.armIdleTimer(subscription);
        });

        let dropped: unknown = null;
        try {
          for await (const resolved of subscription) {
            if (this.closed) break;
            markConnected();
            this.pumpBusy = true;
            try {
              await this.handle(resolved, subscription);
            } finally {
              this.pumpBusy = false;
            }
            if (this.closed) break;
            this.flushMarkers(subscription);
          }
          if (!this.closed) dropped = new Error('EventStoreDB ended the subscription');
        } catch (error) {
          dropped = error;
        } finally {
          this.detach(subscription);
        }

        if (this.closed) return;
        if (isTerminalSubscriptionError(dropped)) {
          this.fail(
            dropped instanceof ProcessingError
              ? dropped.original
              : toHubError(dropped, 'subscribeToAll'),
          );
          return;
        }
        this.logger?.warn('EventStoreDB subscription to $all dropped; resubscribing', {
          error: describeError(dropped),
          retryInMs: backoff,
          from: this.resumeLabel(),
        });
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.pumpDone = true;
      this.wakeConsumers();
    }
  }

  private resumeLabel(): string {
    const from = this.frontier ?? this.startFrom;
    return typeof from === 'string' ? from : encodeEsdbPosition(from);
  }

  private subscribe(): AllStreamSubscription {
    const checkpointReached = (
      source: AllStreamSubscription,
      position: EsdbPosition,
    ): Promise<void> => this.onServerCheckpoint(source, position);
    const { streamNamePrefixes, eventTypePrefixes } = this.options.filter ?? {};
    // ESDB filters on one property per subscription; the other list, if any, and the $-type
    // rule are enforced client-side in handle().
    let filter: Filter;
    if (streamNamePrefixes?.length) {
      filter = streamNameFilter({ prefixes: [...streamNamePrefixes], checkpointReached });
    } else if (eventTypePrefixes?.length) {
      filter = eventTypeFilter({ prefixes: [...eventTypePrefixes], checkpointReached });
    } else {
      filter = excludeSystemEvents({ checkpointReached });
    }
    // Resuming from the frontier (exclusive, as ESDB subscriptions are) rather than from the
    // start position means a drop costs a re-read only of what was not yet handed over.
    const fromPosition: ReadPosition = this.frontier ?? this.startFrom;
    const batchSize = this.options.batchSize;
    const readableOptions =
      batchSize !== undefined && Number.isSafeInteger(batchSize) && batchSize > 0
        ? { highWaterMark: Math.min(batchSize, 4_096) }
        : {};
    const subscription = this.client.subscribeToAll({ fromPosition, filter }, readableOptions);
    // The client re-emits gRPC errors with emit('error'); once our iterator has detached, an
    // unheard one would crash the process.
    subscription.on('error', () => undefined);
    subscription.on('caughtUp', () => this.onServerCaughtUp(subscription));
    this.current = subscription;
    return subscription;
  }

  private async handle(
    resolved: AllStreamResolvedEvent,
    source: AllStreamSubscription,
  ): Promise<void> {
    let message: SubscriptionMessage | null = null;
    let position: EsdbPosition | null = null;
    try {
      this.armIdleTimer(source);
      const event = resolved.event;
      if (!event) return;
      position = positionOf(event, resolved.commitPosition);
      if (this.lastEnqueuedEvent && compareEsdbPositions(position, this.lastEnqueuedEvent) <= 0)
        return;
      if (isSystemType(event.type)) return;
      if (!matchesFilter(event.streamId, event.type, this.options.filter)) return;
      message = { kind: 'event', event: toRecordedEvent(event, position) };
    } catch (error) {
      throw new ProcessingError(error);
    }
    if (!message || !position) return;
    this.enqueue(message);
    this.lastEnqueuedEvent = position;
    if (!this.frontier || compareEsdbPositions(position, this.frontier) > 0)
      this.frontier = position;
    await this.waitForRoom();
  }

  private onServerCheckpoint(source: AllStreamSubscription, position: EsdbPosition): Promise<void> {
    if (this.closed || source !== this.current) return Promise.resolve();
    this.armIdleTimer(source);
    return new Promise<void>((release) => {
      this.pendingMarkers.push({ kind: 'checkpoint', position, release });
      setImmediate(() => this.flushMarkers(source));
    });
  }

  private onServerCaughtUp(source: AllStreamSubscription): void {
    if (this.closed || source !== this.current || this.caughtUpQueued) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.pendingMarkers.push({ kind: 'caught-up' });
    setImmediate(() => this.flushMarkers(source));
  }

  /**
   * Enqueues pending markers once every event the client had buffered before them has gone
   * through handle(). Called after each event and from setImmediate, by which time an event the
   * iterator already took from the buffer has reached handle() (pumpBusy).
   */
  private flushMarkers(source: AllStreamSubscription): void {
    if (this.pendingMarkers.length === 0) return;
    if (this.closed || source !== this.current || this.pumpBusy || source.readableLength > 0)
      return;
    const markers = this.pendingMarkers;
    this.pendingMarkers = [];
    for (const marker of markers) {
      if (marker.kind === 'checkpoint') {
        // Live servers repeat the same checkpoint (KurrentDB#3697); only progress is news.
        if (
          isValidEsdbPosition(marker.position) &&
          (!this.frontier || compareEsdbPositions(marker.position, this.frontier) > 0)
        ) {
          this.frontier = marker.position;
          this.enqueue({ kind: 'checkpoint', position: encodeEsdbPosition(marker.position) });
        }
        marker.release();
      } else {
        this.enqueueCaughtUp();
      }
    }
  }

  private enqueueCaughtUp(): void {
    if (this.caughtUpQueued) return;
    this.caughtUpQueued = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.enqueue({
      kind: 'caught-up',
      position: this.frontier ? encodeEsdbPosition(this.frontier) : null,
    });
  }

  /**
   * (Re)starts the fallback caught-up timer. Armed only once the server has answered, so a slow
   * connect is not mistaken for an idle, caught-up subscription.
   */
  private armIdleTimer(source: AllStreamSubscription): void {
    if (this.caughtUpQueued || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.onIdle(source), CAUGHT_UP_IDLE_MS);
    this.idleTimer.unref();
  }

  private onIdle(source: AllStreamSubscription): void {
    this.idleTimer = undefined;
    if (this.caughtUpQueued || this.closed || source !== this.current) return;
    if (this.pumpBusy || source.readableLength > 0 || this.pendingMarkers.length > 0) {
      this.flushMarkers(source);
      this.armIdleTimer(source);
      return;
    }
    this.enqueueCaughtUp();
  }

  private detach(subscription: AllStreamSubscription): void {
    if (this.current === subscription) this.current = null;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    // Markers of a dead subscription are void: the resubscription re-earns them.
    this.releaseMarkers();
    void subscription.unsubscribe().catch(() => undefined);
  }

  private releaseMarkers(): void {
    const markers = this.pendingMarkers;
    this.pendingMarkers = [];
    for (const marker of markers) if (marker.kind === 'checkpoint') marker.release();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.failure = { error };
    this.wakeConsumers();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleeper = done;
    }).finally(() => {
      this.wakeSleeper = null;
    });
  }
}
