import { CsvRow, batchIdCell, dayCell, textCell } from './csv-cells';
import {
  ReportBatch,
  ReportFile,
  ReportLearnerWithPersonalData,
  consentsTo,
  reportRows,
  shownPersonalData,
} from './report-inputs';

/** The reference's order (UserInfoExhaustJob). */
export const USERINFO_EXHAUST_COLUMNS = [
  'Collection Id',
  'Collection Name',
  'Batch Id',
  'Batch Name',
  'User UUID',
  'User Name',
  'User Type',
  'User Sub Type',
  'State',
  'District',
  'Block',
  'Cluster',
  'School Id',
  'School Name',
  'Org Name',
  'Email ID',
  'Mobile Number',
  'Consent Provided',
  'Consent Provided Date',
] as const;

/**
 * One learner's row, or null when the enrolment is inactive or the learner has no active
 * consent for the requesting organisation: the reference leaves such users out of the file
 * (SB-24966), so a revoked consent drops the row. An erased learner who consented keeps the row,
 * with the personal cells blank.
 */
export const userinfoExhaustRow = (
  batch: ReportBatch,
  learner: ReportLearnerWithPersonalData,
): CsvRow | null => {
  const { enrolment, attributes: profile, consent } = learner;
  if (!enrolment.active || !consentsTo(consent, batch)) return null;
  const personal = shownPersonalData(learner, batch);
  return [
    batch.courseId,
    batch.courseName,
    batchIdCell(batch.batchId),
    batch.batchName,
    enrolment.userId,
    textCell(personal.name),
    textCell(profile?.userType),
    textCell(profile?.userSubType),
    textCell(profile?.state),
    textCell(profile?.district),
    textCell(profile?.block),
    textCell(profile?.cluster),
    textCell(profile?.schoolId),
    textCell(profile?.schoolName),
    textCell(profile?.organisationName),
    textCell(personal.email),
    textCell(personal.phone),
    // The reference's consentflag; every row that remains has consented.
    'true',
    dayCell(consent.decidedAt, batch.timeZone),
  ];
};

/** The batch's file from a stream of learners. */
export const userinfoExhaustFile = (
  batch: ReportBatch,
  learners: AsyncIterable<ReportLearnerWithPersonalData> | Iterable<ReportLearnerWithPersonalData>,
): ReportFile => ({
  header: USERINFO_EXHAUST_COLUMNS,
  rows: reportRows(learners, (learner) => userinfoExhaustRow(batch, learner)),
});
