import {
  freshStorage,
  HubStorage,
  issueKey,
  recordUser,
  RunningHub,
  sampleHierarchy,
  startHub,
  utcDay,
} from '../support/hub-harness';

/** One learner from enrolment to certificate, through the HTTP API on real PostgreSQL. */
describe('Enrolment journey', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // course creator, org-a
  let lea: string; // learner, org-a

  beforeAll(async () => {
    storage = await freshStorage('enrolment-journey');
    hub = await startHub(storage.storage);
    alice = await issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']);
    lea = await issueKey(hub, 'lea', 'org-a', ['LEARNER']);
    await recordUser(hub, 'lea', 'org-a', { name: 'Lea Learner' });
    const course = await hub.call(alice, 'POST', '/v1/courses', {
      courseId: 'course-j',
      name: 'Journey',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    const batch = await hub.call(alice, 'POST', '/v1/batches', {
      batchId: 'batch-j',
      courseId: 'course-j',
      name: 'Now',
      enrollmentType: 'open',
      startDate: new Date().toISOString(),
      endDate: utcDay(30),
      certificateCriteria: { minCompletionPercent: 100, minScorePercent: 50 },
    });
    expect(batch.status).toBe(201);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('enrols, records progress and an attempt, completes and issues the certificate', async () => {
    const enrolled = await hub.call(lea, 'POST', '/v1/batches/batch-j/enrolments', {});
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ userId: 'lea', active: true, status: 0 });

    const again = await hub.call(lea, 'POST', '/v1/batches/batch-j/enrolments', {});
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('USER_ALREADY_ENROLLED_COURSE');

    const at = new Date().toISOString();
    const progress = await hub.call(lea, 'POST', '/v1/batches/batch-j/progress', {
      contents: [
        { contentId: 'content-1', status: 2, lastAccessTime: at },
        { contentId: 'content-3', status: 1, lastAccessTime: at },
      ],
    });
    expect(progress.status).toBe(200);
    expect(progress.body.results[0]).toMatchObject({ userId: 'lea', changed: true, status: 1 });
    // content-1 of three required (content-1, quiz-1, content-3): 33 %
    expect(progress.body.results[0].progressPercent).toBe(33);

    const attempt = await hub.call(lea, 'POST', '/v1/batches/batch-j/assessments', {
      contentId: 'quiz-1',
      attemptId: 'attempt-1',
      submittedAt: at,
      responses: [
        { questionId: 'q1', type: 'mcq', score: 4, maxScore: 5 },
        { questionId: 'q2', type: 'mcq', score: 3, maxScore: 5 },
      ],
    });
    expect(attempt.status).toBe(200);
    expect(attempt.body).toMatchObject({ totalScore: 7, totalMaxScore: 10, progressPercent: 66 });

    const done = await hub.call(lea, 'POST', '/v1/batches/batch-j/progress', {
      contents: [{ contentId: 'content-3', status: 2, lastAccessTime: new Date().toISOString() }],
    });
    expect(done.body).toMatchObject({ failed: 0 });
    expect(done.body.results[0]).toMatchObject({
      status: 2,
      progressPercent: 100,
      certificateStatus: 'Issued',
    });

    const view = await hub.call(lea, 'GET', '/v1/batches/batch-j/progress/lea');
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      status: 2,
      progressPercent: 100,
      totalScore: 7,
      certificateStatus: 'Issued',
      unitProgress: { 'unit-1': 100 },
    });
    expect(view.body.completedOn).not.toBeNull();

    const mine = await hub.call(lea, 'GET', '/v1/users/lea/enrolments');
    expect(mine.body.items).toHaveLength(1);

    const participants = await hub.call(alice, 'GET', '/v1/batches/batch-j/participants');
    expect(participants.status).toBe(200);
    expect(participants.body.counts).toEqual({ total: 1, active: 1, completed: 1 });
  });
});
