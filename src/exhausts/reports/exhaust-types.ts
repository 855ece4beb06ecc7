import { fileDate } from './csv-cells';

/** The reports a course mentor or admin can request, named as the reference's job ids. */
export const EXHAUST_TYPES = [
  'progress-exhaust',
  'course-progress-report',
  'userinfo-exhaust',
  'response-exhaust',
] as const;

export type ExhaustType = (typeof EXHAUST_TYPES)[number];

export const isExhaustType = (value: string): value is ExhaustType =>
  (EXHAUST_TYPES as readonly string[]).includes(value);

/**
 * The key in a report's file name. Progress, user info and response are the reference's
 * (`progress`, `userinfo`, `response`); the reference has no course-progress-report job, so
 * its key follows the same pattern.
 */
export const exhaustFileKey = (type: ExhaustType): string => {
  switch (type) {
    case 'progress-exhaust':
      return 'progress';
    case 'course-progress-report':
      return 'course_progress';
    case 'userinfo-exhaust':
      return 'userinfo';
    case 'response-exhaust':
      return 'response';
    default: {
      const unknown: never = type;
      throw new Error(`Unknown exhaust type ${String(unknown)}`);
    }
  }
};

/**
 * A batch id becomes part of a file path: one that could leave the request's folder (a
 * separator, `.` or `..`) or end the name early (NUL) is refused rather than cleaned.
 */
const assertFileNamePart = (batchId: string): void => {
  if (batchId === '' || batchId === '.' || batchId === '..' || /[/\\\0]/.test(batchId)) {
    throw new RangeError(`Batch id cannot be part of a file name: ${JSON.stringify(batchId)}`);
  }
};

/**
 * `<batchId>_<key>_<yyyyMMdd>.<extension>` as the reference names it
 * (`013307481768378368112_progress_20220927.zip`), the date as it falls in `timeZone`.
 */
export const exhaustFileName = (
  type: ExhaustType,
  batchId: string,
  createdAt: string | Date,
  timeZone: string,
  extension = 'zip',
): string => {
  assertFileNamePart(batchId);
  return `${batchId}_${exhaustFileKey(type)}_${fileDate(createdAt, timeZone)}.${extension}`;
};
