import { SqlExecutor } from '../../src/database/sql-database';
import { ENROLMENT_STREAM_PREFIX, EnrolmentEvent } from '../../src/enrolments/enrolment.events';
import {
  defineProjection,
  HandlersOf,
  ProjectedEvent,
  ProjectionHandler,
} from '../engine/projection';
import { ASSESSMENT_RESPONSES_READ_MODEL } from './assessment-responses.query';

/**
 * One row per question of each recorded attempt (the response exhaust's rows), and one row per
 * learner and batch: whether the enrolment is active (the report leaves unenrolled learners
 * out) and the revision of the learner's enrolment stream applied last, which guards every
 * write of both tables, so a replayed event changes nothing.
 */
const schema = `
CREATE TABLE IF NOT EXISTS assessment_response_learners (
  batch_id text NOT NULL,
  user_id text NOT NULL,
  course_id text NOT NULL,
  active boolean NOT NULL,
  revision bigint NOT NULL,
  PRIMARY KEY (batch_id, user_id)
);
CREATE TABLE IF NOT EXISTS assessment_responses (
  batch_id text NOT NULL,
  user_id text NOT NULL,
  course_id text NOT NULL,
  -- The assessment: the reference's QuestionSet Id.
  content_id text NOT NULL,
  attempt_id text NOT NULL,
  -- When the attempt was submitted: Attempted On.
  attempted_on timestamptz NOT NULL,
  -- The question's place in the attempt, as the player sent it.
  question_index integer NOT NULL,
  question_id text NOT NULL,
  question_type text NOT NULL,
  question_title text NOT NULL,
  -- Seconds.
  duration double precision NOT NULL,
  score double precision NOT NULL,
  max_score double precision,
  options jsonb NOT NULL,
  response jsonb,
  answered_at timestamptz,
  -- The revision of the AssessmentAttemptRecorded that wrote the attempt.
  revision bigint NOT NULL,
  PRIMARY KEY (batch_id, user_id, content_id, attempt_id, question_index)
);
`;

type AttemptData = Extract<EnrolmentEvent, { type: 'AssessmentAttemptRecorded' }>['data'];

interface Learner {
  batchId: string;
  userId: string;
  courseId: string;
  active: boolean;
  revision: bigint;
}

const key = (...parts: string[]) => parts.join('\u0000');

/**
 * Applies many events with a handful of statements: load the learners they touch, keep the
 * events newer than each learner's revision (an attempt submitted again keeps only its latest),
 * then write the learners, delete the attempts' earlier rows and insert their questions.
 */
const applyBatch = async (
  events: readonly ProjectedEvent<EnrolmentEvent>[],
  tx: SqlExecutor,
): Promise<void> => {
  const usersByBatch = new Map<string, Set<string>>();
  for (const { data } of events) {
    const users = usersByBatch.get(data.batchId) ?? new Set<string>();
    users.add(data.userId);
    usersByBatch.set(data.batchId, users);
  }
  const learners = new Map<string, Learner>();
  for (const [batchId, users] of usersByBatch) {
    const { rows } = await tx.query<{
      user_id: string;
      course_id: string;
      active: boolean;
      revision: string | number;
    }>(
      `SELECT user_id, course_id, active, revision FROM assessment_response_learners
        WHERE batch_id = $1 AND user_id = ANY($2::text[])`,
      [batchId, [...users]],
    );
    for (const row of rows)
      learners.set(key(batchId, row.user_id), {
        batchId,
        userId: row.user_id,
        courseId: row.course_id,
        active: row.active,
        revision: BigInt(row.revision),
      });
  }
  const changed = new Map<string, Learner>();
  const attempts = new Map<string, { data: AttemptData; revision: bigint }>();
  for (const event of events) {
    const { batchId, userId, courseId } = event.data;
    const learnerKey = key(batchId, userId);
    const before = learners.get(learnerKey);
    if (before && before.revision >= event.revision) continue;
    let active = before?.active ?? true;
    if (event.type === 'UserEnrolled') active = true;
    else if (event.type === 'UserUnenrolled') active = false;
    else if (event.type === 'AssessmentAttemptRecorded') {
      const { contentId, attemptId } = event.data;
      attempts.set(key(batchId, userId, contentId, attemptId), {
        data: event.data,
        revision: event.revision,
      });
    }
    const after = { batchId, userId, courseId, active, revision: event.revision };
    learners.set(learnerKey, after);
    changed.set(learnerKey, after);
  }
  if (changed.size === 0) return;
  await tx.query(
    `INSERT INTO assessment_response_learners (batch_id, user_id, course_id, active, revision)
     SELECT batch_id, user_id, course_id, active, revision FROM jsonb_to_recordset($1::jsonb)
       AS r(batch_id text, user_id text, course_id text, active boolean, revision bigint)
     ON CONFLICT (batch_id, user_id) DO UPDATE SET
       course_id = EXCLUDED.course_id, active = EXCLUDED.active, revision = EXCLUDED.revision
     WHERE assessment_response_learners.revision < EXCLUDED.revision`,
    [
      JSON.stringify(
        [...changed.values()].map((learner) => ({
          batch_id: learner.batchId,
          user_id: learner.userId,
          course_id: learner.courseId,
          active: learner.active,
          revision: learner.revision.toString(),
        })),
      ),
    ],
  );
  if (attempts.size === 0) return;
  const recorded = [...attempts.values()];
  // A resubmitted attempt replaces its rows: it may answer fewer questions than before.
  await tx.query(
    `DELETE FROM assessment_responses r USING jsonb_to_recordset($1::jsonb)
       AS a(batch_id text, user_id text, content_id text, attempt_id text)
      WHERE r.batch_id = a.batch_id AND r.user_id = a.user_id AND r.content_id = a.content_id
        AND r.attempt_id = a.attempt_id`,
    [
      JSON.stringify(
        recorded.map(({ data }) => ({
          batch_id: data.batchId,
          user_id: data.userId,
          content_id: data.contentId,
          attempt_id: data.attemptId,
        })),
      ),
    ],
  );
  const questions = recorded.flatMap(({ data, revision }) =>
    data.responses.map((question, index) => ({
      batch_id: data.batchId,
      user_id: data.userId,
      course_id: data.courseId,
      content_id: data.contentId,
      attempt_id: data.attemptId,
      attempted_on: data.submittedAt,
      question_index: index,
      question_id: question.questionId,
      question_type: question.type,
      question_title: question.title,
      duration: question.duration,
      score: question.score,
      max_score: question.maxScore,
      options: question.options,
      // Kept as sent; no answer at all is SQL NULL.
      response: question.response ?? null,
      answered_at: question.answeredAt,
      revision: revision.toString(),
    })),
  );
  if (questions.length === 0) return;
  await tx.query(
    `INSERT INTO assessment_responses (batch_id, user_id, course_id, content_id, attempt_id,
       attempted_on, question_index, question_id, question_type, question_title, duration, score,
       max_score, options, response, answered_at, revision)
     SELECT batch_id, user_id, course_id, content_id, attempt_id, attempted_on, question_index,
            question_id, question_type, question_title, duration, score, max_score,
            coalesce(options, '[]'::jsonb), response, answered_at, revision
       FROM jsonb_to_recordset($1::jsonb) AS q(batch_id text, user_id text, course_id text,
         content_id text, attempt_id text, attempted_on timestamptz, question_index integer,
         question_id text, question_type text, question_title text, duration double precision,
         score double precision, max_score double precision, options jsonb, response jsonb,
         answered_at timestamptz, revision bigint)`,
    [JSON.stringify(questions)],
  );
};

const applyOne: ProjectionHandler<EnrolmentEvent> = (event, tx) => applyBatch([event], tx);

/** Assessment responses per batch, learner, attempt and question: the response exhaust's rows. */
export const assessmentResponsesProjection = defineProjection<EnrolmentEvent>({
  name: ASSESSMENT_RESPONSES_READ_MODEL,
  version: 1,
  schema,
  tables: ['assessment_responses', 'assessment_response_learners'],
  batchSize: 2_000,
  streamNamePrefixes: [ENROLMENT_STREAM_PREFIX],
  handlers: {
    UserEnrolled: applyOne,
    UserUnenrolled: applyOne,
    AssessmentAttemptRecorded: applyOne,
  } satisfies HandlersOf<EnrolmentEvent>,
  applyBatch,
});
