import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { HUB_METRICS, HubMetrics } from '../metrics/hub-metrics';
import { cursorOf } from '../http/log-cursor';
import { Chunk, FeedClient, FeedPosition, LiveFeed } from './live-feed';
import { deliveryRefusal, SubscriptionAccess } from './subscription-access';
import { ActiveSubscription } from './subscription.events';
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

  send(chunks: readonly Chunk[]): boolean {
    if (this.ended) return true;
    this.writeAll(chunks);
    return this.raw.writableLength < SLOW_CLIENT_BYTES;
  }

  /** Writes, then waits while the client is slow to read (a stream reading the log itself). */
  async write(...chunks: Chunk[]): Promise<void> {
    if (this.ended || chunks.length === 0 || this.writeAll(chunks)) return;
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

  /** One write to the socket for all of them; false when its buffer is full. */
  private writeAll(chunks: readonly Chunk[]): boolean {
    this.raw.cork();
    let room = true;
    for (const chunk of chunks) room = this.raw.write(chunk);
    this.raw.uncork();
    return room;
  }

  drained(ms: number): Promise<boolean> {
    if (this.ended || this.raw.writableLength === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        this.raw.off('drain', onDrain);
        this.raw.off('close', onClose);
        resolve(result);
      };
      const onDrain = () => done(true);
      const onClose = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.raw.on('drain', onDrain);
      this.raw.on('close', onClose);
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

/** One subscription's streams in this process, and the feeds that carry them. */
interface FeedEntry {
  subscription: ActiveSubscription;
  feeds: Set<LiveFeed>;
  streams: Set<Stream>;
}

/**
 * Server-Sent Events for subscriptions: each converted item as an event whose id is its cursor,
 * so a client reconnecting with Last-Event-ID resumes right after it. Stretches of ignored
 * categories end with an id-only message (it moves the client's Last-Event-ID without an
 * event). The stream ends when the subscription is paused, rejected or deleted.
 *
 * Streams are carried by feeds (LiveFeed), each one reader of the log for many streams. A stream
 * joins a feed of its subscription that holds where it stands, or starts a new one there: the
 * streams of a new subscription opened together catch up on one feed, reading, converting and
 * encoding each page once. A feed that reaches the head hands its streams over to the live feed
 * already there, so at the head each subscription has one reader per process. A stream too slow
 * for its feed is let go, and finds (or starts) a feed where it stands, at its own pace.
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
    const entry = this.entryFor(subscription);
    const stream = new Stream(raw, from);
    entry.streams.add(stream);
    raw.on('close', () => stream.end());
    const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
    try {
      await stream.write(`retry: ${RECONNECT_MS}\n\n`);
      for (let quickDrops = 0; !stream.ended;) {
        const dropped = stream.untilDropped();
        const placedAt = Date.now();
        this.place(entry, stream);
        await dropped;
        // Let go at once again and again (the log failing under its feeds): back off.
        quickDrops = Date.now() - placedAt < 1_000 ? quickDrops + 1 : 0;
        if (quickDrops > 1 && !stream.ended)
          await sleep(Math.min(5_000, 50 * 2 ** Math.min(quickDrops, 10)));
      }
    } finally {
      clearInterval(heartbeat);
      stream.end();
      await this.leave(entry, stream);
      raw.end();
    }
  }

  /** Puts a stream on a feed that holds where it stands, or on a new feed starting there. */
  private place(entry: FeedEntry, stream: Stream): void {
    for (const feed of entry.feeds) if (feed.attach(stream)) return;
    const feed = new LiveFeed(entry.subscription, {
      store: this.store,
      converter: this.converter,
      onCaughtUp: (caughtUp) => this.merge(entry, caughtUp),
    });
    entry.feeds.add(feed);
    feed.attach(stream);
  }

  /** A feed reached the head: its streams move to the live feed there, if there is one. */
  private merge(entry: FeedEntry, arrived: LiveFeed): void {
    const live = [...entry.feeds].find((feed) => feed !== arrived && feed.isLive);
    if (!live) return;
    for (const client of arrived.clientList) if (live.attach(client)) arrived.detach(client);
    if (arrived.clientCount === 0) void this.retire(entry, arrived);
  }

  private entryFor(subscription: ActiveSubscription): FeedEntry {
    let entry = this.feeds.get(subscription.subscriptionId);
    if (!entry) {
      entry = { subscription, feeds: new Set(), streams: new Set() };
      this.feeds.set(subscription.subscriptionId, entry);
    }
    return entry;
  }

  private async leave(entry: FeedEntry, stream: Stream): Promise<void> {
    entry.streams.delete(stream);
    for (const feed of entry.feeds) {
      feed.detach(stream);
      if (feed.clientCount === 0) await this.retire(entry, feed);
    }
    if (entry.streams.size === 0 && this.feeds.get(entry.subscription.subscriptionId) === entry)
      this.feeds.delete(entry.subscription.subscriptionId);
  }

  private async retire(entry: FeedEntry, feed: LiveFeed): Promise<void> {
    entry.feeds.delete(feed);
    await feed.close();
  }

  /** One look per subscription (not per stream) at whether it still delivers, and its templates. */
  private async checkStates(): Promise<void> {
    for (const [subscriptionId, entry] of this.feeds) {
      const latest = await this.access.current(subscriptionId).catch(() => undefined);
      if (latest === undefined) continue;
      const refusal = latest ? deliveryRefusal(latest) : null;
      if (latest && !refusal) {
        entry.subscription = latest;
        for (const feed of entry.feeds) feed.update(latest);
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
