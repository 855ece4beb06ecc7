import { SqlExecutor } from '../../src/database/sql-database';
import { ENROLMENT_STREAM_PREFIX, EnrolmentEvent } from '../../src/enrolments/enrolment.events';
import {
  defineProjection,
  HandlersOf,
  ProjectedEvent,
  ProjectionHandler,
} from '../engine/projection';
import { ENROLMENT_COLUMNS, EnrolmentDbRow, EnrolmentRow, fromDbRow } from './enrolment-row';
import { ENROLMENTS_READ_MODEL } from './enrolments.query';

const schema = `
CREATE TABLE IF NOT EXISTS enrolments (
  batch_id text NOT NULL,
  user_id text NOT NULL,
  course_id text NOT NULL,
  enrolled_at timestamptz NOT NULL,
  active boolean NOT NULL,
  -- 0 enrolled, nothing consumed yet; 1 in progress; 2 completed
  status smallint NOT NULL,
  progress_percent smallint NOT NULL,
  completed_count integer NOT NULL,
  required_count integer NOT NULL,
  completed_on timestamptz,
  unit_progress jsonb NOT NULL,
  assessments jsonb NOT NULL,
  total_score double precision NOT NULL,
  total_max_score double precision NOT NULL,
  certificate_status text,
  certificate_id text,
  certificate_at timestamptz,
  certificate_failure jsonb,
  last_access_time timestamptz,
  last_content_id text,
  updated_at timestamptz NOT NULL,
  revision bigint NOT NULL,
  PRIMARY KEY (batch_id, user_id)
) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS enrolments_user ON enrolments (user_id, enrolled_at DESC);
`;

/** The row after one event: a pure function, so a batch and a rebuild fold the same way. */
export const applyEnrolmentEvent = (
  row: EnrolmentRow | null,
  event: EnrolmentEvent,
  revision: bigint,
): EnrolmentRow | null => {
  if (event.type === 'UserEnrolled') {
    const { batchId, userId, courseId, enrolledAt, progress } = event.data;
    // Enrolments recorded before UserEnrolled carried progress show it from their first progress.
    if (row)
      return {
        ...row,
        active: true,
        ...(progress && {
          progressPercent: row.completedOn ? 100 : progress.percent,
          completedCount: progress.completedCount,
          requiredCount: progress.requiredCount,
          unitProgress: progress.units,
        }),
        updatedAt: enrolledAt,
        revision,
      };
    return {
      batchId,
      userId,
      courseId,
      enrolledAt,
      active: true,
      status: 0,
      progressPercent: progress?.percent ?? 0,
      completedCount: progress?.completedCount ?? 0,
      requiredCount: progress?.requiredCount ?? 0,
      completedOn: null,
      unitProgress: progress?.units ?? {},
      assessments: {},
      totalScore: 0,
      totalMaxScore: 0,
      certificateStatus: null,
      certificateId: null,
      certificateAt: null,
      certificateFailure: null,
      lastAccessTime: null,
      lastContentId: null,
      updatedAt: enrolledAt,
      revision,
    };
  }
  if (!row) return null;
  switch (event.type) {
    case 'UserUnenrolled':
      return { ...row, active: false, updatedAt: event.data.unenrolledAt, revision };
    case 'ContentProgressRecorded': {
      const { progress, lastAccessTime, lastContentId, recordedAt } = event.data;
      return {
        ...row,
        // Completion is for good: a course that later gains contents does not undo it.
        status: row.completedOn ? 2 : 1,
        progressPercent: row.completedOn ? 100 : progress.percent,
        completedCount: progress.completedCount,
        requiredCount: progress.requiredCount,
        unitProgress: progress.units,
        lastAccessTime,
        lastContentId,
        updatedAt: recordedAt,
        revision,
      };
    }
    case 'AssessmentAttemptRecorded': {
      const { assessment, totalScore, totalMaxScore, recordedAt } = event.data;
      const { contentId, ...counting } = assessment;
      return {
        ...row,
        assessments: { ...row.assessments, [contentId]: counting },
        totalScore,
        totalMaxScore,
        updatedAt: recordedAt,
        revision,
      };
    }
    case 'CourseCompleted':
      return {
        ...row,
        status: 2,
        progressPercent: 100,
        completedOn: event.data.completedOn,
        updatedAt: event.data.completedOn,
        revision,
      };
    case 'CertificateIssued':
      return {
        ...row,
        certificateStatus: 'Issued',
        certificateId: event.data.certificateId,
        certificateAt: event.data.issuedAt,
        certificateFailure: null,
        updatedAt: event.data.issuedAt,
        revision,
      };
    case 'CertificateIssueFailed':
      return {
        ...row,
        certificateStatus: 'Failed',
        certificateAt: event.data.failedAt,
        certificateFailure: { code: event.data.code, reason: event.data.reason },
        updatedAt: event.data.failedAt,
        revision,
      };
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
};

const toRecord = (row: EnrolmentRow) => ({
  batch_id: row.batchId,
  user_id: row.userId,
  course_id: row.courseId,
  enrolled_at: row.enrolledAt,
  active: row.active,
  status: row.status,
  progress_percent: row.progressPercent,
  completed_count: row.completedCount,
  required_count: row.requiredCount,
  completed_on: row.completedOn,
  unit_progress: row.unitProgress,
  assessments: row.assessments,
  total_score: row.totalScore,
  total_max_score: row.totalMaxScore,
  certificate_status: row.certificateStatus,
  certificate_id: row.certificateId,
  certificate_at: row.certificateAt,
  certificate_failure: row.certificateFailure,
  last_access_time: row.lastAccessTime,
  last_content_id: row.lastContentId,
  updated_at: row.updatedAt,
  // Text keeps revisions beyond 2^53 exact through JSON.
  revision: row.revision.toString(),
});

const key = (batchId: string, userId: string) => `${batchId}\u0000${userId}`;

/**
 * Applies many events with two statements: load the rows they touch, fold in memory (skipping
 * events at or below a row's revision, so replays change nothing), write the rows back.
 */
const applyBatch = async (
  events: readonly ProjectedEvent<EnrolmentEvent>[],
  tx: SqlExecutor,
): Promise<void> => {
  // One indexed lookup per batch (a projection batch mostly touches one or two): a row-value
  // IN over unnest() lets the planner scan the whole table once it is large.
  const usersByBatch = new Map<string, Set<string>>();
  for (const { data } of events) {
    const { batchId, userId } = data;
    const users = usersByBatch.get(batchId) ?? new Set<string>();
    users.add(userId);
    usersByBatch.set(batchId, users);
  }
  const current = new Map<string, EnrolmentRow | null>();
  for (const [batchId, users] of usersByBatch) {
    const { rows } = await tx.query<EnrolmentDbRow>(
      `SELECT ${ENROLMENT_COLUMNS} FROM enrolments WHERE batch_id = $1 AND user_id = ANY($2::text[])`,
      [batchId, [...users]],
    );
    for (const row of rows) current.set(key(row.batch_id, row.user_id), fromDbRow(row));
  }
  const changed = new Map<string, EnrolmentRow>();
  for (const event of events) {
    const rowKey = key(event.data.batchId, event.data.userId);
    const before = current.get(rowKey) ?? null;
    if (before && before.revision >= event.revision) continue;
    const after = applyEnrolmentEvent(before, event, event.revision);
    current.set(rowKey, after);
    if (after) changed.set(rowKey, after);
  }
  if (changed.size === 0) return;
  await tx.query(
    `INSERT INTO enrolments (${ENROLMENT_COLUMNS})
     SELECT ${ENROLMENT_COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS r(
       batch_id text, user_id text, course_id text, enrolled_at timestamptz, active boolean,
       status smallint, progress_percent smallint, completed_count integer, required_count integer,
       completed_on timestamptz, unit_progress jsonb, assessments jsonb,
       total_score double precision, total_max_score double precision, certificate_status text,
       certificate_id text, certificate_at timestamptz, certificate_failure jsonb,
       last_access_time timestamptz, last_content_id text, updated_at timestamptz, revision bigint)
     ON CONFLICT (batch_id, user_id) DO UPDATE SET
       active = EXCLUDED.active, status = EXCLUDED.status,
       progress_percent = EXCLUDED.progress_percent, completed_count = EXCLUDED.completed_count,
       required_count = EXCLUDED.required_count, completed_on = EXCLUDED.completed_on,
       unit_progress = EXCLUDED.unit_progress,
       assessments = EXCLUDED.assessments, total_score = EXCLUDED.total_score,
       total_max_score = EXCLUDED.total_max_score, certificate_status = EXCLUDED.certificate_status,
       certificate_id = EXCLUDED.certificate_id, certificate_at = EXCLUDED.certificate_at,
       certificate_failure = EXCLUDED.certificate_failure,
       last_access_time = EXCLUDED.last_access_time, last_content_id = EXCLUDED.last_content_id,
       updated_at = EXCLUDED.updated_at, revision = EXCLUDED.revision
     WHERE enrolments.revision < EXCLUDED.revision`,
    [JSON.stringify([...changed.values()].map(toRecord))],
  );
};

const applyOne: ProjectionHandler<EnrolmentEvent> = (event, tx) => applyBatch([event], tx);

/** Per learner and batch: enrolment, progress, scores and certificate. */
export const enrolmentsProjection = defineProjection<EnrolmentEvent>({
  name: ENROLMENTS_READ_MODEL,
  version: 1,
  schema,
  tables: ['enrolments'],
  // Set-based: a large batch costs little more than a small one, so catching up takes few.
  batchSize: 2_000,
  streamNamePrefixes: [ENROLMENT_STREAM_PREFIX],
  handlers: {
    UserEnrolled: applyOne,
    UserUnenrolled: applyOne,
    ContentProgressRecorded: applyOne,
    AssessmentAttemptRecorded: applyOne,
    CourseCompleted: applyOne,
    CertificateIssued: applyOne,
    CertificateIssueFailed: applyOne,
  } satisfies Required<HandlersOf<EnrolmentEvent>>,
  applyBatch,
});
