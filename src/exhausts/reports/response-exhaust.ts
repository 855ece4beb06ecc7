import { CourseNode, leavesOf } from '../../courses/course.events';
import { QuestionResponse } from '../../enrolments/enrolment.events';
import { CsvRow, batchIdCell, dateTimeCell, numberCell, textCell } from './csv-cells';
import { ReportBatch, ReportFile } from './report-inputs';

/** The reference's order (ResponseExhaustJob). */
export const RESPONSE_EXHAUST_COLUMNS = [
  'Collection Id',
  'Collection Name',
  'Batch Id',
  'Batch Name',
  'User UUID',
  'QuestionSet Id',
  'QuestionSet Title',
  'Attempt Id',
  'Attempted On',
  'Question Id',
  'Question Type',
  'Question Title',
  'Question Description',
  'Question Duration',
  'Question Score',
  'Question Max Score',
  'Question Options',
  'Question Response',
] as const;

/**
 * One submitted attempt of an assessment, as an AssessmentAttemptRecorded event carries it. A
 * resubmission of the same attempt id replaces the earlier one, so the caller passes the latest.
 */
export interface ResponseExhaustAttempt {
  userId: string;
  /** False once the learner unenrolled: their attempts are left out, as in the other reports. */
  enrolmentActive: boolean;
  /** The assessment content: the reference's question set. */
  contentId: string;
  attemptId: string;
  /** When the attempt was submitted: Attempted On. */
  submittedAt: string;
  /** One per question, the latest answer within the attempt, in the order the player sent. */
  responses: readonly QuestionResponse[];
}

/** Assessment titles by content id, for QuestionSet Title; worked out once per file. */
export const questionSetTitles = (hierarchy: readonly CourseNode[]): ReadonlyMap<string, string> =>
  new Map(
    leavesOf(hierarchy).flatMap((leaf) =>
      leaf.kind === 'assessment' ? [[leaf.id, leaf.name] as const] : [],
    ),
  );

// Control characters become spaces, so that words on either side of a line break stay apart.
const cleanText = (text: string): string =>
  text
    .replace(/\p{Cc}+/gu, ' ')
    .replaceAll('\\', '')
    .replaceAll('"', "'");

const cleanValue = (value: unknown): unknown => {
  if (typeof value === 'string') return cleanText(value);
  if (Array.isArray(value)) return value.map(cleanValue);
  if (value !== null && typeof value === 'object') {
    const entries: [string, unknown][] = Object.entries(value);
    return Object.fromEntries(entries.map(([key, inner]) => [cleanText(key), cleanValue(inner)]));
  }
  return value;
};

/**
 * Options and responses as the reference writes them: JSON with line breaks and backslashes
 * removed and double quotes turned into single ones (`[{'value':1}]`). The text is cleaned
 * before it is serialised, so JSON's own escapes never appear; blank for no value.
 */
export const referenceJson = (value: unknown): string =>
  value === null || value === undefined
    ? ''
    : (JSON.stringify(cleanValue(value)) ?? '').replaceAll('"', "'");

const questionRow = (
  batch: ReportBatch,
  titles: ReadonlyMap<string, string>,
  attempt: ResponseExhaustAttempt,
  question: QuestionResponse,
): CsvRow => [
  batch.courseId,
  batch.courseName,
  batchIdCell(batch.batchId),
  batch.batchName,
  attempt.userId,
  attempt.contentId,
  textCell(titles.get(attempt.contentId)),
  attempt.attemptId,
  dateTimeCell(attempt.submittedAt, batch.timeZone),
  question.questionId,
  question.type,
  question.title,
  // The hub's questions carry no description.
  '',
  // The reference rounds the duration to whole seconds.
  numberCell(Math.round(question.duration)),
  numberCell(question.score),
  numberCell(question.maxScore),
  referenceJson(question.options),
  referenceJson(question.response),
];

/** One row per question of the attempt; none for an inactive enrolment. */
export const responseExhaustRows = (
  batch: ReportBatch,
  titles: ReadonlyMap<string, string>,
  attempt: ResponseExhaustAttempt,
): CsvRow[] =>
  attempt.enrolmentActive
    ? attempt.responses.map((question) => questionRow(batch, titles, attempt, question))
    : [];

async function* fileRows(
  batch: ReportBatch,
  attempts: AsyncIterable<ResponseExhaustAttempt> | Iterable<ResponseExhaustAttempt>,
): AsyncGenerator<CsvRow> {
  const titles = questionSetTitles(batch.hierarchy);
  for await (const attempt of attempts) yield* responseExhaustRows(batch, titles, attempt);
}

/** The batch's file from a stream of attempts, one attempt's questions at a time. */
export const responseExhaustFile = (
  batch: ReportBatch,
  attempts: AsyncIterable<ResponseExhaustAttempt> | Iterable<ResponseExhaustAttempt>,
): ReportFile => ({ header: RESPONSE_EXHAUST_COLUMNS, rows: fileRows(batch, attempts) });
