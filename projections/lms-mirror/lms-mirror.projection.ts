import { SqlExecutor } from '../../src/database/sql-database';
import { BatchCreated, BatchUpdated } from '../../src/batches/batch.events';
import { CourseLmsResourceLinkChanged, CourseRegistered } from '../../src/courses/course.events';
import { UserEnrolled, UserUnenrolled } from '../../src/enrolments/enrolment.events';
import { Position } from '../../src/event-store/event-store.port';
import {
  LmsEnrollmentMirrored,
  LmsEnrollmentMirrorFailed,
  LmsMirrorRequested,
} from '../../src/lms/lms-mirror.events';
import { defineProjection, ProjectedEvent } from '../engine/projection';
import { LMS_MIRROR_READ_MODEL } from './lms-mirror.query';

type MirrorEvent =
  | CourseRegistered
  | CourseLmsResourceLinkChanged
  | BatchCreated
  | BatchUpdated
  | UserEnrolled
  | UserUnenrolled
  | LmsEnrollmentMirrored
  | LmsEnrollmentMirrorFailed
  | LmsMirrorRequested;

const schema = `
CREATE TABLE IF NOT EXISTS lms_mirror_courses (
  course_id text PRIMARY KEY,
  resource_link text,
  revision bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS lms_mirror_batches (
  batch_id text PRIMARY KEY,
  course_id text NOT NULL,
  organisation_id text NOT NULL,
  resource_link text,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS lms_mirror_batches_course ON lms_mirror_batches (course_id);
CREATE TABLE IF NOT EXISTS lms_mirror_enrolments (
  batch_id text NOT NULL,
  user_id text NOT NULL,
  active boolean NOT NULL,
  revision bigint NOT NULL,
  PRIMARY KEY (batch_id, user_id)
);
CREATE INDEX IF NOT EXISTS lms_mirror_enrolments_user ON lms_mirror_enrolments (user_id);
-- One row per learner and LMS course run (resource link): what the hub wants there, and what the
-- mirror last did about it. The desired state is enrolled when any active enrolment of the learner
-- in a batch mirrored to that link exists. Versions are log positions: a row is due while the
-- version it last handled is older than the desired one. The lease columns belong to the workers.
CREATE TABLE IF NOT EXISTS lms_mirror_targets (
  user_id text NOT NULL,
  resource_link text NOT NULL,
  desired_active boolean NOT NULL,
  desired_version text COLLATE "C" NOT NULL,
  handled_version text COLLATE "C",
  mirrored_active boolean,
  mirrored_at timestamptz,
  lms text,
  lms_course_id text,
  attempts integer NOT NULL DEFAULT 0,
  last_status integer,
  last_error text,
  last_failed_at timestamptz,
  next_attempt_at timestamptz,
  outcome_revision bigint NOT NULL DEFAULT -1,
  lease_owner text,
  lease_until timestamptz,
  PRIMARY KEY (user_id, resource_link)
);
CREATE INDEX IF NOT EXISTS lms_mirror_targets_due ON lms_mirror_targets (next_attempt_at)
  WHERE handled_version IS NULL OR handled_version < desired_version;
`;

/** The link a batch's enrolments mirror to: its own, else its course's. */
const EFFECTIVE_LINK = 'coalesce(b.resource_link, c.resource_link)';
const BATCH_LINKS = `lms_mirror_batches b LEFT JOIN lms_mirror_courses c ON c.course_id = b.course_id`;

/**
 * Sets the desired state of each (user, link) pair the users of `pairs` may have changed: the
 * learner is wanted enrolled there while an active enrolment in a batch mirrored to it exists.
 * A pair with no row is created only when it is wanted enrolled (nothing to undo otherwise).
 */
const settleDesired = (tx: SqlExecutor, pairsSql: string, params: unknown[], position: Position) =>
  tx.query(
    `WITH pairs AS (${pairsSql}),
     wanted AS (
       SELECT p.user_id, p.resource_link,
              EXISTS (SELECT 1 FROM lms_mirror_enrolments e
                        JOIN ${BATCH_LINKS} ON b.batch_id = e.batch_id
                       WHERE e.user_id = p.user_id AND e.active
                         AND ${EFFECTIVE_LINK} = p.resource_link) AS active
         FROM (SELECT DISTINCT user_id, resource_link FROM pairs WHERE resource_link IS NOT NULL) p)
     INSERT INTO lms_mirror_targets (user_id, resource_link, desired_active, desired_version)
     SELECT w.user_id, w.resource_link, w.active, $${params.length + 1} FROM wanted w
      WHERE w.active OR EXISTS (SELECT 1 FROM lms_mirror_targets t
                                 WHERE t.user_id = w.user_id AND t.resource_link = w.resource_link)
     ON CONFLICT (user_id, resource_link) DO UPDATE
        SET desired_active = excluded.desired_active, desired_version = excluded.desired_version
      WHERE lms_mirror_targets.desired_active IS DISTINCT FROM excluded.desired_active`,
    [...params, position],
  );

/** Every learner of the batches selected by `batchFilter`, at the links given per batch. */
const batchPairs = (batchFilter: string, linkExpressions: string[]) =>
  linkExpressions
    .map(
      (link) =>
        `SELECT e.user_id, ${link} AS resource_link
           FROM lms_mirror_enrolments e JOIN ${BATCH_LINKS} ON b.batch_id = e.batch_id
          WHERE ${batchFilter}`,
    )
    .join(' UNION ALL ');

const claimStreamRevision = async (
  tx: SqlExecutor,
  table: 'lms_mirror_courses' | 'lms_mirror_batches',
  key: { column: string; value: string },
  revision: bigint,
): Promise<boolean> => {
  const { rows } = await tx.query(
    `UPDATE ${table} SET revision = $2 WHERE ${key.column} = $1 AND revision < $2 RETURNING 1`,
    [key.value, revision.toString()],
  );
  return rows.length > 0;
};

const enrolmentChanged = async (
  event: ProjectedEvent<UserEnrolled | UserUnenrolled>,
  tx: SqlExecutor,
): Promise<void> => {
  const { batchId, userId } = event.data;
  const { rows } = await tx.query(
    `INSERT INTO lms_mirror_enrolments (batch_id, user_id, active, revision) VALUES ($1, $2, $3, $4)
     ON CONFLICT (batch_id, user_id) DO UPDATE SET active = excluded.active, revision = excluded.revision
      WHERE lms_mirror_enrolments.revision < excluded.revision
     RETURNING 1`,
    [batchId, userId, event.type === 'UserEnrolled', event.revision.toString()],
  );
  if (rows.length === 0) return;
  await settleDesired(
    tx,
    `SELECT $1::text AS user_id, ${EFFECTIVE_LINK} AS resource_link FROM ${BATCH_LINKS} WHERE b.batch_id = $2`,
    [userId, batchId],
    event.position,
  );
};

/** Applies an outcome of the pair's mirror stream once, in stream order. */
const OUTCOME_GUARD = 'user_id = $1 AND resource_link = $2 AND outcome_revision < $3';
const outcomeKey = (event: ProjectedEvent<LmsEnrollmentMirrored | LmsEnrollmentMirrorFailed>) => [
  event.data.userId,
  event.data.resourceLink,
  event.revision.toString(),
  event.data.desiredVersion,
];

const mirrored = async (event: ProjectedEvent<LmsEnrollmentMirrored>, tx: SqlExecutor) => {
  const { data } = event;
  await tx.query(
    `UPDATE lms_mirror_targets
        SET outcome_revision = $3, handled_version = greatest(handled_version, $4),
            mirrored_active = $5, mirrored_at = $6, lms = $7, lms_course_id = $8,
            attempts = 0, last_status = NULL, last_error = NULL, next_attempt_at = NULL
      WHERE ${OUTCOME_GUARD}`,
    [...outcomeKey(event), data.active, data.mirroredAt, data.lms, data.lmsCourseId],
  );
};

/**
 * A failure counts against the desired version it tried; without a retry time the pair waits
 * for a new desired state or a request to mirror again.
 */
const mirrorFailed = async (event: ProjectedEvent<LmsEnrollmentMirrorFailed>, tx: SqlExecutor) => {
  const { data } = event;
  await tx.query(
    `UPDATE lms_mirror_targets
        SET outcome_revision = $3, attempts = $5, last_status = $6, last_error = $7,
            last_failed_at = $8, next_attempt_at = $9,
            handled_version = CASE WHEN $9::timestamptz IS NULL
                                   THEN greatest(handled_version, $4) ELSE handled_version END,
            lms = coalesce($10, lms), lms_course_id = coalesce($11, lms_course_id)
      WHERE ${OUTCOME_GUARD} AND desired_version = $4`,
    [
      ...outcomeKey(event),
      data.attempt,
      data.status,
      data.message,
      data.failedAt,
      data.nextAttemptAt,
      data.lms,
      data.lmsCourseId,
    ],
  );
};

/** Mirror the batch (or one learner) again: a new desired version, attempts from zero. */
const mirrorRequested = async (
  event: ProjectedEvent<LmsMirrorRequested>,
  tx: SqlExecutor,
): Promise<void> => {
  const { batchId, userId } = event.data;
  const pairs = `SELECT e.user_id, ${EFFECTIVE_LINK} AS resource_link, e.active
                   FROM lms_mirror_enrolments e JOIN ${BATCH_LINKS} ON b.batch_id = e.batch_id
                  WHERE e.batch_id = $1 AND ($2::text IS NULL OR e.user_id = $2)
                    AND ${EFFECTIVE_LINK} IS NOT NULL`;
  await settleDesired(tx, pairs, [batchId, userId], event.position);
  await tx.query(
    `INSERT INTO lms_mirror_targets (user_id, resource_link, desired_active, desired_version)
     SELECT p.user_id, p.resource_link, p.active, $3 FROM (${pairs}) p
     ON CONFLICT (user_id, resource_link) DO UPDATE
        SET desired_version = $3, attempts = 0, next_attempt_at = NULL
      WHERE lms_mirror_targets.desired_version < $3`,
    [batchId, userId, event.position],
  );
};

export const lmsMirrorProjection = defineProjection<MirrorEvent>({
  name: LMS_MIRROR_READ_MODEL,
  version: 1,
  schema,
  tables: [
    'lms_mirror_courses',
    'lms_mirror_batches',
    'lms_mirror_enrolments',
    'lms_mirror_targets',
  ],
  handlers: {
    CourseRegistered: async (event, tx) => {
      await tx.query(
        `INSERT INTO lms_mirror_courses (course_id, resource_link, revision) VALUES ($1, $2, $3)
         ON CONFLICT (course_id) DO NOTHING`,
        [event.data.courseId, event.data.lmsResourceLink ?? null, event.revision.toString()],
      );
    },
    CourseLmsResourceLinkChanged: async (event, tx) => {
      const { courseId, from, to } = event.data;
      const key = { column: 'course_id', value: courseId };
      if (!(await claimStreamRevision(tx, 'lms_mirror_courses', key, event.revision))) return;
      await tx.query('UPDATE lms_mirror_courses SET resource_link = $2 WHERE course_id = $1', [
        courseId,
        to,
      ]);
      // Only batches without a link of their own follow the course's.
      const filter = 'b.course_id = $1 AND b.resource_link IS NULL';
      await settleDesired(
        tx,
        batchPairs(filter, ['$2::text', '$3::text']),
        [courseId, from, to],
        event.position,
      );
    },
    BatchCreated: async (event, tx) => {
      const { batchId, courseId, organisationId } = event.data;
      await tx.query(
        `INSERT INTO lms_mirror_batches (batch_id, course_id, organisation_id, resource_link, revision)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (batch_id) DO NOTHING`,
        [
          batchId,
          courseId,
          organisationId,
          event.data.lmsResourceLink ?? null,
          event.revision.toString(),
        ],
      );
    },
    BatchUpdated: async (event, tx) => {
      const change = event.data.changes.lmsResourceLink;
      const key = { column: 'batch_id', value: event.data.batchId };
      if (!(await claimStreamRevision(tx, 'lms_mirror_batches', key, event.revision)) || !change)
        return;
      const before = `coalesce($2::text, c.resource_link)`;
      await tx.query('UPDATE lms_mirror_batches SET resource_link = $2 WHERE batch_id = $1', [
        event.data.batchId,
        change.to ?? null,
      ]);
      await settleDesired(
        tx,
        batchPairs('b.batch_id = $1', [before, EFFECTIVE_LINK]),
        [event.data.batchId, change.from ?? null],
        event.position,
      );
    },
    UserEnrolled: enrolmentChanged,
    UserUnenrolled: enrolmentChanged,
    LmsEnrollmentMirrored: mirrored,
    LmsEnrollmentMirrorFailed: mirrorFailed,
    LmsMirrorRequested: mirrorRequested,
  },
});
