import { EventStore, Position, RecordedEvent, START } from '../event-store/event-store.port';
import { cursorOf, FeedItem } from './feed-items';
import { ActiveSubscription } from './subscription.decider';
import { subscriptionFilter } from './subscription-feed';
import { TemplateConverter } from './template-renderer';

/** A position of the log, or the start of it. */
export type FeedPosition = Position | typeof START;

/** Whether `a` lies after `b` in the log. */
export const isAfter = (a: FeedPosition, b: FeedPosition): boolean =>
  a !== START && (b === START || a > b);

/** One change as a subscriber's SSE stream carries it: the event's text, or none if ignored. */
export interface Converted {
  position: Position;
  cursor: string;
  /** `id:`, `event:` and `data:` lines of the item; null when the subscriber ignores it. */
  frame: string | null;
}

/** A client of the shared live feed: it takes what the feed sends it, in order. */
export interface FeedClient {
  /** Where it stands: everything up to here has reached it (or was ignored). */
  position: FeedPosition;
  /** The last id its stream carried, to tell whether an id-only message moves it. */
  lastSent: string;
  /** Writes a chunk; false when the client is not keeping up and must read on its own. */
  send(chunk: string): boolean;
  /** The feed ended for it: at the head, it must read the log itself from `position`. */
  fallBehind(): void;
}

const FRAME_CACHE = 5_000;
const BUFFER_FRAMES = 5_000;
const BUFFER_CHARS = 8 * 1024 * 1024;

export const frameOf = (item: FeedItem): string =>
  `id: ${item.cursor}\nevent: ${item.kind}\ndata: ${JSON.stringify(item)}\n\n`;

/**
 * What one chunk of changes sends a client: their frames, and an id-only message when the last
 * of them was ignored, so the client's Last-Event-ID moves past the stretch it did not receive.
 */
export const chunkFor = (client: { lastSent: string }, changes: readonly Converted[]): string => {
  let chunk = '';
  for (const change of changes)
    if (change.frame !== null) {
      chunk += change.frame;
      client.lastSent = change.cursor;
    }
  const last = changes.at(-1);
  if (last && last.frame === null && client.lastSent !== last.cursor) {
    chunk += `id: ${last.cursor}\n\n`;
    client.lastSent = last.cursor;
  }
  return chunk;
};

/**
 * The live side of one subscription's SSE streams in this process. One subscription of the log
 * follows the head for all of them: each event is converted once, its frame is written to every
 * stream, and the recent frames stay in a buffer, so a stream that has caught up on its own joins
 * from where it stands. Conversions are shared with the streams still catching up, which ask for
 * the same events at about the same time.
 */
export class LiveFeed {
  private readonly clients = new Set<FeedClient>();
  private readonly conversions = new Map<string, Promise<Converted>>();
  private readonly buffer: Converted[] = [];
  private bufferChars = 0;
  /** Every frame after this position is in the buffer; null until the feed starts. */
  private bufferStart: FeedPosition | null = null;
  /** How far the feed has read the log. */
  private head: FeedPosition | null = null;
  /** When the subscription last changed: conversions are of that version's templates. */
  private version: string;
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private subscription: ActiveSubscription,
    private readonly deps: { store: EventStore; converter: TemplateConverter },
  ) {
    this.version = subscription.updatedAt;
  }

  get current(): ActiveSubscription {
    return this.subscription;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** A newer state of the subscription: conversions made with older templates are dropped. */
  update(subscription: ActiveSubscription): void {
    this.subscription = subscription;
    if (subscription.updatedAt === this.version) return;
    this.version = subscription.updatedAt;
    this.conversions.clear();
  }

  /** The changes these events make for the subscriber, converted once for all who ask. */
  async convert(events: readonly RecordedEvent[]): Promise<Converted[]> {
    const missing = events.filter((event) => !this.conversions.has(event.position));
    if (missing.length > 0) {
      const work = this.convertAll(missing);
      missing.forEach((event, index) =>
        this.conversions.set(
          event.position,
          work.then((converted) => converted[index]!),
        ),
      );
    }
    const results = events.map((event) => this.conversions.get(event.position)!);
    for (const oldest of this.conversions.keys()) {
      if (this.conversions.size <= FRAME_CACHE) break;
      this.conversions.delete(oldest);
    }
    return Promise.all(results);
  }

  /**
   * Joins a client that has read the log up to its position. False when that lies before what
   * the feed still holds: the client reads on by itself and asks again.
   */
  attach(client: FeedClient): boolean {
    if (this.head === null) this.startAt(client.position);
    if (this.bufferStart !== null && isAfter(this.bufferStart, client.position)) return false;
    const missed = this.buffer.filter((change) => isAfter(change.position, client.position));
    if (missed.length > 0 && !this.deliver(client, missed)) return false;
    this.clients.add(client);
    return true;
  }

  detach(client: FeedClient): void {
    this.clients.delete(client);
  }

  async close(): Promise<void> {
    this.stop.abort();
    this.clients.clear();
    await this.running?.catch(() => undefined);
  }

  private startAt(position: FeedPosition): void {
    this.head = position;
    this.bufferStart = position;
    // Its end is handled in follow: clients go back to reading on their own.
    this.running = this.follow(position).catch(() => undefined);
  }

  private async follow(from: FeedPosition): Promise<void> {
    const feed = this.deps.store.subscribeToAll({
      from,
      filter: subscriptionFilter(this.subscription),
      batchSize: 500,
    });
    const close = () => void feed.close();
    this.stop.signal.addEventListener('abort', close, { once: true });
    let pending: RecordedEvent[] = [];
    try {
      for await (const message of feed) {
        if (this.stop.signal.aborted) break;
        if (message.kind === 'event') {
          pending.push(message.event);
          continue;
        }
        const batch = pending;
        pending = [];
        if (batch.length > 0) this.broadcast(await this.convert(batch));
        if (message.position !== null) this.moveHead(message.position);
      }
    } finally {
      this.stop.signal.removeEventListener('abort', close);
      await feed.close();
      // The feed stopped (closed, or the log failed under it): its clients read on by themselves,
      // and the next one to catch up starts it again.
      this.head = null;
      this.bufferStart = null;
      this.buffer.length = 0;
      this.bufferChars = 0;
      for (const client of [...this.clients]) this.dropClient(client);
    }
  }

  private broadcast(changes: Converted[]): void {
    for (const change of changes) this.remember(change);
    for (const client of [...this.clients]) {
      const news = changes.filter((change) => isAfter(change.position, client.position));
      if (news.length > 0 && !this.deliver(client, news)) this.dropClient(client);
    }
    this.moveHead(changes.at(-1)!.position);
  }

  private moveHead(position: Position): void {
    if (this.head !== null && !isAfter(position, this.head)) return;
    this.head = position;
    for (const client of this.clients)
      if (isAfter(position, client.position)) client.position = position;
  }

  /** Sends changes to a client; false when it cannot keep up. */
  private deliver(client: FeedClient, changes: readonly Converted[]): boolean {
    const chunk = chunkFor(client, changes);
    client.position = changes.at(-1)!.position;
    return chunk === '' || client.send(chunk);
  }

  private dropClient(client: FeedClient): void {
    this.clients.delete(client);
    client.fallBehind();
  }

  private remember(change: Converted): void {
    this.buffer.push(change);
    this.bufferChars += change.frame?.length ?? 0;
    let drop = 0;
    let chars = this.bufferChars;
    while (
      drop < this.buffer.length - 1 &&
      (this.buffer.length - drop > BUFFER_FRAMES || chars > BUFFER_CHARS)
    ) {
      chars -= this.buffer[drop]!.frame?.length ?? 0;
      drop++;
    }
    if (drop === 0) return;
    this.bufferStart = this.buffer[drop - 1]!.position;
    this.buffer.splice(0, drop);
    this.bufferChars = chars;
  }

  /** Converts in order, page by page of the converter's budget, until every event is done. */
  private async convertAll(events: readonly RecordedEvent[]): Promise<Converted[]> {
    const converted: Converted[] = [];
    const { subscriptionId, templates } = this.subscription;
    while (converted.length < events.length) {
      const rest = events.slice(converted.length);
      const page = await this.deps.converter.convertPage(rest, templates, subscriptionId);
      page.items.forEach((item, index) => {
        const position = rest[index]!.position;
        converted.push({ position, cursor: cursorOf(position), frame: item && frameOf(item) });
      });
    }
    return converted;
  }
}
