import { rebuildProjection } from '../../projections/engine/rebuild';
import { usersProjection } from '../../projections/users/users.projection';
import { testConfig } from '../support/hub-config';
import { openDatabase, openEventStore } from '../../src/event-store/storage.module';
import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import { RecordedEvent } from '../../src/event-store/event-store.port';
import { SealedPersonalData } from '../../src/users/user.events';
import { PersonalDataVault } from '../../src/users/personal-data-vault';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  startHub,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const expectProblem = (response: Reply, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, ...(code === undefined ? {} : { code }) });
};

const stringify = (value: unknown): string =>
  JSON.stringify(value, (_, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));

const PERSONAL = {
  name: 'Asha Kulkarni',
  email: 'asha.kulkarni@school.example',
  phone: '+91 98450 12345',
  externalId: 'TCH-0098231',
};

const ATTRIBUTES = {
  userType: 'teacher',
  state: 'Karnataka',
  district: 'Dharwad',
  schoolId: 'KA-29-0412',
  schoolName: 'Government Higher Primary School, Navalur',
};

const PROFILE = { ...PERSONAL, ...ATTRIBUTES };

describe('User profiles and personal data', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let adminA: string;
  let selfU1: string;
  let learnerU2: string;
  let adminB: string;

  const db = () => hub.app.get<SqlDatabase>(SQL_DATABASE);
  const userEvents = () => hub.store.readStream('user-u1');
  const keyRows = async (userId: string) =>
    (
      await db().query<{ key_id: string }>(
        'SELECT key_id FROM hub_personal_data_keys WHERE user_id = $1',
        [userId],
      )
    ).rows;

  beforeAll(async () => {
    storage = await freshStorage('users');
    hub = await startHub(storage.storage);
    [adminA, selfU1, learnerU2, adminB] = await Promise.all([
      issueKey(hub, 'user-service-a', 'org-a', ['ORG_ADMIN']),
      issueKey(hub, 'u1', 'org-a', ['LEARNER']),
      issueKey(hub, 'u2', 'org-a', ['LEARNER']),
      issueKey(hub, 'user-service-b', 'org-b', ['ORG_ADMIN']),
    ]);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('recording and reading a profile', () => {
    it('records a profile from the organisation’s admin and returns it', async () => {
      const response = await hub.call(adminA, 'PUT', '/v1/users/u1/profile', PROFILE);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        userId: 'u1',
        organisationId: 'org-a',
        ...PROFILE,
        userSubType: null,
        block: null,
        cluster: null,
        organisationName: null,
        personalDataErasedAt: null,
        recordedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      });
    });

    it('shows the user their own profile, personal fields included', async () => {
      const response = await hub.call(selfU1, 'GET', '/v1/users/u1/profile');
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ userId: 'u1', organisationId: 'org-a', ...PROFILE });
    });

    it('hides the profile from another learner of the organisation', async () => {
      expectProblem(
        await hub.call(learnerU2, 'GET', '/v1/users/u1/profile'),
        403,
        'UNAUTHORIZED_USER',
      );
    });

    it('does not reveal the user to another organisation’s admin', async () => {
      expectProblem(await hub.call(adminB, 'GET', '/v1/users/u1/profile'), 404, 'USER_NOT_FOUND');
    });

    it('shows the profile to a system admin', async () => {
      const response = await hub.call(ADMIN_TOKEN, 'GET', '/v1/users/u1/profile');
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject(PROFILE);
    });

    it('answers 404 for a user never recorded', async () => {
      expectProblem(
        await hub.call(adminA, 'GET', '/v1/users/nobody/profile'),
        404,
        'USER_NOT_FOUND',
      );
    });

    it('refuses a profile from a learner, leaving nothing behind', async () => {
      const before = await hub.store.headPosition();
      expectProblem(
        await hub.call(selfU1, 'PUT', '/v1/users/u1/profile', PROFILE),
        403,
        'UNAUTHORIZED_USER',
      );
      expectProblem(
        await hub.call(learnerU2, 'PUT', '/v1/users/u9/profile', PROFILE),
        403,
        'UNAUTHORIZED_USER',
      );
      expect(await hub.store.headPosition()).toEqual(before);
      // Refused before a data key was made for the user.
      expect(await keyRows('u9')).toEqual([]);
    });

    it('does not reveal the user to another organisation’s admin recording them', async () => {
      const before = await hub.store.headPosition();
      expectProblem(
        await hub.call(adminB, 'PUT', '/v1/users/u1/profile', PROFILE),
        404,
        'USER_NOT_FOUND',
      );
      expect(await hub.store.headPosition()).toEqual(before);
    });

    it.each([
      ['a malformed email', { ...PROFILE, email: 'not-an-email' }, 'email'],
      ['an unknown field', { ...PROFILE, nickname: 'Ash' }, 'nickname'],
      ['a name too long', { ...PROFILE, name: 'x'.repeat(201) }, 'name'],
      ['a malformed phone', { ...PROFILE, phone: 'call me' }, 'phone'],
      ['a non-string attribute', { ...PROFILE, district: 42 }, 'district'],
    ])('refuses a profile with %s (400) and records nothing', async (_, body, field) => {
      const before = await hub.store.headPosition();
      const response = await hub.call(adminA, 'PUT', '/v1/users/u1/profile', body);
      expectProblem(response, 400, 'VALIDATION_FAILED');
      const issues = (response.body as { issues: { field: string; message: string }[] }).issues;
      expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await hub.store.headPosition()).toEqual(before);
    });

    it('refuses a malformed user id in the path', async () => {
      const before = await hub.store.headPosition();
      expectProblem(await hub.call(adminA, 'PUT', '/v1/users/bad%20id/profile', PROFILE), 400);
      expectProblem(await hub.call(adminA, 'GET', '/v1/users/bad%20id/profile'), 400);
      expectProblem(await hub.call(adminA, 'DELETE', '/v1/users/bad%20id/personal-data'), 400);
      expect(await hub.store.headPosition()).toEqual(before);
    });
  });

  describe('a profile that names no organisation', () => {
    it('keeps an existing user in their organisation when a system admin sends it', async () => {
      expect((await hub.call(adminA, 'PUT', '/v1/users/u5/profile', PROFILE)).status).toBe(200);

      const bySystemAdmin = await hub.call(ADMIN_TOKEN, 'PUT', '/v1/users/u5/profile', {
        ...PROFILE,
        district: 'Belagavi',
      });
      expect(bySystemAdmin.status).toBe(200);
      expect(bySystemAdmin.body).toMatchObject({ organisationId: 'org-a', district: 'Belagavi' });
      const events = await hub.store.readStream('user-u5');
      expect(events.at(-1)?.data).toMatchObject({
        organisationId: 'org-a',
        recordedBy: 'hub-admin',
      });

      // The organisation's admin still sees the user, and another organisation still does not.
      const read = await hub.call(adminA, 'GET', '/v1/users/u5/profile');
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ userId: 'u5', organisationId: 'org-a', ...PERSONAL });
      expectProblem(await hub.call(adminB, 'GET', '/v1/users/u5/profile'), 404, 'USER_NOT_FOUND');
    });

    it('asks a system admin to name the organisation of a new user (400), leaving nothing behind', async () => {
      const before = await hub.store.headPosition();
      const response = await hub.call(ADMIN_TOKEN, 'PUT', '/v1/users/u6/profile', PROFILE);
      expectProblem(response, 400, 'ORGANISATION_REQUIRED');
      expect(response.body).toMatchObject({
        issues: [{ field: 'organisationId', message: expect.any(String) }],
      });
      expect(await hub.store.headPosition()).toEqual(before);
      expect(await keyRows('u6')).toEqual([]);
      expectProblem(
        await hub.call(ADMIN_TOKEN, 'GET', '/v1/users/u6/profile'),
        404,
        'USER_NOT_FOUND',
      );

      const named = await hub.call(ADMIN_TOKEN, 'PUT', '/v1/users/u6/profile', {
        ...PROFILE,
        organisationId: 'org-b',
      });
      expect(named.status).toBe(200);
      expect(named.body).toMatchObject({ userId: 'u6', organisationId: 'org-b' });
    });

    it('puts a new user in the organisation of the admin who records them', async () => {
      const response = await hub.call(adminB, 'PUT', '/v1/users/u7/profile', PROFILE);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ userId: 'u7', organisationId: 'org-b' });
    });
  });

  describe('events', () => {
    it('records nothing for an unchanged snapshot and one event for a changed one', async () => {
      const before = (await userEvents()).length;
      expect(before).toBe(1);

      const same = await hub.call(adminA, 'PUT', '/v1/users/u1/profile', PROFILE);
      expect(same.status).toBe(200);
      expect(await userEvents()).toHaveLength(before);

      const moved = await hub.call(adminA, 'PUT', '/v1/users/u1/profile', {
        ...PROFILE,
        district: 'Belagavi',
      });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ ...PERSONAL, district: 'Belagavi' });
      const events = await userEvents();
      expect(events).toHaveLength(before + 1);
      expect(events.at(-1)?.type).toBe('UserProfileRecorded');

      const back = await hub.call(adminA, 'PUT', '/v1/users/u1/profile', PROFILE);
      expect(back.status).toBe(200);
      expect(await userEvents()).toHaveLength(before + 2);
    });

    it('keeps personal data out of events and the read model, in clear or hashed plainly', async () => {
      const events = await hub.store.readAll({ maxCount: 10_000 });
      const stored = stringify(events);
      const readModel = stringify(
        (await db().query('SELECT personal::text, attributes::text FROM user_profiles')).rows,
      );
      for (const value of Object.values(PERSONAL)) {
        expect(stored).not.toContain(value);
        expect(readModel).not.toContain(value);
      }
      expect(stored).not.toContain('Kulkarni');
      expect(stored).not.toContain('98450');
      // Attributes that are not personal data stay readable for reports.
      expect(stored).toContain(ATTRIBUTES.schoolName);

      const recorded = events.filter((event) => event.type === 'UserProfileRecorded');
      expect(recorded.length).toBeGreaterThan(0);
      for (const event of recorded)
        expect((event.data as { personal: SealedPersonalData }).personal).toEqual({
          keyId: expect.any(String),
          iv: expect.any(String),
          ciphertext: expect.any(String),
          tag: expect.any(String),
        });
    });
  });

  describe('erasure', () => {
    let sealedBeforeErasure: SealedPersonalData[];

    it('refuses an erasure by another organisation’s admin (404) or another learner (403)', async () => {
      const before = await hub.store.headPosition();
      expectProblem(
        await hub.call(adminB, 'DELETE', '/v1/users/u1/personal-data'),
        404,
        'USER_NOT_FOUND',
      );
      expectProblem(
        await hub.call(learnerU2, 'DELETE', '/v1/users/u1/personal-data'),
        403,
        'UNAUTHORIZED_USER',
      );
      expectProblem(
        await hub.call(adminA, 'DELETE', '/v1/users/nobody/personal-data'),
        404,
        'USER_NOT_FOUND',
      );
      expect(await hub.store.headPosition()).toEqual(before);
      expect(await keyRows('u1')).toHaveLength(1);
      expect(
        (await hub.call(selfU1, 'GET', '/v1/users/u1/profile')).body as Record<string, unknown>,
      ).toMatchObject(PERSONAL);
    });

    it('lets the user erase their personal data; the rest of the profile stays', async () => {
      sealedBeforeErasure = (await userEvents())
        .filter((event) => event.type === 'UserProfileRecorded')
        .map((event) => (event.data as { personal: SealedPersonalData }).personal);
      const eventsBefore = (await userEvents()).length;

      const erased = await hub.call(selfU1, 'DELETE', '/v1/users/u1/personal-data');
      expect(erased.status).toBe(204);
      const events = await userEvents();
      expect(events).toHaveLength(eventsBefore + 1);
      expect(events.at(-1)?.type).toBe('UserPersonalDataErased');

      for (const token of [selfU1, adminA]) {
        const response = await hub.call(token, 'GET', '/v1/users/u1/profile');
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({
          userId: 'u1',
          organisationId: 'org-a',
          name: null,
          email: null,
          phone: null,
          externalId: null,
          personalDataErasedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
          ...ATTRIBUTES,
        });
      }
      expect(await keyRows('u1')).toEqual([]);

      // Erasing again is harmless and records nothing.
      expect((await hub.call(selfU1, 'DELETE', '/v1/users/u1/personal-data')).status).toBe(204);
      expect(await userEvents()).toHaveLength(eventsBefore + 1);
    });

    it('stays erased after the users read model is rebuilt from the events', async () => {
      // While the hub runs it leads the projection, so a rebuild must wait for it to stop.
      await expect(
        rebuildProjection(usersProjection, { db: db(), store: hub.store }),
      ).rejects.toMatchObject({ code: 'PROJECTION_BUSY' });

      await hub.close();
      const config = testConfig(storage.storage);
      const offlineDb = await openDatabase(config);
      const offlineStore = await openEventStore(config, offlineDb);
      try {
        const result = await rebuildProjection(usersProjection, {
          db: offlineDb,
          store: offlineStore,
        });
        expect(result.applied).toBeGreaterThanOrEqual(
          (await offlineStore.readStream('user-u1')).length,
        );
      } finally {
        await offlineStore.close();
        await offlineDb.close();
      }
      hub = await startHub(storage.storage);

      const response = await hub.call(selfU1, 'GET', '/v1/users/u1/profile');
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        name: null,
        email: null,
        phone: null,
        externalId: null,
        personalDataErasedAt: expect.any(String),
        ...ATTRIBUTES,
      });
    });

    it('seals a later profile under a fresh key; the erased data stays unreadable', async () => {
      const fresh = {
        ...ATTRIBUTES,
        name: 'Asha K.',
        email: 'asha.k@school.example',
        phone: '+91 90000 00001',
        externalId: 'TCH-0098231-B',
      };
      const recorded = await hub.call(adminA, 'PUT', '/v1/users/u1/profile', fresh);
      expect(recorded.status).toBe(200);
      expect(recorded.body).toMatchObject(fresh);
      expect((await hub.call(selfU1, 'GET', '/v1/users/u1/profile')).body).toMatchObject(fresh);

      const [key] = await keyRows('u1');
      expect(key).toBeDefined();
      const vault = hub.app.get(PersonalDataVault);
      expect(sealedBeforeErasure.length).toBeGreaterThan(0);
      for (const sealed of sealedBeforeErasure) {
        expect(sealed.keyId).not.toBe(key?.key_id);
        expect(await vault.open('u1', sealed)).toEqual({
          name: null,
          email: null,
          phone: null,
          externalId: null,
        });
      }
      const latest = (await userEvents()).at(-1) as RecordedEvent<{
        personal: SealedPersonalData;
      }>;
      expect(latest.data.personal.keyId).toBe(key?.key_id);
      expect(await vault.open('u1', latest.data.personal)).toEqual({
        name: fresh.name,
        email: fresh.email,
        phone: fresh.phone,
        externalId: fresh.externalId,
      });
    });
  });
});
