import {
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  sampleHierarchy,
  startHub,
} from '../support/hub-harness';

/** Registering courses and versioning their hierarchy, through the HTTP API. */
describe('Courses API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a: registers the courses
  let bob: string; // CONTENT_CREATOR of org-a who does not own them
  let learner: string;
  let mentor: string;
  let eve: string; // CONTENT_CREATOR of org-b

  beforeAll(async () => {
    storage = await freshStorage('courses-e2e');
    hub = await startHub(storage.storage);
    alice = await issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']);
    bob = await issueKey(hub, 'bob', 'org-a', ['CONTENT_CREATOR']);
    learner = await issueKey(hub, 'lea', 'org-a', ['LEARNER']);
    mentor = await issueKey(hub, 'mia', 'org-a', ['COURSE_MENTOR']);
    eve = await issueKey(hub, 'eve', 'org-b', ['CONTENT_CREATOR']);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  const course = (courseId: string, extra: Record<string, unknown> = {}) => ({
    courseId,
    name: `Course ${courseId}`,
    trackable: { enabled: true },
    children: sampleHierarchy(),
    ...extra,
  });

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async <T>(act: () => Promise<T>): Promise<T> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  const expectProblem = (
    response: { status: number; headers: Headers; body: any },
    status: number,
    code: string,
  ) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status, code });
  };

  it('register: registers a trackable collection for a content creator', async () => {
    const response = await hub.call(alice, 'POST', '/v1/courses', course('course-1'));
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('/v1/courses/course-1');
    expect(response.headers.get('etag')).toBe('"0"');
    expect(response.body).toEqual({
      courseId: 'course-1',
      name: 'Course course-1',
      organisationId: 'org-a',
      createdBy: 'alice',
      hierarchyVersion: 1,
      lmsResourceLink: null,
      children: [
        {
          id: 'unit-1',
          name: 'Unit 1',
          kind: 'unit',
          children: [
            { id: 'content-1', name: 'Video', kind: 'content', optional: false },
            { id: 'content-2', name: 'Reading', kind: 'content', optional: true },
            { id: 'quiz-1', name: 'Quiz', kind: 'assessment', optional: false, maxScore: 10 },
          ],
        },
        { id: 'content-3', name: 'Wrap-up', kind: 'content', optional: false },
      ],
      requiredContentCount: 3,
      registeredAt: expect.any(String),
      updatedAt: expect.any(String),
      userConsent: false,
      batchCounts: { upcoming: 0, inProgress: 0, ended: 0 },
    });
    expect(response.body.updatedAt).toBe(response.body.registeredAt);

    const read = await hub.call(alice, 'GET', '/v1/courses/course-1');
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe(response.headers.get('etag'));
    expect(read.body).toEqual(response.body);
  });

  it('register: accepts the reference spelling "Yes" for a trackable collection', async () => {
    const response = await hub.call(
      alice,
      'POST',
      '/v1/courses',
      course('course-yes', { trackable: { enabled: 'Yes' } }),
    );
    expect(response.status).toBe(201);
    expect(response.body.hierarchyVersion).toBe(1);
  });

  it.each([
    ['disabled', { trackable: { enabled: false } }],
    ['without enabled', { trackable: {} }],
  ])('register: refuses a collection whose tracking is %s', async (_, extra) => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'POST', '/v1/courses', course('course-untracked', extra)),
    );
    expectProblem(response, 400, 'COLLECTION_NOT_TRACKABLE');
    expect(response.body.issues).toEqual([
      { field: 'trackable.enabled', message: expect.any(String) },
    ]);
  });

  it('register: refuses a collection without trackable at all', async () => {
    const { trackable: _trackable, ...body } = course('course-untracked');
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'POST', '/v1/courses', body),
    );
    expectProblem(response, 400, 'COLLECTION_NOT_TRACKABLE');
    expect((await hub.call(alice, 'GET', '/v1/courses/course-untracked')).status).toBe(404);
  });

  it.each([
    ['a learner', () => learner],
    ['a course mentor alone', () => mentor],
  ])('register: forbids %s to register a course', async (_, token) => {
    const response = await expectNothingAppended(() =>
      hub.call(token(), 'POST', '/v1/courses', course('course-forbidden')),
    );
    expectProblem(response, 403, 'UNAUTHORIZED_USER');
  });

  it('register: forbids a content creator to register for another organisation', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(
        alice,
        'POST',
        '/v1/courses',
        course('course-elsewhere', { organisationId: 'org-b' }),
      ),
    );
    expectProblem(response, 403, 'UNAUTHORIZED_USER');
  });

  it('register: refuses a course id that is already taken', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(bob, 'POST', '/v1/courses', course('course-1')),
    );
    expectProblem(response, 409, 'COURSE_ALREADY_EXISTS');
    expect(response.body.courseId).toBe('course-1');
    expect((await hub.call(alice, 'GET', '/v1/courses/course-1')).body.createdBy).toBe('alice');
  });

  const unit = (children: unknown[]) => ({ id: 'unit-x', name: 'Unit', kind: 'unit', children });
  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'an unknown node kind',
      { children: [{ id: 'n1', name: 'Video', kind: 'video' }] },
      'VALIDATION_FAILED',
      'children.0.kind',
    ],
    [
      'an assessment without maxScore',
      { children: [{ id: 'q1', name: 'Quiz', kind: 'assessment' }] },
      'VALIDATION_FAILED',
      'children.0.maxScore',
    ],
    [
      'a nested assessment with a fractional maxScore',
      { children: [unit([{ id: 'q1', name: 'Quiz', kind: 'assessment', maxScore: 2.5 }])] },
      'VALIDATION_FAILED',
      'children.0.children.0.maxScore',
    ],
    [
      'duplicate node ids',
      {
        children: [
          { id: 'dup', name: 'A', kind: 'content' },
          unit([{ id: 'dup', name: 'B', kind: 'content' }]),
        ],
      },
      'INVALID_HIERARCHY',
      'children[1].children[0].id',
    ],
    [
      'an empty unit',
      { children: [{ id: 'c1', name: 'A', kind: 'content' }, unit([])] },
      'INVALID_HIERARCHY',
      'children[1].children',
    ],
    [
      'only optional contents',
      { children: [{ id: 'c1', name: 'A', kind: 'content', optional: true }] },
      'INVALID_HIERARCHY',
      'children',
    ],
    ['an unknown property', { status: 'live' }, 'VALIDATION_FAILED', 'status'],
    [
      'an unknown property of a node',
      { children: [{ id: 'c1', name: 'A', kind: 'content', url: 'https://x' }] },
      'VALIDATION_FAILED',
      'children.0.url',
    ],
    ['a course id with a space', { courseId: 'bad id' }, 'VALIDATION_FAILED', 'courseId'],
    ['a course id with a slash', { courseId: 'a/b' }, 'VALIDATION_FAILED', 'courseId'],
    ['no name', { name: '' }, 'VALIDATION_FAILED', 'name'],
  ])('register: refuses %s with the issues and appends nothing', async (_, change, code, field) => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'POST', '/v1/courses', { ...course('course-malformed'), ...change }),
    );
    expectProblem(response, 400, code);
    expect(response.body.issues).toEqual(
      expect.arrayContaining([{ field, message: expect.any(String) }]),
    );
    expect((await hub.call(alice, 'GET', '/v1/courses/course-malformed')).status).toBe(404);
  });

  it('register: refuses a body that is not JSON', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'POST', '/v1/courses', '{"courseId":', {
        'content-type': 'application/json',
      }),
    );
    expect(response.status).toBe(400);
  });

  it('register: needs a credential', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(null, 'POST', '/v1/courses', course('course-anonymous')),
    );
    expect(response.status).toBe(401);
  });

  it('read: shows a course to anyone of its organisation', async () => {
    for (const token of [bob, learner, mentor]) {
      const response = await hub.call(token, 'GET', '/v1/courses/course-1');
      expect(response.status).toBe(200);
      expect(response.body.courseId).toBe('course-1');
    }
  });

  it('read: hides a course from another organisation', async () => {
    const response = await hub.call(eve, 'GET', '/v1/courses/course-1');
    expectProblem(response, 404, 'COURSE_NOT_FOUND');
    expect(response.body.courseId).toBe('course-1');
  });

  it('read: answers 404 for an unknown course and 400 for a malformed id', async () => {
    expectProblem(await hub.call(alice, 'GET', '/v1/courses/nope'), 404, 'COURSE_NOT_FOUND');
    expectProblem(
      await hub.call(alice, 'GET', '/v1/courses/-leading-dash'),
      400,
      'INVALID_IDENTIFIER',
    );
  });

  it('read: needs a credential', async () => {
    expect((await hub.call(null, 'GET', '/v1/courses/course-1')).status).toBe(401);
  });

  const newHierarchy = () => [
    ...sampleHierarchy(),
    { id: 'content-4', name: 'Extra reading', kind: 'content' },
  ];

  it('hierarchy: lets the creator publish a new version', async () => {
    const response = await hub.call(alice, 'PUT', '/v1/courses/course-1/hierarchy', {
      children: newHierarchy(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"1"');
    expect(response.body).toMatchObject({
      courseId: 'course-1',
      createdBy: 'alice',
      hierarchyVersion: 2,
      requiredContentCount: 4,
    });
    expect(response.body.children).toHaveLength(3);
    expect(response.body.updatedAt >= response.body.registeredAt).toBe(true);
    expect((await hub.call(bob, 'GET', '/v1/courses/course-1')).body.hierarchyVersion).toBe(2);
  });

  it('hierarchy: forbids another content creator of the organisation', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(bob, 'PUT', '/v1/courses/course-1/hierarchy', { children: sampleHierarchy() }),
    );
    expectProblem(response, 403, 'UNAUTHORIZED_USER');
  });

  it('hierarchy: hides the course from another organisation', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(eve, 'PUT', '/v1/courses/course-1/hierarchy', { children: sampleHierarchy() }),
    );
    expectProblem(response, 404, 'COURSE_NOT_FOUND');
  });

  it('hierarchy: records nothing for an identical hierarchy', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'PUT', '/v1/courses/course-1/hierarchy', { children: newHierarchy() }),
    );
    expect(response.status).toBe(200);
    expect(response.body.hierarchyVersion).toBe(2);
    expect(response.headers.get('etag')).toBe('"1"');
  });

  it('hierarchy: refuses an unsound hierarchy and keeps the current version', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'PUT', '/v1/courses/course-1/hierarchy', {
        children: [{ id: 'c1', name: 'A', kind: 'content', optional: true }],
      }),
    );
    expectProblem(response, 400, 'INVALID_HIERARCHY');
    expect((await hub.call(alice, 'GET', '/v1/courses/course-1')).body.hierarchyVersion).toBe(2);
  });

  it('hierarchy: refuses a malformed hierarchy', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'PUT', '/v1/courses/course-1/hierarchy', {
        children: [{ id: 'q1', name: 'Quiz', kind: 'assessment' }],
      }),
    );
    expectProblem(response, 400, 'VALIDATION_FAILED');
  });

  it('hierarchy: answers 404 for an unknown course', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'PUT', '/v1/courses/nope/hierarchy', { children: sampleHierarchy() }),
    );
    expectProblem(response, 404, 'COURSE_NOT_FOUND');
  });

  it('hierarchy: needs a credential', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(null, 'PUT', '/v1/courses/course-1/hierarchy', { children: sampleHierarchy() }),
    );
    expect(response.status).toBe(401);
  });
});
