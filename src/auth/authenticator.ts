import { Inject, Injectable } from '@nestjs/common';
import { apiKeyDecider } from '../api-keys/api-key.decider';
import { apiKeyStream } from '../api-keys/api-key.events';
import { looksLikeApiKey, parseApiKeyToken, secretMatches } from '../api-keys/api-key-token';
import { UnauthenticatedError } from '../errors/hub-error';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { AdminToken, LocalAdminToken } from './admin-token';
import { JwtVerifier } from './jwt-verifier';
import { CLI_OPERATOR, Principal } from './principal';

export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');
export const JWT_VERIFIER = Symbol('JWT_VERIFIER');
export const LOCAL_ADMIN_TOKEN = Symbol('LOCAL_ADMIN_TOKEN');

// A revoked key stops working here at once, and on other instances within this long.
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

type CachedKey = { principal: Principal; secretHash: string } | null;

/** Turns a bearer token into a principal, or refuses it. */
@Injectable()
export class Authenticator {
  private readonly keys = new Map<string, { key: CachedKey; expiresAt: number }>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ADMIN_TOKEN) private readonly adminToken: AdminToken | null,
    @Inject(JWT_VERIFIER) private readonly jwt: JwtVerifier | null,
    @Inject(LOCAL_ADMIN_TOKEN) private readonly localToken: LocalAdminToken | null,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new UnauthenticatedError('missing_credentials');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (!token)
      throw new UnauthenticatedError(
        'malformed_authorization',
        'Send the credential as "Authorization: Bearer <token>"',
      );
    if (this.adminToken?.matches(token))
      return {
        userId: 'hub-admin',
        organisationId: 'system',
        roles: ['SYSTEM_ADMIN'],
        credential: { kind: 'admin-token' },
      };
    if (this.localToken?.matches(token)) return CLI_OPERATOR;
    if (looksLikeApiKey(token)) return this.fromApiKey(token);
    if (this.jwt && token.split('.').length === 3) return this.jwt.verify(token);
    throw new UnauthenticatedError('invalid_token', 'The token is not valid for this hub');
  }

  /** Called when a key is revoked through this instance. */
  forget(keyId: string): void {
    this.keys.delete(keyId);
  }

  private async fromApiKey(token: string): Promise<Principal> {
    const parsed = parseApiKeyToken(token);
    if (!parsed) throw new UnauthenticatedError('invalid_token', 'The API key is malformed');
    const key = await this.lookup(parsed.keyId);
    if (!key || !secretMatches(parsed.secret, key.secretHash))
      throw new UnauthenticatedError('invalid_token', 'The API key is unknown or revoked');
    return key.principal;
  }

  private async lookup(keyId: string): Promise<CachedKey> {
    const now = Date.now();
    const cached = this.keys.get(keyId);
    if (cached && cached.expiresAt > now) return cached.key;
    const { state } = await loadState(this.store, apiKeyStream(keyId), apiKeyDecider);
    const key: CachedKey =
      state.status === 'active'
        ? {
            secretHash: state.key.secretHash,
            principal: {
              userId: state.key.principalId,
              organisationId: state.key.organisationId,
              roles: state.key.roles,
              credential: { kind: 'api-key', keyId },
            },
          }
        : null;
    if (this.keys.size >= KEY_CACHE_MAX) this.keys.clear();
    this.keys.set(keyId, { key, expiresAt: now + KEY_CACHE_MS });
    return key;
  }
}
