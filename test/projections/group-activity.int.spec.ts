import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint } from '../../projections/engine/checkpoints';
import { runProjection } from '../../projections/engine/projection-runner';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { groupActivityProjection } from '../../projections/group-activity/group-activity.projection';
import {
  groupActivityAggregates,
  listGroupActivityMembers,
  readGroupAccess,
} from '../../projections/group-activity/group-activity.query';
import { listGroups } from '../../projections/group-activity/groups.query';
import { SqlDatabase } from '../../src/database/sql-database';
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
const learner = (batchId: string, userId: string) => {
  const key = { batchId, courseId: COURSE, userId };
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
        maxScore: 10,
        digest: randomUUID(),
        replaced: false,
        assessment: { contentId, attemptId: 'a', maxScore: 10, ...counted },
        totalScore: counted.score,
        totalMaxScore: 10,
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
});
