import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { runProjection } from '../../projections/engine/projection-runner';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { groupActivityProjection } from '../../projections/group-activity/group-activity.projection';
import {
  GroupActivityAggregates,
  groupActivityAggregates,
  listGroupActivityMembers,
  PROGRESS_BUCKETS,
  readGroupAccess,
} from '../../projections/group-activity/group-activity.query';
import { listGroups } from '../../projections/group-activity/groups.query';
import { SqlDatabase, SqlExecutor } from '../../src/database/sql-database';
import { EnrolmentEvent, enrolmentStream } from '../../src/enrolments/enrolment.events';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { GroupEvent, groupStream } from '../../src/groups/group.events';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';

const COURSE = 'course-g';
const readGroupActivity = async (db: SqlDatabase, groupId: string, activityId: string) =>
  (await readGroupAccess(db, groupId, activityId, 'nobody'))?.activity ?? null;
const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 9, minute)).toISOString();

type Data<E extends { type: string; data: unknown }, T extends E['type']> = Extract<
  E,
  { type: T }
>['data'];

const progressOf = (percent: number, completedCount: number) => ({
  completedCount,
  requiredCount: 10,
  percent,
  units: {},
});

/** Enrolment events as the enrolment decider writes them, for one learner in one batch. */
const learner = (batchId: string, userId: string, courseId = COURSE) => {
  const key = { batchId, courseId, userId };
  return {
    stream: enrolmentStream(batchId, userId),
    enrolled: (minute: number): EnrolmentEvent => ({
      type: 'UserEnrolled',
      data: {
        ...key,
        enrolledBy: userId,
        enrolledAt: at(minute),
        revived: false,
        progress: progressOf(0, 0),
      },
    }),
    progressed: (minute: number, percent: number, count: number): EnrolmentEvent => ({
      type: 'ContentProgressRecorded',
      data: {
        ...key,
        contents: [],
        lastContentId: 'c1',
        lastAccessTime: at(minute),
        recordedAt: at(minute),
        progress: progressOf(percent, count),
      },
    }),
    /** `counted` is the attempt the hub's score policy counts after this one. */
    attempted: (
      minute: number,
      contentId: string,
      counted: { score: number; attempts: number },
      maxScore = 10,
    ): EnrolmentEvent => ({
      type: 'AssessmentAttemptRecorded',
      data: {
        ...key,
        contentId,
        attemptId: `${userId}-${contentId}-${counted.attempts}`,
        submittedAt: at(minute),
        recordedAt: at(minute),
        responses: [],
        score: counted.score,
        maxScore,
        digest: randomUUID(),
        replaced: false,
        assessment: { contentId, attemptId: 'a', maxScore, ...counted },
        totalScore: counted.score,
        totalMaxScore: maxScore,
        policy: 'best',
      },
    }),
    completed: (minute: number): EnrolmentEvent => ({
      type: 'CourseCompleted',
      data: { ...key, completedOn: at(minute) },
    }),
    unenrolled: (minute: number): EnrolmentEvent => ({
      type: 'UserUnenrolled',
      data: { ...key, unenrolledBy: 'admin', unenrolledAt: at(minute) },
    }),
  };
};

const groupEvent = <T extends GroupEvent['type']>(
  type: T,
  data: Omit<Data<GroupEvent, T>, 'groupId'>,
  groupId = 'g1',
): GroupEvent => ({ type, data: { groupId, ...data } }) as unknown as GroupEvent;

const member = (userId: string, minute: number, role: 'admin' | 'member' = 'member') =>
  groupEvent('GroupMemberAdded', {
    userId,
    role,
    status: 'active',
    addedBy: 'org-admin',
    addedAt: at(minute),
  });

const oracleBuckets = Array.from(
  { length: PROGRESS_BUCKETS },
  (_, bucket) =>
    `count(*) FILTER (WHERE least(progress_percent / 10, ${PROGRESS_BUCKETS - 1}) = ${bucket})`,
).join(', ');

const oracleChosen = `
  SELECT DISTINCT ON (e.user_id) e.*
    FROM group_activity_enrolments e
    JOIN group_activity_members m ON m.group_id = $1 AND m.user_id = e.user_id
   WHERE e.course_id = $2 AND e.active AND m.status = 'active'
   ORDER BY e.user_id, e.progress_percent DESC, e.enrolled_at DESC, e.batch_id`;

/**
 * The test oracle: the aggregates computed from scratch over every member, as reads computed
 * them before the projection kept totals.
 */
const aggregatesFromScratch = async (
  db: SqlExecutor,
  groupId: string,
  courseId: string,
): Promise<GroupActivityAggregates> => {
  const totals = await db.query<
    Record<string, unknown> & { buckets: unknown[]; last_updated: Date | string | null }
  >(
    `WITH chosen AS (${oracleChosen})
     SELECT (SELECT count(*) FROM group_activity_members
              WHERE group_id = $1 AND status = 'active') AS member_count,
            count(*) AS enrolment_count,
            count(*) FILTER (WHERE completed_on IS NOT NULL) AS completed_count,
            avg(progress_percent)::float8 AS average_progress,
            max(updated_at) AS last_updated,
            ARRAY[${oracleBuckets}] AS buckets
       FROM chosen`,
    [groupId, courseId],
  );
  const assessments = await db.query(
    `WITH chosen AS (${oracleChosen})
     SELECT s.key AS content_id, count(*) AS attempted,
            avg((s.value->>'score')::float8) AS average_score,
            min((s.value->>'score')::float8) AS lowest_score,
            max((s.value->>'score')::float8) AS highest_score,
            max((s.value->>'maxScore')::float8) AS max_score,
            sum((s.value->>'attempts')::int) AS attempts,
            max(s.value->>'at') AS last_updated
       FROM chosen c CROSS JOIN LATERAL jsonb_each(c.scores) s
      GROUP BY s.key ORDER BY s.key`,
    [groupId, courseId],
  );
  const row = totals.rows[0]!;
  return {
    memberCount: Number(row.member_count),
    enrolmentCount: Number(row.enrolment_count),
    completedCount: Number(row.completed_count),
    averageProgress: row.average_progress === null ? null : Number(row.average_progress),
    progressDistribution: row.buckets.map(Number),
    assessments: assessments.rows.map((assessment) => ({
      contentId: String(assessment.content_id),
      attempted: Number(assessment.attempted),
      averageScore: Number(assessment.average_score),
      lowestScore: Number(assessment.lowest_score),
      highestScore: Number(assessment.highest_score),
      maxScore: Number(assessment.max_score),
      attempts: Number(assessment.attempts),
      lastUpdatedOn: new Date(String(assessment.last_updated)),
    })),
    lastUpdatedOn: row.last_updated === null ? null : new Date(row.last_updated),
  };
};

const USERS = ['u1', 'u2', 'u3'];
const GROUPS = ['g1', 'g2'];
/** Batches with their course: two of c1, so a learner can be in both. */
const BATCHES: Record<string, string> = { b1: 'c1', b2: 'c1', b3: 'c2' };

/** One step of a random history: a group event, or an enrolment event of a learner. */
const step = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('joined', 'changed', 'left'),
      group: fc.constantFrom(...GROUPS),
      user: fc.constantFrom(...USERS),
      active: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('activityAdded', 'activityRemoved'),
      group: fc.constantFrom(...GROUPS),
      course: fc.constantFrom('c1', 'c2'),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      // Attempts weigh most: the lowest and highest scores are what is hard to keep.
      kind: fc.constantFrom(
        ...(['enrolled', 'unenrolled', 'completed', 'progressed', 'attempted'] as const),
        ...(['enrolled', 'progressed', 'attempted', 'attempted'] as const),
      ),
      batch: fc.constantFrom(...Object.keys(BATCHES)),
      user: fc.constantFrom(...USERS),
      minute: fc.integer({ min: 0, max: 59 }),
      percent: fc.integer({ min: 0, max: 100 }),
      quiz: fc.constantFrom('q1', 'q2'),
      score: fc.integer({ min: 0, max: 10 }),
      maxScore: fc.constantFrom(5, 10),
    }),
  },
);

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** What a step appends in run `run`: every id is the run's own, so runs do not meet. */
const eventOf = (run: string, s: Step): [string, GroupEvent | EnrolmentEvent] => {
  const id = (name: string) => `${run}-${name}`;
  if ('batch' in s) {
    const one = learner(id(s.batch), id(s.user), id(BATCHES[s.batch]!));
    const events: Record<typeof s.kind, () => EnrolmentEvent> = {
      enrolled: () => one.enrolled(s.minute),
      unenrolled: () => one.unenrolled(s.minute),
      completed: () => one.completed(s.minute),
      progressed: () => one.progressed(s.minute, s.percent, s.percent % 10),
      attempted: () =>
        one.attempted(
          s.minute,
          s.quiz,
          { score: s.score, attempts: 1 + (s.minute % 3) },
          s.maxScore,
        ),
    };
    return [one.stream, events[s.kind]()];
  }
  const group = id(s.group);
  const by = { userId: 'user' in s ? id(s.user) : '', role: 'member' as const };
  const status = 'active' in s && s.active ? 'active' : 'inactive';
  const event =
    s.kind === 'joined'
      ? groupEvent('GroupMemberAdded', { ...by, status, addedBy: 'a', addedAt: at(1) }, group)
      : s.kind === 'changed'
        ? groupEvent(
            'GroupMemberChanged',
            { ...by, status, changedBy: 'a', changedAt: at(1) },
            group,
          )
        : s.kind === 'left'
          ? groupEvent(
              'GroupMemberRemoved',
              { userId: by.userId, removedBy: 'a', removedAt: at(1) },
              group,
            )
          : 'course' in s && s.kind === 'activityAdded'
            ? groupEvent(
                'GroupActivityAdded',
                { activityId: id(s.course), activityType: 'Course', addedBy: 'a', addedAt: at(1) },
                group,
              )
            : groupEvent(
                'GroupActivityRemoved',
                { activityId: 'course' in s ? id(s.course) : '', removedBy: 'a', removedAt: at(1) },
                group,
              );
  return [groupStream(group), event];
};

const enrolled = (batch: string, user: string): Step => ({
  kind: 'enrolled',
  batch,
  user,
  minute: 0,
  percent: 0,
  quiz: 'q1',
  score: 0,
  maxScore: 10,
});

/** Where every run starts, so that most random steps meet counted members. */
const PRELUDE: Step[] = [
  { kind: 'activityAdded', group: 'g1', course: 'c1' },
  { kind: 'activityAdded', group: 'g1', course: 'c2' },
  { kind: 'activityAdded', group: 'g2', course: 'c1' },
  ...USERS.map((user): Step => ({ kind: 'joined', group: 'g1', user, active: true })),
  { kind: 'joined', group: 'g2', user: 'u1', active: true },
  { kind: 'joined', group: 'g2', user: 'u2', active: false },
  ...USERS.map((user) => enrolled('b1', user)),
  enrolled('b3', 'u1'),
];

describe('group-activity projection', () => {
  let database: TestSqlDatabase;
  let db: SqlDatabase;
  let store: SqlEventStore;

  const append = async (stream: string, ...events: (GroupEvent | EnrolmentEvent)[]) => {
    await store.appendToStream(
      stream,
      events.map((event) => ({
        id: randomUUID(),
        type: event.type,
        data: event.data,
        metadata: { principal: 'test', tenant: 'org-1' },
      })),
    );
  };

  const catchUp = async () => {
    const head = await store.headPosition();
    for (;;) {
      await runProjection(
        groupActivityProjection,
        { db, store },
        { batchSize: 7, signal: new AbortController().signal, untilCaughtUp: true },
      );
      const checkpoint = await readCheckpoint(db, groupActivityProjection.name);
      if (head === null || (checkpoint?.position && checkpoint.position >= head)) return;
      await sleep(20);
    }
  };

  const aggregates = () => groupActivityAggregates(db, 'g1', COURSE);
  const members = async (sort: 'userId' | 'progress' | 'score' = 'userId') =>
    (await listGroupActivityMembers(db, 'g1', COURSE, { sort, limit: 100 })).members;

  beforeAll(async () => {
    database = await openTestSqlDatabase('group_activity_projection');
    db = database.db;
    store = await SqlEventStore.open(db, { pollIntervalMs: 100 });
    await append(
      groupStream('g1'),
      groupEvent('GroupCreated', {
        organisationId: 'org-1',
        name: 'Class 7B',
        description: null,
        createdBy: 'org-admin',
        createdAt: at(0),
      }),
      groupEvent('GroupActivityAdded', {
        activityId: COURSE,
        activityType: 'Course',
        addedBy: 'org-admin',
        addedAt: at(0),
      }),
      member('ana', 1, 'admin'),
      member('ben', 1),
      member('cai', 1),
      member('dev', 1), // never enrols
    );
    const ana = learner('b1', 'ana');
    await append(ana.stream, ana.enrolled(2), ana.progressed(3, 40, 4));
    await append(ana.stream, ana.attempted(4, 'quiz-1', { score: 6, attempts: 1 }));
    // Best policy: a worse second attempt leaves the counted score at 6.
    await append(ana.stream, ana.attempted(5, 'quiz-1', { score: 6, attempts: 2 }));
    const ben = learner('b1', 'ben');
    await append(ben.stream, ben.enrolled(2), ben.progressed(3, 100, 10), ben.completed(3));
    await append(ben.stream, ben.attempted(6, 'quiz-1', { score: 9, attempts: 1 }));
    await append(ben.stream, ben.attempted(6, 'quiz-2', { score: 4, attempts: 1 }));
    // Cai is in two batches of the course: counted once, with the more advanced enrolment.
    const caiA = learner('b1', 'cai');
    const caiB = learner('b2', 'cai');
    await append(caiA.stream, caiA.enrolled(2), caiA.progressed(3, 10, 1));
    await append(caiB.stream, caiB.enrolled(2), caiB.progressed(4, 70, 7));
    // Eve enrols but is not in the group.
    const eve = learner('b1', 'eve');
    await append(eve.stream, eve.enrolled(2), eve.progressed(3, 90, 9));
    await catchUp();
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('counts enrolled members once each, completions, progress and its distribution', async () => {
    const result = await aggregates();
    expect(result).toMatchObject({
      memberCount: 4,
      enrolmentCount: 3,
      completedCount: 1,
      lastUpdatedOn: new Date(at(6)),
    });
    expect(result.averageProgress).toBeCloseTo((40 + 100 + 70) / 3, 10);
    expect(result.progressDistribution).toEqual([0, 0, 0, 0, 1, 0, 0, 1, 0, 1]);
  });

  it('rolls up each assessment over the members who attempted it', async () => {
    expect((await aggregates()).assessments).toEqual([
      {
        contentId: 'quiz-1',
        attempted: 2,
        averageScore: 7.5,
        lowestScore: 6,
        highestScore: 9,
        maxScore: 10,
        attempts: 3,
        lastUpdatedOn: new Date(at(6)),
      },
      {
        contentId: 'quiz-2',
        attempted: 1,
        averageScore: 4,
        lowestScore: 4,
        highestScore: 4,
        maxScore: 10,
        attempts: 1,
        lastUpdatedOn: new Date(at(6)),
      },
    ]);
  });

  it('lists every member, the one never enrolled too, with the enrolment shown', async () => {
    const listed = await members();
    expect(listed.map((m) => [m.userId, m.role, m.enrolment?.batchId ?? null])).toEqual([
      ['ana', 'admin', 'b1'],
      ['ben', 'member', 'b1'],
      ['cai', 'member', 'b2'],
      ['dev', 'member', null],
    ]);
    expect(listed[0]!.enrolment).toMatchObject({
      progressPercent: 40,
      completedCount: 4,
      scores: { 'quiz-1': { score: 6, maxScore: 10, attempts: 2 } },
      scorePercent: 60,
    });
    expect(listed[1]!.enrolment).toMatchObject({ status: 2, scorePercent: 65 });
  });

  it('sorts members by progress or score, not enrolled last, with a cursor', async () => {
    expect((await members('progress')).map((m) => m.userId)).toEqual(['ben', 'cai', 'ana', 'dev']);
    expect((await members('score')).map((m) => m.userId)).toEqual(['ben', 'ana', 'cai', 'dev']);
    const first = await listGroupActivityMembers(db, 'g1', COURSE, { sort: 'progress', limit: 2 });
    expect(first.members.map((m) => m.userId)).toEqual(['ben', 'cai']);
    const second = await listGroupActivityMembers(db, 'g1', COURSE, {
      sort: 'progress',
      limit: 2,
      after: first.next!,
    });
    expect(second.members.map((m) => m.userId)).toEqual(['ana', 'dev']);
    expect(second.next).toBeNull();
    const byId = await listGroupActivityMembers(db, 'g1', COURSE, { sort: 'userId', limit: 3 });
    expect(byId.members.map((m) => m.userId)).toEqual(['ana', 'ben', 'cai']);
    const rest = await listGroupActivityMembers(db, 'g1', COURSE, {
      sort: 'userId',
      limit: 3,
      after: byId.next!,
    });
    expect(rest.members.map((m) => [m.userId, m.enrolment?.batchId ?? null])).toEqual([
      ['dev', null],
    ]);
    expect(rest.next).toBeNull();
  });

  it('follows the last-attempt policy: a lower counted score lowers the roll-up', async () => {
    const ana = learner('b1', 'ana');
    await append(ana.stream, ana.attempted(7, 'quiz-1', { score: 2, attempts: 3 }));
    await catchUp();
    expect((await aggregates()).assessments[0]).toMatchObject({
      averageScore: 5.5,
      lowestScore: 2,
      attempts: 4,
    });
  });

  it('drops an unenrolled member from the aggregates but keeps listing them', async () => {
    const caiB = learner('b2', 'cai');
    await append(caiB.stream, caiB.unenrolled(8));
    await catchUp();
    // Cai's other enrolment (b1, 10 %) is now the one shown.
    expect((await members()).find((m) => m.userId === 'cai')!.enrolment).toMatchObject({
      batchId: 'b1',
      progressPercent: 10,
    });
    const caiA = learner('b1', 'cai');
    await append(caiA.stream, caiA.unenrolled(9));
    await catchUp();
    expect(await aggregates()).toMatchObject({ enrolmentCount: 2 });
    expect((await members()).find((m) => m.userId === 'cai')!.enrolment).toBeNull();
  });

  it('updates at once when members leave, join or turn inactive', async () => {
    await append(
      groupStream('g1'),
      groupEvent('GroupMemberRemoved', { userId: 'ben', removedBy: 'ana', removedAt: at(10) }),
      member('eve', 10),
      groupEvent('GroupMemberChanged', {
        userId: 'ana',
        role: 'admin',
        status: 'inactive',
        changedBy: 'org-admin',
        changedAt: at(10),
      }),
    );
    await catchUp();
    const result = await aggregates();
    // Active members: cai, dev, eve; enrolled among them: eve (90 %).
    expect(result).toMatchObject({ memberCount: 3, enrolmentCount: 1, completedCount: 0 });
    expect(result.averageProgress).toBe(90);
    expect((await members()).map((m) => [m.userId, m.status])).toEqual([
      ['ana', 'inactive'],
      ['cai', 'active'],
      ['dev', 'active'],
      ['eve', 'active'],
    ]);
    expect(await listGroups(db, { memberId: 'eve', limit: 10 })).toMatchObject([
      { groupId: 'g1', memberCount: 4, activityCount: 1 },
    ]);
    expect(await listGroups(db, { memberId: 'ben', limit: 10 })).toEqual([]);
  });

  it('marks where the activity last changed: by its members, not by others', async () => {
    const changedAt = async () => (await readGroupActivity(db, 'g1', COURSE))!.changedAt;
    const before = await changedAt();
    expect(before).not.toBeNull();
    const outsider = learner('b1', 'zoe');
    await append(outsider.stream, outsider.enrolled(11));
    await catchUp();
    expect(await changedAt()).toBe(before);
    const eve = learner('b1', 'eve');
    await append(eve.stream, eve.progressed(12, 95, 9));
    await catchUp();
    const after = await changedAt();
    expect(after).not.toBe(before);
    expect(String(after) > String(before)).toBe(true);
  });

  it('knows only the activities of the group', async () => {
    expect(await readGroupActivity(db, 'g1', COURSE)).toMatchObject({ activityType: 'Course' });
    expect(await readGroupActivity(db, 'g1', 'another-course')).toBeNull();
    expect(await readGroupActivity(db, 'g9', COURSE)).toBeNull();
  });

  it('applies a redelivered event once, and a rebuild gives the same rows', async () => {
    const snapshot = async () => ({
      groups: (await db.query('SELECT * FROM group_activity_groups ORDER BY group_id')).rows,
      members: (await db.query('SELECT * FROM group_activity_members ORDER BY 1, 2')).rows,
      activities: (await db.query('SELECT * FROM group_activity_activities ORDER BY 1, 2')).rows,
      enrolments: (await db.query('SELECT * FROM group_activity_enrolments ORDER BY 1, 2')).rows,
      changes: (await db.query('SELECT * FROM group_activity_changes ORDER BY 1, 2')).rows,
      standings: (await db.query('SELECT * FROM group_activity_standings ORDER BY 1, 2')).rows,
      totals: (await db.query('SELECT * FROM group_activity_totals ORDER BY 1, 2')).rows,
      assessments: (
        await db.query('SELECT * FROM group_activity_assessment_totals ORDER BY 1, 2, 3')
      ).rows,
    });
    const before = await snapshot();
    const events = await store.readAll({ maxCount: 1_000 });
    await db.transaction(async (tx) => {
      for (const event of events) await groupActivityProjection.handlers[event.type]?.(event, tx);
    });
    expect(await snapshot()).toEqual(before);
    await rebuildProjection(groupActivityProjection, { db, store });
    await catchUp();
    expect(await snapshot()).toEqual(before);
  });

  it('keeps the same aggregates as computing them from scratch, after any history', async () => {
    let runs = 0;
    const expectFromScratch = async (run: string) => {
      const { rows } = await db.query<{ group_id: string; activity_id: string }>(
        'SELECT group_id, activity_id FROM group_activity_activities WHERE group_id LIKE $1',
        [`${run}-%`],
      );
      for (const { group_id: groupId, activity_id: activityId } of rows)
        expect(await groupActivityAggregates(db, groupId, activityId)).toEqual(
          await aggregatesFromScratch(db, groupId, activityId),
        );
    };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 40 }), async (steps) => {
        const run = `r${++runs}`;
        for (const group of GROUPS)
          await append(
            groupStream(`${run}-${group}`),
            groupEvent(
              'GroupCreated',
              {
                organisationId: 'org-1',
                name: group,
                description: null,
                createdBy: 'a',
                createdAt: at(0),
              },
              `${run}-${group}`,
            ),
          );
        for (const s of PRELUDE) await append(...eventOf(run, s));
        // Checked along the way: the totals must be right at every point, not only at the end.
        for (let from = 0; from < steps.length; from += 8) {
          for (const s of steps.slice(from, from + 8)) await append(...eventOf(run, s));
          await catchUp();
          await expectFromScratch(run);
        }
      }),
      { numRuns: 30 },
    );
  }, 120_000);
});
