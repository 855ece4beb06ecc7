import { setTimeout as sleep } from 'node:timers/promises';
import { SqlDatabase } from '../../src/database/sql-database';
import {
  EventFilter,
  EventStore,
  Position,
  RecordedEvent,
  START,
  Subscription,
} from '../../src/event-store/event-store.port';
import { advanceCheckpoint, prepareProjection } from './checkpoints';
import { tryLead } from './leadership';
import { Projection } from './projection';

export type RunnerState = 'starting' | 'standby' | 'catching-up' | 'live' | 'failed' | 'stopped';

export interface RunnerStatus {
  projection: string;
  state: RunnerState;
  position: Position | null;
  eventsAppliedThisRun: number;
  lastError: string | null;
}

export interface RunnerLogger {
  log(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export interface RunnerOptions {
  /** Most events applied in one transaction. */
  batchSize: number;
  /** How often a standby instance tries to take over. */
  standbyRetryMs: number;
  /** Pause after a failure before trying again. */
  failureBackoffMs: number;
}

export const defaultRunnerOptions: RunnerOptions = {
  batchSize: 500,
  standbyRetryMs: 2_000,
  failureBackoffMs: 5_000,
};

export const projectionFilter = (projection: Projection): EventFilter => ({
  eventTypePrefixes: Object.keys(projection.handlers),
  streamNamePrefixes: projection.streamNamePrefixes,
});

export interface BatchReport {
  applied: number;
  position: Position;
  caughtUp: boolean;
}

/**
 * Applies events to a projection from its checkpoint: buffers what the subscription yields and
 * commits each batch (handlers plus checkpoint) in one transaction. Returns when `signal`
 * aborts, or when caught up if `untilCaughtUp`; the batch in hand is committed first.
 */
const MIN_FETCH_BATCH = 500;

export const runProjection = async (
  projection: Projection,
  deps: { db: SqlDatabase; store: EventStore },
  options: {
    batchSize: number;
    signal: AbortSignal;
    untilCaughtUp?: boolean;
    onBatch?: (report: BatchReport) => void;
    onCaughtUp?: () => void;
  },
): Promise<void> => {
  const checkpoint = await deps.db.transaction((tx) => prepareProjection(tx, projection));
  let committed: Position | null = checkpoint.position;
  let pending: RecordedEvent[] = [];
  let pendingPosition: Position | null = null;
  let caughtUp = false;
  let lastCheckpointOnlyWrite = 0;

  const flush = async (force: boolean) => {
    if (pendingPosition === null || pendingPosition === committed) return;
    // Filtered-out stretches move the position without events: record those at most once a second.
    if (pending.length === 0 && !force && Date.now() - lastCheckpointOnlyWrite < 1_000) return;
    const batch = pending;
    const to: Position = pendingPosition;
    await deps.db.transaction(async (tx) => {
      if (projection.applyBatch) {
        if (batch.length > 0) await projection.applyBatch(batch, tx);
      } else for (const event of batch) await projection.handlers[event.type]!(event, tx);
      await advanceCheckpoint(
        tx,
        projection.name,
        committed,
        to,
        batch.length,
        batch.at(-1)?.recordedAt ?? null,
      );
    });
    if (batch.length === 0) lastCheckpointOnlyWrite = Date.now();
    committed = to;
    pending = [];
    options.onBatch?.({ applied: batch.length, position: to, caughtUp });
  };

  const subscription: Subscription = deps.store.subscribeToAll({
    from: committed ?? START,
    filter: projectionFilter(projection),
    // Fetch in pages of at least this many even when transactions are small: projections that
    // match few events otherwise scan the log a handful of rows per round trip.
    batchSize: Math.max(options.batchSize, MIN_FETCH_BATCH),
  });
  const stop = () => void subscription.close();
  options.signal.addEventListener('abort', stop, { once: true });
  try {
    if (options.signal.aborted) return;
    for await (const message of subscription) {
      switch (message.kind) {
        case 'event':
          if (projection.handlers[message.event.type]) pending.push(message.event);
          pendingPosition = message.event.position;
          if (pending.length >= options.batchSize) await flush(true);
          break;
        case 'checkpoint':
          pendingPosition = message.position;
          await flush(false);
          break;
        case 'caught-up':
          caughtUp = true;
          await flush(true);
          options.onCaughtUp?.();
          if (options.untilCaughtUp) return;
          break;
        default: {
          const unknownMessage: never = message;
          throw new Error(`Unknown subscription message ${JSON.stringify(unknownMessage)}`);
        }
      }
      if (options.signal.aborted) break;
    }
    // Stopping: keep what was already read rather than re-reading it on the next start.
    await flush(true);
  } finally {
    options.signal.removeEventListener('abort', stop);
    await subscription.close();
  }
};

/**
 * Runs one projection for the life of the process: becomes its single leader (advisory lock),
 * applies events until stopped, stands by while another instance leads, and retries after
 * failures with a back-off.
 */
export class ProjectionRunner {
  private state: RunnerState = 'starting';
  private position: Position | null = null;
  private applied = 0;
  private lastError: string | null = null;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    readonly projection: Projection,
    private readonly deps: { db: SqlDatabase; store: EventStore; logger: RunnerLogger },
    private readonly options: RunnerOptions = defaultRunnerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops taking events; resolves once the batch in hand is committed and the lock released. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.state = 'stopped';
  }

  status(): RunnerStatus {
    return {
      projection: this.projection.name,
      state: this.state,
      position: this.position,
      eventsAppliedThisRun: this.applied,
      lastError: this.lastError,
    };
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    const name = this.projection.name;
    while (!signal.aborted) {
      let leadership = null;
      try {
        leadership = await tryLead(this.deps.db, name);
        if (!leadership) {
          if (this.state !== 'standby')
            this.deps.logger.log(`Projection ${name} is led by another instance; standing by`);
          this.state = 'standby';
          await sleep(this.options.standbyRetryMs, undefined, { signal }).catch(() => undefined);
          continue;
        }
        this.state = 'catching-up';
        const lease = leadership;
        const watchdog = new AbortController();
        const onStop = () => watchdog.abort();
        signal.addEventListener('abort', onStop, { once: true });
        // Losing the lock's connection means another instance may take over: stop writing.
        const guard = setInterval(() => {
          void lease.stillHeld().then((held) => {
            if (!held) watchdog.abort();
          });
        }, 5_000);
        try {
          await runProjection(this.projection, this.deps, {
            batchSize: this.options.batchSize,
            signal: watchdog.signal,
            onBatch: (report) => {
              this.position = report.position;
              this.applied += report.applied;
            },
            onCaughtUp: () => {
              this.state = 'live';
              this.deps.logger.log(`Projection ${name} caught up`, { position: this.position });
            },
          });
        } finally {
          clearInterval(guard);
          signal.removeEventListener('abort', onStop);
        }
        this.lastError = null;
      } catch (error) {
        this.state = 'failed';
        this.lastError = error instanceof Error ? error.message : String(error);
        this.deps.logger.error(`Projection ${name} failed; retrying`, { error: this.lastError });
        await sleep(this.options.failureBackoffMs, undefined, { signal }).catch(() => undefined);
      } finally {
        await leadership?.release();
      }
    }
  }
}
