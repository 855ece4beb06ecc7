import { Readable } from 'node:stream';
import { CourseNode } from '../../../src/courses/course.events';
import { CsvRow } from '../../../src/exhausts/reports/csv-cells';
import {
  ReportBatch,
  ReportConsent,
  ReportEnrolment,
} from '../../../src/exhausts/reports/report-inputs';
import { UserProfileAttributes } from '../../../src/users/user.events';

/**
 * A small course for the report specs:
 *   u1 (unit): c1 (content), u1a (nested unit): a1 (assessment, max 5)
 *   u2 (unit): a2 (assessment, max 1), c2 (content)
 *   a3 (top-level assessment, max 10)
 * Top-level units u1, u2 get progress columns; a1, a2, a3 score columns, in that order.
 */
export const HIERARCHY: CourseNode[] = [
  {
    kind: 'unit',
    id: 'u1',
    name: 'Unit one',
    children: [
      { kind: 'content', id: 'c1', name: 'Reading', optional: false },
      {
        kind: 'unit',
        id: 'u1a',
        name: 'Unit one, part a',
        children: [
          { kind: 'assessment', id: 'a1', name: 'Quiz one', optional: false, maxScore: 5 },
        ],
      },
    ],
  },
  {
    kind: 'unit',
    id: 'u2',
    name: 'Unit two',
    children: [
      { kind: 'assessment', id: 'a2', name: 'Quiz two', optional: false, maxScore: 1 },
      { kind: 'content', id: 'c2', name: 'Video', optional: true },
    ],
  },
  { kind: 'assessment', id: 'a3', name: 'Final test', optional: false, maxScore: 10 },
];

export const BATCH: ReportBatch = {
  courseId: 'do_course_1',
  courseName: 'Course one',
  batchId: '0130934495109529600',
  batchName: 'Batch one',
  hierarchy: HIERARCHY,
  requestingOrganisationId: 'org-a',
  timeZone: 'Asia/Kolkata',
};

export const ATTRIBUTES: UserProfileAttributes = {
  userType: 'administrator',
  userSubType: 'deo',
  state: 'Karnataka',
  district: 'Mysuru',
  block: 'Hunsur',
  cluster: 'Cluster 4',
  schoolId: '29220100101',
  schoolName: 'GHS Hunsur',
  organisationName: 'Org A',
};

export const enrolment = (overrides: Partial<ReportEnrolment> = {}): ReportEnrolment => ({
  batchId: BATCH.batchId,
  userId: 'user-1',
  enrolledAt: '2026-01-10T05:00:00.000Z',
  active: true,
  progressPercent: 0,
  completedOn: null,
  unitProgress: {},
  assessments: {},
  certificateStatus: null,
  ...overrides,
});

export const consent = (overrides: Partial<ReportConsent> = {}): ReportConsent => ({
  consumerOrganisationId: 'org-a',
  active: true,
  decidedAt: '2026-01-09T20:00:00.000Z',
  ...overrides,
});

/** The whole CSV text a Readable produces. */
export const readAll = async (readable: Readable): Promise<string> => {
  // The decoder keeps a character split across chunks whole.
  readable.setEncoding('utf8');
  let text = '';
  for await (const chunk of readable) text += String(chunk);
  return text;
};

/** Cells of a row by column name, so expectations read like the file. */
export const byColumn = (header: CsvRow, row: CsvRow | null): Record<string, string> => {
  if (row === null) throw new Error('expected a row');
  return Object.fromEntries(header.map((column, index) => [column, row[index] ?? '<missing>']));
};

export const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};
