import { Actor, canSeeOrganisation, isAdminOf, isSystemAdmin } from '../auth/principal';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import { SealedPersonalData } from './user.events';
import { UserEvent, UserProfileAttributes } from './user.events';

export type RecordUserProfile = {
  type: 'RecordUserProfile';
  userId: string;
  /** The organisation the request named; null when it named none (see `profileOrganisation`). */
  organisationId: string | null;
  personal: SealedPersonalData | null;
  personalDigest: string | null;
  attributes: UserProfileAttributes;
  actor: Actor;
  now: Date;
};

export type ErasePersonalData = {
  type: 'ErasePersonalData';
  userId: string;
  actor: Actor;
  now: Date;
};

export type UserCommand = RecordUserProfile | ErasePersonalData;

export type UserState =
  | { exists: false }
  | {
      exists: true;
      organisationId: string;
      personalDigest: string | null;
      attributes: UserProfileAttributes;
      erasedAt: string | null;
    };

export const userNotFound = (userId: string) =>
  new NotFoundError('USER_NOT_FOUND', `No user ${userId}`, { userId });

/**
 * The organisation a profile write leaves the user in. A snapshot that names none never moves
 * anyone: an existing user keeps their organisation, whoever sends it. A new user joins the
 * caller's organisation, unless the caller is a system admin: system admins act for every
 * organisation, so their own (`system`) says nothing about the user's, and they must name it.
 */
export const profileOrganisation = (
  actor: Actor,
  state: UserState,
  requested: string | null,
): string => {
  if (requested !== null) return requested;
  if (state.exists) return state.organisationId;
  if (!isSystemAdmin(actor)) return actor.organisationId;
  const message = 'A system admin names the organisation of a user the hub does not know yet';
  throw new InvalidInputError(
    message,
    [{ field: 'organisationId', message }],
    'ORGANISATION_REQUIRED',
  );
};

/**
 * Profiles come from the organisation's user service, which authenticates as an admin of that
 * organisation. Only an admin of both organisations (a system admin) moves a user to another.
 * Another organisation's user is not found, as everywhere. Returns the organisation the profile
 * is recorded in.
 */
export const assertMayRecordProfile = (
  actor: Actor,
  state: UserState,
  requested: string | null,
  userId: string,
): string => {
  if (state.exists && !canSeeOrganisation(actor, state.organisationId)) throw userNotFound(userId);
  const organisationId = profileOrganisation(actor, state, requested);
  if (!isAdminOf(actor, organisationId))
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Only an admin of the organisation (or its user service) records profiles',
    );
  if (
    state.exists &&
    state.organisationId !== organisationId &&
    !isAdminOf(actor, state.organisationId)
  )
    throw new ForbiddenError('UNAUTHORIZED_USER', 'The user belongs to another organisation');
  return organisationId;
};

export const assertMayErase = (actor: Actor, state: UserState, userId: string): void => {
  if (!state.exists) throw userNotFound(userId);
  const self = actor.userId === userId && actor.organisationId === state.organisationId;
  if (self || isAdminOf(actor, state.organisationId)) return;
  if (actor.organisationId !== state.organisationId) throw userNotFound(userId);
  throw new ForbiddenError(
    'UNAUTHORIZED_USER',
    'Only the user or an admin of their organisation erases personal data',
  );
};

const sameAttributes = (a: UserProfileAttributes, b: UserProfileAttributes): boolean =>
  (Object.keys(a) as (keyof UserProfileAttributes)[]).every((key) => a[key] === b[key]);

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState: () => ({ exists: false }),

  decide: (command, state) => {
    switch (command.type) {
      case 'RecordUserProfile': {
        const organisationId = assertMayRecordProfile(
          command.actor,
          state,
          command.organisationId,
          command.userId,
        );
        // Snapshots are re-sent freely by user services; only a change is an event.
        if (
          state.exists &&
          state.organisationId === organisationId &&
          state.personalDigest === command.personalDigest &&
          sameAttributes(state.attributes, command.attributes)
        )
          return [];
        return [
          {
            type: 'UserProfileRecorded',
            data: {
              userId: command.userId,
              organisationId,
              personal: command.personal,
              personalDigest: command.personalDigest,
              attributes: command.attributes,
              recordedBy: command.actor.userId,
              recordedAt: command.now.toISOString(),
            },
          },
        ];
      }
      case 'ErasePersonalData': {
        assertMayErase(command.actor, state, command.userId);
        if (state.exists && state.erasedAt !== null && state.personalDigest === null) return [];
        return [
          {
            type: 'UserPersonalDataErased',
            data: {
              userId: command.userId,
              erasedBy: command.actor.userId,
              erasedAt: command.now.toISOString(),
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
      case 'UserProfileRecorded':
        return {
          exists: true,
          organisationId: event.data.organisationId,
          personalDigest: event.data.personalDigest,
          attributes: event.data.attributes,
          erasedAt: state.exists ? state.erasedAt : null,
        };
      case 'UserPersonalDataErased':
        return state.exists
          ? { ...state, personalDigest: null, erasedAt: event.data.erasedAt }
          : state;
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};
