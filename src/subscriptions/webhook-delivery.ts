import { setTimeout as sleep } from 'node:timers/promises';
import { fetch } from 'undici';
import { newUlid } from '../ids/ulid';
import { WebhookConfig } from '../config/hub-config';
import { SqlDatabase } from '../database/sql-database';
import { EventStore, Position, RecordedEvent, START } from '../event-store/event-store.port';
import { learningEventStream, parseEventId } from '../publishing/learning-event.events';
import {
  advancePosition,
  AttemptOutcome,
  FailedAttempt,
  HeldDelivery,
  holdDelivery,
  openPosition,
  pruneAttempts,
  purgeErasedEvents,
  queuedDetachedLetters,
  readHead,
  readHeld,
  recordAttempt,
  recordHeldFailure,
  secretsOf,
  settleHeld,
} from './delivery-records';
import { feedCursor } from '../http/log-cursor';
import { FeedItem } from './feed-items';
import { TemplateConverter } from './template-renderer';
import { ActiveSubscription } from './subscription.events';
import { subscriptionFilter } from './subscription-feed';
import { signedHeaders } from './webhook-signature';
import { WebhookDestinations } from './webhook-destination';

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

/** Delivery waits at a dead letter until a redelivery request (or a replay) restarts it. */
const SUSPENDED = Symbol('suspended');

/**
 * The delay before the next attempt after `failures` failed ones: the schedule's entry for it
 * (its last one, once past its end), lengthened by up to a tenth at random so that the retries
 * of many subscriptions spread out, and never sooner than the schedule says.
 */
export const retryDelayMs = (failures: number, scheduleMs: readonly number[]): number => {
  const base = scheduleMs[Math.min(Math.max(failures, 1), scheduleMs.length) - 1] ?? 0;
  return Math.round(base + Math.random() * (base / 10));
};

const untilAborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/**
 * Pushes one subscription's events to its webhook, in the hub's order: a batch of items at a
 * time, one request in flight, the position moved only once the receiver answered 2xx (so at
 * least once, never out of order). A batch whose first attempt fails becomes the subscription's
 * head, kept in the database: it is retried on the schedule, and nothing newer is sent until it
 * has gone through. When it runs out of attempts it is a dead letter and delivery waits there
 * until a redelivery request, which resumes with it and then everything after it.
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
      /** Where deliveries may go, and the connections to receivers. */
      destinations: WebhookDestinations;
      /** Renders the subscription's templates, off the event loop and within budget. */
      converter: TemplateConverter;
      /** Counts attempts and dead letters (the metrics). */
      onAttempt?: (outcome: AttemptOutcome) => void;
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
        const { position, generation } = await openPosition(this.deps.db, this.subscriptionId);
        await this.redeliverDetached(generation, signal);
        const from = await this.settleHead(position, generation, signal);
        if (from === SUSPENDED) await untilAborted(signal);
        else await this.follow(from, generation, signal);
      } catch (error) {
        if (error instanceof Interrupted || signal.aborted) continue;
        this.deps.logger.warn('Webhook delivery failed; starting over', {
          subscriptionId: this.subscriptionId,
          error: error instanceof Error ? error.message : String(error),
        });
        const pause = this.deps.config.retryScheduleMs[0] ?? 1_000;
        await sleep(pause, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * Reads the publisher's events from `position` and delivers them batch by batch, until a
   * batch fails: then it is held as the head, and the cycle starts over with it.
   */
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
    let pending: RecordedEvent[] = [];
    let consumed: Position | null = position;
    let committed: Position | null = position;
    /** Delivers what was read; false when it failed and is now held. */
    const flush = async (): Promise<boolean> => {
      if (consumed === null || consumed === committed) return true;
      const upTo = consumed;
      if (batch.length > 0) {
        if (!(await this.deliver(batch, upTo, generation, signal))) return false;
      }
      // Only ignored categories since the last delivery: move past them.
      else if (!(await advancePosition(this.deps.db, this.subscriptionId, upTo, generation)))
        throw new Interrupted();
      batch = [];
      committed = upTo;
      return true;
    };
    /** Converts what was read, in order, into the batch; false when a delivery is now held. */
    const convertPending = async (): Promise<boolean> => {
      while (pending.length > 0) {
        const events = pending;
        const page = await this.deps.converter.convertPage(
          events,
          this.subscription.templates,
          this.subscriptionId,
        );
        // What the page budget left over is converted next, in order.
        pending = events.slice(page.converted);
        for (const [index, item] of page.items.entries()) {
          consumed = events[index]!.position;
          if (item?.kind === 'erased') {
            // Deliveries are in order, so whatever carried these events before is settled by
            // now: delivered, or a dead letter, which must not keep them.
            const erased = new Set(item.eventIds);
            batch = batch.filter((held) => held.kind === 'erased' || !erased.has(held.eventId));
            await purgeErasedEvents(this.deps.db, item.eventIds, this.subscriptionId);
          }
          if (item) batch.push(item);
          if (batch.length >= this.batchSize && !(await flush())) return false;
        }
      }
      return true;
    };
    try {
      for await (const message of subscription) {
        if (signal.aborted) break;
        switch (message.kind) {
          case 'event':
            pending.push(message.event);
            if (pending.length >= this.batchSize && !(await convertPending())) return;
            break;
          case 'checkpoint':
          case 'caught-up':
            if (!(await convertPending()) || !(await flush())) return;
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

  /** Attempts per round: the subscription's own, else one more than the schedule has delays. */
  private get maxAttempts(): number {
    return this.subscription.webhook?.maxAttempts ?? this.deps.config.retryScheduleMs.length + 1;
  }

  /**
   * The first attempt of a new batch. Delivered, the position moves past it; failed, it becomes
   * the head (and false is returned).
   */
  private async deliver(
    items: FeedItem[],
    upTo: Position,
    generation: bigint,
    signal: AbortSignal,
  ): Promise<boolean> {
    const deliveryId = newUlid();
    const failure = await this.attempt(items, deliveryId, 1, 1, 'delivered', signal);
    if (failure === null) {
      const moved = await advancePosition(this.deps.db, this.subscriptionId, upTo, generation);
      if (++this.deliveries % PRUNE_EVERY === 0)
        await pruneAttempts(this.deps.db, this.subscriptionId).catch(() => undefined);
      if (!moved) throw new Interrupted();
      return true;
    }
    const held = { subscriptionId: this.subscriptionId, generation, deliveryId, items, upTo };
    if (!(await holdDelivery(this.deps.db, { ...held, ...failure }))) throw new Interrupted();
    await this.dropErasedItems(items);
    return false;
  }

  /**
   * An erasure takes its events out of held deliveries, but one that ran while this batch's
   * first attempt was under way found nothing to take them from. Its events have left the log
   * by now (an erasure deletes their streams before it purges, so any later one finds the
   * batch held): take out the items whose event is no longer in its stream. An event is known
   * by its position or, as EventStoreDB before 22.6 reads streams without exact positions, by
   * when it was recorded: a stream created anew after an erasure matches neither.
   */
  private async dropErasedItems(items: FeedItem[]): Promise<void> {
    const inLog = new Map<string, Set<string>>();
    const gone: string[] = [];
    for (const item of items) {
      if (item.kind === 'erased') continue;
      const parts = parseEventId(item.eventId);
      if (!parts) continue;
      const stream = learningEventStream(parts);
      let marks = inLog.get(stream);
      if (!marks) {
        const recorded = await this.deps.store.readStream(stream);
        marks = new Set(
          recorded.flatMap((event) => [feedCursor(event.position), event.recordedAt.toISOString()]),
        );
        inLog.set(stream, marks);
      }
      if (!marks.has(item.cursor) && !marks.has(item.recordedUtc)) gone.push(item.eventId);
    }
    if (gone.length > 0) await purgeErasedEvents(this.deps.db, gone, this.subscriptionId);
  }

  /**
   * Where to follow the log from: the position, once the head (if any) has gone through; or
   * SUSPENDED when the head is a dead letter, or runs out of attempts now.
   */
  private async settleHead(
    position: Position | null,
    generation: bigint,
    signal: AbortSignal,
  ): Promise<Position | null | typeof SUSPENDED> {
    const head = await readHead(this.deps.db, this.subscriptionId);
    if (!head) return position;
    if (head.status === 'dead' && head.items.length > 0) return SUSPENDED;
    return (await this.attemptHeld(head, generation, signal)) ? head.upTo : SUSPENDED;
  }

  /** Dead letters queued for redelivery that delivery went on past: each is sent as it is. */
  private async redeliverDetached(generation: bigint, signal: AbortSignal): Promise<void> {
    for (const letter of await queuedDetachedLetters(this.deps.db, this.subscriptionId))
      await this.attemptHeld(letter, generation, signal);
  }

  /**
   * Attempts a held delivery until it goes through (true) or its round runs out (false). It is
   * read again before each attempt, as an erasure may have taken items out of it; with nothing
   * left, it is settled without a request.
   */
  private async attemptHeld(
    held: HeldDelivery,
    generation: bigint,
    signal: AbortSignal,
  ): Promise<boolean> {
    for (;;) {
      const current = await readHeld(this.deps.db, this.subscriptionId, held.deliveryId);
      // Dropped or moved aside by a replay; the generation has moved, so start over.
      if (!current || (current.upTo === null) !== (held.upTo === null)) throw new Interrupted();
      const settle = async (sent: boolean) => {
        if (!(await settleHeld(this.deps.db, this.subscriptionId, current, generation, sent)))
          throw new Interrupted();
        return true;
      };
      if (current.items.length === 0) return settle(false);
      if (current.status !== 'retrying' && current.status !== 'queued') return false;
      const wait = (current.nextAttemptAt?.getTime() ?? 0) - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      const failure = await this.attempt(
        current.items,
        current.deliveryId,
        current.attempts + 1,
        current.roundAttempts + 1,
        current.status === 'retrying' ? 'delivered' : 'redelivered',
        signal,
      );
      if (failure === null) return settle(true);
      await recordHeldFailure(this.deps.db, this.subscriptionId, current.deliveryId, failure);
      if (failure.nextAttemptAt === null) return false;
    }
  }

  /**
   * One attempt, recorded as it ends: null when delivered, else when to try again (null at the
   * last attempt of the round).
   */
  private async attempt(
    items: FeedItem[],
    deliveryId: string,
    attempt: number,
    roundAttempt: number,
    success: Extract<AttemptOutcome, 'delivered' | 'redelivered'>,
    signal: AbortSignal,
  ): Promise<FailedAttempt | null> {
    if (signal.aborted) throw new Interrupted();
    const attemptedAt = new Date();
    const result = await this.post(items, deliveryId, signal);
    const lastAttempt = !result.ok && roundAttempt >= this.maxAttempts;
    const nextAttemptAt =
      result.ok || lastAttempt
        ? null
        : new Date(Date.now() + retryDelayMs(roundAttempt, this.deps.config.retryScheduleMs));
    const outcome = result.ok ? success : lastAttempt ? 'dead-lettered' : 'failed';
    this.deps.onAttempt?.(outcome);
    await recordAttempt(this.deps.db, {
      subscriptionId: this.subscriptionId,
      deliveryId,
      attempt,
      outcome,
      itemCount: items.length,
      firstCursor: items[0]?.cursor ?? '',
      lastCursor: items.at(-1)?.cursor ?? '',
      httpStatus: result.httpStatus,
      error: result.error,
      durationMs: result.durationMs,
      attemptedAt,
      nextAttemptAt,
    });
    return result.ok ? null : { error: result.error, httpStatus: result.httpStatus, nextAttemptAt };
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
    const refusal = this.deps.destinations.refusalOf(webhook.url);
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
        dispatcher: this.deps.destinations.agent,
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
