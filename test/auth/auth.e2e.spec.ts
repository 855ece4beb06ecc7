import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../../src/auth/admin-token';
import { HUB_CONFIG, HubConfig } from '../../src/config/hub-config';
import { tempDataDir } from '../support/hub-config';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  RunningHub,
  startHub,
} from '../support/hub-harness';
import {
  JWT_AUDIENCE,
  JWT_ISSUER,
  JwksServer,
  newSigningKey,
  signJwt,
  SigningKey,
  startJwksServer,
} from './jwks-server';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const expectProblem = (response: Reply, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, ...(code === undefined ? {} : { code }) });
};

/** The same token with one character of its secret changed. */
const tamper = (token: string): string => {
  const at = token.length - 12;
  const replacement = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${replacement}${token.slice(at + 1)}`;
};

interface IssuedKey {
  keyId: string;
  token: string;
  principalId: string;
  organisationId: string;
  roles: string[];
}

describe('Authentication and API keys', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let jwks: JwksServer;
  let idpKey: SigningKey;
  let rogueKey: SigningKey;
  const embeddedHubs: RunningHub[] = [];
  const embeddedDirs: string[] = [];

  let orgAdminA: IssuedKey;
  let learnerA: IssuedKey;
  let orgAdminB: IssuedKey;

  const createKey = async (
    token: string,
    body: Record<string, unknown>,
  ): Promise<{ response: Reply; key: IssuedKey }> => {
    const response = await hub.call(token, 'POST', '/v1/admin/api-keys', body);
    return { response, key: response.body as IssuedKey };
  };

  const issued = async (principalId: string, organisationId: string, roles: string[]) => {
    const { response, key } = await createKey(ADMIN_TOKEN, {
      principalId,
      organisationId,
      roles,
    });
    expect(response.status).toBe(201);
    return key;
  };

  beforeAll(async () => {
    [idpKey, rogueKey] = await Promise.all([
      newSigningKey('idp-key-1'),
      newSigningKey('rogue-key'),
    ]);
    jwks = await startJwksServer([idpKey]);
    storage = await freshStorage('auth');
    hub = await startHub(storage.storage, {
      oidc: {
        jwksUrl: jwks.jwksUrl,
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        organisationClaim: 'org',
        rolesClaim: 'roles',
      },
    });
    orgAdminA = await issued('admin-a', 'org-a', ['ORG_ADMIN']);
    learnerA = await issued('learner-a', 'org-a', ['LEARNER']);
    orgAdminB = await issued('admin-b', 'org-b', ['ORG_ADMIN']);
  });

  afterAll(async () => {
    for (const running of embeddedHubs) await running.close().catch(() => undefined);
    await hub?.close();
    await storage?.dispose();
    await jwks?.close();
    for (const dir of embeddedDirs) rmSync(dir, { recursive: true, force: true });
  });

  describe('credentials', () => {
    it('refuses a request without an Authorization header', async () => {
      expectProblem(await hub.call(null, 'GET', '/v1/admin/api-keys'), 401, 'MISSING_CREDENTIALS');
    });

    it('refuses a credential that is not a bearer token', async () => {
      expectProblem(
        await hub.call(null, 'GET', '/v1/admin/api-keys', undefined, { authorization: 'Basic x' }),
        401,
        'MALFORMED_AUTHORIZATION',
      );
    });

    it('refuses a bogus bearer token', async () => {
      expectProblem(
        await hub.call('bogus-token', 'GET', '/v1/admin/api-keys'),
        401,
        'INVALID_TOKEN',
      );
      expectProblem(
        await hub.call('lhk_garbage', 'GET', '/v1/admin/api-keys'),
        401,
        'INVALID_TOKEN',
      );
      expectProblem(await hub.call('a.b.c', 'GET', '/v1/admin/api-keys'), 401, 'INVALID_TOKEN');
    });

    it('answers /health without a credential', async () => {
      const response = await hub.call(null, 'GET', '/health');
      expect(response.status).toBe(200);
    });

    it('serves the OpenAPI document without a credential, listing the API', async () => {
      const response = await hub.call(null, 'GET', '/docs/json');
      expect(response.status).toBe(200);
      expect(Object.keys((response.body as { paths: Record<string, unknown> }).paths)).toEqual(
        expect.arrayContaining([
          '/v1/batches',
          '/v1/courses',
          '/v1/users/{userId}/profile',
          '/v1/admin/api-keys',
        ]),
      );
    });
  });

  describe('API keys', () => {
    it('issues a key with the admin token, showing the token once', async () => {
      const { response, key } = await createKey(ADMIN_TOKEN, {
        principalId: 'lms-sync',
        organisationId: 'org-a',
        roles: ['CONTENT_CREATOR', 'CONTENT_CREATOR'],
        label: 'LMS sync',
      });
      expect(response.status).toBe(201);
      expect(key).toMatchObject({
        keyId: expect.any(String),
        principalId: 'lms-sync',
        organisationId: 'org-a',
        roles: ['CONTENT_CREATOR'],
        label: 'LMS sync',
        issuedAt: expect.any(String),
      });
      expect(key.token).toMatch(/^lhk_/);
      expect(key.token).toContain(key.keyId);
    });

    it('lets an organisation admin list only its own organisation’s keys, never a secret', async () => {
      const response = await hub.call(orgAdminA.token, 'GET', '/v1/admin/api-keys');
      expect(response.status).toBe(200);
      const items = (response.body as { items: { keyId: string; organisationId: string }[] }).items;
      const ids = items.map((item) => item.keyId);
      expect(ids).toEqual(expect.arrayContaining([orgAdminA.keyId, learnerA.keyId]));
      expect(ids).not.toContain(orgAdminB.keyId);
      expect(items.every((item) => item.organisationId === 'org-a')).toBe(true);
      for (const item of items) {
        expect(item).not.toHaveProperty('token');
        expect(item).not.toHaveProperty('secretHash');
      }
      const [issuedEvent] = await hub.store.readStream(`api-key-${orgAdminA.keyId}`);
      const secretHash = (issuedEvent?.data as { secretHash: string }).secretHash;
      expect(secretHash).toMatch(/^[0-9a-f]{64}$/);
      const text = JSON.stringify(response.body);
      expect(text).not.toContain(secretHash);
      expect(text).not.toContain(orgAdminA.token);
      expect(text).not.toContain('lhk_');
    });

    it('lets a system admin list every organisation’s keys', async () => {
      const response = await hub.call(ADMIN_TOKEN, 'GET', '/v1/admin/api-keys');
      expect(response.status).toBe(200);
      const ids = (response.body as { items: { keyId: string }[] }).items.map((i) => i.keyId);
      expect(ids).toEqual(
        expect.arrayContaining([orgAdminA.keyId, learnerA.keyId, orgAdminB.keyId]),
      );
    });

    it('refuses key management to a learner', async () => {
      const { response } = await createKey(learnerA.token, {
        principalId: 'someone',
        roles: ['LEARNER'],
      });
      expectProblem(response, 403, 'MISSING_ROLE');
      expectProblem(
        await hub.call(learnerA.token, 'GET', '/v1/admin/api-keys'),
        403,
        'MISSING_ROLE',
      );
    });

    it('lets an organisation admin issue keys for its own organisation only', async () => {
      const own = await createKey(orgAdminA.token, { principalId: 'svc-a', roles: ['LEARNER'] });
      expect(own.response.status).toBe(201);
      expect(own.key.organisationId).toBe('org-a');

      const before = await hub.store.headPosition();
      const other = await createKey(orgAdminA.token, {
        principalId: 'svc-b',
        organisationId: 'org-b',
        roles: ['LEARNER'],
      });
      expectProblem(other.response, 403);
      expect(await hub.store.headPosition()).toEqual(before);
    });

    it('refuses an organisation admin a SYSTEM_ADMIN key', async () => {
      const before = await hub.store.headPosition();
      const { response } = await createKey(orgAdminA.token, {
        principalId: 'escalate',
        roles: ['ORG_ADMIN', 'SYSTEM_ADMIN'],
      });
      expectProblem(response, 403, 'ROLE_NOT_GRANTABLE');
      expect(await hub.store.headPosition()).toEqual(before);
    });

    it.each([
      [
        'an unknown role',
        { principalId: 'x', organisationId: 'org-a', roles: ['WIZARD'] },
        'roles',
      ],
      ['no principalId', { organisationId: 'org-a', roles: ['LEARNER'] }, 'principalId'],
      [
        'an extra property',
        { principalId: 'x', organisationId: 'org-a', roles: ['LEARNER'], superuser: true },
        'superuser',
      ],
      ['no roles', { principalId: 'x', organisationId: 'org-a', roles: [] }, 'roles'],
      ['a bad principalId', { principalId: 'bad id', roles: ['LEARNER'] }, 'principalId'],
    ])('refuses a body with %s (400) and records nothing', async (_, body, field) => {
      const before = await hub.store.headPosition();
      const { response } = await createKey(ADMIN_TOKEN, body);
      expectProblem(response, 400, 'VALIDATION_FAILED');
      const issues = (response.body as { issues: { field: string; message: string }[] }).issues;
      expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await hub.store.headPosition()).toEqual(before);
    });

    it('revokes a key: it stops working at once and is listed as revoked on request', async () => {
      const doomed = await issued('temp-admin', 'org-a', ['ORG_ADMIN']);
      expect((await hub.call(doomed.token, 'GET', '/v1/admin/api-keys')).status).toBe(200);

      const revoked = await hub.call(
        orgAdminA.token,
        'DELETE',
        `/v1/admin/api-keys/${doomed.keyId}`,
      );
      expect(revoked.status).toBe(204);
      expectProblem(
        await hub.call(doomed.token, 'GET', '/v1/admin/api-keys'),
        401,
        'INVALID_TOKEN',
      );

      const active = await hub.call(orgAdminA.token, 'GET', '/v1/admin/api-keys');
      expect(
        (active.body as { items: { keyId: string }[] }).items.map((i) => i.keyId),
      ).not.toContain(doomed.keyId);
      const all = await hub.call(orgAdminA.token, 'GET', '/v1/admin/api-keys?includeRevoked=true');
      expect(all.status).toBe(200);
      const listed = (all.body as { items: { keyId: string; revokedAt: string | null }[] }).items;
      expect(listed.find((item) => item.keyId === doomed.keyId)).toMatchObject({
        revokedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      });
      expect(listed.find((item) => item.keyId === orgAdminA.keyId)?.revokedAt).toBeNull();

      // Revoking again is harmless.
      const again = await hub.call(orgAdminA.token, 'DELETE', `/v1/admin/api-keys/${doomed.keyId}`);
      expect(again.status).toBe(204);
    });

    it('hides another organisation’s keys from an organisation admin revoking them', async () => {
      const before = await hub.store.headPosition();
      expectProblem(
        await hub.call(orgAdminA.token, 'DELETE', `/v1/admin/api-keys/${orgAdminB.keyId}`),
        404,
        'API_KEY_NOT_FOUND',
      );
      expect(await hub.store.headPosition()).toEqual(before);
      expect((await hub.call(orgAdminB.token, 'GET', '/v1/admin/api-keys')).status).toBe(200);
      expectProblem(
        await hub.call(ADMIN_TOKEN, 'DELETE', '/v1/admin/api-keys/01J00000000000000000000000'),
        404,
        'API_KEY_NOT_FOUND',
      );
    });

    it('refuses a token whose secret was altered', async () => {
      const tampered = tamper(orgAdminA.token);
      expect(tampered).not.toBe(orgAdminA.token);
      expect(tampered.length).toBe(orgAdminA.token.length);
      expectProblem(await hub.call(tampered, 'GET', '/v1/admin/api-keys'), 401, 'INVALID_TOKEN');
      expect((await hub.call(orgAdminA.token, 'GET', '/v1/admin/api-keys')).status).toBe(200);
    });
  });

  describe('identity-provider JWTs', () => {
    const listKeys = (token: string) => hub.call(token, 'GET', '/v1/admin/api-keys');

    it('accepts a valid token naming an organisation admin', async () => {
      const token = await signJwt(idpKey, { sub: 'jwt-admin', org: 'org-a', roles: ['ORG_ADMIN'] });
      const response = await listKeys(token);
      expect(response.status).toBe(200);
      const items = (response.body as { items: { organisationId: string }[] }).items;
      expect(items.length).toBeGreaterThan(0);
      expect(items.every((item) => item.organisationId === 'org-a')).toBe(true);
    });

    it('reads Keycloak’s realm_access.roles when the roles claim is absent', async () => {
      const token = await signJwt(idpKey, {
        sub: 'kc-admin',
        org: 'org-b',
        realm_access: { roles: ['org_admin', 'offline_access'] },
      });
      const response = await listKeys(token);
      expect(response.status).toBe(200);
      const items = (response.body as { items: { keyId: string; organisationId: string }[] }).items;
      expect(items.map((item) => item.keyId)).toContain(orgAdminB.keyId);
      expect(items.every((item) => item.organisationId === 'org-b')).toBe(true);
    });

    it('refuses a token for another audience', async () => {
      const token = await signJwt(
        idpKey,
        { sub: 'jwt-admin', org: 'org-a', roles: ['ORG_ADMIN'] },
        { audience: 'some-other-app' },
      );
      expectProblem(await listKeys(token), 401, 'INVALID_TOKEN');
    });

    it('refuses a token from another issuer', async () => {
      const token = await signJwt(
        idpKey,
        { sub: 'jwt-admin', org: 'org-a', roles: ['ORG_ADMIN'] },
        { issuer: 'https://evil.test' },
      );
      expectProblem(await listKeys(token), 401, 'INVALID_TOKEN');
    });

    it('refuses an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await signJwt(
        idpKey,
        { sub: 'jwt-admin', org: 'org-a', roles: ['ORG_ADMIN'] },
        { issuedAt: now - 1200, expiresAt: now - 600 },
      );
      expectProblem(await listKeys(token), 401, 'TOKEN_EXPIRED');
    });

    it('refuses a token signed by a key the identity provider does not publish', async () => {
      const claims = { sub: 'jwt-admin', org: 'org-a', roles: ['ORG_ADMIN'] };
      expectProblem(await listKeys(await signJwt(rogueKey, claims)), 401, 'INVALID_TOKEN');
      // The same key id as the real key, but the wrong key behind it.
      const impostor = { ...rogueKey, kid: idpKey.kid };
      expectProblem(await listKeys(await signJwt(impostor, claims)), 401, 'INVALID_TOKEN');
    });

    it('refuses a token that names no organisation', async () => {
      const token = await signJwt(idpKey, { sub: 'jwt-admin', roles: ['ORG_ADMIN'] });
      expectProblem(await listKeys(token), 401, 'INVALID_TOKEN');
    });

    it('refuses a token that names no subject', async () => {
      const token = await signJwt(idpKey, { org: 'org-a', roles: ['ORG_ADMIN'] });
      expectProblem(await listKeys(token), 401, 'INVALID_TOKEN');
    });

    it('authenticates a token without admin roles but forbids the admin endpoint', async () => {
      const learner = await signJwt(idpKey, {
        sub: 'jwt-learner',
        org: 'org-a',
        roles: ['learner'],
      });
      expectProblem(await listKeys(learner), 403, 'MISSING_ROLE');
      const roleless = await signJwt(idpKey, { sub: 'jwt-nobody', org: 'org-a' });
      expectProblem(await listKeys(roleless), 403, 'MISSING_ROLE');
    });
  });

  describe('embedded bootstrap admin token', () => {
    it('generates a token once, keeps it private in DATA_DIR and reuses it on restart', async () => {
      const dataDir = tempDataDir('boot');
      embeddedDirs.push(dataDir);
      const storageMode: HubConfig['storage'] = { kind: 'embedded', dataDir };

      const printed: string[] = [];
      const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
        printed.push(String(chunk));
        return true;
      });
      let first: RunningHub;
      try {
        first = await startHub(storageMode, { adminToken: undefined });
      } finally {
        write.mockRestore();
      }
      embeddedHubs.push(first);
      expect(first.app.get<HubConfig>(HUB_CONFIG).adminToken).toBeUndefined();

      const file = join(dataDir, ADMIN_TOKEN_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8').trim();
      expect(token).toMatch(/^lha_[A-Za-z0-9_-]{43}$/);
      expect(printed.join('')).toContain(token);

      const asAdmin = await first.call(token, 'GET', '/v1/admin/api-keys');
      expect(asAdmin.status).toBe(200);
      expectProblem(
        await first.call(ADMIN_TOKEN, 'GET', '/v1/admin/api-keys'),
        401,
        'INVALID_TOKEN',
      );
      await first.close();
      embeddedHubs.splice(embeddedHubs.indexOf(first), 1);

      const reprinted: string[] = [];
      const rewrite = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
        reprinted.push(String(chunk));
        return true;
      });
      let second: RunningHub;
      try {
        second = await startHub(storageMode, { adminToken: undefined });
      } finally {
        rewrite.mockRestore();
      }
      embeddedHubs.push(second);
      expect(readFileSync(file, 'utf8').trim()).toBe(token);
      expect(reprinted.join('')).not.toContain(token);
      expect((await second.call(token, 'GET', '/v1/admin/api-keys')).status).toBe(200);
    });
  });
});
