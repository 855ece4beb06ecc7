import { Global, Module } from '@nestjs/common';
import pino from 'pino';
import { EVENT_STORE, EventStore } from '../../src/event-store/event-store.port';
import { ResolveHost, WEBHOOK_HOST_RESOLVER } from '../../src/subscriptions/webhook-destination';
import {
  activeSubscription,
  expectProblem,
  learningEvent,
  Parties,
  publishOne,
  registerProgram,
  setUpParties,
  sleep,
  waitFor,
} from '../support/clearinghouse';
import { testConfig } from '../support/hub-config';
import { ADMIN_TOKEN, freshStorage, HubStorage, RunningHub } from '../support/hub-harness';
import { WebhookReceiver } from '../support/webhook-receiver';
import { createCheckedHubApp } from '../support/openapi-conformance';

const TEMPLATES = { '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' } };
const PUBLIC = '93.184.216.34';

/**
 * The names the hub resolves in these tests, as a name server would answer them: what the map
 * holds at each lookup (the tests change answers to rebind a name), an error it holds, and for
 * other names that they do not exist.
 */
const zone = new Map<string, string[] | Error>();
const resolveInZone: ResolveHost = async (host) => {
  const answer = zone.get(host);
  if (answer instanceof Error) throw answer;
  if (!answer)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

@Global()
@Module({
  providers: [{ provide: WEBHOOK_HOST_RESOLVER, useValue: resolveInZone }],
  exports: [WEBHOOK_HOST_RESOLVER],
})
class ZoneModule {}

/** The hub as deployed: private networks not allowed; names resolved in `zone`. */
const startGuardedHub = async (storage: HubStorage['storage']): Promise<RunningHub> => {
  const config = testConfig(storage, { adminToken: ADMIN_TOKEN });
  config.clearinghouse.webhooks = {
    ...config.clearinghouse.webhooks,
    allowPrivateNetworks: false,
  };
  const app = await createCheckedHubApp(config, pino({ level: 'silent' }), [ZoneModule]);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    base,
    store: app.get<EventStore>(EVENT_STORE),
    call: async (token, method, path, body, headers = {}) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text ? JSON.parse(text) : null,
      };
    },
    close: () => app.close(),
  };
};

/** Webhook destinations with private networks not allowed (finding 9). */
describe('Webhook destinations that are not public', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let p: Parties;
  let receiver: WebhookReceiver;
  let port: number;
  let programs = 0;

  const program = async () => {
    const programId = `ssrf-${++programs}`;
    await registerProgram(hub, p.publisherAdmin, programId);
    return { subscriberProgram: p.subscriberProgram, publisherProgram: programId };
  };
  const subscribe = (parties: Awaited<ReturnType<typeof program>>, url: string, extra = {}) =>
    hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', {
      subscriberProgramId: parties.subscriberProgram,
      publisherProgramId: parties.publisherProgram,
      templates: TEMPLATES,
      webhook: { url },
      ...extra,
    });

  beforeAll(async () => {
    storage = await freshStorage('webhook-ssrf-e2e');
    hub = await startGuardedHub(storage.storage);
    p = await setUpParties(hub, 'ssrf');
    // A receiver on loopback: were a refused destination called, it would get the request.
    receiver = await WebhookReceiver.start(() => 204);
    port = Number(new URL(receiver.url).port);
  });

  afterAll(async () => {
    await hub?.close();
    await receiver?.close();
    await storage?.dispose();
  });

  beforeEach(() => zone.clear());

  it('refuses to save the URLs of finding 9, and names that resolve to loopback or private addresses', async () => {
    zone.set('loopback.hooks.test', ['127.0.0.1']);
    zone.set('private.hooks.test', ['10.20.30.40']);
    zone.set('mixed.hooks.test', [PUBLIC, '::1']);
    const parties = await program();
    const refused: Record<string, string> = {
      [`http://localhost.:${port}/hook`]: 'must not point at a loopback or private address',
      'http://ip6-localhost/hook': 'must not point at a loopback or private address',
      'http://[::7f00:1]/hook': 'must not point at a loopback or private address',
      'http://[64:ff9b::7f00:1]/hook': 'must not point at a loopback or private address',
      [`http://loopback.hooks.test:${port}/hook`]:
        'must not point at a loopback or private address: loopback.hooks.test resolves to one',
      'https://private.hooks.test/hook':
        'must not point at a loopback or private address: private.hooks.test resolves to one',
      'https://mixed.hooks.test/hook':
        'must not point at a loopback or private address: mixed.hooks.test resolves to one',
      'https://nowhere.hooks.test/hook':
        'must name a host that resolves: nowhere.hooks.test has no address',
    };
    for (const [url, message] of Object.entries(refused)) {
      const subscriptionId = `01SSRF${String(Object.keys(refused).indexOf(url)).padStart(20, '0')}`;
      const response = await subscribe(parties, url, { subscriptionId });
      expectProblem(response, 400, 'INVALID_WEBHOOK');
      expect({ url, issues: response.body.issues }).toEqual({
        url,
        issues: [{ field: 'webhook.url', message }],
      });
      // Nothing was saved.
      expect(
        (await hub.call(p.subscriberAdmin, 'GET', `/v1/subscriptions/${subscriptionId}`)).status,
      ).toBe(404);
    }

    // Nor may a saved subscription be changed to one.
    zone.set('public.hooks.test', [PUBLIC]);
    const saved = await subscribe(parties, 'https://public.hooks.test/hook', { enabled: false });
    expect(saved.status).toBe(201);
    for (const [url, message] of Object.entries(refused)) {
      const response = await hub.call(
        p.subscriberAdmin,
        'PATCH',
        `/v1/subscriptions/${saved.body.subscriptionId}`,
        { webhook: { url } },
      );
      expectProblem(response, 400, 'INVALID_WEBHOOK');
      expect(response.body.issues).toEqual([{ field: 'webhook.url', message }]);
    }
    const read = await hub.call(
      p.subscriberAdmin,
      'GET',
      `/v1/subscriptions/${saved.body.subscriptionId}`,
    );
    expect(read.body.webhook.url).toBe('https://public.hooks.test/hook');
    expect(receiver.requests).toEqual([]);
  });

  it('saves a name whose every address is public, and one whose resolver is failing', async () => {
    zone.set('public.hooks.test', [PUBLIC, '2606:2800:220:1:248:1893:25c8:1946']);
    zone.set(
      'flaky.hooks.test',
      Object.assign(new Error('getaddrinfo EAI_AGAIN flaky.hooks.test'), { code: 'EAI_AGAIN' }),
    );
    const parties = await program();
    // Paused and never published to: nothing is sent to these (real, public) addresses. A
    // failing resolver does not stop the save: every connection resolves and checks again.
    for (const url of [
      'https://public.hooks.test/hook',
      `https://${PUBLIC}/hook`,
      'https://flaky.hooks.test/hook',
    ]) {
      const response = await subscribe(parties, url, { enabled: false });
      expect({ url, status: response.status }).toEqual({ url, status: 201 });
      expect(response.body.webhook.url).toBe(url);
    }
  });

  it('refuses at delivery a name that has come to resolve to a loopback address, and sends nothing', async () => {
    zone.set('rebinding.hooks.test', [PUBLIC]);
    const parties = await program();
    const created = await activeSubscription(hub, parties, TEMPLATES, {
      webhook: { url: `http://rebinding.hooks.test:${port}/hook`, maxAttempts: 2 },
    });
    const id: string = created.subscriptionId;
    // Checked when saved; now it answers the receiver's address.
    zone.set('rebinding.hooks.test', ['127.0.0.1']);
    await publishOne(hub, p.publisher, learningEvent(parties.publisherProgram, 'rebound'));
    const attempts = await waitFor('both attempts', async () => {
      const response = await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/deliveries`);
      const items = response.body.items as any[];
      return items.length === 2 && { items, webhook: response.body.webhook };
    });
    expect(attempts.items.map((attempt) => [attempt.outcome, attempt.error])).toEqual([
      [
        'dead-lettered',
        'the request failed: rebinding.hooks.test resolves to an address that is not public',
      ],
      [
        'failed',
        'the request failed: rebinding.hooks.test resolves to an address that is not public',
      ],
    ]);
    expect(attempts.webhook).toMatchObject({ status: 'suspended', attempts: 2 });
    await sleep(200);
    expect(receiver.requests).toEqual([]);
  });
});
