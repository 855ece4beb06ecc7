import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { verifySignature } from '../src/subscriptions/webhook-signature';
import {
  fmtCores,
  fmtInt,
  measuredSince,
  progress,
  renderTable,
  sampleCpu,
  envInt,
} from './bench-support';
import { Answer, HttpClient } from './http-client';
import { ms, openLoop, Schedule, sorted, spread, yesNo } from './open-loop';
import { cpuTicksOf, Hub, percentile, rssOf } from './hub-process';
import { createScratchDatabase, redactUrl, ScratchDatabase, serverUrl } from './scratch-database';

/**
 * Clearinghouse benchmark: hub processes on a scratch PostgreSQL database, driven over HTTP
 * (keep-alive node:http connections) from this process, publishing with a PUBLISHER API key.
 * (a) ingest: INGEST_CLIENTS closed-loop clients each POST /v1/events/batch of INGEST_BATCH
 *     events, one request at a time, for INGEST_SECONDS after a warm-up; then how far the
 *     learning-events read model is behind and how long it takes to catch up (from /health);
 * (b) single events: POST /v1/events open-loop at SINGLE_RATE requests/s on a fixed timetable
 *     (sends do not wait for answers), latency from each request's send to its answer;
 * (c) publish-to-subscriber latency: an approved subscription with a webhook to a receiver in
 *     this process and an SSE stream open on it; events published open-loop at LATENCY_RATE/s in
 *     requests of LATENCY_BATCH events; per event, receipt (SSE message, webhook body) minus the
 *     send of the request that carried it.
 */

/**
 * BENCH_FLOOR=1: cases (a) and (b) against bench/floor-server.ts instead of the hub: the least
 * any implementation must do per event on this machine, to tell the hub's cost from the floor's.
 * BENCH_FLOOR=log: the floor writing only the events' log rows, the bare limit of the machine.
 */
const FLOOR_MODE = process.env.BENCH_FLOOR ?? '';
if (!['', '0', '1', 'log'].includes(FLOOR_MODE))
  throw new Error('BENCH_FLOOR is 1 (stream, log and read-model rows) or log (log rows only)');
const FLOOR = FLOOR_MODE === '1' || FLOOR_MODE === 'log';
const CASES = ['a', 'b', 'c'] as const;
type Case = (typeof CASES)[number];
const ONLY = new Set(
  (process.env.BENCH_ONLY ?? (FLOOR ? 'a,b' : CASES.join(',')))
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean),
);
for (const c of ONLY)
  if (!(CASES as readonly string[]).includes(c))
    throw new Error(`BENCH_ONLY lists cases of ${CASES.join(',')}, got "${c}"`);
if (FLOOR && ONLY.has('c'))
  throw new Error('The floor has no subscribers: BENCH_FLOOR runs a and b');
const runs = (c: Case) => ONLY.has(c);

const INGEST_CLIENTS = envInt('BENCH_INGEST_CLIENTS', 8);
const INGEST_SECONDS = envInt('BENCH_INGEST_SECONDS', 20);
const INGEST_WARMUP_SECONDS = envInt('BENCH_INGEST_WARMUP_SECONDS', 3, 0);
const INGEST_BATCH = envInt('BENCH_INGEST_BATCH', 100);
const SINGLE_RATE = envInt('BENCH_SINGLE_RATE', 500);
const SINGLE_SECONDS = envInt('BENCH_SINGLE_SECONDS', 20);
const SINGLE_WARMUP_SECONDS = envInt('BENCH_SINGLE_WARMUP_SECONDS', 3, 0);
const LATENCY_RATE = envInt('BENCH_LATENCY_RATE', 1_000);
const LATENCY_SECONDS = envInt('BENCH_LATENCY_SECONDS', 20);
const LATENCY_BATCH = envInt('BENCH_LATENCY_BATCH', 10);
const LATENCY_WARMUP_SECONDS = envInt('BENCH_LATENCY_WARMUP_SECONDS', 3, 0);
/** How long (c) waits after the last publish for events still on their way. */
const LATENCY_GRACE_SECONDS = envInt('BENCH_LATENCY_GRACE_SECONDS', 5, 0);
/** Hub processes on the one database; publishing requests go round-robin across them. */
const INSTANCES = envInt('BENCH_HUB_INSTANCES', 1);
/** Keep-alive connections per hub for the open-loop cases (b) and (c). */
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 64);

const INGEST_TARGET = 20_000;
const SINGLE_P99_TARGET_MS = 15;
const DELIVERY_P99_TARGET_MS = 100;

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef-xyz';
const PUBLISHER_ORG = 'org-pub';
const SUBSCRIBER_ORG = 'org-sub';
/** Cases (a) and (b) publish here; (c) has a program of its own, so its subscription starts empty. */
const INGEST_PROGRAM = 'bench-pub';
const LIVE_PROGRAM = 'bench-live';
const SUBSCRIBER_PROGRAM = 'bench-sub';
const SUBSCRIPTION_ID = 'bench-live-sub';

// ---------------------------------------------------------------------------------------------
// Events

const RUN = randomUUID().slice(0, 8);
const CATEGORIES = [
  { value: 'COURSE', label: 'Course completion' },
  { value: 'CE_CREDIT', label: 'Continuing education credit' },
  { value: 'EXAM', label: 'Examination' },
  { value: 'CREDENTIAL', label: 'Credential' },
] as const;
const EVENT_TYPES = ['LPI_COMP_SUCCESS', 'AI_COMP_SUCCESS', 'LPI_STARTED', 'AI_COMP_UNSUCCESS'];
const BASE_TIME = Date.UTC(2026, 10, 1, 8, 0, 0);
let sequence = 0;

interface LearningEvent {
  PublisherEventId: string;
  [field: string]: unknown;
}

/** A LearningBuilder-style event with a unique PublisherEventId (~300 bytes of event data). */
const learningEvent = (programId: string, tag: string): LearningEvent => {
  const n = sequence++;
  const start = BASE_TIME + (n % 2_592_000) * 1000;
  return {
    PublisherProgramId: programId,
    PublisherSystemId: 'LB',
    EventType: EVENT_TYPES[n % EVENT_TYPES.length],
    PublisherEventId: `${tag}:${RUN}:${n}`,
    PublisherParticipantId: `licensee-${String(n % 50_000).padStart(5, '0')}@example.org`,
    PublisherEventCategory: CATEGORIES[n % CATEGORIES.length],
    PublisherEventData: {
      activityId: `LPI-${10_000 + (n % 4_999)}`,
      activityName: 'Medication safety and pharmacology review',
      provider: { id: 'PRV-0042', name: 'Board of Nursing CE' },
      credits: { type: 'CE', hours: 1.5 + (n % 4) * 0.5 },
      score: 70 + (n % 31),
      attempt: 1 + (n % 3),
      licence: { state: 'OH', number: `RN-${100_000 + (n % 900_000)}` },
      evidenceUrl: `https://lb.example.org/evidence/${RUN}/${n}`,
    },
    EventStartUtc: new Date(start).toISOString(),
    EventEndUtc: new Date(start + 90 * 60_000).toISOString(),
  };
};

const TEMPLATE = [
  '{"learner": "{{PublisherParticipantId}}"',
  '"activity": {"id": "{{PublisherEventData.activityId}}", "name": "{{PublisherEventData.activityName}}"}',
  '"credits": {{json PublisherEventData.credits}}',
  '"score": {{json PublisherEventData.score}}',
  '"kind": "{{EventType}}"',
  '"category": "{{PublisherEventCategory.value}}"',
  '"completedOn": "{{EventEndUtc}}"}',
].join(', ');

// ---------------------------------------------------------------------------------------------
// HTTP

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Prints the first few problems of a kind, then only counts them. */
class Problems {
  private count = 0;
  constructor(private readonly label: string) {}
  note(message: string): void {
    if (++this.count <= 3) progress(`${this.label}: ${message.slice(0, 500)}`);
    else if (this.count === 4) progress(`${this.label}: further problems only counted`);
  }
}

/** When each PublisherEventId first arrived, and how often one arrived again. */
class Arrivals {
  readonly at = new Map<string, number>();
  duplicates = 0;
  record(publisherEventId: unknown, at: number): void {
    if (typeof publisherEventId !== 'string') return;
    if (this.at.has(publisherEventId)) this.duplicates++;
    else this.at.set(publisherEventId, at);
  }
}

/** A webhook endpoint in this process: answers 204 at once, then checks and records the body. */
class WebhookReceiver {
  readonly arrivals = new Arrivals();
  requests = 0;
  items = 0;
  badSignatures = 0;
  secret: string | null = null;
  private readonly problems = new Problems('webhook receiver');

  private constructor(readonly server: http.Server) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const server = http.createServer((request, response) => receiver!.handle(request, response));
    receiver = new WebhookReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      response.writeHead(204).end();
      this.requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(request.headers[name] ?? '');
      if (
        this.secret !== null &&
        !verifySignature(
          this.secret,
          header('webhook-id'),
          Number(header('webhook-timestamp')),
          body,
          header('webhook-signature'),
        )
      ) {
        this.badSignatures++;
        this.problems.note(`bad signature on delivery ${header('webhook-id')}`);
      }
      try {
        const parsed = JSON.parse(body) as { items?: { publisherEventId?: unknown }[] };
        for (const item of parsed.items ?? []) {
          this.items++;
          this.arrivals.record(item.publisherEventId, at);
        }
      } catch (error) {
        this.problems.note(`unreadable body: ${describe(error)}`);
      }
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** GET /v1/subscriptions/{id}/stream, parsed as it arrives. */
class SseStream {
  readonly arrivals = new Arrivals();
  messages = 0;
  /** Why the stream ended, when it did without being closed here. */
  ended: string | null = null;
  private buffer = '';
  private closing = false;

  private constructor(private readonly request: http.ClientRequest) {}

  static open(base: string, path: string, token: string): Promise<SseStream> {
    const url = new URL(path, base);
    return new Promise((resolve, reject) => {
      const request = http.get(
        url,
        {
          agent: false,
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        },
        (response) => {
          if (response.statusCode !== 200) {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              reject(
                new Error(
                  `GET ${path} answered ${response.statusCode}: ${Buffer.concat(chunks).toString()}`,
                ),
              ),
            );
            return;
          }
          const stream = new SseStream(request);
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => stream.take(chunk, performance.now()));
          response.on('end', () => stream.stop('the hub ended the response'));
          response.on('error', (error) => stream.stop(describe(error)));
          resolve(stream);
        },
      );
      request.on('error', reject);
    });
  }

  private stop(reason: string): void {
    if (this.closing || this.ended !== null) return;
    this.ended = reason;
    progress(`SSE stream ended: ${reason}`);
  }

  private take(chunk: string, at: number): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end < 0) return;
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let data: string | null = null;
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data = data === null ? value : `${data}\n${value}`;
      }
      if (data === null) continue;
      this.messages++;
      if (event === 'end' || event === 'error') {
        this.stop(`event: ${event} ${data}`);
        continue;
      }
      try {
        this.arrivals.record(
          (JSON.parse(data) as { publisherEventId?: unknown }).publisherEventId,
          at,
        );
      } catch (error) {
        progress(`SSE: unreadable data (${describe(error)}): ${data.slice(0, 200)}`);
      }
    }
  }

  close(): void {
    this.closing = true;
    this.request.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Resources {
  seconds: number;
  /** CPU of every hub process, in cores. */
  hubCores: number;
  /** Resident memory of the first hub at the end. */
  hubRss: number;
  benchCores: number;
  machineCores: number | null;
  /** This process's event-loop delay p99, in ms: whether the client kept up. */
  benchLoopP99: number;
}

const meter = (hubs: readonly Hub[]) => {
  const cpu = sampleCpu();
  const ticks = hubs.reduce((sum, hub) => sum + cpuTicksOf(hub.pid), 0);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  return (): Resources => {
    loop.disable();
    const measured = measuredSince(cpu, 0);
    const hubTicks = hubs.reduce((sum, hub) => sum + cpuTicksOf(hub.pid), 0) - ticks;
    return {
      seconds: measured.seconds,
      hubCores: hubTicks / 100 / measured.seconds,
      hubRss: rssOf(hubs[0]!.pid),
      benchCores: measured.nodeCores,
      machineCores: measured.machineCores,
      benchLoopP99: loop.percentile(99) / 1e6,
    };
  };
};

interface ProjectionHealth {
  name: string;
  state: string;
  eventsBehind: number | null;
  secondsBehind: number | null;
  lastError: string | null;
}

const learningEventsHealth = async (hub: Hub): Promise<ProjectionHealth | null> => {
  const { body } = await hub.call('GET', '/health');
  const list = body?.details?.projections?.projections as ProjectionHealth[] | undefined;
  return list?.find((p) => p.name === 'learning-events') ?? null;
};

type Row = [string, string, string, string];

// ---------------------------------------------------------------------------------------------
// (a) ingest

interface IngestRun {
  requests: number;
  created: number;
  failedRequests: number;
  failedEvents: number;
  latencies: number[];
  seconds: number;
}

const ingest = async (
  clients: readonly HttpClient[],
  token: string,
  seconds: number,
  label: string,
): Promise<IngestRun> => {
  const run: IngestRun = {
    requests: 0,
    created: 0,
    failedRequests: 0,
    failedEvents: 0,
    latencies: [],
    seconds: 0,
  };
  const problems = new Problems(label);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const ticker = setInterval(
    () => progress(`${label}: ${fmtInt(run.created)} events created`),
    5_000,
  );
  try {
    await Promise.all(
      Array.from({ length: INGEST_CLIENTS }, async (_, c) => {
        const client = clients[c % clients.length]!;
        while (performance.now() < deadline) {
          const body = JSON.stringify(
            Array.from({ length: INGEST_BATCH }, () => learningEvent(INGEST_PROGRAM, 'ingest')),
          );
          const sent = performance.now();
          let answer: Answer;
          try {
            answer = await client.send('POST', '/v1/events/batch', token, body);
          } catch (error) {
            run.failedRequests++;
            problems.note(`request failed: ${describe(error)}`);
            await sleep(10);
            continue;
          }
          run.latencies.push(performance.now() - sent);
          run.requests++;
          if (answer.status !== 200) {
            run.failedRequests++;
            problems.note(`POST /v1/events/batch answered ${answer.status}: ${answer.text}`);
            continue;
          }
          const view = JSON.parse(answer.text) as { results: { status: number }[] };
          for (const result of view.results) {
            if (result.status === 201) run.created++;
            else {
              run.failedEvents++;
              problems.note(`batch result ${JSON.stringify(result)}`);
            }
          }
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  run.seconds = (performance.now() - started) / 1000;
  sorted(run.latencies);
  return run;
};

const caseIngest = async (
  hubs: readonly Hub[],
  publisherToken: string,
  settle: () => Promise<void>,
) => {
  const clients = hubs.map((hub) => new HttpClient(hub.base, INGEST_CLIENTS));
  try {
    if (INGEST_WARMUP_SECONDS > 0) {
      progress(`(a) warm-up, ${INGEST_WARMUP_SECONDS} s`);
      await ingest(clients, publisherToken, INGEST_WARMUP_SECONDS, '(a) warm-up');
      await catchUp(hubs[0]!);
    }
    progress(
      `(a) ingest: ${INGEST_CLIENTS} clients, batches of ${INGEST_BATCH}, ${INGEST_SECONDS} s`,
    );
    await settle();
    const stop = meter(hubs);
    const run = await ingest(clients, publisherToken, INGEST_SECONDS, '(a) ingest');
    const resources = stop();
    const atEnd = await learningEventsHealth(hubs[0]!);
    const caughtUp = await catchUp(hubs[0]!);
    const rate = run.created / run.seconds;
    const rows: Row[] = [
      [
        `(a) ingest, ${INGEST_CLIENTS} closed-loop clients x POST /v1/events/batch of ${INGEST_BATCH}, ${INGEST_SECONDS} s`,
        `${fmtInt(rate)} events/s (${fmtInt(run.created)} in ${run.seconds.toFixed(1)} s)`,
        `>= ${fmtInt(INGEST_TARGET)} events/s`,
        yesNo(rate >= INGEST_TARGET),
      ],
      [
        '  errors: requests not 200, events not 201',
        `${fmtInt(run.failedRequests)}, ${fmtInt(run.failedEvents)} (of ${fmtInt(run.requests)} requests)`,
        '0, 0',
        yesNo(run.failedRequests === 0 && run.failedEvents === 0),
      ],
      ['  request latency p50 / p95 / p99 / max', spread(run.latencies), '-', '-'],
      [
        '  learning-events read model behind at the end',
        atEnd
          ? `${fmtInt(atEnd.eventsBehind ?? 0)} events (${atEnd.secondsBehind ?? 0} s)`
          : 'not reported',
        '-',
        '-',
      ],
      [
        '  ... caught up after the last answer',
        caughtUp === null ? 'not within 300 s' : `${caughtUp.toFixed(1)} s`,
        '-',
        '-',
      ],
    ];
    return { rows, resources };
  } finally {
    for (const client of clients) client.close();
  }
};

/** Seconds until the learning-events read model has every event (null: not within 300 s). */
const catchUp = async (hub: Hub): Promise<number | null> => {
  const started = performance.now();
  let lastNote = started;
  for (;;) {
    const health = await learningEventsHealth(hub);
    if (health && health.eventsBehind === 0) return (performance.now() - started) / 1000;
    const now = performance.now();
    if (now - started > 300_000) return null;
    if (now - lastNote > 5_000) {
      lastNote = now;
      progress(
        `learning-events read model ${health ? `${fmtInt(health.eventsBehind ?? 0)} events behind (${health.state})` : 'not reported'}`,
      );
    }
    await sleep(100);
  }
};

// ---------------------------------------------------------------------------------------------
// (b) single events

const single = async (
  clients: readonly HttpClient[],
  token: string,
  seconds: number,
  label: string,
) => {
  const latencies: number[] = [];
  let created = 0;
  let errors = 0;
  const problems = new Problems(label);
  const schedule = await openLoop(SINGLE_RATE, seconds, label, async (i) => {
    const body = JSON.stringify(learningEvent(INGEST_PROGRAM, 'single'));
    const sent = performance.now();
    try {
      const answer = await clients[i % clients.length]!.send('POST', '/v1/events', token, body);
      latencies.push(performance.now() - sent);
      if (answer.status === 201) created++;
      else {
        errors++;
        problems.note(`POST /v1/events answered ${answer.status}: ${answer.text}`);
      }
    } catch (error) {
      errors++;
      problems.note(`request failed: ${describe(error)}`);
    }
  });
  return { schedule, latencies: sorted(latencies), created, errors };
};

const caseSingle = async (
  hubs: readonly Hub[],
  publisherToken: string,
  settle: () => Promise<void>,
) => {
  const clients = hubs.map((hub) => new HttpClient(hub.base, CONNECTIONS));
  try {
    if (SINGLE_WARMUP_SECONDS > 0) {
      progress(`(b) warm-up, ${SINGLE_WARMUP_SECONDS} s`);
      await single(clients, publisherToken, SINGLE_WARMUP_SECONDS, '(b) warm-up');
      await catchUp(hubs[0]!);
    }
    progress(`(b) single events: ${SINGLE_RATE} requests/s open-loop, ${SINGLE_SECONDS} s`);
    await settle();
    const stop = meter(hubs);
    const run = await single(clients, publisherToken, SINGLE_SECONDS, '(b) single');
    const resources = stop();
    const p99 = percentile(run.latencies, 0.99);
    const rows: Row[] = [
      [
        `(b) single POST /v1/events, open-loop ${fmtInt(SINGLE_RATE)} requests/s, ${SINGLE_SECONDS} s`,
        `p99 ${ms(p99)} ms`,
        `p99 <= ${SINGLE_P99_TARGET_MS} ms`,
        yesNo(p99 <= SINGLE_P99_TARGET_MS),
      ],
      ['  latency p50 / p95 / p99 / max', spread(run.latencies), '-', '-'],
      [
        '  requests sent, 201, errors',
        `${fmtInt(run.schedule.sent)}, ${fmtInt(run.created)}, ${fmtInt(run.errors)}`,
        'all, all, 0',
        yesNo(run.errors === 0 && run.created === run.schedule.sent),
      ],
      [
        '  sends late against the timetable p99 / max (client health)',
        `${ms(percentile(run.schedule.lateness, 0.99))} / ${ms(run.schedule.lateness.at(-1) ?? 0)} ms`,
        '-',
        '-',
      ],
      [
        '  last answer after the last send',
        `${(run.schedule.drainSeconds * 1000).toFixed(0)} ms`,
        '-',
        '-',
      ],
    ];
    return { rows, resources };
  } finally {
    for (const client of clients) client.close();
  }
};

// ---------------------------------------------------------------------------------------------
// (c) publish-to-subscriber latency

/** Events published in one phase of (c): when each left, and which the hub accepted. */
class LivePublishing {
  readonly sentAt = new Map<string, number>();
  readonly accepted: string[] = [];
  errors = 0;
  readonly latencies: number[] = [];
  private readonly problems: Problems;

  constructor(label: string) {
    this.problems = new Problems(label);
  }

  async fire(client: HttpClient, token: string, tag: string): Promise<void> {
    const events = Array.from({ length: LATENCY_BATCH }, () => learningEvent(LIVE_PROGRAM, tag));
    const single = LATENCY_BATCH === 1;
    const body = JSON.stringify(single ? events[0] : events);
    const sent = performance.now();
    for (const event of events) this.sentAt.set(event.PublisherEventId, sent);
    try {
      const answer = await client.send(
        'POST',
        single ? '/v1/events' : '/v1/events/batch',
        token,
        body,
      );
      this.latencies.push(performance.now() - sent);
      if (single) {
        if (answer.status === 201) this.accepted.push(events[0]!.PublisherEventId);
        else {
          this.errors++;
          this.problems.note(`POST /v1/events answered ${answer.status}: ${answer.text}`);
        }
        return;
      }
      if (answer.status !== 200) {
        this.errors += events.length;
        this.problems.note(`POST /v1/events/batch answered ${answer.status}: ${answer.text}`);
        return;
      }
      const view = JSON.parse(answer.text) as { results: { index: number; status: number }[] };
      for (const result of view.results) {
        if (result.status === 201) this.accepted.push(events[result.index]!.PublisherEventId);
        else {
          this.errors++;
          this.problems.note(`batch result ${JSON.stringify(result)}`);
        }
      }
    } catch (error) {
      this.errors += events.length;
      this.problems.note(`request failed: ${describe(error)}`);
    }
  }

  missing(arrivals: Arrivals): number {
    return this.accepted.filter((id) => !arrivals.at.has(id)).length;
  }

  /** Arrival minus send of every accepted event that arrived, sorted, in ms. */
  delays(arrivals: Arrivals): number[] {
    const delays: number[] = [];
    for (const id of this.accepted) {
      const at = arrivals.at.get(id);
      if (at !== undefined) delays.push(at - this.sentAt.get(id)!);
    }
    return sorted(delays);
  }
}

const publishLive = async (
  clients: readonly HttpClient[],
  token: string,
  seconds: number,
  label: string,
  tag: string,
): Promise<{ publishing: LivePublishing; schedule: Schedule }> => {
  const publishing = new LivePublishing(label);
  const schedule = await openLoop(LATENCY_RATE / LATENCY_BATCH, seconds, label, (i) =>
    publishing.fire(clients[i % clients.length]!, token, tag),
  );
  return { publishing, schedule };
};

/** Waits until every accepted event arrived both ways, or `seconds` passed. */
const awaitArrivals = async (
  publishing: LivePublishing,
  sse: SseStream,
  receiver: WebhookReceiver,
  seconds: number,
): Promise<void> => {
  const deadline = performance.now() + seconds * 1000;
  while (
    performance.now() < deadline &&
    (publishing.missing(sse.arrivals) > 0 || publishing.missing(receiver.arrivals) > 0)
  )
    await sleep(50);
};

const caseLatency = async (
  hubs: readonly Hub[],
  publisherToken: string,
  subscriberToken: string,
  receiver: WebhookReceiver,
  streams: SseStream[],
  settle: () => Promise<void>,
) => {
  const hub = hubs[0]!;
  const created = await hub.expect(
    'POST',
    '/v1/subscriptions',
    {
      subscriptionId: SUBSCRIPTION_ID,
      subscriberProgramId: SUBSCRIBER_PROGRAM,
      publisherProgramId: LIVE_PROGRAM,
      name: 'Benchmark live subscription',
      templates: { '*_default': { action: 'import', label: 'Everything', template: TEMPLATE } },
      webhook: { url: receiver.url },
    },
    201,
  );
  if (created.status !== 'active')
    throw new Error(
      `the subscription is ${created.status}, not active: ${JSON.stringify(created)}`,
    );
  receiver.secret = created.webhookSecret?.secret ?? null;
  if (receiver.secret === null)
    progress('(c) no webhook secret in the answer: signatures unchecked');
  const sse = await SseStream.open(
    hub.base,
    `/v1/subscriptions/${SUBSCRIPTION_ID}/stream?after=start`,
    subscriberToken,
  );
  streams.push(sse);
  const clients = hubs.map((h) => new HttpClient(h.base, CONNECTIONS));
  const rate = `${fmtInt(LATENCY_RATE)} events/s as ${LATENCY_BATCH === 1 ? 'single POST /v1/events' : `POST /v1/events/batch of ${LATENCY_BATCH} every ${(1000 * LATENCY_BATCH) / LATENCY_RATE} ms`}`;
  try {
    if (LATENCY_WARMUP_SECONDS > 0) {
      progress(`(c) warm-up, ${LATENCY_WARMUP_SECONDS} s, ${rate}`);
      const warm = await publishLive(
        clients,
        publisherToken,
        LATENCY_WARMUP_SECONDS,
        '(c) warm-up',
        'warm',
      );
      await awaitArrivals(warm.publishing, sse, receiver, 30);
      const missing = [
        warm.publishing.missing(sse.arrivals),
        warm.publishing.missing(receiver.arrivals),
      ];
      progress(
        `(c) warm-up: ${fmtInt(warm.publishing.accepted.length)} accepted; missing ${missing[0]} via SSE, ${missing[1]} via webhook`,
      );
    }
    progress(`(c) publish-to-subscriber latency: ${rate}, ${LATENCY_SECONDS} s`);
    await settle();
    const stop = meter(hubs);
    const { publishing, schedule } = await publishLive(
      clients,
      publisherToken,
      LATENCY_SECONDS,
      '(c) latency',
      'live',
    );
    await awaitArrivals(publishing, sse, receiver, LATENCY_GRACE_SECONDS);
    const resources = stop();
    const viaSse = publishing.delays(sse.arrivals);
    const viaHook = publishing.delays(receiver.arrivals);
    const missingSse = publishing.missing(sse.arrivals);
    const missingHook = publishing.missing(receiver.arrivals);
    const failed = await hub.call(
      'GET',
      `/v1/subscriptions/${SUBSCRIPTION_ID}/deliveries?outcome=failed&limit=1000`,
    );
    const failedAttempts =
      failed.status === 200 ? String(failed.body.items.length) : `GET answered ${failed.status}`;
    const sent = schedule.sent * LATENCY_BATCH;
    const rows: Row[] = [
      [
        `(c) publish-to-subscriber, ${rate}, ${LATENCY_SECONDS} s`,
        `${fmtInt(sent)} events, ${fmtInt(publishing.accepted.length)} accepted, ${fmtInt(publishing.errors)} refused`,
        'all accepted',
        yesNo(publishing.accepted.length === sent && publishing.errors === 0),
      ],
      [
        '  SSE latency p50 / p95 / p99 / max',
        spread(viaSse),
        `p99 <= ${DELIVERY_P99_TARGET_MS} ms`,
        yesNo(percentile(viaSse, 0.99) <= DELIVERY_P99_TARGET_MS),
      ],
      [
        `  SSE missing after ${LATENCY_GRACE_SECONDS} s grace, duplicates`,
        `${fmtInt(missingSse)}, ${fmtInt(sse.arrivals.duplicates)}`,
        '0',
        yesNo(missingSse === 0),
      ],
      [
        '  webhook latency p50 / p95 / p99 / max',
        spread(viaHook),
        `p99 <= ${DELIVERY_P99_TARGET_MS} ms`,
        yesNo(percentile(viaHook, 0.99) <= DELIVERY_P99_TARGET_MS),
      ],
      [
        `  webhook missing after ${LATENCY_GRACE_SECONDS} s grace, duplicates`,
        `${fmtInt(missingHook)}, ${fmtInt(receiver.arrivals.duplicates)}`,
        '0',
        yesNo(missingHook === 0),
      ],
      [
        '  webhook requests (all phases), items per request, bad signatures',
        `${fmtInt(receiver.requests)}, ${(receiver.items / Math.max(1, receiver.requests)).toFixed(1)}, ${receiver.badSignatures}`,
        '-, -, 0',
        yesNo(receiver.badSignatures === 0),
      ],
      ['  failed delivery attempts the hub recorded', failedAttempts, '-', '-'],
      [
        '  publish request latency p50 / p95 / p99 / max',
        spread(sorted(publishing.latencies)),
        '-',
        '-',
      ],
      [
        '  sends late against the timetable p99 / max (client health)',
        `${ms(percentile(schedule.lateness, 0.99))} / ${ms(schedule.lateness.at(-1) ?? 0)} ms`,
        '-',
        '-',
      ],
    ];
    if (sse.ended !== null) rows.push(['  SSE stream ended early', sse.ended, '-', 'no']);
    return { rows, resources };
  } finally {
    for (const client of clients) client.close();
  }
};

// ---------------------------------------------------------------------------------------------

/** Programs and API keys on the hub (not measured). */
const setUp = async (hub: Hub): Promise<{ publisherToken: string; subscriberToken: string }> => {
  progress('set-up: programs and API keys (not measured)');
  for (const [programId, organisationId, name] of [
    [INGEST_PROGRAM, PUBLISHER_ORG, 'Benchmark publisher'],
    [LIVE_PROGRAM, PUBLISHER_ORG, 'Benchmark live publisher'],
    [SUBSCRIBER_PROGRAM, SUBSCRIBER_ORG, 'Benchmark subscriber'],
  ] as const)
    await hub.expect('POST', '/v1/programs', { programId, organisationId, name }, 201);
  const publisherKey = await hub.expect(
    'POST',
    '/v1/admin/api-keys',
    {
      principalId: 'bench-publisher',
      organisationId: PUBLISHER_ORG,
      roles: ['PUBLISHER'],
      label: 'benchmark publisher',
    },
    201,
  );
  const subscriberKey = await hub.expect(
    'POST',
    '/v1/admin/api-keys',
    {
      principalId: 'bench-subscriber',
      organisationId: SUBSCRIBER_ORG,
      roles: ['SUBSCRIBER'],
      label: 'benchmark subscriber',
    },
    201,
  );
  return {
    publisherToken: publisherKey.token as string,
    subscriberToken: subscriberKey.token as string,
  };
};

const main = async () => {
  const url = serverUrl();
  progress(`server ${redactUrl(url)}; cases ${[...ONLY].join(',')}; ${INSTANCES} hub instance(s)`);
  let scratch: ScratchDatabase | null = null;
  const hubs: Hub[] = [];
  let receiver: WebhookReceiver | null = null;
  const streams: SseStream[] = [];
  const cleanup = async () => {
    for (const stream of streams) stream.close();
    await receiver?.close().catch(() => undefined);
    await Promise.all(hubs.map((hub) => hub.stop()));
    await scratch?.drop();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    const loadAtStart = os.loadavg();
    scratch = await createScratchDatabase(url);
    const env = {
      HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      ...(FLOOR_MODE === 'log' ? { HUB_FLOOR_WRITES: 'log' } : {}),
    };
    // Further instances start once the first has migrated the database.
    const entry = FLOOR ? { entry: join(__dirname, 'floor-server.js') } : {};
    for (let n = 0; n < INSTANCES; n++)
      hubs.push(await Hub.start(scratch.url, { adminToken: ADMIN_TOKEN, env, ...entry }));
    const hub = hubs[0]!;

    const db = new Client({ connectionString: scratch.url, application_name: 'hub-bench-info' });
    db.on('error', () => undefined);
    await db.connect();
    const setting = async (name: string) =>
      (await db.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? '?';
    const postgres = `${await setting('server_version')}; synchronous_commit=${await setting('synchronous_commit')}, fsync=${await setting('fsync')}, wal_sync_method=${await setting('wal_sync_method')}, shared_buffers=${await setting('shared_buffers')}, max_connections=${await setting('max_connections')}, autovacuum=${await setting('autovacuum')}`;
    await db.end();

    const { publisherToken, subscriberToken } = FLOOR
      ? { publisherToken: 'floor', subscriberToken: 'floor' }
      : await setUp(hub);
    const sample = learningEvent(INGEST_PROGRAM, 'sample');
    const dataBytes = Buffer.byteLength(JSON.stringify(sample.PublisherEventData));
    const eventBytes = Buffer.byteLength(JSON.stringify(sample));

    // Each case starts from a quiet hub: the read model caught up and the database's dirty pages
    // written out, so one case's after-effects (a checkpoint's writes) do not land in the next.
    const settle = async () => {
      await catchUp(hubs[0]!);
      const admin = new Client({
        connectionString: scratch!.url,
        application_name: 'hub-bench-settle',
      });
      await admin.connect();
      try {
        await admin.query('CHECKPOINT');
      } finally {
        await admin.end();
      }
    };
    const rows: Row[] = [];
    const resources: [string, Resources][] = [];
    if (runs('a')) {
      const result = await caseIngest(hubs, publisherToken, settle);
      rows.push(...result.rows);
      resources.push(['(a) ingest', result.resources]);
    }
    if (runs('b')) {
      const result = await caseSingle(hubs, publisherToken, settle);
      rows.push(...result.rows);
      resources.push(['(b) single events', result.resources]);
    }
    if (runs('c')) {
      receiver = await WebhookReceiver.start();
      const result = await caseLatency(
        hubs,
        publisherToken,
        subscriberToken,
        receiver,
        streams,
        settle,
      );
      rows.push(...result.rows);
      resources.push(['(c) publish-to-subscriber', result.resources]);
    }

    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const lines = [
      `Clearinghouse benchmark${FLOOR ? ', floor' : ''}, ${new Date().toISOString()}`,
      `cores: ${os.cpus().length} (${cpu}), memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
      `node ${process.version}; load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`,
      `postgres ${postgres}`,
      FLOOR
        ? `floor: ${INSTANCES} process(es) of bench/floor-server.ts instead of the hub: per request, the field checks and EventIds, then ${FLOOR_MODE === 'log' ? 'only the log rows' : 'the stream, log and read-model rows'} in one statement (one round trip, one commit); no credentials, projections or subscribers`
        : INSTANCES === 1
          ? 'hub: one process (PostgreSQL server adapter), driven over HTTP (keep-alive node:http) from the benchmark process'
          : `hub: ${INSTANCES} processes on one database (PostgreSQL server adapter), publishing requests round-robin; SSE and /health on the first`,
      `events: LearningBuilder-style, ${eventBytes} bytes of JSON each (PublisherEventData ${dataBytes} bytes), ${CATEGORIES.length} categories in turn, unique PublisherEventIds; ${FLOOR ? 'no credential' : 'published with a PUBLISHER API key'}`,
      '',
      renderTable(['measure', 'value', 'target', 'met?'], rows),
      '',
      renderTable(
        [
          'resources while measuring',
          'seconds',
          'hub CPU (cores)',
          'hub rss',
          'bench CPU (cores)',
          'machine CPU (cores)',
          'bench event-loop delay p99',
        ],
        resources.map(([name, r]) => [
          name,
          r.seconds.toFixed(1),
          fmtCores(r.hubCores),
          `${(r.hubRss / 2 ** 20).toFixed(0)} MiB`,
          fmtCores(r.benchCores),
          fmtCores(r.machineCores),
          `${r.benchLoopP99.toFixed(1)} ms`,
        ]),
      ),
      '',
      `hub CPU is all hub (or floor) processes; rss the first's. (c) publishes to a program of its own, so its subscription starts with no backlog; latency is receipt in this process minus the send of the request that carried the event.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cleanup();
  }
};

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
