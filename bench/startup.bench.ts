import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { envInt, progress } from './bench-support';
import { freePort } from './hub-process';

/**
 * Start-up on the embedded default (PGlite in DATA_DIR, nothing configured), as `npm start` runs
 * it: the time from spawning node to the first `/health` 200, on a fresh DATA_DIR and on a
 * restart of the same one. Then where a fresh start spends it: loading the code, opening PGlite,
 * migrating, and the rest (Nest, projections catching up, listening), each measured on its own.
 *
 * BENCH_STARTUP_RUNS (default 5) starts of each kind.
 */

const DIST = join(__dirname, '..');
const MAIN = join(DIST, 'src', 'main.js');
const START_FLAGS = ['--max-semi-space-size=32', '--heap-growing-percent=50', '--expose-gc'];

const untilHealthy = async (base: string, exited: () => boolean): Promise<void> => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (exited()) throw new Error('The hub exited while starting');
    if (Date.now() > deadline) throw new Error('The hub did not answer /health within 120 s');
    await sleep(10);
  }
};

/** Spawns the hub on dataDir, waits for /health 200, stops it; the milliseconds to healthy. */
const timeStart = async (dataDir: string): Promise<number> => {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...START_FLAGS, MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await untilHealthy(`http://127.0.0.1:${port}`, () => child.exitCode !== null);
    return performance.now() - started;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
};

/** Runs a script in a fresh node and returns the milliseconds it printed for each phase. */
const phases = (script: string): Promise<Record<string, number>> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...START_FLAGS, '-e', script], {
      cwd: DIST,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as Record<string, number>)
        : reject(new Error(`phase script exited ${code}`)),
    );
  });

const PHASES_SCRIPT = (dataDir: string) => `
const { performance } = require('node:perf_hooks');
const t0 = performance.now();
require('reflect-metadata');
require('./src/app');
const t1 = performance.now();
const { PgliteDatabase } = require('./src/database/pglite-database');
const { runMigrations } = require('./src/database/migrations/migrations');
(async () => {
  const db = await PgliteDatabase.open(${JSON.stringify(dataDir)});
  const t2 = performance.now();
  await runMigrations(db);
  const t3 = performance.now();
  await db.close();
  const t4 = performance.now();
  process.stdout.write(JSON.stringify({
    nodeToScriptMs: t0,
    loadCodeMs: t1 - t0,
    openPgliteMs: t2 - t1,
    migrateMs: t3 - t2,
    closeMs: t4 - t3,
  }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const main = async (): Promise<void> => {
  const runs = envInt('BENCH_STARTUP_RUNS', 5);
  const root = mkdtempSync(join(os.tmpdir(), 'hub-startup-'));
  try {
    const fresh: number[] = [];
    const restart: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const dataDir = join(root, `run-${run}`);
      fresh.push(await timeStart(dataDir));
      restart.push(await timeStart(dataDir));
      progress(`run ${run + 1}: fresh ${fmt(fresh.at(-1)!)}, restart ${fmt(restart.at(-1)!)}`);
    }
    const breakdown: Record<string, number>[] = [];
    for (let run = 0; run < runs; run += 1)
      breakdown.push(await phases(PHASES_SCRIPT(join(root, `phases-${run}`))));
    const phaseMedian = (key: string) => median(breakdown.map((b) => b[key]!));
    const freshMedian = median(fresh);
    const accounted = ['nodeToScriptMs', 'loadCodeMs', 'openPgliteMs', 'migrateMs'].reduce(
      (sum, key) => sum + phaseMedian(key),
      0,
    );
    console.log(`Start-up on the embedded default (${runs} runs, ${os.cpus().length} cores)`);
    console.log(
      `  fresh DATA_DIR to /health 200: median ${fmt(freshMedian)}, max ${fmt(Math.max(...fresh))}`,
    );
    console.log(
      `  restart on it:                 median ${fmt(median(restart))}, max ${fmt(Math.max(...restart))}`,
    );
    console.log('  where a fresh start spends it (medians):');
    console.log(`    node itself:                  ${fmt(phaseMedian('nodeToScriptMs'))}`);
    console.log(`    loading the hub's code:       ${fmt(phaseMedian('loadCodeMs'))}`);
    console.log(`    opening a new PGlite:         ${fmt(phaseMedian('openPgliteMs'))}`);
    console.log(`    migrating it:                 ${fmt(phaseMedian('migrateMs'))}`);
    console.log(
      `    the rest (Nest, projections, listen): ${fmt(Math.max(0, freshMedian - accounted))}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
