import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { eventsNamingParticipantAsOf } from '../../projections/learning-events/learning-events.query';
import { actorOf, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore, Position, START } from '../event-store/event-store.port';
import { newUlid } from '../ids/ulid';
import { ProgramDirectory } from '../programs/programs.lookups';
import { CLOCK, Clock } from '../time/clock';
import { ERASED_EVENT_COPIES, ErasedEventCopies } from './erased-events.port';
import {
  ErasedEvent,
  learningEventStream,
  parseEventId,
  participantErasureStream,
  PublisherCategoryEvent,
  publisherCategory,
} from './learning-event.events';
import { assertMayErase, participantErasureDecider } from './participant-erasure.decider';

export class EraseParticipantCommand extends Command<ParticipantErasure> {
  constructor(
    readonly programId: string,
    /** Exactly as the publisher sent it in its events. */
    readonly participantId: string,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export interface ParticipantErasure {
  ErasureId: string;
  PublisherProgramId: string;
  EventIds: string[];
  ErasedUtc: string;
}

const TAIL_PAGE = 5_000;

/**
 * Erases a participant of a program: every event that names them, or named them before a
 * correction, leaves the log (its stream is deleted), the read models and the dead letters;
 * then the erasure is recorded, naming the events but not the participant, and reaches each
 * subscriber that imported any of them as an `erased` item.
 *
 * The events are found in the read model and, for what it has not applied yet, in the log after
 * its checkpoint, so an event published just before the request is not missed. The streams are
 * deleted before the erasure is recorded: a request that fails half-way finds the same events
 * again when retried (the read model drops them only on the record), and deleting a stream twice
 * does nothing.
 */
@CommandHandler(EraseParticipantCommand)
export class EraseParticipantHandler implements ICommandHandler<
  EraseParticipantCommand,
  ParticipantErasure
> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly programs: ProgramDirectory,
    @Inject(ERASED_EVENT_COPIES) private readonly copies: ErasedEventCopies,
  ) {}

  async execute({
    programId,
    participantId,
    principal,
    requestId,
  }: EraseParticipantCommand): Promise<ParticipantErasure> {
    const actor = actorOf(principal);
    const program = await this.programs.program(programId);
    // Refused before anything is looked at, as the decider would refuse it after.
    assertMayErase(actor, programId, program);
    const events = await this.eventsOf(programId, participantId);
    for (const { EventId } of events) {
      const parts = parseEventId(EventId);
      if (parts) await this.store.deleteStream(learningEventStream(parts));
    }
    await this.copies.forget(events.map((event) => event.EventId));
    const erasureId = newUlid();
    const outcome = await handleCommand(
      this.store,
      participantErasureStream(programId, erasureId),
      participantErasureDecider,
      {
        type: 'EraseParticipant',
        erasureId,
        programId,
        program,
        actor,
        events,
        now: this.clock.now(),
      },
      { metadata: actorMetadata(actor, requestId), assumeNew: true },
    );
    const [recorded] = outcome.events;
    if (!recorded) throw new Error('An erasure recorded nothing');
    return {
      ErasureId: recorded.data.ErasureId,
      PublisherProgramId: recorded.data.PublisherProgramId,
      EventIds: recorded.data.Events.map((event) => event.EventId),
      ErasedUtc: recorded.data.ErasedUtc,
    };
  }

  private async eventsOf(programId: string, participantId: string): Promise<ErasedEvent[]> {
    // Whatever the read model applies after its checkpoint, the tail read covers.
    const known = await eventsNamingParticipantAsOf(this.db, programId, participantId);
    const found = new Map<string, ErasedEvent>(known.events.map((row) => [row.EventId, row]));
    let from: Position | typeof START = known.appliedUpTo;
    for (;;) {
      // Everything committed, not only the settled log: an event acknowledged a moment ago may
      // still sit behind an append in flight, and it must be erased too.
      const page = await this.store.readAll({
        from,
        filter: { streamNamePrefixes: [publisherCategory(programId)] },
        maxCount: TAIL_PAGE,
        includeUnsettled: true,
      });
      for (const recorded of page) {
        const event = { type: recorded.type, data: recorded.data } as PublisherCategoryEvent;
        switch (event.type) {
          case 'LearningEventPublished':
          case 'LearningEventAmended':
            if (event.data.PublisherParticipantId === participantId)
              found.set(event.data.EventId, {
                EventId: event.data.EventId,
                CategoryValue: event.data.PublisherEventCategory?.value ?? null,
              });
            break;
          case 'LearningEventRetracted':
            break;
          case 'ParticipantErased':
            // An earlier erasure the read model has not applied yet: those are gone already.
            for (const erased of event.data.Events) found.delete(erased.EventId);
            break;
          default: {
            const unknownEvent: never = event;
            throw new Error(`Unknown event ${JSON.stringify(unknownEvent)}`);
          }
        }
      }
      if (page.length < TAIL_PAGE) break;
      from = page.at(-1)!.position;
    }
    return [...found.values()].sort((a, b) => (a.EventId < b.EventId ? -1 : 1));
  }
}
