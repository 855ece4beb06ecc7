import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HubError, StaleRevisionError, WrongExpectedRevisionError } from '../errors/hub-error';
import {
  AppendResult,
  EventMetadata,
  EventStore,
  ExpectedRevision,
} from '../event-store/event-store.port';
import { Decider, DomainEvent } from './decider';
import { StateCache, StreamState } from './state-cache';

export interface CommandContext<State = unknown> {
  metadata?: EventMetadata;
  /** Re-runs after a revision conflict before giving up; defaults to 8. */
  maxRetries?: number;
  /** Event ids for the decided events; defaults to random UUIDs. Tests pass fixed ones. */
  newEventId?: () => string;
  /**
   * The revision the client last read (If-Match). The command then runs only against exactly
   * that revision: no silent retry on a newer one, a StaleRevisionError instead.
   */
  ifRevision?: bigint;
  /** Recently folded states: a hit skips the read; the append's revision check verifies it. */
  cache?: StateCache<State>;
  /**
   * The caller expects the stream not to exist yet (bulk creation): decide on the initial state
   * without reading, and read only if the append finds the stream after all.
   */
  assumeNew?: boolean;
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
 *
 * With a cache (or `assumeNew`) the first decision runs on a state that was not read just now.
 * An append proves it current; a refusal or a decision to do nothing proves nothing, so those are
 * decided again on the stream as read before they are answered.
 */
/**
 * Conflicts with concurrent writers tolerated before the command fails with 409: a learner's
 * player may send several attempts at once, and each one that loses a race re-reads and tries
 * again after a short random pause.
 */
const DEFAULT_MAX_RETRIES = 8;
const CONFLICT_JITTER_MS = 5;

export const handleCommand = async <Command, Event extends DomainEvent, State>(
  store: EventStore,
  stream: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  context: CommandContext<State> = {},
): Promise<CommandOutcome<Event, State>> => {
  const maxRetries = context.maxRetries ?? DEFAULT_MAX_RETRIES;
  const { cache, ifRevision } = context;
  let known: StreamState<State> | undefined =
    cache?.get(stream) ??
    (context.assumeNew ? { state: decider.initialState(), revision: null } : undefined);
  let verified = false;
  const readLatest = async () => {
    known = await loadState(store, stream, decider, known);
    verified = true;
    cache?.set(stream, known);
    return known;
  };
  for (let conflicts = 0; ;) {
    const { state, revision } = known ?? (await readLatest());
    if (ifRevision !== undefined && revision !== ifRevision) {
      if (!verified) {
        await readLatest();
        continue;
      }
      // A caller who may not see or change the resource learns that, not its revision.
      try {
        decider.decide(command, state);
      } catch (error) {
        if (error instanceof HubError && (error.kind === 'not_found' || error.kind === 'forbidden'))
          throw error;
      }
      throw new StaleRevisionError(ifRevision, revision);
    }
    let events: Event[];
    try {
      events = decider.decide(command, state);
    } catch (error) {
      if (verified) throw error;
      await readLatest();
      continue;
    }
    const newState = events.reduce(decider.evolve, state);
    if (events.length === 0) {
      if (!verified) {
        await readLatest();
        continue;
      }
      return { events, state: newState, appended: null };
    }
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
      cache?.set(stream, { state: newState, revision: appended.nextExpectedRevision });
      return { events, state: newState, appended };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (ifRevision !== undefined) throw new StaleRevisionError(ifRevision, error.actual);
      // A guess that turned out stale is not a conflict with a concurrent writer.
      if (verified && ++conflicts > maxRetries) throw error;
      // Writers that collided would collide again if they all re-read at once.
      if (verified) await sleep(Math.random() * CONFLICT_JITTER_MS * conflicts);
      await readLatest();
    }
  }
};

/** Folds a stream; from `after` on (a state known as of its revision) when given. */
export const loadState = async <Event extends DomainEvent, State>(
  store: EventStore,
  stream: string,
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
  after?: StreamState<State>,
): Promise<StreamState<State>> => {
  let state = after ? after.state : decider.initialState();
  let revision: bigint | null = after ? after.revision : null;
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
