import { Actor, hasRole, isSystemAdmin, Role } from '../auth/principal';
import {
  ConflictError,
  ForbiddenError,
  HubError,
  InvalidInputError,
  NotFoundError,
} from '../errors/hub-error';
import { sameJson } from '../event-sourcing/canonical-json';
import { Decider } from '../event-sourcing/decider';
import { ProgramFacts } from '../programs/program.decider';
import { eventIdFor, LearningEventContent, LearningEventEvent } from './learning-event.events';

interface LearningEventCommandBase {
  eventId: string;
  /** The program the EventId names. */
  programId: string;
  actor: Actor;
  /** The program the EventId names; null when no such program is registered. */
  program: ProgramFacts | null;
  now: Date;
}

export type PublishLearningEvent = LearningEventCommandBase & {
  type: 'PublishLearningEvent';
  content: LearningEventContent;
};

export type AmendLearningEvent = LearningEventCommandBase & {
  type: 'AmendLearningEvent';
  content: LearningEventContent;
};

export type RetractLearningEvent = LearningEventCommandBase & { type: 'RetractLearningEvent' };

export type LearningEventCommand = PublishLearningEvent | AmendLearningEvent | RetractLearningEvent;

export type LearningEventState =
  | { exists: false }
  | {
      exists: true;
      eventId: string;
      content: LearningEventContent;
      /** As first published: a resend of it is still a resend after a correction. */
      original: LearningEventContent;
      createdUtc: string;
      amendedUtc: string | null;
      retractedUtc: string | null;
    };

export const learningEventNotFound = (eventId: string) =>
  new NotFoundError('EVENT_NOT_FOUND', `No event ${eventId}`, { eventId });

export const learningEventRetracted = (eventId: string, retractedUtc: string) =>
  new HubError('gone', 'EVENT_RETRACTED', `Event ${eventId} was retracted at ${retractedUtc}`, {
    eventId,
    retractedUtc,
  });

/**
 * Only the program's own organisation acts on its events: a holder of one of `roles` in that
 * organisation, or a system admin. An unregistered program is refused the same way, so the
 * answer tells a caller nothing about other organisations' programs. `action` completes "This
 * credential may not …".
 */
export const assertActsForProgram = (
  actor: Actor,
  programId: string,
  program: ProgramFacts | null,
  roles: readonly Role[],
  action: string,
) => {
  const mayAct =
    isSystemAdmin(actor) ||
    (hasRole(actor, ...roles) &&
      program !== null &&
      program.organisationId === actor.organisationId);
  if (!mayAct)
    throw new ForbiddenError(
      'PROGRAM_NOT_YOURS',
      `This credential may not ${action} program ${programId}`,
      { programId },
    );
  if (program === null)
    throw new NotFoundError('PROGRAM_NOT_FOUND', `No program ${programId} is registered`, {
      programId,
    });
};

/** A PUBLISHER of the program's organisation (or a system admin) publishes for it. */
export const assertMayPublish = (actor: Actor, programId: string, program: ProgramFacts | null) =>
  assertActsForProgram(actor, programId, program, ['PUBLISHER'], 'publish for');

const assertIdentity = (command: PublishLearningEvent | AmendLearningEvent) => {
  const { PublisherProgramId, PublisherEventId } = command.content;
  if (eventIdFor(PublisherProgramId, PublisherEventId) !== command.eventId)
    throw new InvalidInputError(
      `PublisherProgramId and PublisherEventId do not identify event ${command.eventId}`,
      [{ field: 'PublisherEventId', message: 'must be the one the event was published with' }],
      'EVENT_ID_MISMATCH',
    );
};

export const learningEventDecider: Decider<
  LearningEventCommand,
  LearningEventEvent,
  LearningEventState
> = {
  initialState: () => ({ exists: false }),

  decide: (command, state) => {
    const { eventId, now } = command;
    assertMayPublish(command.actor, command.programId, command.program);
    switch (command.type) {
      case 'PublishLearningEvent': {
        assertIdentity(command);
        if (!state.exists)
          return [
            {
              type: 'LearningEventPublished',
              data: { EventId: eventId, ...command.content, CreatedUtc: now.toISOString() },
            },
          ];
        if (state.retractedUtc !== null)
          throw new ConflictError(
            'EVENT_RETRACTED',
            `Event ${eventId} (PublisherEventId ${command.content.PublisherEventId}) was retracted; publish under a new PublisherEventId`,
            { eventId, retractedUtc: state.retractedUtc },
          );
        // A resend (of what was first sent, or of the current correction) records nothing.
        if (sameJson(command.content, state.content) || sameJson(command.content, state.original))
          return [];
        throw new ConflictError(
          'EVENT_CONFLICT',
          `PublisherEventId ${command.content.PublisherEventId} was already published with other content; send a correction with PUT /v1/events/${eventId}`,
          { eventId },
        );
      }
      case 'AmendLearningEvent': {
        assertIdentity(command);
        if (!state.exists) throw learningEventNotFound(eventId);
        if (state.retractedUtc !== null)
          throw new ConflictError('EVENT_RETRACTED', `Event ${eventId} was retracted`, {
            eventId,
            retractedUtc: state.retractedUtc,
          });
        if (sameJson(command.content, state.content)) return [];
        return [
          {
            type: 'LearningEventAmended',
            data: {
              EventId: eventId,
              ...command.content,
              CreatedUtc: state.createdUtc,
              AmendedUtc: now.toISOString(),
              PreviousCategoryValue: state.content.PublisherEventCategory?.value ?? null,
            },
          },
        ];
      }
      case 'RetractLearningEvent': {
        if (!state.exists) throw learningEventNotFound(eventId);
        if (state.retractedUtc !== null) return [];
        const { content } = state;
        return [
          {
            type: 'LearningEventRetracted',
            data: {
              EventId: eventId,
              PublisherProgramId: content.PublisherProgramId,
              PublisherSystemId: content.PublisherSystemId,
              EventType: content.EventType,
              PublisherEventId: content.PublisherEventId,
              PublisherParticipantId: content.PublisherParticipantId,
              PublisherEventCategory: content.PublisherEventCategory,
              CreatedUtc: state.createdUtc,
              RetractedUtc: now.toISOString(),
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
      case 'LearningEventPublished': {
        const content = contentOf(event.data);
        return {
          exists: true,
          eventId: event.data.EventId,
          content,
          original: content,
          createdUtc: event.data.CreatedUtc,
          amendedUtc: null,
          retractedUtc: null,
        };
      }
      case 'LearningEventAmended':
        if (!state.exists) return state;
        return { ...state, content: contentOf(event.data), amendedUtc: event.data.AmendedUtc };
      case 'LearningEventRetracted':
        if (!state.exists) return state;
        return { ...state, retractedUtc: event.data.RetractedUtc };
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};

/** The content fields of a recorded publication or amendment, without the hub's own. */
export const contentOf = (data: LearningEventContent): LearningEventContent => ({
  PublisherProgramId: data.PublisherProgramId,
  PublisherSystemId: data.PublisherSystemId,
  EventType: data.EventType,
  PublisherEventId: data.PublisherEventId,
  PublisherParticipantId: data.PublisherParticipantId,
  PublisherEventCategory: data.PublisherEventCategory,
  PublisherEventData: data.PublisherEventData,
  EventStartUtc: data.EventStartUtc,
  EventEndUtc: data.EventEndUtc,
});
