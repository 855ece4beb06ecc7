import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';

/** One request a webhook receiver got, and what it answered. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as sent (what the signature covers). */
  rawBody: string;
  /** The body parsed as JSON, or null when it is not JSON. */
  body: any;
  /** The status the receiver answered with. */
  status: number;
  receivedAt: number;
}

/** Decides the status of each request; `index` counts requests from 0. */
export type Responder = (request: Omit<ReceivedRequest, 'status'>, index: number) => number;

/** A real HTTP server on 127.0.0.1 recording every request, for webhook deliveries. */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private responder: Responder,
  ) {}

  static async start(responder: Responder = () => 204, path = '/hook'): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try {
          body = JSON.parse(rawBody);
        } catch {
          // not JSON
        }
        const seen = {
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          rawBody,
          body,
          receivedAt: Date.now(),
        };
        const self = receiver!;
        const status = self.responder(seen, self.requests.length);
        self.requests.push({ ...seen, status });
        response.writeHead(status, { 'content-type': 'text/plain' });
        response.end(status < 300 ? '' : 'failing on purpose');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}${path}`, responder);
    return receiver;
  }

  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  /** Requests answered 2xx. */
  get accepted(): ReceivedRequest[] {
    return this.requests.filter((request) => request.status >= 200 && request.status < 300);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
