import { setTimeout as sleep } from 'node:timers/promises';
import { EventStore, Position, RecordedEvent, START } from '../event-store/event-store.port';
import { cursorOf } from '../http/log-cursor';
import { FeedItem } from './feed-items';
import { ActiveSubscription } from './subscription.events';
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

/** What a stream writes: frames encoded once for all streams, or a short text of its own. */
export type Chunk = Buffer | string;

/** A client of a feed: it takes what the feed sends it, in order. */
export interface FeedClient {
  /** Where it stands: everything up to here has reached it (or was ignored). */
  position: FeedPosition;
  /** The last id its stream carried, to tell whether an id-only message moves it. */
  lastSent: string;
  /** Writes chunks; false when the client is not keeping up. */
  send(chunks: readonly Chunk[]): boolean;
  /** Resolves true once what was written has gone out, false if that takes longer than `ms`. */
  drained(ms: number): Promise<boolean>;
  /** The feed let go of the client (too slow, or the feed ended): it must find another. */
  fallBehind(): void;
}

const BUFFER_FRAMES = 5_000;
const BUFFER_CHARS = 8 * 1024 * 1024;
const YIELD_EVERY_BYTES = 2 * 1024 * 1024;
/** A feed catching up rests this many times as long as each page took it. */
const CATCH_UP_REST = 3;
/** How long a feed still catching up waits for a client to take what it was sent. */
const CATCH_UP_DRAIN_MS = 5_000;

export const frameOf = (item: FeedItem): string =>
  `id: ${item.cursor}\nevent: ${item.kind}\ndata: ${JSON.stringify(item)}\n\n`;

/**
 * What changes send a client: their frames, and an id-only message when the last of them was
 * ignored, so the client's Last-Event-ID moves past the stretch it did not receive. `frames` are
 * the changes' frames, encoded once for every client they go to.
 */
export const chunksFor = (
  client: { lastSent: string },
  changes: readonly Converted[],
  frames: Buffer | null,
): Chunk[] => {
  const chunks: Chunk[] = [];
  const lastFrame = changes.findLast((change) => change.frame !== null);
  if (frames && lastFrame) {
    chunks.push(frames);
    client.lastSent = lastFrame.cursor;
  }
  const last = changes.at(-1);
  if (last && last.frame === null && client.lastSent !== last.cursor) {
    chunks.push(`id: ${last.cursor}\n\n`);
    client.lastSent = last.cursor;
  }
  return chunks;
};

const encode = (changes: readonly Converted[]): Buffer | null => {
  const text = changes.map((change) => change.frame ?? '').join('');
  return text === '' ? null : Buffer.from(text, 'utf8');
};

/**
 * One reader of the log for a group of one subscription's SSE streams in this process: it reads
 * from where it started to the head and on, converts each event once, encodes its frame once
 * and writes it to every stream of the group. Recent frames stay in a buffer, so a stream that
 * stands within it joins from exactly where it stands. Streams of a new subscription starting
 * together share one feed while they catch up (it waits for its slowest to take each page);
 * once at the head, feeds merge into the one live feed (see LiveStreams).
 */
export class LiveFeed {
  private readonly clients = new Set<FeedClient>();
  private readonly buffer: Converted[] = [];
  private bufferChars = 0;
  /** Every frame after this position is in the buffer; null until the feed starts. */
  private bufferStart: FeedPosition | null = null;
  /** How far the feed has read the log. */
  private head: FeedPosition | null = null;
  private caughtUp = false;
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private subscription: ActiveSubscription,
    private readonly deps: {
      store: EventStore;
      converter: TemplateConverter;
      /** Told once, when the feed first reaches the head of the log. */
      onCaughtUp: (feed: LiveFeed) => void;
    },
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  get clientList(): FeedClient[] {
    return [...this.clients];
  }

  get isLive(): boolean {
    return this.caughtUp && !this.stop.signal.aborted;
  }

  /** A newer state of the subscription: events from now on are converted with its templates. */
  update(subscription: ActiveSubscription): void {
    this.subscription = subscription;
  }

  /**
   * Takes a client in: the feed starts at its position when it has not started yet; otherwise
   * the client must stand within what the feed still holds (it is sent what it missed). False
   * when it does not.
   */
  attach(client: FeedClient): boolean {
    if (this.stop.signal.aborted) return false;
    if (this.head === null) this.startAt(client.position);
    if (this.bufferStart !== null && isAfter(this.bufferStart, client.position)) return false;
    const missed = this.buffer.filter((change) => isAfter(change.position, client.position));
    if (missed.length > 0 && !this.deliver(client, missed, encode(missed))) return false;
    this.clients.add(client);
    return true;
  }

  detach(client: FeedClient): void {
    this.clients.delete(client);
  }

  async close(): Promise<void> {
    this.stop.abort();
    this.clients.clear();
    await this.running;
  }

  private startAt(position: FeedPosition): void {
    this.head = position;
    this.bufferStart = position;
    // Its end is handled in follow: clients go back to finding a feed.
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
        if (batch.length > 0) {
          const started = performance.now();
          await this.broadcast(await this.convertAll(batch));
          // Catching up, the feed leaves the process room for live work: it rests as long again
          // as each page took, three times over, before the next.
          if (!this.caughtUp)
            await sleep(CATCH_UP_REST * (performance.now() - started), undefined, {
              signal: this.stop.signal,
            }).catch(() => undefined);
        }
        if (message.position !== null) this.moveHead(message.position);
        if (message.kind === 'caught-up' && !this.caughtUp) {
          this.caughtUp = true;
          this.deps.onCaughtUp(this);
        }
      }
    } finally {
      this.stop.signal.removeEventListener('abort', close);
      await feed.close();
      // The feed stopped (closed, or the log failed under it): its clients find another.
      this.stop.abort();
      for (const client of [...this.clients]) this.dropClient(client);
    }
  }

  private async broadcast(changes: Converted[]): Promise<void> {
    for (const change of changes) this.remember(change);
    const frames = encode(changes);
    const slow: FeedClient[] = [];
    let written = 0;
    for (const client of [...this.clients]) {
      const news = changes.filter((change) => isAfter(change.position, client.position));
      const whole = news.length === changes.length;
      if (news.length > 0 && !this.deliver(client, news, whole ? frames : encode(news)))
        slow.push(client);
      // A large page to many streams: let the event loop's I/O in between every few megabytes.
      written += frames?.length ?? 0;
      if (written >= YIELD_EVERY_BYTES) {
        written = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    this.moveHead(changes.at(-1)!.position);
    // At the head, a client that cannot keep up is let go at once: the others must not wait.
    // Catching up, the group goes at the pace of its slowest, within reason.
    if (this.caughtUp) for (const client of slow) this.dropClient(client);
    else
      await Promise.all(
        slow.map(async (client) => {
          if (!(await client.drained(CATCH_UP_DRAIN_MS))) this.dropClient(client);
        }),
      );
  }

  private moveHead(position: Position): void {
    if (this.head !== null && !isAfter(position, this.head)) return;
    this.head = position;
    for (const client of this.clients)
      if (isAfter(position, client.position)) client.position = position;
  }

  /** Sends changes to a client; false when it is not keeping up. */
  private deliver(client: FeedClient, changes: readonly Converted[], frames: Buffer | null) {
    const chunks = chunksFor(client, changes, frames);
    client.position = changes.at(-1)!.position;
    return chunks.length === 0 || client.send(chunks);
  }

  private dropClient(client: FeedClient): void {
    if (!this.clients.delete(client)) return;
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
