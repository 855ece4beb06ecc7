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

const expectProblem = (response: Reply, status: number, code: string) => {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
};

/**
 * Who gets which refusal (README, API): another organisation's resources answer 404, whatever
 * the caller's roles (only SYSTEM_ADMIN crosses organisations); a principal of the same
 * organisation without the right gets 403; and no refusal says something that is not so.
 */
describe('Authorisation across organisations', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a: the course and the batch
  let mia: string; // COURSE_MENTOR of org-a, the batch's mentor
  let ada: string; // ORG_ADMIN of org-a
  let lea: string; // LEARNER of org-a, enrolled
  let leo: string; // LEARNER of org-a, enrolled
  let eve: string; // ORG_ADMIN of org-b
  let otherLea: string; // LEARNER of org-b who is called 'lea' too
  let adaKeyId: string;

  const BATCH = 'xorg-batch';
  const COURSE = 'xorg-course';

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async (act: () => Promise<Reply>): Promise<Reply> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  beforeAll(async () => {
    storage = await freshStorage('cross-organisation');
    hub = await startHub(storage.storage);
    [alice, mia, lea, leo, eve, otherLea] = await Promise.all([
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'mia', 'org-a', ['COURSE_MENTOR']),
      issueKey(hub, 'lea', 'org-a', ['LEARNER']),
      issueKey(hub, 'leo', 'org-a', ['LEARNER']),
      issueKey(hub, 'eve', 'org-b', ['ORG_ADMIN']),
      issueKey(hub, 'lea', 'org-b', ['LEARNER']),
    ]);
    const adaKey = await hub.call(ADMIN_TOKEN, 'POST', '/v1/admin/api-keys', {
      principalId: 'ada',
      organisationId: 'org-a',
      roles: ['ORG_ADMIN'],
    });
    expect(adaKey.status).toBe(201);
    ada = adaKey.body.token;
    adaKeyId = adaKey.body.keyId;
    for (const userId of ['alice', 'mia', 'lea', 'leo'])
      await recordUser(hub, userId, 'org-a', { name: `User ${userId}` });
    await recordUser(hub, 'max', 'org-b', { name: 'Max' });
    const course = await hub.call(alice, 'POST', '/v1/courses', {
      courseId: COURSE,
      name: 'Cross-organisation course',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    const batch = await hub.call(alice, 'POST', '/v1/batches', {
      batchId: BATCH,
      courseId: COURSE,
      name: 'Cohort',
      enrollmentType: 'open',
      startDate: new Date().toISOString(),
      endDate: utcDay(30),
      mentors: ['mia'],
    });
    expect(batch.status).toBe(201);
    for (const token of [lea, leo])
      expect((await hub.call(token, 'POST', `/v1/batches/${BATCH}/enrolments`, {})).status).toBe(
        201,
      );
    const program = await hub.call(ada, 'POST', '/v1/programs', {
      programId: 'XORG-A',
      name: 'Org A feed',
    });
    expect(program.status).toBe(201);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('another organisation’s admin gets 404 for every resource of org-a, and nothing is written', () => {
    it.each<[string, string, string, unknown, number, string]>([
      ['GET', '/v1/users/lea/profile', '', undefined, 404, 'USER_NOT_FOUND'],
      ['PUT', '/v1/users/lea/profile', 'of a known user', { name: 'Taken' }, 404, 'USER_NOT_FOUND'],
      [
        'PUT',
        '/v1/users/lea/profile',
        'naming its own organisation',
        { organisationId: 'org-b', name: 'Taken' },
        404,
        'USER_NOT_FOUND',
      ],
      ['DELETE', '/v1/users/lea/personal-data', '', undefined, 404, 'USER_NOT_FOUND'],
      ['GET', '/v1/users/lea/enrolments', '', undefined, 404, 'USER_NOT_FOUND'],
      ['GET', `/v1/courses/${COURSE}`, '', undefined, 404, 'COURSE_NOT_FOUND'],
      [
        'PUT',
        `/v1/courses/${COURSE}/hierarchy`,
        '',
        { children: sampleHierarchy() },
        404,
        'COURSE_NOT_FOUND',
      ],
      ['GET', `/v1/batches/${BATCH}`, '', undefined, 404, 'BATCH_NOT_FOUND'],
      ['PATCH', `/v1/batches/${BATCH}`, '', { name: 'Taken' }, 404, 'BATCH_NOT_FOUND'],
      ['GET', `/v1/batches/${BATCH}/history`, '', undefined, 404, 'BATCH_NOT_FOUND'],
      ['GET', `/v1/batches/${BATCH}/participants`, '', undefined, 404, 'BATCH_NOT_FOUND'],
      ['GET', `/v1/batches/${BATCH}/progress/lea`, '', undefined, 404, 'BATCH_NOT_FOUND'],
      ['POST', `/v1/batches/${BATCH}/enrolments`, '', { userId: 'lea' }, 404, 'BATCH_NOT_FOUND'],
      ['DELETE', `/v1/batches/${BATCH}/enrolments/lea`, '', undefined, 404, 'BATCH_NOT_FOUND'],
      ['GET', '/v1/programs/XORG-A', '', undefined, 404, 'PROGRAM_NOT_FOUND'],
      ['PATCH', '/v1/programs/XORG-A', '', { name: 'Taken' }, 404, 'PROGRAM_NOT_FOUND'],
    ])('%s %s %s', async (method, path, _, body, status, code) => {
      const response = await expectNothingAppended(() => hub.call(eve, method, path, body));
      expectProblem(response, status, code);
    });

    it('DELETE /v1/admin/api-keys/{id} of org-a’s key', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(eve, 'DELETE', `/v1/admin/api-keys/${adaKeyId}`),
      );
      expectProblem(response, 404, 'API_KEY_NOT_FOUND');
    });

    it('answers for another organisation’s user exactly as for a user the hub never heard of', async () => {
      const foreign = await hub.call(eve, 'GET', '/v1/users/lea/enrolments');
      const unknown = await hub.call(eve, 'GET', '/v1/users/nobody/enrolments');
      expectProblem(foreign, 404, 'USER_NOT_FOUND');
      expectProblem(unknown, 404, 'USER_NOT_FOUND');
      expect(foreign.body.detail).toBe('No user lea');
      expect(unknown.body.detail).toBe('No user nobody');
    });
  });

  describe('a same-named principal of another organisation is someone else', () => {
    it('gets 404 for the enrolments of the org-a user who carries its id', async () => {
      expectProblem(
        await hub.call(otherLea, 'GET', '/v1/users/lea/enrolments'),
        404,
        'USER_NOT_FOUND',
      );
    });
  });

  describe('a principal of the same organisation without the right gets 403', () => {
    it('another learner listing a learner’s enrolments', async () => {
      expectProblem(
        await hub.call(leo, 'GET', '/v1/users/lea/enrolments'),
        403,
        'UNAUTHORIZED_USER',
      );
    });

    it('an admin listing the enrolments of a user the hub does not know: 404', async () => {
      expectProblem(
        await hub.call(ada, 'GET', '/v1/users/nobody/enrolments'),
        404,
        'USER_NOT_FOUND',
      );
    });

    it('another learner reading a learner’s progress: 403, not a false "no enrolment"', async () => {
      const response = await hub.call(leo, 'GET', `/v1/batches/${BATCH}/progress/lea`);
      expectProblem(response, 403, 'UNAUTHORIZED_USER');
      expect(response.body.detail).not.toMatch(/no enrolment/i);
      expect(response.body.detail).toMatch(/progress/);
    });

    it('the same answer whether or not the other learner is enrolled', async () => {
      const enrolled = await hub.call(leo, 'GET', `/v1/batches/${BATCH}/progress/lea`);
      const notEnrolled = await hub.call(leo, 'GET', `/v1/batches/${BATCH}/progress/alice`);
      expectProblem(notEnrolled, 403, 'UNAUTHORIZED_USER');
      expect(notEnrolled.body.detail).toBe(enrolled.body.detail);
    });

    it('a mentor reading a user with no enrolment is told just that, truly', async () => {
      const response = await hub.call(mia, 'GET', `/v1/batches/${BATCH}/progress/alice`);
      expectProblem(response, 404, 'ENROLMENT_NOT_FOUND');
      expect(response.body.detail).toBe(`User alice has no enrolment in batch ${BATCH}`);
      expect((await hub.call(mia, 'GET', `/v1/batches/${BATCH}/progress/lea`)).status).toBe(200);
      expect((await hub.call(lea, 'GET', `/v1/batches/${BATCH}/progress/lea`)).status).toBe(200);
    });

    it('a learner recording a profile', async () => {
      expectProblem(
        await expectNothingAppended(() =>
          hub.call(leo, 'PUT', '/v1/users/lea/profile', { name: 'Renamed' }),
        ),
        403,
        'UNAUTHORIZED_USER',
      );
    });
  });

  describe('naming another organisation’s user in a write', () => {
    it('is 404 USER_NOT_FOUND to the batch’s creator, as for an unknown user', async () => {
      const foreign = await expectNothingAppended(() =>
        hub.call(alice, 'POST', `/v1/batches/${BATCH}/enrolments`, { userId: 'max' }),
      );
      expectProblem(foreign, 404, 'USER_NOT_FOUND');
      const unknown = await expectNothingAppended(() =>
        hub.call(alice, 'POST', `/v1/batches/${BATCH}/enrolments`, { userId: 'ghost' }),
      );
      expectProblem(unknown, 404, 'USER_NOT_FOUND');
    });

    it('is 422 to a system admin, who sees every organisation', async () => {
      expectProblem(
        await expectNothingAppended(() =>
          hub.call(ADMIN_TOKEN, 'POST', `/v1/batches/${BATCH}/enrolments`, { userId: 'max' }),
        ),
        422,
        'USER_NOT_IN_BATCH_ORGANISATION',
      );
    });
  });
});
