import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '../auth/auth.guard';
import { ProjectionEngine } from '../../projections/projection-engine.service';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';

const TIMEOUT_MS = 3_000;

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
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: database and event store reachable; projection lag in the details. No credential needed.',
  })
  check() {
    return this.health.check([
      () => this.reachable('database', this.db.kind, () => this.db.query('SELECT 1')),
      () => this.reachable('eventStore', this.store.kind, () => this.store.ping()),
      async () => {
        // Lag is information, not readiness: a hub catching up still serves writes.
        const reports = await withTimeout(this.projections.report(), 'Projection status').catch(
          () => [],
        );
        return this.indicators.check('projections').up({
          projections: reports.map((r) => ({
            name: r.projection,
            state: r.state,
            eventsBehind: r.lag?.eventsBehind ?? null,
            secondsBehind: r.lag ? Math.round(r.lag.secondsBehind * 10) / 10 : null,
            eventsApplied: r.lag?.eventsApplied ?? null,
            lastError: r.lastError,
          })),
        });
      },
    ]);
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
