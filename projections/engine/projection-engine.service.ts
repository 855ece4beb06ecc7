import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { HUB_CONFIG, HubConfig } from '../../src/config/hub-config';
import { HUB_METRICS, HubMetrics } from '../../src/metrics/hub-metrics';
import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import { setTimeout as sleep } from 'node:timers/promises';
import { ViewBehindError } from '../../src/errors/hub-error';
import { EVENT_STORE, EventStore, Position } from '../../src/event-store/event-store.port';
import { ProjectionFailure, readCheckpoint } from './checkpoints';
import { Projection } from './projection';
import { defaultRunnerOptions, ProjectionRunner, RunnerStatus } from './projection-runner';
import { ProjectionLag, projectionLag } from './projection-status';

export type ProjectionReport = RunnerStatus & {
  lag: ProjectionLag | null;
  lagError?: string;
  /** The failure recorded by whichever instance runs it (this one or another). */
  failure: ProjectionFailure | null;
};

/** The read models to run, provided by the composition root (projections/registry.ts). */
export const PROJECTIONS = Symbol('PROJECTIONS');

/** Runs every registered projection in the background for the life of the hub. */
// Any fixed key, distinct from the migrations' lock.
const READ_MODEL_SCHEMA_LOCK_KEY = 7_204_551_914;

@Injectable()
export class ProjectionEngine implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Projections');
  private readonly runners: ProjectionRunner[];

  constructor(
    @Inject(PROJECTIONS) projections: readonly Projection[],
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(HUB_METRICS) metrics: HubMetrics,
  ) {
    const logger = {
      log: (message: string, context?: Record<string, unknown>) =>
        this.logger.log(message, context),
      warn: (message: string, context?: Record<string, unknown>) =>
        this.logger.warn(message, context),
      error: (message: string, context?: Record<string, unknown>) =>
        this.logger.error(message, context),
    };
    this.runners = projections.map(
      (projection) =>
        new ProjectionRunner(
          projection,
          {
            db,
            store,
            logger,
            onFailure: (name) => metrics.projectionFailures.inc({ projection: name }),
          },
          {
            ...defaultRunnerOptions,
            batchSize: projection.batchSize ?? config.projectionBatchSize,
          },
        ),
    );
    this.registerGauges(metrics);
  }

  /** Lag and failure of every projection, read when metrics are scraped. */
  private registerGauges(metrics: HubMetrics): void {
    // The three gauges of one scrape share one report.
    let latest: { at: number; reports: Promise<ProjectionReport[]> } | null = null;
    const reports = () => {
      if (!latest || Date.now() - latest.at > 1_000)
        latest = { at: Date.now(), reports: this.report() };
      return latest.reports;
    };
    metrics.gauge(
      'hub_projection_lag_events',
      'Events a projection handles that it has not applied yet',
      ['projection'],
      async () =>
        (await reports()).map((r) => ({
          labels: { projection: r.projection },
          value: r.lag?.eventsBehind ?? Number.NaN,
        })),
    );
    metrics.gauge(
      'hub_projection_lag_seconds',
      'Age of the oldest event a projection has not applied yet',
      ['projection'],
      async () =>
        (await reports()).map((r) => ({
          labels: { projection: r.projection },
          value: r.lag?.secondsBehind ?? Number.NaN,
        })),
    );
    metrics.gauge(
      'hub_projection_failing',
      '1 while a projection fails (on whichever instance runs it), else 0',
      ['projection'],
      async () =>
        (await reports()).map((r) => ({
          labels: { projection: r.projection },
          value: r.failure || r.state === 'failed' ? 1 : 0,
        })),
    );
  }

  /**
   * Read models answer queries from the first request on, before any runner has started, so
   * their tables exist before the hub listens. The lock keeps instances starting together from
   * racing on CREATE ... IF NOT EXISTS.
   */
  async onModuleInit(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [READ_MODEL_SCHEMA_LOCK_KEY]);
      for (const runner of this.runners) await tx.exec(runner.projection.schema);
    });
  }

  onApplicationBootstrap(): void {
    for (const runner of this.runners) runner.start();
  }

  /** Graceful shutdown: each runner commits the batch in hand, then lets go of its lock. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  /**
   * Read-your-writes: resolves true once the projection has applied everything up to `position`
   * (here or on the instance that leads it), false when that takes longer than `timeoutMs`.
   */
  async awaitApplied(name: string, position: Position, timeoutMs = 5_000): Promise<boolean> {
    const runner = this.runner(name);
    const deadline = Date.now() + timeoutMs;
    let lastDatabaseCheck = 0;
    for (;;) {
      const { state, position: applied } = runner.status();
      if (applied !== null && applied >= position) return true;
      // A failing projection will not get there by waiting: say so now.
      if (state === 'failed') return false;
      const leadsHere = state === 'live' || state === 'catching-up';
      if (!leadsHere && Date.now() - lastDatabaseCheck >= 25) {
        lastDatabaseCheck = Date.now();
        const checkpoint = await readCheckpoint(this.db, name);
        if (checkpoint?.position && checkpoint.position >= position) return true;
        if (checkpoint?.failure) return false;
      }
      if (Date.now() >= deadline) return false;
      await sleep(leadsHere ? 2 : 10);
    }
  }

  /**
   * Read-your-writes for a write that answers with a read-model view: returns once the view
   * shows `position`, else throws ViewBehindError (503, Retry-After, and where to read it):
   * never a 404 for something just written.
   */
  async ensureApplied(name: string, position: Position, location: string | null): Promise<void> {
    if (!(await this.awaitApplied(name, position))) throw new ViewBehindError(name, location);
  }

  private runner(name: string): ProjectionRunner {
    const runner = this.runners.find((candidate) => candidate.projection.name === name);
    if (!runner) throw new Error(`No projection named ${name}`);
    return runner;
  }

  async report(): Promise<ProjectionReport[]> {
    return Promise.all(
      this.runners.map(async (runner) => {
        const status = runner.status();
        try {
          const lag = await projectionLag(this.db, this.store, runner.projection);
          return { ...status, lag, failure: lag.failure };
        } catch (error) {
          return {
            ...status,
            lag: null,
            lagError: error instanceof Error ? error.message : String(error),
            failure: null,
          };
        }
      }),
    );
  }
}
