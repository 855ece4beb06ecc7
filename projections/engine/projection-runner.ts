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
import { advanceCheckpoint, prepareProjection, readCheckpoint, recordFailure } from './checkpoints';
import { tryLead } from '../../src/coordination/leadership';
import { Projection } from './projection';

export type RunnerState = 'starting' | 'standby' | 'catching-up' | 'live' | 'failed' | 'stopped';

export interface RunnerStatus {
  projection: string;
  state: RunnerState;
  position: Position | null;
  eventsAppliedThisRun: number;
  lastError: string | null;
  /** When the failures in a row began; null while it runs well. */
  failingSince: Date | null;
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
  /** Pause after the first failure before trying again; it doubles with each failure in a row. */
  failureBackoffMs: number;
  /** Longest pause between attempts of a projection that keeps failing. */
  maxFailureBackoffMs: number;
}

export const defaultRunnerOptions: RunnerOptions = {
  batchSize: 500,
  standbyRetryMs: 2_000,
  failureBackoffMs: 1_000,
  maxFailureBackoffMs: 60_000,
};

/**
 * Where a run writes: the live read model, or (for a rebuild) tables of the same names in a
 * schema of their own, found first on the search path, with a checkpoint of their own.
 */
export interface ProjectionTarget {
  checkpoint: string;
  /** A search path to set in every transaction; null for the live tables. */
  searchPath: string | null;
}

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
    /** The live read model unless given. */
    target?: ProjectionTarget;
  },
): Promise<void> => {
  const target = options.target ?? { checkpoint: projection.name, searchPath: null };
  const checkpoint = options.target
    ? await readCheckpoint(deps.db, target.checkpoint)
    : await deps.db.transaction((tx) => prepareProjection(tx, projection));
  if (!checkpoint) throw new Error(`No checkpoint ${target.checkpoint} to run from`);
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
      if (target.searchPath !== null)
        await tx.query(`SELECT set_config('search_path', $1, true)`, [target.searchPath]);
      if (projection.applyBatch) {
        if (batch.length > 0) await projection.applyBatch(batch, tx);
      } else for (const event of batch) await projection.handlers[event.type]!(event, tx);
      await advanceCheckpoint(
        tx,
        target.checkpoint,
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
  private failingSince: Date | null = null;
  private failuresInARow = 0;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    readonly projection: Projection,
    private readonly deps: {
      db: SqlDatabase;
      store: EventStore;
      logger: RunnerLogger;
      /** Counts failures (the metric). */
      onFailure?: (projection: string) => void;
    },
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
      failingSince: this.failingSince,
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
              this.recovered();
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
        this.recovered();
      } catch (error) {
        const pause = await this.failed(error);
        await sleep(pause, undefined, { signal }).catch(() => undefined);
      } finally {
        await leadership?.release();
      }
    }
  }

  private recovered(): void {
    this.lastError = null;
    this.failingSince = null;
    this.failuresInARow = 0;
  }

  /**
   * A failure stops this projection only: it is recorded where every instance and /health see
   * it, and retried after a pause that doubles while it keeps failing. Returns the pause.
   */
  private async failed(error: unknown): Promise<number> {
    this.state = 'failed';
    this.lastError = error instanceof Error ? error.message : String(error);
    this.failingSince ??= new Date();
    this.failuresInARow++;
    const name = this.projection.name;
    this.deps.logger.error(`Projection ${name} failed; retrying`, {
      error: this.lastError,
      failuresInARow: this.failuresInARow,
    });
    this.deps.onFailure?.(name);
    await recordFailure(this.deps.db, name, this.lastError).catch(() => undefined);
    return Math.min(
      this.options.maxFailureBackoffMs,
      this.options.failureBackoffMs * 2 ** Math.min(this.failuresInARow - 1, 20),
    );
  }
}
