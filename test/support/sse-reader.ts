/** One message of a text/event-stream, as the fields it carried. */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
}

/**
 * Reads a Server-Sent Events stream over fetch, parsing it as the specification says: lines
 * of `field: value`, comments starting with ':', a blank line ending each message.
 */
export class SseReader {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  /** The id a browser would send as Last-Event-ID on reconnecting. */
  lastEventId: string | null = null;
  /** Resolves when the server ends the stream (or the client disconnects). */
  readonly closed: Promise<void>;
  private ended = false;
  private readonly abort = new AbortController();

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    body: ReadableStream<Uint8Array> | null,
  ) {
    this.closed = body ? this.pump(body) : Promise.resolve();
  }

  /** Connects; the stream is read in the background into `messages`. */
  static async open(url: string, headers: Record<string, string>): Promise<SseReader> {
    const abort = new AbortController();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: abort.signal,
    });
    const reader = new SseReader(response.status, response.headers, response.body);
    reader.abort.signal.addEventListener('abort', () => abort.abort());
    return reader;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Messages carrying data (events), in order. */
  get events(): SseMessage[] {
    return this.messages.filter((message) => message.data !== undefined);
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let message: SseMessage = {};
    let data: string[] | null = null;
    const dispatch = () => {
      if (data !== null) message.data = data.join('\n');
      if (Object.keys(message).length > 0) this.messages.push(message);
      message = {};
      data = null;
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            dispatch();
            continue;
          }
          if (line.startsWith(':')) {
            this.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          switch (field) {
            case 'id':
              message.id = value;
              this.lastEventId = value;
              break;
            case 'event':
              message.event = value;
              break;
            case 'data':
              (data ??= []).push(value);
              break;
            case 'retry':
              message.retry = Number(value);
              break;
            default:
              break;
          }
        }
      }
    } catch {
      // aborted by close(), or the connection dropped
    } finally {
      this.ended = true;
    }
  }

  /** Waits until `predicate` holds for the messages so far; fails after timeoutMs. */
  async waitFor(
    what: string,
    predicate: (reader: SseReader) => boolean,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.messages)}`,
        );
      if (this.ended && !predicate(this))
        throw new Error(`the stream ended before ${what}; got ${JSON.stringify(this.messages)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Disconnects the client side. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.closed;
  }
}
