import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { actorOf, Principal } from '../auth/principal';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { HubError, InvalidInputError } from '../errors/hub-error';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { ProgramDirectory } from '../programs/programs.lookups';
import { ProgramFacts } from '../programs/program.decider';
import { CLOCK, Clock } from '../time/clock';
import {
  LearningEventCommand,
  learningEventDecider,
  LearningEventState,
} from './learning-event.decider';
import {
  EVENT_ID_RULE,
  eventIdFor,
  learningEventStream,
  parseEventId,
} from './learning-event.events';
import { parseLearningEvent } from './learning-event.input';

export class PublishEventsCommand extends Command<PublishOutcome[]> {
  constructor(
    /** The events as sent, each checked on its own. */
    readonly events: readonly unknown[],
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class AmendEventCommand extends Command<EventOutcome> {
  constructor(
    readonly eventId: string,
    readonly event: unknown,
    readonly principal: Principal,
    readonly requestId: string,
    readonly ifRevision: bigint | undefined,
  ) {
    super();
  }
}

export class RetractEventCommand extends Command<EventOutcome> {
  constructor(
    readonly eventId: string,
    readonly principal: Principal,
    readonly requestId: string,
    readonly ifRevision: bigint | undefined,
  ) {
    super();
  }
}

export interface EventOutcome {
  state: Extract<LearningEventState, { exists: true }>;
  revision: bigint;
  /** False when the request recorded nothing (a resend, an unchanged correction). */
  changed: boolean;
}

/** Per event of a batch: what happened, or the refusal (a HubError) for that event alone. */
export type PublishOutcome = { ok: true; outcome: EventOutcome } | { ok: false; error: HubError };

export const invalidEventId = (eventId: string) =>
  new InvalidInputError(
    `${eventId} is not an EventId`,
    [{ field: 'eventId', message: `must be ${EVENT_ID_RULE}` }],
    'INVALID_EVENT_ID',
  );

abstract class LearningEventHandler {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    @Inject(HUB_CONFIG) protected readonly config: HubConfig,
    protected readonly programs: ProgramDirectory,
  ) {}

  protected parse(raw: unknown) {
    const parsed = parseLearningEvent(raw, this.config.clearinghouse);
    if (!parsed.ok)
      throw new InvalidInputError('The event is not valid', parsed.issues, 'VALIDATION_FAILED');
    return parsed.content;
  }

  protected async run(
    eventId: string,
    build: (program: ProgramFacts | null, programId: string) => LearningEventCommand,
    principal: Principal,
    requestId: string,
    options: {
      assumeNew?: boolean;
      ifRevision?: bigint;
      /** The program, when the caller looked it up already. */
      program?: ProgramFacts | null;
    } = {},
  ): Promise<EventOutcome> {
    const parts = parseEventId(eventId);
    if (!parts) throw invalidEventId(eventId);
    const program =
      options.program === undefined
        ? await this.programs.program(parts.programId)
        : options.program;
    const outcome = await handleCommand(
      this.store,
      learningEventStream(parts),
      learningEventDecider,
      build(program, parts.programId),
      {
        metadata: actorMetadata(actorOf(principal), requestId),
        ...(options.assumeNew ? { assumeNew: true } : {}),
        ...(options.ifRevision === undefined ? {} : { ifRevision: options.ifRevision }),
      },
    );
    // A decision that succeeds leaves an event that exists (publish) or existed (the others).
    if (!outcome.state.exists) throw new HubError('internal', 'INTERNAL', 'The event is missing');
    return {
      state: outcome.state,
      revision:
        outcome.appended?.nextExpectedRevision ??
        (await this.store.streamRevision(learningEventStream(parts))) ??
        0n,
      changed: outcome.appended !== null,
    };
  }
}

/**
 * Publishes events one by one but all at once: each is its own stream, created with the
 * expectation that it does not exist yet, and the store coalesces the appends of a batch into
 * a few transactions. A resend finds the stream there and is answered from it.
 */
@CommandHandler(PublishEventsCommand)
export class PublishEventsHandler
  extends LearningEventHandler
  implements ICommandHandler<PublishEventsCommand, PublishOutcome[]>
{
  async execute({ events, principal, requestId }: PublishEventsCommand): Promise<PublishOutcome[]> {
    const now = this.clock.now();
    const actor = actorOf(principal);
    const programs = await this.programsOf(events);
    // Every event reaches the store in the same turn, in the order sent: the store takes appends
    // in the order they come, so the log keeps the batch's order.
    return Promise.all(
      events.map(async (raw): Promise<PublishOutcome> => {
        try {
          const content = this.parse(raw);
          const eventId = eventIdFor(content.PublisherProgramId, content.PublisherEventId);
          const outcome = await this.run(
            eventId,
            (program, programId) => ({
              type: 'PublishLearningEvent',
              eventId,
              programId,
              program,
              content,
              actor,
              now,
            }),
            principal,
            requestId,
            { assumeNew: true, program: programs.get(content.PublisherProgramId) ?? null },
          );
          return { ok: true, outcome };
        } catch (error) {
          // One event's refusal is its own; a store that fails fails the whole request.
          if (
            error instanceof HubError &&
            error.kind !== 'unavailable' &&
            error.kind !== 'internal'
          )
            return { ok: false, error };
          throw error;
        }
      }),
    );
  }

  /** The programs the events name, each looked up once, before any event is appended. */
  private async programsOf(events: readonly unknown[]): Promise<Map<string, ProgramFacts | null>> {
    const ids = new Set<string>();
    for (const raw of events) {
      const programId = (raw as { PublisherProgramId?: unknown } | null)?.PublisherProgramId;
      if (typeof programId === 'string') ids.add(programId);
    }
    const found = await Promise.all(
      [...ids].map(async (id) => [id, await this.programs.program(id)] as const),
    );
    return new Map(found);
  }
}

@CommandHandler(AmendEventCommand)
export class AmendEventHandler
  extends LearningEventHandler
  implements ICommandHandler<AmendEventCommand, EventOutcome>
{
  execute({ eventId, event, principal, requestId, ifRevision }: AmendEventCommand) {
    const content = this.parse(event);
    return this.run(
      eventId,
      (program, programId) => ({
        type: 'AmendLearningEvent',
        eventId,
        programId,
        program,
        content,
        actor: actorOf(principal),
        now: this.clock.now(),
      }),
      principal,
      requestId,
      ifRevision === undefined ? {} : { ifRevision },
    );
  }
}

@CommandHandler(RetractEventCommand)
export class RetractEventHandler
  extends LearningEventHandler
  implements ICommandHandler<RetractEventCommand, EventOutcome>
{
  execute({ eventId, principal, requestId, ifRevision }: RetractEventCommand) {
    return this.run(
      eventId,
      (program, programId) => ({
        type: 'RetractLearningEvent',
        eventId,
        programId,
        program,
        actor: actorOf(principal),
        now: this.clock.now(),
      }),
      principal,
      requestId,
      ifRevision === undefined ? {} : { ifRevision },
    );
  }
}
