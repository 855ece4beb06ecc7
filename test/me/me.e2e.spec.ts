import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  recordUser,
  RunningHub,
  sampleHierarchy,
  startHub,
  utcDay,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const batchIds = (response: Reply): string[] =>
  (response.body.items as { batchId: string }[]).map((item) => item.batchId);

/** GET /v1/me and GET /v1/me/enrolments: the caller, and what is theirs. */
describe('The caller: /v1/me', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let lea: string; // LEARNER of org-a, with a profile, enrolled in two batches
  let leaKeyId: string;
  let nia: string; // LEARNER of org-a with no profile
  let otherLea: string; // LEARNER of org-b called 'lea' too
  let alice: string; // CONTENT_CREATOR of org-a

  beforeAll(async () => {
    storage = await freshStorage('me');
    hub = await startHub(storage.storage);
    const leaKey = await hub.call(ADMIN_TOKEN, 'POST', '/v1/admin/api-keys', {
      principalId: 'lea',
      organisationId: 'org-a',
      roles: ['LEARNER'],
    });
    expect(leaKey.status).toBe(201);
    lea = leaKey.body.token;
    leaKeyId = leaKey.body.keyId;
    [nia, otherLea, alice] = await Promise.all([
      issueKey(hub, 'nia', 'org-a', ['LEARNER']),
      issueKey(hub, 'lea', 'org-b', ['LEARNER']),
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
    ]);
    await recordUser(hub, 'lea', 'org-a', {
      name: 'Lea Fernandes',
      email: 'lea@school.example',
      district: 'Mysuru',
    });
    const course = await hub.call(alice, 'POST', '/v1/courses', {
      courseId: 'me-course',
      name: 'Mine',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    for (const batchId of ['me-1', 'me-2']) {
      const batch = await hub.call(alice, 'POST', '/v1/batches', {
        batchId,
        courseId: 'me-course',
        name: batchId,
        enrollmentType: 'open',
        startDate: new Date().toISOString(),
        endDate: utcDay(30),
      });
      expect(batch.status).toBe(201);
      expect((await hub.call(lea, 'POST', `/v1/batches/${batchId}/enrolments`, {})).status).toBe(
        201,
      );
    }
    expect((await hub.call(lea, 'DELETE', '/v1/batches/me-2/enrolments/lea')).status).toBe(204);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('GET /v1/me: the principal and its own profile, personal data included', async () => {
    const response = await hub.call(lea, 'GET', '/v1/me');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      userId: 'lea',
      organisationId: 'org-a',
      roles: ['LEARNER'],
      credential: { kind: 'api-key', keyId: leaKeyId },
      profile: expect.objectContaining({
        userId: 'lea',
        organisationId: 'org-a',
        name: 'Lea Fernandes',
        email: 'lea@school.example',
        district: 'Mysuru',
        personalDataErasedAt: null,
      }),
    });
    const own = await hub.call(lea, 'GET', '/v1/users/lea/profile');
    expect(response.body.profile).toEqual(own.body);
  });

  it('GET /v1/me: no profile for a principal the hub has none for', async () => {
    const response = await hub.call(nia, 'GET', '/v1/me');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ userId: 'nia', organisationId: 'org-a', profile: null });
  });

  it('GET /v1/me: never another organisation’s user who carries the same id', async () => {
    const response = await hub.call(otherLea, 'GET', '/v1/me');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ userId: 'lea', organisationId: 'org-b', profile: null });
  });

  it('GET /v1/me: the bootstrap admin token', async () => {
    const response = await hub.call(ADMIN_TOKEN, 'GET', '/v1/me');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      roles: ['SYSTEM_ADMIN'],
      credential: { kind: 'admin-token' },
      profile: null,
    });
  });

  it('GET /v1/me/enrolments: the caller’s enrolments, as /v1/users/{id}/enrolments shows them', async () => {
    const mine = await hub.call(lea, 'GET', '/v1/me/enrolments');
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual((await hub.call(lea, 'GET', '/v1/users/lea/enrolments')).body);
    expect(batchIds(mine)).toEqual(['me-1']);
    const all = await hub.call(lea, 'GET', '/v1/me/enrolments?includeInactive=true&limit=10');
    expect(batchIds(all).sort()).toEqual(['me-1', 'me-2']);
    expect((await hub.call(lea, 'GET', '/v1/me/enrolments?limit=0')).status).toBe(400);
  });

  it('GET /v1/me/enrolments: none of a same-named user’s of another organisation', async () => {
    const response = await hub.call(otherLea, 'GET', '/v1/me/enrolments');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [] });
  });

  it('needs a credential', async () => {
    expect((await hub.call(null, 'GET', '/v1/me')).status).toBe(401);
    expect((await hub.call(null, 'GET', '/v1/me/enrolments')).status).toBe(401);
  });
});
