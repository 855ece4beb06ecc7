import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EVENT_STORE, EventStore, Position, START } from '../event-store/event-store.port';
import { cursorOf, toFeedItem } from './feed-items';
import { SubscriptionAccess, deliveryRefusal } from './subscription-access';
import { ActiveSubscription } from './subscription.decider';
import { subscriptionFilter } from './subscription-feed';

const HEARTBEAT_MS = 15_000;
const STATE_CHECK_MS = 1_000;
const RECONNECT_MS = 2_000;

/**
 * Server-Sent Events for subscriptions: each converted item as an event whose id is its cursor,
 * so a client reconnecting with Last-Event-ID resumes right after it. Stretches of ignored
 * categories end with an id-only message (it moves the client's Last-Event-ID without an
 * event). The stream ends when the subscription is paused, rejected or deleted.
 */
@Injectable()
export class LiveStreams implements OnModuleDestroy {
  private readonly open = new Set<() => void>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly access: SubscriptionAccess,
  ) {}

  /** Ends every open stream: on shutdown, before the server waits for connections to close. */
  endAll(): void {
    for (const end of [...this.open]) end();
  }

  onModuleDestroy(): void {
    this.endAll();
  }

  async serve(
    initial: ActiveSubscription,
    from: Position | typeof START,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    let subscription = initial;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    let ended = false;
    const feed = this.store.subscribeToAll({
      from,
      filter: subscriptionFilter(subscription),
      batchSize: 500,
    });
    const end = () => {
      if (ended) return;
      ended = true;
      void feed.close();
    };
    this.open.add(end);
    raw.on('close', end);

    const write = async (chunk: string): Promise<void> => {
      if (ended) return;
      if (raw.write(chunk)) return;
      // A slow reader: wait until it drains (or goes away) before reading more of the log.
      await new Promise<void>((resolve) => {
        const done = () => {
          raw.off('drain', done);
          raw.off('close', done);
          resolve();
        };
        raw.on('drain', done);
        raw.on('close', done);
      });
    };

    const heartbeat = setInterval(() => void write(': keep-alive\n\n'), HEARTBEAT_MS);
    const check = setInterval(() => {
      void this.access
        .current(subscription.subscriptionId)
        .then(async (latest) => {
          const refusal = latest ? deliveryRefusal(latest) : null;
          if (!latest || refusal) {
            const reason = latest ? refusal!.code : 'SUBSCRIPTION_DELETED';
            await write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
            end();
            return;
          }
          subscription = latest;
        })
        .catch(() => undefined);
    }, STATE_CHECK_MS);

    let lastSent: string = cursorOf(from);
    let lastSeen: Position | typeof START = from;
    try {
      await write(`retry: ${RECONNECT_MS}\n\n`);
      for await (const message of feed) {
        if (ended) break;
        switch (message.kind) {
          case 'event': {
            lastSeen = message.event.position;
            const item = toFeedItem(message.event, subscription.templates);
            if (!item) break;
            lastSent = item.cursor;
            await write(
              `id: ${item.cursor}\nevent: ${item.kind}\ndata: ${JSON.stringify(item)}\n\n`,
            );
            break;
          }
          case 'checkpoint':
          case 'caught-up': {
            const seen = cursorOf(lastSeen);
            if (seen !== lastSent) {
              lastSent = seen;
              await write(`id: ${seen}\n\n`);
            }
            break;
          }
          default: {
            const unknownMessage: never = message;
            throw new Error(`Unknown subscription message ${JSON.stringify(unknownMessage)}`);
          }
        }
      }
    } catch (error) {
      if (!ended) {
        request.log.warn({ err: error }, 'Subscription stream failed');
        const detail = 'The stream failed; reconnect with Last-Event-ID to resume';
        await write(`event: error\ndata: ${JSON.stringify({ detail })}\n\n`).catch(() => undefined);
      }
    } finally {
      clearInterval(heartbeat);
      clearInterval(check);
      this.open.delete(end);
      end();
      raw.end();
    }
  }
}
