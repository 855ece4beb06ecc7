import { eventually } from '../support/eventually';
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

const expectUnsupported = (response: Reply) => {
  expect({ status: response.status, code: response.body?.code }).toEqual({
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
};

/**
 * Which bodies are read (README, The HTTP edge): JSON on every route that takes a body; CSV
 * (text/csv, or text/plain as some tools label it) on the bulk enrolment upload only. Any other
 * body is 415 unsupported_media_type, before a handler runs and before anything is written.
 */
describe('Media types of request bodies', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let creator: string; // CONTENT_CREATOR of org-m, the course's and the batch's creator
  let orgAdmin: string; // ORG_ADMIN of org-m

  const BATCH = 'media-batch';

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async (act: () => Promise<Reply>): Promise<Reply> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  beforeAll(async () => {
    storage = await freshStorage('media-types');
    hub = await startHub(storage.storage);
    [creator, orgAdmin] = await Promise.all([
      issueKey(hub, 'cora', 'org-m', ['CONTENT_CREATOR']),
      issueKey(hub, 'otto', 'org-m', ['ORG_ADMIN']),
    ]);
    for (const userId of ['mo', 'mina', 'mark']) await recordUser(hub, userId, 'org-m');
    const course = await hub.call(creator, 'POST', '/v1/courses', {
      courseId: 'media-course',
      name: 'Media',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    const batch = await hub.call(creator, 'POST', '/v1/batches', {
      batchId: BATCH,
      courseId: 'media-course',
      name: 'Media cohort',
      enrollmentType: 'open',
      startDate: new Date().toISOString(),
      endDate: utcDay(30),
    });
    expect(batch.status).toBe(201);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  const BODIES: [string, string, string][] = [
    ['text/plain', 'text/plain', '{"name":"Plain"}'],
    ['text/plain with a charset', 'text/plain; charset=utf-8', '{"name":"Plain"}'],
    ['text/csv', 'text/csv', 'name\nPlain\n'],
    ['a form', 'application/x-www-form-urlencoded', 'name=Form'],
    [
      'multipart',
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nForm\r\n--x--\r\n',
    ],
    ['XML', 'application/xml', '<name>x</name>'],
    ['HTML', 'text/html', '<p>x</p>'],
  ];

  const JSON_ROUTES: [string, string, () => string][] = [
    ['POST', '/v1/courses', () => creator],
    ['PUT', '/v1/courses/media-course/hierarchy', () => creator],
    ['POST', '/v1/batches', () => creator],
    ['PATCH', `/v1/batches/${BATCH}`, () => creator],
    ['POST', `/v1/batches/${BATCH}/enrolments`, () => creator],
    ['DELETE', `/v1/batches/${BATCH}/enrolments/mo`, () => creator],
    ['PUT', '/v1/users/mo/profile', () => orgAdmin],
    ['POST', '/v1/programs', () => orgAdmin],
    ['POST', '/v1/admin/api-keys', () => ADMIN_TOKEN],
  ];

  describe.each(JSON_ROUTES)('%s %s', (method, path, token) => {
    it.each(BODIES)('refuses %s with 415', async (_, contentType, body) => {
      expectUnsupported(
        await expectNothingAppended(() =>
          hub.call(token(), method, path, body, { 'content-type': contentType }),
        ),
      );
    });
  });

  it('checks the credential first: 401 for text/plain without one', async () => {
    const response = await hub.call(null, 'POST', '/v1/courses', 'x', {
      'content-type': 'text/plain',
    });
    expect(response.status).toBe(401);
  });

  it('still reads JSON, with or without a charset', async () => {
    const response = await hub.call(creator, 'PATCH', `/v1/batches/${BATCH}`, '{"name":"JSON"}', {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(response.status).toBe(200);
    expect(response.body.name).toBe('JSON');
  });

  describe('the bulk enrolment upload', () => {
    const bulk = (body: string, contentType: string, key: string) =>
      hub.call(creator, 'POST', `/v1/batches/${BATCH}/enrolments/bulk`, body, {
        'content-type': contentType,
        'idempotency-key': key,
      });

    it.each([
      ['text/csv', 'mo', 'bulk-csv'],
      ['text/plain', 'mina', 'bulk-plain'],
      ['application/json', 'mark', 'bulk-json'],
    ])('takes %s', async (contentType, userId, key) => {
      const body =
        contentType === 'application/json'
          ? JSON.stringify({ userIds: [userId] })
          : `userId\n${userId}\n`;
      const response = await bulk(body, contentType, key);
      expect(response.status).toBe(202);
      expect(response.body.total).toBe(1);
      await eventually(async () => {
        const job = await hub.call(creator, 'GET', response.headers.get('location')!);
        expect(job.body).toMatchObject({ status: 'completed', enrolled: 1 });
      });
    });

    it.each([
      ['a form', 'application/x-www-form-urlencoded', 'userIds=mo'],
      ['multipart', 'multipart/form-data; boundary=x', '--x--\r\n'],
    ])('refuses %s with 415', async (_, contentType, body) => {
      expectUnsupported(await expectNothingAppended(() => bulk(body, contentType, 'bulk-other')));
    });
  });
});
