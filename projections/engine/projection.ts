import { SqlExecutor } from '../../src/database/sql-database';
import { RecordedEvent } from '../../src/event-store/event-store.port';

/** Applies one event to the read model inside the batch's transaction. Must be idempotent. */
export type ProjectionHandler = (event: RecordedEvent, tx: SqlExecutor) => Promise<void>;

export interface Projection {
  /** Stable name: the checkpoint key and the CLI's argument. */
  name: string;
  /** Bump when handlers or schema change meaning: the engine then rebuilds from the start. */
  version: number;
  /** Idempotent DDL creating the read-model tables (CREATE ... IF NOT EXISTS). */
  schema: string;
  /** Tables a rebuild empties. */
  tables: readonly string[];
  /** One handler per event type the projection handles; other events are never delivered. */
  handlers: Readonly<Record<string, ProjectionHandler>>;
  /**
   * Applies a whole batch at once instead of event by event, for read models that must keep up
   * with thousands of events a second: set-based reads and writes, same result as the handlers.
   */
  applyBatch?: (events: readonly RecordedEvent[], tx: SqlExecutor) => Promise<void>;
  /** Events per transaction when larger than the engine's setting (set-based projections). */
  batchSize?: number;
  /** Narrows delivery further to streams with these prefixes (categories). */
  streamNamePrefixes?: readonly string[];
}
