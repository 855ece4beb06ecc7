import { setTimeout as sleep } from 'node:timers/promises';
import { Dispatcher, fetch } from 'undici';
import { newUlid } from '../ids/ulid';
import { WebhookConfig } from '../config/hub-config';
import { SqlDatabase } from '../database/sql-database';
import { EventStore, Position, START } from '../event-store/event-store.port';
import {
  addDeadLetter,
  advancePosition,
  AttemptOutcome,
  DeadLetter,
  pruneAttempts,
  purgeErasedEvents,
  queuedDeadLetters,
  readPosition,
  recordAttempt,
  secretsOf,
  settleDeadLetter,
} from './delivery-records';
import { FeedItem, toFeedItem } from './feed-items';
import { ActiveSubscription } from './subscription.decider';
import { subscriptionFilter } from './subscription-feed';
import { signedHeaders } from './webhook-signature';
import { addressRefusal } from './webhook-destination';

export interface DeliveryLogger {
  warn(message: string, context?: Record<string, unknown>): void;
}

/** What one POST to the receiver came to. */
interface PostResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

const PRUNE_EVERY = 200;
const MAX_ERROR_LENGTH = 500;

class Interrupted extends Error {}

/** Exponential back-off with "equal jitter": half the delay fixed, half random. */
export const retryDelayMs = (
  attempt: number,
  config: Pick<WebhookConfig, 'backoffBaseMs' | 'backoffMaxMs'>,
): number => {
  const ceiling = Math.min(
    config.backoffMaxMs,
    config.backoffBaseMs * 2 ** Math.min(attempt - 1, 30),
  );
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
};

/**
 * Pushes one subscription's events to its webhook, in the hub's order: a batch of items at a
 * time, one request in flight, the position moved only once the receiver answered 2xx (so at
 * least once, never out of order). A failing batch is retried with back-off until it succeeds or
 * runs out of attempts; then it goes to the dead-letter list and delivery continues after it.
 */
export class WebhookWorker {
  private subscription: ActiveSubscription;
  private readonly stopping = new AbortController();
  private cycle = new AbortController();
  private loop: Promise<void> | null = null;
  private deliveries = 0;

  constructor(
    subscription: ActiveSubscription,
    private readonly deps: {
      db: SqlDatabase;
      store: EventStore;
      config: WebhookConfig;
      logger: DeliveryLogger;
      /** Connections to receivers (see webhookAgent). */
      agent: Dispatcher;
    },
  ) {
    this.subscription = subscription;
  }

  get subscriptionId(): string {
    return this.subscription.subscriptionId;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Starts over from the stored position: after a replay, a redelivery request or a change. */
  restart(subscription: ActiveSubscription = this.subscription): void {
    this.subscription = subscription;
    this.cycle.abort();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.cycle.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      this.cycle = new AbortController();
      const { signal } = this.cycle;
      try {
        const { position, generation } = await readPosition(this.deps.db, this.subscriptionId);
        await this.redeliverQueued(signal);
        await this.follow(position, generation, signal);
      } catch (error) {
        if (error instanceof Interrupted || signal.aborted) continue;
        this.deps.logger.warn('Webhook delivery failed; starting over', {
          subscriptionId: this.subscriptionId,
          error: error instanceof Error ? error.message : String(error),
        });
        await sleep(this.deps.config.backoffBaseMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Reads the publisher's events from `position` and delivers them batch by batch. */
  private async follow(
    position: Position | null,
    generation: bigint,
    signal: AbortSignal,
  ): Promise<void> {
    const subscription = this.deps.store.subscribeToAll({
      from: position ?? START,
      filter: subscriptionFilter(this.subscription),
      batchSize: 500,
    });
    const close = () => void subscription.close();
    signal.addEventListener('abort', close, { once: true });
    let batch: FeedItem[] = [];
    let consumed: Position | null = position;
    let committed: Position | null = position;
    const flush = async () => {
      if (consumed === null || consumed === committed) return;
      const upTo = consumed;
      if (batch.length > 0) await this.deliver(batch, upTo, generation, signal);
      // Only ignored categories since the last delivery: move past them.
      else if (!(await advancePosition(this.deps.db, this.subscriptionId, upTo, generation)))
        throw new Interrupted();
      batch = [];
      committed = upTo;
    };
    try {
      for await (const message of subscription) {
        if (signal.aborted) break;
        switch (message.kind) {
          case 'event': {
            const item = toFeedItem(message.event, this.subscription.templates);
            consumed = message.event.position;
            if (item?.kind === 'erased') {
              // Deliveries are in order, so whatever carried these events before is settled by
              // now: delivered, or a dead letter, which must not keep them.
              const erased = new Set(item.eventIds);
              batch = batch.filter((held) => held.kind === 'erased' || !erased.has(held.eventId));
              await purgeErasedEvents(this.deps.db, item.eventIds, this.subscriptionId);
            }
            if (item) batch.push(item);
            if (batch.length >= this.batchSize) await flush();
            break;
          }
          case 'checkpoint':
          case 'caught-up':
            await flush();
            break;
          default: {
            const unknownMessage: never = message;
            throw new Error(`Unknown subscription message ${JSON.stringify(unknownMessage)}`);
          }
        }
      }
    } finally {
      signal.removeEventListener('abort', close);
      await subscription.close();
    }
  }

  private get batchSize(): number {
    return this.deps.config.maxBatchSize;
  }

  private get maxAttempts(): number {
    return this.subscription.webhook?.maxAttempts ?? this.deps.config.maxAttempts;
  }

  /** Attempts until delivered or dead-lettered; the position moves in the same transaction. */
  private async deliver(
    items: FeedItem[],
    upTo: Position,
    generation: bigint,
    signal: AbortSignal,
  ): Promise<void> {
    const deliveryId = newUlid();
    const outcome = await this.attemptUntilDone(items, deliveryId, 'delivered', signal);
    const moved = await this.deps.db.transaction(async (tx) => {
      if (!outcome.delivered)
        await addDeadLetter(tx, {
          subscriptionId: this.subscriptionId,
          deliveryId,
          items,
          attempts: outcome.attempts,
          lastError: outcome.last.error,
          lastHttpStatus: outcome.last.httpStatus,
          deadAt: new Date(),
        });
      return advancePosition(tx, this.subscriptionId, upTo, generation);
    });
    if (++this.deliveries % PRUNE_EVERY === 0)
      await pruneAttempts(this.deps.db, this.subscriptionId).catch(() => undefined);
    if (!moved) throw new Interrupted();
  }

  private async redeliverQueued(signal: AbortSignal): Promise<void> {
    const queued: DeadLetter[] = await queuedDeadLetters(this.deps.db, this.subscriptionId);
    for (const letter of queued) {
      const outcome = await this.attemptUntilDone(
        letter.items,
        letter.deliveryId,
        'redelivered',
        signal,
      );
      await this.deps.db.transaction((tx) =>
        settleDeadLetter(
          tx,
          this.subscriptionId,
          letter.deliveryId,
          outcome.delivered
            ? { redelivered: true }
            : {
                redelivered: false,
                attempts: outcome.attempts,
                error: outcome.last.error,
                httpStatus: outcome.last.httpStatus,
              },
        ),
      );
    }
  }

  /** Every attempt is recorded as it ends; between failures the worker waits, interruptibly. */
  private async attemptUntilDone(
    items: FeedItem[],
    deliveryId: string,
    success: Extract<AttemptOutcome, 'delivered' | 'redelivered'>,
    signal: AbortSignal,
  ): Promise<{ delivered: boolean; attempts: number; last: PostResult }> {
    const maxAttempts = this.maxAttempts;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new Interrupted();
      const attemptedAt = new Date();
      const result = await this.post(items, deliveryId, signal);
      const lastAttempt = !result.ok && attempt >= maxAttempts;
      const delay = result.ok || lastAttempt ? 0 : retryDelayMs(attempt, this.deps.config);
      await recordAttempt(this.deps.db, {
        subscriptionId: this.subscriptionId,
        deliveryId,
        attempt,
        outcome: result.ok ? success : lastAttempt ? 'dead-lettered' : 'failed',
        itemCount: items.length,
        firstCursor: items[0]?.cursor ?? '',
        lastCursor: items.at(-1)?.cursor ?? '',
        httpStatus: result.httpStatus,
        error: result.error,
        durationMs: result.durationMs,
        attemptedAt,
        nextAttemptAt: delay > 0 ? new Date(Date.now() + delay) : null,
      });
      if (result.ok || lastAttempt)
        return { delivered: result.ok, attempts: attempt, last: result };
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  private async post(
    items: FeedItem[],
    deliveryId: string,
    signal: AbortSignal,
  ): Promise<PostResult> {
    const started = performance.now();
    const failed = (error: string, httpStatus: number | null = null): PostResult => ({
      ok: false,
      httpStatus,
      error: error.slice(0, MAX_ERROR_LENGTH),
      durationMs: Math.round(performance.now() - started),
    });
    const webhook = this.subscription.webhook;
    if (!webhook) return failed('the subscription has no webhook');
    const refusal = addressRefusal(webhook.url, this.deps.config.allowPrivateNetworks);
    if (refusal) return failed(refusal);
    const secrets = await secretsOf(this.deps.db, this.subscriptionId, this.subscription.secretIds);
    if (secrets.length === 0) return failed('the subscription has no signing secret');
    const body = JSON.stringify({ subscriptionId: this.subscriptionId, deliveryId, items });
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'LearningHub-Webhooks/1',
          ...signedHeaders(secrets, deliveryId, timestamp, body),
        },
        body,
        redirect: 'manual',
        dispatcher: this.deps.agent,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.deps.config.timeoutMs)]),
      });
      // The answer's body is not used; reading it lets the connection be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300)
        return {
          ok: true,
          httpStatus: response.status,
          error: null,
          durationMs: Math.round(performance.now() - started),
        };
      return failed(`the receiver answered ${response.status}`, response.status);
    } catch (error) {
      if (signal.aborted) throw new Interrupted();
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${this.deps.config.timeoutMs} ms`
          : (cause?.code ??
            cause?.message ??
            (error instanceof Error ? error.message : String(error)));
      return failed(`the request failed: ${reason}`);
    }
  }
}
