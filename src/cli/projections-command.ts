import { Projection } from '../../projections/engine/projection';
import {
  projectionLag,
  projectionStatusView,
  ProjectionStatusView,
} from '../../projections/engine/projection-status';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { projections } from '../../projections/registry';
import { HubConfig, loadConfig } from '../config/hub-config';
import { SqlDatabase } from '../database/sql-database';
import { describeFailure } from '../errors/failure-line';
import { HubError, InvalidInputError } from '../errors/hub-error';
import { EventStore } from '../event-store/event-store.port';
import { LocalHub, localHub, withStorage } from './hub-access';
import { ProgressBar } from './progress-bar';

export const PROJECTIONS_USAGE = `  npm run projections -- status            list projections with checkpoint and lag
                                           (exits 1 when one of them is failing)
  npm run projections -- rebuild <name>    empty a read model and replay it from the start
  npm run projections -- rebuild --all     rebuild every projection`;

/** `npm run projections -- …`; returns the exit code. */
export const runProjectionsCommand = async (args: readonly string[]): Promise<number> => {
  const [command, target] = args;
  if (command === 'status') return showStatus(loadConfig());
  if (command === 'rebuild') return rebuild(loadConfig(), selected(target));
  throw new InvalidInputError(
    `Unknown projections command "${command ?? ''}": use status or rebuild (npm run hub -- help).`,
  );
};

const selected = (target: string | undefined): readonly Projection[] => {
  if (target === '--all') return projections;
  const named = projections.filter((p) => p.name === target);
  if (named.length > 0) return named;
  const known = projections.map((p) => p.name).join(', ');
  throw new InvalidInputError(
    target
      ? `No projection named "${target}". Known: ${known}`
      : `Name the projection to rebuild, or --all. Known: ${known}`,
  );
};

/** Prints each projection's checkpoint and lag; 1 when one of them is failing, else 0. */
const showStatus = async (config: HubConfig): Promise<number> => {
  const hub = await localHub(config);
  const views = hub
    ? (await hub.client.get<{ items: ProjectionStatusView[] }>('/v1/admin/projections')).items
    : await withStorage(config, statusFromStore);
  console.table(views.map(statusRow));
  return views.some((view) => view.failure) ? 1 : 0;
};

const statusFromStore = async (db: SqlDatabase, store: EventStore) => {
  const views: ProjectionStatusView[] = [];
  for (const projection of projections)
    views.push(projectionStatusView(await projectionLag(db, store, projection)));
  return views;
};

const statusRow = (view: ProjectionStatusView) => ({
  projection: view.projection,
  version: view.version,
  'events applied': view.eventsApplied,
  'events behind': view.eventsBehind ?? 'n/a',
  'seconds behind': view.secondsBehind,
  'updated at': view.updatedAt ?? 'never',
  failing: view.failure
    ? `since ${view.failure.since} (${view.failure.attempts} attempts): ${view.failure.error}`
    : 'no',
});

const rebuild = async (config: HubConfig, chosen: readonly Projection[]): Promise<number> => {
  const hub = await localHub(config);
  if (hub) throw hubRunsProjections(hub);
  const abort = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write(
      '\nStopping after the current batch; the rebuild is abandoned and the live read model stays as it was.\n',
    );
    abort.abort();
  });
  const rebuilt = await withStorage(config, async (db, store) => {
    for (const projection of chosen)
      if (!(await rebuildOne(projection, { db, store }, abort.signal))) return false;
    return true;
  });
  if (abort.signal.aborted) return 130;
  return rebuilt ? 0 : 1;
};

/**
 * A rebuild takes the projection's lock, which the hub holds while it runs the projection: on
 * a PostgreSQL server as in the embedded DATA_DIR, the hub has to stop first.
 */
const hubRunsProjections = (hub: LocalHub) =>
  new HubError(
    'conflict',
    'PROJECTION_BUSY',
    `The hub (process ${hub.pid}, ${hub.client.base}) holds DATA_DIR and runs the projections: stop it, then rebuild.`,
  );

const rebuildOne = async (
  projection: Projection,
  deps: { db: SqlDatabase; store: EventStore },
  signal: AbortSignal,
): Promise<boolean> => {
  const bar = new ProgressBar(`Rebuilding ${projection.name}`);
  let applied = 0;
  try {
    const result = await rebuildProjection(projection, deps, {
      batchSize: 1_000,
      signal,
      onProgress: (progress) => {
        applied = progress.applied;
        bar.update(progress.applied, progress.total);
      },
    });
    bar.finish(
      `Rebuilt ${projection.name}: ${result.applied} events in ${(result.elapsedMs / 1000).toFixed(1)} s`,
    );
    return true;
  } catch (error) {
    bar.finish(
      signal.aborted
        ? `Stopped ${projection.name} after ${applied} events; its read model is unchanged`
        : `Rebuilding ${projection.name} failed after ${applied} events, its read model unchanged: ${describeFailure(error)}`,
    );
    return false;
  }
};
