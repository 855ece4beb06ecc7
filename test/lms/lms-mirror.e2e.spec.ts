import { defaultLmsConfig, LmsConfig } from '../../src/config/hub-config';
import { runLmsCommand } from '../../src/cli/lms-command';
import { parseLmsBackends } from '../../src/config/lms-backends';
import { InvalidInputError } from '../../src/errors/hub-error';
import { lmsMirrorStream } from '../../src/lms/lms-mirror.events';
import { eventually } from '../support/eventually';
import { FakeMoodle } from '../support/fake-moodle';
import { FakeOpenEdx } from '../support/fake-openedx';
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

const EDX_KEY = 'edx-api-key-for-tests';
const MOODLE_TOKEN = 'moodle-token-for-tests';
const RUN_A = 'course-v1:hub+A+2026';
const RUN_B = 'course-v1:hub+B+2026';

type Reply = Awaited<ReturnType<RunningHub['call']>>;
const expectProblem = (response: Reply, status: number, code: string) =>
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });

interface LearnerSync {
  userId: string;
  enrolled: boolean;
  desiredActive: boolean | null;
  mirroredActive: boolean | null;
  pending: boolean;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}

/**
 * Two LMSs as LMS_BACKENDS lists them: Moodle for links on its host, Open edX for every link
 * under /courses/ (a catch-all selector that would also match Moodle's, listed second: the
 * first match wins).
 */
describe('LMS mirroring (e2e, against fake Open edX and Moodle)', () => {
  let storage: HubStorage;
  let edx: FakeOpenEdx;
  let moodle: FakeMoodle;
  let hub: RunningHub;
  let lms: LmsConfig;
  let alice: string; // creates the courses
  let admin: string;
  let learner: string;
  let outsider: string;
  let users = 0;

  const edxLink = (run: string) => `${edx.baseUrl}/courses/${run}/course`;
  const sync = async (batchId: string, userId?: string) => {
    const query = userId ? `?userId=${userId}` : '';
    const response = await hub.call(admin, 'GET', `/v1/batches/${batchId}/lms-sync${query}`);
    expect(response.status).toBe(200);
    return response.body as {
      lms: { name: string; courseId: string } | null;
      summary: { learners: number; pending: number; mirrored: number; failed: number };
      learners: LearnerSync[];
    };
  };
  const learnerSync = async (batchId: string, userId: string) =>
    (await sync(batchId, userId)).learners[0]!;
  const settledFor = (batchId: string, userId: string, expected: Partial<LearnerSync>) =>
    eventually(async () =>
      expect(await learnerSync(batchId, userId)).toMatchObject({ pending: false, ...expected }),
    );

  /** A new learner with a profile: their external id is their LMS username. */
  const newLearner = async (name = 'Ada Lovelace') => {
    users += 1;
    const userId = `learner-${users}`;
    await recordUser(hub, userId, 'org-a', {
      name,
      email: `${userId}@example.org`,
      externalId: `ext-${userId}`,
    });
    return userId;
  };
  const enrol = async (batchId: string, userId: string) =>
    expect(
      (await hub.call(admin, 'POST', `/v1/batches/${batchId}/enrolments`, { userId })).status,
    ).toBe(201);
  const unenrol = async (batchId: string, userId: string) =>
    expect(
      (await hub.call(admin, 'DELETE', `/v1/batches/${batchId}/enrolments/${userId}`)).status,
    ).toBe(204);
  const course = async (courseId: string, lmsResourceLink?: string) => {
    const response = await hub.call(alice, 'POST', '/v1/courses', {
      courseId,
      name: courseId,
      trackable: { enabled: true },
      children: sampleHierarchy(),
      ...(lmsResourceLink ? { lmsResourceLink } : {}),
    });
    expect(response.status).toBe(201);
  };
  const batch = async (batchId: string, courseId: string, lmsResourceLink?: string) => {
    const response = await hub.call(alice, 'POST', '/v1/batches', {
      batchId,
      courseId,
      name: batchId,
      enrollmentType: 'open',
      startDate: new Date().toISOString(),
      endDate: utcDay(30),
      ...(lmsResourceLink ? { lmsResourceLink } : {}),
    });
    expect(response.status).toBe(201);
  };

  beforeAll(async () => {
    storage = await freshStorage('lms-mirror-e2e');
    edx = await FakeOpenEdx.start({
      apiKey: EDX_KEY,
      courses: { [RUN_A]: undefined, [RUN_B]: undefined },
    });
    moodle = await FakeMoodle.start({ token: MOODLE_TOKEN, courses: [7] });
    const parsed = parseLmsBackends(
      JSON.stringify([
        {
          BACKEND: 'moodle',
          BASE_URL: moodle.baseUrl,
          SELECTOR_REGEX: `^${moodle.origin}/`,
          COURSE_REGEX: '^.*[?&]id=(?P<course_id>\\d+)',
          API_TOKEN: MOODLE_TOKEN,
          STUDENT_ROLE_ID: 5,
        },
        {
          BACKEND: 'openedx',
          BASE_URL: edx.baseUrl,
          SELECTOR_REGEX: '^.*/courses/',
          COURSE_REGEX: '^.*/courses/(?P<course_id>.*)/course/?$',
          API_TOKEN: EDX_KEY,
          TIMEOUT_MS: 1000,
        },
      ]),
    );
    expect(parsed.problems).toEqual([]);
    lms = {
      ...defaultLmsConfig(),
      backends: parsed.backends,
      retryBaseMs: 50,
      retryMaxMs: 200,
      leaseMs: 3_000,
    };
    hub = await startHub(storage.storage, { lms });
    [alice, admin, learner, outsider] = await Promise.all([
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'ada', 'org-a', ['ORG_ADMIN']),
      issueKey(hub, 'lee', 'org-a', ['LEARNER']),
      issueKey(hub, 'bob', 'org-b', ['ORG_ADMIN']),
    ]);
    await course('course-a', edxLink(RUN_A));
    await batch('batch-a', 'course-a');
  });

  afterAll(async () => {
    await hub?.close();
    await edx?.close();
    await moodle?.close();
    await storage?.dispose();
  });

  it('enrols in Open edX with a read, then the documented POST, and unenrols the same way', async () => {
    const userId = await newLearner();
    const before = edx.calls.length;
    await enrol('batch-a', userId);
    await settledFor('batch-a', userId, { desiredActive: true, mirroredActive: true, attempts: 0 });
    const calls = edx.calls.slice(before);
    expect(calls.map((call) => `${call.method} ${call.status}`)).toEqual(['GET 200', 'POST 200']);
    expect(calls[0]!.path).toBe(`/api/enrollment/v1/enrollment/ext-${userId},${RUN_A}`);
    expect(calls[0]!.answer).toBe('null');
    for (const call of calls) expect(call.headers['x-edx-api-key']).toBe(EDX_KEY);
    expect(JSON.parse(calls[1]!.body)).toEqual({
      user: `ext-${userId}`,
      mode: 'honor',
      is_active: true,
      course_details: { course_id: RUN_A },
    });
    expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(true);

    await unenrol('batch-a', userId);
    await settledFor('batch-a', userId, {
      enrolled: false,
      desiredActive: false,
      mirroredActive: false,
    });
    expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(false);
    expect(JSON.parse(edx.callsOf('POST').at(-1)!.body)).toMatchObject({ is_active: false });
  });

  it('selects Moodle by its regex, creates the missing user, and enrols with the student role', async () => {
    await course('course-m', `${moodle.origin}/course/view.php?id=7`);
    await batch('batch-m', 'course-m');
    const userId = await newLearner('Grace Brewster Hopper');
    await enrol('batch-m', userId);
    await settledFor('batch-m', userId, { mirroredActive: true });
    const username = `ext-${userId}`;
    expect(moodle.userCreations(username)).toBe(1);
    expect(moodle.user(username)).toMatchObject({
      firstname: 'Grace',
      lastname: 'Brewster Hopper',
      email: `${userId}@example.org`,
    });
    expect(moodle.isEnrolled(username, 7)).toBe(true);
    const functions = moodle.calls.map((call) => call.query.wsfunction);
    expect(functions).toContain('enrol_manual_enrol_users');
    const enrolCall = moodle.calls.find(
      (call) => call.query.wsfunction === 'enrol_manual_enrol_users',
    )!;
    expect(new URLSearchParams(enrolCall.body).get('enrolments[0][roleid]')).toBe('5');
    expect((await sync('batch-m')).lms).toEqual({ name: 'moodle-0', courseId: '7' });
  });

  it('retries network errors and 5xx with back-off, honours Retry-After, and ends mirrored once', async () => {
    const userId = await newLearner();
    edx.nextAnswers.push(
      { kind: 'destroy' },
      { kind: 'status', status: 502, body: 'Bad gateway' },
      { kind: 'status', status: 429, body: 'Slow down', headers: { 'Retry-After': '1' } },
    );
    const started = Date.now();
    await enrol('batch-a', userId);
    await eventually(async () =>
      expect(await learnerSync('batch-a', userId)).toMatchObject({ attempts: 3, lastStatus: 429 }),
    );
    await settledFor('batch-a', userId, { mirroredActive: true, attempts: 0, lastError: null });
    const mine = edx.calls.filter(
      (call) => call.path.includes(`ext-${userId}`) || call.body.includes(`ext-${userId}`),
    );
    const limited = mine.findIndex((call) => call.status === 429);
    // Retry-After: 1 means no call before a second has passed.
    expect(mine[limited + 1]!.receivedAt - mine[limited]!.receivedAt).toBeGreaterThanOrEqual(950);
    expect(edx.stateChangingCalls(`ext-${userId}`, RUN_A)).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('fails at once on a 4xx with the LMS’s own message, and tries no more', async () => {
    await course('course-x', edxLink('course-v1:hub+Unknown+2026'));
    await batch('batch-x', 'course-x');
    const userId = await newLearner();
    await enrol('batch-x', userId);
    await settledFor('batch-x', userId, { mirroredActive: null, attempts: 1, lastStatus: 400 });
    const state = await learnerSync('batch-x', userId);
    expect(state.lastError).toContain(
      "No course 'course-v1:hub+Unknown+2026' found for enrollment",
    );
    expect(state.nextAttemptAt).toBeNull();
    expect((await sync('batch-x')).summary).toMatchObject({ failed: 1, pending: 0 });
    const count = edx.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(edx.calls.length).toBe(count);
  });

  it('keeps no LMS username: not in the LMS’s message, and none for an erased learner', async () => {
    const named = await newLearner();
    edx.nextAnswers.push({
      kind: 'status',
      status: 406,
      body: JSON.stringify({ message: `The user ext-${named} does not exist.` }),
      headers: { 'content-type': 'application/json' },
    });
    await enrol('batch-a', named);
    await settledFor('batch-a', named, { lastStatus: 406 });
    const refused = await learnerSync('batch-a', named);
    expect(refused.lastError).toContain('The user ‹username› does not exist.');
    expect(refused.lastError).not.toContain(`ext-${named}`);
    const events = await hub.store.readStream(lmsMirrorStream(named, edxLink(RUN_A)));
    expect(JSON.stringify(events.map((event) => event.data))).not.toContain(`ext-${named}`);

    const erased = await newLearner();
    expect((await hub.call(admin, 'DELETE', `/v1/users/${erased}/personal-data`)).status).toBe(204);
    await enrol('batch-a', erased);
    await settledFor('batch-a', erased, { mirroredActive: null, lastStatus: null });
    expect((await learnerSync('batch-a', erased)).lastError).toBe(
      `User ${erased} has no externalId to use as LMS username`,
    );
  });

  it('shows the configured LMSs without secrets, to admins only', async () => {
    const response = await hub.call(admin, 'GET', '/v1/lms');
    expect(response.status).toBe(200);
    expect(JSON.stringify(response.body)).not.toContain(EDX_KEY);
    expect(JSON.stringify(response.body)).not.toContain(MOODLE_TOKEN);
    const { backends } = response.body as {
      backends: { name: string; health: { status: string } }[];
    };
    expect(backends.map((backend) => backend.name)).toEqual(['moodle-0', 'openedx-1']);
    expect(backends[1]!.health.status).toBe('up');
    expectProblem(await hub.call(learner, 'GET', '/v1/lms'), 403, 'UNAUTHORIZED_USER');
  });

  it('lets only the batch’s managers see its mirror; other organisations get 404', async () => {
    expectProblem(
      await hub.call(learner, 'GET', '/v1/batches/batch-a/lms-sync'),
      403,
      'UNAUTHORIZED_USER',
    );
    expectProblem(
      await hub.call(outsider, 'GET', '/v1/batches/batch-a/lms-sync'),
      404,
      'BATCH_NOT_FOUND',
    );
    expectProblem(
      await hub.call(outsider, 'POST', '/v1/batches/batch-a/lms-sync', {}),
      404,
      'BATCH_NOT_FOUND',
    );
    expectProblem(
      await hub.call(admin, 'GET', '/v1/batches/batch-a/lms-sync?limit=0'),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('mirrors a batch again on request, restoring what someone changed in the LMS', async () => {
    const userId = await newLearner();
    await enrol('batch-a', userId);
    await settledFor('batch-a', userId, { mirroredActive: true });
    edx.enrol(`ext-${userId}`, RUN_A, false); // changed behind the hub's back
    const response = await hub.call(admin, 'POST', '/v1/batches/batch-a/lms-sync', { userId });
    expect(response.status).toBe(202);
    await eventually(async () =>
      expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(true),
    );
    await settledFor('batch-a', userId, { mirroredActive: true });
  });

  it('a batch’s own link wins over its course’s; moving the course moves its learners', async () => {
    await course('course-l', edxLink(RUN_A));
    await batch('batch-own', 'course-l', edxLink(RUN_B));
    await batch('batch-follow', 'course-l');
    const own = await newLearner();
    const follower = await newLearner();
    await enrol('batch-own', own);
    await enrol('batch-follow', follower);
    await settledFor('batch-own', own, { mirroredActive: true });
    await settledFor('batch-follow', follower, { mirroredActive: true });
    expect(edx.enrollment(`ext-${own}`, RUN_B)?.isActive).toBe(true);
    expect(edx.enrollment(`ext-${own}`, RUN_A)).toBeUndefined();

    const moved = await hub.call(alice, 'PUT', '/v1/courses/course-l/lms-resource-link', {
      lmsResourceLink: edxLink(RUN_B),
    });
    expect(moved.status).toBe(200);
    expect(moved.body.lmsResourceLink).toBe(edxLink(RUN_B));
    await eventually(async () => {
      expect(edx.enrollment(`ext-${follower}`, RUN_B)?.isActive).toBe(true);
      expect(edx.enrollment(`ext-${follower}`, RUN_A)?.isActive).toBe(false);
    });
    expect(edx.enrollment(`ext-${own}`, RUN_B)?.isActive).toBe(true);
  });

  it('keeps the learner enrolled while another batch mirrored to the same run still has them', async () => {
    await batch('batch-a2', 'course-a');
    const userId = await newLearner();
    await enrol('batch-a', userId);
    await enrol('batch-a2', userId);
    await settledFor('batch-a2', userId, { mirroredActive: true });
    await unenrol('batch-a', userId);
    await settledFor('batch-a', userId, { enrolled: false, desiredActive: true });
    expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(true);
  });

  it('refuses a resource link that is not an http(s) URL, changing nothing', async () => {
    const response = await hub.call(alice, 'PUT', '/v1/courses/course-a/lms-resource-link', {
      lmsResourceLink: 'javascript:alert(1)',
    });
    expectProblem(response, 400, 'VALIDATION_FAILED');
    const course = await hub.call(alice, 'GET', '/v1/courses/course-a');
    expect(course.body.lmsResourceLink).toBe(edxLink(RUN_A));
  });

  describe('with the mirror stopped, then restarted', () => {
    it('sends only the latest state: an enrol then an unenrol costs one read and no write', async () => {
      await hub.close();
      hub = await startHub(storage.storage, { lms: { ...lms, concurrency: 0 } });
      const userId = await newLearner();
      await enrol('batch-a', userId);
      await unenrol('batch-a', userId);
      await hub.close();
      const before = edx.calls.length;
      hub = await startHub(storage.storage, { lms });
      await settledFor('batch-a', userId, { desiredActive: false, mirroredActive: false });
      const mine = edx.calls
        .slice(before)
        .filter(
          (call) => call.path.includes(`ext-${userId}`) || call.body.includes(`ext-${userId}`),
        );
      expect(mine.map((call) => call.method)).toEqual(['GET']);
    });

    it('resumes a retry after a restart', async () => {
      const userId = await newLearner();
      edx.nextAnswers.push({ kind: 'status', status: 503, body: 'down for maintenance' });
      await hub.close();
      hub = await startHub(storage.storage, {
        lms: { ...lms, retryBaseMs: 2_000, retryMaxMs: 2_000 },
      });
      await enrol('batch-a', userId);
      await eventually(async () =>
        expect(await learnerSync('batch-a', userId)).toMatchObject({
          attempts: 1,
          lastStatus: 503,
        }),
      );
      await hub.close();
      hub = await startHub(storage.storage, { lms });
      await settledFor('batch-a', userId, { mirroredActive: true });
      expect(edx.stateChangingCalls(`ext-${userId}`, RUN_A)).toBe(1);
    });

    // Two hubs cannot share one embedded DATA_DIR: this one needs a PostgreSQL server.
    (process.env.TEST_DATABASE_URL ? it : it.skip)(
      'two instances share the work and never send the same change twice',
      async () => {
        const second = await startHub(storage.storage, { lms });
        try {
          const learners: string[] = [];
          for (let i = 0; i < 40; i++) learners.push(await newLearner());
          const bulk = await hub.call(admin, 'POST', '/v1/batches/batch-a/enrolments/bulk', {
            userIds: learners,
          });
          expect(bulk.status).toBe(202);
          await eventually(
            async () => {
              for (const userId of learners)
                expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(true);
            },
            { timeoutMs: 20_000 },
          );
          await eventually(async () => expect((await sync('batch-a')).summary.pending).toBe(0));
          for (const userId of learners)
            expect(edx.stateChangingCalls(`ext-${userId}`, RUN_A)).toBe(1);
        } finally {
          await second.close();
        }
      },
    );
  });

  it('reconciles a batch: reports the drift, and with fix corrects it', async () => {
    const userId = await newLearner();
    await enrol('batch-a', userId);
    await settledFor('batch-a', userId, { mirroredActive: true });
    edx.enrol(`ext-${userId}`, RUN_A, false);
    const run = async (fix: boolean) => {
      const job = await hub.call(admin, 'POST', '/v1/batches/batch-a/lms-reconcile', { fix });
      expect(job.status).toBe(202);
      let result:
        | {
            drifted: number;
            fixed: number;
            drift: { userId: string; hub: boolean; lms: boolean }[];
          }
        | undefined;
      await eventually(async () => {
        const state = await hub.call(admin, 'GET', `/v1/jobs/${job.body.id}`);
        expect(state.body.state).toBe('completed');
        result = state.body.result;
      });
      return result!;
    };
    const report = await run(false);
    expect(report.drift).toContainEqual({ userId, hub: true, lms: false });
    expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(false);
    const fixed = await run(true);
    expect(fixed.fixed).toBeGreaterThanOrEqual(1);
    await eventually(async () =>
      expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(true),
    );
  });

  it('reconciles from the command line, with a progress bar and the drift listed', async () => {
    await batch('batch-cli', 'course-a');
    const userId = await newLearner();
    await enrol('batch-cli', userId);
    await settledFor('batch-cli', userId, { mirroredActive: true });
    edx.enrol(`ext-${userId}`, RUN_A, false);
    const env = { HUB_URL: hub.base, HUB_TOKEN: admin };
    const lines: string[] = [];
    const print = (line: string) => lines.push(line);
    expect(await runLmsCommand(['reconcile', '--batch', 'batch-cli'], env, print)).toBe(1);
    expect(lines).toContain(`  ${userId}: hub enrolled, LMS not enrolled`);
    expect(await runLmsCommand(['reconcile', '--batch', 'batch-cli', '--fix'], env, print)).toBe(0);
    await eventually(async () =>
      expect(edx.enrollment(`ext-${userId}`, RUN_A)?.isActive).toBe(true),
    );
    await expect(runLmsCommand(['reconcile', 'batch-cli'], env, print)).rejects.toThrow(
      InvalidInputError,
    );
  });

  it('answers 409 for a batch that mirrors nowhere', async () => {
    await hub.call(alice, 'POST', '/v1/courses', {
      courseId: 'course-none',
      name: 'none',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    await batch('batch-none', 'course-none');
    expectProblem(
      await hub.call(admin, 'POST', '/v1/batches/batch-none/lms-sync', {}),
      409,
      'BATCH_NOT_MIRRORED',
    );
    expect(
      (await hub.call(ADMIN_TOKEN, 'GET', '/v1/batches/batch-none/lms-sync')).body.lms,
    ).toBeNull();
  });
});
