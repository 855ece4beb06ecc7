import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { fmtInt, progress, renderTable, envInt } from './bench-support';
import { HttpClient } from './http-client';
import { Hub, percentile } from './hub-process';
import { createScratchDatabase, redactUrl, serverUrl } from './scratch-database';

/**
 * Long transactions that are not the hub's (npm run bench:visibility): for SECONDS, with an
 * idle transaction holding an xid in another database of the same server and a read-only
 * report running in the hub's own database (BENCH_LONG_TRANSACTIONS=0 runs without them, as a
 * control; BENCH_HUB_ENTRY runs another build of the hub, e.g. an older one):
 * - SSE: events published at RATE a second, publish-to-stream latency of each;
 * - read-your-writes: POST /v1/batches and PUT /v1/users/{id}/profile, each answered from its
 *   read model once the write shows there: their latency, and any answer other than 201/200;
 * - batch transitions: a batch starting every TRANSITION_EVERY_S seconds: BatchStarted's
 *   recording time minus the boundary, read back from the batch's history.
 */

const SECONDS = envInt('BENCH_SECONDS', 60, 5);
const RATE = envInt('BENCH_RATE', 100, 1);
const WRITES_EVERY_MS = envInt('BENCH_WRITES_EVERY_MS', 500, 10);
const TRANSITION_EVERY_S = envInt('BENCH_TRANSITION_EVERY_S', 5, 1);
const LONG_TRANSACTIONS = process.env.BENCH_LONG_TRANSACTIONS !== '0';
const ENTRY = process.env.BENCH_HUB_ENTRY || undefined;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef-xyz';
const RUN = randomUUID().slice(0, 8);

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const fmtMs = (values: readonly number[]) => {
  const s = sorted(values);
  return s.length === 0
    ? 'none'
    : `${percentile(s, 0.5).toFixed(1)} / ${percentile(s, 0.99).toFixed(1)} / ${s.at(-1)!.toFixed(1)} ms`;
};

/** Opens the transactions that are not the hub's, for the whole run. */
const openLongTransactions = async (hubUrl: string, otherUrl: string): Promise<Client[]> => {
  const idle = new Client({ connectionString: otherUrl });
  await idle.connect();
  await idle.query('BEGIN');
  await idle.query('SELECT txid_current()');
  const report = new Client({ connectionString: hubUrl });
  await report.connect();
  await report.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await report.query('SELECT count(*) FROM hub_events');
  void report.query(`SELECT pg_sleep(${SECONDS + 30})`).catch(() => undefined);
  for (const client of [idle, report]) client.on('error', () => undefined);
  return [idle, report];
};

/** Receipt minus the send time the item carries, for every item of one SSE stream. */
const openStream = (base: string, path: string, token: string, latencies: number[]) =>
  new Promise<http.ClientRequest>((resolve, reject) => {
    const request = http.get(
      new URL(path, base),
      { agent: false, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } },
      (response) => {
        if (response.statusCode !== 200) return reject(new Error(`stream ${response.statusCode}`));
        response.setEncoding('utf8');
        let tail = '';
        response.on('data', (chunk: string) => {
          const now = Date.now();
          const text = tail + chunk;
          let at = 0;
          for (
            let mark = text.indexOf('"payload":{"s":', at);
            mark >= 0;
            mark = text.indexOf('"payload":{"s":', at)
          ) {
            latencies.push(now - Number.parseInt(text.slice(mark + 15, mark + 30), 10));
            at = mark + 15;
          }
          tail = text.slice(Math.max(at, text.length - 64));
        });
        resolve(request);
      },
    );
    request.on('error', reject);
  });

const main = async (): Promise<void> => {
  const server = serverUrl();
  const hubDb = await createScratchDatabase(server);
  const otherDb = await createScratchDatabase(server);
  progress(
    `server ${redactUrl(server)}; long transactions ${LONG_TRANSACTIONS ? 'open' : 'none'}; hub ${ENTRY ?? 'this build'}`,
  );
  const hub = await Hub.start(hubDb.url, {
    adminToken: ADMIN_TOKEN,
    ...(ENTRY ? { entry: ENTRY } : {}),
  });
  const client = new HttpClient(hub.base, 16);
  const held: Client[] = [];
  let stream: http.ClientRequest | null = null;
  try {
    const key = async (principalId: string, organisationId: string, roles: string[]) =>
      (await hub.expect('POST', '/v1/admin/api-keys', { principalId, organisationId, roles }, 201))
        .token as string;
    const publisher = await key('vis-publisher', 'org-pub', ['PUBLISHER']);
    const subscriber = await key('vis-subscriber', 'org-sub', ['SUBSCRIBER']);
    const creator = await key('vis-creator', 'org-c', ['CONTENT_CREATOR']);
    const orgAdmin = await key('vis-admin', 'org-c', ['ORG_ADMIN']);
    await hub.expect(
      'POST',
      '/v1/programs',
      { programId: 'vis-pub', name: 'P', organisationId: 'org-pub' },
      201,
    );
    await hub.expect(
      'POST',
      '/v1/programs',
      { programId: 'vis-sub', name: 'S', organisationId: 'org-sub' },
      201,
    );
    const subscription = await hub.expect(
      'POST',
      '/v1/subscriptions',
      {
        subscriberProgramId: 'vis-sub',
        publisherProgramId: 'vis-pub',
        templates: {
          '*_default': { action: 'import', template: '{"s": {{json PublisherEventData.sentAt}}}' },
        },
      },
      201,
    );
    await hub.expect(
      'POST',
      '/v1/courses',
      {
        courseId: 'vis-course',
        name: 'C',
        trackable: { enabled: true },
        children: [{ id: 'c1', name: 'V', kind: 'content' }],
      },
      201,
      creator,
    );

    if (LONG_TRANSACTIONS) held.push(...(await openLongTransactions(hubDb.url, otherDb.url)));
    const sse: number[] = [];
    stream = await openStream(
      hub.base,
      `/v1/subscriptions/${subscription.subscriptionId}/stream`,
      subscriber,
      sse,
    );
    await sleep(1_000);

    const writes = { batch: [] as number[], profile: [] as number[], wrong: [] as string[] };
    const boundaries: { batchId: string; startsAt: number }[] = [];
    const started = performance.now();
    const until = started + SECONDS * 1_000;
    let n = 0;
    const publishing = (async () => {
      for (let i = 0; performance.now() < until; i++) {
        await sleep(Math.max(0, started + (i * 1_000) / RATE - performance.now()));
        const event = {
          PublisherProgramId: 'vis-pub',
          PublisherSystemId: 'LB',
          EventType: 'LPI_COMP_SUCCESS',
          PublisherEventId: `v:${RUN}:${n++}`,
          PublisherParticipantId: 'p@example.org',
          PublisherEventData: { sentAt: Date.now() },
          EventStartUtc: '2026-11-01T08:00:00.000Z',
        };
        void client.send('POST', '/v1/events', publisher, JSON.stringify(event));
      }
    })();
    const writing = (async () => {
      for (let i = 0; performance.now() < until; i++) {
        const t0 = performance.now();
        const batch = await client.send(
          'POST',
          '/v1/batches',
          creator,
          JSON.stringify({
            courseId: 'vis-course',
            name: `Batch ${i}`,
            enrollmentType: 'open',
            startDate: new Date(Date.now() + 86_400_000).toISOString(),
            endDate: new Date(Date.now() + 2 * 86_400_000).toISOString(),
          }),
        );
        writes.batch.push(performance.now() - t0);
        if (batch.status !== 201) writes.wrong.push(`POST /v1/batches ${batch.status}`);
        const t1 = performance.now();
        const profile = await client.send(
          'PUT',
          `/v1/users/u-${i}/profile`,
          orgAdmin,
          JSON.stringify({ name: `User ${i}` }),
        );
        writes.profile.push(performance.now() - t1);
        if (profile.status !== 200) writes.wrong.push(`PUT profile ${profile.status}`);
        await sleep(Math.max(0, WRITES_EVERY_MS - (performance.now() - t0)));
      }
    })();
    const transitions = (async () => {
      for (let at = TRANSITION_EVERY_S; at < SECONDS - 2; at += TRANSITION_EVERY_S) {
        const startsAt = Date.now() + TRANSITION_EVERY_S * 1_000;
        const answer = await client.send(
          'POST',
          '/v1/batches',
          creator,
          JSON.stringify({
            courseId: 'vis-course',
            name: `Starts at ${new Date(startsAt).toISOString()}`,
            enrollmentType: 'open',
            startDate: new Date(startsAt).toISOString(),
            endDate: new Date(startsAt + 86_400_000).toISOString(),
          }),
        );
        if (answer.status === 201)
          boundaries.push({ batchId: JSON.parse(answer.text).batchId, startsAt });
        await sleep(TRANSITION_EVERY_S * 1_000);
      }
    })();
    await Promise.all([publishing, writing, transitions]);
    await sleep(3_000);

    const lateness: number[] = [];
    let notStarted = 0;
    for (const { batchId, startsAt } of boundaries) {
      const history = await hub.call('GET', `/v1/batches/${batchId}/history`);
      const entry = (history.body as { type: string; recordedAt: string }[]).find(
        (e) => e.type === 'BatchStarted',
      );
      if (entry) lateness.push(Date.parse(entry.recordedAt) - startsAt);
      else notStarted++;
    }
    process.stdout.write(
      [
        `Visibility benchmark, ${new Date().toISOString()}: long transactions ${LONG_TRANSACTIONS ? 'open' : 'none'}; hub ${ENTRY ?? 'this build'}`,
        `cores: ${os.cpus().length}, node ${process.version}`,
        '',
        renderTable(
          ['measure', 'p50 / p99 / max', 'target'],
          [
            [
              `SSE publish -> stream, ${fmtInt(sse.length)} of ${fmtInt(n)} events`,
              fmtMs(sse),
              'p99 <= 100 ms',
            ],
            [
              `POST /v1/batches (answered from its read model), ${writes.batch.length}`,
              fmtMs(writes.batch),
              '<= 1 s',
            ],
            [
              `PUT /v1/users/{id}/profile (the same), ${writes.profile.length}`,
              fmtMs(writes.profile),
              '<= 1 s',
            ],
            [
              `  answers other than 201 / 200`,
              `${writes.wrong.length}${writes.wrong.length ? ` (${[...new Set(writes.wrong)].join(', ')})` : ''}`,
              '0',
            ],
            [
              `BatchStarted after its boundary, ${lateness.length} batches (${notStarted} not started)`,
              fmtMs(lateness),
              '<= 1 s',
            ],
          ],
        ),
        '',
      ].join('\n'),
    );
  } finally {
    stream?.destroy();
    for (const c of held) await c.end().catch(() => undefined);
    client.close();
    await hub.stop();
    await hubDb.drop();
    await otherDb.drop();
  }
};

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:visibility failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
