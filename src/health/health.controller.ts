import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '../auth/auth.guard';
import { ApiProblems } from '../errors/api-problems';
import {
  ProjectionEngine,
  ProjectionReport,
} from '../../projections/engine/projection-engine.service';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { HealthView } from './health.dto';

const TIMEOUT_MS = 3_000;

interface FailingProjection {
  projection: string;
  error: string;
  since: Date;
  attempts: number;
}

const withTimeout = <T>(work: Promise<T>, what: string): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${what} did not answer within ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      ).unref(),
    ),
  ]);

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly projections: ProjectionEngine,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Get()
  // Documented here: terminus documents its own 503 body, which the hub answers as a problem.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'Readiness: database and event store reachable (503 when not); each projection’s state, lag and failure. A failing projection makes the status "degraded" (still 200: writes and the other read models work). No credential needed.',
  })
  @ApiOkResponse({ type: HealthView })
  @ApiProblems({ 503: ['NOT_READY'] })
  async check() {
    let failing: FailingProjection[] = [];
    const result = await this.health.check([
      () => this.reachable('database', this.db.kind, () => this.db.query('SELECT 1')),
      () => this.reachable('eventStore', this.store.kind, () => this.store.ping()),
      async () => {
        // Lag is information, not readiness: a hub catching up still serves writes.
        const reports = await withTimeout(this.projections.report(), 'Projection status').catch(
          () => [],
        );
        failing = reports.flatMap((r) => {
          const failure = r.failure ?? (r.state === 'failed' ? this.localFailure(r) : null);
          return failure ? [{ projection: r.projection, ...failure }] : [];
        });
        return this.indicators.check('projections').up({
          projections: reports.map((r) => ({
            name: r.projection,
            state: r.state,
            eventsBehind: r.lag?.eventsBehind ?? null,
            secondsBehind: r.lag ? Math.round(r.lag.secondsBehind * 10) / 10 : null,
            eventsApplied: r.lag?.eventsApplied ?? null,
            lastError: r.lastError ?? r.failure?.error ?? null,
            failingSince: (r.failure?.since ?? r.failingSince)?.toISOString() ?? null,
          })),
        });
      },
    ]);
    if (failing.length === 0) return result;
    return {
      ...result,
      status: 'degraded',
      degraded: failing.map((f) => ({
        projection: f.projection,
        error: f.error,
        since: f.since.toISOString(),
        attempts: f.attempts,
      })),
    };
  }

  /** A failure this instance saw but could not record (the database refused the record too). */
  private localFailure(report: ProjectionReport) {
    return {
      error: report.lastError ?? 'failed',
      since: report.failingSince ?? new Date(),
      attempts: 1,
    };
  }

  private async reachable(key: string, kind: string, probe: () => Promise<unknown>) {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(probe(), key);
      return indicator.up({ kind });
    } catch (error) {
      return indicator.down({
        kind,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
