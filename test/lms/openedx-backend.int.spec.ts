import { getEventListeners } from 'node:events';
import { LmsBackendSettings, LmsCallError, LmsLearner } from '../../src/lms/lms-backend';
import { OpenEdxBackend } from '../../src/lms/openedx-backend';
import { FakeOpenEdx } from '../support/fake-openedx';

const KEY = 'edx-api-key-0123456789abcdef';
const COURSE = 'course-v1:edx+000001+Demo_Course';
const learner: LmsLearner = { username: 'jdoe', email: null, firstName: null, lastName: null };

const settingsFor = (baseUrl: string, overrides: Partial<LmsBackendSettings> = {}) => ({
  index: 0,
  backend: 'openedx' as const,
  baseUrl,
  selectorRegex: /.*/,
  courseRegex: /(?<course_id>.*)/,
  apiToken: KEY,
  mode: 'honor',
  studentRoleId: null,
  authMethod: 'manual',
  timeoutMs: 2_000,
  ...overrides,
});

/** The LmsCallError a call rejects with. */
const failureOf = async (call: Promise<unknown>): Promise<LmsCallError> => {
  const error = await call.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(LmsCallError);
  return error as LmsCallError;
};

describe('Open edX backend', () => {
  let fake: FakeOpenEdx;
  let backend: OpenEdxBackend;

  beforeEach(async () => {
    fake = await FakeOpenEdx.start({ apiKey: KEY, courses: { [COURSE]: undefined } });
    backend = new OpenEdxBackend(settingsFor(`${fake.baseUrl}//`));
  });
  afterEach(() => fake.close());

  describe('reading an enrollment', () => {
    it('GETs {username},{course_id} with the key, reading 200 null as not enrolled', async () => {
      await expect(backend.isEnrolled(learner, COURSE)).resolves.toBe(false);
      expect(fake.calls).toHaveLength(1);
      const [call] = fake.calls;
      expect(call).toMatchObject({
        method: 'GET',
        path: `/api/enrollment/v1/enrollment/jdoe,${COURSE}`,
        query: {},
        body: '',
        status: 200,
        answer: 'null',
      });
      expect(call!.headers).toMatchObject({ 'x-edx-api-key': KEY, accept: 'application/json' });
    });

    it('is true for an active enrollment, false for an inactive one', async () => {
      fake.enrol('jdoe', COURSE);
      await expect(backend.isEnrolled(learner, COURSE)).resolves.toBe(true);
      fake.enrol('jdoe', COURSE, false);
      await expect(backend.isEnrolled(learner, COURSE)).resolves.toBe(false);
    });

    it('reads an empty body or {} as not enrolled', async () => {
      fake.nextAnswers.push({ kind: 'status', status: 200, body: '' });
      await expect(backend.isEnrolled(learner, COURSE)).resolves.toBe(false);
      fake.nextAnswers.push({ kind: 'status', status: 200, body: '{}' });
      await expect(backend.isEnrolled(learner, COURSE)).resolves.toBe(false);
    });

    it('encodes what a path cannot hold, keeping : + and @ readable', async () => {
      const odd = { ...learner, username: 'j doe,x@y' };
      fake.enrol('j doe,x@y', COURSE);
      await expect(backend.isEnrolled(odd, COURSE)).resolves.toBe(true);
      expect(fake.calls[0]!.path).toBe(`/api/enrollment/v1/enrollment/j%20doe%2Cx@y,${COURSE}`);
    });
  });

  describe('setting an enrollment', () => {
    it('POSTs exactly the enrollment Open edX expects, and enrols', async () => {
      await backend.setEnrolled(learner, COURSE, true);
      expect(fake.callsOf('POST')).toHaveLength(1);
      const [call] = fake.calls;
      expect(call).toMatchObject({ path: '/api/enrollment/v1/enrollment', query: {}, status: 200 });
      expect(call!.headers).toMatchObject({
        'x-edx-api-key': KEY,
        'content-type': 'application/json',
      });
      expect(call!.body).toBe(
        JSON.stringify({
          user: 'jdoe',
          mode: 'honor',
          is_active: true,
          course_details: { course_id: COURSE },
        }),
      );
      expect(fake.enrollment('jdoe', COURSE)).toMatchObject({ isActive: true, mode: 'honor' });
      await expect(backend.isEnrolled(learner, COURSE)).resolves.toBe(true);
      expect(fake.calls.map((c) => c.method)).toEqual(['POST', 'GET']);
    });

    it('unenrols with is_active false, in the configured mode', async () => {
      fake.enrol('jdoe', COURSE, true, 'verified');
      const verified = new OpenEdxBackend(settingsFor(fake.baseUrl, { mode: 'verified' }));
      await expect(verified.setEnrolled(learner, COURSE, false)).rejects.toThrow(
        'answered 400: The [verified] course mode is expired or otherwise unavailable',
      );
      await backend.setEnrolled(learner, COURSE, false);
      expect(JSON.parse(fake.calls[1]!.body)).toEqual({
        user: 'jdoe',
        mode: 'honor',
        is_active: false,
        course_details: { course_id: COURSE },
      });
      expect(fake.enrollment('jdoe', COURSE)).toMatchObject({ isActive: false, mode: 'honor' });
      expect(fake.stateChangingCalls('jdoe', COURSE)).toBe(1);
    });

    it('fails, not to be retried, when the answer has another is_active', async () => {
      fake.nextAnswers.push({
        kind: 'status',
        status: 200,
        body: JSON.stringify({ is_active: false, mode: 'honor' }),
      });
      const error = await failureOf(backend.setEnrolled(learner, COURSE, true));
      expect(error).toMatchObject({ retryable: false, status: 200 });
      expect(error.message).toBe(
        'openedx-0: POST enrollment answered is_active false where true was asked',
      );
    });
  });

  describe('failures', () => {
    it('are permanent for 4xx, with the LMS message: unknown course, unknown user', async () => {
      const unknown = 'course-v1:edx+404+Nope';
      const course = await failureOf(backend.setEnrolled(learner, unknown, true));
      expect(course).toMatchObject({ retryable: false, status: 400, retryAfterMs: null });
      expect(course.message).toBe(
        `openedx-0: POST enrollment answered 400: No course '${unknown}' found for enrollment`,
      );
      await fake.close();
      fake = await FakeOpenEdx.start({
        apiKey: KEY,
        courses: { [COURSE]: undefined },
        users: ['ann'],
      });
      backend = new OpenEdxBackend(settingsFor(fake.baseUrl));
      const user = await failureOf(backend.setEnrolled(learner, COURSE, true));
      expect(user).toMatchObject({ retryable: false, status: 406 });
      expect(user.message).toContain('answered 406: The user jdoe does not exist.');
    });

    it('are permanent for a missing or wrong key, which no message shows', async () => {
      const wrong = new OpenEdxBackend(settingsFor(fake.baseUrl, { apiToken: 'wrong-key-42' }));
      const forbidden = await failureOf(wrong.isEnrolled(learner, COURSE));
      expect(forbidden).toMatchObject({ retryable: false, status: 403 });
      expect(forbidden.message).toBe(
        'openedx-0: GET enrollment answered 403: You do not have permission to perform this action.',
      );
      expect(forbidden.message).not.toContain('wrong-key-42');
      fake.nextAnswers.push({ kind: 'status', status: 401, body: `bad key ${KEY}` });
      const echoed = await failureOf(backend.isEnrolled(learner, COURSE));
      expect(echoed.message).toBe('openedx-0: GET enrollment answered 401: bad key ***');
    });

    it('are answered 401 by the fake when the key is missing, as DRF does', async () => {
      const response = await fetch(`${fake.baseUrl}/api/enrollment/v1/enrollment/jdoe,${COURSE}`);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        detail: 'Authentication credentials were not provided.',
      });
    });

    it('are retryable when the LMS made the change but the answer was lost', async () => {
      fake.nextAnswers.push({ kind: 'handle-then-destroy' });
      const lost = await failureOf(backend.setEnrolled(learner, COURSE, true));
      expect(lost).toMatchObject({ retryable: true, status: null });
      expect(fake.enrollment('jdoe', COURSE)?.isActive).toBe(true);
      expect(fake.calls[0]!.status).toBeNull();
      // Reading first tells a retry there is nothing left to do.
      await expect(backend.isEnrolled(learner, COURSE)).resolves.toBe(true);
      expect(fake.stateChangingCalls('jdoe', COURSE)).toBe(1);
    });

    it('cuts a long plain-text message to 500 characters', async () => {
      fake.nextAnswers.push({ kind: 'status', status: 404, body: 'x'.repeat(2_000) });
      const error = await failureOf(backend.isEnrolled(learner, COURSE));
      expect(error.message).toBe(`openedx-0: GET enrollment answered 404: ${'x'.repeat(500)}…`);
    });

    it('are retryable for 5xx, network errors and timeouts', async () => {
      fake.nextAnswers.push(
        { kind: 'status', status: 500, body: 'boom' },
        { kind: 'destroy' },
        { kind: 'hang' },
      );
      const quick = new OpenEdxBackend(settingsFor(fake.baseUrl, { timeoutMs: 200 }));
      const server = await failureOf(quick.setEnrolled(learner, COURSE, true));
      expect(server).toMatchObject({ retryable: true, status: 500, retryAfterMs: null });
      const network = await failureOf(quick.setEnrolled(learner, COURSE, true));
      expect(network).toMatchObject({ retryable: true, status: null });
      expect(network.message).toMatch(/^openedx-0: POST enrollment failed: /);
      const timeout = await failureOf(quick.isEnrolled(learner, COURSE));
      expect(timeout).toMatchObject({ retryable: true, status: null });
      expect(timeout.message).toBe('openedx-0: GET enrollment timed out after 200 ms');
      expect(fake.stateChangingCalls('jdoe', COURSE)).toBe(0);
    });

    it('are retryable for 429, after the Retry-After seconds or date, at most 10 minutes', async () => {
      const in90s = new Date(Date.now() + 90_000).toUTCString();
      fake.nextAnswers.push(
        { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
        { kind: 'status', status: 429, headers: { 'retry-after': in90s } },
        { kind: 'status', status: 429, headers: { 'retry-after': '86400' } },
        { kind: 'status', status: 429 },
      );
      const delays: (number | null)[] = [];
      for (let i = 0; i < 4; i++) {
        const error = await failureOf(backend.isEnrolled(learner, COURSE));
        expect(error).toMatchObject({ retryable: true, status: 429 });
        delays.push(error.retryAfterMs);
      }
      expect(delays[0]).toBe(1_000);
      expect(delays[1]).toBeGreaterThan(85_000);
      expect(delays[1]).toBeLessThanOrEqual(90_000);
      expect(delays.slice(2)).toEqual([600_000, null]);
    });

    it("is aborted with the caller's signal, as a retryable failure", async () => {
      fake.nextAnswers.push({ kind: 'hang' });
      const controller = new AbortController();
      const call = failureOf(backend.isEnrolled(learner, COURSE, controller.signal));
      setTimeout(() => controller.abort(), 50);
      const error = await call;
      expect(error).toMatchObject({ retryable: true, status: null });
      expect(error.message).toBe('openedx-0: GET enrollment was aborted');
    });

    it("leaves no listener on the caller's long-lived signal", async () => {
      const shutdown = new AbortController();
      fake.nextAnswers.push({ kind: 'status', status: 500 }, { kind: 'destroy' });
      for (let i = 0; i < 4; i++)
        await backend.isEnrolled(learner, COURSE, shutdown.signal).catch(() => undefined);
      expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    });

    it('does not follow redirects', async () => {
      fake.nextAnswers.push({
        kind: 'status',
        status: 302,
        headers: { location: 'http://elsewhere.test/' },
      });
      const error = await failureOf(backend.setEnrolled(learner, COURSE, true));
      expect(error).toMatchObject({ retryable: false, status: 302 });
      expect(error.message).toContain('redirects are not followed');
      expect(fake.calls).toHaveLength(1);
    });
  });
});
