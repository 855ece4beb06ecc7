import { SqlExecutor } from '../../src/database/sql-database';
import { BATCH_STREAM_PREFIX, BatchCreated, BatchUpdated } from '../../src/batches/batch.events';
import {
  COURSE_STREAM_PREFIX,
  CourseLmsResourceLinkChanged,
  CourseRegistered,
} from '../../src/courses/course.events';
import {
  ENROLMENT_STREAM_PREFIX,
  UserEnrolled,
  UserUnenrolled,
} from '../../src/enrolments/enrolment.events';
import { Position } from '../../src/event-store/event-store.port';
import {
  LMS_MIRROR_STREAM_PREFIX,
  LmsEnrollmentMirrored,
  LmsEnrollmentMirrorFailed,
  LmsMirrorRequested,
} from '../../src/lms/lms-mirror.events';
import { defineProjection, HandlersOf, ProjectedEvent } from '../engine/projection';
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
-- What a claim reads: due pairs, retries that fell due before new ones, oldest wish first.
CREATE INDEX IF NOT EXISTS lms_mirror_targets_due
  ON lms_mirror_targets (next_attempt_at, desired_version)
  WHERE handled_version IS NULL OR handled_version < desired_version;
`;

/** The link a batch's enrolments mirror to: its own, else its course's. */
const EFFECTIVE_LINK = 'coalesce(b.resource_link, c.resource_link)';
const BATCH_LINKS = `lms_mirror_batches b LEFT JOIN lms_mirror_courses c ON c.course_id = b.course_id`;

/**
 * Sets the desired state of each (user, link, version) of `versionedPairs`: the learner is wanted
 * enrolled there while an active enrolment in a batch mirrored to it exists; a change takes the
 * version (the log position of the event that caused it). A pair with no row is created only
 * when it is wanted enrolled: there is nothing to undo otherwise.
 */
const settleDesiredAt = (tx: SqlExecutor, versionedPairs: string, params: unknown[]) =>
  tx.query(
    `WITH pairs AS (${versionedPairs}),
     wanted AS (
       SELECT p.user_id, p.resource_link, max(p.version COLLATE "C") AS version,
              EXISTS (SELECT 1 FROM lms_mirror_enrolments e
                        JOIN ${BATCH_LINKS} ON b.batch_id = e.batch_id
                       WHERE e.user_id = p.user_id AND e.active
                         AND ${EFFECTIVE_LINK} = p.resource_link) AS active
         FROM pairs p WHERE p.resource_link IS NOT NULL
        GROUP BY p.user_id, p.resource_link)
     INSERT INTO lms_mirror_targets (user_id, resource_link, desired_active, desired_version)
     SELECT w.user_id, w.resource_link, w.active, w.version FROM wanted w
      WHERE w.active OR EXISTS (SELECT 1 FROM lms_mirror_targets t
                                 WHERE t.user_id = w.user_id AND t.resource_link = w.resource_link)
     ON CONFLICT (user_id, resource_link) DO UPDATE
        SET desired_active = excluded.desired_active, desired_version = excluded.desired_version
      WHERE lms_mirror_targets.desired_active IS DISTINCT FROM excluded.desired_active`,
    params,
  );

/** The same, every pair of `pairsSql` (user_id, resource_link) changed by the event at `position`. */
const settleDesired = (tx: SqlExecutor, pairsSql: string, params: unknown[], position: Position) =>
  settleDesiredAt(
    tx,
    `SELECT q.user_id, q.resource_link, $${params.length + 1}::text AS version FROM (${pairsSql}) q`,
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

type EnrolmentChange = ProjectedEvent<UserEnrolled | UserUnenrolled>;

/**
 * Enrolment changes of distinct learners, with two statements: a learner's wish depends only on
 * their own enrolments, so each comes out as if the events were applied one by one.
 */
const enrolmentsChanged = async (
  events: readonly EnrolmentChange[],
  tx: SqlExecutor,
): Promise<void> => {
  const { rows } = await tx.query<{ batch_id: string; user_id: string }>(
    `INSERT INTO lms_mirror_enrolments (batch_id, user_id, active, revision)
     SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::bigint[])
     ON CONFLICT (batch_id, user_id) DO UPDATE SET active = excluded.active, revision = excluded.revision
      WHERE lms_mirror_enrolments.revision < excluded.revision
     RETURNING batch_id, user_id`,
    [
      events.map((event) => event.data.batchId),
      events.map((event) => event.data.userId),
      events.map((event) => event.type === 'UserEnrolled'),
      events.map((event) => event.revision.toString()),
    ],
  );
  const applied = new Set(rows.map((row) => `${row.batch_id}/${row.user_id}`));
  const changed = events.filter((event) =>
    applied.has(`${event.data.batchId}/${event.data.userId}`),
  );
  if (changed.length === 0) return;
  await settleDesiredAt(
    tx,
    `SELECT chg.user_id, ${EFFECTIVE_LINK} AS resource_link, chg.version
       FROM unnest($1::text[], $2::text[], $3::text[]) AS chg(batch_id, user_id, version)
       JOIN ${BATCH_LINKS} ON b.batch_id = chg.batch_id`,
    [
      changed.map((event) => event.data.batchId),
      changed.map((event) => event.data.userId),
      changed.map((event) => event.position),
    ],
  );
};

const enrolmentChanged = (event: EnrolmentChange, tx: SqlExecutor) =>
  enrolmentsChanged([event], tx);

type Outcome = ProjectedEvent<LmsEnrollmentMirrored | LmsEnrollmentMirrorFailed>;

/** Applies each outcome of a pair's mirror stream once, in stream order (outcome_revision). */
const OUTCOME_MATCH = `t.user_id = o.user_id AND t.resource_link = o.resource_link
                       AND t.outcome_revision < o.revision`;
const outcomeKeys = (events: readonly Outcome[]) => [
  events.map((event) => event.data.userId),
  events.map((event) => event.data.resourceLink),
  events.map((event) => event.revision.toString()),
  events.map((event) => event.data.desiredVersion),
];

/**
 * Outcomes hand their pairs back: the lease each one's claim took, and only that one (a
 * redelivered outcome of an older claim leaves a newer claim's lease alone).
 */
const handBack = (events: readonly Outcome[], tx: SqlExecutor) =>
  tx.query(
    `UPDATE lms_mirror_targets t SET lease_owner = NULL, lease_until = NULL
       FROM unnest($1::text[], $2::text[], $3::text[]) AS o(user_id, resource_link, lease)
      WHERE t.user_id = o.user_id AND t.resource_link = o.resource_link AND t.lease_owner = o.lease`,
    [
      events.map((event) => event.data.userId),
      events.map((event) => event.data.resourceLink),
      events.map((event) => event.data.lease),
    ],
  );

const mirroredMany = (events: readonly ProjectedEvent<LmsEnrollmentMirrored>[], tx: SqlExecutor) =>
  tx.query(
    `UPDATE lms_mirror_targets t
        SET outcome_revision = o.revision, handled_version = greatest(t.handled_version, o.version),
            mirrored_active = o.active, mirrored_at = o.at, lms = o.lms, lms_course_id = o.course,
            attempts = 0, last_status = NULL, last_error = NULL, next_attempt_at = NULL
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::boolean[],
                   $6::timestamptz[], $7::text[], $8::text[])
            AS o(user_id, resource_link, revision, version, active, at, lms, course)
      WHERE ${OUTCOME_MATCH}`,
    [
      ...outcomeKeys(events),
      events.map((event) => event.data.active),
      events.map((event) => event.data.mirroredAt),
      events.map((event) => event.data.lms),
      events.map((event) => event.data.lmsCourseId),
    ],
  );

/**
 * A failure counts against the desired version it tried, unless that one was handled or moved
 * on meanwhile; without a retry time the pair waits for a new wish or a request to mirror again.
 */
const failedMany = (
  events: readonly ProjectedEvent<LmsEnrollmentMirrorFailed>[],
  tx: SqlExecutor,
) =>
  tx.query(
    `UPDATE lms_mirror_targets t
        SET outcome_revision = o.revision, attempts = o.attempt, last_status = o.status,
            last_error = o.message, last_failed_at = o.at, next_attempt_at = o.next,
            handled_version = CASE WHEN o.next IS NULL
                                   THEN greatest(t.handled_version, o.version)
                                   ELSE t.handled_version END,
            lms = coalesce(o.lms, t.lms), lms_course_id = coalesce(o.course, t.lms_course_id)
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::integer[], $6::integer[],
                   $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[])
            AS o(user_id, resource_link, revision, version, attempt, status, message, at, next,
                 lms, course)
      WHERE ${OUTCOME_MATCH} AND t.desired_version = o.version
        AND (t.handled_version IS NULL OR t.handled_version < o.version)`,
    [
      ...outcomeKeys(events),
      events.map((event) => event.data.attempt),
      events.map((event) => event.data.status),
      events.map((event) => event.data.message),
      events.map((event) => event.data.failedAt),
      events.map((event) => event.data.nextAttemptAt),
      events.map((event) => event.data.lms),
      events.map((event) => event.data.lmsCourseId),
    ],
  );

/** Outcomes of distinct pairs: each pair's row changes on its own, so order among them is moot. */
const outcomesApplied = async (events: readonly Outcome[], tx: SqlExecutor): Promise<void> => {
  const successes = events.filter(
    (event): event is ProjectedEvent<LmsEnrollmentMirrored> =>
      event.type === 'LmsEnrollmentMirrored',
  );
  const failures = events.filter(
    (event): event is ProjectedEvent<LmsEnrollmentMirrorFailed> =>
      event.type === 'LmsEnrollmentMirrorFailed',
  );
  if (successes.length > 0) await mirroredMany(successes, tx);
  if (failures.length > 0) await failedMany(failures, tx);
  await handBack(events, tx);
};

const outcomeApplied = (event: Outcome, tx: SqlExecutor) => outcomesApplied([event], tx);

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

const handlers = {
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
  LmsEnrollmentMirrored: outcomeApplied,
  LmsEnrollmentMirrorFailed: outcomeApplied,
  LmsMirrorRequested: mirrorRequested,
} satisfies Required<HandlersOf<MirrorEvent>>;

/** Runs the handler of the event's own type (the switch ties each event to its handler). */
const applyOne = (event: ProjectedEvent<MirrorEvent>, tx: SqlExecutor): Promise<void> => {
  switch (event.type) {
    case 'CourseRegistered':
      return handlers.CourseRegistered(event, tx);
    case 'CourseLmsResourceLinkChanged':
      return handlers.CourseLmsResourceLinkChanged(event, tx);
    case 'BatchCreated':
      return handlers.BatchCreated(event, tx);
    case 'BatchUpdated':
      return handlers.BatchUpdated(event, tx);
    case 'UserEnrolled':
    case 'UserUnenrolled':
      return enrolmentChanged(event, tx);
    case 'LmsEnrollmentMirrored':
    case 'LmsEnrollmentMirrorFailed':
      return outcomeApplied(event, tx);
    case 'LmsMirrorRequested':
      return mirrorRequested(event, tx);
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
};

/** Events applied many at a time: runs of one kind whose keys (learner, or pair) are distinct. */
const runKindOf = (event: ProjectedEvent<MirrorEvent>) => {
  switch (event.type) {
    case 'UserEnrolled':
    case 'UserUnenrolled':
      return { kind: 'enrolments', key: event.data.userId } as const;
    case 'LmsEnrollmentMirrored':
    case 'LmsEnrollmentMirrorFailed':
      return {
        kind: 'outcomes',
        key: `${event.data.userId}\u0000${event.data.resourceLink}`,
      } as const;
    case 'CourseRegistered':
    case 'CourseLmsResourceLinkChanged':
    case 'BatchCreated':
    case 'BatchUpdated':
    case 'LmsMirrorRequested':
      return null;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
};

/**
 * A bulk enrolment is thousands of enrolment events in a row, and the mirror thousands of
 * outcomes: each run of them with distinct keys is applied with a few statements, everything
 * else one event at a time, in order. Each comes out as if applied one by one.
 */
const applyBatch = async (
  events: readonly ProjectedEvent<MirrorEvent>[],
  tx: SqlExecutor,
): Promise<void> => {
  let enrolments: EnrolmentChange[] = [];
  let outcomes: Outcome[] = [];
  const keys = new Set<string>();
  const flush = async () => {
    if (enrolments.length > 0) await enrolmentsChanged(enrolments, tx);
    if (outcomes.length > 0) await outcomesApplied(outcomes, tx);
    enrolments = [];
    outcomes = [];
    keys.clear();
  };
  for (const event of events) {
    const run = runKindOf(event);
    const current = enrolments.length > 0 ? 'enrolments' : outcomes.length > 0 ? 'outcomes' : null;
    if (run === null || (current !== null && current !== run.kind) || keys.has(run?.key ?? ''))
      await flush();
    if (run === null) {
      await applyOne(event, tx);
      continue;
    }
    keys.add(run.key);
    if (event.type === 'UserEnrolled' || event.type === 'UserUnenrolled') enrolments.push(event);
    else if (event.type === 'LmsEnrollmentMirrored' || event.type === 'LmsEnrollmentMirrorFailed')
      outcomes.push(event);
  }
  await flush();
};

export const lmsMirrorProjection = defineProjection<MirrorEvent>({
  name: LMS_MIRROR_READ_MODEL,
  version: 2,
  schema,
  tables: [
    'lms_mirror_courses',
    'lms_mirror_batches',
    'lms_mirror_enrolments',
    'lms_mirror_targets',
  ],
  // Only the streams whose events it reads.
  streamNamePrefixes: [
    COURSE_STREAM_PREFIX,
    BATCH_STREAM_PREFIX,
    ENROLMENT_STREAM_PREFIX,
    LMS_MIRROR_STREAM_PREFIX,
  ],
  batchSize: 2_000,
  handlers,
  applyBatch,
});
