import 'reflect-metadata';
import { projectionLag } from '../../projections/engine/projection-status';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { projections } from '../../projections/registry';
import { ConfigError, loadConfig } from '../config/hub-config';
import { HubError } from '../errors/hub-error';
import { openDatabase, openEventStore } from '../event-store/storage.module';
import { API_KEYS_USAGE, runApiKeysCommand } from './api-keys-command';
import { ENROLMENTS_USAGE, runEnrolmentsCommand } from './enrolments-command';
import { ProgressBar } from './progress-bar';

const USAGE = `Usage:
  npm run projections -- status            list projections with checkpoint and lag
  npm run projections -- rebuild <name>    empty a read model and replay it from the start
  npm run projections -- rebuild --all     rebuild every projection
${API_KEYS_USAGE}
${ENROLMENTS_USAGE}

Configuration comes from the same environment as the hub (DATABASE_URL, EVENTSTORE_URL, DATA_DIR).`;

const fail = (message: string, code = 1): never => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};

const main = async (argv: string[]): Promise<void> => {
  const [area, command, target] = argv;
  if (area === 'api-keys') {
    const config = loadConfig();
    const db = await openDatabase(config);
    const store = await openEventStore(config, db);
    try {
      await runApiKeysCommand(store, argv.slice(1), (line) => process.stdout.write(`${line}\n`));
    } finally {
      await store.close();
      await db.close();
    }
    return;
  }
  if (area === 'enrolments') {
    process.exitCode = await runEnrolmentsCommand(argv.slice(1), process.env, (line) =>
      process.stdout.write(`${line}\n`),
    );
    return;
  }
  if (area !== 'projections' || !command || command === 'help' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    if (area === 'enrolments') {
      process.exitCode = await runEnrolmentsCommand(argv.slice(1), process.env, (line) =>
        process.stdout.write(`${line}\n`),
      );
      return;
    }
    if (area !== 'projections' || !command) process.exitCode = 2;
    return;
  }
  if (command !== 'status' && command !== 'rebuild')
    fail(`Unknown command "${command}".\n\n${USAGE}`, 2);
  const selected =
    command === 'rebuild'
      ? target === '--all'
        ? projections
        : projections.filter((p) => p.name === target)
      : projections;
  if (command === 'rebuild' && selected.length === 0)
    fail(
      target
        ? `No projection named "${target}". Known: ${projections.map((p) => p.name).join(', ')}`
        : `Name the projection to rebuild.\n\n${USAGE}`,
      2,
    );

  const config = loadConfig();
  const db = await openDatabase(config);
  const store = await openEventStore(config, db);
  const abort = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write(
      '\nStopping after the current batch; the rebuild is abandoned and the live read model stays as it was.\n',
    );
    abort.abort();
  });
  try {
    if (command === 'status') {
      const rows = [];
      for (const projection of selected) {
        const lag = await projectionLag(db, store, projection);
        rows.push({
          projection: lag.projection,
          version: lag.version,
          'events applied': lag.eventsApplied,
          'events behind': lag.eventsBehind ?? 'n/a',
          'seconds behind': Math.round(lag.secondsBehind * 10) / 10,
          'updated at': lag.updatedAt?.toISOString() ?? 'never',
          failing: lag.failure
            ? `since ${lag.failure.since.toISOString()} (${lag.failure.attempts} attempts): ${lag.failure.error}`
            : 'no',
        });
      }
      console.table(rows);
      return;
    }
    for (const projection of selected) {
      const bar = new ProgressBar(`Rebuilding ${projection.name}`);
      let applied = 0;
      try {
        const result = await rebuildProjection(
          projection,
          { db, store },
          {
            batchSize: 1_000,
            signal: abort.signal,
            onProgress: (progress) => {
              applied = progress.applied;
              bar.update(progress.applied, progress.total);
            },
          },
        );
        bar.finish(
          `Rebuilt ${projection.name}: ${result.applied} events in ${(result.elapsedMs / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        bar.finish(
          abort.signal.aborted
            ? `Stopped ${projection.name} after ${applied} events; its read model is unchanged`
            : `Rebuilding ${projection.name} failed after ${applied} events; its read model is unchanged`,
        );
        if (abort.signal.aborted) break;
        throw error;
      }
    }
  } finally {
    await store.close();
    await db.close();
  }
};

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof HubError) fail(error.message);
  fail(`Failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
});
