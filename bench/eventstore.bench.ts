/**
 * Event-store benchmark against the PostgreSQL server adapter.
 *
 *   npm run bench:eventstore
 *
 * Creates a scratch database `bench_<timestamp>` on the server of BENCH_DATABASE_URL (else
 * DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test), runs the cases, prints progress
 * on stderr and the results table on stdout, and drops the scratch database (also on failure
 * or Ctrl-C). Server settings are never changed.
 *
 * Store options (defaults: the store's own):
 *   BENCH_LANES, BENCH_MAX_EVENTS_PER_BATCH, BENCH_POOL (maxConnections),
 *   BENCH_SUB_BATCH (subscription batchSize; a comma list measures each; default 1000,2000,5000)
 * BENCH_ONLY=a1,a8,b,c runs only those cases.
 * BENCH_SWEEP=1 runs a configuration sweep (shorter cases, BENCH_SWEEP_REPS repetitions, grid
 * BENCH_SWEEP_GRID="lanes/maxEventsPerBatch/maxConnections,...") instead of the standard run.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { PostgresDatabase } from '../src/database/postgres-database';
import { SqlEventStore } from '../src/event-store/sql/sql-event-store';
import {
  collectGarbage,
  drive,
  fmtInt,
  fmtMiB,
  fmtRate,
  fmtCores,
  makeEvents,
  measuredSince,
  sampleCpu,
  Measured,
  payload,
  progress,
  renderTable,
} from './bench-support';
import { createScratchDatabase, redactUrl, ScratchDatabase, serverUrl } from './scratch-database';

// ---------------------------------------------------------------------------------------------
// Configuration

interface StoreConfig {
  lanes: number;
  maxEventsPerBatch: number;
  maxConnections: number;
}

/** The store's own defaults (SqlEventStore, PostgresDatabase) for a server database. */
const STORE_DEFAULTS: StoreConfig = { lanes: 2, maxEventsPerBatch: 200, maxConnections: 20 };
const DEFAULT_SUBSCRIPTION_BATCH = 1_000;

const envInt = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
};

const envIntList = (name: string): number[] | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must list whole numbers`);
    return value;
  });
};

const configured: StoreConfig = {
  lanes: envInt('BENCH_LANES') ?? STORE_DEFAULTS.lanes,
  maxEventsPerBatch: envInt('BENCH_MAX_EVENTS_PER_BATCH') ?? STORE_DEFAULTS.maxEventsPerBatch,
  maxConnections: envInt('BENCH_POOL') ?? STORE_DEFAULTS.maxConnections,
};
const subscriptionBatches = envIntList('BENCH_SUB_BATCH') ?? [
  DEFAULT_SUBSCRIPTION_BATCH,
  2_000,
  5_000,
];
const sweep = process.env.BENCH_SWEEP === '1';
/** BENCH_ONLY=a1,a8,b,c runs just those cases (for quick experiments). */
const only = new Set((process.env.BENCH_ONLY ?? 'a1,a8,b,c').split(',').map((part) => part.trim()));

const describeConfig = (c: StoreConfig): string =>
  `lanes=${c.lanes} maxEventsPerBatch=${c.maxEventsPerBatch} maxConnections=${c.maxConnections}`;

/** The append cases: writers, events per append, and how much work to warm up / measure. */
interface AppendCase {
  key: string;
  label: string;
  writers: number;
  eventsPerAppend: number;
  warmupAppendsPerWriter: number;
  appendsPerWriter: number;
  capSeconds: number;
  target?: number;
}

const APPEND_CASES: readonly AppendCase[] = [
  {
    key: 'a1',
    label: '(a) 1-event appends, 1 writer',
    writers: 1,
    eventsPerAppend: 1,
    warmupAppendsPerWriter: 300,
    appendsPerWriter: 5_000,
    capSeconds: 10,
  },
  {
    key: 'a8',
    label: '(a) 1-event appends, 8 writers',
    writers: 8,
    eventsPerAppend: 1,
    warmupAppendsPerWriter: 100,
    appendsPerWriter: 5_000,
    capSeconds: 10,
    target: 7_000,
  },
  {
    key: 'b',
    label: '(b) 100-event appends, 4 writers',
    writers: 4,
    eventsPerAppend: 100,
    warmupAppendsPerWriter: 10,
    appendsPerWriter: 750,
    capSeconds: 15,
    target: 60_000,
  },
];

const CATCH_UP_EVENTS = 1_000_000;
const CATCH_UP_TARGET = 100_000;
const LOAD_WRITERS = 8;
const LOAD_EVENTS_PER_APPEND = 1_000;

// ---------------------------------------------------------------------------------------------
// Hub appends

interface StreamState {
  stream: string;
  revision: bigint | null;
}

const runId = Date.now().toString(36);

const hubAppendStep =
  (store: SqlEventStore, state: StreamState, eventsPerAppend: number) =>
  async (): Promise<number> => {
    const events = makeEvents(eventsPerAppend);
    const expected = state.revision ?? 'no_stream';
    const result = await store.appendToStream(state.stream, events, { expectedRevision: expected });
    const wanted = (state.revision ?? -1n) + BigInt(eventsPerAppend);
    if (result.nextExpectedRevision !== wanted)
      throw new Error(`${state.stream}: revision ${result.nextExpectedRevision}, wanted ${wanted}`);
    state.revision = result.nextExpectedRevision;
    return eventsPerAppend;
  };

const runHubCase = async (
  store: SqlEventStore,
  spec: AppendCase,
  tag: string,
  scale = 1,
): Promise<Measured> => {
  const states: StreamState[] = Array.from({ length: spec.writers }, (_, w) => ({
    stream: `learner-progress-${tag}-${spec.key}-${runId}-w${w}`,
    revision: null,
  }));
  const stepFor = (w: number) => hubAppendStep(store, states[w]!, spec.eventsPerAppend);
  await drive(spec.writers, spec.warmupAppendsPerWriter, 5, stepFor);
  return drive(spec.writers, Math.ceil(spec.appendsPerWriter * scale), spec.capSeconds, stepFor);
};

// ---------------------------------------------------------------------------------------------
// The floor: plain INSERTs into a bare table, one dedicated pg client per writer

const FLOOR_TABLE = `CREATE TABLE bench_floor (
  id bigserial PRIMARY KEY,
  stream text NOT NULL,
  revision bigint NOT NULL,
  data jsonb NOT NULL
)`;

const multiRowInsert = (rows: number): string =>
  `INSERT INTO bench_floor (stream, revision, data) VALUES ${Array.from(
    { length: rows },
    (_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3}::jsonb)`,
  ).join(', ')}`;

let floorSequence = 0;

const runFloorCase = async (url: string, spec: AppendCase): Promise<Measured> => {
  const clients = await Promise.all(
    Array.from({ length: spec.writers }, async () => {
      const client = new Client({ connectionString: url, application_name: 'hub-bench-floor' });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    }),
  );
  try {
    const sql = multiRowInsert(spec.eventsPerAppend);
    const stepFor = (w: number) => {
      const client = clients[w]!;
      const stream = `floor-${spec.key}-${runId}-w${w}`;
      let revision = 0;
      // Autocommit: each statement is its own transaction, as one append is for the hub.
      return async (): Promise<number> => {
        const params: unknown[] = [];
        for (let i = 0; i < spec.eventsPerAppend; i++)
          params.push(stream, revision++, JSON.stringify(payload(floorSequence++)));
        await client.query(sql, params);
        return spec.eventsPerAppend;
      };
    };
    await drive(spec.writers, spec.warmupAppendsPerWriter, 5, stepFor);
    return await drive(spec.writers, spec.appendsPerWriter, spec.capSeconds, stepFor);
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
};

// ---------------------------------------------------------------------------------------------
// Catch-up

const countEvents = async (db: PostgresDatabase): Promise<number> => {
  const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM hub_events');
  return Number(rows[0]?.n ?? 0);
};

/**
 * Subscriptions only read rows of transactions older than the oldest one still running on the
 * server (any database: transaction ids are cluster-wide), so wait until none is older than
 * our last append; someone else's long transaction would otherwise hide the tail of the log.
 */
const waitUntilStable = async (db: PostgresDatabase): Promise<void> => {
  const deadline = performance.now() + 60_000;
  for (let said = false; ; said = true) {
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM hub_events
        WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`,
    );
    const unstable = Number(rows[0]?.n ?? 0);
    if (unstable === 0) return;
    if (performance.now() > deadline)
      throw new Error(`${unstable} events stay behind an older open transaction on the server`);
    if (!said) progress(`waiting for an older open transaction on the server to end`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
};

/** Tops the log up to `total` events with concurrent 1000-event appends (not measured). */
const loadLog = async (url: string, db: PostgresDatabase, total: number): Promise<void> => {
  const present = await countEvents(db);
  let missing = total - present;
  if (missing <= 0) return;
  progress(`loading ${fmtInt(missing)} events (log holds ${fmtInt(present)})`);
  const loaderDb = new PostgresDatabase(url, {
    maxConnections: 4,
    applicationName: 'hub-bench-load',
  });
  const loader = await SqlEventStore.open(loaderDb, {
    append: { lanes: 2, maxEventsPerBatch: 4_000 },
  });
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: LOAD_WRITERS }, async (_, w) => {
        const state: StreamState = {
          stream: `learner-progress-load-${runId}-w${w}`,
          revision: null,
        };
        while (missing > 0) {
          const size = Math.min(LOAD_EVENTS_PER_APPEND, missing);
          missing -= size;
          await hubAppendStep(loader, state, size)();
        }
      }),
    );
  } finally {
    await loader.close();
    await loaderDb.close();
  }
  const seconds = (performance.now() - start) / 1000;
  progress(`loaded in ${seconds.toFixed(1)} s (${fmtRate((total - present) / seconds)} events/s)`);
  // Autovacuum may be off on the server: set hint bits and statistics now, as it would.
  const vacuumStart = performance.now();
  await db.exec('VACUUM (ANALYZE) hub_events');
  await db.exec('VACUUM (ANALYZE) hub_streams');
  progress(`vacuum analyze in ${((performance.now() - vacuumStart) / 1000).toFixed(1)} s`);
};

interface CatchUpResult extends Measured {
  batchSize: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  rssAfterGc: number;
  heapUsedAfterGc: number;
}

const catchUp = async (
  store: SqlEventStore,
  batchSize: number,
  expected: number,
  stopAfter = Infinity,
): Promise<CatchUpResult> => {
  collectGarbage();
  const start = sampleCpu();
  let seen = 0;
  let caughtUp = false;
  let lastPosition = '';
  const subscription = store.subscribeToAll({ from: 'start', batchSize });
  try {
    for await (const message of subscription) {
      if (message.kind === 'event') {
        seen++;
        lastPosition = message.event.position;
        if (seen >= stopAfter) break;
      } else if (message.kind === 'caught-up') {
        caughtUp = true;
        break;
      }
    }
  } finally {
    await subscription.close();
  }
  const measured = measuredSince(start, seen);
  const memory = process.memoryUsage();
  if (stopAfter === Infinity) {
    if (!caughtUp) throw new Error('subscription ended without caught-up');
    if (seen !== expected) throw new Error(`caught up after ${seen} events, expected ${expected}`);
    const head = await store.headPosition();
    if (head !== lastPosition)
      throw new Error(`last event ${lastPosition} is not the head ${head}`);
  }
  collectGarbage();
  const afterGc = process.memoryUsage();
  return {
    ...measured,
    batchSize,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    rssAfterGc: afterGc.rss,
    heapUsedAfterGc: afterGc.heapUsed,
  };
};

/**
 * The read floor: the store's own page query issued from a bare pg client with keyset paging,
 * rows taken as pg parses them (jsonb decoded), without turning them into RecordedEvents.
 */
const catchUpFloor = async (
  url: string,
  batchSize: number,
  expected: number,
): Promise<Measured> => {
  const client = new Client({ connectionString: url, application_name: 'hub-bench-read-floor' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const sql = `SELECT transaction_id::text AS txid, global_position::text AS gpos, stream_name,
        stream_revision::text AS revision, event_id::text AS id, event_type, data, metadata, recorded_at
       FROM hub_events
      WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY transaction_id, global_position LIMIT $3`;
    const readAll = async (stopAfter: number): Promise<number> => {
      let txid = '0';
      let gpos = '0';
      let seen = 0;
      while (seen < stopAfter) {
        const { rows } = await client.query<{ txid: string; gpos: string }>(sql, [
          txid,
          gpos,
          batchSize,
        ]);
        seen += rows.length;
        const last = rows[rows.length - 1];
        if (last) ({ txid, gpos } = last);
        if (rows.length < batchSize) break;
      }
      return seen;
    };
    await readAll(50_000); // warm-up, as the hub's subscription gets
    collectGarbage();
    const start = sampleCpu();
    const seen = await readAll(Infinity);
    const measured = measuredSince(start, seen);
    if (seen !== expected) throw new Error(`read floor saw ${seen} events, expected ${expected}`);
    return measured;
  } finally {
    await client.end().catch(() => undefined);
  }
};

// ---------------------------------------------------------------------------------------------
// Run

interface Row {
  label: string;
  hub: Measured;
  floor?: Measured;
  target?: number;
}

const checkpoint = async (db: PostgresDatabase): Promise<void> => {
  // Start every measured case from a fresh checkpoint, so none pays for a checkpoint that an
  // earlier case's WAL triggered. Needs superuser or pg_checkpoint; skipped otherwise.
  await db.exec('CHECKPOINT').catch(() => undefined);
};

const machine = async (db: PostgresDatabase): Promise<string[]> => {
  const setting = async (name: string): Promise<string> => {
    const { rows } = await db.query<{ value: string }>('SELECT current_setting($1) AS value', [
      name,
    ]);
    return rows[0]?.value ?? '?';
  };
  const cpus = os.cpus();
  return [
    `cores: ${cpus.length} (${cpus[0]?.model ?? 'unknown cpu'}), memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `os: ${os.type()} ${os.release()} ${os.arch()}`,
    `node: ${process.version}; load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `postgres: ${await setting('server_version')}; synchronous_commit=${await setting('synchronous_commit')}, fsync=${await setting('fsync')}, wal_sync_method=${await setting('wal_sync_method')}, shared_buffers=${await setting('shared_buffers')}, autovacuum=${await setting('autovacuum')}`,
  ];
};

const openStore = async (url: string, config: StoreConfig, subscriptionBatchSize?: number) => {
  const db = new PostgresDatabase(url, {
    maxConnections: config.maxConnections,
    applicationName: 'hub-bench',
  });
  const store = await SqlEventStore.open(db, {
    append: { lanes: config.lanes, maxEventsPerBatch: config.maxEventsPerBatch },
    ...(subscriptionBatchSize ? { subscriptionBatchSize } : {}),
  });
  return {
    db,
    store,
    close: async () => {
      await store.close();
      await db.close();
    },
  };
};

const describeMeasured = (m: Measured): string =>
  `${fmtInt(m.events)} events in ${m.seconds.toFixed(2)} s = ${fmtRate(m.rate)}/s; CPU: node ${fmtCores(m.nodeCores)}, machine ${fmtCores(m.machineCores)} of ${os.cpus().length} cores`;

const ratio = (hub: Measured, floor?: Measured): string =>
  floor ? `${(hub.rate / floor.rate).toFixed(2)}x` : '-';

const standardRun = async (url: string): Promise<void> => {
  const { db, store, close } = await openStore(url, configured);
  try {
    const machineLines = await machine(db);
    for (const line of machineLines) progress(line);
    progress(
      `store: ${describeConfig(configured)}; subscription batchSize ${subscriptionBatches.join(', ')}`,
    );
    await db.exec(FLOOR_TABLE);

    const rows: Row[] = [];
    for (const spec of APPEND_CASES.filter((c) => only.has(c.key))) {
      await checkpoint(db);
      progress(`${spec.label}: floor (plain INSERTs, ${spec.writers} clients)`);
      const floor = await runFloorCase(url, spec);
      progress(`  floor: ${describeMeasured(floor)}`);
      collectGarbage();
      await checkpoint(db);
      progress(`${spec.label}: hub`);
      const hub = await runHubCase(store, spec, 'std');
      progress(`  hub:   ${describeMeasured(hub)}; ${ratio(hub, floor)} of floor`);
      rows.push({ label: spec.label, hub, floor, ...(spec.target ? { target: spec.target } : {}) });
      collectGarbage();
    }

    const readBatches = only.has('c') ? subscriptionBatches : [];
    if (readBatches.length > 0) {
      await loadLog(url, db, CATCH_UP_EVENTS);
      await waitUntilStable(db);
    }
    const total = await countEvents(db);
    if (readBatches.length > 0 && total !== CATCH_UP_EVENTS)
      throw new Error(`log holds ${total} events, wanted ${CATCH_UP_EVENTS}`);
    const memoryLines: string[] = [];
    for (const batchSize of readBatches) {
      progress(`(c) catch-up, batchSize ${batchSize}: warm-up`);
      await catchUp(store, batchSize, total, 50_000);
      const floor = await catchUpFloor(url, batchSize, total);
      progress(`  floor (bare pg page reads): ${describeMeasured(floor)}`);
      const hub = await catchUp(store, batchSize, total);
      progress(`  hub:   ${describeMeasured(hub)}; ${ratio(hub, floor)} of floor`);
      const memory = `after catch-up (batchSize ${batchSize}): rss ${fmtMiB(hub.rss)}, heap used ${fmtMiB(hub.heapUsed)} of ${fmtMiB(hub.heapTotal)}; after gc: rss ${fmtMiB(hub.rssAfterGc)}, heap used ${fmtMiB(hub.heapUsedAfterGc)}`;
      progress(`  ${memory}`);
      memoryLines.push(memory);
      rows.push({
        label: `(c) catch-up subscribeToAll, batchSize ${batchSize}`,
        hub,
        floor,
        target: CATCH_UP_TARGET,
      });
    }
    const peak = process.resourceUsage().maxRSS * 1024;

    const table = renderTable(
      [
        'case',
        'events',
        'seconds',
        'events/s',
        'floor events/s',
        'ratio to floor',
        'target',
        'met?',
      ],
      rows.map((r) => [
        r.label,
        fmtInt(r.hub.events),
        r.hub.seconds.toFixed(2),
        fmtRate(r.hub.rate),
        r.floor ? fmtRate(r.floor.rate) : '-',
        ratio(r.hub, r.floor),
        r.target ? `>= ${fmtInt(r.target)}` : '-',
        r.target ? (r.hub.rate >= r.target ? 'yes' : 'NO') : '-',
      ]),
    );
    const cpuTable = renderTable(
      ['case', 'hub: node CPU', 'hub: machine CPU', 'floor: node CPU', 'floor: machine CPU'],
      rows.map((r) => [
        r.label,
        fmtCores(r.hub.nodeCores),
        fmtCores(r.hub.machineCores),
        r.floor ? fmtCores(r.floor.nodeCores) : '-',
        r.floor ? fmtCores(r.floor.machineCores) : '-',
      ]),
    );
    const out = [
      `Event-store benchmark (PostgreSQL server adapter), ${new Date().toISOString()}`,
      ...machineLines,
      `store: ${describeConfig(configured)}`,
      '',
      table,
      '',
      `CPU while measuring, in cores busy (of ${os.cpus().length}); machine includes PostgreSQL:`,
      cpuTable,
      '',
      ...memoryLines,
      `peak rss of the run: ${fmtMiB(peak)}`,
      'floor: (a)/(b) plain autocommit INSERTs into bench_floor(id bigserial, stream text, revision bigint, data jsonb), one pg client per writer;',
      '       (c) the same page query from a bare pg client (rows as pg parses them, no RecordedEvent mapping).',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await close();
  }
};

const DEFAULT_SWEEP_GRID: readonly StoreConfig[] = [
  { lanes: 1, maxEventsPerBatch: 2_000, maxConnections: 20 },
  { lanes: 2, maxEventsPerBatch: 2_000, maxConnections: 20 },
  { lanes: 3, maxEventsPerBatch: 2_000, maxConnections: 20 },
  { lanes: 4, maxEventsPerBatch: 2_000, maxConnections: 20 },
  { lanes: 8, maxEventsPerBatch: 2_000, maxConnections: 20 },
  { lanes: 2, maxEventsPerBatch: 200, maxConnections: 20 },
  { lanes: 4, maxEventsPerBatch: 200, maxConnections: 20 },
  { lanes: 4, maxEventsPerBatch: 0, maxConnections: 20 },
];

/** BENCH_SWEEP_GRID="lanes/maxEventsPerBatch/maxConnections,..." replaces the default grid. */
const sweepGrid = (): readonly StoreConfig[] => {
  const raw = process.env.BENCH_SWEEP_GRID;
  if (!raw) return DEFAULT_SWEEP_GRID;
  return raw.split(',').map((entry) => {
    const [lanes, maxEventsPerBatch, maxConnections] = entry.split('/').map(Number);
    if (![lanes, maxEventsPerBatch, maxConnections].every((n) => Number.isInteger(n)))
      throw new Error(`BENCH_SWEEP_GRID entry "${entry}" is not lanes/maxEventsPerBatch/pool`);
    return {
      lanes: lanes!,
      maxEventsPerBatch: maxEventsPerBatch!,
      maxConnections: maxConnections!,
    };
  });
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Shorter cases over a grid of store options, repeated (BENCH_SWEEP_REPS, default 2) with the
 * grid order rotating, to choose defaults on a noisy machine. Then catch-up per batchSize.
 */
const sweepRun = async (url: string): Promise<void> => {
  const { db, store, close } = await openStore(url, STORE_DEFAULTS);
  try {
    for (const line of await machine(db)) progress(line);
    await db.exec(FLOOR_TABLE);
    const grid = sweepGrid();
    const reps = envInt('BENCH_SWEEP_REPS') ?? 2;
    const scale = 0.4;
    const cases = APPEND_CASES.filter((c) => c.key !== 'a1' && only.has(c.key));
    const rates = new Map<string, number[]>();
    const record = (key: string, rate: number) => rates.set(key, [...(rates.get(key) ?? []), rate]);
    for (let rep = 0; rep < reps; rep++) {
      for (const spec of cases) {
        await checkpoint(db);
        const floor = await runFloorCase(url, {
          ...spec,
          appendsPerWriter: spec.appendsPerWriter * scale,
        });
        progress(`rep ${rep + 1} floor ${spec.key}: ${describeMeasured(floor)}`);
        record(`floor ${spec.key}`, floor.rate);
      }
      for (let i = 0; i < grid.length; i++) {
        const index = (i + rep) % grid.length;
        const config = grid[index]!;
        const opened = await openStore(url, config);
        try {
          for (const spec of cases) {
            await checkpoint(db);
            const m = await runHubCase(opened.store, spec, `sweep${index}r${rep}`, scale);
            progress(
              `rep ${rep + 1} ${describeConfig(config)} ${spec.key}: ${describeMeasured(m)}`,
            );
            record(`${index} ${spec.key}`, m.rate);
          }
        } finally {
          await opened.close();
        }
      }
    }
    const cell = (values: readonly number[] | undefined) =>
      values
        ? `${fmtRate(median(values))} (${fmtRate(Math.min(...values))}..${fmtRate(Math.max(...values))})`
        : '-';
    const rows = [
      ['floor (plain INSERTs)', ...cases.map((c) => cell(rates.get(`floor ${c.key}`)))],
      ...grid.map((config, index) => [
        describeConfig(config),
        ...cases.map((c) => cell(rates.get(`${index} ${c.key}`))),
      ]),
    ];
    if (cases.length > 0)
      process.stdout.write(
        `${renderTable(['append options', ...cases.map((c) => `${c.key} events/s median (min..max)`)], rows)}\n\n`,
      );

    if (!only.has('c')) return;
    await loadLog(url, db, CATCH_UP_EVENTS);
    await waitUntilStable(db);
    const total = await countEvents(db);
    const readRows: string[][] = [];
    for (const batchSize of envIntList('BENCH_SUB_BATCH') ?? [500, 1_000, 2_000, 5_000, 10_000]) {
      await catchUp(store, batchSize, total, 50_000);
      const floor = await catchUpFloor(url, batchSize, total);
      const hub = await catchUp(store, batchSize, total);
      progress(
        `catch-up batchSize ${batchSize}: ${fmtRate(hub.rate)}/s, floor ${fmtRate(floor.rate)}/s, heap ${fmtMiB(hub.heapUsed)}`,
      );
      readRows.push([
        String(batchSize),
        fmtRate(hub.rate),
        fmtRate(floor.rate),
        ratio(hub, floor),
        fmtMiB(hub.rss),
        fmtMiB(hub.heapUsed),
      ]);
    }
    process.stdout.write(
      `${renderTable(['batchSize', 'events/s', 'floor events/s', 'ratio', 'rss', 'heap used'], readRows)}\n`,
    );
  } finally {
    await close();
  }
};

const main = async (): Promise<void> => {
  const url = serverUrl();
  progress(`server ${redactUrl(url)}`);
  const scratch: ScratchDatabase = await createScratchDatabase(url);
  progress(`scratch database ${scratch.name}`);
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: dropping ${scratch.name}`);
    void scratch.drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await (sweep ? sweepRun(scratch.url) : standardRun(scratch.url));
  } finally {
    await scratch.drop();
    progress(`dropped ${scratch.name}`);
  }
};

main().catch((error: unknown) => {
  process.stderr.write(
    `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
