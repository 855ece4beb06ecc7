import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { EVENT_STORE, EventStore, RecordedEvent } from '../event-store/event-store.port';
import { HUB_METRICS, HubMetrics } from '../metrics/hub-metrics';
import { cursorOf } from './feed-items';
import { chunkFor, FeedClient, FeedPosition, isAfter, LiveFeed } from './live-feed';
import { deliveryRefusal, SubscriptionAccess } from './subscription-access';
import { ActiveSubscription } from './subscription.decider';
import { subscriptionFilter } from './subscription-feed';
import { TemplateConverter } from './template-renderer';

const HEARTBEAT_MS = 15_000;
const STATE_CHECK_MS = 1_000;
const RECONNECT_MS = 2_000;
/** Bytes a stream may have waiting in its socket before it reads the log on its own again. */
const SLOW_CLIENT_BYTES = 4 * 1024 * 1024;

/** One client's SSE connection. */
class Stream implements FeedClient {
  lastSent: string;
  ended = false;
  private onFallBehind: (() => void) | null = null;

  constructor(
    private readonly raw: ServerResponse,
    public position: FeedPosition,
  ) {
    this.lastSent = cursorOf(position);
  }

  send(chunk: string): boolean {
    if (this.ended) return true;
    this.raw.write(chunk);
    return this.raw.writableLength < SLOW_CLIENT_BYTES;
  }

  /** Writes, then waits while the client is slow to read (a stream reading the log itself). */
  async write(chunk: string): Promise<void> {
    if (this.ended || chunk === '' || this.raw.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.raw.off('drain', done);
        this.raw.off('close', done);
        resolve();
      };
      this.raw.on('drain', done);
      this.raw.on('close', done);
    });
  }

  fallBehind(): void {
    this.onFallBehind?.();
  }

  /** Resolves when the live feed lets go of the stream, or the stream ends. */
  untilDropped(): Promise<void> {
    return new Promise((resolve) => {
      this.onFallBehind = resolve;
      if (this.ended) resolve();
    });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onFallBehind?.();
  }
}

interface FeedEntry {
  feed: LiveFeed;
  streams: Set<Stream>;
}

/**
 * Server-Sent Events for subscriptions: each converted item as an event whose id is its cursor,
 * so a client reconnecting with Last-Event-ID resumes right after it. Stretches of ignored
 * categories end with an id-only message (it moves the client's Last-Event-ID without an
 * event). The stream ends when the subscription is paused, rejected or deleted.
 *
 * A stream first reads the log itself from where the client stands (reads and conversions are
 * shared with the subscription's other streams doing the same); once at the head it joins the
 * subscription's live feed, which reads the log once for all of them. A client too slow for the
 * feed goes back to reading on its own, at its own pace.
 */
@Injectable()
export class LiveStreams implements OnModuleDestroy {
  private readonly feeds = new Map<string, FeedEntry>();
  private readonly stateCheck: NodeJS.Timeout;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly access: SubscriptionAccess,
    private readonly converter: TemplateConverter,
    @Inject(HUB_METRICS) metrics: HubMetrics,
  ) {
    this.stateCheck = setInterval(() => void this.checkStates(), STATE_CHECK_MS);
    this.stateCheck.unref();
    metrics.gauge(
      'hub_live_stream_clients',
      'Open SSE streams of subscriptions in this process',
      [],
      async () => [{ labels: {}, value: this.streamCount() }],
    );
  }

  /** Ends every open stream: on shutdown, before the server waits for connections to close. */
  endAll(): void {
    for (const { streams } of this.feeds.values()) for (const stream of streams) stream.end();
  }

  onModuleDestroy(): void {
    clearInterval(this.stateCheck);
    this.endAll();
  }

  async serve(
    subscription: ActiveSubscription,
    from: FeedPosition,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'x-request-id': String(request.id),
    });
    const entry = this.join(subscription);
    const stream = new Stream(raw, from);
    entry.streams.add(stream);
    raw.on('close', () => stream.end());
    const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
    try {
      await stream.write(`retry: ${RECONNECT_MS}\n\n`);
      while (!stream.ended) {
        const dropped = stream.untilDropped();
        await this.catchUp(entry.feed, stream);
        await dropped;
      }
    } catch (error) {
      if (!stream.ended) {
        request.log.warn({ err: error }, 'Subscription stream failed');
        const detail = 'The stream failed; reconnect with Last-Event-ID to resume';
        await stream.write(`event: error\ndata: ${JSON.stringify({ detail })}\n\n`);
      }
    } finally {
      clearInterval(heartbeat);
      stream.end();
      await this.leave(subscription.subscriptionId, entry, stream);
      raw.end();
    }
  }

  /**
   * Reads the log from where the stream stands until it is at the head and the live feed takes
   * it (or the stream ends).
   */
  private async catchUp(feed: LiveFeed, stream: Stream): Promise<void> {
    const log = this.store.subscribeToAll({
      from: stream.position,
      filter: subscriptionFilter(feed.current),
      batchSize: 500,
    });
    let pending: RecordedEvent[] = [];
    let caughtUp = false;
    try {
      for await (const message of log) {
        if (stream.ended) return;
        if (message.kind === 'event') {
          pending.push(message.event);
          continue;
        }
        if (pending.length > 0) {
          const changes = await feed.convert(pending);
          pending = [];
          await stream.write(chunkFor(stream, changes));
          stream.position = changes.at(-1)!.position;
        }
        if (message.position !== null && isAfter(message.position, stream.position))
          stream.position = message.position;
        caughtUp ||= message.kind === 'caught-up';
        if (caughtUp && feed.attach(stream)) return;
      }
      if (!stream.ended) throw new Error('The log closed under the stream');
    } finally {
      await log.close();
    }
  }

  private join(subscription: ActiveSubscription): FeedEntry {
    let entry = this.feeds.get(subscription.subscriptionId);
    if (!entry) {
      entry = {
        feed: new LiveFeed(subscription, { store: this.store, converter: this.converter }),
        streams: new Set(),
      };
      this.feeds.set(subscription.subscriptionId, entry);
    }
    return entry;
  }

  private async leave(subscriptionId: string, entry: FeedEntry, stream: Stream): Promise<void> {
    entry.streams.delete(stream);
    entry.feed.detach(stream);
    if (entry.streams.size > 0 || this.feeds.get(subscriptionId) !== entry) return;
    this.feeds.delete(subscriptionId);
    await entry.feed.close();
  }

  /** One look per subscription (not per stream) at whether it still delivers, and its templates. */
  private async checkStates(): Promise<void> {
    for (const [subscriptionId, entry] of this.feeds) {
      const latest = await this.access.current(subscriptionId).catch(() => undefined);
      if (latest === undefined) continue;
      const refusal = latest ? deliveryRefusal(latest) : null;
      if (latest && !refusal) {
        entry.feed.update(latest);
        continue;
      }
      const reason = latest ? refusal!.code : 'SUBSCRIPTION_DELETED';
      for (const stream of entry.streams) {
        await stream.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
        stream.end();
      }
    }
  }

  private streamCount(): number {
    let count = 0;
    for (const { streams } of this.feeds.values()) count += streams.size;
    return count;
  }
}
