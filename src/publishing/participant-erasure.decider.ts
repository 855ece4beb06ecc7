import { Actor } from '../auth/principal';
import { ConflictError } from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import { ProgramFacts } from '../programs/program.decider';
import { assertActsForProgram } from './learning-event.decider';
import { ErasedEvent, ParticipantErased } from './learning-event.events';

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

export interface ParticipantErasureState {
  recorded: boolean;
}

/**
 * Erasure is the publisher's call, as the controller of its participants' data: a PUBLISHER or
 * ORG_ADMIN of the program's organisation, or a system admin.
 */
export const assertMayErase = (actor: Actor, programId: string, program: ProgramFacts | null) =>
  assertActsForProgram(
    actor,
    programId,
    program,
    ['PUBLISHER', 'ORG_ADMIN'],
    'erase participants of',
  );

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
        return { recorded: true };
      default: {
        const unknownEvent: never = event.type;
        return unknownEvent;
      }
    }
  },
};
