import { Inject, Injectable } from '@nestjs/common';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import { Principal } from '../auth/principal';
import { UnauthenticatedError } from '../errors/hub-error';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { apiKeyDecider } from './api-key.decider';
import { apiKeyStream } from './api-key.events';
import { looksLikeApiKey, parseApiKeyToken, secretMatches } from './api-key-token';

// A revoked key stops working here at once, and on other instances within this long.
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

type CachedKey = { principal: Principal; secretHash: string } | null;

/** The principals API keys stand for, read from their streams and kept a few seconds. */
@Injectable()
export class ApiKeyPrincipals implements ApiKeyResolver {
  private readonly keys = new Map<string, { key: CachedKey; expiresAt: number }>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  recognises(token: string): boolean {
    return looksLikeApiKey(token);
  }

  async principalOf(token: string): Promise<Principal> {
    const parsed = parseApiKeyToken(token);
    if (!parsed) throw new UnauthenticatedError('INVALID_TOKEN', 'The API key is malformed');
    const key = await this.lookup(parsed.keyId);
    if (!key || !secretMatches(parsed.secret, key.secretHash))
      throw new UnauthenticatedError('INVALID_TOKEN', 'The API key is unknown or revoked');
    return key.principal;
  }

  /** Called when a key is revoked through this instance. */
  forget(keyId: string): void {
    this.keys.delete(keyId);
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
