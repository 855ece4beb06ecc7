import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { SMTPServer } from 'smtp-server';
import { testConfig } from '../support/hub-config';
import {
  createCourseAndOpenBatch,
  sampleHierarchy,
  utcDay,
  freshStorage,
  HubStorage,
  issueKey,
  recordUser,
  RunningHub,
  startHub,
} from '../support/hub-harness';
import { eventually } from '../support/eventually';
import { csvIn } from '../support/report-zips';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const expectProblem = (response: Reply, status: number, code: string) =>
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });

describe('report requests (exhausts)', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a: creates the course and batch, asks for reports
  let mia: string; // COURSE_MENTOR of org-a, mentor of the batch
  let max: string; // COURSE_MENTOR of org-a, not the batch's
  let lea: string;
  let leo: string;

  const enrolAndLearn = async (token: string, contents: string[]) => {
    expect((await hub.call(token, 'POST', '/v1/batches/batch-r/enrolments', {})).status).toBe(201);
    const at = new Date().toISOString();
    const progress = await hub.call(token, 'POST', '/v1/batches/batch-r/progress', {
      contents: contents.map((contentId) => ({ contentId, status: 2, lastAccessTime: at })),
    });
    expect(progress.status).toBe(200);
  };

  const finished = (requestId: string, token = alice) =>
    eventually(
      async () => {
        const job = await hub.call(token, 'GET', `/v1/jobs/${requestId}`);
        const { state, details } = job.body ?? {};
        if (state === 'queued' || state === 'running') throw new Error(`the job is ${state}`);
        if (details?.status !== 'SUCCESS' && details?.status !== 'FAILED')
          throw new Error(`the request is ${details?.status}`);
        return job.body;
      },
      { timeoutMs: 15_000 },
    );

  beforeAll(async () => {
    storage = await freshStorage('exhausts-e2e');
    hub = await startHub(storage.storage);
    [alice, mia, max, lea, leo] = await Promise.all([
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'mia', 'org-a', ['COURSE_MENTOR']),
      issueKey(hub, 'max', 'org-a', ['COURSE_MENTOR']),
      issueKey(hub, 'lea', 'org-a', ['LEARNER']),
      issueKey(hub, 'leo', 'org-a', ['LEARNER']),
    ]);
    await recordUser(hub, 'mia', 'org-a');
    await recordUser(hub, 'max', 'org-a');
    await recordUser(hub, 'lea', 'org-a', { name: 'Lea L', state: 'Kerala', userType: 'student' });
    await recordUser(hub, 'leo', 'org-a', { name: 'Leo L', district: '=HYPERLINK("x")' });
    await createCourseAndOpenBatch(hub, alice, {
      courseId: 'course-r',
      batchId: 'batch-r',
      name: 'Reports',
      mentors: ['mia'],
    });
    await enrolAndLearn(lea, ['content-1', 'content-3']);
    await enrolAndLearn(leo, ['content-1']);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('makes a progress exhaust: the reference columns, one row per active learner, zipped with the key', async () => {
    const asked = await hub.call(mia, 'POST', '/v1/jobs', {
      type: 'progress-exhaust',
      batchId: 'batch-r',
      encryptionKey: 'secret-key-1',
    });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({
      jobId: 'progress-exhaust',
      tag: 'batch-r:org-a',
      requestedBy: 'mia',
      requestedChannel: 'org-a',
      requestData: { batchIds: ['batch-r'], encrypted: true },
    });
    expect(asked.body.requestId).toMatch(/^[0-9A-F]{32}$/);
    expect(asked.headers.get('location')).toBe(`/v1/jobs/${asked.body.requestId}`);

    const done = await finished(asked.body.requestId, mia);
    expect(done).toMatchObject({ kind: 'exhaust', state: 'completed' });
    expect(done.details).toMatchObject({
      status: 'SUCCESS',
      iteration: 0,
      errMessage: null,
      dtJobCompleted: expect.any(String),
      executionTime: expect.any(Number),
      rowsWritten: 2,
      processedBatches: [{ batchId: 'batch-r', rows: 2 }],
    });
    expect(done.details.downloadUrls[0]).toMatch(
      new RegExp(`^progress-exhaust/${asked.body.requestId}/batch-r_progress_\\d{8}\\.zip$`),
    );

    const link = await hub.call(mia, 'GET', `/v1/jobs/${asked.body.requestId}/download`);
    expect(link.status).toBe(200);
    const url = new URL(link.body.url);
    // The link opens without a credential; the file is a zip that needs the key.
    const file = await fetch(`${hub.base}${url.pathname}${url.search}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/zip');
    const zip = await file.blob();
    await expect(csvIn(zip)).rejects.toThrow();
    await expect(csvIn(zip, 'wrong-key')).rejects.toThrow();
    const lines = (await csvIn(zip, 'secret-key-1')).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'Collection Id,Collection Name,Batch Id,Batch Name,User UUID,State,District,Org Name,' +
        'School Id,School Name,Block Name,Cluster Name,User Type,User Sub Type,Declared Board,' +
        'Enrolment Date,Completion Date,Certificate Status,Progress,Total Score,' +
        'unit-1 - Progress,quiz-1 - Score',
    );
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^course-r,Reports,BatchId_batch-r,Reports,lea,Kerala,,/);
    // Lea completed two of three required contents (content-1, content-3; not quiz-1): 66 %.
    expect(lines[1]).toContain(',student,');
    expect(lines[1]).toMatch(/,66,,\d+,$/);
    // A district that a spreadsheet would run as a formula is written as text.
    expect(lines[2]).toMatch(
      /^course-r,Reports,BatchId_batch-r,Reports,leo,,"'=HYPERLINK\(""x""\)",/,
    );

    // The download is recorded, as an event of the request.
    const events = await hub.store.readStream(`exhaust-request-${asked.body.requestId}`);
    expect(events.map((event) => event.type)).toEqual([
      'ExhaustRequested',
      'ExhaustStarted',
      'ExhaustCompleted',
      'ExhaustDownloaded',
    ]);
  });

  it('answers the same request on the same day with the request it made (200)', async () => {
    const first = await hub.call(alice, 'POST', '/v1/jobs', {
      type: 'course-progress-report',
      batchIds: ['batch-r', 'batch-r'],
    });
    expect(first.status).toBe(201);
    const again = await hub.call(alice, 'POST', '/v1/jobs', {
      type: 'course-progress-report',
      batchIds: ['batch-r'],
    });
    expect(again.status).toBe(200);
    expect(again.body.requestId).toBe(first.body.requestId);
    const done = await finished(first.body.requestId);
    expect(done.details).toMatchObject({ status: 'SUCCESS', processedBatches: [{ rows: 2 }] });
  });

  it('makes a response exhaust: one row per question of each attempt', async () => {
    const attempt = await hub.call(lea, 'POST', '/v1/batches/batch-r/assessments', {
      contentId: 'quiz-1',
      attemptId: 'attempt-1',
      submittedAt: '2026-12-01T10:15:30.000Z',
      responses: [
        { questionId: 'q1', type: 'mcq', score: 4, maxScore: 5 },
        { questionId: 'q2', type: 'mtf', score: 3, maxScore: 5 },
      ],
    });
    expect(attempt.status).toBe(200);
    const asked = await hub.call(mia, 'POST', '/v1/jobs', {
      type: 'response-exhaust',
      batchId: 'batch-r',
    });
    expect(asked.status).toBe(201);
    const done = await eventually(
      async () => {
        const job = await hub.call(mia, 'GET', `/v1/jobs/${asked.body.requestId}`);
        if (job.body?.details?.status !== 'SUCCESS') throw new Error('not yet');
        return job.body;
      },
      { timeoutMs: 15_000 },
    );
    expect(done.details.processedBatches).toMatchObject([{ batchId: 'batch-r', rows: 2 }]);
    const link = await hub.call(mia, 'GET', `/v1/jobs/${asked.body.requestId}/download`);
    const url = new URL(link.body.url);
    const zip = await (await fetch(`${hub.base}${url.pathname}${url.search}`)).blob();
    const lines = (await csvIn(zip)).trimEnd().split('\r\n');
    expect(lines[0]).toContain(
      'QuestionSet Id,QuestionSet Title,Attempt Id,Attempted On,Question Id',
    );
    expect(lines.slice(1).map((line) => line.split(',').slice(4, 11))).toEqual([
      ['lea', 'quiz-1', 'Quiz', 'attempt-1', '2026-12-01 10:15:30', 'q1', 'mcq'],
      ['lea', 'quiz-1', 'Quiz', 'attempt-1', '2026-12-01 10:15:30', 'q2', 'mtf'],
    ]);
  });

  it('fails a request naming only unknown batches with "No data found"', async () => {
    const asked = await hub.call(alice, 'POST', '/v1/jobs', {
      type: 'progress-exhaust',
      batchIds: ['no-such-batch'],
    });
    expect(asked.status).toBe(201);
    const done = await finished(asked.body.requestId);
    expect(done.details).toMatchObject({
      status: 'FAILED',
      errMessage: 'No data found',
      iteration: 1,
    });
    const link = await hub.call(alice, 'GET', `/v1/jobs/${asked.body.requestId}/download`);
    expectProblem(link, 404, 'FILE_NOT_FOUND');
  });

  it('refuses a mentor of another batch, learners, and bad requests, recording nothing', async () => {
    const head = await hub.store.headPosition();
    expectProblem(
      await hub.call(max, 'POST', '/v1/jobs', { type: 'progress-exhaust', batchId: 'batch-r' }),
      403,
      'UNAUTHORIZED_USER',
    );
    expectProblem(
      await hub.call(lea, 'POST', '/v1/jobs', { type: 'progress-exhaust', batchId: 'batch-r' }),
      403,
      'UNAUTHORIZED_USER',
    );
    expectProblem(
      await hub.call(alice, 'POST', '/v1/jobs', { type: 'progress-exhaust' }),
      400,
      'INVALID_EXHAUST_REQUEST',
    );
    expectProblem(
      await hub.call(alice, 'POST', '/v1/jobs', {
        type: 'progress-exhaust',
        batchIds: Array.from({ length: 21 }, (_, i) => `b-${i}`),
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await hub.call(alice, 'POST', '/v1/jobs', { type: 'everything', batchId: 'batch-r' }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await hub.store.headPosition()).toEqual(head);
  });

  it("lists requests: the caller's own, or an admin's organisation's, newest first, filtered", async () => {
    const olga = await issueKey(hub, 'olga', 'org-a', ['ORG_ADMIN']);
    const eve = await issueKey(hub, 'eve', 'org-b', ['ORG_ADMIN']);
    await eventually(async () => {
      const mine = await hub.call(mia, 'GET', '/v1/jobs');
      expect(mine.status).toBe(200);
      const items = mine.body.items as Array<{ requestedBy: string }>;
      expect(items.map((item) => item.requestedBy)).toEqual(['mia', 'mia']);
      expect(mine.body.items).toMatchObject([
        { jobId: 'response-exhaust', status: 'SUCCESS', downloads: 1 },
        { jobId: 'progress-exhaust', status: 'SUCCESS', downloads: 1 },
      ]);
    });
    const all = await hub.call(olga, 'GET', '/v1/jobs?limit=2');
    expect(all.body.items).toHaveLength(2);
    const rest = await hub.call(olga, 'GET', `/v1/jobs?limit=2&cursor=${all.body.nextCursor}`);
    expect([...all.body.items, ...rest.body.items]).toHaveLength(4);
    expect(rest.body.nextCursor).toBeNull();
    const failed = await hub.call(olga, 'GET', '/v1/jobs?status=FAILED');
    const failures = failed.body.items as Array<{ errMessage: string }>;
    expect(failures.map((item) => item.errMessage)).toEqual(['No data found']);
    expect((await hub.call(eve, 'GET', '/v1/jobs')).body.items).toEqual([]);
    expectProblem(await hub.call(olga, 'GET', '/v1/jobs?status=DONE'), 400, 'VALIDATION_FAILED');
  });

  it('counts the download ratio per batch, course and organisation, from the download events', async () => {
    const olga = await issueKey(hub, 'olga-2', 'org-a', ['ORG_ADMIN']);
    const eve = await issueKey(hub, 'eve-2', 'org-b', ['ORG_ADMIN']);
    // Three reports of batch-r made, two of them downloaded once each.
    const ratios = await hub.call(olga, 'GET', '/v1/metrics/exhaust-downloads');
    expect(ratios.status).toBe(200);
    expect(ratios.body).toEqual({
      allCourses: { batches: 1, downloads: 2, ratio: 2 },
      byOrganisation: [{ organisationId: 'org-a', batches: 1, downloads: 2, ratio: 2 }],
      byCourse: [{ courseId: 'course-r', batches: 1, downloads: 2, ratio: 2 }],
      byBatch: [
        { batchId: 'batch-r', courseId: 'course-r', files: 3, batches: 1, downloads: 2, ratio: 2 },
      ],
    });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const none = await hub.call(olga, 'GET', `/v1/metrics/exhaust-downloads?from=${later}`);
    expect(none.body.allCourses).toEqual({ batches: 0, downloads: 0, ratio: null });
    const elsewhere = await hub.call(eve, 'GET', '/v1/metrics/exhaust-downloads');
    expect(elsewhere.body.byBatch).toEqual([]);
    expectProblem(await hub.call(mia, 'GET', '/v1/metrics/exhaust-downloads'), 403, 'MISSING_ROLE');
  });

  it('refuses a tampered download link', async () => {
    const response = await fetch(`${hub.base}/v1/report-files?token=v1.abc.123.def`);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code?: string }).code).toBe('DOWNLOAD_LINK_INVALID');
  });

  it('makes a user-info report of a course that asks for consent: consented learners only, encrypted', async () => {
    const course = await hub.call(alice, 'POST', '/v1/courses', {
      courseId: 'course-u',
      name: 'Consenting',
      trackable: { enabled: true },
      userConsent: true,
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    expect(course.body.userConsent).toBe(true);
    const batch = await hub.call(alice, 'POST', '/v1/batches', {
      batchId: 'batch-u',
      courseId: 'course-u',
      name: 'Consenting',
      enrollmentType: 'open',
      startDate: new Date().toISOString(),
      endDate: utcDay(30),
      mentors: ['mia'],
    });
    expect(batch.status).toBe(201);
    for (const learner of [lea, leo])
      expect((await hub.call(learner, 'POST', '/v1/batches/batch-u/enrolments', {})).status).toBe(
        201,
      );
    expect((await hub.call(lea, 'PUT', '/v1/users/lea/consents/course-u')).status).toBe(200);

    expectProblem(
      await hub.call(mia, 'POST', '/v1/jobs', { type: 'userinfo-exhaust', batchId: 'batch-u' }),
      400,
      'INVALID_EXHAUST_REQUEST',
    );
    const asked = await hub.call(mia, 'POST', '/v1/jobs', {
      type: 'userinfo-exhaust',
      batchId: 'batch-u',
      encryptionKey: 'userinfo-key',
    });
    expect(asked.status).toBe(201);
    const done = await finished(asked.body.requestId, mia);
    expect(done.details).toMatchObject({ status: 'SUCCESS', processedBatches: [{ rows: 1 }] });
    const link = await hub.call(mia, 'GET', `/v1/jobs/${asked.body.requestId}/download`);
    const url = new URL(link.body.url);
    const zip = await (await fetch(`${hub.base}${url.pathname}${url.search}`)).blob();
    const lines = (await csvIn(zip, 'userinfo-key')).trimEnd().split('\r\n');
    expect(
      lines[0]!.endsWith('Email ID,Mobile Number,Consent Provided,Consent Provided Date'),
    ).toBe(true);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^course-u,Consenting,BatchId_batch-u,Consenting,lea,Lea L,student,/);

    // A course that does not ask for consent has no user-info report: the reference's words.
    const refused = await hub.call(mia, 'POST', '/v1/jobs', {
      type: 'userinfo-exhaust',
      batchId: 'batch-r',
      encryptionKey: 'userinfo-key',
    });
    const failed = await finished(refused.body.requestId, mia);
    expect(failed.details).toMatchObject({
      status: 'FAILED',
      errMessage:
        "Invalid request. User info exhaust is not applicable for collections which don't request for user consent to share data",
    });
  });
});

describe('report mail', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let smtp: SMTPServer;
  const received: Array<{ to: string[]; raw: string }> = [];

  beforeAll(async () => {
    smtp = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        void text(stream).then((raw) => {
          received.push({ raw, to: session.envelope.rcptTo.map((rcpt) => rcpt.address) });
          callback();
        }, callback);
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const { port } = smtp.server.address() as AddressInfo;
    storage = await freshStorage('exhaust-mail-e2e');
    hub = await startHub(storage.storage, {
      exhausts: {
        ...testConfig(storage.storage).exhausts!,
        smtpUrl: `smtp://127.0.0.1:${port}`,
        attachmentMaxBytes: 1_000_000,
      },
    });
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('mails the requester when the report is ready, with the file attached and a link', async () => {
    const alice = await issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']);
    const lea = await issueKey(hub, 'lea', 'org-a', ['LEARNER']);
    await recordUser(hub, 'alice', 'org-a', { email: 'alice@example.org' });
    await recordUser(hub, 'lea', 'org-a');
    await createCourseAndOpenBatch(hub, alice, {
      courseId: 'course-m',
      batchId: 'batch-m',
      name: 'Mail',
      mentors: [],
    });
    expect((await hub.call(lea, 'POST', '/v1/batches/batch-m/enrolments', {})).status).toBe(201);
    const startedAt = Date.now();
    const asked = await hub.call(alice, 'POST', '/v1/jobs', {
      type: 'progress-exhaust',
      batchId: 'batch-m',
    });
    expect(asked.status).toBe(201);

    const mail = await eventually(
      async () => {
        const [first] = received;
        if (!first) throw new Error('no mail yet');
        return first;
      },
      { timeoutMs: 15_000 },
    );
    expect(Date.now() - startedAt).toBeLessThan(60_000);
    expect(mail.to).toEqual(['alice@example.org']);
    expect(mail.raw).toMatch(/Subject: Your progress-exhaust report is ready/);
    expect(mail.raw).toContain('/v1/report-files?token=');
    const attachment =
      /filename="?(batch-m_progress_\d{8}\.zip)"?[\s\S]*?\r\n\r\n([A-Za-z0-9+/=\r\n]+)/.exec(
        mail.raw,
      );
    expect(attachment?.[1]).toBeDefined();
    const zip = new Blob([Buffer.from(attachment![2]!.replace(/\r\n/g, ''), 'base64')]);
    const lines = (await csvIn(zip)).trimEnd().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^course-m,Mail,BatchId_batch-m,Mail,lea,/);
  });
});

describe('report retries', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let blocker: string;

  const state = async (token: string, requestId: string) =>
    (await hub.call(token, 'GET', `/v1/jobs/${requestId}`)).body as {
      state: string;
      attempts: number;
      details: { status: string; iteration: number; errMessage: string | null };
    };

  beforeAll(async () => {
    // The report folder's parent is a file: every write fails until the test clears it.
    blocker = join(mkdtempSync(join(tmpdir(), 'exhaust-retries-')), 'blocked');
    writeFileSync(blocker, 'not a folder');
    storage = await freshStorage('exhaust-retries-e2e');
    hub = await startHub(storage.storage, {
      exhausts: { ...testConfig(storage.storage).exhausts!, dir: join(blocker, 'exhaust') },
    });
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('runs a failing request three times, each run an iteration, then leaves it failed; one that recovers succeeds', async () => {
    const alice = await issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']);
    const lea = await issueKey(hub, 'lea', 'org-a', ['LEARNER']);
    await recordUser(hub, 'lea', 'org-a');
    await createCourseAndOpenBatch(hub, alice, {
      courseId: 'course-t',
      batchId: 'batch-t',
      name: 'Retries',
      mentors: [],
    });
    expect((await hub.call(lea, 'POST', '/v1/batches/batch-t/enrolments', {})).status).toBe(201);

    const doomed = await hub.call(alice, 'POST', '/v1/jobs', {
      type: 'progress-exhaust',
      batchId: 'batch-t',
    });
    const failed = await eventually(
      async () => {
        const now = await state(alice, doomed.body.requestId);
        if (now.state !== 'failed') throw new Error(`the job is ${now.state}`);
        return now;
      },
      { timeoutMs: 20_000 },
    );
    expect(failed.attempts).toBe(3);
    expect(failed.details).toMatchObject({ status: 'FAILED', iteration: 3 });
    expect(failed.details.errMessage).toMatch(/ENOTDIR|not a directory/i);

    const recovering = await hub.call(alice, 'POST', '/v1/jobs', {
      type: 'course-progress-report',
      batchId: 'batch-t',
    });
    await eventually(
      async () => {
        const now = await state(alice, recovering.body.requestId);
        if (now.details.iteration < 1) throw new Error('no failed run yet');
      },
      { timeoutMs: 10_000 },
    );
    rmSync(blocker);
    mkdirSync(blocker);
    const done = await eventually(
      async () => {
        const now = await state(alice, recovering.body.requestId);
        if (now.state !== 'completed') throw new Error(`the job is ${now.state}`);
        return now;
      },
      { timeoutMs: 20_000 },
    );
    expect(done.details).toMatchObject({ status: 'SUCCESS', errMessage: null });
    expect(done.details.iteration).toBeGreaterThanOrEqual(1);
    expect(done.details.iteration).toBeLessThan(3);

    // The request that failed, asked for again the same day, is the same request, run again.
    const again = await hub.call(alice, 'POST', '/v1/jobs', {
      type: 'progress-exhaust',
      batchId: 'batch-t',
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ requestId: doomed.body.requestId, status: 'SUBMITTED' });
    const remade = await eventually(
      async () => {
        const now = await state(alice, doomed.body.requestId);
        if (now.state !== 'completed') throw new Error(`the job is ${now.state}`);
        return now;
      },
      { timeoutMs: 20_000 },
    );
    expect(remade.details).toMatchObject({ status: 'SUCCESS', iteration: 3, errMessage: null });
    const events = await hub.store.readStream(`exhaust-request-${doomed.body.requestId}`);
    expect(events.map((event) => event.type).slice(-3)).toEqual([
      'ExhaustResubmitted',
      'ExhaustStarted',
      'ExhaustCompleted',
    ]);
  });
});
