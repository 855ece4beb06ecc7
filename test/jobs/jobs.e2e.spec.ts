import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runJobsCommand } from '../../src/cli/jobs-command';
import { EnrolmentWriter } from '../../src/enrolments/enrolment-writer';
import { JobRunner } from '../../src/jobs/job-runner';
import { Jobs } from '../../src/jobs/jobs';
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

const expectProblem = (response: Reply, status: number, code: string) => {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
};

/** GET /v1/jobs/{id} and POST /v1/jobs/{id}/cancel: any job, whatever its kind. */
describe('Jobs API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a: requests the jobs
  let mia: string; // COURSE_MENTOR of org-a, mentor of the batch: not the requester
  let olga: string; // ORG_ADMIN of org-a
  let eve: string; // ORG_ADMIN of org-b
  let stoppedAt: number | null = null;
  let bulkJob: string;

  beforeAll(async () => {
    storage = await freshStorage('jobs-e2e');
    // While a report runs the state cache keeps nothing (HUB_STATE_CACHE_REPORT_MB=0).
    hub = await startHub(storage.storage, { stateCacheReportMb: 0 });
    [alice, mia, olga, eve] = await Promise.all([
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'mia', 'org-a', ['COURSE_MENTOR']),
      issueKey(hub, 'olga', 'org-a', ['ORG_ADMIN']),
      issueKey(hub, 'eve', 'org-b', ['ORG_ADMIN']),
    ]);
    for (const userId of ['mia', 'u-1', 'u-2']) await recordUser(hub, userId, 'org-a');
    // A kind of job that runs until it is cancelled, as a long report would.
    hub.app.get(JobRunner).register({
      kind: 'test-endless',
      run: async (_job, context) => {
        await context.reportProgress(1, 4);
        while (!context.signal.aborted) await sleep(10);
        stoppedAt = performance.now();
        return null;
      },
    });
    // A memory-heavy kind that reports how many enrolment states the write side keeps meanwhile.
    hub.app.get(JobRunner).register({
      kind: 'test-heavy',
      needsMemoryRoom: true,
      run: async () => ({ cachedStates: hub.app.get(EnrolmentWriter).cachedStates }),
    });
    await createCourseAndOpenBatch(hub, alice, {
      courseId: 'course-jobs',
      batchId: 'batch-jobs',
      name: 'Jobs',
      mentors: ['mia'],
    });
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('shows a bulk enrolment as a job, with its progress and result', async () => {
    const submitted = await hub.call(alice, 'POST', '/v1/batches/batch-jobs/enrolments/bulk', {
      userIds: ['u-1', 'u-2', 'nobody'],
    });
    expect(submitted.status).toBe(202);
    bulkJob = submitted.body.jobId;
    let job: Reply;
    for (;;) {
      job = await hub.call(alice, 'GET', `/v1/jobs/${bulkJob}`);
      expect(job.status).toBe(200);
      if (job.body.state !== 'queued' && job.body.state !== 'running') break;
      await sleep(25);
    }
    expect(job.body).toEqual({
      id: bulkJob,
      kind: 'bulk-enrolment',
      state: 'completed',
      attempts: 1,
      progress: { done: 3, total: 3, percent: 100 },
      result: { enrolled: 2, alreadyEnrolled: 0, failed: 1 },
      error: null,
      createdAt: expect.any(String),
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    // The domain's record of it, beside the users' own UserEnrolled events.
    const events = await hub.store.readStream(`bulk-enrolment-${bulkJob}`);
    expect(events.map((event) => event.type)).toEqual([
      'BulkEnrolmentRequested',
      'BulkEnrolmentCompleted',
    ]);
    expect(events[1]!.data).toMatchObject({ total: 3, enrolled: 2, alreadyEnrolled: 0, failed: 1 });
  });

  it.each<[string, number, () => string]>([
    ['the requester', 200, () => alice],
    ['an admin of its organisation', 200, () => olga],
    ['a system admin', 200, () => ADMIN_TOKEN],
    ['someone else of its organisation', 404, () => mia],
    ['an admin of another organisation', 404, () => eve],
  ])('answers %s with %d', async (_, status, token) => {
    const read = await hub.call(token(), 'GET', `/v1/jobs/${bulkJob}`);
    if (status === 200) expect(read.body).toMatchObject({ id: bulkJob, state: 'completed' });
    else expectProblem(read, 404, 'JOB_NOT_FOUND');
    const cancel = await hub.call(token(), 'POST', `/v1/jobs/${bulkJob}/cancel`);
    if (status === 200) expectProblem(cancel, 409, 'JOB_NOT_CANCELLABLE');
    else expectProblem(cancel, 404, 'JOB_NOT_FOUND');
  });

  it('empties the enrolment state cache while a memory-heavy job runs', async () => {
    const writer = hub.app.get(EnrolmentWriter);
    // The bulk enrolment above left the two learners' states cached.
    expect(writer.cachedStates).toBeGreaterThan(0);
    const { job } = await hub.app.get(Jobs).enqueue({
      kind: 'test-heavy',
      organisationId: 'org-a',
      requestedBy: 'alice',
      payload: {},
    });
    let read = await hub.call(alice, 'GET', `/v1/jobs/${job.id}`);
    while (read.body.state === 'queued' || read.body.state === 'running') {
      await sleep(10);
      read = await hub.call(alice, 'GET', `/v1/jobs/${job.id}`);
    }
    expect(read.body).toMatchObject({ state: 'completed', result: { cachedStates: 0 } });
    // Its bound is back afterwards: reading a learner's enrolment caches its state again.
    expect(await writer.current('batch-jobs', 'u-1')).toMatchObject({ exists: true, active: true });
    expect(writer.cachedStates).toBe(1);
  });

  it('shows and cancels jobs from the CLI (npm run hub -- jobs show|cancel <id>)', async () => {
    const lines: string[] = [];
    const env = { HUB_URL: hub.base, HUB_TOKEN: alice };
    expect(await runJobsCommand(['show', bulkJob], env, (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toBe(`Job ${bulkJob} (bulk-enrolment) completed, attempt 1: 3/3 (100%)`);
    expect(JSON.parse(lines[1]!)).toEqual({ enrolled: 2, alreadyEnrolled: 0, failed: 1 });
    await expect(runJobsCommand(['cancel', bulkJob], env, () => undefined)).rejects.toThrow(
      'The hub refused the request (409 JOB_NOT_CANCELLABLE)',
    );
    await expect(runJobsCommand(['show'], env, () => undefined)).rejects.toThrow('Usage');
  });

  it('answers 404 for a job that does not exist, and needs a credential', async () => {
    expectProblem(
      await hub.call(ADMIN_TOKEN, 'GET', '/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV'),
      404,
      'JOB_NOT_FOUND',
    );
    expect((await hub.call(null, 'GET', `/v1/jobs/${bulkJob}`)).status).toBe(401);
  });

  it('cancels a running job, whose handler stops within a second', async () => {
    const { job } = await hub.app.get(Jobs).enqueue({
      kind: 'test-endless',
      organisationId: 'org-a',
      requestedBy: 'alice',
      payload: {},
    });
    for (;;) {
      const read = await hub.call(alice, 'GET', `/v1/jobs/${job.id}`);
      if (read.body.state === 'running' && read.body.progress.done === 1) {
        expect(read.body.progress).toEqual({ done: 1, total: 4, percent: 25 });
        break;
      }
      await sleep(10);
    }
    expectProblem(await hub.call(eve, 'POST', `/v1/jobs/${job.id}/cancel`), 404, 'JOB_NOT_FOUND');
    const asked = performance.now();
    const cancelled = await hub.call(olga, 'POST', `/v1/jobs/${job.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: job.id,
      state: 'cancelled',
      finishedAt: expect.any(String),
    });
    await hub.app.get(JobRunner).settled(job.id);
    expect(stoppedAt).not.toBeNull();
    expect(stoppedAt! - asked).toBeLessThan(1_000);
    const after = await hub.call(alice, 'GET', `/v1/jobs/${job.id}`);
    expect(after.body).toMatchObject({ state: 'cancelled', result: null });
    expectProblem(
      await hub.call(alice, 'POST', `/v1/jobs/${job.id}/cancel`),
      409,
      'JOB_NOT_CANCELLABLE',
    );
  });

  it('cancels a running bulk enrolment: it stops at its next chunk and records the cancellation', async () => {
    const learners = Array.from({ length: 8_000 }, (_, n) => `bulk-${n}`);
    await seedProfiles(hub, learners);
    const submitted = await hub.call(alice, 'POST', '/v1/batches/batch-jobs/enrolments/bulk', {
      userIds: learners,
    });
    expect(submitted.status).toBe(202);
    const jobId = submitted.body.jobId as string;
    const asked = performance.now();
    const cancelled = await hub.call(alice, 'POST', `/v1/jobs/${jobId}/cancel`);
    expect(cancelled.body).toMatchObject({ state: 'cancelled' });
    await hub.app.get(JobRunner).settled(jobId);
    expect(performance.now() - asked).toBeLessThan(1_000);
    const bulk = await hub.call(alice, 'GET', `/v1/batches/batch-jobs/enrolments/bulk/${jobId}`);
    expect(bulk.body).toMatchObject({ status: 'cancelled' });
    expect(bulk.body.processed).toBeLessThan(learners.length);
    const events = await hub.store.readStream(`bulk-enrolment-${jobId}`);
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['BulkEnrolmentRequested', expect.objectContaining({ total: learners.length })],
      ['BulkEnrolmentCancelled', expect.objectContaining({ cancelledBy: 'alice' })],
    ]);
  });
});

/** Profiles straight into the store: the API would seal personal data for each of them. */
const seedProfiles = async (hub: RunningHub, userIds: string[]) => {
  for (let from = 0; from < userIds.length; from += 100)
    await Promise.all(
      userIds.slice(from, from + 100).map((userId) =>
        hub.store.appendToStream(`user-${userId}`, [
          {
            id: randomUUID(),
            type: 'UserProfileRecorded',
            data: {
              userId,
              organisationId: 'org-a',
              personal: null,
              personalDigest: null,
              attributes: {},
              recordedBy: 'jobs-test',
              recordedAt: new Date().toISOString(),
            },
          },
        ]),
      ),
    );
  const last = userIds.at(-1)!;
  for (let tries = 0; ; tries++) {
    if ((await hub.call(ADMIN_TOKEN, 'GET', `/v1/users/${last}/profile`)).status === 200) return;
    if (tries > 600) throw new Error('The users read model never caught up');
    await sleep(50);
  }
};
