import { SqlDatabase, SqlExecutor } from '../../database/sql-database';

export interface AppendRequest {
  stream: string;
  /** 'any' | 'no_stream' | 'stream_exists' | a revision as decimal text. */
  expected: string;
  ids: string[];
  types: string[];
  data: string[];
  metadata: string[];
}

export type AppendOutcome =
  | {
      outcome: 'ok' | 'idempotent';
      revision: bigint;
      transactionId: string;
      globalPosition: string;
    }
  | { outcome: 'conflict'; actual: bigint | null };

interface Pending {
  request: AppendRequest;
  resolve: (outcome: AppendOutcome) => void;
  reject: (error: unknown) => void;
}

export interface AppendBatcherOptions {
  /** Transactions that may run at once. 1 disables overlap; each still batches. */
  lanes: number;
  /** Most events one transaction carries. 0 disables coalescing: every append is its own transaction. */
  maxEventsPerBatch: number;
  /**
   * Queued events needed before a second (third, ...) lane starts. Small appends then wait for
   * the running transaction and go together in the next one; large ones use the lanes in parallel.
   */
  minEventsForExtraLane: number;
}

interface AppendRow {
  request: number;
  outcome: 'ok' | 'idempotent' | 'conflict';
  revision: string | number | null;
  last_txid: string | null;
  last_gpos: string | null;
}

const APPEND_SQL = `SELECT * FROM hub_append_batch($1::text[], $2::text[], $3::int[], $4::text[],
  $5::text[], $6::json, $7::json, $8::text[], $9::bigint[])`;

/** JSON documents (already JSON text) as one JSON array. */
const jsonArray = (documents: string[]): string => `[${documents.join(',')}]`;

/** Revisions the request's events take if its expectation holds, as decimal text. */
const eventRevisions = (request: AppendRequest): string[] => {
  // Only an exact expectation moves the start; for the others hub_append_batch ignores these values.
  const first = /^\d+$/.test(request.expected) ? BigInt(request.expected) + 1n : 0n;
  if (first + BigInt(request.ids.length) <= BigInt(Number.MAX_SAFE_INTEGER)) {
    const start = Number(first);
    return request.ids.map((_, position) => String(start + position));
  }
  return request.ids.map((_, position) => (first + BigInt(position)).toString());
};

/**
 * Runs a set of requests through hub_append_batch. One statement is one transaction on its own, so
 * no BEGIN/COMMIT round trips are needed.
 */
export const appendRequests = async (
  executor: SqlExecutor,
  requests: readonly AppendRequest[],
): Promise<AppendOutcome[]> => {
  const { rows } = await executor.query<AppendRow & Record<string, unknown>>(APPEND_SQL, [
    requests.map((r) => r.stream),
    requests.map((r) => r.expected),
    requests.map((r) => r.ids.length),
    requests.flatMap((r) => r.ids),
    requests.flatMap((r) => r.types),
    jsonArray(requests.flatMap((r) => r.data)),
    jsonArray(requests.flatMap((r) => r.metadata)),
    // Where each event lands if the request's expectation holds (hub_append_batch checks that it does).
    requests.flatMap((r) => r.ids.map(() => r.stream)),
    requests.flatMap((r) => eventRevisions(r)),
  ]);
  const outcomes = new Array<AppendOutcome>(requests.length);
  for (const row of rows) {
    const index = Number(row.request) - 1;
    outcomes[index] =
      row.outcome === 'conflict'
        ? { outcome: 'conflict', actual: row.revision === null ? null : BigInt(row.revision) }
        : {
            outcome: row.outcome,
            revision: BigInt(row.revision as string | number),
            transactionId: String(row.last_txid),
            globalPosition: String(row.last_gpos),
          };
  }
  return outcomes;
};

/**
 * Coalesces concurrent appends into shared transactions: while a transaction is in flight, new
 * requests queue and the next free lane takes them all at once. Each request keeps its own
 * expected-revision check inside hub_append_batch, so one conflict never fails its neighbours.
 * Events enter the log in arrival order; hub_append_batch takes the stream locks in stream-name order,
 * so overlapping lanes cannot deadlock on its usual path (a deadlock on the request-by-request
 * path is retried).
 */
export class AppendBatcher {
  private readonly queue: Pending[] = [];
  private activeLanes = 0;
  private dispatchScheduled = false;

  constructor(
    private readonly db: SqlDatabase,
    private readonly options: AppendBatcherOptions,
  ) {}

  submit(request: AppendRequest): Promise<AppendOutcome> {
    if (this.options.maxEventsPerBatch <= 0) return this.runAlone(request);
    return new Promise<AppendOutcome>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.scheduleDispatch();
    });
  }

  /**
   * Dispatches on the next turn of the event loop rather than at once: writers whose previous
   * appends completed together queue their next ones first, and share a transaction.
   */
  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.activeLanes < this.options.lanes && this.queue.length > 0) {
      if (this.activeLanes > 0 && this.queuedEvents() < this.options.minEventsForExtraLane) return;
      const batch = this.takeBatch();
      this.activeLanes++;
      void this.runBatch(batch).finally(() => {
        this.activeLanes--;
        this.scheduleDispatch();
      });
    }
  }

  private queuedEvents(): number {
    let events = 0;
    for (const pending of this.queue) {
      events += pending.request.ids.length;
      if (events >= this.options.minEventsForExtraLane) break;
    }
    return events;
  }

  private takeBatch(): Pending[] {
    let events = 0;
    let count = 0;
    while (count < this.queue.length) {
      const size = this.queue[count]!.request.ids.length;
      if (count > 0 && events + size > this.options.maxEventsPerBatch) break;
      events += size;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await appendRequests(
        this.db,
        batch.map((p) => p.request),
      );
      batch.forEach((pending, index) => pending.resolve(outcomes[index]!));
    } catch {
      // One bad request (or a deadlock with another writer) aborts the shared transaction:
      // retry each request on its own so only the culprit fails.
      for (const pending of batch) {
        try {
          pending.resolve(await this.runAlone(pending.request));
        } catch (error) {
          pending.reject(error);
        }
      }
    }
  }

  private async runAlone(request: AppendRequest): Promise<AppendOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const [outcome] = await appendRequests(this.db, [request]);
        return outcome!;
      } catch (error) {
        // A concurrent creator of the same stream (40001 from hub_append_batch) or a deadlock: the
        // next attempt sees the committed state and decides conflict or idempotent re-append.
        const code = (error as { code?: unknown }).code;
        if ((code !== '40001' && code !== '40P01') || attempt >= 5) throw error;
      }
    }
  }
}
