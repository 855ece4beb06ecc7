import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { Projection } from '../../projections/engine/projection';
import {
  ProjectionRunner,
  RunnerLogger,
  runProjection,
} from '../../projections/engine/projection-runner';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { EnrolmentDbRow } from '../../projections/enrolments/enrolment-row';
import { enrolmentsProjection } from '../../projections/enrolments/enrolments.projection';
import { tallyStream } from '../support/tally.events';
import { Actor, HUB_SYSTEM_ACTOR } from '../../src/auth/principal';
import { CourseNode } from '../../src/courses/course.events';
import { courseTracking, CourseTracking } from '../../src/enrolments/course-tracking';
import {
  BatchFacts,
  certificateDue,
  EnrolmentCommand,
  enrolmentDecider,
  EnrolmentState,
  Recipient,
  scoreTotals,
} from '../../src/enrolments/enrolment.decider';
import {
  ContentStatus,
  ENROLMENT_EVENT_TYPES,
  ENROLMENT_STREAM_PREFIX,
  EnrolmentEvent,
  enrolmentStream,
  QuestionResponse,
  ScorePolicy,
} from '../../src/enrolments/enrolment.events';
import { runConcurrently } from '../../src/jobs/run-concurrently';
import {
  CommandContext,
  CommandOutcome,
  handleCommand,
  loadState,
} from '../../src/event-sourcing/command-handler';
import { StateCache } from '../../src/event-sourcing/state-cache';
import {
  comparePositions,
  Position,
  RecordedEvent,
  START,
} from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

type Outcome = CommandOutcome<EnrolmentEvent, EnrolmentState>;

const quietLogger: RunnerLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const waitFor = async (
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 60_000,
) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
};

/** A small seeded PRNG, so every run generates the same journeys. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const POLICY: ScorePolicy = 'best';
const ORG = 'org-1';
const MENTOR: Actor = { userId: 'mentor-1', organisationId: ORG, roles: ['COURSE_MENTOR'] };
const T0 = Date.UTC(2026, 2, 2, 8, 0);

const unit = (id: string, children: CourseNode[]): CourseNode => ({
  kind: 'unit',
  id,
  name: id,
  children,
});
const content = (id: string, optional = false): CourseNode => ({
  kind: 'content',
  id,
  name: id,
  optional,
});
const assessment = (id: string, maxScore: number): CourseNode => ({
  kind: 'assessment',
  id,
  name: id,
  optional: false,
  maxScore,
});

/** Required: c1 c2 a1 | c3 a2 (c4 optional). */
const courseOne = courseTracking('course-1', 1, [
  unit('u1', [content('c1'), content('c2'), assessment('a1', 15)]),
  unit('u2', [content('c3'), content('c4', true), assessment('a2', 10)]),
]);
/** Required: d1 d2 d3 | d5 d6 (d4 optional); no assessments. */
const courseTwo = courseTracking('course-2', 1, [
  unit('w1', [content('d1'), content('d2'), content('d3')]),
  unit('w2', [content('d4', true), content('d5'), content('d6')]),
]);

const batchFacts = (
  batchId: string,
  courseId: string,
  certificateCriteria: BatchFacts['certificateCriteria'],
): BatchFacts => ({
  batchId,
  courseId,
  organisationId: ORG,
  createdFor: [],
  createdBy: 'creator-1',
  mentors: [MENTOR.userId],
  invitees: [],
  enrollmentType: 'open',
  startsAt: '2026-01-01T00:00:00.000Z',
  endsAt: '2027-01-01T00:00:00.000Z',
  enrollmentEndsAt: null,
  certificateCriteria,
});
const batchOne = batchFacts('batch-1', courseOne.courseId, {
  minCompletionPercent: 100,
  minScorePercent: 70,
});
/** Certificates at 80% progress, before completion; no score rule. */
const batchTwo = batchFacts('batch-2', courseTwo.courseId, {
  minCompletionPercent: 80,
  minScorePercent: null,
});

const learnerId = (n: number) => `learner-${String(n).padStart(2, '0')}`;

describe('enrolments projection', () => {
  let database: TestSqlDatabase;
  let store: SqlEventStore;
  /** Two hub instances' caches and a cache-less writer: most commands start from a guess. */
  const instances: (StateCache<EnrolmentState> | undefined)[] = [
    new StateCache(1_000),
    new StateCache(1_000),
    undefined,
  ];
  const journeys = new Map<string, Journey>();
  /** The batches the live runner applied, as (stream, revision) lists. */
  const liveBatches: { stream: string; revision: bigint }[][] = [];
  let liveRows: EnrolmentDbRow[] = [];
  let events: RecordedEvent[] = [];
  /** The newest position any enrolment command appended at. */
  let lastAppended: Position | null = null;

  /** One learner in one batch: runs the commands a hub instance would, auto-certificate included. */
  class Journey {
    private minute = 0;
    private certificates = 0;
    private readonly random: () => number;
    completedOn: string | null = null;
    firstEnrolledAt: string | null = null;
    lastCertificateId: string | null = null;

    constructor(
      readonly batch: BatchFacts,
      readonly course: CourseTracking,
      readonly userId: string,
      private readonly index: number,
      private readonly recipient: Recipient = 'known',
    ) {
      this.random = mulberry32(index * 7_919 + batch.batchId.charCodeAt(6));
    }

    get stream() {
      return enrolmentStream(this.batch.batchId, this.userId);
    }

    now(): Date {
      this.minute += 1 + Math.floor(this.random() * 5);
      return new Date(T0 + this.index * 3_600_000 + this.minute * 60_000);
    }

    private base(actor: Actor, now = this.now()) {
      return { actor, now, batchId: this.batch.batchId, batch: this.batch, userId: this.userId };
    }

    private self(): Actor {
      return { userId: this.userId, organisationId: ORG, roles: ['LEARNER'] };
    }

    async run(command: EnrolmentCommand, assumeNew = false): Promise<Outcome> {
      const cache = instances[Math.floor(this.random() * instances.length)];
      const context: CommandContext<EnrolmentState> = {
        metadata: { principal: command.actor.userId, correlationId: randomUUID() },
        ...(cache ? { cache } : {}),
        ...(assumeNew ? { assumeNew } : {}),
      };
      const outcome = await handleCommand(store, this.stream, enrolmentDecider, command, context);
      const position = outcome.appended?.position;
      if (position && (lastAppended === null || comparePositions(position, lastAppended) > 0))
        lastAppended = position;
      for (const event of outcome.events) {
        if (event.type === 'UserEnrolled') this.firstEnrolledAt ??= event.data.enrolledAt;
        if (event.type === 'CourseCompleted') this.completedOn = event.data.completedOn;
        if (event.type === 'CertificateIssued') this.lastCertificateId = event.data.certificateId;
      }
      return outcome;
    }

    enrol(by: 'self' | 'mentor' = 'self', assumeNew = false) {
      return this.run(
        {
          ...this.base(by === 'self' ? this.self() : MENTOR),
          type: 'Enrol',
          learner: { organisationId: ORG },
          course: this.course,
        },
        assumeNew,
      );
    }

    unenrol(by: 'self' | 'mentor' = 'self') {
      return this.run({ ...this.base(by === 'self' ? this.self() : MENTOR), type: 'Unenrol' });
    }

    /** As EnrolmentWriter.execute: the certificate follows the write that makes it due. */
    private async afterTracking(outcome: Outcome): Promise<Outcome> {
      const { certificateCriteria } = this.batch;
      if (!certificateDue(outcome.state, this.course, certificateCriteria, POLICY)) return outcome;
      return this.issue(HUB_SYSTEM_ACTOR, this.recipient);
    }

    async progress(updates: Record<string, ContentStatus>): Promise<Outcome> {
      const now = this.now();
      const outcome = await this.run({
        ...this.base(this.self(), now),
        type: 'RecordProgress',
        course: this.course,
        policy: POLICY,
        contents: Object.entries(updates).map(([contentId, status]) => ({
          contentId,
          status,
          lastAccessTime: new Date(now.getTime() - 20_000).toISOString(),
        })),
      });
      return this.afterTracking(outcome);
    }

    async attempt(
      contentId: string,
      attemptId: string,
      scores: number[],
      submittedAt?: Date,
    ): Promise<Outcome> {
      const now = this.now();
      const submitted = (submittedAt ?? new Date(now.getTime() - 10_000)).toISOString();
      const responses: QuestionResponse[] = scores.map((score, q) => ({
        questionId: `${contentId}-q${q + 1}`,
        type: 'mcq',
        title: `Question ${q + 1}`,
        options: ['a', 'b', 'c'],
        response: score >= 3 ? 'a' : 'b',
        score,
        maxScore: 5,
        duration: 30 + q,
        answeredAt: submitted,
      }));
      const outcome = await this.run({
        ...this.base(this.self(), now),
        type: 'RecordAssessmentAttempt',
        course: this.course,
        policy: POLICY,
        contentId,
        attemptId,
        submittedAt: submitted,
        responses,
      });
      return this.afterTracking(outcome);
    }

    issue(actor: Actor, recipient: Recipient): Promise<Outcome> {
      return this.run({
        ...this.base(actor),
        type: 'IssueCertificate',
        course: this.course,
        certificateId: `cert-${this.batch.batchId}-${this.userId}-${++this.certificates}`,
        recipient,
        policy: POLICY,
      });
    }
  }

  const refused = async (attempt: Promise<unknown>, code: string) => {
    await expect(attempt).rejects.toMatchObject({ code });
  };

  type Script = { part1: () => Promise<void>; part2: () => Promise<void> };

  /** Batch 1: eight kinds of learner, by index. */
  const batchOneScript = (j: Journey, variant: number): Script => {
    switch (variant) {
      case 0: // completes with a high score: certificate issued
        return {
          part1: async () => {
            await j.enrol();
            await j.progress({ c1: 1 });
            await j.progress({ c1: 2, c2: 2 });
            await j.attempt('a1', 'att-1', [5, 4, 4]);
          },
          part2: async () => {
            await j.progress({ c3: 2, c4: 1 });
            await j.attempt('a2', 'att-1', [5, 4]);
          },
        };
      case 1: // completes with a low score, retakes and then qualifies
        return {
          part1: async () => {
            await j.enrol();
            await j.progress({ c1: 2, c2: 2, c3: 2 });
            await j.attempt('a1', 'att-1', [2, 2, 1]);
            await j.attempt('a2', 'att-1', [2, 2]);
          },
          part2: async () => {
            await j.attempt('a1', 'att-2', [5, 5, 5]);
          },
        };
      case 2: // enrolled by a mentor in bulk, partly through
        return {
          part1: async () => {
            await j.enrol('mentor', true);
            await j.progress({ c1: 1 });
          },
          part2: async () => {
            await j.progress({ c2: 2 });
            await j.attempt('a1', 'att-1', [3, 3, 3]);
          },
        };
      case 3: // unenrolled by a mentor; progress is refused afterwards
        return {
          part1: async () => {
            await j.enrol();
            await j.progress({ c1: 2 });
          },
          part2: async () => {
            await j.unenrol('mentor');
            await refused(j.progress({ c2: 2 }), 'USER_NOT_ENROLLED_COURSE');
            await refused(j.unenrol(), 'USER_NOT_ENROLLED_COURSE');
          },
        };
      case 4: // leaves, comes back, completes
        return {
          part1: async () => {
            await j.enrol();
            await j.progress({ c1: 2, c2: 2 });
            await j.unenrol();
          },
          part2: async () => {
            await j.enrol();
            await j.progress({ c3: 2 });
            await j.attempt('a1', 'att-1', [5, 5, 5]);
            await j.attempt('a2', 'att-1', [5, 5]);
          },
        };
      case 5: // qualifies, but the hub does not know the learner: fails, then a mentor issues
        return {
          part1: async () => {
            await j.enrol();
            await j.progress({ c1: 2, c2: 2, c3: 2 });
            await j.attempt('a1', 'att-1', [5, 5, 4]);
          },
          part2: async () => {
            await j.attempt('a2', 'att-1', [5, 5]);
            await j.issue(MENTOR, 'known');
          },
        };
      case 6: // enrolled, nothing else; enrolling again is refused
        return {
          part1: async () => {
            await j.enrol('mentor');
            await refused(j.enrol(), 'USER_ALREADY_ENROLLED_COURSE');
          },
          part2: async () => {
            await refused(j.enrol('mentor', true), 'USER_ALREADY_ENROLLED_COURSE');
          },
        };
      default: {
        // resubmissions: an identical retry, a replacement, a late older copy
        let firstSubmission: Date;
        return {
          part1: async () => {
            await j.enrol();
            await j.progress({ c1: 2, c2: 2 });
            firstSubmission = j.now();
            await j.attempt('a1', 'att-1', [3, 3, 3], firstSubmission);
            const retry = await j.attempt('a1', 'att-1', [3, 3, 3], firstSubmission);
            expect(retry.appended).toBeNull();
          },
          part2: async () => {
            const replaced = await j.attempt('a1', 'att-1', [4, 4, 4]);
            expect(replaced.events[0]).toMatchObject({ data: { replaced: true } });
            const late = await j.attempt('a1', 'att-1', [1, 1, 1], firstSubmission);
            expect(late.appended).toBeNull();
            await j.progress({ c3: 2 });
            await j.attempt('a2', 'att-1', [1, 1]);
            await refused(j.unenrol(), 'USER_ALREADY_COMPLETED_COURSE');
          },
        };
      }
    }
  };

  /** Batch 2, all while the projection runs live. */
  const batchTwoScript = (j: Journey, variant: number): (() => Promise<void>) => {
    switch (variant) {
      case 0: // certificate at 80%, then completes
        return async () => {
          await j.enrol('mentor', true);
          await j.progress({ d1: 2, d2: 2, d3: 2 });
          const due = await j.progress({ d5: 2 });
          expect(due.events.at(-1)?.type).toBe('CertificateIssued');
          await j.progress({ d6: 2 });
        };
      case 1: // completes at once; the learner's data was erased: certificate failed, once
        return async () => {
          await j.enrol('self', true);
          await j.progress({ d1: 2, d2: 2, d3: 2, d5: 2, d6: 2 });
          // Progress on an optional content: the certificate is not failed a second time.
          const again = await j.progress({ d4: 1 });
          expect(again.events).toEqual([]);
        };
      case 2: // in progress
        return async () => {
          await j.enrol('self', true);
          await j.progress({ d1: 1 });
          await j.progress({ d1: 2, d2: 1 });
        };
      case 3: // in and out and in again
        return async () => {
          await j.enrol();
          await j.progress({ d1: 2 });
          await j.unenrol();
          await j.enrol();
          await j.unenrol('mentor');
          await j.enrol('mentor');
          await j.progress({ d2: 2 });
        };
      default: // bulk-enrolled twice: the second is refused
        return async () => {
          await j.enrol('mentor', true);
          await refused(j.enrol('mentor', true), 'USER_ALREADY_ENROLLED_COURSE');
        };
    }
  };

  const key = (batchId: string, userId: string) => `${batchId}/${userId}`;

  /** The read model as stored; revisions as text (pg returns bigint as text, PGlite as number). */
  const rows = async (): Promise<EnrolmentDbRow[]> =>
    (
      await database.db.query<EnrolmentDbRow>('SELECT * FROM enrolments ORDER BY batch_id, user_id')
    ).rows.map((row) => ({ ...row, revision: String(row.revision) }));

  const enrolmentEvents = async (): Promise<RecordedEvent[]> => {
    const all: RecordedEvent[] = [];
    let from: Position | typeof START = START;
    for (;;) {
      const page = await store.readAll({
        from,
        maxCount: 1_000,
        filter: {
          streamNamePrefixes: [ENROLMENT_STREAM_PREFIX],
          eventTypePrefixes: ENROLMENT_EVENT_TYPES,
        },
      });
      all.push(...page);
      if (page.length < 1_000) return all;
      from = page.at(-1)!.position;
    }
  };

  const appendNoise = async (n: number) => {
    for (let i = 0; i < n; i++)
      await store.appendToStream(tallyStream(`noise-${randomUUID()}`), [
        {
          id: randomUUID(),
          type: 'TallyOpened',
          data: { tallyId: 'x', name: 'noise', openedAt: new Date(T0).toISOString() },
        },
      ]);
  };

  beforeAll(async () => {
    database = await openTestSqlDatabase('enrolments_projection');
    store = await SqlEventStore.open(database.db, { pollIntervalMs: 100 });

    const scripts: { journey: Journey; script: Script }[] = [];
    for (let i = 0; i < 30; i++) {
      const journey = new Journey(
        batchOne,
        courseOne,
        learnerId(i + 1),
        i,
        i % 8 === 5 ? 'unknown' : 'known',
      );
      journeys.set(key(batchOne.batchId, journey.userId), journey);
      scripts.push({ journey, script: batchOneScript(journey, i % 8) });
    }
    const second: (() => Promise<void>)[] = [];
    // learners 26..50: five of them are in both batches
    for (let i = 0; i < 25; i++) {
      const journey = new Journey(
        batchTwo,
        courseTwo,
        learnerId(i + 26),
        i + 40,
        i % 5 === 1 ? 'erased' : 'known',
      );
      journeys.set(key(batchTwo.batchId, journey.userId), journey);
      second.push(batchTwoScript(journey, i % 5));
    }

    // Phase 1: batch 1's first half, before the projection runs.
    await appendNoise(5);
    await runConcurrently(scripts, 8, ({ script }) => script.part1());

    // Phase 2: the projection runs live (batches of 7) while the rest is written.
    const recording: Projection = {
      ...enrolmentsProjection,
      applyBatch: async (batch, tx) => {
        liveBatches.push(batch.map((e) => ({ stream: e.stream, revision: e.revision })));
        await enrolmentsProjection.applyBatch!(batch, tx);
      },
    };
    const runner = new ProjectionRunner(
      recording,
      { db: database.db, store, logger: quietLogger },
      { batchSize: 7, standbyRetryMs: 50, failureBackoffMs: 50, maxFailureBackoffMs: 50 },
    );
    runner.start();
    try {
      await waitFor(() => runner.status().state === 'live', 'the runner to go live');
      const work: (() => Promise<void>)[] = [
        ...scripts.map(({ script }) => script.part2),
        ...second,
      ];
      // Interleave batch 1's second half with batch 2.
      const order = work.map((w, i) => ({ w, k: mulberry32(i)() })).sort((a, b) => a.k - b.k);
      await runConcurrently(order, 8, async ({ w }, i) => {
        await w();
        if (i % 10 === 0) await appendNoise(1);
      });

      const last = lastAppended!;
      await waitFor(async () => {
        const position = (await readCheckpoint(database.db, enrolmentsProjection.name))?.position;
        return position != null && comparePositions(position, last) >= 0;
      }, 'the live projection to apply every event');
      expect(runner.status().lastError).toBeNull();
    } finally {
      await runner.stop();
    }
    liveRows = await rows();
    // Read the log only now: while any transaction is open (the runner's batches included), the
    // store holds back events committed after it started, so an earlier read may miss the newest.
    events = await enrolmentEvents();
    expect(events.at(-1)?.position).toBe(lastAppended);
  });

  afterAll(async () => {
    await store.close();
    await database.dispose();
  });

  it('generated a realistic history: every event type, 50 learners, 55 enrolments', () => {
    const types = new Set(events.map((e) => e.type));
    expect([...types].sort()).toEqual([...ENROLMENT_EVENT_TYPES].sort());
    expect(new Set(events.map((e) => e.stream)).size).toBe(55);
    expect(new Set(liveRows.map((r) => r.user_id)).size).toBe(50);
    expect(liveRows).toHaveLength(55);
    expect(events.length).toBeGreaterThan(300);
  });

  it('ran live in batches of at most 7 that split streams mid-way, applying every event once', async () => {
    expect(liveBatches.length).toBeGreaterThanOrEqual(Math.ceil(events.length / 7));
    expect(Math.max(...liveBatches.map((b) => b.length))).toBeLessThanOrEqual(7);
    const applied = liveBatches.flat();
    expect(applied).toHaveLength(events.length);
    expect(new Set(applied.map((e) => `${e.stream}@${e.revision}`)).size).toBe(events.length);
    const batchesPerStream = new Map<string, Set<number>>();
    liveBatches.forEach((batch, index) => {
      for (const { stream } of batch)
        batchesPerStream.set(stream, (batchesPerStream.get(stream) ?? new Set()).add(index));
    });
    const split = [...batchesPerStream.values()].filter((batches) => batches.size > 1);
    expect(split.length).toBeGreaterThan(20);
    // Some batch also held several events of one stream.
    expect(
      liveBatches.some((batch) => new Set(batch.map((e) => e.stream)).size < batch.length),
    ).toBe(true);
    const checkpoint = await readCheckpoint(database.db, enrolmentsProjection.name);
    expect(checkpoint?.eventsApplied).toBe(events.length);
  });

  it('(a) a rebuild from scratch in batches of 500 ends with the same rows as the live run', async () => {
    const result = await rebuildProjection(
      enrolmentsProjection,
      { db: database.db, store },
      { batchSize: 500 },
    );
    expect(result.applied).toBe(events.length);
    expect(result.total).toBe(events.length);
    expect(await rows()).toEqual(liveRows);
  });

  it('(a) applying each event one at a time through the handlers ends with the same rows', async () => {
    await database.db.exec('TRUNCATE enrolments');
    for (const event of events)
      await database.db.transaction((tx) => enrolmentsProjection.handlers[event.type]!(event, tx));
    expect(await rows()).toEqual(liveRows);
  });

  it('(a) one applyBatch over the whole history ends with the same rows', async () => {
    await database.db.transaction(async (tx) => {
      await tx.exec('TRUNCATE enrolments');
      await enrolmentsProjection.applyBatch!(events, tx);
    });
    expect(await rows()).toEqual(liveRows);
  });

  it('(b) replaying the same events again changes nothing (per-row revision guard)', async () => {
    // Event by event.
    await database.db.transaction(async (tx) => {
      for (const event of events) await enrolmentsProjection.handlers[event.type]!(event, tx);
    });
    expect(await rows()).toEqual(liveRows);
    // All at once, and in batches of 7 in reverse order of batches.
    await database.db.transaction((tx) => enrolmentsProjection.applyBatch!(events, tx));
    expect(await rows()).toEqual(liveRows);
    const chunks: RecordedEvent[][] = [];
    for (let i = 0; i < events.length; i += 7) chunks.push(events.slice(i, i + 7));
    for (const chunk of chunks.reverse())
      await database.db.transaction((tx) => enrolmentsProjection.applyBatch!(chunk, tx));
    expect(await rows()).toEqual(liveRows);
    // A redelivering engine: the checkpoint goes back to the start, the rows stay.
    await database.db.query(
      'UPDATE hub_projection_checkpoints SET position = NULL WHERE projection = $1',
      [enrolmentsProjection.name],
    );
    await runProjection(
      enrolmentsProjection,
      { db: database.db, store },
      { batchSize: 7, signal: new AbortController().signal, untilCaughtUp: true },
    );
    expect(await rows()).toEqual(liveRows);
  });

  it('(b) rows lost from the read model come back identical when the history is replayed', async () => {
    const lost = liveRows.filter((_, i) => i % 9 === 0);
    await database.db.query(
      `DELETE FROM enrolments WHERE (batch_id, user_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [lost.map((r) => r.batch_id), lost.map((r) => r.user_id)],
    );
    expect(await rows()).toHaveLength(liveRows.length - lost.length);
    for (let i = 0; i < events.length; i += 7) {
      const chunk = events.slice(i, i + 7);
      await database.db.transaction((tx) => enrolmentsProjection.applyBatch!(chunk, tx));
    }
    expect(await rows()).toEqual(liveRows);
  });

  describe('(c) row values', () => {
    const row = (batchId: string, userId: string) => {
      const found = liveRows.find((r) => r.batch_id === batchId && r.user_id === userId);
      if (!found) throw new Error(`No row for ${batchId}/${userId}`);
      return found;
    };
    const journey = (batchId: string, userId: string) => journeys.get(key(batchId, userId))!;
    const date = (iso: string | null) => (iso === null ? null : new Date(iso));

    const eventTime = (event: EnrolmentEvent): string => {
      switch (event.type) {
        case 'UserEnrolled':
          return event.data.enrolledAt;
        case 'UserUnenrolled':
          return event.data.unenrolledAt;
        case 'ContentProgressRecorded':
        case 'AssessmentAttemptRecorded':
          return event.data.recordedAt;
        case 'CourseCompleted':
          return event.data.completedOn;
        case 'CertificateIssued':
          return event.data.issuedAt;
        case 'CertificateIssueFailed':
          return event.data.failedAt;
        default: {
          const unknownEvent: never = event;
          return unknownEvent;
        }
      }
    };

    it('every row agrees with its stream folded by the write model', async () => {
      for (const actual of liveRows) {
        const stream = enrolmentStream(actual.batch_id, actual.user_id);
        const { state, revision } = await loadState(store, stream, enrolmentDecider);
        if (!state.exists) throw new Error(`${stream} holds no enrolment`);
        const last = (await store.readStream(stream)).at(-1)!;
        const totals = scoreTotals(state.attempts, POLICY);
        const certificate = state.certificate;
        const { certificate_failure: failure, ...rest } = actual;
        expect({ stream, ...rest }).toEqual({
          stream,
          batch_id: state.batchId,
          user_id: state.userId,
          course_id: state.courseId,
          enrolled_at: date(state.enrolledAt),
          active: state.active,
          status: state.completedOn ? 2 : Object.keys(state.contents).length > 0 ? 1 : 0,
          progress_percent: state.completedOn ? 100 : (state.progress?.percent ?? 0),
          completed_count: state.progress?.completedCount ?? 0,
          required_count: state.progress?.requiredCount ?? 0,
          completed_on: date(state.completedOn),
          unit_progress: state.progress?.units ?? {},
          assessments: Object.fromEntries(
            totals.assessments.map(({ contentId, ...counting }) => [contentId, counting]),
          ),
          total_score: totals.totalScore,
          total_max_score: totals.totalMaxScore,
          certificate_status: certificate?.status ?? null,
          certificate_id: certificate?.status === 'Issued' ? certificate.certificateId : null,
          certificate_at: date(certificate?.at ?? null),
          last_access_time: date(state.lastAccessTime),
          last_content_id: state.lastContentId,
          updated_at: date(eventTime({ type: last.type, data: last.data } as EnrolmentEvent)),
          revision: String(revision),
        });
        if (certificate?.status === 'Failed')
          expect(failure).toEqual({ code: certificate.code, reason: expect.any(String) });
        else expect(failure).toBeNull();
      }
    });

    it('batch 1: completed with a high score, certificate issued', () => {
      const j = journey('batch-1', 'learner-01');
      expect(row('batch-1', 'learner-01')).toMatchObject({
        course_id: 'course-1',
        active: true,
        status: 2,
        progress_percent: 100,
        completed_count: 5,
        required_count: 5,
        completed_on: date(j.completedOn),
        unit_progress: { u1: 100, u2: 100 },
        assessments: {
          a1: { attemptId: 'att-1', score: 13, maxScore: 15, attempts: 1 },
          a2: { attemptId: 'att-1', score: 9, maxScore: 10, attempts: 1 },
        },
        total_score: 22,
        total_max_score: 25,
        certificate_status: 'Issued',
        certificate_id: 'cert-batch-1-learner-01-1',
        certificate_failure: null,
      });
      expect(j.completedOn).not.toBeNull();
    });

    it('batch 1: the best attempt counts after a retake', () => {
      expect(row('batch-1', 'learner-02')).toMatchObject({
        status: 2,
        progress_percent: 100,
        assessments: {
          a1: { attemptId: 'att-2', score: 15, maxScore: 15, attempts: 2 },
          a2: { attemptId: 'att-1', score: 4, maxScore: 10, attempts: 1 },
        },
        total_score: 19,
        total_max_score: 25,
        certificate_status: 'Issued',
      });
    });

    it('batch 1: part-way through', () => {
      expect(row('batch-1', 'learner-03')).toMatchObject({
        active: true,
        status: 1,
        progress_percent: 40,
        completed_count: 2,
        required_count: 5,
        completed_on: null,
        unit_progress: { u1: 66, u2: 0 },
        assessments: { a1: { attemptId: 'att-1', score: 9, maxScore: 15, attempts: 1 } },
        total_score: 9,
        total_max_score: 15,
        certificate_status: null,
        certificate_id: null,
      });
    });

    it('batch 1: unenrolled keeps the progress made, inactive', () => {
      expect(row('batch-1', 'learner-04')).toMatchObject({
        active: false,
        status: 1,
        progress_percent: 20,
        unit_progress: { u1: 33, u2: 0 },
        certificate_status: null,
      });
    });

    it('batch 1: re-enrolled and completed; enrolled_at stays the first enrolment', () => {
      const j = journey('batch-1', 'learner-05');
      expect(row('batch-1', 'learner-05')).toMatchObject({
        active: true,
        status: 2,
        progress_percent: 100,
        enrolled_at: date(j.firstEnrolledAt),
        total_score: 25,
        certificate_status: 'Issued',
      });
    });

    it('batch 1: a failed certificate replaced by one a mentor issued', () => {
      const j = journey('batch-1', 'learner-06');
      const actual = row('batch-1', 'learner-06');
      expect(actual).toMatchObject({
        status: 2,
        certificate_status: 'Issued',
        certificate_id: j.lastCertificateId,
        certificate_failure: null,
      });
      expect(j.lastCertificateId).toBe('cert-batch-1-learner-06-2');
    });

    it('batch 1: enrolled, nothing done yet, the course’s required contents known', () => {
      expect(row('batch-1', 'learner-07')).toMatchObject({
        active: true,
        status: 0,
        progress_percent: 0,
        completed_count: 0,
        required_count: 5,
        unit_progress: { u1: 0, u2: 0 },
        assessments: {},
        total_score: 0,
        total_max_score: 0,
        certificate_status: null,
        last_access_time: null,
        last_content_id: null,
        completed_on: null,
        revision: '0',
      });
    });

    it('batch 1: a replaced attempt counts; a late older copy does not; below the score rule', () => {
      expect(row('batch-1', 'learner-08')).toMatchObject({
        status: 2,
        progress_percent: 100,
        assessments: {
          a1: { attemptId: 'att-1', score: 12, maxScore: 15, attempts: 1 },
          a2: { attemptId: 'att-1', score: 2, maxScore: 10, attempts: 1 },
        },
        total_score: 14,
        total_max_score: 25,
        certificate_status: null,
        certificate_id: null,
      });
    });

    it('batch 2: certificate issued at 80%, before completing', () => {
      const actual = row('batch-2', 'learner-26');
      expect(actual).toMatchObject({
        course_id: 'course-2',
        active: true,
        status: 2,
        progress_percent: 100,
        certificate_status: 'Issued',
        total_score: 0,
        total_max_score: 0,
        assessments: {},
      });
      expect(new Date(actual.certificate_at!).getTime()).toBeLessThan(
        new Date(actual.completed_on!).getTime(),
      );
    });

    it('batch 2: the certificate of an erased learner failed, once', () => {
      expect(row('batch-2', 'learner-27')).toMatchObject({
        status: 2,
        progress_percent: 100,
        certificate_status: 'Failed',
        certificate_id: null,
        certificate_failure: { code: 'RECIPIENT_ERASED' },
      });
    });

    it('batch 2: in progress; a content still in progress does not count', () => {
      expect(row('batch-2', 'learner-28')).toMatchObject({
        active: true,
        status: 1,
        progress_percent: 20,
        unit_progress: { w1: 33, w2: 0 },
        certificate_status: null,
      });
    });

    it('batch 2: active again after two unenrolments, progress kept', () => {
      expect(row('batch-2', 'learner-29')).toMatchObject({
        active: true,
        status: 1,
        progress_percent: 40,
        revision: '6',
      });
    });

    it('learners in both batches have one row per batch', () => {
      for (let n = 26; n <= 30; n++) {
        const userId = learnerId(n);
        expect(liveRows.filter((r) => r.user_id === userId).map((r) => r.batch_id)).toEqual([
          'batch-1',
          'batch-2',
        ]);
      }
      expect(liveRows.filter((r) => !r.active).map((r) => r.user_id)).toEqual(
        [4, 12, 20, 28].map(learnerId),
      );
    });
  });

  describe('a completed enrolment whose course later gains a required content', () => {
    let row: EnrolmentDbRow | undefined;

    it('stays completed in the read model', async () => {
      const v1 = courseTracking('course-3', 1, [content('e1'), content('e2')]);
      const v2 = courseTracking('course-3', 2, [content('e1'), content('e2'), content('e3')]);
      const batch = batchFacts('batch-3', 'course-3', {
        minCompletionPercent: 100,
        minScorePercent: null,
      });
      const before = new Journey(batch, v1, 'learner-90', 90);
      await before.enrol();
      await before.progress({ e1: 2, e2: 2 });
      expect(before.completedOn).not.toBeNull();
      // The course is republished with a third required content; the learner opens it.
      const after = new Journey(batch, v2, 'learner-90', 91);
      const outcome = await after.progress({ e3: 1 });
      expect(outcome.events.map((e) => e.type)).toEqual(['ContentProgressRecorded']);
      expect(outcome.state).toMatchObject({ completedOn: before.completedOn });
      await runProjection(
        enrolmentsProjection,
        { db: database.db, store },
        { batchSize: 7, signal: new AbortController().signal, untilCaughtUp: true },
      );
      [row] = (
        await database.db.query<EnrolmentDbRow>(
          `SELECT * FROM enrolments WHERE batch_id = 'batch-3' AND user_id = 'learner-90'`,
        )
      ).rows;
      expect(row).toMatchObject({
        status: 2,
        completed_on: new Date(before.completedOn!),
        completed_count: 2,
        required_count: 3,
      });
    });

    // Completion is for good: the command's answer and the read model both keep 100 % after the
    // course gains a content the learner has not finished.
    it('keeps progress_percent at 100, as the command response reports', () => {
      expect(row?.progress_percent).toBe(100);
    });
  });
});
