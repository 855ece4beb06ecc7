import { Actor, Role } from '../auth/principal';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { AppendResult, EventStore } from '../event-store/event-store.port';
import { apiKeyDecider } from './api-key.decider';
import { apiKeyStream } from './api-key.events';
import { newApiKeyToken } from './api-key-token';

export interface IssuedApiKey {
  keyId: string;
  /** The credential itself: returned once, never stored. */
  token: string;
  principalId: string;
  organisationId: string;
  roles: Role[];
  label: string;
  issuedAt: string;
  appended: AppendResult | null;
}

/** Shared by the HTTP endpoint and the CLI. */
export const issueApiKey = async (
  store: EventStore,
  request: { principalId: string; organisationId: string; roles: Role[]; label: string },
  actor: Actor,
  now: Date,
  requestId?: string,
): Promise<IssuedApiKey> => {
  const { keyId, token, secretHash } = newApiKeyToken();
  const outcome = await handleCommand(
    store,
    apiKeyStream(keyId),
    apiKeyDecider,
    { type: 'IssueApiKey', keyId, secretHash, ...request, actor, now },
    { metadata: actorMetadata(actor, requestId) },
  );
  return {
    keyId,
    token,
    ...request,
    roles: [...new Set(request.roles)],
    issuedAt: now.toISOString(),
    appended: outcome.appended,
  };
};

export const revokeApiKey = async (
  store: EventStore,
  keyId: string,
  actor: Actor,
  now: Date,
  requestId?: string,
): Promise<AppendResult | null> => {
  const outcome = await handleCommand(
    store,
    apiKeyStream(keyId),
    apiKeyDecider,
    { type: 'RevokeApiKey', keyId, actor, now },
    { metadata: actorMetadata(actor, requestId) },
  );
  return outcome.appended;
};
