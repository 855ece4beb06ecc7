import { createServer } from 'node:net';
import {
  activeSubscription,
  expectProblem,
  learningEvent,
  Parties,
  publishOne,
  setUpParties,
  waitFor,
} from '../support/clearinghouse';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  startHub,
} from '../support/hub-harness';
import { WebhookReceiver } from '../support/webhook-receiver';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** The value of one sample (`name{labels} value`) in the Prometheus text, or null. */
const sample = (text: string, name: string, labels = ''): number | null => {
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.slice(prefix.length)) : null;
};

/** GET /metrics: Prometheus text behind a METRICS (or system-admin) credential, or its own port. */
describe('metrics', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let metricsPort: number;
  let scraper: string;
  let p: Parties;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    storage = await freshStorage('metrics');
    metricsPort = await freePort();
    hub = await startHub(storage.storage, { metricsPort, metricsHost: '127.0.0.1' });
    scraper = await issueKey(hub, 'prometheus', 'system', ['METRICS']);
    p = await setUpParties(hub, 'metrics');
    receiver = await WebhookReceiver.start();
  });

  afterAll(async () => {
    await receiver.close();
    await hub.close();
    await storage.dispose();
  });

  const scrape = async (token: string | null = scraper) => {
    const response = await hub.call(token, 'GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body as string;
  };

  it('needs a credential with the METRICS or SYSTEM_ADMIN role', async () => {
    expectProblem(await hub.call(null, 'GET', '/metrics'), 401);
    const learner = await issueKey(hub, 'lea', 'org-m', ['LEARNER', 'ORG_ADMIN']);
    expectProblem(await hub.call(learner, 'GET', '/metrics'), 403, 'MISSING_ROLE');
    await scrape(ADMIN_TOKEN);
    // Metrics are the whole hub's: an organisation's admin cannot mint a key for them.
    const orgAdmin = await issueKey(hub, 'omar', 'org-m', ['ORG_ADMIN']);
    const refused = await hub.call(orgAdmin, 'POST', '/v1/admin/api-keys', {
      principalId: 'scraper',
      organisationId: 'org-m',
      roles: ['METRICS'],
    });
    expectProblem(refused, 403, 'ROLE_NOT_GRANTABLE');
  });

  it('reports request latency per route pattern, appends, projections, streams and webhooks', async () => {
    const subscription = await activeSubscription(
      hub,
      p,
      { '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' } },
      { webhook: { url: receiver.url } },
    );
    await publishOne(hub, p.publisher, learningEvent(p.publisherProgram, 'metric-1'));
    const feed = await hub.call(
      p.subscriber,
      'GET',
      `/v1/subscriptions/${subscription.subscriptionId}/feed?after=start`,
    );
    expect(feed.status).toBe(200);
    await waitFor('the webhook delivery', () => receiver.requests.length > 0);
    const text = await waitFor('a delivered attempt in the metrics', async () => {
      const scraped = await scrape();
      return (sample(scraped, 'hub_webhook_attempts_total', 'outcome="delivered"') ?? 0) >= 1
        ? scraped
        : undefined;
    });
    expect(
      sample(
        text,
        'hub_http_request_duration_seconds_count',
        'method="POST",route="/v1/events",status="201"',
      ),
    ).toBeGreaterThanOrEqual(1);
    // Ids never become labels: the route is the pattern.
    expect(text).toContain('route="/v1/subscriptions/:subscriptionId/feed"');
    expect(text).not.toContain(subscription.subscriptionId);
    expect(sample(text, 'hub_events_appended_total')).toBeGreaterThan(0);
    for (const projection of ['batch-status', 'learning-events', 'subscriptions']) {
      expect(
        sample(text, 'hub_projection_lag_events', `projection="${projection}"`),
      ).not.toBeNull();
      expect(
        sample(text, 'hub_projection_lag_seconds', `projection="${projection}"`),
      ).not.toBeNull();
      expect(sample(text, 'hub_projection_failing', `projection="${projection}"`)).toBe(0);
    }
    expect(text).toContain('# TYPE hub_projection_failures_total counter');
    expect(text).toContain('# TYPE hub_webhook_dead_letters_total counter');
    expect(sample(text, 'hub_live_stream_clients')).toBe(0);
    expect(sample(text, 'hub_log_subscriptions')).toBeGreaterThan(0);
    expect(text).toContain('hub_process_resident_memory_bytes');
  });

  it('serves the same on HUB_METRICS_PORT without a credential', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('# TYPE hub_http_request_duration_seconds histogram');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/v1/batches`)).status).toBe(404);
  });
});
