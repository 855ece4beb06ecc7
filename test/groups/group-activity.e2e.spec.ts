import {
  createCourseAndOpenBatch,
  freshStorage,
  HubStorage,
  issueKey,
  recordUser,
  RunningHub,
  startHub,
} from '../support/hub-harness';
import { eventually } from '../support/eventually';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const expectProblem = (response: Reply, status: number, code: string) =>
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });

const userIds = (members: unknown): string[] =>
  (members as { userId: string }[]).map((member) => member.userId);

const metrics = (agg: { metric: string; value: number }[]) =>
  Object.fromEntries(agg.map(({ metric, value }) => [metric, value]));

/**
 * Group g-7b of org-a: lea (group admin, consents), leo (no consent), lia (consents, then
 * erased), nia (never enrols). All but nia are in the group's course.
 */
describe('group activity (e2e)', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let admin: string; // ORG_ADMIN of org-a
  let alice: string; // creates the course
  let lea: string;
  let leo: string;
  let lia: string;
  let nia: string;
  let oli: string; // a learner of org-a outside the group
  let bob: string; // ORG_ADMIN of org-b

  const agg = (token: string, request: unknown) =>
    hub.call(token, 'POST', '/v1/group/activity/agg', request);
  const learn = async (token: string, contents: string[]) => {
    const at = new Date().toISOString();
    const progress = await hub.call(token, 'POST', '/v1/batches/batch-g/progress', {
      contents: contents.map((contentId) => ({ contentId, status: 2, lastAccessTime: at })),
    });
    expect(progress.status).toBe(200);
  };

  beforeAll(async () => {
    storage = await freshStorage('group-activity-e2e');
    hub = await startHub(storage.storage);
    [admin, alice, lea, leo, lia, nia, oli, bob] = await Promise.all([
      issueKey(hub, 'ada', 'org-a', ['ORG_ADMIN']),
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'lea', 'org-a', ['LEARNER']),
      issueKey(hub, 'leo', 'org-a', ['LEARNER']),
      issueKey(hub, 'lia', 'org-a', ['LEARNER']),
      issueKey(hub, 'nia', 'org-a', ['LEARNER']),
      issueKey(hub, 'oli', 'org-a', ['LEARNER']),
      issueKey(hub, 'bob', 'org-b', ['ORG_ADMIN']),
    ]);
    for (const [userId, name] of [
      ['lea', 'Lea L'],
      ['leo', 'Leo L'],
      ['lia', 'Lia L'],
      ['nia', 'Nia N'],
      ['oli', 'Oli O'],
    ])
      await recordUser(hub, userId!, 'org-a', { name });
    await createCourseAndOpenBatch(hub, alice, {
      courseId: 'course-g',
      batchId: 'batch-g',
      name: 'Group course',
      mentors: [],
    });
    const group = await hub.call(admin, 'PUT', '/v1/groups/g-7b', {
      name: 'Class 7B',
      members: [
        { userId: 'lea', role: 'admin' },
        { userId: 'leo' },
        { userId: 'lia' },
        { userId: 'nia' },
      ],
      activities: [{ activityId: 'course-g', activityType: 'Course' }],
    });
    expect(group.status).toBe(201);
    for (const token of [lea, leo, lia])
      expect((await hub.call(token, 'POST', '/v1/batches/batch-g/enrolments', {})).status).toBe(
        201,
      );
    for (const userId of ['lea', 'lia'])
      expect(
        (
          await hub.call(
            userId === 'lea' ? lea : lia,
            'PUT',
            `/v1/users/${userId}/consents/course-g`,
            {},
          )
        ).status,
      ).toBe(200);
    await learn(lea, ['content-1']);
    await learn(leo, ['content-1', 'content-3']);
    const attempt = await hub.call(lea, 'POST', '/v1/batches/batch-g/assessments', {
      contentId: 'quiz-1',
      attemptId: 'lea-1',
      submittedAt: new Date().toISOString(),
      responses: [
        { questionId: 'q1', type: 'mcq', score: 4, maxScore: 5 },
        { questionId: 'q2', type: 'mcq', score: 4, maxScore: 5 },
      ],
    });
    expect(attempt.status).toBe(200);
    expect((await hub.call(admin, 'DELETE', '/v1/users/lia/personal-data')).status).toBe(204);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('answers the reference form with activity and member metrics, names as consent allows', async () => {
    const response = await agg(lea, {
      request: { groupId: 'g-7b', activityId: 'course-g', activityType: 'Course' },
    });
    expect(response.status).toBe(200);
    const { activity } = response.body;
    const members = response.body.members as {
      userId: string;
      name: string | null;
      agg: { metric: string; value: number }[];
    }[];
    expect(activity).toMatchObject({ id: 'course-g', type: 'Course' });
    expect(metrics(activity.agg)).toMatchObject({
      enrolmentCount: 3,
      completedCount: 0,
      memberCount: 4,
      'attempted_count:quiz-1': 1,
      'average_score:quiz-1': 8,
      'max_score:quiz-1': 10,
      'attempts_count:quiz-1': 1,
    });
    expect(activity.agg[0]).toMatchObject({
      metric: 'enrolmentCount',
      lastUpdatedOn: expect.any(Number),
    });
    expect(members.map((m) => [m.userId, m.name])).toEqual([
      ['lea', 'Lea L'], // consented
      ['leo', null], // no consent
      ['lia', null], // erased
      ['nia', null], // no consent, not enrolled
    ]);
    const [leaRow, leoRow, , niaRow] = members as [
      (typeof members)[0],
      (typeof members)[0],
      unknown,
      unknown,
    ];
    expect(leaRow).toMatchObject({
      role: 'admin',
      status: 'active',
      enrolment: { batchId: 'batch-g' },
    });
    expect(metrics(leaRow.agg)).toEqual({
      completedCount: 2, // content-1, and quiz-1 by its attempt
      progress: 66,
      'score:quiz-1': 8,
      'max_score:quiz-1': 10,
      'attempts_count:quiz-1': 1,
    });
    expect(metrics(leoRow.agg)).toEqual({ completedCount: 2, progress: 66 });
    expect(niaRow).toMatchObject({ enrolment: null, agg: [] });
  });

  it.each([
    [{}, 'GROUP_ID_MISSING'],
    [{ request: {} }, 'GROUP_ID_MISSING'],
    [{ request: { groupId: 'g-7b' } }, 'ACTIVITY_ID_MISSING'],
    [{ request: { groupId: 'g-7b', activityId: 'course-g' } }, 'ACTIVITY_TYPE_MISSING'],
    [
      { request: { groupId: 'g 7b', activityId: 'course-g', activityType: 'Course' } },
      'INVALID_IDENTIFIER',
    ],
  ])('refuses %j with %s', async (body, code) => {
    expectProblem(await agg(admin, body), 400, code);
  });

  it('shows the group to its members and its organisation’s admins only', async () => {
    const request = {
      request: { groupId: 'g-7b', activityId: 'course-g', activityType: 'Course' },
    };
    expect((await agg(admin, request)).status).toBe(200);
    expect((await agg(nia, request)).status).toBe(200);
    expectProblem(await agg(oli, request), 404, 'GROUP_NOT_FOUND');
    expectProblem(await agg(bob, request), 404, 'GROUP_NOT_FOUND');
    expectProblem(
      await hub.call(bob, 'GET', '/v1/groups/g-7b/activities/course-g'),
      404,
      'GROUP_NOT_FOUND',
    );
    expectProblem(
      await agg(admin, {
        request: { groupId: 'g-7b', activityId: 'course-x', activityType: 'Course' },
      }),
      404,
      'GROUP_ACTIVITY_NOT_FOUND',
    );
  });

  it('pages members by progress with a cursor, and answers 304 to an unchanged ETag', async () => {
    const first = await hub.call(
      admin,
      'GET',
      '/v1/groups/g-7b/activities/course-g?sort=progress&limit=2',
    );
    expect(first.status).toBe(200);
    expect(first.body.aggregates).toMatchObject({
      memberCount: 4,
      enrolmentCount: 3,
      progressDistribution: [1, 0, 0, 0, 0, 0, 2, 0, 0, 0],
    });
    expect(userIds(first.body.members)).toEqual(['lea', 'leo']);
    const second = await hub.call(
      admin,
      'GET',
      `/v1/groups/g-7b/activities/course-g?sort=progress&limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(userIds(second.body.members)).toEqual(['lia', 'nia']);
    expect(second.body.nextCursor).toBeNull();

    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/".+"$/);
    const unchanged = await hub.call(
      admin,
      'GET',
      '/v1/groups/g-7b/activities/course-g?sort=progress&limit=2',
      undefined,
      { 'if-none-match': etag },
    );
    expect(unchanged.status).toBe(304);
    expectProblem(
      await hub.call(admin, 'GET', '/v1/groups/g-7b/activities/course-g?cursor=not-a-cursor'),
      400,
      'INVALID_CURSOR',
    );
  });

  it('streams the aggregates, and a progress update reaches them within a second', async () => {
    const controller = new AbortController();
    const response = await fetch(`${hub.base}/v1/groups/g-7b/activities/course-g/stream`, {
      headers: { authorization: `Bearer ${admin}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const events: { completedCount: number }[] = [];
    let buffer = '';
    const nextEvent = async () => {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data !== undefined) return JSON.parse(data) as { completedCount: number };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffer += value;
      }
    };
    try {
      events.push(await nextEvent());
      expect(events[0]).toMatchObject({ completedCount: 0, enrolmentCount: 3 });
      const sent = Date.now();
      await learn(leo, ['quiz-1']);
      const attempt = await hub.call(leo, 'POST', '/v1/batches/batch-g/assessments', {
        contentId: 'quiz-1',
        attemptId: 'leo-1',
        submittedAt: new Date().toISOString(),
        responses: [
          { questionId: 'q1', type: 'mcq', score: 5, maxScore: 5 },
          { questionId: 'q2', type: 'mcq', score: 5, maxScore: 5 },
        ],
      });
      expect(attempt.status).toBe(200);
      let latest = await nextEvent();
      while (latest.completedCount === 0) latest = await nextEvent();
      expect(Date.now() - sent).toBeLessThan(5_000);
      expect(latest).toMatchObject({ completedCount: 1 });
    } finally {
      controller.abort();
    }
    // The REST form shows the change too, with a new ETag.
    await eventually(async () => {
      const now = await hub.call(admin, 'GET', '/v1/groups/g-7b/activities/course-g');
      expect(now.body.aggregates.completedCount).toBe(1);
    });
  });
});
