import { LmsBackendSettings, LmsCallError, LmsLearner } from '../../src/lms/lms-backend';
import {
  isTransientMoodleError,
  MoodleBackend,
  placeholderEmail,
} from '../../src/lms/moodle-backend';
import { FakeMoodle } from '../support/fake-moodle';
import { RecordedCall } from '../support/fake-openedx';

const TOKEN = 'moodle-ws-token-0123456789abcdef';
const COURSE = 2;
const learner: LmsLearner = {
  username: 'JDoe',
  email: 'jane@example.org',
  firstName: 'Jane',
  lastName: 'Doe',
};

const settingsFor = (baseUrl: string, overrides: Partial<LmsBackendSettings> = {}) => ({
  index: 1,
  backend: 'moodle' as const,
  baseUrl,
  selectorRegex: /.*/,
  courseRegex: /(?<course_id>.*)/,
  apiToken: TOKEN,
  mode: 'honor',
  studentRoleId: 5,
  authMethod: 'manual',
  timeoutMs: 2_000,
  ...overrides,
});

const failureOf = async (call: Promise<unknown>): Promise<LmsCallError> => {
  const error = await call.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(LmsCallError);
  return error as LmsCallError;
};

/** Function and form parameters of each call, in order. */
const callsMade = (calls: RecordedCall[]) =>
  calls.map((call) => [FakeMoodle.functionOf(call), FakeMoodle.paramsOf(call)]);

describe('Moodle backend', () => {
  let fake: FakeMoodle;
  let backend: MoodleBackend;

  beforeEach(async () => {
    fake = await FakeMoodle.start({ token: TOKEN, courses: [COURSE, 3] });
    backend = new MoodleBackend(settingsFor(fake.baseUrl));
  });
  afterEach(() => fake.close());

  it('POSTs every call to BASE_URL with token, function and format in the query, as a form', async () => {
    await backend.isEnrolled(learner, String(COURSE));
    const [call] = fake.calls;
    expect(call).toMatchObject({
      method: 'POST',
      path: '/webservice/rest/server.php',
      query: { wstoken: TOKEN, wsfunction: 'core_user_get_users', moodlewsrestformat: 'json' },
      body: 'criteria%5B0%5D%5Bkey%5D=username&criteria%5B0%5D%5Bvalue%5D=jdoe',
      status: 200,
    });
    expect(call!.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  describe('reading an enrolment', () => {
    it('is false without asking for courses when Moodle has no such user', async () => {
      await expect(backend.isEnrolled(learner, String(COURSE))).resolves.toBe(false);
      expect(callsMade(fake.calls)).toEqual([
        ['core_user_get_users', { 'criteria[0][key]': 'username', 'criteria[0][value]': 'jdoe' }],
      ]);
    });

    it("looks for the course among the user's courses", async () => {
      const user = fake.addUser('jdoe');
      fake.enrolments.set(`${user.id}|3`, 5);
      await expect(backend.isEnrolled(learner, String(COURSE))).resolves.toBe(false);
      fake.enrolments.set(`${user.id}|${COURSE}`, 5);
      await expect(backend.isEnrolled(learner, String(COURSE))).resolves.toBe(true);
      expect(callsMade(fake.calls).slice(0, 2)).toEqual([
        ['core_user_get_users', { 'criteria[0][key]': 'username', 'criteria[0][value]': 'jdoe' }],
        ['core_enrol_get_users_courses', { userid: String(user.id) }],
      ]);
    });
  });

  describe('enrolling', () => {
    it('creates a missing user (lower-cased username), then enrols with the student role', async () => {
      await backend.setEnrolled(learner, String(COURSE), true);
      const created = fake.user('jdoe')!;
      expect(callsMade(fake.calls)).toEqual([
        ['core_user_get_users', { 'criteria[0][key]': 'username', 'criteria[0][value]': 'jdoe' }],
        [
          'core_user_create_users',
          {
            'users[0][username]': 'jdoe',
            'users[0][firstname]': 'Jane',
            'users[0][lastname]': 'Doe',
            'users[0][email]': 'jane@example.org',
            'users[0][auth]': 'manual',
            'users[0][idnumber]': 'JDoe',
          },
        ],
        [
          'enrol_manual_enrol_users',
          {
            'enrolments[0][courseid]': String(COURSE),
            'enrolments[0][userid]': String(created.id),
            'enrolments[0][roleid]': '5',
          },
        ],
      ]);
      expect(fake.calls.every((call) => call.answer !== '' && call.status === 200)).toBe(true);
      expect(fake.calls[2]!.answer).toBe('null');
      expect(fake.isEnrolled('jdoe', COURSE)).toBe(true);
      expect(fake.userCreations('jdoe')).toBe(1);
      await expect(backend.isEnrolled(learner, String(COURSE))).resolves.toBe(true);
    });

    it('fills in names and email when the hub has none, with the configured auth', async () => {
      const bare = { username: 'Ann.Lee', email: null, firstName: null, lastName: null };
      const oauth = new MoodleBackend(settingsFor(fake.baseUrl, { authMethod: 'oauth2' }));
      await oauth.setEnrolled(bare, String(COURSE), true);
      expect(fake.user('ann.lee')).toMatchObject({
        firstname: 'Ann.Lee',
        lastname: '.',
        email: 'ann=2Elee@learning-hub.invalid',
        auth: 'oauth2',
        idnumber: 'Ann.Lee',
      });
      expect(placeholderEmail('a@b=c')).toBe('a=40b=3Dc@learning-hub.invalid');
    });

    it('reuses a user Moodle has', async () => {
      const user = fake.addUser('jdoe');
      await backend.setEnrolled(learner, String(COURSE), true);
      expect(callsMade(fake.calls).map(([name]) => name)).toEqual([
        'core_user_get_users',
        'enrol_manual_enrol_users',
      ]);
      expect(fake.enrolments.get(`${user.id}|${COURSE}`)).toBe(5);
      expect(fake.stateChangingCalls('jdoe', COURSE)).toBe(1);
      expect(fake.userCreations('jdoe')).toBe(0);
    });
  });

  describe('unenrolling', () => {
    it('unenrols a user Moodle has', async () => {
      const user = fake.addUser('jdoe');
      fake.enrolments.set(`${user.id}|${COURSE}`, 5);
      await backend.setEnrolled(learner, String(COURSE), false);
      expect(callsMade(fake.calls)[1]).toEqual([
        'enrol_manual_unenrol_users',
        {
          'enrolments[0][courseid]': String(COURSE),
          'enrolments[0][userid]': String(user.id),
          'enrolments[0][roleid]': '5',
        },
      ]);
      expect(fake.isEnrolled('jdoe', COURSE)).toBe(false);
    });

    it('creates no user and calls nothing more when Moodle has none', async () => {
      await backend.setEnrolled(learner, String(COURSE), false);
      expect(callsMade(fake.calls).map(([name]) => name)).toEqual(['core_user_get_users']);
      expect(fake.users).toEqual([]);
    });
  });

  describe('failures', () => {
    it('reads a 200 with an exception as a permanent failure: unknown course', async () => {
      const error = await failureOf(backend.setEnrolled(learner, '99', true));
      expect(error).toMatchObject({ retryable: false, status: 200 });
      expect(error.message).toBe(
        'moodle-1: enrol_manual_enrol_users failed: invalidparameter: ' +
          'Invalid parameter value detected (Context does not exist)',
      );
    });

    it('reads a wrong token as a permanent failure, never showing either token', async () => {
      const wrong = new MoodleBackend(settingsFor(fake.baseUrl, { apiToken: 'wrong-token-77' }));
      const error = await failureOf(wrong.isEnrolled(learner, String(COURSE)));
      expect(error).toMatchObject({ retryable: false, status: 200 });
      expect(error.message).toBe(
        'moodle-1: core_user_get_users failed: invalidtoken: Invalid token - token not found',
      );
      fake.nextAnswers.push({
        kind: 'status',
        status: 200,
        body: JSON.stringify({ exception: 'x', errorcode: 'e', message: `token ${TOKEN}?` }),
      });
      const echoed = await failureOf(backend.isEnrolled(learner, String(COURSE)));
      expect(echoed.message).toBe('moodle-1: core_user_get_users failed: e: token ***?');
    });

    it('fails on a role the token may not assign', async () => {
      const admin = new MoodleBackend(settingsFor(fake.baseUrl, { studentRoleId: 1 }));
      const error = await failureOf(admin.setEnrolled(learner, String(COURSE), true));
      expect(error).toMatchObject({ retryable: false });
      expect(error.message).toContain('wsusercannotassign');
    });

    it('retries database errors, not missing records', async () => {
      expect(
        ['dmlreadexception', 'dmlwriteexception', 'dbconnectionfailed'].map(isTransientMoodleError),
      ).toEqual([true, true, true]);
      expect(
        ['invalidrecord', 'invalidtoken', 'invalidparameter'].map(isTransientMoodleError),
      ).toEqual([false, false, false]);
      fake.nextAnswers.push({
        kind: 'status',
        status: 200,
        body: JSON.stringify({
          exception: 'dml_read_exception',
          errorcode: 'dmlreadexception',
          message: 'Error reading from database',
        }),
      });
      const error = await failureOf(backend.isEnrolled(learner, String(COURSE)));
      expect(error).toMatchObject({ retryable: true, status: 200 });
    });

    it('refuses a course id that is not a number, before any call', async () => {
      const error = await failureOf(backend.setEnrolled(learner, 'course-v1:a+b+c', true));
      expect(error).toMatchObject({ retryable: false, status: null });
      expect(fake.calls).toEqual([]);
    });

    it('reads a body that is not JSON as a permanent failure', async () => {
      fake.nextAnswers.push({ kind: 'status', status: 200, body: '<html>Login</html>' });
      const error = await failureOf(backend.isEnrolled(learner, String(COURSE)));
      expect(error).toMatchObject({ retryable: false, status: 200 });
      expect(error.message).toBe('moodle-1: core_user_get_users answered something unexpected');
    });

    it('are retryable for 5xx, 429 with Retry-After, network errors and timeouts', async () => {
      fake.addUser('jdoe');
      fake.nextAnswers.push(
        { kind: 'status', status: 503, body: 'down', headers: { 'retry-after': '3' } },
        { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
        { kind: 'destroy' },
        { kind: 'hang' },
      );
      const quick = new MoodleBackend(settingsFor(fake.baseUrl, { timeoutMs: 200 }));
      const results = [];
      for (let i = 0; i < 4; i++)
        results.push(await failureOf(quick.setEnrolled(learner, '2', true)));
      expect(
        results.map(({ retryable, status, retryAfterMs }) => ({ retryable, status, retryAfterMs })),
      ).toEqual([
        { retryable: true, status: 503, retryAfterMs: 3_000 },
        { retryable: true, status: 429, retryAfterMs: 1_000 },
        { retryable: true, status: null, retryAfterMs: null },
        { retryable: true, status: null, retryAfterMs: null },
      ]);
      expect(results[0]!.message).toBe('moodle-1: core_user_get_users answered 503: down');
      expect(results[3]!.message).toBe('moodle-1: core_user_get_users timed out after 200 ms');
      for (const { message } of results) expect(message).not.toContain(TOKEN);
      expect(fake.stateChangingCalls('jdoe', COURSE)).toBe(0);
    });

    it('are permanent for other 4xx, such as a wrong BASE_URL', async () => {
      const lost = new MoodleBackend(settingsFor(`${fake.origin}/moodle/`));
      const error = await failureOf(lost.isEnrolled(learner, String(COURSE)));
      expect(error).toMatchObject({ retryable: false, status: 404 });
      expect(error.message).toBe('moodle-1: core_user_get_users answered 404: <h1>Not Found</h1>');
    });
  });
});

describe('the fake Moodle', () => {
  const fakes: FakeMoodle[] = [];
  afterEach(() => Promise.all(fakes.splice(0).map((fake) => fake.close())));

  const start = async (options: Partial<Parameters<typeof FakeMoodle.start>[0]> = {}) => {
    const fake = await FakeMoodle.start({ token: TOKEN, courses: [COURSE], ...options });
    fakes.push(fake);
    return fake;
  };
  const post = async (fake: FakeMoodle, wsfunction: string, body: string, type?: string) => {
    const query = `wstoken=${TOKEN}&wsfunction=${wsfunction}&moodlewsrestformat=json`;
    const response = await fetch(`${fake.baseUrl}?${query}`, {
      method: 'POST',
      headers: { 'content-type': type ?? 'application/x-www-form-urlencoded' },
      body,
    });
    return { status: response.status, body: await response.text() };
  };

  it('answers unknown functions and missing or unexpected parameters as Moodle does', async () => {
    const fake = await start();
    expect(JSON.parse((await post(fake, 'nope', '')).body)).toEqual({
      exception: 'dml_missing_record_exception',
      errorcode: 'invalidrecord',
      message: "Can't find data record in database table external_functions.",
    });
    // A JSON body brings PHP no parameters.
    const json = await post(
      fake,
      'core_enrol_get_users_courses',
      '{"userid":2}',
      'application/json',
    );
    expect(JSON.parse(json.body)).toMatchObject({ errorcode: 'invalidparameter' });
    const extra = await post(fake, 'core_enrol_get_users_courses', 'userid=2&x=1');
    expect(JSON.parse(extra.body).message).toContain('Unexpected keys (x)');
  });

  it('fails the same calls for the same seed, about at the rate asked', async () => {
    const statusesOf = async (fake: FakeMoodle) => {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++)
        statuses.push((await post(fake, 'core_enrol_get_users_courses', 'userid=2')).status);
      return statuses;
    };
    const first = await statusesOf(await start({ failRate: 0.25, seed: 7 }));
    const again = await statusesOf(await start({ failRate: 0.25, seed: 7 }));
    expect(again).toEqual(first);
    const failed = first.filter((status) => status === 503).length;
    expect(failed).toBeGreaterThan(3);
    expect(failed).toBeLessThan(20);
    expect(new Set(first)).toEqual(new Set([200, 503]));
  });
});
