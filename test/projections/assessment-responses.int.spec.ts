import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { assessmentResponsesProjection } from '../../projections/assessment-responses/assessment-responses.projection';
import {
  AssessmentResponseRow,
  attemptsOfBatch,
  responsesOfBatch,
} from '../../projections/assessment-responses/assessment-responses.query';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { Projection } from '../../projections/engine/projection';
import { runProjection } from '../../projections/engine/projection-runner';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { SqlDatabase, SqlExecutor } from '../../src/database/sql-database';
import {
  AssessmentAttemptRecorded,
  ENROLMENT_STREAM_PREFIX,
  EnrolmentEvent,
  enrolmentStream,
  QuestionResponse,
} from '../../src/enrolments/enrolment.events';
import { EventStore, RecordedEvent } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

const at = (minutes: number) =>
  new Date(Date.UTC(2026, 10, 3, 9, 0) + minutes * 60_000).toISOString();

const BATCH = 'batch-1';
const COURSE = 'course-1';
const learner = (n: number) => `learner-${String(n).padStart(2, '0')}`;

const question = (
  contentId: string,
  n: number,
  overrides: Partial<QuestionResponse> = {},
): QuestionResponse => ({
  questionId: `${contentId}-q${n}`,
  type: n % 2 ? 'mcq' : 'sa',
  title: `Question "${n}" of ${contentId}`,
  options: [
    { value: 1, label: 'one' },
    { value: 2, label: 'two, or "2"' },
  ],
  response: n % 3 === 0 ? null : n % 2 ? [{ value: n % 2 }] : `answer\n${n}`,
  score: n % 2,
  maxScore: 1,
  duration: 3.4 + n,
  answeredAt: at(n),
  ...overrides,
});

const attempt = (
  batchId: string,
  userId: string,
  contentId: string,
  attemptId: string,
  responses: QuestionResponse[],
  minute: number,
  replaced = false,
): AssessmentAttemptRecorded => {
  const score = responses.reduce((sum, r) => sum + r.score, 0);
  return {
    type: 'AssessmentAttemptRecorded',
    data: {
      batchId,
      courseId: COURSE,
      userId,
      contentId,
      attemptId,
      submittedAt: at(minute),
      recordedAt: at(minute + 1),
      responses,
      score,
      maxScore: responses.length,
      hierarchyVersion: 1,
      digest: randomUUID(),
      replaced,
      assessment: { contentId, attemptId, score, maxScore: responses.length, attempts: 1 },
      totalScore: score,
      totalMaxScore: responses.length,
      policy: 'best',
    },
  };
};

const enrolled = (batchId: string, userId: string, minute: number): EnrolmentEvent => ({
  type: 'UserEnrolled',
  data: {
    batchId,
    courseId: COURSE,
    userId,
    enrolledBy: userId,
    enrolledAt: at(minute),
    revived: false,
  },
});

const unenrolled = (batchId: string, userId: string, minute: number): EnrolmentEvent => ({
  type: 'UserUnenrolled',
  data: { batchId, courseId: COURSE, userId, unenrolledBy: userId, unenrolledAt: at(minute) },
});

/** Something the projection does not handle, between the events it does. */
const progress = (batchId: string, userId: string, minute: number): EnrolmentEvent => ({
  type: 'ContentProgressRecorded',
  data: {
    batchId,
    courseId: COURSE,
    userId,
    contents: [{ contentId: 'c1', status: 2, lastAccessTime: at(minute) }],
    lastContentId: 'c1',
    lastAccessTime: at(minute),
    recordedAt: at(minute),
    progress: { completedCount: 1, requiredCount: 4, percent: 25, units: {} },
  },
});

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
      { batchSize, signal: new AbortController().signal, untilCaughtUp: true },
    );
    const checkpoint = await readCheckpoint(db, projection.name);
    if (head === null || (checkpoint?.position && checkpoint.position >= head)) return;
    await sleep(20);
  }
};

const tables = async (db: SqlDatabase) => ({
  responses: (
    await db.query(
      `SELECT * FROM assessment_responses
        ORDER BY batch_id, user_id, content_id, attempt_id, question_index`,
    )
  ).rows,
  learners: (
    await db.query('SELECT * FROM assessment_response_learners ORDER BY batch_id, user_id')
  ).rows,
});

const collect = async <T>(rows: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const row of rows) all.push(row);
  return all;
};

/** The executor, counting its queries and the rows they returned. */
const counting = (db: SqlExecutor) => {
  const reads: number[] = [];
  const executor: SqlExecutor = {
    query: async (text, params) => {
      const result = await db.query(text, params);
      reads.push(result.rows.length);
      return result as never;
    },
    exec: (script) => db.exec(script),
  };
  return { executor, reads };
};

describe('assessment-responses projection', () => {
  let database: TestSqlDatabase;
  let store: SqlEventStore;
  /** Questions the batch's rows must hold, as written (replaced attempts excluded). */
  let expectedQuestions = 0;
  let beforeResubmission: AssessmentResponseRow[] = [];

  const append = (event: EnrolmentEvent) =>
    store.appendToStream(enrolmentStream(event.data.batchId, event.data.userId), [
      { id: randomUUID(), type: event.type, data: event.data },
    ]);

  beforeAll(async () => {
    database = await openTestSqlDatabase('assessment_responses_projection');
    store = await SqlEventStore.open(database.db, { pollIntervalMs: 100 });
    // Twelve learners, enrolled in reverse order so that the log's order is not the report's.
    for (let n = 12; n >= 1; n--) await append(enrolled(BATCH, learner(n), n));
    await append(enrolled('batch-2', learner(1), 0));
    for (let n = 1; n <= 12; n++) {
      const userId = learner(n);
      await append(progress(BATCH, userId, 20 + n));
      // q2 before q1 in the log; each learner answers 1-4 questions of each, some twice.
      const q2 = Array.from({ length: 1 + (n % 4) }, (_, i) => question('q2', i + 1));
      await append(attempt(BATCH, userId, 'q2', `att-${n}-b`, q2, 30 + n));
      const q1 = Array.from({ length: 1 + ((n + 1) % 4) }, (_, i) => question('q1', i + 1));
      await append(attempt(BATCH, userId, 'q1', `att-${n}-a`, q1, 40 + n));
      expectedQuestions += q1.length + q2.length;
      if (n % 3 === 0) {
        const again = [question('q1', 1, { score: 0 }), question('q1', 2)];
        await append(attempt(BATCH, userId, 'q1', `att-${n}-c`, again, 50 + n));
        expectedQuestions += again.length;
      }
    }
    // Another batch's attempt: never in batch-1's stream.
    await append(attempt('batch-2', learner(1), 'q1', 'other', [question('q1', 1)], 45));
    // Applied in part first, so that the resubmission below meets the attempt's rows.
    await catchUp(assessmentResponsesProjection, database.db, store, 5);
    beforeResubmission = (await collect(responsesOfBatch(database.db, BATCH))).filter(
      (row) => row.userId === learner(2) && row.attemptId === 'att-2-a',
    );
    // Learner 2 submits attempt a again with fewer questions and other answers: it replaces it.
    await append(
      attempt(
        BATCH,
        learner(2),
        'q1',
        'att-2-a',
        [
          question('q1', 2, { response: 'changed', score: 1, duration: 9.6 }),
          question('q1', 7, { response: { text: 'new' }, maxScore: null }),
        ],
        70,
        true,
      ),
    );
    expectedQuestions += 2 - (1 + ((2 + 1) % 4));
    // Learner 5 leaves; learner 6 leaves and comes back.
    await append(unenrolled(BATCH, learner(5), 80));
    await append(unenrolled(BATCH, learner(6), 81));
    await append(enrolled(BATCH, learner(6), 82));

    await catchUp(assessmentResponsesProjection, database.db, store, 5);
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('holds one row per question of each attempt, as the event carried it', async () => {
    const rows = await collect(responsesOfBatch(database.db, BATCH));
    expect(rows).toHaveLength(expectedQuestions);
    const first = rows.filter((row) => row.userId === learner(2) && row.contentId === 'q2');
    // Learner 2 answered three questions of q2 in attempt att-2-b, at revision 2.
    expect(first).toEqual<AssessmentResponseRow[]>(
      [1, 2, 3].map((n, index) => {
        const q = question('q2', n);
        return {
          batchId: BATCH,
          userId: learner(2),
          courseId: COURSE,
          enrolmentActive: true,
          contentId: 'q2',
          attemptId: 'att-2-b',
          attemptedOn: at(32),
          questionIndex: index,
          questionId: q.questionId,
          questionType: q.type,
          questionTitle: q.title,
          duration: q.duration,
          score: q.score,
          maxScore: q.maxScore,
          options: q.options,
          response: q.response,
          answeredAt: q.answeredAt,
          revision: 2n,
        };
      }),
    );
    expect(rows.some((row) => row.attemptId === 'other')).toBe(false);
  });

  it('replaces the rows of an attempt submitted again', async () => {
    const rows = (await collect(responsesOfBatch(database.db, BATCH))).filter(
      (row) => row.userId === learner(2) && row.attemptId === 'att-2-a',
    );
    expect(beforeResubmission.map((row) => row.questionId)).toEqual([
      'q1-q1',
      'q1-q2',
      'q1-q3',
      'q1-q4',
    ]);
    expect(
      rows.map(
        ({
          questionIndex,
          questionId,
          response,
          score,
          maxScore,
          duration,
          attemptedOn,
          revision,
        }) => ({
          questionIndex,
          questionId,
          response,
          score,
          maxScore,
          duration,
          attemptedOn,
          revision,
        }),
      ),
    ).toEqual([
      {
        questionIndex: 0,
        questionId: 'q1-q2',
        response: 'changed',
        score: 1,
        maxScore: 1,
        duration: 9.6,
        attemptedOn: at(70),
        revision: 4n,
      },
      {
        questionIndex: 1,
        questionId: 'q1-q7',
        response: { text: 'new' },
        score: 1,
        maxScore: null,
        duration: 10.4,
        attemptedOn: at(70),
        revision: 4n,
      },
    ]);
  });

  it('marks the attempts of learners who left the batch', async () => {
    const active = new Map<string, boolean>();
    for await (const row of responsesOfBatch(database.db, BATCH))
      active.set(row.userId, row.enrolmentActive);
    expect(active.size).toBe(12);
    expect([...active].filter(([, isActive]) => !isActive).map(([userId]) => userId)).toEqual([
      learner(5),
    ]);
  });

  it('streams in (user, assessment, attempt, question) order, a page at a time', async () => {
    const { rows } = await database.db.query<{
      user_id: string;
      content_id: string;
      attempt_id: string;
      question_index: number;
    }>(
      `SELECT user_id, content_id, attempt_id, question_index FROM assessment_responses
        WHERE batch_id = $1 ORDER BY user_id, content_id, attempt_id, question_index`,
      [BATCH],
    );
    const expected = rows.map((row) =>
      [row.user_id, row.content_id, row.attempt_id, Number(row.question_index)].join(' '),
    );
    const whole = await collect(responsesOfBatch(database.db, BATCH));
    expect(
      whole.map((row) => [row.userId, row.contentId, row.attemptId, row.questionIndex].join(' ')),
    ).toEqual(expected);
    // Learners in id order, q1 before q2 within each, though the log had q2 first.
    expect(whole.slice(0, 2).map((row) => row.contentId)).toEqual(['q1', 'q1']);
    for (const pageSize of [1, 2, 7, expected.length, expected.length + 1]) {
      const { executor, reads } = counting(database.db);
      expect(await collect(responsesOfBatch(executor, BATCH, pageSize))).toEqual(whole);
      expect(Math.max(...reads)).toBeLessThanOrEqual(pageSize);
      expect(reads).toHaveLength(Math.floor(expected.length / pageSize) + 1);
    }
    // Lazy: a reader that stops early reads no further pages.
    const { executor, reads } = counting(database.db);
    for await (const row of responsesOfBatch(executor, BATCH, 3)) if (row.questionIndex >= 0) break;
    expect(reads).toEqual([3]);
    expect(await collect(responsesOfBatch(database.db, 'no-such-batch', 2))).toEqual([]);
    await expect(collect(responsesOfBatch(database.db, BATCH, 0))).rejects.toThrow(RangeError);
  });

  it('groups the stream into attempts, across page boundaries', async () => {
    const attempts = await collect(attemptsOfBatch(database.db, BATCH));
    expect(await collect(attemptsOfBatch(database.db, BATCH, 2))).toEqual(attempts);
    expect(attempts.reduce((sum, a) => sum + a.responses.length, 0)).toBe(expectedQuestions);
    expect(attempts.find((a) => a.attemptId === 'att-2-a')).toEqual({
      userId: learner(2),
      enrolmentActive: true,
      contentId: 'q1',
      attemptId: 'att-2-a',
      submittedAt: at(70),
      responses: [
        question('q1', 2, { response: 'changed', score: 1, duration: 9.6 }),
        question('q1', 7, { response: { text: 'new' }, maxScore: null }),
      ],
    });
  });

  it('changes nothing when events are applied again, one by one or as a batch', async () => {
    const before = await tables(database.db);
    const events: RecordedEvent[] = (await store.readAll({ maxCount: 10_000 })).filter(
      (event) =>
        event.stream.startsWith(ENROLMENT_STREAM_PREFIX) &&
        Object.hasOwn(assessmentResponsesProjection.handlers, event.type),
    );
    expect(events.length).toBeGreaterThan(40);
    await database.db.transaction(async (tx) => {
      for (const event of events)
        await assessmentResponsesProjection.handlers[event.type]!(event, tx);
    });
    expect(await tables(database.db)).toEqual(before);
    await database.db.transaction((tx) => assessmentResponsesProjection.applyBatch!(events, tx));
    expect(await tables(database.db)).toEqual(before);
  });

  it('rebuilds to the same rows as applied live', async () => {
    const live = await tables(database.db);
    const rebuilt = await rebuildProjection(
      assessmentResponsesProjection,
      { db: database.db, store },
      { batchSize: 1_000 },
    );
    expect(rebuilt.applied).toBeGreaterThan(40);
    expect(await tables(database.db)).toEqual(live);
  });
});
