import { Actor, isAdminOf, isSystemAdmin, Role } from '../auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import { ApiKeyEvent, ApiKeyIssued } from './api-key.events';

export type IssueApiKey = {
  type: 'IssueApiKey';
  keyId: string;
  principalId: string;
  organisationId: string;
  roles: Role[];
  label: string;
  secretHash: string;
  actor: Actor;
  now: Date;
};

export type RevokeApiKey = { type: 'RevokeApiKey'; keyId: string; actor: Actor; now: Date };

export type ApiKeyCommand = IssueApiKey | RevokeApiKey;

export type ApiKeyState =
  | { status: 'none' }
  | { status: 'active' | 'revoked'; key: ApiKeyIssued['data']; revokedAt: string | null };

const notFound = (keyId: string) =>
  new NotFoundError('API_KEY_NOT_FOUND', `No API key ${keyId}`, { keyId });

/** Roles that reach beyond one organisation. */
const SYSTEM_ROLES: readonly Role[] = ['SYSTEM_ADMIN', 'METRICS'];

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyEvent, ApiKeyState> = {
  initialState: () => ({ status: 'none' }),

  decide: (command, state) => {
    switch (command.type) {
      case 'IssueApiKey': {
        const { actor } = command;
        if (!isAdminOf(actor, command.organisationId))
          throw new ForbiddenError(
            'UNAUTHORIZED_USER',
            'Only a system admin, or an admin of the same organisation, issues API keys for it',
          );
        // An organisation admin cannot mint a key more powerful than itself, nor one that reads
        // the whole hub's metrics.
        const systemRoles = command.roles.filter((role) => SYSTEM_ROLES.includes(role));
        if (systemRoles.length > 0 && !isSystemAdmin(actor))
          throw new ForbiddenError(
            'ROLE_NOT_GRANTABLE',
            `Only a system admin can issue keys with the ${systemRoles.join(' or ')} role`,
          );
        if (state.status !== 'none')
          throw new ConflictError('API_KEY_EXISTS', `API key ${command.keyId} already exists`);
        return [
          {
            type: 'ApiKeyIssued',
            data: {
              keyId: command.keyId,
              principalId: command.principalId,
              organisationId: command.organisationId,
              roles: [...new Set(command.roles)],
              label: command.label,
              secretHash: command.secretHash,
              issuedBy: actor.userId,
              issuedAt: command.now.toISOString(),
            },
          },
        ];
      }
      case 'RevokeApiKey': {
        if (state.status === 'none') throw notFound(command.keyId);
        if (!isAdminOf(command.actor, state.key.organisationId)) {
          if (command.actor.organisationId !== state.key.organisationId)
            throw notFound(command.keyId);
          throw new ForbiddenError('UNAUTHORIZED_USER', 'Only an admin revokes API keys');
        }
        if (state.status === 'revoked') return [];
        return [
          {
            type: 'ApiKeyRevoked',
            data: {
              keyId: command.keyId,
              revokedBy: command.actor.userId,
              revokedAt: command.now.toISOString(),
            },
          },
        ];
      }
      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  },

  evolve: (state, event) => {
    switch (event.type) {
      case 'ApiKeyIssued':
        return { status: 'active', key: event.data, revokedAt: null };
      case 'ApiKeyRevoked':
        return state.status === 'none'
          ? state
          : { ...state, status: 'revoked', revokedAt: event.data.revokedAt };
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};
