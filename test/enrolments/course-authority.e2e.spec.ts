import { enrolmentsProjection } from '../../projections/enrolments/enrolments.projection';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { enrolmentStream } from '../../src/enrolments/enrolment.events';
import { openDatabase, openEventStore } from '../../src/event-store/storage.module';
import { eventually } from '../support/eventually';
import { testConfig } from '../support/hub-config';
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

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const isoNow = () => new Date().toISOString();

const expectProblem = (response: Reply, status: number, code: string) => {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
};

/** Three required contents and no assessment. */
const plainHierarchy = () => [
  {
    id: 'unit-p',
    name: 'Unit',
    kind: 'unit',
    children: [
      { id: 'p1', name: 'One', kind: 'content' },
      { id: 'p2', name: 'Two', kind: 'content' },
    ],
  },
  { id: 'p3', name: 'Three', kind: 'content' },
];

/** An attempt at quiz-1, which the sample course scores out of 10. */
const attemptBody = (attemptId: string, responses: Record<string, unknown>[]) => ({
  contentId: 'quiz-1',
  attemptId,
  submittedAt: isoNow(),
  responses: responses.map((response, q) => ({
    questionId: `q${q + 1}`,
    type: 'mcq',
    ...response,
  })),
});

/**
 * What the course decides about its enrolments (issue 16): an assessment's maximum, whether the
 * default score rule applies, and the required contents an enrolment starts with.
 */
describe('The course’s authority over its enrolments', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let alice: string; // CONTENT_CREATOR of org-a: the courses' and batches' creator
  let lea: string;
  let leo: string;
  let lou: string;

  const enrol = (token: string, batchId: string) =>
    hub.call(token, 'POST', `/v1/batches/${batchId}/enrolments`, {});
  const progress = (token: string, batchId: string, contentIds: string[]) =>
    hub.call(token, 'POST', `/v1/batches/${batchId}/progress`, {
      contents: contentIds.map((contentId) => ({ contentId, status: 2, lastAccessTime: isoNow() })),
    });
  const attempt = (token: string, batchId: string, body: unknown) =>
    hub.call(token, 'POST', `/v1/batches/${batchId}/assessments`, body);
  const view = (token: string, batchId: string, userId: string) =>
    hub.call(token, 'GET', `/v1/batches/${batchId}/progress/${userId}`);
  const expectNothingAppended = async (act: () => Promise<Reply>): Promise<Reply> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };
  const registerCourse = async (courseId: string, children: unknown) => {
    const response = await hub.call(alice, 'POST', '/v1/courses', {
      courseId,
      name: courseId,
      trackable: { enabled: true },
      children,
    });
    if (response.status !== 201)
      throw new Error(`registering ${courseId} failed: ${JSON.stringify(response.body)}`);
  };
  const createBatch = async (batchId: string, courseId: string, extra = {}) => {
    const response = await hub.call(alice, 'POST', '/v1/batches', {
      batchId,
      courseId,
      name: batchId,
      enrollmentType: 'open',
      startDate: isoNow(),
      endDate: utcDay(30),
      ...extra,
    });
    if (response.status !== 201)
      throw new Error(`creating ${batchId} failed: ${JSON.stringify(response.body)}`);
    return response.body;
  };

  beforeAll(async () => {
    storage = await freshStorage('course-authority-e2e');
    hub = await startHub(storage.storage);
    [alice, lea, leo, lou] = await Promise.all([
      issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']),
      issueKey(hub, 'lea', 'org-a', ['LEARNER']),
      issueKey(hub, 'leo', 'org-a', ['LEARNER']),
      issueKey(hub, 'lou', 'org-a', ['LEARNER']),
    ]);
    await Promise.all(
      ['lea', 'leo', 'lou'].map((userId) =>
        recordUser(hub, userId, 'org-a', { name: `User ${userId}` }),
      ),
    );
    await registerCourse('course-q', sampleHierarchy());
    await registerCourse('course-v', sampleHierarchy());
    await registerCourse('course-p', plainHierarchy());
    const rule = { certificateCriteria: { minCompletionPercent: 100, minScorePercent: 70 } };
    await createBatch('scores-1', 'course-q', rule);
    await createBatch('versions-1', 'course-v');
    await createBatch('default-q', 'course-q');
    await createBatch('default-p', 'course-p');
    await createBatch('given-p', 'course-p', rule);
  });

  afterAll(async () => {
    // The last test stops the hub to rebuild beside it.
    await hub?.close().catch(() => undefined);
    await storage?.dispose();
  });

  describe('scores: an attempt’s maximum is the assessment’s', () => {
    beforeAll(async () => {
      expect((await enrol(lea, 'scores-1')).status).toBe(201);
      expect((await progress(lea, 'scores-1', ['content-1', 'content-3'])).status).toBe(200);
    });

    it('refuses responses out of 5 for a quiz out of 10: no score, no certificate', async () => {
      const response = await expectNothingAppended(() =>
        attempt(lea, 'scores-1', attemptBody('a1', [{ score: 4, maxScore: 5 }])),
      );
      expectProblem(response, 400, 'ATTEMPT_MAX_SCORE_MISMATCH');
      expect(response.body.detail).toMatch(/10/);
      expect((await view(lea, 'scores-1', 'lea')).body).toMatchObject({
        totalScore: 0,
        totalMaxScore: 0,
        certificateStatus: null,
      });
    });

    it.each<[string, Record<string, unknown>[], string]>([
      [
        'maxima above the quiz’s',
        [
          { score: 4, maxScore: 5 },
          { score: 4, maxScore: 15 },
        ],
        'ATTEMPT_MAX_SCORE_MISMATCH',
      ],
      [
        'maxima on some responses only',
        [{ score: 4, maxScore: 5 }, { score: 4 }],
        'ATTEMPT_MAX_SCORE_MISMATCH',
      ],
      [
        'a score above its question’s maximum',
        [
          { score: 6, maxScore: 5 },
          { score: 0, maxScore: 5 },
        ],
        'INVALID_SCORE',
      ],
      ['scores without maxima above the quiz’s', [{ score: 6 }, { score: 5 }], 'SCORE_ABOVE_MAX'],
    ])('refuses %s with 400 and appends nothing', async (_, responses, code) => {
      const response = await expectNothingAppended(() =>
        attempt(lea, 'scores-1', attemptBody('a1', responses)),
      );
      expectProblem(response, 400, code);
    });

    it('scores responses adding up to the quiz’s maximum out of it, and certifies at 80 %', async () => {
      const response = await attempt(
        lea,
        'scores-1',
        attemptBody('a1', [
          { score: 4, maxScore: 5 },
          { score: 4, maxScore: 5 },
        ]),
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        totalScore: 8,
        totalMaxScore: 10,
        assessment: { attemptId: 'a1', score: 8, maxScore: 10 },
        certificateStatus: 'Issued',
      });
    });

    it('scores responses without maxima out of the quiz’s maximum', async () => {
      expect((await enrol(leo, 'scores-1')).status).toBe(201);
      const response = await attempt(
        leo,
        'scores-1',
        attemptBody('a1', [{ score: 3 }, { score: 3 }]),
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        totalScore: 6,
        totalMaxScore: 10,
        assessment: { attemptId: 'a1', score: 6, maxScore: 10, attempts: 1 },
      });
    });

    it('keeps an attempt’s recorded maximum when the hierarchy changes later', async () => {
      expect((await enrol(lea, 'versions-1')).status).toBe(201);
      const first = await attempt(lea, 'versions-1', attemptBody('v1', [{ score: 7 }]));
      expect(first.body).toMatchObject({ assessment: { score: 7, maxScore: 10 } });
      // The sample hierarchy with the quiz out of 20.
      const harder = JSON.parse(
        JSON.stringify(sampleHierarchy()).replace('"maxScore":10', '"maxScore":20'),
      ) as unknown;
      const update = await hub.call(alice, 'PUT', '/v1/courses/course-v/hierarchy', {
        children: harder,
      });
      expect(update.status).toBe(200);
      // Commands see a new hierarchy within a moment; until then 20 does not add up to 10.
      const second = await eventually(async () => {
        const response = await attempt(
          lea,
          'versions-1',
          attemptBody('v2', [{ score: 5, maxScore: 20 }]),
        );
        expect(response.status).toBe(200);
        return response;
      });
      // Best of 7/10 and 5/20: the first, still out of 10.
      expect(second.body).toMatchObject({
        totalScore: 7,
        totalMaxScore: 10,
        assessment: { attemptId: 'v1', score: 7, maxScore: 10, attempts: 2 },
      });
      const recorded = (await hub.store.readStream(enrolmentStream('versions-1', 'lea')))
        .filter((event) => event.type === 'AssessmentAttemptRecorded')
        .map((event) => event.data as { maxScore: number; hierarchyVersion: number });
      expect(
        recorded.map(({ maxScore, hierarchyVersion }) => [maxScore, hierarchyVersion]),
      ).toEqual([
        [10, 1],
        [20, 2],
      ]);
    });
  });

  describe('default criteria: the score rule is for courses with assessments', () => {
    it('says so in the batch and in /docs', async () => {
      const batch = await hub.call(alice, 'GET', '/v1/batches/default-p');
      expect(batch.body.certificateCriteria).toEqual({
        minCompletionPercent: 100,
        minScorePercent: 70,
        scoreRuleDefaulted: true,
      });
      const given = await hub.call(alice, 'GET', '/v1/batches/given-p');
      expect(given.body.certificateCriteria).toEqual({
        minCompletionPercent: 100,
        minScorePercent: 70,
        scoreRuleDefaulted: false,
      });
      const docs = await hub.call(null, 'GET', '/docs/json');
      const criteria = docs.body.components.schemas.CertificateCriteriaDto;
      expect(criteria.properties.minScorePercent.description).toMatch(
        /70 for a course with assessments and no rule for one without/,
      );
    });

    it('certifies completion of a course without assessments under the default criteria', async () => {
      expect((await enrol(lou, 'default-p')).status).toBe(201);
      const done = await progress(lou, 'default-p', ['p1', 'p2', 'p3']);
      expect(done.body.results[0]).toMatchObject({
        status: 2,
        progressPercent: 100,
        certificateStatus: 'Issued',
      });
      expect((await view(lou, 'default-p', 'lou')).body.certificate).toMatchObject({
        status: 'Issued',
        failure: null,
      });
    });

    it('still fails a score rule the batch was given on a course without assessments', async () => {
      expect((await enrol(lou, 'given-p')).status).toBe(201);
      const done = await progress(lou, 'given-p', ['p1', 'p2', 'p3']);
      expect(done.body.results[0]).toMatchObject({ status: 2, certificateStatus: 'Failed' });
      expect((await view(lou, 'given-p', 'lou')).body.certificate).toMatchObject({
        status: 'Failed',
        failure: { code: 'NO_ASSESSMENT_FOR_SCORE_RULE' },
      });
    });

    it('keeps the default score rule on a course with assessments', async () => {
      expect((await enrol(lou, 'default-q')).status).toBe(201);
      await progress(lou, 'default-q', ['content-1', 'content-3']);
      const low = await attempt(lou, 'default-q', attemptBody('a1', [{ score: 6 }]));
      expect(low.body).toMatchObject({ status: 2, certificateStatus: null });
      const high = await attempt(lou, 'default-q', attemptBody('a2', [{ score: 7 }]));
      expect(high.body).toMatchObject({ certificateStatus: 'Issued' });
    });

    it('keeps the score rule defaulted when an update gives only the completion', async () => {
      await createBatch('default-upd', 'course-p', {
        certificateCriteria: { minCompletionPercent: 80 },
      });
      const updated = await hub.call(alice, 'PATCH', '/v1/batches/default-upd', {
        certificateCriteria: { minCompletionPercent: 90 },
      });
      expect(updated.body.certificateCriteria).toEqual({
        minCompletionPercent: 90,
        minScorePercent: 70,
        scoreRuleDefaulted: true,
      });
      const given = await hub.call(alice, 'PATCH', '/v1/batches/default-upd', {
        certificateCriteria: { minScorePercent: 70 },
      });
      expect(given.body.certificateCriteria).toEqual({
        minCompletionPercent: 90,
        minScorePercent: 70,
        scoreRuleDefaulted: false,
      });
    });
  });

  describe('required contents: an enrolment knows them from the start', () => {
    it('shows the course’s 3 required contents right after enrolling', async () => {
      expect((await enrol(leo, 'default-q')).status).toBe(201);
      expect((await view(leo, 'default-q', 'leo')).body).toMatchObject({
        status: 0,
        progressPercent: 0,
        completedCount: 0,
        requiredCount: 3,
        unitProgress: { 'unit-1': 0 },
      });
      const listed = await hub.call(leo, 'GET', '/v1/users/leo/enrolments');
      expect(
        (listed.body.items as { batchId: string }[]).find((item) => item.batchId === 'default-q'),
      ).toMatchObject({
        status: 0,
        completedCount: 0,
        requiredCount: 3,
        unitProgress: { 'unit-1': 0 },
      });
    });

    it('leaves the enrolments read model equal to a rebuild from the log', async () => {
      await hub.close();
      const config = testConfig(storage.storage);
      const database = await openDatabase(config);
      const store = await openEventStore(config, database);
      const dump = async () =>
        (
          await database.query<{ row: string }>(
            'SELECT to_jsonb(t)::text AS row FROM enrolments t ORDER BY 1',
          )
        ).rows.map((r) => r.row);
      try {
        const live = await dump();
        expect(live.some((row) => row.includes('"required_count": 3'))).toBe(true);
        await rebuildProjection(enrolmentsProjection, { db: database, store });
        expect(await dump()).toEqual(live);
      } finally {
        await store.close();
        await database.close();
      }
    });
  });
});
