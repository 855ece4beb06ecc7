import {
  hashSecret,
  looksLikeApiKey,
  newApiKeyToken,
  parseApiKeyToken,
  secretMatches,
} from '../../src/api-keys/api-key-token';
import { apiKeyDecider, IssueApiKey, RevokeApiKey } from '../../src/api-keys/api-key.decider';
import { ApiKeyEvent } from '../../src/api-keys/api-key.events';
import { Actor } from '../../src/auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../../src/errors/hub-error';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(apiKeyDecider);

const ORG = 'org-1';
const OTHER_ORG = 'org-2';
const now = new Date('2026-11-22T10:00:00.000Z');
const NOW = now.toISOString();
const KEY_ID = '01KAPZ8Y3N4W6V2Q9R5T7X1B0C';

const orgAdmin: Actor = { userId: 'u-admin', organisationId: ORG, roles: ['ORG_ADMIN'] };
const foreignAdmin: Actor = { userId: 'u-other', organisationId: OTHER_ORG, roles: ['ORG_ADMIN'] };
const systemAdmin: Actor = { userId: 'u-root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };
const creator: Actor = { userId: 'u-creator', organisationId: ORG, roles: ['CONTENT_CREATOR'] };

const issue = (overrides: Partial<IssueApiKey> = {}): IssueApiKey => ({
  type: 'IssueApiKey',
  keyId: KEY_ID,
  principalId: 'svc-publisher',
  organisationId: ORG,
  roles: ['PUBLISHER', 'PUBLISHER'],
  label: 'LMS publisher',
  secretHash: 'ab'.repeat(32),
  actor: orgAdmin,
  now,
  ...overrides,
});

const revoke = (actor: Actor = orgAdmin): RevokeApiKey => ({
  type: 'RevokeApiKey',
  keyId: KEY_ID,
  actor,
  now,
});

const issued: ApiKeyEvent = {
  type: 'ApiKeyIssued',
  data: {
    keyId: KEY_ID,
    principalId: 'svc-publisher',
    organisationId: ORG,
    roles: ['PUBLISHER'],
    label: 'LMS publisher',
    secretHash: 'ab'.repeat(32),
    issuedBy: 'u-admin',
    issuedAt: '2026-11-01T09:00:00.000Z',
  },
};

const revoked: ApiKeyEvent = {
  type: 'ApiKeyRevoked',
  data: { keyId: KEY_ID, revokedBy: 'u-admin', revokedAt: '2026-11-20T00:00:00.000Z' },
};

describe('api key decider: IssueApiKey', () => {
  it('issues a key for an ORG_ADMIN’s own organisation, roles de-duplicated', () => {
    spec
      .given([])
      .when(issue())
      .then([
        {
          type: 'ApiKeyIssued',
          data: {
            keyId: KEY_ID,
            principalId: 'svc-publisher',
            organisationId: ORG,
            roles: ['PUBLISHER'],
            label: 'LMS publisher',
            secretHash: 'ab'.repeat(32),
            issuedBy: 'u-admin',
            issuedAt: NOW,
          },
        },
      ]);
  });

  it('refuses an ORG_ADMIN issuing for another organisation', () => {
    spec
      .given([])
      .when(issue({ actor: foreignAdmin }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a caller who is not an admin', () => {
    spec
      .given([])
      .when(issue({ actor: creator }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('refuses an ORG_ADMIN granting SYSTEM_ADMIN', () => {
    spec
      .given([])
      .when(issue({ roles: ['PUBLISHER', 'SYSTEM_ADMIN'] }))
      .thenThrows(ForbiddenError, { code: 'ROLE_NOT_GRANTABLE' });
  });

  it('lets a SYSTEM_ADMIN grant SYSTEM_ADMIN for any organisation', () => {
    const [event] = apiKeyDecider.decide(
      issue({ actor: systemAdmin, organisationId: OTHER_ORG, roles: ['SYSTEM_ADMIN'] }),
      apiKeyDecider.initialState(),
    );
    expect(event).toMatchObject({
      type: 'ApiKeyIssued',
      data: { organisationId: OTHER_ORG, roles: ['SYSTEM_ADMIN'], issuedBy: 'u-root' },
    });
  });

  it('refuses a key id that is already taken', () => {
    spec.given([issued]).when(issue()).thenThrows(ConflictError, { code: 'API_KEY_EXISTS' });
  });
});

describe('api key decider: RevokeApiKey', () => {
  it('revokes an active key', () => {
    spec
      .given([issued])
      .when(revoke())
      .then([
        {
          type: 'ApiKeyRevoked',
          data: { keyId: KEY_ID, revokedBy: 'u-admin', revokedAt: NOW },
        },
      ]);
  });

  it('does nothing for a key already revoked', () => {
    spec.given([issued, revoked]).when(revoke()).thenNothingHappens();
  });

  it('refuses a key that does not exist', () => {
    spec.given([]).when(revoke()).thenThrows(NotFoundError, { code: 'API_KEY_NOT_FOUND' });
  });

  it('hides the key from an admin of another organisation', () => {
    spec
      .given([issued])
      .when(revoke(foreignAdmin))
      .thenThrows(NotFoundError, { code: 'API_KEY_NOT_FOUND' });
  });

  it('refuses a user of the organisation who is not an admin', () => {
    spec
      .given([issued])
      .when(revoke(creator))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });
});

describe('api key tokens', () => {
  it('round-trips a new token: its id and secret parse back and the secret matches the hash', () => {
    const { keyId, token, secretHash } = newApiKeyToken();
    expect(token).toMatch(/^lhk_[0-9A-HJKMNP-TV-Z]{26}_[A-Za-z0-9_-]{43}$/);
    expect(looksLikeApiKey(token)).toBe(true);
    const parsed = parseApiKeyToken(token);
    expect(parsed).not.toBeNull();
    expect(parsed?.keyId).toBe(keyId);
    expect(token).toBe(`lhk_${keyId}_${parsed?.secret}`);
    expect(secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(parsed?.secret ?? '')).toBe(secretHash);
    expect(secretMatches(parsed?.secret ?? '', secretHash)).toBe(true);
  });

  it('never stores the secret itself, and gives every token its own id and secret', () => {
    const first = newApiKeyToken();
    const second = newApiKeyToken();
    expect(first.keyId).not.toBe(second.keyId);
    expect(first.token).not.toBe(second.token);
    expect(first.secretHash).not.toBe(second.secretHash);
    expect(first.token).not.toContain(first.secretHash);
  });

  it('rejects a tampered secret', () => {
    const { token, secretHash } = newApiKeyToken();
    const parsed = parseApiKeyToken(token);
    const secret = parsed?.secret ?? '';
    const flipped = secret[10] === 'A' ? 'B' : 'A';
    const tampered = `${secret.slice(0, 10)}${flipped}${secret.slice(11)}`;
    expect(tampered).toHaveLength(43);
    expect(parseApiKeyToken(token.replace(secret, tampered))?.secret).toBe(tampered);
    expect(secretMatches(tampered, secretHash)).toBe(false);
  });

  it('rejects a secret checked against another key’s hash, or a malformed hash', () => {
    const { token } = newApiKeyToken();
    const other = newApiKeyToken();
    const secret = parseApiKeyToken(token)?.secret ?? '';
    expect(secretMatches(secret, other.secretHash)).toBe(false);
    expect(secretMatches(secret, '')).toBe(false);
    expect(secretMatches(secret, 'not-hex')).toBe(false);
    expect(secretMatches(secret, hashSecret(secret).slice(0, 62))).toBe(false);
  });

  it.each([
    ['a wrong prefix', (token: string) => token.replace(/^lhk_/, 'lhx_')],
    ['no prefix', (token: string) => token.slice(4)],
    ['a truncated secret', (token: string) => token.slice(0, -1)],
    ['an extra character', (token: string) => `${token}A`],
    [
      'a lower-case key id',
      (token: string) => `lhk_${token.slice(4, 30).toLowerCase()}${token.slice(30)}`,
    ],
    ['a key id with a letter ULIDs never use', (token: string) => `lhk_U${token.slice(5)}`],
    ['a secret with a character outside base64url', (token: string) => `${token.slice(0, -1)}+`],
    ['a missing separator', (token: string) => `${token.slice(0, 30)}${token.slice(31)}`],
  ])('rejects a token with %s', (_case, tamper) => {
    expect(parseApiKeyToken(tamper(newApiKeyToken().token))).toBeNull();
  });

  it('rejects what is not a token at all', () => {
    expect(parseApiKeyToken('')).toBeNull();
    expect(parseApiKeyToken('Bearer xyz')).toBeNull();
    expect(looksLikeApiKey('eyJhbGciOiJSUzI1NiJ9.e30.sig')).toBe(false);
  });
});
