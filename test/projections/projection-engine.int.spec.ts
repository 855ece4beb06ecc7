import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ulid } from 'ulid';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { Projection } from '../../projections/engine/projection';
import {
  ProjectionRunner,
  RunnerLogger,
  runProjection,
} from '../../projections/engine/projection-runner';
import { projectionLag } from '../../projections/engine/projection-status';
import { ProjectionBusyError, rebuildProjection } from '../../projections/engine/rebuild';
import { listTallies, talliesProjection } from '../support/tallies.projection';
import { tallyStream } from '../support/tally.events';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

const quietLogger: RunnerLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const waitFor = async (
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
};

describe('projection engine', () => {
  let database: TestSqlDatabase;
  let store: SqlEventStore;
  const now = '2026-11-22T10:00:00.000Z';

  const appendTally = async (id: string, increments: number[], close = false) => {
    await store.appendToStream(tallyStream(id), [
      {
        id: randomUUID(),
        type: 'TallyOpened',
        data: { tallyId: id, name: `tally ${id}`, openedAt: now },
      },
      ...increments.map((by) => ({
        id: randomUUID(),
        type: 'TallyIncremented',
        data: { tallyId: id, by, at: now },
      })),
      ...(close
        ? [{ id: randomUUID(), type: 'TallyClosed', data: { tallyId: id, closedAt: now } }]
        : []),
    ]);
    // Noise the projection must never see.
    await store.appendToStream(`other-${id}`, [
      { id: randomUUID(), type: 'TallyIncremented', data: { tallyId: id, by: 1000, at: now } },
    ]);
  };

  /** A copy of the example projection under another name, so each test has its own checkpoint and table. */
  const freshProjection = (overrides: Partial<Projection> = {}): Projection => {
    const table = `tallies_${ulid().toLowerCase()}`;
    const rename = (sql: string) => sql.replaceAll('example_tallies', table);
    return {
      ...talliesProjection,
      name: `tallies-${table}`,
      schema: rename(talliesProjection.schema),
      tables: [table],
      handlers: Object.fromEntries(
        Object.entries(talliesProjection.handlers).map(([type, handler]) => [
          type,
          (event, tx) =>
            handler(event, {
              query: (text, params) => tx.query(rename(text), params),
              exec: (s) => tx.exec(rename(s)),
            }),
        ]),
      ),
      ...overrides,
    };
  };

  /** A runner with short standby and back-off delays, so tests see takeovers quickly. */
  const runnerFor = (projection: Projection, batchSize: number) =>
    new ProjectionRunner(
      projection,
      { db: database.db, store, logger: quietLogger },
      {
        batchSize,
        standbyRetryMs: 50,
        failureBackoffMs: 50,
        maxFailureBackoffMs: 50,
      },
    );

  const rows = async (projection: Projection) =>
    listTallies({
      query: (text, params) =>
        database.db.query(text.replaceAll('example_tallies', projection.tables[0]!), params),
      exec: (s) => database.db.exec(s),
    });

  beforeAll(async () => {
    database = await openTestSqlDatabase('projections');
    store = await SqlEventStore.open(database.db, { pollIntervalMs: 100 });
    for (let i = 0; i < 30; i++) await appendTally(`seed${i}`, [1, 2, 3], i % 3 === 0);
  });
  afterAll(async () => {
    await store.close();
    await database.dispose();
  });

  it('applies the events it handles, in batches, and goes live', async () => {
    const projection = freshProjection();
    const runner = runnerFor(projection, 7);
    runner.start();
    await waitFor(() => runner.status().state === 'live', 'live');
    const seeded = await rows(projection);
    expect(seeded.filter((r) => r.tallyId.startsWith('seed'))).toHaveLength(30);
    expect(seeded.find((r) => r.tallyId === 'seed0')).toMatchObject({
      total: 6,
      increments: 3,
      status: 'closed',
    });

    const id = `live${ulid()}`;
    await appendTally(id, [5]);
    await waitFor(
      async () => (await rows(projection)).some((r) => r.tallyId === id && r.total === 5),
      'the live tally',
    );
    await runner.stop();
    const checkpoint = await readCheckpoint(database.db, projection.name);
    expect(checkpoint?.eventsApplied).toBe(
      (await rows(projection)).reduce(
        (sum, r) => sum + 1 + r.increments + (r.status === 'closed' ? 1 : 0),
        0,
      ),
    );
    const lag = await projectionLag(database.db, store, projection);
    expect(lag).toMatchObject({ eventsBehind: 0, secondsBehind: 0 });
  });

  it('commits the checkpoint with the read model: a failing batch leaves both untouched', async () => {
    let failOn: string | null = 'seed7';
    const base = freshProjection();
    const projection: Projection = {
      ...base,
      handlers: {
        ...base.handlers,
        TallyIncremented: async (event, tx) => {
          await base.handlers.TallyIncremented!(event, tx);
          if ((event.data as { tallyId: string }).tallyId === failOn)
            throw new Error('handler failure');
        },
      },
    };
    const signal = new AbortController().signal;
    await expect(
      runProjection(
        projection,
        { db: database.db, store },
        { batchSize: 1_000, signal, untilCaughtUp: true },
      ),
    ).rejects.toThrow('handler failure');
    // The whole first batch was rolled back together with its checkpoint.
    expect(await rows(projection)).toEqual([]);
    expect((await readCheckpoint(database.db, projection.name))?.position).toBeNull();

    failOn = null;
    await runProjection(
      projection,
      { db: database.db, store },
      { batchSize: 1_000, signal, untilCaughtUp: true },
    );
    expect((await rows(projection)).find((r) => r.tallyId === 'seed7')).toMatchObject({ total: 6 });
  });

  it('ignores a re-delivered event (per-row revision guard)', async () => {
    const projection = freshProjection();
    const signal = new AbortController().signal;
    await runProjection(
      projection,
      { db: database.db, store },
      { batchSize: 100, signal, untilCaughtUp: true },
    );
    const before = await rows(projection);
    // At-least-once delivery: apply every event a second time, as a re-delivering store would.
    const events = await store.readAll({ filter: { streamNamePrefixes: ['tally-'] } });
    await database.db.transaction(async (tx) => {
      for (const event of events) await projection.handlers[event.type]?.(event, tx);
    });
    expect(await rows(projection)).toEqual(before);
  });

  it('rebuilds to the same read model, with progress, and refuses while another instance leads', async () => {
    const projection = freshProjection();
    const runner = runnerFor(projection, 50);
    runner.start();
    await waitFor(() => runner.status().state === 'live', 'live');
    await expect(rebuildProjection(projection, { db: database.db, store })).rejects.toBeInstanceOf(
      ProjectionBusyError,
    );
    await runner.stop();
    const incremental = await rows(projection);

    const progress: number[] = [];
    const result = await rebuildProjection(
      projection,
      { db: database.db, store },
      {
        batchSize: 20,
        onProgress: (p) => progress.push(p.applied),
      },
    );
    expect(result.applied).toBe(result.total);
    expect(progress.length).toBeGreaterThan(3);
    expect(await rows(projection)).toEqual(incremental);
    expect((await readCheckpoint(database.db, projection.name))?.rebuiltAt).toBeInstanceOf(Date);
  });

  it('keeps one leader: a second runner stands by and takes over when the first stops', async () => {
    const projection = freshProjection();
    const first = runnerFor(projection, 10);
    const second = runnerFor(projection, 10);
    first.start();
    await waitFor(() => first.status().state === 'live', 'first live');
    second.start();
    await waitFor(() => second.status().state === 'standby', 'second standing by');
    await first.stop();
    const id = `takeover${ulid()}`;
    await appendTally(id, [9]);
    await waitFor(() => second.status().state === 'live', 'second live');
    await waitFor(
      async () => (await rows(projection)).some((r) => r.tallyId === id && r.total === 9),
      'takeover event',
    );
    await second.stop();
  });

  it('rebuilds by itself when the projection version changes', async () => {
    const projection = freshProjection();
    const signal = new AbortController().signal;
    await runProjection(
      projection,
      { db: database.db, store },
      { batchSize: 100, signal, untilCaughtUp: true },
    );
    const before = await rows(projection);
    await database.db.query(`UPDATE ${projection.tables[0]} SET total = -1`);
    await runProjection(
      { ...projection, version: 2 },
      { db: database.db, store },
      { batchSize: 100, signal, untilCaughtUp: true },
    );
    expect(await rows(projection)).toEqual(before);
    expect((await readCheckpoint(database.db, projection.name))?.projectionVersion).toBe(2);
  });
});
