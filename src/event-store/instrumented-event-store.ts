import {
  AppendResult,
  EventFilter,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from './event-store.port';
import { HubMetrics } from '../metrics/hub-metrics';

/**
 * The event store the hub uses, counted: events appended and how long appends take, and how many
 * subscriptions of the log are open in this process. Every adapter gets the same figures.
 */
export class InstrumentedEventStore implements EventStore {
  private openSubscriptions = 0;

  constructor(
    private readonly store: EventStore,
    private readonly metrics: HubMetrics,
  ) {
    metrics.gauge(
      'hub_log_subscriptions',
      'Subscriptions of the log open in this process (projections, webhook workers, live feeds)',
      [],
      async () => [{ labels: {}, value: this.openSubscriptions }],
    );
  }

  get kind() {
    return this.store.kind;
  }

  async appendToStream(
    stream: string,
    events: readonly EventToAppend[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    const stop = this.metrics.appendDuration.startTimer();
    const result = await this.store.appendToStream(stream, events, options);
    stop();
    this.metrics.eventsAppended.inc(events.length);
    return result;
  }

  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.store.readStream(stream, options);
  }

  streamRevision(stream: string): Promise<bigint | null> {
    return this.store.streamRevision(stream);
  }

  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.store.readAll(options);
  }

  deleteStream(stream: string): Promise<void> {
    return this.store.deleteStream(stream);
  }

  subscribeToAll(options?: SubscribeOptions): Subscription {
    const subscription = this.store.subscribeToAll(options);
    this.openSubscriptions++;
    let open = true;
    const closed = () => {
      if (!open) return;
      open = false;
      this.openSubscriptions--;
    };
    return {
      [Symbol.asyncIterator]: () => {
        const iterator = subscription[Symbol.asyncIterator]();
        return {
          next: async () => {
            const result = await iterator.next();
            if (result.done) closed();
            return result;
          },
          return: async (value?: unknown) => {
            closed();
            return iterator.return ? iterator.return(value) : { done: true, value: undefined };
          },
        };
      },
      close: async () => {
        closed();
        await subscription.close();
      },
    };
  }

  headPosition(): Promise<Position | null> {
    return this.store.headPosition();
  }

  countEventsAfter(
    from: Position | null,
    filter: EventFilter | undefined,
    cap: number,
  ): Promise<number | null> {
    return this.store.countEventsAfter(from, filter, cap);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
