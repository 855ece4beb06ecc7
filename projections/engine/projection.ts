import { SqlExecutor } from '../../src/database/sql-database';
import { RecordedEvent } from '../../src/event-store/event-store.port';

/** An event as a slice declares it in its `*.events.ts`: a type tag and its data. */
export interface SliceEvent {
  type: string;
  data: unknown;
}

/** A recorded event of one of the slice's event types, its `data` typed by its `type`. */
export type ProjectedEvent<E extends SliceEvent> = E extends SliceEvent
  ? RecordedEvent<E['data']> & { type: E['type'] }
  : never;

/** Applies one event to the read model inside the batch's transaction. Must be idempotent. */
export type ProjectionHandler<E extends SliceEvent = SliceEvent> = (
  event: ProjectedEvent<E>,
  tx: SqlExecutor,
) => Promise<void>;

/** One handler per event type of the slice's union, each given that type's event. */
export type HandlersOf<E extends SliceEvent> = {
  readonly [K in E['type']]?: ProjectionHandler<Extract<E, { type: K }>>;
};

/** A read model over the events of one slice's union `E`, as its projection file declares it. */
export interface ProjectionSpec<E extends SliceEvent> {
  /** Stable name: the checkpoint key and the CLI's argument. */
  name: string;
  /** Bump when handlers or schema change meaning: the engine then rebuilds from the start. */
  version: number;
  /** Idempotent DDL creating the read-model tables (CREATE ... IF NOT EXISTS). */
  schema: string;
  /** Tables a rebuild empties. */
  tables: readonly string[];
  /** One handler per event type the projection handles; other events are never delivered. */
  handlers: HandlersOf<E>;
  /**
   * Applies a whole batch at once instead of event by event, for read models that must keep up
   * with thousands of events a second: set-based reads and writes, same result as the handlers.
   */
  applyBatch?: (events: readonly ProjectedEvent<E>[], tx: SqlExecutor) => Promise<void>;
  /** Events per transaction when larger than the engine's setting (set-based projections). */
  batchSize?: number;
  /** Narrows delivery further to streams with these prefixes (categories). */
  streamNamePrefixes?: readonly string[];
}

/**
 * A projection as the engine runs it (what `defineProjection` returns): its handlers and batch
 * take the log's recorded events and narrow them through `isHandled` below.
 */
export interface Projection extends Omit<ProjectionSpec<SliceEvent>, 'handlers' | 'applyBatch'> {
  /** Keyed by event type; the engine delivers an event only to the handler of its type. */
  handlers: Readonly<Record<string, (event: RecordedEvent, tx: SqlExecutor) => Promise<void>>>;
  applyBatch?: (events: readonly RecordedEvent[], tx: SqlExecutor) => Promise<void>;
}

/**
 * The one narrowing point from the log's untyped events to a slice's union: an event whose type
 * the projection has a handler for carries that type's data, because only the slice's decider
 * appends events of its types (the store keeps `type` and `data` as they were appended).
 */
const isHandled = <E extends SliceEvent>(
  handlers: HandlersOf<E>,
  event: RecordedEvent,
): event is ProjectedEvent<E> => Object.hasOwn(handlers, event.type);

/** Calls the handler of the event's own type: `K` ties the handler to its event. */
const dispatch = <E extends SliceEvent, K extends E['type']>(
  handlers: HandlersOf<E>,
  type: K,
  event: ProjectedEvent<Extract<E, { type: K }>>,
  tx: SqlExecutor,
): Promise<void> => handlers[type]?.(event, tx) ?? Promise.resolve();

/** Declares a projection typed by its slice's event union; the engine runs what it returns. */
export const defineProjection = <E extends SliceEvent>(spec: ProjectionSpec<E>): Projection => {
  const { handlers, applyBatch, ...rest } = spec;
  const run = async (event: RecordedEvent, tx: SqlExecutor): Promise<void> => {
    if (isHandled(handlers, event)) await dispatch(handlers, event.type, event, tx);
  };
  return {
    ...rest,
    handlers: Object.fromEntries(Object.keys(handlers).map((type) => [type, run])),
    ...(applyBatch && {
      applyBatch: (events, tx) =>
        applyBatch(
          events.filter((event) => isHandled(handlers, event)),
          tx,
        ),
    }),
  };
};
