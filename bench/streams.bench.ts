import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import {
  fmtCores,
  fmtInt,
  measuredSince,
  progress,
  renderTable,
  sampleCpu,
  envInt,
} from './bench-support';
import { HttpClient } from './http-client';
import { cpuTicksOf, Hub, percentile, rssOf } from './hub-process';
import { createScratchDatabase, redactUrl, serverUrl } from './scratch-database';

/**
 * Live streams benchmark (npm run bench:streams): one hub process on a scratch PostgreSQL
 * database holding a log of LOG_EVENTS events (published through the API, most of them by a
 * program nobody subscribes to, CATCHUP_EVENTS by a program a subscription will catch up on).
 * Then, at the head:
 * - LIVE_SUBSCRIPTIONS subscriptions of their own programs, CLIENTS_PER_SUBSCRIPTION SSE
 *   streams each, while LIVE_RATE events a second are published across those programs (open
 *   loop, LIVE_REQUEST_EVENTS per request): publish-to-client latency of every item on every
 *   stream (the item carries its request's send time; receipt minus send), every stream checked
 *   for missing and repeated items;
 * - CATCHUP_CLIENTS streams of a new subscription opened from the start of the log half-way
 *   through: the time until the last of them has every one of its CATCHUP_EVENTS items;
 * - an API probe (GET /v1/events, a read-model query) every PROBE_MS throughout: its p50 idle
 *   (before the streams open) against its p50 while they run.
 * The database is ANALYZEd after seeding, as autovacuum would have done (this machine's server
 * runs with autovacuum off).
 */

const LOG_EVENTS = envInt('BENCH_LOG_EVENTS', 1_000_000);
const CATCHUP_EVENTS = envInt('BENCH_CATCHUP_EVENTS', 10_000);
const LIVE_SUBSCRIPTIONS = envInt('BENCH_LIVE_SUBSCRIPTIONS', 10);
const CLIENTS_PER_SUBSCRIPTION = envInt('BENCH_CLIENTS_PER_SUBSCRIPTION', 100);
const CATCHUP_CLIENTS = envInt('BENCH_CATCHUP_CLIENTS', 100);
const LIVE_RATE = envInt('BENCH_LIVE_RATE', 1_000);
const LIVE_REQUEST_EVENTS = envInt('BENCH_LIVE_REQUEST_EVENTS', 10);
const LIVE_SECONDS = envInt('BENCH_LIVE_SECONDS', 40);
const CATCHUP_AFTER_SECONDS = envInt('BENCH_CATCHUP_AFTER_SECONDS', 10);
const IDLE_SECONDS = envInt('BENCH_IDLE_SECONDS', 10);
const PROBE_MS = envInt('BENCH_PROBE_MS', 100);
const GRACE_SECONDS = envInt('BENCH_GRACE_SECONDS', 5);
const SEED_CLIENTS = envInt('BENCH_SEED_CLIENTS', 8);
const SEED_BATCH = envInt('BENCH_SEED_BATCH', 500);

const LATENCY_TARGET_MS = 100;
const CATCHUP_TARGET_S = 10;

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef-xyz';
const PUBLISHER_ORG = 'org-pub';
const SUBSCRIBER_ORG = 'org-sub';
const BULK_PROGRAM = 'streams-bulk';
const CATCHUP_PROGRAM = 'streams-catchup';
const SUBSCRIBER_PROGRAM = 'streams-sub';
const liveProgram = (index: number) => `streams-live-${index}`;
const RUN = randomUUID().slice(0, 8);
let sequence = 0;

/** A small LearningBuilder-style event; `sentAt` is what the live templates hand back. */
const anEvent = (programId: string, sentAt = 0) => {
  const n = sequence++;
  return {
    PublisherProgramId: programId,
    PublisherSystemId: 'LB',
    EventType: 'LPI_COMP_SUCCESS',
    PublisherEventId: `s:${RUN}:${n}`,
    PublisherParticipantId: `learner-${n % 50_000}@example.org`,
    PublisherEventCategory: { value: 'COURSE', label: 'Course' },
    PublisherEventData: { activityId: `LPI-${n % 4_999}`, hours: 1.5, sentAt },
    EventStartUtc: '2026-11-01T08:00:00.000Z',
  };
};

const LIVE_TEMPLATE =
  '{"s": {{json PublisherEventData.sentAt}}, "a": "{{PublisherEventData.activityId}}"}';

/**
 * One SSE stream, read cheaply: it counts published items and, for live ones, records receipt
 * minus the send time each item carries, without parsing whole messages.
 */
class Stream {
  items = 0;
  ended: string | null = null;
  private tail = '';
  private closing = false;

  private constructor(
    private readonly request: http.ClientRequest,
    private readonly latencies: LatencySink | null,
  ) {}

  static open(base: string, path: string, token: string, latencies: LatencySink | null) {
    return new Promise<Stream>((resolve, reject) => {
      const request = http.get(
        new URL(path, base),
        {
          agent: false,
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        },
        (response) => {
          if (response.statusCode !== 200) {
            reject(new Error(`GET ${path} answered ${response.statusCode}`));
            response.resume();
            return;
          }
          const stream = new Stream(request, latencies);
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => stream.take(chunk));
          response.on('end', () => stream.stop('the hub ended the stream'));
          response.on('error', (error) => stream.stop(error.message));
          resolve(stream);
        },
      );
      request.on('error', reject);
    });
  }

  private take(chunk: string): void {
    const now = Date.now();
    const text = this.tail + chunk;
    let at = 0;
    for (;;) {
      const found = text.indexOf('\nevent: published\n', at);
      if (found < 0) break;
      const data = text.indexOf('\n\n', found);
      if (data < 0) break;
      this.items++;
      if (this.latencies) {
        const mark = text.indexOf('"payload":{"s":', found);
        if (mark >= 0 && mark < data)
          this.latencies.add(now - Number.parseInt(text.slice(mark + 15, mark + 30), 10));
      }
      at = data + 2;
    }
    this.tail = text.slice(at);
    if (this.tail.length > 1_000_000) this.tail = this.tail.slice(-100_000);
  }

  private stop(reason: string): void {
    if (!this.closing && this.ended === null) this.ended = reason;
  }

  close(): void {
    this.closing = true;
    this.request.destroy();
  }
}

/** Latencies in milliseconds, kept in one typed array. */
class LatencySink {
  private values = new Float64Array(1 << 20);
  count = 0;
  add(ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }
  sorted(): number[] {
    return Array.from(this.values.subarray(0, this.count)).sort((a, b) => a - b);
  }
}

/** Times GET /v1/events every PROBE_MS into whichever phase is current. */
class ApiProbe {
  readonly phases = new Map<string, number[]>();
  phase = 'idle';
  private running = true;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly client: HttpClient,
    private readonly token: string,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const started = performance.now();
        const answer = await this.client.send(
          'GET',
          `/v1/events?programId=${BULK_PROGRAM}&limit=10`,
          this.token,
        );
        if (answer.status === 200) {
          const samples = this.phases.get(this.phase) ?? [];
          samples.push(performance.now() - started);
          this.phases.set(this.phase, samples);
        }
        await sleep(Math.max(0, PROBE_MS - (performance.now() - started)));
      }
    })();
  }

  p50(phase: string): number {
    return percentile(
      [...(this.phases.get(phase) ?? [])].sort((a, b) => a - b),
      0.5,
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

const expectStatus = (answer: { status: number; text: string }, status: number, what: string) => {
  if (answer.status !== status)
    throw new Error(`${what} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return JSON.parse(answer.text) as Record<string, unknown>;
};

/** Publishes LOG_EVENTS events, CATCHUP_EVENTS of them spread evenly for the catch-up program. */
const seed = async (client: HttpClient, token: string): Promise<void> => {
  const catchupEvery = Math.floor(LOG_EVENTS / CATCHUP_EVENTS);
  let next = 0;
  let done = 0;
  const batchOf = () => {
    const events = [];
    for (let i = 0; i < SEED_BATCH && next < LOG_EVENTS; i++, next++)
      events.push(anEvent(next % catchupEvery === 0 ? CATCHUP_PROGRAM : BULK_PROGRAM));
    return events;
  };
  const started = performance.now();
  let lastReport = started;
  await Promise.all(
    Array.from({ length: SEED_CLIENTS }, async () => {
      for (;;) {
        const events = batchOf();
        if (events.length === 0) return;
        const answer = await client.send('POST', '/v1/events/batch', token, JSON.stringify(events));
        const body = expectStatus(answer, 200, 'a seeding batch');
        if (body.created !== events.length)
          throw new Error(`a seeding batch: ${answer.text.slice(0, 300)}`);
        done += events.length;
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          progress(`seeding: ${fmtInt(done)} of ${fmtInt(LOG_EVENTS)} events`);
        }
      }
    }),
  );
  progress(
    `seeded ${fmtInt(done)} events in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
};

const waitForProjections = async (hub: Hub): Promise<void> => {
  for (;;) {
    const health = await hub.call('GET', '/health');
    const reports = (health.body?.details?.projections?.projections ?? []) as Array<{
      state: string;
      eventsBehind: number | null;
    }>;
    if (reports.length > 0 && reports.every((r) => r.state === 'live' && r.eventsBehind === 0))
      return;
    await sleep(1_000);
  }
};

const main = async (): Promise<void> => {
  const server = serverUrl();
  const scratch = await createScratchDatabase(server);
  progress(`server ${redactUrl(server)}; scratch database ${scratch.name}`);
  const hub = await Hub.start(scratch.url, { adminToken: ADMIN_TOKEN });
  const client = new HttpClient(hub.base, 64);
  try {
    const key = async (principalId: string, organisationId: string, roles: string[]) =>
      (await hub.expect('POST', '/v1/admin/api-keys', { principalId, organisationId, roles }, 201))
        .token as string;
    const publisher = await key('streams-publisher', PUBLISHER_ORG, ['PUBLISHER']);
    const subscriber = await key('streams-subscriber', SUBSCRIBER_ORG, ['SUBSCRIBER']);
    for (const programId of [
      BULK_PROGRAM,
      CATCHUP_PROGRAM,
      ...Array.from({ length: LIVE_SUBSCRIPTIONS }, (_, i) => liveProgram(i)),
    ])
      await hub.expect(
        'POST',
        '/v1/programs',
        { programId, name: programId, organisationId: PUBLISHER_ORG },
        201,
      );
    await hub.expect(
      'POST',
      '/v1/programs',
      { programId: SUBSCRIBER_PROGRAM, name: 'Subscriber', organisationId: SUBSCRIBER_ORG },
      201,
    );
    const subscribe = async (publisherProgramId: string, template: string) =>
      (
        await hub.expect(
          'POST',
          '/v1/subscriptions',
          {
            subscriberProgramId: SUBSCRIBER_PROGRAM,
            publisherProgramId,
            templates: { '*_default': { action: 'import', template } },
          },
          201,
        )
      ).subscriptionId as string;

    progress(
      `seeding the log with ${fmtInt(LOG_EVENTS)} events (${fmtInt(CATCHUP_EVENTS)} of the catch-up program)`,
    );
    await seed(client, publisher);
    await waitForProjections(hub);
    const { rows } = await (async () => {
      const pg = new Client({ connectionString: scratch.url });
      await pg.connect();
      try {
        // As autovacuum would have by now: this machine's server runs with it off, and read-model
        // queries planned without statistics scan instead of using their indexes.
        await pg.query('ANALYZE');
        return await pg.query<{ n: string }>('SELECT count(*)::text AS n FROM hub_events');
      } finally {
        await pg.end();
      }
    })();
    progress(`log: ${fmtInt(Number(rows[0]!.n))} events; projections caught up`);

    const probe = new ApiProbe(client, publisher);
    probe.start();
    await sleep(IDLE_SECONDS * 1_000);

    // Latencies while the catch-up streams read, apart from the rest.
    const steady = new LatencySink();
    const duringCatchup = new LatencySink();
    let current = steady;
    const latencies = { add: (ms: number) => current.add(ms) } as LatencySink;
    const live = await Promise.all(
      Array.from({ length: LIVE_SUBSCRIPTIONS }, (_, i) =>
        subscribe(liveProgram(i), LIVE_TEMPLATE),
      ),
    );
    probe.phase = 'opening';
    const liveStreams: Stream[][] = [];
    for (const subscriptionId of live)
      liveStreams.push(
        await Promise.all(
          Array.from({ length: CLIENTS_PER_SUBSCRIPTION }, () =>
            Stream.open(
              hub.base,
              `/v1/subscriptions/${subscriptionId}/stream`,
              subscriber,
              latencies,
            ),
          ),
        ),
      );
    progress(`${fmtInt(LIVE_SUBSCRIPTIONS * CLIENTS_PER_SUBSCRIPTION)} live streams open`);
    await sleep(2_000);

    // Publishing, open loop on a fixed timetable across the live programs.
    probe.phase = 'live';
    const hubTicks = cpuTicksOf(hub.pid);
    const cpu = sampleCpu();
    const published = new Array<number>(LIVE_SUBSCRIPTIONS).fill(0);
    const requests = (LIVE_RATE / LIVE_REQUEST_EVENTS) * LIVE_SECONDS;
    const interval = (1_000 * LIVE_REQUEST_EVENTS) / LIVE_RATE;
    const liveStart = performance.now();
    const sends: Promise<void>[] = [];
    let catchup: Promise<{ first: number; last: number; complete: number }> | null = null;
    for (let r = 0; r < requests; r++) {
      const due = liveStart + r * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (catchup === null && performance.now() - liveStart >= CATCHUP_AFTER_SECONDS * 1_000) {
        probe.phase = 'catch-up';
        current = duringCatchup;
        catchup = runCatchup(hub, subscribe, subscriber).finally(() => {
          probe.phase = 'live';
          current = steady;
        });
      }
      const program = r % LIVE_SUBSCRIPTIONS;
      const sentAt = Date.now();
      const events = Array.from({ length: LIVE_REQUEST_EVENTS }, () =>
        anEvent(liveProgram(program), sentAt),
      );
      published[program]! += events.length;
      sends.push(
        client
          .send('POST', '/v1/events/batch', publisher, JSON.stringify(events))
          .then((answer) => {
            expectStatus(answer, 200, 'a live batch');
          }),
      );
    }
    await Promise.all(sends);
    const catchupResult = catchup ? await catchup : null;
    probe.phase = 'after';
    await sleep(GRACE_SECONDS * 1_000);
    const measured = measuredSince(cpu, 0);
    const hubCores = (cpuTicksOf(hub.pid) - hubTicks) / 100 / measured.seconds;
    const hubRss = rssOf(hub.pid);
    await probe.stop();

    let missing = 0;
    let extra = 0;
    let endedStreams = 0;
    liveStreams.forEach((streams, program) =>
      streams.forEach((stream) => {
        missing += Math.max(0, published[program]! - stream.items);
        extra += Math.max(0, stream.items - published[program]!);
        if (stream.ended !== null) endedStreams++;
      }),
    );
    for (const streams of liveStreams) for (const stream of streams) stream.close();

    const sorted = [...steady.sorted(), ...duringCatchup.sorted()].sort((a, b) => a - b);
    const p99 = percentile(sorted, 0.99);
    const spread = (values: number[]) =>
      `${percentile(values, 0.5).toFixed(1)} / ${percentile(values, 0.99).toFixed(1)} ms`;
    const idle = probe.p50('idle');
    const busiest = Math.max(probe.p50('live'), probe.p50('catch-up'));
    const liveItems = LIVE_RATE * LIVE_SECONDS * CLIENTS_PER_SUBSCRIPTION;
    const table = renderTable(
      ['measure', 'value', 'target', 'met?'],
      [
        [
          `publish -> client, ${fmtInt(LIVE_SUBSCRIPTIONS * CLIENTS_PER_SUBSCRIPTION)} streams over ${LIVE_SUBSCRIPTIONS} subscriptions, ${fmtInt(LIVE_RATE)} events/s for ${LIVE_SECONDS} s: p50 / p99 / max`,
          `${percentile(sorted, 0.5).toFixed(1)} / ${p99.toFixed(1)} / ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`,
          `p99 <= ${LATENCY_TARGET_MS} ms`,
          p99 <= LATENCY_TARGET_MS ? 'yes' : 'no',
        ],
        [
          '  p50 / p99 without / during the catch-up',
          `${spread(steady.sorted())}; ${spread(duringCatchup.sorted())}`,
          '-',
          '-',
        ],
        [
          '  items received / expected; missing, repeated; streams that ended',
          `${fmtInt(sorted.length)} / ${fmtInt(liveItems)}; ${fmtInt(missing)}, ${fmtInt(extra)}; ${endedStreams}`,
          '0, 0; 0',
          missing === 0 && extra === 0 && endedStreams === 0 ? 'yes' : 'no',
        ],
        [
          `catch-up: ${CATCHUP_CLIENTS} streams of a new subscription from the start, ${fmtInt(CATCHUP_EVENTS)} items each in a ${fmtInt(LOG_EVENTS)}-event log: first / last complete`,
          catchupResult
            ? `${catchupResult.first.toFixed(1)} / ${catchupResult.last.toFixed(1)} s (${catchupResult.complete} of ${CATCHUP_CLIENTS} complete)`
            : 'not run',
          `<= ${CATCHUP_TARGET_S} s in all`,
          catchupResult &&
          catchupResult.complete === CATCHUP_CLIENTS &&
          catchupResult.last <= CATCHUP_TARGET_S
            ? 'yes'
            : 'no',
        ],
        [
          'API p50 (GET /v1/events): idle / live / during the catch-up',
          `${idle.toFixed(1)} / ${probe.p50('live').toFixed(1)} / ${probe.p50('catch-up').toFixed(1)} ms`,
          `<= 2 x idle (${(2 * idle).toFixed(1)} ms)`,
          busiest <= 2 * idle ? 'yes' : 'no',
        ],
        [
          'hub CPU (cores) / rss while live; this client, machine CPU (cores)',
          `${fmtCores(hubCores)} / ${Math.round(hubRss / 1024 / 1024)} MiB; ${fmtCores(measured.nodeCores)}, ${fmtCores(measured.machineCores)}`,
          '-',
          '-',
        ],
      ],
    );
    process.stdout.write(
      [
        `Live streams benchmark, ${new Date().toISOString()}`,
        `cores: ${os.cpus().length} (${os.cpus()[0]?.model ?? 'unknown'}), memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}`,
        '',
        table,
        '',
      ].join('\n'),
    );
  } finally {
    client.close();
    await hub.stop();
    await scratch.drop();
  }
};

/** Opens the catch-up streams from the start; resolves when they all have every item (or 60 s). */
const runCatchup = async (
  hub: Hub,
  subscribe: (programId: string, template: string) => Promise<string>,
  token: string,
): Promise<{ first: number; last: number; complete: number }> => {
  const subscriptionId = await subscribe(
    CATCHUP_PROGRAM,
    '{"e": "{{EventId}}", "a": "{{PublisherEventData.activityId}}"}',
  );
  const started = performance.now();
  const streams = await Promise.all(
    Array.from({ length: CATCHUP_CLIENTS }, () =>
      Stream.open(hub.base, `/v1/subscriptions/${subscriptionId}/stream?after=start`, token, null),
    ),
  );
  const doneAt = new Array<number | null>(CATCHUP_CLIENTS).fill(null);
  while (doneAt.some((at) => at === null) && performance.now() - started < 60_000) {
    streams.forEach((stream, i) => {
      if (doneAt[i] === null && stream.items >= CATCHUP_EVENTS) doneAt[i] = performance.now();
    });
    await sleep(20);
  }
  for (const stream of streams) stream.close();
  const times = doneAt
    .filter((at): at is number => at !== null)
    .map((at) => (at - started) / 1_000);
  progress(`catch-up: ${times.length} of ${CATCHUP_CLIENTS} streams complete`);
  return { first: Math.min(...times), last: Math.max(...times), complete: times.length };
};

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:streams failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
