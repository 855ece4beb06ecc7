import { DomainEvent } from '../event-sourcing/decider';

export const CONSENT_STREAM_PREFIX = 'consent-';

/** All of a user's consents live in one stream: a user's decisions are ordered among themselves. */
export const consentStream = (userId: string): string => `${CONSENT_STREAM_PREFIX}${userId}`;

/** The user lets `consumerOrganisationId` see their personal data in the course's reports. */
export type ConsentGranted = DomainEvent<
  'ConsentGranted',
  {
    userId: string;
    courseId: string;
    consumerOrganisationId: string;
    grantedBy: string;
    grantedAt: string;
  }
>;

export type ConsentRevoked = DomainEvent<
  'ConsentRevoked',
  {
    userId: string;
    courseId: string;
    consumerOrganisationId: string;
    revokedBy: string;
    revokedAt: string;
  }
>;

export type ConsentEvent = ConsentGranted | ConsentRevoked;
