import { SqlExecutor } from '../../src/database/sql-database';

export const LMS_MIRROR_READ_MODEL = 'lms-mirror';

/** A (learner, LMS course run) pair as a worker holds it while making the LMS agree. */
export interface MirrorTarget {
  userId: string;
  resourceLink: string;
  desiredActive: boolean;
  desiredVersion: string;
  attempts: number;
  /** The claim's lease: its owner and claim, handed back by the outcome. */
  lease: string;
}

interface TargetRow {
  user_id: string;
  resource_link: string;
  desired_active: boolean;
  desired_version: string;
  attempts: number;
  lease_owner: string;
  [column: string]: unknown;
}

const DUE = `(handled_version IS NULL OR handled_version < desired_version)`;

/**
 * Leases up to `limit` due pairs under `lease` (an instance and its claim) until `leaseUntil`:
 * those whose retry time has come and that no live lease holds, retries that fell due first (a
 * burst of new pairs must not hold them back), then the oldest wishes. SKIP LOCKED lets several
 * instances claim side by side without ever taking the same pair.
 */
export const claimDueTargets = async (
  db: SqlExecutor,
  lease: string,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<MirrorTarget[]> => {
  const { rows } = await db.query<TargetRow>(
    `UPDATE lms_mirror_targets t SET lease_owner = $1, lease_until = $3
       FROM (SELECT user_id, resource_link FROM lms_mirror_targets
              WHERE ${DUE} AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
                AND (lease_until IS NULL OR lease_until <= $2)
              ORDER BY next_attempt_at NULLS LAST, desired_version
              LIMIT $4 FOR UPDATE SKIP LOCKED) due
      WHERE t.user_id = due.user_id AND t.resource_link = due.resource_link
      RETURNING t.user_id, t.resource_link, t.desired_active, t.desired_version, t.attempts, t.lease_owner`,
    [lease, now, leaseUntil, limit],
  );
  return rows.map((row) => ({
    userId: row.user_id,
    resourceLink: row.resource_link,
    desiredActive: row.desired_active,
    desiredVersion: row.desired_version,
    attempts: Number(row.attempts),
    lease: row.lease_owner,
  }));
};

/** Gives back every pair an instance still holds (`${owner}:…` leases): it is stopping. */
export const releaseLeasesOf = async (db: SqlExecutor, owner: string): Promise<void> => {
  await db.query(
    `UPDATE lms_mirror_targets SET lease_owner = NULL, lease_until = NULL
      WHERE starts_with(lease_owner, $1 || ':')`,
    [owner],
  );
};

/** When the next pair falls due, so an idle worker sleeps no longer than it must. */
export const nextDueAt = async (db: SqlExecutor): Promise<Date | null> => {
  const { rows } = await db.query<{ at: Date | string | null }>(
    `SELECT min(greatest(coalesce(next_attempt_at, '-infinity'), coalesce(lease_until, '-infinity'))) AS at
       FROM lms_mirror_targets WHERE ${DUE}`,
  );
  const at = rows[0]?.at;
  return at === null || at === undefined ? null : new Date(at);
};

export interface BatchMirrorLink {
  batchId: string;
  courseId: string;
  organisationId: string;
  /** The batch's own link, else its course's; null when the batch is not mirrored. */
  resourceLink: string | null;
}

export const readBatchMirrorLink = async (
  db: SqlExecutor,
  batchId: string,
): Promise<BatchMirrorLink | null> => {
  const { rows } = await db.query<{
    batch_id: string;
    course_id: string;
    organisation_id: string;
    resource_link: string | null;
  }>(
    `SELECT b.batch_id, b.course_id, b.organisation_id,
            coalesce(b.resource_link, c.resource_link) AS resource_link
       FROM lms_mirror_batches b LEFT JOIN lms_mirror_courses c ON c.course_id = b.course_id
      WHERE b.batch_id = $1`,
    [batchId],
  );
  const row = rows[0];
  return row
    ? {
        batchId: row.batch_id,
        courseId: row.course_id,
        organisationId: row.organisation_id,
        resourceLink: row.resource_link,
      }
    : null;
};

/** One learner of a batch: the hub's enrolment and what the mirror did about it. */
export interface LearnerMirrorState {
  userId: string;
  enrolled: boolean;
  /** What the LMS should hold for the learner: enrolled when any of their batches there says so. */
  desiredActive: boolean | null;
  /** What the LMS held after the last mirror; null before any. */
  mirroredActive: boolean | null;
  mirroredAt: Date | null;
  pending: boolean;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastFailedAt: Date | null;
  nextAttemptAt: Date | null;
  lms: string | null;
  lmsCourseId: string | null;
}

interface LearnerRow {
  user_id: string;
  enrolled: boolean;
  desired_active: boolean | null;
  mirrored_active: boolean | null;
  mirrored_at: Date | string | null;
  pending: boolean | null;
  attempts: number | null;
  last_status: number | null;
  last_error: string | null;
  last_failed_at: Date | string | null;
  next_attempt_at: Date | string | null;
  lms: string | null;
  lms_course_id: string | null;
  [column: string]: unknown;
}

const dateOrNull = (value: Date | string | null): Date | null =>
  value === null ? null : new Date(value);

/** The batch's learners after `afterUserId`, in user id order, with their mirror state. */
export const listBatchMirrorStates = async (
  db: SqlExecutor,
  batch: BatchMirrorLink,
  filter: { afterUserId: string | null; userId: string | null; limit: number },
): Promise<LearnerMirrorState[]> => {
  const { rows } = await db.query<LearnerRow>(
    `SELECT e.user_id, e.active AS enrolled, t.desired_active, t.mirrored_active, t.mirrored_at,
            (t.handled_version IS NULL OR t.handled_version < t.desired_version) AS pending,
            t.attempts, t.last_status, t.last_error, t.last_failed_at, t.next_attempt_at,
            t.lms, t.lms_course_id
       FROM lms_mirror_enrolments e
       LEFT JOIN lms_mirror_targets t ON t.user_id = e.user_id AND t.resource_link = $2
      WHERE e.batch_id = $1 AND ($3::text IS NULL OR e.user_id > $3)
        AND ($4::text IS NULL OR e.user_id = $4)
      ORDER BY e.user_id LIMIT $5`,
    [batch.batchId, batch.resourceLink, filter.afterUserId, filter.userId, filter.limit],
  );
  return rows.map((row) => ({
    userId: row.user_id,
    enrolled: row.enrolled,
    desiredActive: row.desired_active,
    mirroredActive: row.mirrored_active,
    mirroredAt: dateOrNull(row.mirrored_at),
    pending: row.pending ?? false,
    attempts: Number(row.attempts ?? 0),
    lastStatus: row.last_status,
    lastError: row.last_error,
    lastFailedAt: dateOrNull(row.last_failed_at),
    nextAttemptAt: dateOrNull(row.next_attempt_at),
    lms: row.lms,
    lmsCourseId: row.lms_course_id,
  }));
};

/** How far the batch's mirror is: learners, pairs still due, and pairs that failed for good. */
export const batchMirrorSummary = async (
  db: SqlExecutor,
  batch: BatchMirrorLink,
): Promise<{ learners: number; pending: number; failed: number; mirrored: number }> => {
  const { rows } = await db.query<{
    learners: string;
    pending: string;
    failed: string;
    mirrored: string;
  }>(
    `SELECT count(*) AS learners,
            count(*) FILTER (WHERE t.handled_version IS NULL OR t.handled_version < t.desired_version) AS pending,
            count(*) FILTER (WHERE t.handled_version >= t.desired_version AND t.last_error IS NOT NULL) AS failed,
            count(*) FILTER (WHERE t.handled_version >= t.desired_version AND t.last_error IS NULL) AS mirrored
       FROM lms_mirror_enrolments e
       LEFT JOIN lms_mirror_targets t ON t.user_id = e.user_id AND t.resource_link = $2
      WHERE e.batch_id = $1`,
    [batch.batchId, batch.resourceLink],
  );
  const row = rows[0];
  return {
    learners: Number(row?.learners ?? 0),
    pending: Number(row?.pending ?? 0),
    failed: Number(row?.failed ?? 0),
    mirrored: Number(row?.mirrored ?? 0),
  };
};
