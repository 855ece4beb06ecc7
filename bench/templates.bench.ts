import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { envInt, progress, renderTable } from './bench-support';
import { HttpClient } from './http-client';
import { Hub, percentile } from './hub-process';
import { createScratchDatabase, redactUrl, serverUrl } from './scratch-database';

/**
 * A hostile template (npm run bench:templates): a subscription whose template nests `each` three
 * deep over a 200-element array of every event (finding 4: 8,000,000 iterations an item), its feed
 * read by READERS clients without pause for SECONDS, while GET /health is timed every PROBE_MS
 * and a well-behaved subscription's feed every PROBE_MS too.
 */

const SECONDS = envInt('BENCH_SECONDS', 20);
const READERS = envInt('BENCH_READERS', 2);
const PROBE_MS = envInt('BENCH_PROBE_MS', 20);
const EVENTS = envInt('BENCH_EVENTS', 200);
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef-xyz';
const RUN = randomUUID().slice(0, 8);

const NESTED_EACH =
  '{"x": [{{#each PublisherEventData.list}}{{#each ../PublisherEventData.list}}' +
  '{{#each ../../PublisherEventData.list}}{{this}},{{/each}}{{/each}}{{/each}}0]}';

const fmt = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${percentile(sorted, 0.5).toFixed(1)} / ${percentile(sorted, 0.99).toFixed(1)} / ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`;
};

const main = async (): Promise<void> => {
  const server = serverUrl();
  const scratch = await createScratchDatabase(server);
  progress(`server ${redactUrl(server)}; ${READERS} readers of a hostile feed for ${SECONDS} s`);
  const hub = await Hub.start(scratch.url, { adminToken: ADMIN_TOKEN });
  const client = new HttpClient(hub.base, 16);
  try {
    const key = async (principalId: string, organisationId: string, roles: string[]) =>
      (await hub.expect('POST', '/v1/admin/api-keys', { principalId, organisationId, roles }, 201))
        .token as string;
    const publisher = await key('tpl-publisher', 'org-pub', ['PUBLISHER']);
    const subscriber = await key('tpl-subscriber', 'org-sub', ['SUBSCRIBER']);
    await hub.expect(
      'POST',
      '/v1/programs',
      { programId: 'tpl-pub', name: 'P', organisationId: 'org-pub' },
      201,
    );
    await hub.expect(
      'POST',
      '/v1/programs',
      { programId: 'tpl-sub', name: 'S', organisationId: 'org-sub' },
      201,
    );
    const subscribe = async (template: string) =>
      (
        await hub.expect(
          'POST',
          '/v1/subscriptions',
          {
            subscriberProgramId: 'tpl-sub',
            publisherProgramId: 'tpl-pub',
            templates: { '*_default': { action: 'import', template } },
          },
          201,
        )
      ).subscriptionId as string;
    const hostile = await subscribe(NESTED_EACH);
    const wellBehaved = await subscribe('{"e": "{{EventId}}"}');
    const events = Array.from({ length: EVENTS }, (_, n) => ({
      PublisherProgramId: 'tpl-pub',
      PublisherSystemId: 'LB',
      EventType: 'LPI_COMP_SUCCESS',
      PublisherEventId: `t:${RUN}:${n}`,
      PublisherParticipantId: 'p@example.org',
      PublisherEventData: { list: Array.from({ length: 200 }, (_, i) => i) },
      EventStartUtc: '2026-11-01T08:00:00.000Z',
    }));
    await hub.expect('POST', '/v1/events/batch', events, 200, publisher);

    const until = performance.now() + SECONDS * 1_000;
    const hostileReads: number[] = [];
    let conversionErrors = 0;
    const readers = Array.from({ length: READERS }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const page = await client.send(
          'GET',
          `/v1/subscriptions/${hostile}/feed?after=start&limit=100`,
          subscriber,
        );
        hostileReads.push(performance.now() - started);
        const items =
          (JSON.parse(page.text) as { items?: { conversionError: string | null }[] }).items ?? [];
        conversionErrors += items.filter((item) => item.conversionError !== null).length;
      }
    });
    const probe = async (path: string, token: string | null, into: number[]) => {
      while (performance.now() < until) {
        const started = performance.now();
        await client.send('GET', path, token ?? '');
        into.push(performance.now() - started);
        await sleep(Math.max(0, PROBE_MS - (performance.now() - started)));
      }
    };
    const health: number[] = [];
    const other: number[] = [];
    await Promise.all([
      ...readers,
      probe('/health', null, health),
      probe(`/v1/subscriptions/${wellBehaved}/feed?after=start&limit=100`, subscriber, other),
    ]);
    process.stdout.write(
      [
        `Hostile template benchmark, ${new Date().toISOString()}`,
        `cores: ${os.cpus().length}, node ${process.version}`,
        '',
        renderTable(
          ['measure', 'p50 / p99 / max', 'target'],
          [
            [`GET /health, ${health.length} probes`, fmt(health), 'p99 <= 100 ms'],
            [
              `another subscription's feed page (100 items), ${other.length} reads`,
              fmt(other),
              '-',
            ],
            [
              `the hostile feed page (100 items), ${hostileReads.length} reads; items with a conversionError: ${conversionErrors}`,
              fmt(hostileReads),
              '-',
            ],
          ],
        ),
        '',
      ].join('\n'),
    );
  } finally {
    client.close();
    await hub.stop();
    await scratch.drop();
  }
};

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:templates failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
