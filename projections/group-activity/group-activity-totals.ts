import { SqlExecutor } from '../../src/database/sql-database';
import { PROGRESS_BUCKETS } from './group-activity.query';

/**
 * The aggregates kept as running totals, so a read is a row per (group, activity) and one per
 * assessment however many members the group has. Each learner's standing in a course (the
 * enrolment they are counted with) is kept too: it is the contribution an event takes out of
 * the totals and puts back.
 */
export const totalsSchema = `
CREATE TABLE IF NOT EXISTS group_activity_standings (
  course_id text NOT NULL,
  user_id text NOT NULL,
  -- The chosen enrolment: the most advanced active one, then the latest, then by batch id.
  batch_id text NOT NULL,
  progress_percent smallint NOT NULL,
  completed boolean NOT NULL,
  scores jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (course_id, user_id)
);
CREATE TABLE IF NOT EXISTS group_activity_totals (
  group_id text NOT NULL,
  activity_id text NOT NULL,
  member_count integer NOT NULL,
  enrolment_count integer NOT NULL,
  completed_count integer NOT NULL,
  progress_sum bigint NOT NULL,
  buckets integer[] NOT NULL,
  last_updated timestamptz,
  PRIMARY KEY (group_id, activity_id)
);
CREATE TABLE IF NOT EXISTS group_activity_assessment_totals (
  group_id text NOT NULL,
  activity_id text NOT NULL,
  content_id text NOT NULL,
  attempted integer NOT NULL,
  score_sum float8 NOT NULL,
  attempts bigint NOT NULL,
  lowest float8,
  highest float8,
  max_score float8,
  -- Text, as the enrolment's scores hold it: the latest is their greatest.
  last_updated text,
  PRIMARY KEY (group_id, activity_id, content_id)
);
`;

export const TOTALS_TABLES = [
  'group_activity_standings',
  'group_activity_totals',
  'group_activity_assessment_totals',
] as const;

/** A standing as it counts: added (`sign` 1) or taken out (-1). */
interface Contribution {
  sign: number;
  progress_percent: number;
  completed: boolean;
  updated_at: string;
  scores: Record<string, unknown>;
}

type Standing = Omit<Contribution, 'sign'> & { batch_id: string };

/**
 * Rows of (group_id, activity_id, members, sign, progress_percent, completed, updated_at,
 * scores): what one event adds to or takes from each (group, activity) it touches. `members`
 * moves the active member count, `sign` the enrolled ones (0: the member has no standing).
 */
interface Source {
  sql: string;
  params: unknown[];
}

/** The old and the new standing of one learner, in every active group having the course. */
const standingSource = (userId: string, courseId: string, changes: Contribution[]): Source => ({
  sql: `SELECT m.group_id, a.activity_id, 0 AS members, x.sign, x.progress_percent, x.completed,
               x.updated_at, x.scores
          FROM group_activity_members m
          JOIN group_activity_activities a ON a.group_id = m.group_id AND a.activity_id = $2
         CROSS JOIN jsonb_to_recordset($3::jsonb) AS x(sign int, progress_percent int,
               completed boolean, updated_at timestamptz, scores jsonb)
         WHERE m.user_id = $1 AND m.status = 'active'`,
  params: [userId, courseId, JSON.stringify(changes)],
});

/** A member joining (1) or leaving (-1) the counted ones: their standing in each activity. */
const memberSource = (groupId: string, userId: string, sign: number): Source => ({
  sql: `SELECT a.group_id, a.activity_id, $3::int AS members,
               CASE WHEN s.user_id IS NULL THEN 0 ELSE $3::int END AS sign,
               s.progress_percent, s.completed, s.updated_at, s.scores
          FROM group_activity_activities a
          LEFT JOIN group_activity_standings s
            ON s.course_id = a.activity_id AND s.user_id = $2
         WHERE a.group_id = $1`,
  params: [groupId, userId, sign],
});

const bucketOf = (progress: string) => `least(${progress} / 10, ${PROGRESS_BUCKETS - 1})`;

const bucketDeltas = Array.from(
  { length: PROGRESS_BUCKETS },
  (_, bucket) =>
    `coalesce(sum(sign) FILTER (WHERE ${bucketOf('progress_percent')} = ${bucket}), 0)`,
).join(', ');

/**
 * A greatest (or least, `direction` '<') kept across a delta. Taking out the extreme itself,
 * unless something as extreme comes in, leaves it unknown: NULL, which the caller recomputes.
 */
const extreme = (column: string, removed: string, added: string, direction: '>' | '<') => {
  const keep = direction === '>' ? 'greatest' : 'least';
  return `CASE WHEN ${removed} ${direction}= ${column}
                AND NOT coalesce(${added} ${direction}= ${removed}, false)
               THEN NULL ELSE ${keep}(${column}, ${added}) END`;
};

const restoreLastUpdated = async (
  tx: SqlExecutor,
  stale: { group_id: string; activity_id: string }[],
): Promise<void> => {
  await tx.query(
    `UPDATE group_activity_totals t
        SET last_updated = (
          SELECT max(s.updated_at) FROM group_activity_members m
            JOIN group_activity_standings s ON s.course_id = t.activity_id AND s.user_id = m.user_id
           WHERE m.group_id = t.group_id AND m.status = 'active')
       FROM unnest($1::text[], $2::text[]) AS k(group_id, activity_id)
      WHERE t.group_id = k.group_id AND t.activity_id = k.activity_id`,
    [stale.map((row) => row.group_id), stale.map((row) => row.activity_id)],
  );
};

/** Moves the totals; true when a standing moved in or out had scores (the assessments move). */
const applyToTotals = async (tx: SqlExecutor, source: Source): Promise<boolean> => {
  const { rows } = await tx.query<{
    group_id: string;
    activity_id: string;
    stale: boolean;
    scored: boolean;
  }>(
    `WITH c AS (${source.sql}),
     d AS (
       SELECT group_id, activity_id, sum(members) AS members, sum(sign) AS enrolled,
              coalesce(sum(sign) FILTER (WHERE completed), 0) AS completed,
              coalesce(sum(sign * progress_percent), 0) AS progress,
              ARRAY[${bucketDeltas}] AS buckets,
              max(updated_at) FILTER (WHERE sign < 0) AS removed_at,
              max(updated_at) FILTER (WHERE sign > 0) AS added_at,
              coalesce(bool_or(sign <> 0 AND scores <> '{}'), false) AS scored
         FROM c GROUP BY group_id, activity_id)
     UPDATE group_activity_totals t
        SET member_count = t.member_count + d.members,
            enrolment_count = t.enrolment_count + d.enrolled,
            completed_count = t.completed_count + d.completed,
            progress_sum = t.progress_sum + d.progress,
            buckets = ARRAY(SELECT (t.buckets[i] + d.buckets[i])::int
                              FROM generate_series(1, ${PROGRESS_BUCKETS}) i ORDER BY i),
            last_updated = ${extreme('t.last_updated', 'd.removed_at', 'd.added_at', '>')}
       FROM d
      WHERE t.group_id = d.group_id AND t.activity_id = d.activity_id
     RETURNING t.group_id, t.activity_id, d.scored,
               t.last_updated IS NULL AND t.enrolment_count > 0 AS stale`,
    source.params,
  );
  const stale = rows.filter((row) => row.stale === true);
  if (stale.length > 0) await restoreLastUpdated(tx, stale);
  return rows.some((row) => row.scored === true);
};

interface AssessmentKeys {
  group_id: string;
  activity_id: string;
  content_id: string;
  attempted: number;
  stale: boolean;
  [column: string]: unknown;
}

/** Moves the per-assessment totals; answers the rows it changed, and which lost an extreme. */
const moveAssessmentTotals = async (tx: SqlExecutor, source: Source) =>
  (
    await tx.query<AssessmentKeys>(
      `WITH c AS (${source.sql}),
       s AS (
         SELECT c.group_id, c.activity_id, c.sign, e.key AS content_id,
                (e.value->>'score')::float8 AS score, (e.value->>'maxScore')::float8 AS max_score,
                (e.value->>'attempts')::int AS attempts, e.value->>'at' AS at
           FROM c CROSS JOIN LATERAL jsonb_each(c.scores) e WHERE c.sign <> 0),
       d AS (
         SELECT group_id, activity_id, content_id, sum(sign) AS attempted,
                sum(sign * score) AS score_sum, sum(sign * attempts) AS attempts,
                min(score) FILTER (WHERE sign < 0) AS removed_low,
                min(score) FILTER (WHERE sign > 0) AS added_low,
                max(score) FILTER (WHERE sign < 0) AS removed_high,
                max(score) FILTER (WHERE sign > 0) AS added_high,
                max(max_score) FILTER (WHERE sign < 0) AS removed_max,
                max(max_score) FILTER (WHERE sign > 0) AS added_max,
                max(at) FILTER (WHERE sign < 0) AS removed_at,
                max(at) FILTER (WHERE sign > 0) AS added_at
           FROM s GROUP BY group_id, activity_id, content_id),
       changed AS (
         UPDATE group_activity_assessment_totals t
            SET attempted = t.attempted + d.attempted, score_sum = t.score_sum + d.score_sum,
                attempts = t.attempts + d.attempts,
                lowest = ${extreme('t.lowest', 'd.removed_low', 'd.added_low', '<')},
                highest = ${extreme('t.highest', 'd.removed_high', 'd.added_high', '>')},
                max_score = ${extreme('t.max_score', 'd.removed_max', 'd.added_max', '>')},
                last_updated = ${extreme('t.last_updated', 'd.removed_at', 'd.added_at', '>')}
           FROM d
          WHERE t.group_id = d.group_id AND t.activity_id = d.activity_id
            AND t.content_id = d.content_id
         RETURNING t.group_id, t.activity_id, t.content_id, t.attempted,
                   (t.lowest IS NULL OR t.highest IS NULL OR t.max_score IS NULL
                    OR t.last_updated IS NULL) AS stale),
       added AS (
         INSERT INTO group_activity_assessment_totals (group_id, activity_id, content_id,
                attempted, score_sum, attempts, lowest, highest, max_score, last_updated)
         SELECT d.group_id, d.activity_id, d.content_id, d.attempted, d.score_sum, d.attempts,
                d.added_low, d.added_high, d.added_max, d.added_at
           FROM d
          WHERE d.attempted > 0 AND NOT EXISTS (
                SELECT 1 FROM changed x WHERE x.group_id = d.group_id
                   AND x.activity_id = d.activity_id AND x.content_id = d.content_id))
       SELECT * FROM changed`,
      source.params,
    )
  ).rows;

const keyArrays = (rows: AssessmentKeys[]) => [
  rows.map((row) => row.group_id),
  rows.map((row) => row.activity_id),
  rows.map((row) => row.content_id),
];

/** Assessments nobody counted any more go; those whose extreme went out are recomputed. */
const applyToAssessments = async (tx: SqlExecutor, source: Source): Promise<void> => {
  const changed = await moveAssessmentTotals(tx, source);
  const emptied = changed.filter((row) => Number(row.attempted) <= 0);
  const stale = changed.filter((row) => Number(row.attempted) > 0 && row.stale === true);
  if (emptied.length > 0)
    await tx.query(
      `DELETE FROM group_activity_assessment_totals t
        USING unnest($1::text[], $2::text[], $3::text[]) AS k(group_id, activity_id, content_id)
        WHERE t.group_id = k.group_id AND t.activity_id = k.activity_id
          AND t.content_id = k.content_id`,
      keyArrays(emptied),
    );
  if (stale.length > 0)
    await tx.query(
      `UPDATE group_activity_assessment_totals t
          SET lowest = r.lowest, highest = r.highest, max_score = r.max_score,
              last_updated = r.last_updated
         FROM unnest($1::text[], $2::text[], $3::text[]) AS k(group_id, activity_id, content_id)
        CROSS JOIN LATERAL (
          SELECT min((s.scores->k.content_id->>'score')::float8) AS lowest,
                 max((s.scores->k.content_id->>'score')::float8) AS highest,
                 max((s.scores->k.content_id->>'maxScore')::float8) AS max_score,
                 max(s.scores->k.content_id->>'at') AS last_updated
            FROM group_activity_members m
            JOIN group_activity_standings s
              ON s.course_id = k.activity_id AND s.user_id = m.user_id
           WHERE m.group_id = k.group_id AND m.status = 'active' AND s.scores ? k.content_id) r
        WHERE t.group_id = k.group_id AND t.activity_id = k.activity_id
          AND t.content_id = k.content_id`,
      keyArrays(stale),
    );
};

const sameScore = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The scores of `from` that `to` does not hold as they are: what actually moves. */
const scoresMoved = (from: Standing | null, to: Standing | null): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(from?.scores ?? {}).filter(([id, score]) => !sameScore(score, to?.scores[id])),
  );

const contribution = (sign: number, standing: Standing, scores: Record<string, unknown>) => ({
  sign,
  progress_percent: standing.progress_percent,
  completed: standing.completed,
  updated_at: standing.updated_at,
  scores,
});

/** Recomputes the learner's standing from their enrolments and returns it with the old one. */
const restand = async (tx: SqlExecutor, userId: string, courseId: string) => {
  const { rows } = await tx.query<{ old: Standing | null; new: Standing | null; counted: boolean }>(
    `WITH old AS (
       SELECT batch_id, progress_percent, completed, scores, updated_at
         FROM group_activity_standings WHERE course_id = $2 AND user_id = $1),
     chosen AS (
       SELECT batch_id, progress_percent, completed_on IS NOT NULL AS completed, scores, updated_at
         FROM group_activity_enrolments
        WHERE course_id = $2 AND user_id = $1 AND active
        ORDER BY progress_percent DESC, enrolled_at DESC, batch_id LIMIT 1),
     gone AS (
       DELETE FROM group_activity_standings
        WHERE course_id = $2 AND user_id = $1 AND NOT EXISTS (SELECT 1 FROM chosen)),
     kept AS (
       INSERT INTO group_activity_standings (course_id, user_id, batch_id, progress_percent,
              completed, scores, updated_at)
       SELECT $2, $1, batch_id, progress_percent, completed, scores, updated_at FROM chosen
       ON CONFLICT (course_id, user_id) DO UPDATE
          SET batch_id = excluded.batch_id, progress_percent = excluded.progress_percent,
              completed = excluded.completed, scores = excluded.scores,
              updated_at = excluded.updated_at)
     SELECT (SELECT to_jsonb(old) FROM old) AS old, (SELECT to_jsonb(chosen) FROM chosen) AS new,
            EXISTS (SELECT 1 FROM group_activity_members m
                      JOIN group_activity_activities a
                        ON a.group_id = m.group_id AND a.activity_id = $2
                     WHERE m.user_id = $1 AND m.status = 'active') AS counted`,
    [userId, courseId],
  );
  return rows[0] ?? { old: null, new: null, counted: false };
};

/**
 * After one of the learner's enrolments in the course changed: their standing is recomputed
 * and the difference moved into the totals of every group where they count.
 */
export const standingChanged = async (
  tx: SqlExecutor,
  userId: string,
  courseId: string,
): Promise<void> => {
  const { old, new: now, counted } = await restand(tx, userId, courseId);
  // Most learners of a course are in no group that has it: their standing moves no totals.
  if (!counted) return;
  const totalsMoved =
    old?.progress_percent !== now?.progress_percent ||
    old?.completed !== now?.completed ||
    old?.updated_at !== now?.updated_at;
  const out = scoresMoved(old, now);
  const into = scoresMoved(now, old);
  const changes = [
    ...(old === null ? [] : [contribution(-1, old, out)]),
    ...(now === null ? [] : [contribution(1, now, into)]),
  ];
  if (totalsMoved) await applyToTotals(tx, standingSource(userId, courseId, changes));
  if (Object.keys(out).length + Object.keys(into).length > 0)
    await applyToAssessments(tx, standingSource(userId, courseId, changes));
};

/** A member started (1) or stopped (-1) counting in the group: as an active member. */
export const memberCounted = async (
  tx: SqlExecutor,
  groupId: string,
  userId: string,
  sign: number,
): Promise<void> => {
  if (sign === 0) return;
  if (await applyToTotals(tx, memberSource(groupId, userId, sign)))
    await applyToAssessments(tx, memberSource(groupId, userId, sign));
};

const bucketCounts = Array.from(
  { length: PROGRESS_BUCKETS },
  (_, bucket) => `count(*) FILTER (WHERE ${bucketOf('s.progress_percent')} = ${bucket})`,
).join(', ');

/** An activity's totals from its group's active members, from scratch: once, when it is added. */
export const activityAdded = async (
  tx: SqlExecutor,
  groupId: string,
  activityId: string,
): Promise<void> => {
  await activityRemoved(tx, groupId, activityId);
  const counted = (scores = '') => `FROM group_activity_members m
    JOIN group_activity_standings s ON s.course_id = $2 AND s.user_id = m.user_id ${scores}
   WHERE m.group_id = $1 AND m.status = 'active'`;
  await tx.query(
    `INSERT INTO group_activity_totals (group_id, activity_id, member_count, enrolment_count,
            completed_count, progress_sum, buckets, last_updated)
     SELECT $1, $2, (SELECT count(*) FROM group_activity_members
                      WHERE group_id = $1 AND status = 'active'),
            count(*), count(*) FILTER (WHERE s.completed), coalesce(sum(s.progress_percent), 0),
            ARRAY[${bucketCounts}], max(s.updated_at)
       ${counted()}`,
    [groupId, activityId],
  );
  await tx.query(
    `INSERT INTO group_activity_assessment_totals (group_id, activity_id, content_id,
            attempted, score_sum, attempts, lowest, highest, max_score, last_updated)
     SELECT $1, $2, e.key, count(*), sum((e.value->>'score')::float8),
            sum((e.value->>'attempts')::int), min((e.value->>'score')::float8),
            max((e.value->>'score')::float8), max((e.value->>'maxScore')::float8),
            max(e.value->>'at')
       ${counted('CROSS JOIN LATERAL jsonb_each(s.scores) e')}
      GROUP BY e.key`,
    [groupId, activityId],
  );
};

export const activityRemoved = async (
  tx: SqlExecutor,
  groupId: string,
  activityId: string,
): Promise<void> => {
  for (const table of ['group_activity_totals', 'group_activity_assessment_totals'])
    await tx.query(`DELETE FROM ${table} WHERE group_id = $1 AND activity_id = $2`, [
      groupId,
      activityId,
    ]);
};
