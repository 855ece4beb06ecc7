import { SqlExecutor } from '../../src/database/sql-database';

export const GROUP_ACTIVITY_READ_MODEL = 'group-activity';

/** Progress buckets of 10 %: [0, 10), [10, 20), …, [90, 100]. */
export const PROGRESS_BUCKETS = 10;

/** One assessment over the group's enrolled members: their counted attempts. */
export interface AssessmentAggregate {
  contentId: string;
  /** Members with a counted attempt. */
  attempted: number;
  averageScore: number;
  lowestScore: number;
  highestScore: number;
  /** The assessment's maximum score. */
  maxScore: number;
  /** Attempts made, all members together. */
  attempts: number;
  lastUpdatedOn: Date;
}

export interface GroupActivityAggregates {
  /** Active members of the group. */
  memberCount: number;
  /** Active members with an active enrolment in the course (each counted once). */
  enrolmentCount: number;
  completedCount: number;
  /** Average progress percent of the enrolled members; null when none is enrolled. */
  averageProgress: number | null;
  /** Enrolled members per progress bucket of 10 %. */
  progressDistribution: number[];
  assessments: AssessmentAggregate[];
  lastUpdatedOn: Date | null;
}

export interface GroupActivity {
  groupId: string;
  organisationId: string;
  activityId: string;
  activityType: string;
  /** Where in the log the activity's view last changed (members, enrolments, names). */
  changedAt: string | null;
}

/** What deciding access to a group's activity takes, read at once; null for an unknown group. */
export interface GroupAccess {
  organisationId: string;
  /** Whether the user asked about is one of the group's members (any role or status). */
  isMember: boolean;
  /** Null when the activity is not one of the group's. */
  activity: GroupActivity | null;
}

/** A counted attempt of one assessment, as the enrolment holds it. */
export interface MemberScore {
  score: number;
  maxScore: number;
  attempts: number;
  at: string;
}

/** The enrolment a member is shown with: the most advanced active one, then the latest. */
export interface MemberEnrolment {
  batchId: string;
  enrolledAt: Date;
  /** 0 enrolled, 1 in progress, 2 completed. */
  status: number;
  progressPercent: number;
  completedCount: number;
  completedOn: Date | null;
  scores: Record<string, MemberScore>;
  /** Σscore × 100 / Σmax over the assessments attempted; null without any. */
  scorePercent: number | null;
  updatedAt: Date;
}

export interface GroupActivityMember {
  userId: string;
  role: string;
  status: string;
  createdBy: string;
  joinedAt: Date;
  enrolment: MemberEnrolment | null;
}

export type MemberSort = 'userId' | 'progress' | 'score';

/** Where the previous page ended: the sort value (null for userId order) and the user id. */
export interface MemberCursor {
  value: number | null;
  userId: string;
}

/** The group, whether `userId` is in it, and its activity: one round trip for every read. */
export const readGroupAccess = async (
  db: SqlExecutor,
  groupId: string,
  activityId: string,
  userId: string,
): Promise<GroupAccess | null> => {
  const { rows } = await db.query<{
    organisation_id: string;
    is_member: boolean;
    activity_type: string | null;
    changed_at: string | null;
    [column: string]: unknown;
  }>(
    `SELECT g.organisation_id,
            EXISTS (SELECT 1 FROM group_activity_members m
                     WHERE m.group_id = g.group_id AND m.user_id = $3) AS is_member,
            a.activity_type, c.changed_at
       FROM group_activity_groups g
       LEFT JOIN group_activity_activities a ON a.group_id = g.group_id AND a.activity_id = $2
       LEFT JOIN group_activity_changes c ON c.group_id = g.group_id AND c.activity_id = $2
      WHERE g.group_id = $1`,
    [groupId, activityId, userId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    organisationId: row.organisation_id,
    isMember: row.is_member,
    activity:
      row.activity_type === null
        ? null
        : {
            groupId,
            organisationId: row.organisation_id,
            activityId,
            activityType: row.activity_type,
            changedAt: row.changed_at,
          },
  };
};

interface TotalsRow {
  member_count: number | string;
  enrolment_count: number | string;
  completed_count: number | string;
  average_progress: number | string | null;
  last_updated: Date | string | null;
  buckets: (number | string)[];
  [column: string]: unknown;
}

interface AssessmentRow {
  content_id: string;
  attempted: number | string;
  average_score: number | string;
  lowest_score: number | string;
  highest_score: number | string;
  max_score: number | string;
  attempts: number | string;
  last_updated: string;
  [column: string]: unknown;
}

const toAssessment = (row: AssessmentRow): AssessmentAggregate => ({
  contentId: row.content_id,
  attempted: Number(row.attempted),
  averageScore: Number(row.average_score),
  lowestScore: Number(row.lowest_score),
  highestScore: Number(row.highest_score),
  maxScore: Number(row.max_score),
  attempts: Number(row.attempts),
  lastUpdatedOn: new Date(row.last_updated),
});

/**
 * The activity's aggregates over the group's active members, as the projection keeps them
 * (group-activity-totals.ts). The average is the numeric quotient `avg` itself would give.
 */
export const groupActivityAggregates = async (
  db: SqlExecutor,
  groupId: string,
  courseId: string,
): Promise<GroupActivityAggregates> => {
  const [totals, assessments] = await Promise.all([
    db.query<TotalsRow>(
      `SELECT member_count, enrolment_count, completed_count, last_updated, buckets,
              (progress_sum::numeric / nullif(enrolment_count, 0))::float8 AS average_progress
         FROM group_activity_totals WHERE group_id = $1 AND activity_id = $2`,
      [groupId, courseId],
    ),
    db.query<AssessmentRow>(
      `SELECT content_id, attempted, score_sum / attempted AS average_score,
              lowest AS lowest_score, highest AS highest_score, max_score, attempts, last_updated
         FROM group_activity_assessment_totals
        WHERE group_id = $1 AND activity_id = $2 AND attempted > 0
        ORDER BY content_id`,
      [groupId, courseId],
    ),
  ]);
  const row = totals.rows[0];
  return {
    memberCount: Number(row?.member_count ?? 0),
    enrolmentCount: Number(row?.enrolment_count ?? 0),
    completedCount: Number(row?.completed_count ?? 0),
    averageProgress:
      row === undefined || row.average_progress === null ? null : Number(row.average_progress),
    progressDistribution: row?.buckets.map(Number) ?? Array<number>(PROGRESS_BUCKETS).fill(0),
    assessments: assessments.rows.map(toAssessment),
    lastUpdatedOn:
      row === undefined || row.last_updated === null ? null : new Date(row.last_updated),
  };
};

interface MemberRow {
  user_id: string;
  role: string;
  status: string;
  created_by: string;
  joined_at: Date | string;
  batch_id: string | null;
  enrolled_at: Date | string | null;
  enrolment_status: number | null;
  progress_percent: number | null;
  completed_count: number | null;
  completed_on: Date | string | null;
  scores: Record<string, MemberScore> | null;
  score_percent: number | string | null;
  enrolment_updated_at: Date | string | null;
  sort_key: number | string | null;
  [column: string]: unknown;
}

const toMember = (row: MemberRow): GroupActivityMember => ({
  userId: row.user_id,
  role: row.role,
  status: row.status,
  createdBy: row.created_by,
  joinedAt: new Date(row.joined_at),
  enrolment:
    row.batch_id === null
      ? null
      : {
          batchId: row.batch_id,
          enrolledAt: new Date(row.enrolled_at!),
          status: Number(row.enrolment_status),
          progressPercent: Number(row.progress_percent),
          completedCount: Number(row.completed_count),
          completedOn: row.completed_on === null ? null : new Date(row.completed_on),
          scores: row.scores ?? {},
          scorePercent: row.score_percent === null ? null : Number(row.score_percent),
          updatedAt: new Date(row.enrolment_updated_at!),
        },
});

/** A member's row with their chosen enrolment (`c`) and its score percent. */
const MEMBER_COLUMNS = `m.user_id, m.role, m.status, m.created_by, m.joined_at,
  c.batch_id, c.enrolled_at, c.status AS enrolment_status, c.progress_percent,
  c.completed_count, c.completed_on, c.scores, c.updated_at AS enrolment_updated_at,
  (SELECT sum((s.value->>'score')::float8) * 100 / nullif(sum((s.value->>'maxScore')::float8), 0)
     FROM jsonb_each(c.scores) s) AS score_percent`;

/**
 * In user-id order the page is found first and only its members' enrolments are read, so the
 * first page of a group of 100,000 costs what a page costs.
 */
const pageByUserId = (afterUser: string | null, limit: string) => `
  WITH page AS (
    SELECT * FROM group_activity_members
     WHERE group_id = $1 ${afterUser === null ? '' : `AND user_id > ${afterUser}`}
     ORDER BY user_id LIMIT ${limit})
  SELECT ${MEMBER_COLUMNS}, NULL::float8 AS sort_key
    FROM page m
    LEFT JOIN LATERAL (
      SELECT e.* FROM group_activity_enrolments e
       WHERE e.course_id = $2 AND e.user_id = m.user_id AND e.active
       ORDER BY e.progress_percent DESC, e.enrolled_at DESC, e.batch_id LIMIT 1) c ON true
   ORDER BY m.user_id`;

/**
 * By progress or score every member's key is needed to know the page: it comes from the kept
 * standings (one row per member), and only the page's members are then read in full.
 */
const pageBySortKey = (sortKey: string, after: string, limit: string) => `
  WITH keyed AS (
    SELECT m.user_id, s.batch_id AS chosen_batch, ${sortKey} AS sort_key
      FROM group_activity_members m
      LEFT JOIN group_activity_standings s ON s.course_id = $2 AND s.user_id = m.user_id
     WHERE m.group_id = $1),
  page AS (SELECT * FROM keyed ${after} ORDER BY sort_key DESC, user_id LIMIT ${limit})
  SELECT ${MEMBER_COLUMNS}, p.sort_key
    FROM page p
    JOIN group_activity_members m ON m.group_id = $1 AND m.user_id = p.user_id
    LEFT JOIN group_activity_enrolments c ON c.batch_id = p.chosen_batch AND c.user_id = p.user_id
   ORDER BY p.sort_key DESC, p.user_id`;

// Not enrolled (or no attempt) sorts after every value: progress and scores are never negative.
const SORT_KEYS: Record<Exclude<MemberSort, 'userId'>, string> = {
  progress: 'coalesce(s.progress_percent::float8, -1)',
  score: `coalesce((SELECT sum((x.value->>'score')::float8) * 100
                           / nullif(sum((x.value->>'maxScore')::float8), 0)
                      FROM jsonb_each(s.scores) x), -1)`,
};

/**
 * All the group's members (any status) with their enrolment in the course, a page at a time:
 * by user id, or by progress or score, highest first (ties by user id).
 */
export const listGroupActivityMembers = async (
  db: SqlExecutor,
  groupId: string,
  courseId: string,
  page: { sort: MemberSort; after?: MemberCursor; limit: number },
): Promise<{ members: GroupActivityMember[]; next: MemberCursor | null }> => {
  const sortKey = page.sort === 'userId' ? 'NULL::float8' : SORT_KEYS[page.sort];
  const params: unknown[] = [groupId, courseId];
  let after = '';
  let afterUser: string | null = null;
  if (page.after !== undefined) {
    params.push(page.after.userId);
    afterUser = `$${params.length}`;
    if (page.sort !== 'userId') {
      params.push(page.after.value ?? -1);
      const value = `$${params.length}::float8`;
      after = `WHERE sort_key < ${value} OR (sort_key = ${value} AND user_id > ${afterUser})`;
    }
  }
  params.push(page.limit + 1);
  const limit = `$${params.length}`;
  const { rows } = await db.query<MemberRow>(
    page.sort === 'userId' ? pageByUserId(afterUser, limit) : pageBySortKey(sortKey, after, limit),
    params,
  );
  const members = rows.slice(0, page.limit);
  const last = rows.length > page.limit ? rows[page.limit - 1] : undefined;
  return {
    members: members.map(toMember),
    next: last
      ? { value: last.sort_key === null ? null : Number(last.sort_key), userId: last.user_id }
      : null,
  };
};
