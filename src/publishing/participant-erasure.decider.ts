import { Actor, hasRole, isSystemAdmin } from '../auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import { ProgramFacts } from '../programs/program.decider';
import { ParticipantErased } from './learning-event.events';

export interface ErasedEvent {
  EventId: string;
  CategoryValue: string | null;
}

export interface EraseParticipant {
  type: 'EraseParticipant';
  erasureId: string;
  programId: string;
  /** The program as registered; null when there is none. */
  program: ProgramFacts | null;
  actor: Actor;
  /** The participant's events, found before deciding; their streams are deleted by then. */
  events: readonly ErasedEvent[];
  now: Date;
}

export type ParticipantErasureState =
  { recorded: false } | { recorded: true; erasedUtc: string; eventIds: string[] };

/**
 * Erasure is the publisher's call, as the controller of its participants' data: a PUBLISHER or
 * ORG_ADMIN of the program's organisation, or a system admin. As with publishing, another
 * organisation's program and an unregistered one are refused alike.
 */
export const assertMayErase = (actor: Actor, programId: string, program: ProgramFacts | null) => {
  const mayErase =
    isSystemAdmin(actor) ||
    (hasRole(actor, 'PUBLISHER', 'ORG_ADMIN') &&
      program !== null &&
      program.organisationId === actor.organisationId);
  if (!mayErase)
    throw new ForbiddenError(
      'PROGRAM_NOT_YOURS',
      `This credential may not erase participants of program ${programId}`,
      { programId },
    );
  if (program === null)
    throw new NotFoundError('PROGRAM_NOT_FOUND', `No program ${programId} is registered`, {
      programId,
    });
};

export const participantErasureDecider: Decider<
  EraseParticipant,
  ParticipantErased,
  ParticipantErasureState
> = {
  initialState: () => ({ recorded: false }),

  decide: (command, state) => {
    assertMayErase(command.actor, command.programId, command.program);
    if (state.recorded)
      throw new ConflictError('ERASURE_RECORDED', `Erasure ${command.erasureId} is recorded`, {
        erasureId: command.erasureId,
      });
    return [
      {
        type: 'ParticipantErased',
        data: {
          ErasureId: command.erasureId,
          PublisherProgramId: command.programId,
          Events: command.events.map(({ EventId, CategoryValue }) => ({ EventId, CategoryValue })),
          ErasedUtc: command.now.toISOString(),
        },
      },
    ];
  },

  evolve: (_state, event) => {
    switch (event.type) {
      case 'ParticipantErased':
        return {
          recorded: true,
          erasedUtc: event.data.ErasedUtc,
          eventIds: event.data.Events.map((erased) => erased.EventId),
        };
      default: {
        const unknownEvent: never = event.type;
        return unknownEvent;
      }
    }
  },
};
