import { Actor, hasRole, isSameUser, isSystemAdmin } from '../auth/principal';
import { courseNotFound } from '../courses/course.decider';
import { ForbiddenError, NotFoundError } from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import { ConsentEvent } from './consent.events';

/** What the decider needs to know about the course: looked up by the caller. */
export interface ConsentCourseFacts {
  courseId: string;
  organisationId: string;
}

interface ConsentCommandBase {
  userId: string;
  courseId: string;
  /** Null when the request named none: the course's own organisation is then the consumer. */
  consumerOrganisationId: string | null;
  /** Null when no such course exists. */
  course: ConsentCourseFacts | null;
  actor: Actor;
  /** The user's organisation when the hub has their profile. */
  profile?: { organisationId: string } | null;
  now: Date;
}

export type GrantConsent = ConsentCommandBase & { type: 'GrantConsent' };
export type RevokeConsent = ConsentCommandBase & { type: 'RevokeConsent' };

export type ConsentCommand = GrantConsent | RevokeConsent;

/** The latest decision for one course and consumer organisation, and when it was made. */
export interface ConsentEntry {
  granted: boolean;
  at: string;
}

/** Keyed by consentKey(courseId, consumerOrganisationId). */
export type ConsentState = ReadonlyMap<string, ConsentEntry>;

// Identifiers never contain '|', so the key cannot be read two ways.
export const consentKey = (courseId: string, consumerOrganisationId: string): string =>
  `${courseId}|${consumerOrganisationId}`;

export const consentNotFound = (userId: string, courseId: string, consumerOrganisationId: string) =>
  new NotFoundError(
    'CONSENT_NOT_FOUND',
    `User ${userId} never consented to ${consumerOrganisationId} seeing their data for course ${courseId}`,
    { userId, courseId, consumerOrganisationId },
  );

const notYours = (what: string) =>
  new ForbiddenError('CONSENT_NOT_YOURS', `Only the user (or a system admin) ${what}`);

/** Consent is the user's own decision; a system admin may record it on their behalf. */
export const assertMayDecideConsent = (
  actor: Actor,
  userId: string,
  profile?: { organisationId: string } | null,
): void => {
  if (!isSameUser(actor, userId, profile) && !isSystemAdmin(actor))
    throw notYours('grants or revokes their consent');
};

/**
 * Which of a user's consents the actor may list: all of them for the user and system admins;
 * for an organisation's admin, those given to their organisation (the ones it relies on).
 */
export const consentListScope = (
  actor: Actor,
  userId: string,
  profile?: { organisationId: string } | null,
): { consumerOrganisationId: string | null } => {
  if (isSameUser(actor, userId, profile) || isSystemAdmin(actor))
    return { consumerOrganisationId: null };
  if (hasRole(actor, 'ORG_ADMIN')) return { consumerOrganisationId: actor.organisationId };
  throw notYours('and organisation admins see their consents');
};

/** Consent goes to the course's own organisation unless the user names another. */
export const resolveConsumer = (requested: string | null, course: ConsentCourseFacts): string =>
  requested ?? course.organisationId;

/** The consent a command is about, with the default consumer resolved; throws when refused. */
const target = (command: ConsentCommand): { key: string; consumer: string } => {
  assertMayDecideConsent(command.actor, command.userId, command.profile);
  // Any course, of any organisation: users consent to courses their organisation does not own.
  if (!command.course) throw courseNotFound(command.courseId);
  const consumer = resolveConsumer(command.consumerOrganisationId, command.course);
  return { key: consentKey(command.courseId, consumer), consumer };
};

export const consentDecider: Decider<ConsentCommand, ConsentEvent, ConsentState> = {
  initialState: () => new Map(),

  decide: (command, state) => {
    const { key, consumer } = target(command);
    const current = state.get(key);
    switch (command.type) {
      case 'GrantConsent': {
        // Clients retry; an active consent keeps its original time.
        if (current?.granted) return [];
        return [
          {
            type: 'ConsentGranted',
            data: {
              userId: command.userId,
              courseId: command.courseId,
              consumerOrganisationId: consumer,
              grantedBy: command.actor.userId,
              grantedAt: command.now.toISOString(),
            },
          },
        ];
      }
      case 'RevokeConsent': {
        if (!current) throw consentNotFound(command.userId, command.courseId, consumer);
        if (!current.granted) return [];
        return [
          {
            type: 'ConsentRevoked',
            data: {
              userId: command.userId,
              courseId: command.courseId,
              consumerOrganisationId: consumer,
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
    const key = consentKey(event.data.courseId, event.data.consumerOrganisationId);
    switch (event.type) {
      case 'ConsentGranted':
        return new Map(state).set(key, { granted: true, at: event.data.grantedAt });
      case 'ConsentRevoked':
        return new Map(state).set(key, { granted: false, at: event.data.revokedAt });
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};
