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

type Reply = { status: number; headers: Headers; body: any };

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const midnight = (day: string) => `${day}T00:00:00.000Z`;

/** Batches through the HTTP API: creation rules, roles, updates, listing, counts and history. */
describe('Batches API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a, creator of the courses
  let mia: string; // COURSE_MENTOR of org-a, a recorded user
  let bob: string; // CONTENT_CREATOR of org-a who owns no course
  let ada: string; // ORG_ADMIN of org-a
  let lea: string; // LEARNER of org-a
  let eve: string; // ORG_ADMIN of org-b
  // 'max' is a recorded user of org-b; 'ghost' is no user at all.

  beforeAll(async () => {
    storage = await freshStorage('batches-e2e');
    hub = await startHub(storage.storage);
    alice = await issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']);
    mia = await issueKey(hub, 'mia', 'org-a', ['COURSE_MENTOR']);
    bob = await issueKey(hub, 'bob', 'org-a', ['CONTENT_CREATOR']);
    ada = await issueKey(hub, 'ada', 'org-a', ['ORG_ADMIN']);
    lea = await issueKey(hub, 'lea', 'org-a', ['LEARNER']);
    eve = await issueKey(hub, 'eve', 'org-b', ['ORG_ADMIN']);
    await recordUser(hub, 'mia', 'org-a');
    await recordUser(hub, 'lea', 'org-a');
    await recordUser(hub, 'max', 'org-b');
    for (const [token, courseId] of [
      [alice, 'course-a'],
      [alice, 'course-list'],
      [eve, 'course-b'],
    ] as const) {
      const response = await hub.call(token, 'POST', '/v1/courses', {
        courseId,
        name: `Course ${courseId}`,
        trackable: { enabled: true },
        children: sampleHierarchy(),
      });
      if (response.status !== 201)
        throw new Error(`registering ${courseId} failed: ${JSON.stringify(response.body)}`);
    }
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  /** A valid request for an upcoming open batch of course-a; `extra` overrides fields. */
  const batch = (extra: Record<string, unknown> = {}) => ({
    courseId: 'course-a',
    name: 'December cohort',
    enrollmentType: 'open',
    startDate: utcDay(7),
    endDate: utcDay(30),
    ...extra,
  });

  const create = async (token: string, extra: Record<string, unknown> = {}) => {
    const response = await hub.call(token, 'POST', '/v1/batches', batch(extra));
    if (response.status !== 201)
      throw new Error(`creating a batch failed: ${JSON.stringify(response.body)}`);
    return response.body;
  };

  const patch = (token: string | null, batchId: string, body: unknown, ifMatch?: string) =>
    hub.call(
      token,
      'PATCH',
      `/v1/batches/${batchId}`,
      body,
      ifMatch === undefined ? {} : { 'if-match': ifMatch },
    );

  const history = async (batchId: string, token = alice) => {
    const response = await hub.call(token, 'GET', `/v1/batches/${batchId}/history`);
    expect(response.status).toBe(200);
    return response.body as {
      revision: string;
      type: string;
      actor: string;
      actorOrganisationId: string | null;
      requestId: string | null;
      recordedAt: string;
      data: any;
    }[];
  };

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async (act: () => Promise<Reply>): Promise<Reply> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  const expectProblem = (response: Reply, status: number, code: string) => {
    expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  };

  const ids = (response: Reply): string[] =>
    (response.body.items as { batchId: string }[]).map((item) => item.batchId);

  // ---- creating ----------------------------------------------------------------------------

  it('creates an upcoming batch with the defaults', async () => {
    const response = await hub.call(alice, 'POST', '/v1/batches', batch());
    expect(response.status).toBe(201);
    const body = response.body;
    expect(body.batchId).toMatch(ULID);
    expect(response.headers.get('location')).toBe(`/v1/batches/${body.batchId}`);
    expect(response.headers.get('etag')).toBe(`"${body.revision}"`);
    expect(body).toEqual({
      batchId: body.batchId,
      courseId: 'course-a',
      organisationId: 'org-a',
      name: 'December cohort',
      description: null,
      enrollmentType: 'open',
      startDate: utcDay(7),
      endDate: utcDay(30),
      enrollmentEndDate: utcDay(29),
      startsAt: midnight(utcDay(7)),
      endsAt: midnight(utcDay(31)),
      enrollmentEndsAt: midnight(utcDay(30)),
      status: 0,
      statusChangedAt: null,
      createdBy: 'alice',
      createdFor: ['org-a'],
      mentors: [],
      invitees: [],
      lmsResourceLink: null,
      // The default score rule, for a course with assessments only.
      certificateCriteria: {
        minCompletionPercent: 100,
        minScorePercent: 70,
        scoreRuleDefaulted: true,
      },
      createdAt: expect.stringMatching(ISO_INSTANT),
      updatedAt: body.createdAt,
      revision: '0',
    });

    const read = await hub.call(lea, 'GET', `/v1/batches/${body.batchId}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('"0"');
    expect(read.body).toEqual(body);
  });

  it('starts a batch whose start date is today at once', async () => {
    const response = await hub.call(alice, 'POST', '/v1/batches', batch({ startDate: utcDay(0) }));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      status: 1,
      startsAt: midnight(utcDay(0)),
      statusChangedAt: midnight(utcDay(0)),
      revision: '1',
    });
    expect(response.headers.get('etag')).toBe('"1"');
    const types = (await history(response.body.batchId)).map((entry) => entry.type);
    expect(types).toEqual(['BatchCreated', 'BatchStarted']);
  });

  it('keeps a client-chosen batch id and refuses it a second time', async () => {
    const head = await hub.store.headPosition();
    const response = await hub.call(alice, 'POST', '/v1/batches', batch({ batchId: 'cohort-1' }));
    expect(response.status).toBe(201);
    // The log's head moves with an append, so comparing it shows when nothing was appended.
    expect(head).not.toBeNull();
    expect(await hub.store.headPosition()).not.toEqual(head);
    expect(response.headers.get('location')).toBe('/v1/batches/cohort-1');
    expect(response.body.batchId).toBe('cohort-1');

    const again = await expectNothingAppended(() =>
      hub.call(alice, 'POST', '/v1/batches', batch({ batchId: 'cohort-1', name: 'Other' })),
    );
    expectProblem(again, 409, 'BATCH_ALREADY_EXISTS');
    expect(again.body.batchId).toBe('cohort-1');
    expect((await hub.call(alice, 'GET', '/v1/batches/cohort-1')).body.name).toBe(
      'December cohort',
    );
  });

  it('records the given dates, criteria, mentors and invitees', async () => {
    const body = await create(alice, {
      batchId: 'cohort-invite',
      enrollmentType: 'invite-only',
      description: 'For the pilot schools',
      startDate: `${utcDay(3)}T09:30:00+05:30`,
      endDate: utcDay(20),
      enrollmentEndDate: utcDay(10),
      mentors: ['mia', 'mia'],
      invitees: ['lea', 'someone-else'],
      certificateCriteria: { minScorePercent: null },
    });
    expect(body).toMatchObject({
      enrollmentType: 'invite-only',
      description: 'For the pilot schools',
      startDate: `${utcDay(3)}T09:30:00+05:30`,
      startsAt: `${utcDay(3)}T04:00:00.000Z`,
      endDate: utcDay(20),
      enrollmentEndDate: utcDay(10),
      enrollmentEndsAt: midnight(utcDay(11)),
      mentors: ['mia'],
      invitees: ['lea', 'someone-else'],
      certificateCriteria: {
        minCompletionPercent: 100,
        minScorePercent: null,
        scoreRuleDefaulted: false,
      },
    });
  });

  it('leaves the end and the enrolment end open when no end date is given', async () => {
    const body = await create(alice, { endDate: undefined });
    expect(body).toMatchObject({
      endDate: null,
      endsAt: null,
      enrollmentEndDate: null,
      enrollmentEndsAt: null,
      status: 0,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a start date in the past', { startDate: utcDay(-1) }, 'COURSE_BATCH_START_DATE_INVALID'],
    ['an end date before the start', { endDate: utcDay(5) }, 'END_DATE_ERROR'],
    // A date-only end is exclusive at the next midnight: the day before the start ends at it.
    ['an end date equal to the start', { endDate: utcDay(6) }, 'END_DATE_ERROR'],
    [
      'an end instant equal to the start instant',
      { startDate: midnight(utcDay(7)), endDate: midnight(utcDay(7)) },
      'END_DATE_ERROR',
    ],
    [
      'an enrolment end before the start',
      { enrollmentEndDate: utcDay(5) },
      'ENROLLMENT_END_DATE_START_ERROR',
    ],
    [
      'an enrolment end after the end',
      { enrollmentEndDate: utcDay(31) },
      'ENROLLMENT_END_DATE_END_ERROR',
    ],
    ['an unknown course', { courseId: 'no-such-course' }, 'INVALID_COURSE_ID'],
    ['a course of another organisation', { courseId: 'course-b' }, 'INVALID_COURSE_ID'],
    ['a start date with slashes', { startDate: '2026/12/01' }, 'DATE_FORMAT_ERROR'],
    ['a start date that does not exist', { startDate: '2026-02-30' }, 'DATE_FORMAT_ERROR'],
    ['a start instant without an offset', { startDate: '2026-12-01T10:00' }, 'DATE_FORMAT_ERROR'],
    ['an end date in words', { endDate: 'next month' }, 'DATE_FORMAT_ERROR'],
    ['a thirteenth month', { enrollmentEndDate: '2026-13-01' }, 'DATE_FORMAT_ERROR'],
    ['an unknown mentor', { mentors: ['mia', 'ghost'] }, 'INVALID_USER_ID'],
    ['a mentor of another organisation', { mentors: ['max'] }, 'USER_NOT_ASSOCIATED_TO_ROOT_ORG'],
    ['invitees on an open batch', { invitees: ['lea'] }, 'INVALID_PARAMETER_VALUE'],
    ['an unknown property', { status: 1 }, 'VALIDATION_FAILED'],
    ['no name', { name: '' }, 'VALIDATION_FAILED'],
    ['an unknown enrolment type', { enrollmentType: 'closed' }, 'VALIDATION_FAILED'],
    ['a malformed batch id', { batchId: 'has space' }, 'VALIDATION_FAILED'],
    [
      'a completion criterion over 100',
      { certificateCriteria: { minCompletionPercent: 101 } },
      'VALIDATION_FAILED',
    ],
  ])('refuses %s with 400 and appends nothing', async (_, extra, code) => {
    const response = await expectNothingAppended(() =>
      hub.call(alice, 'POST', '/v1/batches', batch({ batchId: 'refused', ...extra })),
    );
    expectProblem(response, 400, code);
    expect(response.body.issues).toEqual(
      expect.arrayContaining([{ field: expect.any(String), message: expect.any(String) }]),
    );
    expect((await hub.call(alice, 'GET', '/v1/batches/refused')).status).toBe(404);
  });

  it.each([
    ['bob, a content creator not owning the course', () => bob],
    ['mia, a mentor', () => mia],
    ['lea, a learner', () => lea],
  ])('forbids %s to create a batch', async (_, token) => {
    const response = await expectNothingAppended(() =>
      hub.call(token(), 'POST', '/v1/batches', batch({ batchId: 'forbidden' })),
    );
    expectProblem(response, 403, 'UNAUTHORIZED_USER');
  });

  it('hides a course from an admin of another organisation', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(eve, 'POST', '/v1/batches', batch({ batchId: 'foreign' })),
    );
    expectProblem(response, 400, 'INVALID_COURSE_ID');
  });

  it('lets an admin of the organisation and a system admin create batches', async () => {
    const byAdmin = await hub.call(ada, 'POST', '/v1/batches', batch({ mentors: ['mia'] }));
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body).toMatchObject({ createdBy: 'ada', organisationId: 'org-a' });
    const bySystem = await hub.call(ADMIN_TOKEN, 'POST', '/v1/batches', batch());
    expect(bySystem.status).toBe(201);
    expect(bySystem.body).toMatchObject({ createdBy: 'hub-admin', organisationId: 'org-a' });
  });

  it('needs a credential to create', async () => {
    const response = await expectNothingAppended(() =>
      hub.call(null, 'POST', '/v1/batches', batch()),
    );
    expect(response.status).toBe(401);
  });

  // ---- reading -----------------------------------------------------------------------------

  it('hides a batch from another organisation and answers 404 for unknown ones', async () => {
    expectProblem(await hub.call(eve, 'GET', '/v1/batches/cohort-1'), 404, 'BATCH_NOT_FOUND');
    expectProblem(await hub.call(alice, 'GET', '/v1/batches/nope'), 404, 'BATCH_NOT_FOUND');
    expectProblem(await hub.call(alice, 'GET', '/v1/batches/-x'), 400, 'INVALID_IDENTIFIER');
    expect((await hub.call(null, 'GET', '/v1/batches/cohort-1')).status).toBe(401);
  });

  // ---- updating ----------------------------------------------------------------------------

  it('lets the creator and a mentor of the batch update it, with new ETags', async () => {
    await create(alice, { batchId: 'upd-1', mentors: ['mia'], startDate: utcDay(10) });

    const byCreator = await patch(alice, 'upd-1', { name: 'Renamed' });
    expect(byCreator.status).toBe(200);
    expect(byCreator.body).toMatchObject({ name: 'Renamed', revision: '1', status: 0 });
    expect(byCreator.headers.get('etag')).toBe('"1"');

    const byMentor = await patch(mia, 'upd-1', { description: 'Run by Mia' });
    expect(byMentor.status).toBe(200);
    expect(byMentor.body).toMatchObject({ description: 'Run by Mia', revision: '2' });
    expect(byMentor.headers.get('etag')).toBe('"2"');
    expect(byMentor.body.updatedAt >= byMentor.body.createdAt).toBe(true);

    const byAdmin = await patch(ada, 'upd-1', { certificateCriteria: { minScorePercent: 50 } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.certificateCriteria).toEqual({
      minCompletionPercent: 100,
      minScorePercent: 50,
      scoreRuleDefaulted: false,
    });
  });

  it('forbids others of the organisation and hides the batch from other organisations', async () => {
    for (const token of [bob, lea]) {
      const response = await expectNothingAppended(() => patch(token, 'upd-1', { name: 'Mine' }));
      expectProblem(response, 403, 'UNAUTHORIZED_USER');
    }
    const foreign = await expectNothingAppended(() => patch(eve, 'upd-1', { name: 'Mine' }));
    expectProblem(foreign, 404, 'BATCH_NOT_FOUND');
    const anonymous = await expectNothingAppended(() => patch(null, 'upd-1', { name: 'Mine' }));
    expect(anonymous.status).toBe(401);
  });

  it('reveals nothing about another organisation’s batch through If-Match', async () => {
    const foreign = await expectNothingAppended(() => patch(eve, 'upd-1', { name: 'Mine' }, '"0"'));
    expectProblem(foreign, 404, 'BATCH_NOT_FOUND');
    expect(foreign.body).not.toHaveProperty('currentRevision');
    const unknown = await expectNothingAppended(() => patch(alice, 'nope', { name: 'X' }, '"0"'));
    expectProblem(unknown, 404, 'BATCH_NOT_FOUND');
  });

  it('honours If-Match', async () => {
    const current = await hub.call(alice, 'GET', '/v1/batches/upd-1');
    const etag = current.headers.get('etag') ?? '';
    expect(etag).toBe(`"${current.body.revision}"`);

    const fresh = await patch(alice, 'upd-1', { name: 'With If-Match' }, etag);
    expect(fresh.status).toBe(200);
    const next = fresh.headers.get('etag');
    expect(next).toBe(`"${BigInt(current.body.revision) + 1n}"`);

    const stale = await expectNothingAppended(() => patch(alice, 'upd-1', { name: 'Stale' }, etag));
    expectProblem(stale, 412, 'STALE_REVISION');
    expect(stale.body).toMatchObject({
      expectedRevision: current.body.revision,
      currentRevision: fresh.body.revision,
    });

    const malformed = await expectNothingAppended(() =>
      patch(alice, 'upd-1', { name: 'Malformed' }, 'not-a-revision'),
    );
    expectProblem(malformed, 400, 'INVALID_IF_MATCH');

    const weak = await patch(alice, 'upd-1', { name: 'Weak' }, `W/${next}`);
    expect(weak.status).toBe(200);
    const any = await patch(alice, 'upd-1', { name: 'Any' }, '*');
    expect(any.status).toBe(200);
    expect((await hub.call(alice, 'GET', '/v1/batches/upd-1')).body.name).toBe('Any');
  });

  it('records nothing for a patch that changes nothing', async () => {
    const before = await hub.call(alice, 'GET', '/v1/batches/upd-1');
    const response = await expectNothingAppended(() =>
      patch(alice, 'upd-1', { name: before.body.name, endDate: before.body.endDate }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(before.headers.get('etag'));
  });

  it.each<[string, Record<string, unknown>, number, string]>([
    ['an unknown property such as status', { status: 2 }, 400, 'VALIDATION_FAILED'],
    ['an empty name', { name: '' }, 400, 'VALIDATION_FAILED'],
    ['a malformed date', { endDate: '2026-02-30' }, 400, 'DATE_FORMAT_ERROR'],
    ['an end date in the past', { endDate: utcDay(-1) }, 400, 'INVALID_BATCH_END_DATE_ERROR'],
    ['a start date in the past', { startDate: utcDay(-1) }, 400, 'INVALID_BATCH_START_DATE_ERROR'],
    ['an end before the start', { endDate: utcDay(8) }, 400, 'END_DATE_ERROR'],
    [
      'a mentor of another organisation',
      { mentors: ['max'] },
      400,
      'USER_NOT_ASSOCIATED_TO_ROOT_ORG',
    ],
    ['an unknown mentor', { mentors: ['ghost'] }, 400, 'INVALID_USER_ID'],
    ['invitees on an open batch', { invitees: ['lea'] }, 400, 'INVALID_PARAMETER_VALUE'],
  ])('refuses an update with %s and appends nothing', async (_, body, status, code) => {
    const response = await expectNothingAppended(() => patch(alice, 'upd-1', body));
    expectProblem(response, status, code);
  });

  it('answers 404 when updating an unknown batch', async () => {
    const response = await expectNothingAppended(() => patch(alice, 'nope', { name: 'X' }));
    expectProblem(response, 404, 'BATCH_NOT_FOUND');
  });

  it('moves the start of an upcoming batch', async () => {
    const response = await patch(alice, 'upd-1', { startDate: utcDay(9) });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ startDate: utcDay(9), startsAt: midnight(utcDay(9)) });
  });

  it('records an extension of the end date as BatchEndDateExtended', async () => {
    const response = await patch(alice, 'upd-1', { endDate: utcDay(45) });
    expect(response.status).toBe(200);
    // The defaulted enrolment end follows the end date.
    expect(response.body).toMatchObject({
      endDate: utcDay(45),
      endsAt: midnight(utcDay(46)),
      enrollmentEndDate: utcDay(44),
    });
    const entries = await history('upd-1');
    const extended = entries.filter((entry) => entry.type === 'BatchEndDateExtended');
    expect(extended).toHaveLength(1);
    expect(extended[0]).toMatchObject({
      actor: 'alice',
      data: {
        batchId: 'upd-1',
        from: { given: utcDay(30), at: midnight(utcDay(31)) },
        to: { given: utcDay(45), at: midnight(utcDay(46)) },
        extendedBy: 'alice',
      },
    });
    const last = entries.at(-2);
    expect(last?.type).toBe('BatchUpdated');
    expect(last?.data.changes).toEqual({
      enrollmentEnd: {
        from: { given: utcDay(29), at: midnight(utcDay(30)) },
        to: { given: utcDay(44), at: midnight(utcDay(45)) },
      },
    });
  });

  it('refuses to change the start or set a past enrolment end of a batch in progress', async () => {
    await create(alice, { batchId: 'live-1', startDate: utcDay(0), endDate: utcDay(20) });

    const start = await expectNothingAppended(() =>
      patch(alice, 'live-1', { startDate: utcDay(1) }),
    );
    expectProblem(start, 400, 'INVALID_BATCH_START_DATE_ERROR');

    const enrollment = await expectNothingAppended(() =>
      patch(alice, 'live-1', { enrollmentEndDate: new Date(Date.now() - 60_000).toISOString() }),
    );
    expectProblem(enrollment, 400, 'ENROLLMENT_END_DATE_UPDATE_ERROR');

    const pastEnd = await expectNothingAppended(() =>
      patch(alice, 'live-1', { endDate: new Date(Date.now() - 60_000).toISOString() }),
    );
    expectProblem(pastEnd, 400, 'INVALID_BATCH_END_DATE_ERROR');

    // Restating the same start is no change, and a batch still running may be shortened.
    const shortened = await patch(alice, 'live-1', { startDate: utcDay(0), endDate: utcDay(15) });
    expect(shortened.status).toBe(200);
    expect(shortened.body).toMatchObject({
      status: 1,
      endDate: utcDay(15),
      enrollmentEndDate: utcDay(14),
    });
    const enrolment = await patch(alice, 'live-1', { enrollmentEndDate: utcDay(10) });
    expect(enrolment.status).toBe(200);
    expect(enrolment.body.enrollmentEndDate).toBe(utcDay(10));
  });

  it('lets a closed batch be extended but not shortened', async () => {
    const startDate = new Date(Date.now() + 1_000).toISOString();
    const endDate = new Date(Date.now() + 3_000).toISOString();
    const created = await create(alice, { batchId: 'closing', startDate, endDate });
    expect(created).toMatchObject({ status: 0, startsAt: startDate, endsAt: endDate });
    // Shorter than a day: enrolment stays open until the end rather than closing before the start.
    expect(created.enrollmentEndsAt).toBe(endDate);

    let ended: Reply | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const read = await hub.call(alice, 'GET', '/v1/batches/closing');
      if (read.body.status === 2) {
        ended = read;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ended?.body).toMatchObject({ status: 2, statusChangedAt: endDate });

    const shorter = await expectNothingAppended(() =>
      patch(alice, 'closing', { endDate: new Date(Date.parse(endDate) - 1_000).toISOString() }),
    );
    expectProblem(shorter, 400, 'COURSE_BATCH_END_DATE_ERROR');
    // An extension that still ends in the past is refused too.
    while (Date.now() <= Date.parse(endDate) + 600)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const stillPast = await expectNothingAppended(() =>
      patch(alice, 'closing', { endDate: new Date(Date.parse(endDate) + 500).toISOString() }),
    );
    expectProblem(stillPast, 400, 'INVALID_BATCH_END_DATE_ERROR');

    const extended = await patch(alice, 'closing', { endDate: utcDay(5) });
    expect(extended.status).toBe(200);
    expect(extended.body).toMatchObject({
      status: 1,
      endDate: utcDay(5),
      endsAt: midnight(utcDay(6)),
      enrollmentEndDate: utcDay(4),
    });
    const entries = await history('closing');
    expect(entries.map((entry) => entry.type)).toEqual([
      'BatchCreated',
      'BatchStarted',
      'BatchEnded',
      'BatchUpdated',
      'BatchEndDateExtended',
      'BatchReopened',
    ]);
    expect(entries[1]).toMatchObject({ actor: 'system:hub', data: { effectiveAt: startDate } });
    expect(entries[2]).toMatchObject({ actor: 'system:hub', data: { effectiveAt: endDate } });
    expect(entries[5]?.actor).toBe('alice');
  });

  // ---- history -----------------------------------------------------------------------------

  it('shows the history with actors, times and the changes', async () => {
    const entries = await history('upd-1', mia);
    expect(entries[0]).toEqual({
      revision: '0',
      type: 'BatchCreated',
      actor: 'alice',
      actorOrganisationId: 'org-a',
      requestId: expect.any(String),
      recordedAt: expect.stringMatching(ISO_INSTANT),
      data: expect.objectContaining({ batchId: 'upd-1', courseId: 'course-a', createdBy: 'alice' }),
    });
    expect(entries[1]).toMatchObject({
      revision: '1',
      type: 'BatchUpdated',
      actor: 'alice',
      data: {
        changes: { name: { from: 'December cohort', to: 'Renamed' } },
        updatedBy: 'alice',
      },
    });
    expect(entries[2]).toMatchObject({
      revision: '2',
      type: 'BatchUpdated',
      actor: 'mia',
      data: { changes: { description: { from: null, to: 'Run by Mia' } }, updatedBy: 'mia' },
    });
    expect(entries[3]).toMatchObject({
      actor: 'ada',
      data: {
        changes: {
          certificateCriteria: {
            from: { minCompletionPercent: 100, minScorePercent: 70, scoreRuleDefaulted: true },
            to: { minCompletionPercent: 100, minScorePercent: 50, scoreRuleDefaulted: false },
          },
        },
      },
    });
    const starts = entries.find((entry) => entry.data.changes?.start);
    expect(starts?.data.changes.start).toEqual({
      from: { given: utcDay(10), at: midnight(utcDay(10)) },
      to: { given: utcDay(9), at: midnight(utcDay(9)) },
    });
    for (const [index, entry] of entries.entries()) {
      expect(entry.revision).toBe(String(index));
      expect(entry.recordedAt).toMatch(ISO_INSTANT);
    }
  });

  it('hides the history from other organisations', async () => {
    const foreign = await hub.call(eve, 'GET', '/v1/batches/upd-1/history');
    expectProblem(foreign, 404, 'BATCH_NOT_FOUND');
    const unknown = await hub.call(alice, 'GET', '/v1/batches/nope/history');
    expectProblem(unknown, 404, 'BATCH_NOT_FOUND');
    expect((await hub.call(null, 'GET', '/v1/batches/upd-1/history')).status).toBe(401);
  });

  // ---- listing and counting ----------------------------------------------------------------

  it('lists batches with filters and cursor pagination', async () => {
    const list = { courseId: 'course-list' };
    await create(alice, { ...list, batchId: 'list-1', mentors: ['mia'] });
    await create(alice, {
      ...list,
      batchId: 'list-2',
      enrollmentType: 'invite-only',
      invitees: ['lea'],
    });
    await create(alice, { ...list, batchId: 'list-3', startDate: utcDay(0) });
    await create(ada, { ...list, batchId: 'list-4', mentors: ['mia'] });
    await create(alice, {
      ...list,
      batchId: 'list-5',
      enrollmentType: 'invite-only',
      startDate: utcDay(0),
    });
    const all = ['list-1', 'list-2', 'list-3', 'list-4', 'list-5'];

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `courseId=course-list&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await hub.call(lea, 'GET', `/v1/batches?${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(all);
    expect(pages).toBe(3);

    const exact = await hub.call(alice, 'GET', '/v1/batches?courseId=course-list&limit=5');
    expect(ids(exact)).toEqual(all);
    expect(exact.body.nextCursor).toBeNull();

    const filtered = async (query: string, token = alice) => {
      const response = await hub.call(token, 'GET', `/v1/batches?courseId=course-list&${query}`);
      expect(response.status).toBe(200);
      return ids(response);
    };
    expect(await filtered('status=0')).toEqual(['list-1', 'list-2', 'list-4']);
    expect(await filtered('status=1')).toEqual(['list-3', 'list-5']);
    expect(await filtered('status=2')).toEqual([]);
    expect(await filtered('createdBy=ada')).toEqual(['list-4']);
    expect(await filtered('mentor=mia')).toEqual(['list-1', 'list-4']);
    expect(await filtered('enrollmentType=invite-only')).toEqual(['list-2', 'list-5']);
    expect(await filtered('enrollmentType=open&status=0')).toEqual(['list-1', 'list-4']);
    expect(await filtered('organisationId=org-a')).toEqual(all);
    expect(await filtered('organisationId=org-b')).toEqual([]);
    expect(await filtered('', ADMIN_TOKEN)).toEqual(all);

    const page = await hub.call(alice, 'GET', '/v1/batches?courseId=course-list&limit=1');
    expect(page.body.items[0]).toMatchObject({ batchId: 'list-1', mentors: ['mia'] });
  });

  it('shows another organisation none of these batches', async () => {
    const response = await hub.call(eve, 'GET', '/v1/batches?limit=200');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [], nextCursor: null });
    expect(ids(await hub.call(eve, 'GET', '/v1/batches?courseId=course-list'))).toEqual([]);
  });

  it.each([
    ['status=7', 'VALIDATION_FAILED'],
    ['status=abc', 'VALIDATION_FAILED'],
    ['limit=0', 'VALIDATION_FAILED'],
    ['limit=201', 'VALIDATION_FAILED'],
    ['enrollmentType=closed', 'VALIDATION_FAILED'],
    ['courseId=a%20b', 'VALIDATION_FAILED'],
    ['unknown=1', 'VALIDATION_FAILED'],
    [`cursor=${Buffer.from('not an id').toString('base64url')}`, 'INVALID_CURSOR'],
    ['cursor=!!!', 'INVALID_CURSOR'],
  ])('refuses the list query %s', async (query, code) => {
    expectProblem(await hub.call(alice, 'GET', `/v1/batches?${query}`), 400, code);
  });

  it('counts batches per status for a course, as the course shows', async () => {
    const counts = await hub.call(alice, 'GET', '/v1/batches/status-counts?courseId=course-list');
    expect(counts.status).toBe(200);
    expect(counts.body).toEqual([
      { courseId: 'course-list', upcoming: 3, inProgress: 2, ended: 0 },
    ]);
    const course = await hub.call(alice, 'GET', '/v1/courses/course-list');
    expect(course.body.batchCounts).toEqual({ upcoming: 3, inProgress: 2, ended: 0 });

    const all = await hub.call(lea, 'GET', '/v1/batches/status-counts');
    expect(all.status).toBe(200);
    const byCourse = new Map(
      (all.body as { courseId: string }[]).map((entry) => [entry.courseId, entry]),
    );
    expect([...byCourse.keys()].sort()).toEqual(['course-a', 'course-list']);
    const courseA = await hub.call(alice, 'GET', '/v1/courses/course-a');
    const { courseId: _courseId, ...countsA } = byCourse.get('course-a') as Record<string, unknown>;
    expect(courseA.body.batchCounts).toEqual(countsA);
    // In progress: the batch that started today, live-1 and the reopened 'closing'.
    expect(countsA).toEqual({ upcoming: 7, inProgress: 3, ended: 0 });

    const foreign = await hub.call(eve, 'GET', '/v1/batches/status-counts?courseId=course-list');
    expect(foreign.body).toEqual([]);
    const bad = await hub.call(alice, 'GET', '/v1/batches/status-counts?courseId=a%20b');
    expectProblem(bad, 400, 'VALIDATION_FAILED');
  });
});
