import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { Projection } from '../../projections/engine/projection';
import { runProjection } from '../../projections/engine/projection-runner';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { learningEventsProjection } from '../../projections/learning-events/learning-events.projection';
import { replayPositionAt } from '../../projections/learning-events/learning-events.query';
import { subscriptionsProjection } from '../../projections/subscriptions/subscriptions.projection';
import { Actor } from '../../src/auth/principal';
import { PgliteDatabase } from '../../src/database/pglite-database';
import { SqlDatabase } from '../../src/database/sql-database';
import { HubError } from '../../src/errors/hub-error';
import { handleCommand, loadState } from '../../src/event-sourcing/command-handler';
import { EventStore, START } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { ProgramDirectory } from '../../src/programs/programs.lookups';
import {
  EraseParticipantCommand,
  EraseParticipantHandler,
} from '../../src/publishing/participant-erasure.commands';
import { ErasedDeliveries } from '../../src/subscriptions/erased-deliveries';
import {
  learningEventDecider,
  LearningEventCommand,
} from '../../src/publishing/learning-event.decider';
import {
  eventIdFor,
  LEARNING_EVENT_STREAM_PREFIX,
  LearningEventContent,
  learningEventStream,
  parseEventId,
} from '../../src/publishing/learning-event.events';
import { decodeFeedCursor } from '../../src/http/log-cursor';
import {
  SubscriptionCommand,
  subscriptionDecider,
} from '../../src/subscriptions/subscription.decider';
import { subscriptionStream, TemplateSet } from '../../src/subscriptions/subscription.events';
import { readFeedPage } from '../../src/subscriptions/subscription-feed';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

/** A small seeded PRNG, so every run generates the same history. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const PUBLISHER: Actor = { userId: 'pub', organisationId: 'org-pub', roles: ['PUBLISHER'] };
const ADMIN: Actor = { userId: 'root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };
const PROGRAMS = ['PROG-A', 'PROG-B'];
const CATEGORIES = ['COURSE', 'EXAM', null];

const content = (programId: string, n: number, revision: number): LearningEventContent => ({
  PublisherProgramId: programId,
  PublisherSystemId: 'LB',
  EventType: 'AI_COMP_SUCCESS',
  PublisherEventId: `AI:${n}`,
  // Corrections move the event from participant to participant, and back after seven.
  PublisherParticipantId: `person-${(n + revision * 3) % 7}`,
  PublisherEventCategory:
    CATEGORIES[(n + revision) % 3] === null
      ? null
      : { value: CATEGORIES[(n + revision) % 3]!, label: `label ${revision}` },
  PublisherEventData: { n, revision, title: `Course "${n}"` },
  EventStartUtc: new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString(),
  EventEndUtc: null,
});

/** Publishes, amends and retracts through the decider, as the API does; returns the event ids. */
const writeHistory = async (store: EventStore, seed: number, count: number): Promise<string[]> => {
  const random = mulberry32(seed);
  const ids: string[] = [];
  const revisions = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const amendExisting = ids.length > 0 && random() < 0.35;
    const programId = PROGRAMS[Math.floor(random() * PROGRAMS.length)]!;
    const n = amendExisting ? -1 : i;
    const eventId = amendExisting
      ? ids[Math.floor(random() * ids.length)]!
      : eventIdFor(programId, `AI:${n}`);
    const parts = parseEventId(eventId)!;
    const revision = (revisions.get(eventId) ?? -1) + 1;
    let command: LearningEventCommand;
    const base = {
      eventId,
      programId: parts.programId,
      program: { programId: parts.programId, organisationId: 'org-pub' },
      actor: PUBLISHER,
      now: new Date(Date.UTC(2026, 10, 2) + i * 1_000),
    };
    if (!amendExisting)
      command = { ...base, type: 'PublishLearningEvent', content: content(programId, n, 0) };
    else if (random() < 0.3) command = { ...base, type: 'RetractLearningEvent' };
    else {
      const { state } = await loadState(store, learningEventStream(parts), learningEventDecider);
      if (!state.exists) throw new Error('amending an event that does not exist');
      const original = Number(state.content.PublisherEventId.slice(3));
      command = {
        ...base,
        type: 'AmendLearningEvent',
        content: content(parts.programId, original, revision),
      };
    }
    try {
      await handleCommand(store, learningEventStream(parts), learningEventDecider, command);
      revisions.set(eventId, revision);
      if (!amendExisting) ids.push(eventId);
    } catch (error) {
      // Amending or retracting what was retracted is refused, as it would be through the API.
      if (!(error instanceof HubError) || error.code !== 'EVENT_RETRACTED') throw error;
    }
  }
  return ids;
};

/** Waits until every appended event is readable (see catchUp for why it may not be at once). */
const untilReadable = async (store: EventStore) => {
  const head = await store.headPosition();
  while ((await store.readAll({ maxCount: 10_000 })).at(-1)?.position !== head) await sleep(20);
};

/** The type information_schema gives a column of learning_events. */
const columnType = async (db: SqlDatabase, column: string) =>
  (
    await db.query<{ data_type: string }>(
      `SELECT data_type FROM information_schema.columns
        WHERE table_name = 'learning_events' AND column_name = $1`,
      [column],
    )
  ).rows.map((row) => row.data_type);

const eventRows = async (db: SqlDatabase) =>
  (await db.query('SELECT * FROM learning_events ORDER BY event_id')).rows;
const subscriptionRows = async (db: SqlDatabase) =>
  (await db.query('SELECT * FROM hub_subscriptions ORDER BY subscription_id')).rows;

/**
 * Runs the projection until it has applied the log's head. "Caught up" alone is not enough: the
 * store reads only below the oldest transaction still running on the server (any database), so
 * on a busy server the last commits may become readable a moment later.
 */
const catchUp = async (
  projection: Projection,
  db: SqlDatabase,
  store: EventStore,
  batchSize: number,
) => {
  const head = await store.headPosition();
  for (;;) {
    await runProjection(
      projection,
      { db, store },
      {
        batchSize,
        signal: new AbortController().signal,
        untilCaughtUp: true,
      },
    );
    const checkpoint = await readCheckpoint(db, projection.name);
    if (head === null || (checkpoint?.position && checkpoint.position >= head)) return;
    await sleep(20);
  }
};

describe('clearinghouse read models on PostgreSQL', () => {
  let database: TestSqlDatabase;
  let store: SqlEventStore;
  let ids: string[];

  beforeAll(async () => {
    database = await openTestSqlDatabase('clearinghouse_projections');
    store = await SqlEventStore.open(database.db, { pollIntervalMs: 100 });
    ids = await writeHistory(store, 42, 400);
    await untilReadable(store);
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('learning-events: applied in small batches, the rows equal a rebuild and the write model', async () => {
    await catchUp(learningEventsProjection, database.db, store, 7);
    const live = await eventRows(database.db);
    expect(live).toHaveLength(ids.length);
    // Some events went through several participants: their order must not depend on batching.
    expect(
      live.some((row) => ((row.previous_participant_ids as string[] | null) ?? []).length >= 2),
    ).toBe(true);

    const rebuilt = await rebuildProjection(
      learningEventsProjection,
      { db: database.db, store },
      { batchSize: 500 },
    );
    expect(rebuilt.applied).toBeGreaterThan(ids.length);
    expect(await eventRows(database.db)).toEqual(live);

    for (const row of live) {
      const { state, revision } = await loadState(
        store,
        learningEventStream(parseEventId(String(row.event_id))!),
        learningEventDecider,
      );
      if (!state.exists) throw new Error(`${String(row.event_id)} has no stream`);
      expect({
        revision: String(row.revision),
        participant: row.participant_id,
        category: row.category_value,
        data: row.data,
        retracted: row.retracted_utc === null ? null : (row.retracted_utc as Date).toISOString(),
        amended: row.amended_utc === null ? null : (row.amended_utc as Date).toISOString(),
      }).toEqual({
        revision: revision!.toString(),
        participant: state.content.PublisherParticipantId,
        category: state.content.PublisherEventCategory?.value ?? null,
        data: state.content.PublisherEventData,
        retracted: state.retractedUtc,
        amended: state.amendedUtc,
      });
    }
  });

  it('learning-events: one event per transaction, or a whole batch applied twice, change nothing', async () => {
    const expected = await eventRows(database.db);
    await database.db.query('TRUNCATE learning_events');
    const events = await store.readAll({
      filter: { streamNamePrefixes: [LEARNING_EVENT_STREAM_PREFIX] },
    });
    for (const event of events)
      await database.db.transaction((tx) =>
        learningEventsProjection.handlers[event.type]!(event, tx),
      );
    expect(await eventRows(database.db)).toEqual(expected);
    await database.db.transaction((tx) => learningEventsProjection.applyBatch!(events, tx));
    await database.db.transaction((tx) =>
      learningEventsProjection.applyBatch!(events.slice(0, 50), tx),
    );
    expect(await eventRows(database.db)).toEqual(expected);
  });

  it('learning-events: a version-1 read model (data as jsonb) is replaced and rebuilt on start', async () => {
    const expected = await eventRows(database.db);
    await database.db.exec(`
      ALTER TABLE learning_events ALTER COLUMN data TYPE jsonb USING data::jsonb;
      DELETE FROM learning_events WHERE event_id IN (
        SELECT event_id FROM learning_events ORDER BY event_id LIMIT 5);
      UPDATE hub_projection_checkpoints SET projection_version = 1
       WHERE projection = 'learning-events';
    `);
    await catchUp(learningEventsProjection, database.db, store, 500);
    expect(await columnType(database.db, 'data')).toEqual(['json']);
    expect((await readCheckpoint(database.db, 'learning-events'))?.projectionVersion).toBe(
      learningEventsProjection.version,
    );
    // The rows deleted above are back: the read model was replayed, not kept.
    expect(await eventRows(database.db)).toEqual(expected);
  });

  it('learning-events: a version-2 read model gains the participants corrections moved away from', async () => {
    const expected = await eventRows(database.db);
    await database.db.exec(`
      ALTER TABLE learning_events DROP COLUMN previous_participant_ids;
      UPDATE hub_projection_checkpoints SET projection_version = 2
       WHERE projection = 'learning-events';
    `);
    await catchUp(learningEventsProjection, database.db, store, 500);
    expect(await columnType(database.db, 'previous_participant_ids')).toEqual(['ARRAY']);
    expect((await readCheckpoint(database.db, 'learning-events'))?.projectionVersion).toBe(3);
    expect(await eventRows(database.db)).toEqual(expected);
  });

  it('replay positions: from an instant, every event created since then is after the position', async () => {
    const events = await store.readAll({
      filter: { streamNamePrefixes: [`${LEARNING_EVENT_STREAM_PREFIX}PROG-A/`] },
    });
    const middle = events[Math.floor(events.length / 2)]!;
    const since = new Date((middle.data as { CreatedUtc: string }).CreatedUtc);
    const position = await replayPositionAt(database.db, 'PROG-A', since, 0);
    const replayed = await store.readAll({
      from: position ?? START,
      filter: { streamNamePrefixes: [`${LEARNING_EVENT_STREAM_PREFIX}PROG-A/`] },
    });
    const replayedIds = new Set(replayed.map((event) => event.id));
    for (const event of events)
      if (
        new Date((event.data as { CreatedUtc: string }).CreatedUtc) >= since &&
        event.type === 'LearningEventPublished'
      )
        expect(replayedIds.has(event.id)).toBe(true);
    expect(replayed.length).toBeLessThan(events.length);
  });

  it('subscriptions: the read model equals a rebuild, a deleted subscription stays deleted on replay', async () => {
    const templates: TemplateSet = {
      COURSE: { action: 'import', label: null, template: '{"id": "{{EventId}}"}' },
      '*_default': { action: 'ignore', label: null, template: null },
    };
    const now = new Date('2026-11-30T10:00:00Z');
    const steps: SubscriptionCommand[] = [];
    for (let i = 0; i < 12; i++) {
      const subscriptionId = `sub-${i}`;
      const base = { subscriptionId, actor: ADMIN, now };
      steps.push({
        ...base,
        type: 'CreateSubscription',
        subscriberProgramId: 'SUB',
        publisherProgramId: PROGRAMS[i % 2]!,
        subscriberProgram: { programId: 'SUB', organisationId: 'org-sub' },
        publisherProgram: { programId: PROGRAMS[i % 2]!, organisationId: 'org-pub' },
        name: `subscription ${i}`,
        templates,
        enabled: true,
        webhook: i % 3 === 0 ? { url: 'https://lms.example.org/hook', maxAttempts: null } : null,
        newSecretId: `secret-${i}`,
      });
      if (i % 4 === 1) steps.push({ ...base, type: 'PauseSubscription' });
      if (i % 4 === 2) steps.push({ ...base, type: 'RejectSubscription', reason: 'no' });
      if (i % 3 === 0) steps.push({ ...base, type: 'AddWebhookSecret', secretId: `secret-${i}-b` });
      if (i % 5 === 3) steps.push({ ...base, type: 'DeleteSubscription' });
    }
    for (const command of steps)
      await handleCommand(
        store,
        subscriptionStream(command.subscriptionId),
        subscriptionDecider,
        command,
      );
    await untilReadable(store);
    await catchUp(subscriptionsProjection, database.db, store, 3);
    const live = await subscriptionRows(database.db);
    expect(live).toHaveLength(12);
    expect(live.filter((row) => row.deleted)).toHaveLength(2);
    await rebuildProjection(
      subscriptionsProjection,
      { db: database.db, store },
      { batchSize: 100 },
    );
    expect(await subscriptionRows(database.db)).toEqual(live);
    // Replaying every event again (as after a crash before a checkpoint) revives nothing.
    const events = await store.readAll({ filter: { streamNamePrefixes: ['subscription-'] } });
    await database.db.transaction(async (tx) => {
      for (const event of events) await subscriptionsProjection.handlers[event.type]!(event, tx);
    });
    expect(await subscriptionRows(database.db)).toEqual(live);
    const paused = live.find((row) => row.subscription_id === 'sub-1')!;
    expect({ enabled: paused.enabled, approval: paused.approval }).toEqual({
      enabled: false,
      approval: 'approved',
    });
    expect(live.find((row) => row.subscription_id === 'sub-0')!.secret_ids).toEqual([
      'secret-0',
      'secret-0-b',
    ]);
  });
  it('learning-events: an erasure takes every row naming the participant, and equals a rebuild', async () => {
    await catchUp(learningEventsProjection, database.db, store, 50);
    const moved = await database.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM learning_events
        WHERE program_id = 'PROG-A' AND 'person-3' = ANY (previous_participant_ids)`,
    );
    // The seeded history holds corrections away from the participant: they must go too.
    expect(moved.rows[0]!.n).toBeGreaterThan(0);
    const programs = {
      program: async (programId: string) => ({ programId, organisationId: 'org-pub' }),
    } as unknown as ProgramDirectory;
    const handler = new EraseParticipantHandler(
      store,
      database.db,
      { now: () => new Date(Date.UTC(2026, 10, 30)) },
      programs,
      new ErasedDeliveries(database.db),
    );
    const erasure = await handler.execute(
      new EraseParticipantCommand(
        'PROG-A',
        'person-3',
        { ...ADMIN, credential: { kind: 'admin-token' } },
        'req-erase',
      ),
    );
    expect(erasure.EventIds.length).toBeGreaterThan(moved.rows[0]!.n);
    await untilReadable(store);
    await catchUp(learningEventsProjection, database.db, store, 13);
    const live = await eventRows(database.db);
    const named = live.filter(
      (row) =>
        row.program_id === 'PROG-A' &&
        (row.participant_id === 'person-3' ||
          ((row.previous_participant_ids as string[] | null) ?? []).includes('person-3')),
    );
    expect(named).toEqual([]);
    expect(live.some((row) => erasure.EventIds.includes(String(row.event_id)))).toBe(false);
    // Other programs' participant of the same name is not this program's: kept.
    expect(
      live.some((row) => row.program_id === 'PROG-B' && row.participant_id === 'person-3'),
    ).toBe(true);
    await rebuildProjection(
      learningEventsProjection,
      { db: database.db, store },
      { batchSize: 500 },
    );
    expect(await eventRows(database.db)).toEqual(live);
  });
});

describe('subscription feeds on embedded PostgreSQL (PGlite)', () => {
  let db: PgliteDatabase;
  let store: SqlEventStore;

  beforeAll(async () => {
    db = await PgliteDatabase.open(null);
    store = await SqlEventStore.open(db, { pollIntervalMs: 100 });
    await writeHistory(store, 7, 120);
    await untilReadable(store);
  });

  afterAll(async () => {
    await store?.close();
    await db?.close();
  });

  it('paging with the cursors handed out reads the same items, once each, as one read from the start', async () => {
    const subscription = {
      publisherProgramId: 'PROG-B',
      templates: {
        COURSE: {
          action: 'import' as const,
          label: null,
          template: '{"n": {{json PublisherEventData.n}}}',
        },
        EXAM: { action: 'ignore' as const, label: null, template: null },
        '*_default': { action: 'import' as const, label: null, template: '{"other": true}' },
      },
    };
    const whole = await readFeedPage(store, subscription, START, 1_000);
    expect(whole.hasMore).toBe(false);
    expect(whole.items.length).toBeGreaterThan(10);
    expect(whole.items.every((item) => item.kind === 'erased' || item.template !== 'EXAM')).toBe(
      true,
    );
    const paged: string[] = [];
    let after = decodeFeedCursor('start');
    for (;;) {
      const page = await readFeedPage(store, subscription, after, 4);
      paged.push(...page.items.map((item) => item.cursor));
      after = decodeFeedCursor(page.nextCursor);
      if (!page.hasMore) break;
    }
    expect(paged).toEqual(whole.items.map((item) => item.cursor));
  });
});
