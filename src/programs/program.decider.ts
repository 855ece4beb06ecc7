import { Actor, canSeeOrganisation, isAdminOf } from '../auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import { ProgramEvent } from './program.events';

/**
 * Program ids become part of every EventId (`{PublisherProgramId}-{UUID}`), of stream names and
 * of URLs: at most 25 characters (the Learning Hub's limit) from a URL- and stream-safe set.
 */
export const PROGRAM_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,24}$/;
export const PROGRAM_ID_RULE =
  '1-25 characters: letters, digits and . _ : @ -, starting with a letter or digit';

export type RegisterProgram = {
  type: 'RegisterProgram';
  programId: string;
  organisationId: string;
  name: string;
  description: string | null;
  actor: Actor;
  now: Date;
};

export type UpdateProgram = {
  type: 'UpdateProgram';
  programId: string;
  name?: string;
  description?: string | null;
  actor: Actor;
  now: Date;
};

export type ProgramCommand = RegisterProgram | UpdateProgram;

export type ProgramState =
  | { exists: false }
  | {
      exists: true;
      programId: string;
      organisationId: string;
      name: string;
      description: string | null;
      registeredAt: string;
      updatedAt: string;
    };

/** What other slices need to know about a program: who owns it. */
export interface ProgramFacts {
  programId: string;
  organisationId: string;
}

export const programNotFound = (programId: string) =>
  new NotFoundError('PROGRAM_NOT_FOUND', `No program ${programId}`, { programId });

export const programFacts = (state: ProgramState): ProgramFacts | null =>
  state.exists ? { programId: state.programId, organisationId: state.organisationId } : null;

export const programDecider: Decider<ProgramCommand, ProgramEvent, ProgramState> = {
  initialState: () => ({ exists: false }),

  decide: (command, state) => {
    const { actor } = command;
    switch (command.type) {
      case 'RegisterProgram': {
        if (!isAdminOf(actor, command.organisationId))
          throw new ForbiddenError(
            'UNAUTHORIZED_USER',
            'Programs are registered by a system admin or an admin of their organisation',
          );
        if (state.exists) {
          // A retried registration changes nothing; anything else would take over the id.
          if (
            state.organisationId === command.organisationId &&
            state.name === command.name &&
            state.description === command.description
          )
            return [];
          throw new ConflictError(
            'PROGRAM_EXISTS',
            `Program ${command.programId} is already registered`,
            { programId: command.programId },
          );
        }
        return [
          {
            type: 'ProgramRegistered',
            data: {
              programId: command.programId,
              organisationId: command.organisationId,
              name: command.name,
              description: command.description,
              registeredBy: actor.userId,
              registeredAt: command.now.toISOString(),
            },
          },
        ];
      }
      case 'UpdateProgram': {
        if (!state.exists || !canSeeOrganisation(actor, state.organisationId))
          throw programNotFound(command.programId);
        if (!isAdminOf(actor, state.organisationId))
          throw new ForbiddenError(
            'UNAUTHORIZED_USER',
            'Programs are changed by a system admin or an admin of their organisation',
          );
        const name = command.name ?? state.name;
        const description =
          command.description === undefined ? state.description : command.description;
        if (name === state.name && description === state.description) return [];
        return [
          {
            type: 'ProgramUpdated',
            data: {
              programId: command.programId,
              name,
              description,
              updatedBy: actor.userId,
              updatedAt: command.now.toISOString(),
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
      case 'ProgramRegistered':
        return {
          exists: true,
          programId: event.data.programId,
          organisationId: event.data.organisationId,
          name: event.data.name,
          description: event.data.description,
          registeredAt: event.data.registeredAt,
          updatedAt: event.data.registeredAt,
        };
      case 'ProgramUpdated':
        if (!state.exists) return state;
        return {
          ...state,
          name: event.data.name,
          description: event.data.description,
          updatedAt: event.data.updatedAt,
        };
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};
