import { SqlExecutor } from '../../src/database/sql-database';
import { QuestionResponse } from '../../src/enrolments/enrolment.events';

export const ASSESSMENT_RESPONSES_READ_MODEL = 'assessment-responses';

/** One question of one recorded attempt: a row of the response exhaust. */
export interface AssessmentResponseRow {
  batchId: string;
  userId: string;
  courseId: string;
  /** False once the learner unenrolled from the batch: the report leaves them out. */
  enrolmentActive: boolean;
  /** The assessment: the reference's QuestionSet Id. */
  contentId: string;
  attemptId: string;
  /** When the attempt was submitted (ISO): Attempted On. */
  attemptedOn: string;
  /** The question's place in the attempt, from 0, as the player sent it. */
  questionIndex: number;
  questionId: string;
  questionType: string;
  questionTitle: string;
  /** Seconds. */
  duration: number;
  score: number;
  maxScore: number | null;
  options: unknown[];
  /** As sent; null when there was none. */
  response: unknown;
  answeredAt: string | null;
  revision: bigint;
}

/** One attempt with its questions, in the shape the response exhaust takes them. */
export interface AssessmentAttemptResponses {
  userId: string;
  enrolmentActive: boolean;
  contentId: string;
  attemptId: string;
  submittedAt: string;
  responses: QuestionResponse[];
}

interface ResponseDbRow {
  batch_id: string;
  user_id: string;
  course_id: string;
  active: boolean;
  content_id: string;
  attempt_id: string;
  attempted_on: Date | string;
  question_index: number;
  question_id: string;
  question_type: string;
  question_title: string;
  duration: number;
  score: number;
  max_score: number | null;
  options: unknown[];
  response: unknown;
  answered_at: Date | string | null;
  revision: string | number | bigint;
  [column: string]: unknown;
}

const iso = (value: Date | string): string => new Date(value).toISOString();

const fromDbRow = (row: ResponseDbRow): AssessmentResponseRow => ({
  batchId: row.batch_id,
  userId: row.user_id,
  courseId: row.course_id,
  enrolmentActive: row.active,
  contentId: row.content_id,
  attemptId: row.attempt_id,
  attemptedOn: iso(row.attempted_on),
  questionIndex: Number(row.question_index),
  questionId: row.question_id,
  questionType: row.question_type,
  questionTitle: row.question_title,
  duration: Number(row.duration),
  score: Number(row.score),
  maxScore: row.max_score === null ? null : Number(row.max_score),
  options: row.options,
  response: row.response,
  answeredAt: row.answered_at === null ? null : iso(row.answered_at),
  revision: BigInt(row.revision),
});

const SELECT_RESPONSES = `
  SELECT r.batch_id, r.user_id, r.course_id, l.active, r.content_id, r.attempt_id,
         r.attempted_on, r.question_index, r.question_id, r.question_type, r.question_title,
         r.duration, r.score, r.max_score, r.options, r.response, r.answered_at, r.revision
    FROM assessment_responses r
    JOIN assessment_response_learners l ON l.batch_id = r.batch_id AND l.user_id = r.user_id`;

/**
 * A batch's responses in (user, assessment, attempt, question) order, read a page at a time by
 * keyset on the primary key (no OFFSET), so a batch of any size is never held whole. Pages are
 * separate reads: a row written meanwhile behind the page read last is not seen, one ahead is.
 */
export async function* responsesOfBatch(
  db: SqlExecutor,
  batchId: string,
  pageSize = 5_000,
): AsyncGenerator<AssessmentResponseRow> {
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new RangeError(`pageSize must be a positive integer, not ${pageSize}`);
  let last: ResponseDbRow | undefined;
  for (;;) {
    const { rows }: { rows: ResponseDbRow[] } = last
      ? await db.query<ResponseDbRow>(
          `${SELECT_RESPONSES}
            WHERE r.batch_id = $1
              AND (r.user_id, r.content_id, r.attempt_id, r.question_index) > ($2, $3, $4, $5)
            ORDER BY r.user_id, r.content_id, r.attempt_id, r.question_index LIMIT $6`,
          [batchId, last.user_id, last.content_id, last.attempt_id, last.question_index, pageSize],
        )
      : await db.query<ResponseDbRow>(
          `${SELECT_RESPONSES}
            WHERE r.batch_id = $1
            ORDER BY r.user_id, r.content_id, r.attempt_id, r.question_index LIMIT $2`,
          [batchId, pageSize],
        );
    for (const row of rows) yield fromDbRow(row);
    if (rows.length < pageSize) return;
    last = rows.at(-1);
  }
}

/**
 * The same stream grouped into attempts (an attempt split across pages is put back together):
 * what `responseExhaustFile` takes, one attempt at a time.
 */
export async function* attemptsOfBatch(
  db: SqlExecutor,
  batchId: string,
  pageSize = 5_000,
): AsyncGenerator<AssessmentAttemptResponses> {
  let current: AssessmentAttemptResponses | null = null;
  for await (const row of responsesOfBatch(db, batchId, pageSize)) {
    if (
      current === null ||
      current.userId !== row.userId ||
      current.contentId !== row.contentId ||
      current.attemptId !== row.attemptId
    ) {
      if (current) yield current;
      current = {
        userId: row.userId,
        enrolmentActive: row.enrolmentActive,
        contentId: row.contentId,
        attemptId: row.attemptId,
        submittedAt: row.attemptedOn,
        responses: [],
      };
    }
    current.responses.push({
      questionId: row.questionId,
      type: row.questionType,
      title: row.questionTitle,
      options: row.options,
      response: row.response,
      score: row.score,
      maxScore: row.maxScore,
      duration: row.duration,
      answeredAt: row.answeredAt,
    });
  }
  if (current) yield current;
}
