import { SqlExecutor } from '../../src/database/sql-database';
import { CONSENT_STREAM_PREFIX, ConsentEvent } from '../../src/consents/consent.events';
import { ENROLMENT_STREAM_PREFIX, EnrolmentEvent } from '../../src/enrolments/enrolment.events';
import { Position } from '../../src/event-store/event-store.port';
import { GROUP_STREAM_PREFIX, GroupEvent } from '../../src/groups/group.events';
import { USER_STREAM_PREFIX, UserEvent } from '../../src/users/user.events';
import { defineProjection } from '../engine/projection';
import { GROUP_ACTIVITY_READ_MODEL } from './group-activity.query';
import {
  activityAdded,
  activityRemoved,
  memberCounted,
  standingChanged,
  TOTALS_TABLES,
  totalsSchema,
} from './group-activity-totals';

/**
 * Groups with their members and activities, each learner's standing in each course (from the
 * enrolment streams), and running totals per (group, activity) moved by each event's difference
 * (group-activity-totals.ts), so a group's aggregates are a row away however large the group is,
 * and follow every event: joining or leaving a group and progress alike.
 */
const schema = `
CREATE TABLE IF NOT EXISTS group_activity_groups (
  group_id text PRIMARY KEY,
  organisation_id text NOT NULL,
  name text NOT NULL,
  description text,
  member_count integer NOT NULL,
  activity_count integer NOT NULL,
  updated_at timestamptz NOT NULL,
  -- The revision of the group's stream last applied to this group's rows (all three tables).
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS group_activity_groups_organisation
  ON group_activity_groups (organisation_id, group_id);
CREATE TABLE IF NOT EXISTS group_activity_members (
  group_id text NOT NULL,
  user_id text NOT NULL,
  role text NOT NULL,
  status text NOT NULL,
  created_by text NOT NULL,
  joined_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS group_activity_members_user ON group_activity_members (user_id, group_id);
CREATE TABLE IF NOT EXISTS group_activity_activities (
  group_id text NOT NULL,
  activity_id text NOT NULL,
  activity_type text NOT NULL,
  added_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, activity_id)
);
CREATE TABLE IF NOT EXISTS group_activity_enrolments (
  batch_id text NOT NULL,
  user_id text NOT NULL,
  course_id text NOT NULL,
  active boolean NOT NULL,
  enrolled_at timestamptz NOT NULL,
  -- 0 enrolled, 1 in progress, 2 completed
  status smallint NOT NULL,
  progress_percent smallint NOT NULL,
  completed_count integer NOT NULL,
  completed_on timestamptz,
  -- Per assessment, the counted attempt: {"<contentId>": {"score", "maxScore", "attempts", "at"}}
  scores jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  revision bigint NOT NULL,
  PRIMARY KEY (batch_id, user_id)
);
CREATE INDEX IF NOT EXISTS group_activity_enrolments_course
  ON group_activity_enrolments (course_id, user_id);
-- Where in the log each (group, activity)'s view last changed: its members, their enrolments in
-- the course, and what their names may show (profiles, consents). Readers compare it to decide
-- whether what they keep is still current; a rebuild gives the same positions.
CREATE TABLE IF NOT EXISTS group_activity_changes (
  group_id text NOT NULL,
  activity_id text NOT NULL,
  changed_at text NOT NULL,
  PRIMARY KEY (group_id, activity_id)
);
${totalsSchema}`;

/** Every activity of the group changed at `position` (members, details, the activity itself). */
const groupChanged = (tx: SqlExecutor, groupId: string, position: Position) =>
  tx.query(
    `INSERT INTO group_activity_changes (group_id, activity_id, changed_at)
     SELECT group_id, activity_id, $2 FROM group_activity_activities WHERE group_id = $1
     ON CONFLICT (group_id, activity_id) DO UPDATE SET changed_at = excluded.changed_at`,
    [groupId, position],
  );

/** The activities of the user's groups changed: for `courseId` only, or all when it is null. */
const memberChanged = (
  tx: SqlExecutor,
  userId: string,
  courseId: string | null,
  position: Position,
) =>
  tx.query(
    `UPDATE group_activity_changes c SET changed_at = $3
       FROM group_activity_members m
      WHERE m.user_id = $1 AND c.group_id = m.group_id
        AND ($2::text IS NULL OR c.activity_id = $2)`,
    [userId, courseId, position],
  );

/**
 * Claims the group's next revision: true when this event is new to the read model, false when
 * it (or a later one) was applied already, so a redelivered event changes nothing.
 */
const claimRevision = async (
  tx: SqlExecutor,
  groupId: string,
  revision: bigint,
  at: string,
): Promise<boolean> => {
  const { rows } = await tx.query(
    `UPDATE group_activity_groups SET revision = $2, updated_at = $3
      WHERE group_id = $1 AND revision < $2 RETURNING group_id`,
    [groupId, revision.toString(), at],
  );
  return rows.length > 0;
};

/** Moves the group's member or activity count by `delta` (what an insert or delete changed). */
const adjustCount = async (
  tx: SqlExecutor,
  groupId: string,
  column: 'member_count' | 'activity_count',
  delta: number,
): Promise<void> => {
  if (delta === 0) return;
  await tx.query(
    `UPDATE group_activity_groups SET ${column} = ${column} + $2 WHERE group_id = $1`,
    [groupId, delta],
  );
};

const isCounted = (status: string | null | undefined) => (status === 'active' ? 1 : 0);

/**
 * Adds the member or changes their role and status, and moves the aggregates when they start or
 * stop counting; 1 when the member is new, else 0.
 */
const upsertMember = async (
  tx: SqlExecutor,
  member: { groupId: string; userId: string; role: string; status: string; by: string; at: string },
): Promise<number> => {
  const { rows } = await tx.query<{ inserted: boolean; previous: string | null }>(
    `WITH previous AS (
       SELECT status FROM group_activity_members WHERE group_id = $1 AND user_id = $2)
     INSERT INTO group_activity_members
       (group_id, user_id, role, status, created_by, joined_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (group_id, user_id) DO UPDATE
       SET role = $3, status = $4, updated_at = $6
     RETURNING (xmax = 0) AS inserted, (SELECT status FROM previous) AS previous`,
    [member.groupId, member.userId, member.role, member.status, member.by, member.at],
  );
  const sign = isCounted(member.status) - isCounted(rows[0]?.previous);
  await memberCounted(tx, member.groupId, member.userId, sign);
  return rows[0]?.inserted === true ? 1 : 0;
};

/**
 * Updates an enrolment row when the event is newer than what the row has applied, and then
 * the learner's standing: a redelivered event moves no aggregate.
 */
const updateEnrolment = async (
  tx: SqlExecutor,
  key: { batchId: string; userId: string; courseId: string },
  revision: bigint,
  assignments: string,
  values: unknown[],
): Promise<void> => {
  const { rows } = await tx.query(
    `UPDATE group_activity_enrolments SET ${assignments}, revision = $3
      WHERE batch_id = $1 AND user_id = $2 AND revision < $3 RETURNING 1`,
    [key.batchId, key.userId, revision.toString(), ...values],
  );
  if (rows.length > 0) await standingChanged(tx, key.userId, key.courseId);
};

export const groupActivityProjection = defineProjection<
  GroupEvent | EnrolmentEvent | ConsentEvent | UserEvent
>({
  name: GROUP_ACTIVITY_READ_MODEL,
  version: 3,
  schema,
  tables: [
    'group_activity_groups',
    'group_activity_members',
    'group_activity_activities',
    'group_activity_enrolments',
    'group_activity_changes',
    ...TOTALS_TABLES,
  ],
  streamNamePrefixes: [
    GROUP_STREAM_PREFIX,
    ENROLMENT_STREAM_PREFIX,
    CONSENT_STREAM_PREFIX,
    USER_STREAM_PREFIX,
  ],
  handlers: {
    GroupCreated: async ({ data, revision, position }, tx) => {
      await tx.query(
        `INSERT INTO group_activity_groups (group_id, organisation_id, name, description,
           member_count, activity_count, updated_at, revision)
         VALUES ($1, $2, $3, $4, 0, 0, $5, $6)
         ON CONFLICT (group_id) DO NOTHING`,
        [
          data.groupId,
          data.organisationId,
          data.name,
          data.description,
          data.createdAt,
          revision.toString(),
        ],
      );
      await groupChanged(tx, data.groupId, position);
    },
    GroupDetailsChanged: async ({ data, revision, position }, tx) => {
      if (!(await claimRevision(tx, data.groupId, revision, data.changedAt))) return;
      await tx.query(
        'UPDATE group_activity_groups SET name = $2, description = $3 WHERE group_id = $1',
        [data.groupId, data.name, data.description],
      );
      await groupChanged(tx, data.groupId, position);
    },
    GroupMemberAdded: async ({ data, revision, position }, tx) => {
      if (!(await claimRevision(tx, data.groupId, revision, data.addedAt))) return;
      const added = await upsertMember(tx, { ...data, by: data.addedBy, at: data.addedAt });
      await adjustCount(tx, data.groupId, 'member_count', added);
      await groupChanged(tx, data.groupId, position);
    },
    GroupMemberChanged: async ({ data, revision, position }, tx) => {
      if (!(await claimRevision(tx, data.groupId, revision, data.changedAt))) return;
      const added = await upsertMember(tx, { ...data, by: data.changedBy, at: data.changedAt });
      await adjustCount(tx, data.groupId, 'member_count', added);
      await groupChanged(tx, data.groupId, position);
    },
    GroupMemberRemoved: async ({ data, revision, position }, tx) => {
      if (!(await claimRevision(tx, data.groupId, revision, data.removedAt))) return;
      const { rows } = await tx.query<{ status: string }>(
        'DELETE FROM group_activity_members WHERE group_id = $1 AND user_id = $2 RETURNING status',
        [data.groupId, data.userId],
      );
      await memberCounted(tx, data.groupId, data.userId, -isCounted(rows[0]?.status));
      await adjustCount(tx, data.groupId, 'member_count', -rows.length);
      await groupChanged(tx, data.groupId, position);
    },
    GroupActivityAdded: async ({ data, revision, position }, tx) => {
      if (!(await claimRevision(tx, data.groupId, revision, data.addedAt))) return;
      const { rows } = await tx.query<{ inserted: boolean }>(
        `INSERT INTO group_activity_activities (group_id, activity_id, activity_type, added_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, activity_id) DO UPDATE SET activity_type = $3
         RETURNING (xmax = 0) AS inserted`,
        [data.groupId, data.activityId, data.activityType, data.addedAt],
      );
      await adjustCount(tx, data.groupId, 'activity_count', rows[0]?.inserted === true ? 1 : 0);
      await activityAdded(tx, data.groupId, data.activityId);
      await groupChanged(tx, data.groupId, position);
    },
    GroupActivityRemoved: async ({ data, revision, position }, tx) => {
      if (!(await claimRevision(tx, data.groupId, revision, data.removedAt))) return;
      const { rows } = await tx.query(
        'DELETE FROM group_activity_activities WHERE group_id = $1 AND activity_id = $2 RETURNING 1',
        [data.groupId, data.activityId],
      );
      await adjustCount(tx, data.groupId, 'activity_count', -rows.length);
      await activityRemoved(tx, data.groupId, data.activityId);
      await tx.query(
        'DELETE FROM group_activity_changes WHERE group_id = $1 AND activity_id = $2',
        [data.groupId, data.activityId],
      );
      await groupChanged(tx, data.groupId, position);
    },

    UserEnrolled: async ({ data, revision, position }, tx) => {
      const { progress } = data;
      const { rows } = await tx.query(
        `INSERT INTO group_activity_enrolments (batch_id, user_id, course_id, active, enrolled_at,
           status, progress_percent, completed_count, completed_on, scores, updated_at, revision)
         VALUES ($1, $2, $3, true, $4, 0, $5, $6, NULL, '{}', $4, $7)
         ON CONFLICT (batch_id, user_id) DO UPDATE
           SET active = true, updated_at = $4, revision = $7,
               progress_percent = CASE WHEN group_activity_enrolments.completed_on IS NOT NULL
                 THEN 100 ELSE coalesce($8, group_activity_enrolments.progress_percent) END,
               completed_count = coalesce($9, group_activity_enrolments.completed_count)
         WHERE group_activity_enrolments.revision < $7
         RETURNING 1`,
        [
          data.batchId,
          data.userId,
          data.courseId,
          data.enrolledAt,
          progress?.percent ?? 0,
          progress?.completedCount ?? 0,
          revision.toString(),
          progress?.percent ?? null,
          progress?.completedCount ?? null,
        ],
      );
      if (rows.length > 0) await standingChanged(tx, data.userId, data.courseId);
      await memberChanged(tx, data.userId, data.courseId, position);
    },
    UserUnenrolled: async ({ data, revision, position }, tx) => {
      await updateEnrolment(tx, data, revision, 'active = false, updated_at = $4', [
        data.unenrolledAt,
      ]);
      await memberChanged(tx, data.userId, data.courseId, position);
    },
    ContentProgressRecorded: async ({ data, revision, position }, tx) => {
      // Completion is for good: a course that later gains contents does not undo it.
      await updateEnrolment(
        tx,
        data,
        revision,
        `status = CASE WHEN completed_on IS NOT NULL THEN 2 ELSE 1 END,
         progress_percent = CASE WHEN completed_on IS NOT NULL THEN 100 ELSE $4 END,
         completed_count = $5, updated_at = $6`,
        [data.progress.percent, data.progress.completedCount, data.recordedAt],
      );
      await memberChanged(tx, data.userId, data.courseId, position);
    },
    AssessmentAttemptRecorded: async ({ data, revision, position }, tx) => {
      const { contentId, score, maxScore, attempts } = data.assessment;
      await updateEnrolment(
        tx,
        data,
        revision,
        `scores = jsonb_set(scores, ARRAY[$4::text], $5::jsonb), updated_at = $6`,
        [
          contentId,
          JSON.stringify({ score, maxScore, attempts, at: data.recordedAt }),
          data.recordedAt,
        ],
      );
      await memberChanged(tx, data.userId, data.courseId, position);
    },
    CourseCompleted: async ({ data, revision, position }, tx) => {
      await updateEnrolment(
        tx,
        data,
        revision,
        'status = 2, progress_percent = 100, completed_on = $4, updated_at = $4',
        [data.completedOn],
      );
      await memberChanged(tx, data.userId, data.courseId, position);
    },

    // What a member's name may show: their consents and their profile.
    ConsentGranted: async ({ data, position }, tx) => {
      await memberChanged(tx, data.userId, data.courseId, position);
    },
    ConsentRevoked: async ({ data, position }, tx) => {
      await memberChanged(tx, data.userId, data.courseId, position);
    },
    UserProfileRecorded: async ({ data, position }, tx) => {
      await memberChanged(tx, data.userId, null, position);
    },
    UserPersonalDataErased: async ({ data, position }, tx) => {
      await memberChanged(tx, data.userId, null, position);
    },
  },
});
