import { SqlExecutor } from '../../src/database/sql-database';
import { EventStore, Position } from '../../src/event-store/event-store.port';
import { ProjectionFailure, readCheckpoint } from './checkpoints';
import { Projection } from './projection';
import { projectionFilter } from './projection-runner';

export interface ProjectionLag {
  projection: string;
  version: number;
  position: Position | null;
  eventsApplied: number;
  /** Events the projection handles that it has not applied yet; null when the store cannot count. */
  eventsBehind: number | null;
  /** Age of the oldest event it has not applied yet; 0 when caught up. */
  secondsBehind: number;
  updatedAt: Date | null;
  /** Recorded by the instance that runs it while it fails. */
  failure: ProjectionFailure | null;
}

const COUNT_CAP = 10_000_000;

/** Lag of a projection from its stored checkpoint, so any process (hub, CLI) can report it. */
export const projectionLag = async (
  db: SqlExecutor,
  store: EventStore,
  projection: Projection,
): Promise<ProjectionLag> => {
  const checkpoint = await readCheckpoint(db, projection.name);
  const position = checkpoint?.position ?? null;
  const filter = projectionFilter(projection);
  const [eventsBehind, [oldestUnapplied]] = await Promise.all([
    store.countEventsAfter(position, filter, COUNT_CAP),
    store.readAll({ from: position ?? 'start', filter, maxCount: 1 }),
  ]);
  return {
    projection: projection.name,
    version: projection.version,
    position,
    eventsApplied: checkpoint?.eventsApplied ?? 0,
    eventsBehind,
    secondsBehind: oldestUnapplied
      ? Math.max(0, (Date.now() - oldestUnapplied.recordedAt.getTime()) / 1000)
      : 0,
    updatedAt: checkpoint?.updatedAt ?? null,
    failure: checkpoint?.failure ?? null,
  };
};

/** A projection's lag as JSON carries it: GET /v1/admin/projections, and the CLI's status. */
export interface ProjectionStatusView {
  projection: string;
  version: number;
  eventsApplied: number;
  eventsBehind: number | null;
  secondsBehind: number;
  updatedAt: string | null;
  failure: { error: string; since: string; attempts: number } | null;
}

export const projectionStatusView = (lag: ProjectionLag): ProjectionStatusView => ({
  projection: lag.projection,
  version: lag.version,
  eventsApplied: lag.eventsApplied,
  eventsBehind: lag.eventsBehind,
  secondsBehind: Math.round(lag.secondsBehind * 10) / 10,
  updatedAt: lag.updatedAt?.toISOString() ?? null,
  failure: lag.failure && { ...lag.failure, since: lag.failure.since.toISOString() },
});
