import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { HUB_SYSTEM_ACTOR } from '../auth/principal';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import {
  EVENT_STORE,
  EventStore,
  RecordedEvent,
  START,
  Subscription,
} from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import { batchDecider, BatchState, nextBoundary } from './batch.decider';
import { BATCH_STREAM_PREFIX, BatchEvent, batchStream } from './batch.events';

interface Tracked {
  state: BatchState;
  /** When the batch's status next changes; null while none is ahead (ended, or no end date). */
  boundary: number | null;
  /** A boundary already acted on; skipped until the batch's next event arrives. */
  handled: number | null;
}

// setTimeout cannot wait longer than ~24.8 days; far boundaries are re-examined on the way.
const MAX_WAIT_MS = 6 * 60 * 60 * 1_000;
const RETRY_MS = 1_000;

// The scheduler needs only dates and status; long lists would cost memory for every batch.
const withoutLists = (state: BatchState): BatchState =>
  state.exists ? { ...state, invitees: [], mentors: [], createdFor: [] } : state;

/**
 * Appends BatchStarted / BatchEnded at each batch's boundary, not on a sweep. It follows every
 * batch event (from the start of the log, so a restart re-learns every pending boundary and
 * immediately appends the transitions that fell due while the hub was down) and keeps one timer
 * for the earliest boundary. Every instance runs it; the batch stream's expected revision lets
 * exactly one instance's append through, and the others then find nothing left to do.
 */
@Injectable()
export class BatchStatusScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BatchStatusScheduler');
  private readonly batches = new Map<string, Tracked>();
  private subscription: Subscription | null = null;
  private following: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private armedFor: number | null = null;
  private live = false;
  private stopped = false;
  private running: Promise<void> | null = null;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.following = this.follow();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.subscription?.close();
    await this.following;
    await this.running;
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      this.batches.clear();
      this.live = false;
      try {
        this.subscription = this.store.subscribeToAll({
          from: START,
          filter: { streamNamePrefixes: [BATCH_STREAM_PREFIX] },
        });
        for await (const message of this.subscription) {
          if (message.kind === 'event') this.track(message.event);
          else if (message.kind === 'caught-up') {
            this.live = true;
            this.logger.log(`Following ${this.batches.size} batches`);
            this.arm(0);
          }
        }
        return;
      } catch (error) {
        if (this.stopped) return;
        this.logger.error('Lost the batch subscription; following again shortly', {
          error: error instanceof Error ? error.message : String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private track(recorded: RecordedEvent): void {
    const event = { type: recorded.type, data: recorded.data } as BatchEvent;
    const batchId = event.data.batchId;
    // Ended batches stay tracked: extending one reopens it, and then it has an end again.
    const state = withoutLists(
      batchDecider.evolve(this.batches.get(batchId)?.state ?? batchDecider.initialState(), event),
    );
    const boundary = nextBoundary(state)?.getTime() ?? null;
    this.batches.set(batchId, { state, boundary, handled: null });
    if (this.live && boundary !== null && (this.armedFor === null || boundary < this.armedFor))
      this.arm(boundary - Date.now());
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.min(Math.max(delayMs, 0), MAX_WAIT_MS);
    this.armedFor = Date.now() + wait;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.armedFor = null;
      if (this.running) {
        void this.running.then(() => this.arm(0));
        return;
      }
      this.running = this.fire().finally(() => {
        this.running = null;
      });
    }, wait);
  }

  /** Advances every batch whose boundary has passed, then waits for the next boundary. */
  private async fire(): Promise<void> {
    let retry = false;
    const now = Date.now();
    for (const [batchId, batch] of this.batches) {
      const { boundary } = batch;
      if (boundary === null || boundary > now || batch.handled === boundary) continue;
      if (this.stopped) return;
      try {
        await handleCommand(
          this.store,
          batchStream(batchId),
          batchDecider,
          { type: 'AdvanceBatchStatus', batchId, now: this.clock.now() },
          { metadata: actorMetadata(HUB_SYSTEM_ACTOR), maxRetries: 5 },
        );
        batch.handled = boundary;
      } catch (error) {
        retry = true;
        this.logger.warn(`Could not advance batch ${batchId}; retrying`, {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    let earliest: number | null = null;
    for (const batch of this.batches.values()) {
      const { boundary } = batch;
      if (boundary === null || batch.handled === boundary) continue;
      if (earliest === null || boundary < earliest) earliest = boundary;
    }
    if (retry) this.arm(RETRY_MS);
    else if (earliest !== null) this.arm(earliest - Date.now());
  }
}
