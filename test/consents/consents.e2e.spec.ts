import { activeConsents } from '../../projections/consents/consents.query';
import { consentsProjection } from '../../projections/consents/consents.projection';
import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  sampleHierarchy,
  startHub,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const COURSE_ORG = 'org-course';
const STATE_ORG = 'org-state';

const expectProblem = (response: Reply, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, ...(code === undefined ? {} : { code }) });
};

/** Granting, revoking and listing consents through the HTTP API, down to the read model. */
describe('Consents API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let u1: string; // LEARNER of org-home: consents to a course of another organisation
  let u2: string; // LEARNER of org-home
  let u3: string; // LEARNER of org-home, whose consents a system admin records
  let courseAdmin: string; // ORG_ADMIN of the course's organisation
  let stateAdmin: string; // ORG_ADMIN of an organisation that reports on the course

  const db = () => hub.app.get<SqlDatabase>(SQL_DATABASE);
  const consentEvents = (userId: string) => hub.store.readStream(`consent-${userId}`);
  const rowOf = async (userId: string, courseId: string, consumer: string) =>
    (
      await db().query(
        `SELECT status, granted_at, revoked_at, updated_at, revision FROM user_consents
          WHERE user_id = $1 AND course_id = $2 AND consumer_organisation_id = $3`,
        [userId, courseId, consumer],
      )
    ).rows[0];

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async <T>(act: () => Promise<T>): Promise<T> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  beforeAll(async () => {
    storage = await freshStorage('consents-e2e');
    hub = await startHub(storage.storage);
    [u1, u2, u3, courseAdmin, stateAdmin] = await Promise.all([
      issueKey(hub, 'u1', 'org-home', ['LEARNER']),
      issueKey(hub, 'u2', 'org-home', ['LEARNER']),
      issueKey(hub, 'u3', 'org-home', ['LEARNER']),
      issueKey(hub, 'course-admin', COURSE_ORG, ['ORG_ADMIN']),
      issueKey(hub, 'state-admin', STATE_ORG, ['ORG_ADMIN']),
    ]);
    for (const courseId of ['c1', 'c2']) {
      const registered = await hub.call(ADMIN_TOKEN, 'POST', '/v1/courses', {
        courseId,
        name: `Course ${courseId}`,
        organisationId: COURSE_ORG,
        trackable: { enabled: true },
        children: sampleHierarchy(),
      });
      expect(registered.status).toBe(201);
    }
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('granting and revoking', () => {
    let firstGrantedAt: string;

    it('grants consent to the course’s organisation by default, readable at once', async () => {
      const response = await hub.call(u1, 'PUT', '/v1/users/u1/consents/c1');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        userId: 'u1',
        courseId: 'c1',
        consumerOrganisationId: COURSE_ORG,
        status: 'granted',
        grantedAt: expect.stringMatching(ISO),
      });
      firstGrantedAt = response.body.grantedAt;

      const events = await consentEvents('u1');
      expect(events.map((event) => [event.type, event.data])).toEqual([
        [
          'ConsentGranted',
          {
            userId: 'u1',
            courseId: 'c1',
            consumerOrganisationId: COURSE_ORG,
            grantedBy: 'u1',
            grantedAt: firstGrantedAt,
          },
        ],
      ]);
      expect(events[0]?.metadata).toMatchObject({ principal: 'u1', tenant: 'org-home' });

      const list = await hub.call(u1, 'GET', '/v1/users/u1/consents');
      expect(list.status).toBe(200);
      expect(list.body).toEqual({
        items: [
          {
            courseId: 'c1',
            consumerOrganisationId: COURSE_ORG,
            status: 'granted',
            grantedAt: firstGrantedAt,
            revokedAt: null,
            updatedAt: firstGrantedAt,
          },
        ],
      });
      expect(await rowOf('u1', 'c1', COURSE_ORG)).toMatchObject({
        status: 'granted',
        granted_at: new Date(firstGrantedAt),
        revoked_at: null,
      });
      expect(await activeConsents(db(), 'c1', COURSE_ORG, ['u1', 'u2'])).toEqual(
        new Map([['u1', new Date(firstGrantedAt)]]),
      );
    });

    it('records nothing when the same grant is retried, answering with the original time', async () => {
      const retried = await expectNothingAppended(() =>
        hub.call(u1, 'PUT', '/v1/users/u1/consents/c1', {}),
      );
      expect(retried.status).toBe(200);
      expect(retried.body).toEqual({
        userId: 'u1',
        courseId: 'c1',
        consumerOrganisationId: COURSE_ORG,
        status: 'granted',
        grantedAt: firstGrantedAt,
      });
      // Naming the default organisation explicitly is the same consent.
      const explicit = await expectNothingAppended(() =>
        hub.call(u1, 'PUT', '/v1/users/u1/consents/c1', { consumerOrganisationId: COURSE_ORG }),
      );
      expect(explicit.body).toMatchObject({ grantedAt: firstGrantedAt });
      expect(await consentEvents('u1')).toHaveLength(1);
    });

    it('revokes the consent: the list shows both times and reports no longer see it', async () => {
      const response = await hub.call(u1, 'DELETE', '/v1/users/u1/consents/c1');
      expect(response.status).toBe(204);
      expect(response.body).toBeNull();

      const events = await consentEvents('u1');
      expect(events).toHaveLength(2);
      expect(events[1]).toMatchObject({
        type: 'ConsentRevoked',
        data: { userId: 'u1', courseId: 'c1', consumerOrganisationId: COURSE_ORG, revokedBy: 'u1' },
      });
      const revokedAt = (events[1]?.data as { revokedAt: string }).revokedAt;

      const list = await hub.call(u1, 'GET', '/v1/users/u1/consents');
      expect(list.body).toEqual({
        items: [
          {
            courseId: 'c1',
            consumerOrganisationId: COURSE_ORG,
            status: 'revoked',
            grantedAt: firstGrantedAt,
            revokedAt,
            updatedAt: revokedAt,
          },
        ],
      });
      expect(Date.parse(revokedAt)).toBeGreaterThanOrEqual(Date.parse(firstGrantedAt));
      expect(await rowOf('u1', 'c1', COURSE_ORG)).toMatchObject({
        status: 'revoked',
        granted_at: new Date(firstGrantedAt),
        revoked_at: new Date(revokedAt),
      });
      expect(await activeConsents(db(), 'c1', COURSE_ORG, ['u1', 'u2'])).toEqual(new Map());
    });

    it('records nothing when the revocation is retried', async () => {
      const again = await expectNothingAppended(() =>
        hub.call(u1, 'DELETE', '/v1/users/u1/consents/c1'),
      );
      expect(again.status).toBe(204);
      expect(await consentEvents('u1')).toHaveLength(2);
    });

    it('grants again after a revocation', async () => {
      const response = await hub.call(u1, 'PUT', '/v1/users/u1/consents/c1');
      expect(response.status).toBe(200);
      const regrantedAt: string = response.body.grantedAt;
      expect(Date.parse(regrantedAt)).toBeGreaterThanOrEqual(Date.parse(firstGrantedAt));
      expect((await consentEvents('u1')).map((event) => event.type)).toEqual([
        'ConsentGranted',
        'ConsentRevoked',
        'ConsentGranted',
      ]);
      const list = await hub.call(u1, 'GET', '/v1/users/u1/consents');
      expect(list.body.items).toEqual([
        {
          courseId: 'c1',
          consumerOrganisationId: COURSE_ORG,
          status: 'granted',
          grantedAt: regrantedAt,
          revokedAt: null,
          updatedAt: regrantedAt,
        },
      ]);
      expect(await activeConsents(db(), 'c1', COURSE_ORG, ['u1'])).toEqual(
        new Map([['u1', new Date(regrantedAt)]]),
      );
    });

    it('keeps consents to different organisations apart', async () => {
      const response = await hub.call(u1, 'PUT', '/v1/users/u1/consents/c1', {
        consumerOrganisationId: STATE_ORG,
      });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ consumerOrganisationId: STATE_ORG, status: 'granted' });

      const revoked = await hub.call(
        u1,
        'DELETE',
        `/v1/users/u1/consents/c1?consumerOrganisationId=${STATE_ORG}`,
      );
      expect(revoked.status).toBe(204);
      const items = (await hub.call(u1, 'GET', '/v1/users/u1/consents')).body.items as {
        consumerOrganisationId: string;
        status: string;
      }[];
      expect(items.map((item) => [item.consumerOrganisationId, item.status])).toEqual([
        [COURSE_ORG, 'granted'],
        [STATE_ORG, 'revoked'],
      ]);
      expect(await activeConsents(db(), 'c1', STATE_ORG, ['u1'])).toEqual(new Map());
      expect((await activeConsents(db(), 'c1', COURSE_ORG, ['u1'])).has('u1')).toBe(true);
    });

    it('answers 404 CONSENT_NOT_FOUND for revoking a consent never granted', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(u1, 'DELETE', '/v1/users/u1/consents/c2'),
          404,
          'CONSENT_NOT_FOUND',
        );
        expectProblem(
          await hub.call(u1, 'DELETE', '/v1/users/u1/consents/c1?consumerOrganisationId=org-x'),
          404,
          'CONSENT_NOT_FOUND',
        );
        expectProblem(
          await hub.call(u2, 'DELETE', '/v1/users/u2/consents/c1'),
          404,
          'CONSENT_NOT_FOUND',
        );
      });
    });

    it('answers 404 COURSE_NOT_FOUND for a course the hub does not know', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(u1, 'PUT', '/v1/users/u1/consents/no-such-course'),
          404,
          'COURSE_NOT_FOUND',
        );
        expectProblem(
          await hub.call(u1, 'DELETE', '/v1/users/u1/consents/no-such-course'),
          404,
          'COURSE_NOT_FOUND',
        );
      });
    });
  });

  describe('who may decide and see', () => {
    it('refuses another user granting, revoking or listing (403 CONSENT_NOT_YOURS)', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(u2, 'PUT', '/v1/users/u1/consents/c2'),
          403,
          'CONSENT_NOT_YOURS',
        );
        expectProblem(
          await hub.call(u2, 'DELETE', '/v1/users/u1/consents/c1'),
          403,
          'CONSENT_NOT_YOURS',
        );
        expectProblem(await hub.call(u2, 'GET', '/v1/users/u1/consents'), 403, 'CONSENT_NOT_YOURS');
      });
      expect((await activeConsents(db(), 'c1', COURSE_ORG, ['u1'])).has('u1')).toBe(true);
    });

    it('refuses an organisation admin granting or revoking for the user', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(courseAdmin, 'PUT', '/v1/users/u2/consents/c1'),
          403,
          'CONSENT_NOT_YOURS',
        );
        expectProblem(
          await hub.call(courseAdmin, 'DELETE', '/v1/users/u1/consents/c1'),
          403,
          'CONSENT_NOT_YOURS',
        );
      });
    });

    it('shows an organisation admin only the consents given to their organisation', async () => {
      const forCourseOrg = await hub.call(courseAdmin, 'GET', '/v1/users/u1/consents');
      expect(forCourseOrg.status).toBe(200);
      expect(forCourseOrg.body.items).toEqual([
        expect.objectContaining({ courseId: 'c1', consumerOrganisationId: COURSE_ORG }),
      ]);
      const forStateOrg = await hub.call(stateAdmin, 'GET', '/v1/users/u1/consents');
      expect(forStateOrg.status).toBe(200);
      expect(forStateOrg.body.items).toEqual([
        expect.objectContaining({ consumerOrganisationId: STATE_ORG, status: 'revoked' }),
      ]);
      const nothingYet = await hub.call(stateAdmin, 'GET', '/v1/users/u2/consents');
      expect(nothingYet.body).toEqual({ items: [] });
    });

    it('lets a system admin grant and revoke on the user’s behalf', async () => {
      const granted = await hub.call(ADMIN_TOKEN, 'PUT', '/v1/users/u3/consents/c2', {
        consumerOrganisationId: STATE_ORG,
      });
      expect(granted.status).toBe(200);
      expect(granted.body).toMatchObject({
        userId: 'u3',
        courseId: 'c2',
        consumerOrganisationId: STATE_ORG,
        status: 'granted',
      });
      const [event] = await consentEvents('u3');
      expect(event).toMatchObject({
        type: 'ConsentGranted',
        data: { userId: 'u3', grantedBy: 'hub-admin' },
        metadata: { principal: 'hub-admin' },
      });
      expect(await activeConsents(db(), 'c2', STATE_ORG, ['u1', 'u2', 'u3'])).toEqual(
        new Map([['u3', new Date(granted.body.grantedAt)]]),
      );

      // The user sees what was recorded for them; the admin sees all of it too.
      for (const token of [u3, ADMIN_TOKEN]) {
        const list = await hub.call(token, 'GET', '/v1/users/u3/consents');
        expect(list.body.items).toEqual([
          expect.objectContaining({ courseId: 'c2', consumerOrganisationId: STATE_ORG }),
        ]);
      }
      expect((await hub.call(ADMIN_TOKEN, 'GET', '/v1/users/u1/consents')).body.items).toHaveLength(
        2,
      );

      const revoked = await hub.call(
        ADMIN_TOKEN,
        'DELETE',
        `/v1/users/u3/consents/c2?consumerOrganisationId=${STATE_ORG}`,
      );
      expect(revoked.status).toBe(204);
      expect((await consentEvents('u3')).at(-1)).toMatchObject({
        type: 'ConsentRevoked',
        data: { revokedBy: 'hub-admin' },
      });
    });

    it('needs a credential', async () => {
      await expectNothingAppended(async () => {
        expectProblem(await hub.call(null, 'PUT', '/v1/users/u1/consents/c2'), 401);
        expectProblem(await hub.call(null, 'GET', '/v1/users/u1/consents'), 401);
      });
    });
  });

  describe('malformed requests', () => {
    it.each([
      ['an unknown field', { consumerOrganisationId: STATE_ORG, reason: 'reports' }, 'reason'],
      [
        'a malformed organisation id',
        { consumerOrganisationId: 'bad id' },
        'consumerOrganisationId',
      ],
      ['a number for the organisation', { consumerOrganisationId: 42 }, 'consumerOrganisationId'],
      ['an empty organisation id', { consumerOrganisationId: '' }, 'consumerOrganisationId'],
    ])('refuses a grant with %s (400) and records nothing', async (_, body, field) => {
      const response = await expectNothingAppended(() =>
        hub.call(u2, 'PUT', '/v1/users/u2/consents/c1', body),
      );
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(response.body.issues).toEqual(
        expect.arrayContaining([expect.objectContaining({ field })]),
      );
    });

    it.each([
      ['an array', []],
      ['a string', '"granted"'],
      ['broken JSON', '{"consumerOrganisationId":'],
    ])('refuses a grant whose body is %s (400)', async (_, body) => {
      const response = await expectNothingAppended(() =>
        hub.call(u2, 'PUT', '/v1/users/u2/consents/c1', body),
      );
      expectProblem(response, 400);
    });

    it('refuses a revocation with a malformed or unknown query parameter (400)', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(u1, 'DELETE', '/v1/users/u1/consents/c1?consumerOrganisationId=bad%20id'),
          400,
          'VALIDATION_FAILED',
        );
        expectProblem(
          await hub.call(u1, 'DELETE', '/v1/users/u1/consents/c1?force=true'),
          400,
          'VALIDATION_FAILED',
        );
      });
      expect((await activeConsents(db(), 'c1', COURSE_ORG, ['u1'])).has('u1')).toBe(true);
    });

    it('refuses malformed ids in the path (400)', async () => {
      await expectNothingAppended(async () => {
        for (const [method, path] of [
          ['PUT', '/v1/users/bad%20id/consents/c1'],
          ['PUT', '/v1/users/u1/consents/bad%20id'],
          ['PUT', '/v1/users/u1/consents/-leading-dash'],
          ['DELETE', '/v1/users/bad%20id/consents/c1'],
          ['DELETE', '/v1/users/u1/consents/bad%20id'],
          ['GET', '/v1/users/bad%20id/consents'],
        ] as const)
          expectProblem(await hub.call(u1, method, path), 400, 'INVALID_IDENTIFIER');
      });
    });
  });

  describe('read model', () => {
    it('ignores an event applied a second time (per-row revision guard)', async () => {
      const [firstGrant] = await consentEvents('u1');
      expect(firstGrant?.type).toBe('ConsentGranted');
      const before = await rowOf('u1', 'c1', COURSE_ORG);
      await db().transaction((tx) => consentsProjection.handlers.ConsentGranted!(firstGrant!, tx));
      expect(await rowOf('u1', 'c1', COURSE_ORG)).toEqual(before);
      expect(before).toMatchObject({ status: 'granted' });
      expect(BigInt(before?.revision as string)).toBe(2n);
    });

    it('answers activeConsents for no users without asking the database twice', async () => {
      expect(await activeConsents(db(), 'c1', COURSE_ORG, [])).toEqual(new Map());
      expect(await activeConsents(db(), 'c1', COURSE_ORG, ['u1', 'u1', 'nobody'])).toEqual(
        new Map([['u1', expect.any(Date)]]),
      );
    });
  });
});
