import { AssessmentScore, CertificateStatus } from '../../src/enrolments/enrolment.events';

/** One enrolment as the read model holds it; timestamps as ISO strings while folding. */
export interface EnrolmentRow {
  batchId: string;
  userId: string;
  courseId: string;
  enrolledAt: string;
  active: boolean;
  status: 0 | 1 | 2;
  progressPercent: number;
  completedCount: number;
  requiredCount: number;
  completedOn: string | null;
  unitProgress: Record<string, number>;
  assessments: Record<string, Omit<AssessmentScore, 'contentId'>>;
  totalScore: number;
  totalMaxScore: number;
  certificateStatus: CertificateStatus;
  certificateId: string | null;
  certificateAt: string | null;
  certificateFailure: { code: string; reason: string } | null;
  lastAccessTime: string | null;
  lastContentId: string | null;
  updatedAt: string;
  revision: bigint;
}

export const ENROLMENT_COLUMNS = `batch_id, user_id, course_id, enrolled_at, active, status, progress_percent,
  completed_count, required_count, completed_on, unit_progress, assessments,
  total_score, total_max_score, certificate_status, certificate_id, certificate_at,
  certificate_failure, last_access_time, last_content_id, updated_at, revision`;

export interface EnrolmentDbRow {
  batch_id: string;
  user_id: string;
  course_id: string;
  enrolled_at: Date | string;
  active: boolean;
  status: number;
  progress_percent: number;
  completed_count: number;
  required_count: number;
  completed_on: Date | string | null;
  unit_progress: Record<string, number>;
  assessments: EnrolmentRow['assessments'];
  total_score: number;
  total_max_score: number;
  certificate_status: string | null;
  certificate_id: string | null;
  certificate_at: Date | string | null;
  certificate_failure: EnrolmentRow['certificateFailure'];
  last_access_time: Date | string | null;
  last_content_id: string | null;
  updated_at: Date | string;
  revision: string | number;
  [column: string]: unknown;
}

const iso = (value: Date | string): string =>
  value instanceof Date ? value.toISOString() : new Date(value).toISOString();
const isoOrNull = (value: Date | string | null): string | null =>
  value === null ? null : iso(value);

export const fromDbRow = (row: EnrolmentDbRow): EnrolmentRow => ({
  batchId: row.batch_id,
  userId: row.user_id,
  courseId: row.course_id,
  enrolledAt: iso(row.enrolled_at),
  active: row.active,
  status: Number(row.status) as EnrolmentRow['status'],
  progressPercent: Number(row.progress_percent),
  completedCount: Number(row.completed_count),
  requiredCount: Number(row.required_count),
  completedOn: isoOrNull(row.completed_on),
  unitProgress: row.unit_progress,
  assessments: row.assessments,
  totalScore: Number(row.total_score),
  totalMaxScore: Number(row.total_max_score),
  certificateStatus: row.certificate_status as CertificateStatus,
  certificateId: row.certificate_id,
  certificateAt: isoOrNull(row.certificate_at),
  certificateFailure: row.certificate_failure,
  lastAccessTime: isoOrNull(row.last_access_time),
  lastContentId: row.last_content_id,
  updatedAt: iso(row.updated_at),
  revision: BigInt(row.revision),
});
