import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PgliteDatabase } from '../../src/database/pglite-database';
import { PostgresDatabase } from '../../src/database/postgres-database';
import { SqlDatabase, SqlExecutor } from '../../src/database/sql-database';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { programStream } from '../../src/programs/program.events';
import { tempDataDir } from '../support/hub-config';
import {
  createScratchDatabase,
  postgresServer,
  whyNoPostgresServer,
} from '../support/test-databases';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
// A production read model with a handler per event (programs), so the hub runs it as it is.
const PROJECTION = 'programs';
const PROGRAMS = 300;
const INCREMENTS = 40;
const TOTAL_EVENTS = PROGRAMS * (INCREMENTS + 1);

interface ProjectionHealth {
  name: string;
  state: string;
  eventsBehind: number | null;
  eventsApplied: number | null;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

const startHub = async (env: Record<string, string>) => {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, port, output };
};

const projectionHealth = async (port: number): Promise<ProjectionHealth | null> => {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    const body = (await response.json()) as {
      details?: { projections?: { projections?: ProjectionHealth[] } };
    };
    return body.details?.projections?.projections?.find((p) => p.name === PROJECTION) ?? null;
  } catch {
    return null;
  }
};

/** The programs read model, every column, in id order. */
const listPrograms = async (db: SqlExecutor): Promise<unknown[]> =>
  (
    await db.query(
      `SELECT program_id, organisation_id, name, description, registered_by,
              registered_at::text, updated_at::text, revision::text
         FROM hub_programs ORDER BY program_id`,
    )
  ).rows;

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

const seed = async (db: SqlDatabase) => {
  const store = await SqlEventStore.open(db);
  const now = '2026-11-22T10:00:00.000Z';
  for (let t = 0; t < PROGRAMS; t++) {
    const id = `p${String(t).padStart(4, '0')}`;
    await store.appendToStream(programStream(id), [
      {
        id: randomUUID(),
        type: 'ProgramRegistered',
        data: {
          programId: id,
          organisationId: `org-${t % 7}`,
          name: `Program ${t}`,
          description: null,
          registeredBy: 'crash-test',
          registeredAt: now,
        },
      },
      ...Array.from({ length: INCREMENTS }, (_, i) => ({
        id: randomUUID(),
        type: 'ProgramUpdated',
        data: {
          programId: id,
          name: `Program ${t} v${i + 1}`,
          description: `update ${(t % 7) + i}`,
          updatedBy: 'crash-test',
          updatedAt: now,
        },
      })),
    ]);
  }
  await store.close();
};

/**
 * Kills the hub with SIGKILL in the middle of a projection catch-up, starts it again, and checks
 * that it resumed from the checkpoint (each event applied exactly once) and that the read model
 * equals a full rebuild made by the CLI.
 */
const crashScenario = async (
  env: Record<string, string>,
  batchSize: number,
  readModel: () => Promise<unknown>,
) => {
  expect(existsSync(MAIN)).toBe(true);
  // Small batches make the catch-up last long enough to be caught in the middle.
  const slow = { ...env, PROJECTION_BATCH_SIZE: String(batchSize) };

  const first = await startHub(slow);
  let atKill: ProjectionHealth | null = null;
  const deadline = Date.now() + 90_000;
  while (!atKill) {
    if (Date.now() > deadline)
      throw new Error(`Catch-up never observed:\n${first.output.join('')}`);
    const health = await projectionHealth(first.port);
    const applied = health?.eventsApplied ?? 0;
    if (health && applied > 0 && applied < TOTAL_EVENTS * 0.8) atKill = health;
    else await sleep(25);
  }
  first.child.kill('SIGKILL');
  await exited(first.child);
  expect(atKill.eventsApplied).toBeLessThan(TOTAL_EVENTS);

  const second = await startHub(env);
  let resumedAt: number | null = null;
  let live: ProjectionHealth | null = null;
  while (!live) {
    if (Date.now() > deadline + 60_000)
      throw new Error(`Never caught up after restart:\n${second.output.join('')}`);
    const health = await projectionHealth(second.port);
    if (health && resumedAt === null && health.eventsApplied !== null)
      resumedAt = health.eventsApplied;
    if (health?.state === 'live' && health.eventsBehind === 0) live = health;
    else await sleep(50);
  }
  // Resumed from the committed checkpoint, never from the start, and applied every event once.
  expect(resumedAt).toBeGreaterThanOrEqual(atKill.eventsApplied!);
  expect(live.eventsApplied).toBe(TOTAL_EVENTS);

  second.child.kill('SIGTERM');
  expect(await exited(second.child)).toBe(0);
  const afterRecovery = await readModel();

  const rebuild = spawnSync(process.execPath, [CLI, 'projections', 'rebuild', PROJECTION], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  expect(rebuild.stderr).toContain(`Rebuilt ${PROJECTION}: ${TOTAL_EVENTS} events`);
  expect(rebuild.status).toBe(0);
  const afterRebuild = await readModel();
  expect(afterRecovery).toEqual(afterRebuild);
  expect((afterRebuild as unknown[]).length).toBe(PROGRAMS);
};

describe('crash recovery of the projection engine (SIGKILL during catch-up)', () => {
  const noServer = whyNoPostgresServer();
  if (noServer !== null) console.warn(`Skipping the PostgreSQL crash-recovery run: ${noServer}`);
  (noServer === null ? it : it.skip)('on the PostgreSQL server', async () => {
    const server = await postgresServer();
    if ('unavailable' in server) throw new Error(server.unavailable);
    const scratch = await createScratchDatabase(server.url, 'crash');
    const db = new PostgresDatabase(scratch.url);
    try {
      await seed(db);
      await crashScenario({ DATABASE_URL: scratch.url }, 10, () => listPrograms(db));
    } finally {
      await db.close();
      await scratch.drop();
      await server.stop();
    }
  });

  it('on the embedded store (PGlite in DATA_DIR)', async () => {
    const dataDir = tempDataDir('crash');
    const seedDb = await PgliteDatabase.open(dataDir);
    await seed(seedDb);
    await seedDb.close();
    await crashScenario({ DATA_DIR: dataDir }, 1, async () => {
      const db = await PgliteDatabase.open(dataDir);
      try {
        return await listPrograms(db);
      } finally {
        await db.close();
      }
    });
  });
});
