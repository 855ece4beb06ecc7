import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  sampleHierarchy,
  startHub,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const expectProblem = (response: Reply, status: number, code: string) => {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
};

/** GET /v1/courses: the courses read model, its filters, paging and who sees what. */
describe('Listing courses', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a
  let bob: string; // CONTENT_CREATOR of org-a
  let learner: string; // LEARNER of org-a
  let eve: string; // CONTENT_CREATOR of org-b

  const register = async (token: string, courseId: string, name: string) => {
    const response = await hub.call(token, 'POST', '/v1/courses', {
      courseId,
      name,
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(response.status).toBe(201);
  };
  const list = (token: string, query = '') => hub.call(token, 'GET', `/v1/courses${query}`);
  const idsOf = (response: Reply): string[] =>
    (response.body.items as { courseId: string }[]).map((item) => item.courseId);

  beforeAll(async () => {
    storage = await freshStorage('course-list');
    hub = await startHub(storage.storage);
    [alice, bob, learner, eve] = await Promise.all([
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'bob', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'lea', 'org-a', ['LEARNER']),
      issueKey(hub, 'eve', 'org-b', ['CONTENT_CREATOR']),
    ]);
    await register(alice, 'a-arith', 'Foundations of Arithmetic');
    await register(alice, 'a-geo', 'Geometry for teachers');
    await register(bob, 'a-fractions', 'Fractions and ARITHMETIC drills');
    await register(bob, 'a-percent', 'Discounts: 100% off_season');
    await register(eve, 'b-arith', 'Arithmetic, the org-b way');
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('lists the caller’s organisation’s courses in course-id order, without hierarchies', async () => {
    const response = await list(learner);
    expect(response.status).toBe(200);
    expect(idsOf(response)).toEqual(['a-arith', 'a-fractions', 'a-geo', 'a-percent']);
    expect(response.body.nextCursor).toBeNull();
    expect(response.body.items[0]).toEqual({
      courseId: 'a-arith',
      name: 'Foundations of Arithmetic',
      organisationId: 'org-a',
      createdBy: 'alice',
      hierarchyVersion: 1,
      requiredContentCount: 3,
      registeredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
  });

  it('shows a course as soon as its registration answered (read-your-writes)', async () => {
    await register(alice, 'a-new', 'Brand new');
    expect(idsOf(await list(alice, '?q=brand'))).toEqual(['a-new']);
  });

  it('filters by creator and by text in the name, ignoring case', async () => {
    expect(idsOf(await list(alice, '?createdBy=bob'))).toEqual(['a-fractions', 'a-percent']);
    expect(idsOf(await list(alice, '?q=arithmetic'))).toEqual(['a-arith', 'a-fractions']);
    expect(idsOf(await list(alice, '?q=ARITH&createdBy=alice'))).toEqual(['a-arith']);
    expect(idsOf(await list(alice, '?q=nothing%20like%20it'))).toEqual([]);
  });

  it('takes % and _ in q literally', async () => {
    expect(idsOf(await list(alice, '?q=100%25'))).toEqual(['a-percent']);
    expect(idsOf(await list(alice, '?q=%25'))).toEqual(['a-percent']);
    expect(idsOf(await list(alice, '?q=f_s'))).toEqual(['a-percent']);
    expect(idsOf(await list(alice, '?q=f_'))).toEqual(['a-percent']);
  });

  it('pages with nextCursor and limit', async () => {
    const first = await list(alice, '?limit=2');
    expect(idsOf(first)).toEqual(['a-arith', 'a-fractions']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await list(alice, `?limit=2&cursor=${first.body.nextCursor}`);
    expect(idsOf(second)).toEqual(['a-geo', 'a-new']);
    const third = await list(alice, `?limit=2&cursor=${second.body.nextCursor}`);
    expect(idsOf(third)).toEqual(['a-percent']);
    expect(third.body.nextCursor).toBeNull();
  });

  it('never shows another organisation’s courses, even when asked for them', async () => {
    expect(idsOf(await list(eve))).toEqual(['b-arith']);
    expect(idsOf(await list(eve, '?organisationId=org-a'))).toEqual([]);
    expect(idsOf(await list(alice, '?q=org-b'))).toEqual([]);
  });

  it('shows a system admin every organisation’s courses, or one organisation’s', async () => {
    expect(idsOf(await list(ADMIN_TOKEN, '?q=arith'))).toEqual([
      'a-arith',
      'a-fractions',
      'b-arith',
    ]);
    expect(idsOf(await list(ADMIN_TOKEN, '?organisationId=org-b'))).toEqual(['b-arith']);
  });

  it('follows a new version of the hierarchy', async () => {
    const updated = await hub.call(alice, 'PUT', '/v1/courses/a-geo/hierarchy', {
      children: [{ id: 'only', name: 'Only', kind: 'content' }],
    });
    expect(updated.status).toBe(200);
    const [geo] = (await list(alice, '?q=geometry')).body.items;
    expect(geo).toMatchObject({ hierarchyVersion: 2, requiredContentCount: 1 });
    expect(geo.updatedAt).toBe(updated.body.updatedAt);
  });

  it.each([
    ['?limit=0', 'VALIDATION_FAILED'],
    ['?limit=201', 'VALIDATION_FAILED'],
    ['?q=', 'VALIDATION_FAILED'],
    ['?createdBy=not%20an%20id', 'VALIDATION_FAILED'],
    ['?other=1', 'VALIDATION_FAILED'],
    [`?cursor=${Buffer.from('not an id').toString('base64url')}`, 'INVALID_CURSOR'],
  ])('refuses the query %s', async (query, code) => {
    expectProblem(await list(alice, query), 400, code);
  });
});
