import { DomainEvent } from '../event-sourcing/decider';
import { Role } from '../auth/principal';

export const apiKeyStream = (keyId: string): string => `api-key-${keyId}`;
export const API_KEY_STREAM_PREFIX = 'api-key-';

export type ApiKeyIssued = DomainEvent<
  'ApiKeyIssued',
  {
    keyId: string;
    principalId: string;
    organisationId: string;
    roles: Role[];
    label: string;
    /** SHA-256 of the secret part, hex. The secret itself is shown once and never stored. */
    secretHash: string;
    issuedBy: string;
    issuedAt: string;
  }
>;

export type ApiKeyRevoked = DomainEvent<
  'ApiKeyRevoked',
  { keyId: string; revokedBy: string; revokedAt: string }
>;

export type ApiKeyEvent = ApiKeyIssued | ApiKeyRevoked;
