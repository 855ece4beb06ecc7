import { CourseNode, leavesOf } from '../../courses/course.events';
import { CsvRow, batchIdCell, dayCell, numberCell, percentCell, textCell } from './csv-cells';
import {
  ReportBatch,
  ReportEnrolment,
  ReportFile,
  ReportLearner,
  reportRows,
} from './report-inputs';

/** The reference's fixed columns, in its order (ProgressExhaustJob's `organizeDF`). */
export const PROGRESS_EXHAUST_FIXED_COLUMNS = [
  'Collection Id',
  'Collection Name',
  'Batch Id',
  'Batch Name',
  'User UUID',
  'State',
  'District',
  'Org Name',
  'School Id',
  'School Name',
  'Block Name',
  'Cluster Name',
  'User Type',
  'User Sub Type',
  'Declared Board',
  'Enrolment Date',
  'Completion Date',
  'Certificate Status',
  'Progress',
  'Total Score',
] as const;

/** A progress-exhaust entry: the learner, and their declared board if the caller knows it. */
export interface ProgressExhaustEntry extends ReportLearner {
  /** Declared Board. Hub profiles carry no board yet, so callers pass null (blank). */
  board: string | null;
}

/** The columns a course's hierarchy adds, worked out once per file rather than per row. */
export interface ProgressExhaustLayout {
  header: CsvRow;
  /** Top-level units, in hierarchy order: one `<unitId> - Progress` column each. */
  unitIds: readonly string[];
  /** Assessments anywhere in the hierarchy, in order: one `<contentId> - Score` column each. */
  assessmentIds: readonly string[];
}

/**
 * Only top-level units get a column, as in the reference's first version (level-1 units); the
 * reference later dropped them, though its documentation still promises them.
 */
export const progressExhaustLayout = (hierarchy: readonly CourseNode[]): ProgressExhaustLayout => {
  const unitIds = hierarchy.flatMap((node) => (node.kind === 'unit' ? [node.id] : []));
  const assessmentIds = leavesOf(hierarchy).flatMap((leaf) =>
    leaf.kind === 'assessment' ? [leaf.id] : [],
  );
  return {
    header: [
      ...PROGRESS_EXHAUST_FIXED_COLUMNS,
      ...unitIds.map((id) => `${id} - Progress`),
      ...assessmentIds.map((id) => `${id} - Score`),
    ],
    unitIds,
    assessmentIds,
  };
};

/**
 * Total Score: `ceil(Σscore * 100 / Σmax)%` over the course's assessments the learner attempted
 * ("across all assessments within the collection", as the reference documents it), so it agrees
 * with the score columns beside it; blank without any. An assessment since removed from the
 * hierarchy no longer counts, though the hub's certificate rule counted it when it was decided.
 */
export const totalScoreCell = (
  assessments: ReportEnrolment['assessments'],
  assessmentIds: readonly string[],
): string => {
  let score = 0;
  let maxScore = 0;
  for (const id of assessmentIds) {
    const attempt = assessments[id];
    if (attempt === undefined) continue;
    score += attempt.score;
    maxScore += attempt.maxScore;
  }
  return percentCell(score, maxScore);
};

const assessmentCell = (enrolment: ReportEnrolment, contentId: string): string => {
  const attempt = enrolment.assessments[contentId];
  return attempt === undefined ? '' : percentCell(attempt.score, attempt.maxScore);
};

/** One learner's row; null for an inactive enrolment, which the report leaves out. */
export const progressExhaustRow = (
  batch: ReportBatch,
  layout: ProgressExhaustLayout,
  entry: ProgressExhaustEntry,
): CsvRow | null => {
  const { enrolment, attributes: profile } = entry;
  if (!enrolment.active) return null;
  return [
    batch.courseId,
    batch.courseName,
    batchIdCell(batch.batchId),
    batch.batchName,
    enrolment.userId,
    textCell(profile?.state),
    textCell(profile?.district),
    textCell(profile?.organisationName),
    textCell(profile?.schoolId),
    textCell(profile?.schoolName),
    textCell(profile?.block),
    textCell(profile?.cluster),
    textCell(profile?.userType),
    textCell(profile?.userSubType),
    textCell(entry.board),
    dayCell(enrolment.enrolledAt, batch.timeZone),
    dayCell(enrolment.completedOn, batch.timeZone),
    textCell(enrolment.certificateStatus),
    numberCell(enrolment.progressPercent),
    totalScoreCell(enrolment.assessments, layout.assessmentIds),
    ...layout.unitIds.map((id) => numberCell(enrolment.unitProgress[id])),
    ...layout.assessmentIds.map((id) => assessmentCell(enrolment, id)),
  ];
};

/** The batch's file from a stream of learners; its columns follow the batch's hierarchy. */
export const progressExhaustFile = (
  batch: ReportBatch,
  entries: AsyncIterable<ProgressExhaustEntry> | Iterable<ProgressExhaustEntry>,
): ReportFile => {
  const layout = progressExhaustLayout(batch.hierarchy);
  return {
    header: layout.header,
    rows: reportRows(entries, (entry) => progressExhaustRow(batch, layout, entry)),
  };
};
