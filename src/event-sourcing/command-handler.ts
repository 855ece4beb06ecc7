import { randomUUID } from 'node:crypto';
import { HubError, StaleRevisionError, WrongExpectedRevisionError } from '../errors/hub-error';
import {
  AppendResult,
  EventMetadata,
  EventStore,
  ExpectedRevision,
} from '../event-store/event-store.port';
import { Decider, DomainEvent } from './decider';

export interface CommandContext {
  metadata?: EventMetadata;
  /** Re-runs after a revision conflict before giving up; defaults to 3. */
  maxRetries?: number;
  /** Event ids for the decided events; defaults to random UUIDs. Tests pass fixed ones. */
  newEventId?: () => string;
  /**
   * The revision the client last read (If-Match). The command then runs only against exactly
   * that revision: no silent retry on a newer one, a StaleRevisionError instead.
   */
  ifRevision?: bigint;
}

export interface CommandOutcome<Event extends DomainEvent, State> {
  events: Event[];
  state: State;
  /** Null when the command decided no events, so nothing was appended. */
  appended: AppendResult | null;
}

const PAGE = 1_000;

/**
 * The one command handler: read the stream, fold it, decide, append with the revision that was
 * read. Another writer may have appended in between; then the whole cycle runs again on the
 * fresh stream, a bounded number of times.
 */
export const handleCommand = async <Command, Event extends DomainEvent, State>(
  store: EventStore,
  stream: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  context: CommandContext = {},
): Promise<CommandOutcome<Event, State>> => {
  const maxRetries = context.maxRetries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const { state, revision } = await loadState(store, stream, decider);
    const { ifRevision } = context;
    if (ifRevision !== undefined && revision !== ifRevision) {
      // A caller who may not see or change the resource learns that, not its revision.
      try {
        decider.decide(command, state);
      } catch (error) {
        if (error instanceof HubError && (error.kind === 'not_found' || error.kind === 'forbidden'))
          throw error;
      }
      throw new StaleRevisionError(ifRevision, revision);
    }
    const events = decider.decide(command, state);
    const newState = events.reduce(decider.evolve, state);
    if (events.length === 0) return { events, state: newState, appended: null };
    const expectedRevision: ExpectedRevision = revision === null ? 'no_stream' : revision;
    try {
      const appended = await store.appendToStream(
        stream,
        events.map((event) => ({
          id: context.newEventId?.() ?? randomUUID(),
          type: event.type,
          data: event.data,
          metadata: context.metadata ?? {},
        })),
        { expectedRevision },
      );
      return { events, state: newState, appended };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (ifRevision !== undefined) throw new StaleRevisionError(ifRevision, error.actual);
      if (attempt >= maxRetries) throw error;
    }
  }
};

export const loadState = async <Event extends DomainEvent, State>(
  store: EventStore,
  stream: string,
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
): Promise<{ state: State; revision: bigint | null }> => {
  let state = decider.initialState();
  let revision: bigint | null = null;
  for (;;) {
    const page = await store.readStream(stream, {
      fromRevision: revision === null ? 0n : revision + 1n,
      maxCount: PAGE,
    });
    for (const recorded of page) {
      state = decider.evolve(state, { type: recorded.type, data: recorded.data } as Event);
      revision = recorded.revision;
    }
    if (page.length < PAGE) return { state, revision };
  }
};
