import { CsvRow, dayCell, numberCell, textCell } from './csv-cells';
import {
  ReportBatch,
  ReportFile,
  ReportLearnerWithPersonalData,
  reportRows,
  shownPersonalData,
} from './report-inputs';

/** Exactly seed 002's order. */
export const COURSE_PROGRESS_REPORT_COLUMNS = [
  'External ID',
  'User ID',
  'User Name',
  'Email ID',
  'Mobile Number',
  'Organization Name',
  'District Name',
  'School Name',
  'Block Name',
  'Enrollment Date',
  'Course Progress',
  'Completion Date',
] as const;

/**
 * One learner's row; null for an inactive enrolment. External ID, name, email and phone only
 * with active consent for the requesting organisation and not erased; the User ID (the hub's
 * id, which seed 002 says cannot be blank) always.
 */
export const courseProgressReportRow = (
  batch: ReportBatch,
  learner: ReportLearnerWithPersonalData,
): CsvRow | null => {
  const { enrolment, attributes: profile } = learner;
  if (!enrolment.active) return null;
  const personal = shownPersonalData(learner, batch);
  return [
    textCell(personal.externalId),
    enrolment.userId,
    textCell(personal.name),
    textCell(personal.email),
    textCell(personal.phone),
    textCell(profile?.organisationName),
    textCell(profile?.district),
    textCell(profile?.schoolName),
    textCell(profile?.block),
    dayCell(enrolment.enrolledAt, batch.timeZone),
    numberCell(enrolment.progressPercent),
    dayCell(enrolment.completedOn, batch.timeZone),
  ];
};

/** The batch's file from a stream of learners. */
export const courseProgressReportFile = (
  batch: ReportBatch,
  learners: AsyncIterable<ReportLearnerWithPersonalData> | Iterable<ReportLearnerWithPersonalData>,
): ReportFile => ({
  header: COURSE_PROGRESS_REPORT_COLUMNS,
  rows: reportRows(learners, (learner) => courseProgressReportRow(batch, learner)),
});
