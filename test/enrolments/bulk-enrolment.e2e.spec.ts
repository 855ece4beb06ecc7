import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import {
  ADMIN_TOKEN,
  createCourseAndOpenBatch,
  freshStorage,
  HubStorage,
  issueKey,
  recordUser,
  RunningHub,
  startHub,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const BATCH = 'bulk-1';
const BULK = `/v1/batches/${BATCH}/enrolments/bulk`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const expectProblem = (response: Reply, status: number, code: string) => {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
};

/** Bulk enrolment jobs through the HTTP API: submission, progress, failures and idempotency. */
describe('Bulk enrolment API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a: creator of the course and the batch
  let mia: string; // COURSE_MENTOR of org-a, mentor of the batch
  let lea: string; // LEARNER of org-a
  let eve: string; // ORG_ADMIN of org-b

  // 300 recorded users of org-a, plus three rows that cannot be enrolled.
  const users = Array.from(
    { length: 300 },
    (_, index) => `u-${String(index + 1).padStart(4, '0')}`,
  );
  const list = [
    ...users.slice(0, 10),
    'not valid!', // row 11
    ...users.slice(10, 150),
    users[4]!, // row 152: u-0005 again
    ...users.slice(150),
    'ghost', // row 303: nobody the hub knows
  ];
  const expectedFailures = [
    { row: 11, userId: 'not valid!', code: 'INVALID_USER_ID', detail: expect.any(String) },
    { row: 152, userId: 'u-0005', code: 'DUPLICATE_USER_ID', detail: expect.any(String) },
    { row: 303, userId: 'ghost', code: 'USER_NOT_FOUND', detail: expect.any(String) },
  ];
  let firstJob: string;

  const db = () => hub.app.get<SqlDatabase>(SQL_DATABASE);
  const jobCount = async () =>
    Number(
      (await db().query<{ count: string }>('SELECT count(*) AS count FROM hub_enrolment_jobs'))
        .rows[0]!.count,
    );
  const submit = (
    token: string | null,
    body: unknown,
    headers: Record<string, string> = {},
    path = BULK,
  ) => hub.call(token, 'POST', path, body, headers);

  /** Polls the job until it is no longer queued or running. */
  const finished = async (jobId: string, token = alice) => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(50)) {
      const read = await hub.call(token, 'GET', `${BULK}/${jobId}`);
      expect(read.status).toBe(200);
      if (read.body.status !== 'queued' && read.body.status !== 'running') return read.body;
    }
    throw new Error(`job ${jobId} did not finish`);
  };

  /** Runs `act` and expects it to create no job and leave the event log as it was. */
  const expectNoJobNorEvents = async (act: () => Promise<Reply>): Promise<Reply> => {
    const [head, jobs] = [await hub.store.headPosition(), await jobCount()];
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(head);
    expect(await jobCount()).toBe(jobs);
    return result;
  };

  beforeAll(async () => {
    storage = await freshStorage('bulk-enrolment-e2e');
    hub = await startHub(storage.storage);
    [alice, mia, lea, eve] = await Promise.all([
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'mia', 'org-a', ['COURSE_MENTOR']),
      issueKey(hub, 'lea', 'org-a', ['LEARNER']),
      issueKey(hub, 'eve', 'org-b', ['ORG_ADMIN']),
    ]);
    const everyone = [...users, 'mia', 'lea', 'csv-1', 'csv-2', 'csv-3'];
    for (let from = 0; from < everyone.length; from += 20)
      await Promise.all(
        everyone.slice(from, from + 20).map(async (userId) => {
          const response = await hub.call(ADMIN_TOKEN, 'PUT', `/v1/users/${userId}/profile`, {
            organisationId: 'org-a',
            name: `User ${userId}`,
          });
          if (response.status !== 200)
            throw new Error(`recording ${userId} failed: ${JSON.stringify(response.body)}`);
        }),
      );
    await recordUser(hub, 'max', 'org-b');
    await createCourseAndOpenBatch(hub, alice, {
      courseId: 'course-bulk',
      batchId: BATCH,
      name: 'Bulk',
      mentors: ['mia'],
    });
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('enrols a JSON list as a tracked job and reports the rows it could not enrol', async () => {
    const response = await submit(alice, { userIds: list });
    expect(response.status).toBe(202);
    firstJob = response.body.jobId;
    expect(firstJob).toMatch(ULID);
    expect(response.headers.get('location')).toBe(`${BULK}/${firstJob}`);
    expect(response.body).toMatchObject({
      batchId: BATCH,
      total: 303,
      requestedBy: 'alice',
      error: null,
    });
    expect(['queued', 'running', 'completed']).toContain(response.body.status);

    const job = await finished(firstJob);
    expect(job).toMatchObject({
      jobId: firstJob,
      status: 'completed',
      total: 303,
      processed: 303,
      percent: 100,
      enrolled: 300,
      alreadyEnrolled: 0,
      failed: 3,
      error: null,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });

    const failures = await hub.call(alice, 'GET', `${BULK}/${firstJob}/failures`);
    expect(failures.status).toBe(200);
    expect(failures.body).toEqual({ items: expectedFailures, nextAfter: null });

    const first = await hub.call(alice, 'GET', `${BULK}/${firstJob}/failures?limit=2`);
    expect(first.body).toEqual({ items: expectedFailures.slice(0, 2), nextAfter: 152 });
    const rest = await hub.call(alice, 'GET', `${BULK}/${firstJob}/failures?limit=2&after=152`);
    expect(rest.body).toEqual({ items: expectedFailures.slice(2), nextAfter: null });

    const participants = await hub.call(alice, 'GET', `/v1/batches/${BATCH}/participants?limit=1`);
    expect(participants.body.counts).toEqual({ total: 300, active: 300, completed: 0 });
    expect((await hub.call(mia, 'GET', `/v1/batches/${BATCH}/progress/u-0300`)).body).toMatchObject(
      { userId: 'u-0300', active: true, status: 0 },
    );
  });

  it('shows the job to those who manage the batch, not to others', async () => {
    expect((await hub.call(mia, 'GET', `${BULK}/${firstJob}`)).status).toBe(200);
    expect((await hub.call(mia, 'GET', `${BULK}/${firstJob}/failures`)).status).toBe(200);
    expectProblem(await hub.call(lea, 'GET', `${BULK}/${firstJob}`), 404, 'JOB_NOT_FOUND');
    expectProblem(await hub.call(eve, 'GET', `${BULK}/${firstJob}`), 404, 'JOB_NOT_FOUND');
    expectProblem(
      await hub.call(alice, 'GET', `${BULK}/01ARZ3NDEKTSV4RRFFQ69G5FAV`),
      404,
      'JOB_NOT_FOUND',
    );
    expectProblem(
      await hub.call(alice, 'GET', `${BULK}/${firstJob}/failures?limit=0`),
      400,
      'INVALID_INPUT',
    );
  });

  it('makes a new job for the same list sent again without a key, enrolling nobody twice', async () => {
    const head = await hub.store.headPosition();
    const response = await submit(alice, { userIds: list });
    expect(response.status).toBe(202);
    const jobId = response.body.jobId;
    expect(jobId).not.toBe(firstJob);

    const job = await finished(jobId);
    expect(job).toMatchObject({
      status: 'completed',
      total: 303,
      processed: 303,
      percent: 100,
      enrolled: 0,
      alreadyEnrolled: 300,
      failed: 3,
    });
    // No UserEnrolled (nor anything else) was appended by the second job: only its own record.
    const appended = await hub.store.readAll({ from: head!, includeUnsettled: true });
    expect(appended.map((event) => [event.stream, event.type])).toEqual([
      [`bulk-enrolment-${jobId}`, 'BulkEnrolmentRequested'],
      [`bulk-enrolment-${jobId}`, 'BulkEnrolmentCompleted'],
    ]);
    expect(appended[1]!.data).toMatchObject({ enrolled: 0, alreadyEnrolled: 300, failed: 3 });
    const failures = await hub.call(alice, 'GET', `${BULK}/${jobId}/failures`);
    expect(failures.body.items).toEqual(expectedFailures);
  });

  it('returns the first job for a repeated Idempotency-Key', async () => {
    const userIds = ['u-0001', 'u-0002', 'mia'];
    const key = { 'idempotency-key': 'retry-me.1' };
    const first = await submit(alice, { userIds }, key);
    expect(first.status).toBe(202);
    const job = await finished(first.body.jobId);
    expect(job).toMatchObject({ enrolled: 1, alreadyEnrolled: 2, failed: 0 });

    const again = await expectNoJobNorEvents(() => submit(alice, { userIds }, key));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ jobId: first.body.jobId, status: 'completed' });
    expect(again.headers.get('location')).toBe(`${BULK}/${first.body.jobId}`);

    const other = await expectNoJobNorEvents(() => submit(alice, { userIds: ['u-0003'] }, key));
    expectProblem(other, 409, 'IDEMPOTENCY_KEY_REUSED');
    expect(other.body.jobId).toBe(first.body.jobId);
  });

  it('tells lists apart that differ only in how the ids are split', async () => {
    const key = { 'idempotency-key': 'split-1' };
    const first = await submit(alice, { userIds: ['u-0001\nu-0002'] }, key);
    expect(first.status).toBe(202);
    const job = await finished(first.body.jobId);
    expect(job).toMatchObject({ enrolled: 0, failed: 1 });
    // ["a\nb"] and ["a", "b"] are different requests: the key must not return the first job.
    const other = await submit(alice, { userIds: ['u-0001', 'u-0002'] }, key);
    expectProblem(other, 409, 'IDEMPOTENCY_KEY_REUSED');
    if (other.status === 202) await finished(other.body.jobId);
  });

  it('refuses a malformed Idempotency-Key', async () => {
    const response = await expectNoJobNorEvents(() =>
      submit(alice, { userIds: ['u-0001'] }, { 'idempotency-key': 'has space' }),
    );
    expectProblem(response, 400, 'INVALID_IDEMPOTENCY_KEY');
  });

  it('enrols the users of a CSV upload', async () => {
    const csv = 'userId,name\r\ncsv-1,Carla\r\n"csv-2",Chen\r\n\r\ncsv-3\r\nu-0001\r\n';
    const response = await submit(alice, csv, { 'content-type': 'text/csv' });
    expect(response.status).toBe(202);
    expect(response.body.total).toBe(4);
    const job = await finished(response.body.jobId);
    expect(job).toMatchObject({
      status: 'completed',
      total: 4,
      processed: 4,
      percent: 100,
      enrolled: 3,
      alreadyEnrolled: 1,
      failed: 0,
    });
    const participants = await hub.call(alice, 'GET', `/v1/batches/${BATCH}/participants?limit=3`);
    const shown = participants.body.items as { userId: string }[];
    expect(shown.map((item) => item.userId)).toEqual(['csv-1', 'csv-2', 'csv-3']);
  });

  const JSON_TYPE = 'application/json';
  it.each<[string, () => unknown, string]>([
    ['an object with other keys', () => ({ userIds: ['u-0001'], batchId: BATCH }), JSON_TYPE],
    ['an object without userIds', () => ({ ids: ['u-0001'] }), JSON_TYPE],
    ['an empty array', () => [], JSON_TYPE],
    ['an empty userIds', () => ({ userIds: [] }), JSON_TYPE],
    ['numbers', () => ({ userIds: [1, 2, 3] }), JSON_TYPE],
    ['a bare array of numbers', () => [1], JSON_TYPE],
    ['userIds that is a string', () => ({ userIds: 'u-0001' }), JSON_TYPE],
    ['null', () => 'null', JSON_TYPE],
    ['a number', () => '42', JSON_TYPE],
    [
      'more than 100,000 ids',
      () => ({ userIds: Array.from({ length: 100_001 }, (_, index) => `x-${index}`) }),
      JSON_TYPE,
    ],
    ['a CSV with only a header', () => 'userId\n\n', 'text/csv'],
  ])('refuses %s with 400, creating no job', async (_, body, contentType) => {
    // Every row names its content type: a missing argument would make Jest pass `done` instead.
    const response = await expectNoJobNorEvents(() =>
      submit(alice, body(), { 'content-type': contentType }),
    );
    expectProblem(response, 400, 'INVALID_BULK_REQUEST');
  });

  it.each<[string, () => string | null, string, number, string]>([
    ['a learner', () => lea, BULK, 403, 'UNAUTHORIZED_USER'],
    ['another organisation’s admin', () => eve, BULK, 404, 'BATCH_NOT_FOUND'],
    [
      'anyone, for an unknown batch',
      () => alice,
      '/v1/batches/nope/enrolments/bulk',
      404,
      'BATCH_NOT_FOUND',
    ],
  ])('refuses %s, creating no job', async (_, token, path, status, code) => {
    const response = await expectNoJobNorEvents(() =>
      submit(token(), { userIds: ['u-0001'] }, {}, path),
    );
    expectProblem(response, status, code);
  });

  it('needs a credential', async () => {
    const response = await expectNoJobNorEvents(() => submit(null, { userIds: ['u-0001'] }));
    expect(response.status).toBe(401);
  });

  it('counts the bulk-enrolled users among the participants', async () => {
    const participants = await hub.call(mia, 'GET', `/v1/batches/${BATCH}/participants`);
    expect(participants.status).toBe(200);
    // 300 from the JSON list, mia by key, and three from the CSV.
    expect(participants.body.counts).toEqual({ total: 304, active: 304, completed: 0 });
    expect(participants.body.items).toHaveLength(100);
    expect(participants.body.nextCursor).not.toBeNull();
    const mine = await hub.call(lea, 'GET', '/v1/users/lea/enrolments');
    expect(mine.body.items).toEqual([]);
  });
});
