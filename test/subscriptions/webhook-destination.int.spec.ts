import type { LookupAddress } from 'node:dns';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Agent, fetch } from 'undici';
import {
  destinationRefusal,
  publicOnlyLookup,
  ResolveHost,
  webhookAgent,
  WebhookDestinations,
} from '../../src/subscriptions/webhook-destination';

/** A receiver on every loopback address that notes which local address each request reached. */
const startReceiver = async () => {
  const reached: string[] = [];
  const server: Server = createServer((request, response) => {
    reached.push(request.socket.localAddress ?? '');
    response.setHeader('connection', 'close');
    response.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return { server, reached, port: (server.address() as AddressInfo).port };
};

/** A name server under the test's control: it answers what `answer` holds at each lookup. */
const controlledResolver = (initial: string) => {
  const state = { answer: initial, lookups: 0 };
  const resolve: ResolveHost = async () => {
    state.lookups++;
    return [{ address: state.answer, family: 4 }];
  };
  return { state, resolve };
};

const lookupOnce = (
  lookup: ReturnType<typeof publicOnlyLookup>,
  options: { all?: boolean; family?: number },
) =>
  new Promise<{ error: Error | null; address: string | LookupAddress[]; family?: number }>(
    (resolve) =>
      lookup('receiver.example', options, (error, address, family) =>
        resolve({ error, address, family }),
      ),
  );

describe('webhook destinations', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const agents: Agent[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await new Promise((resolve) => receiver.server.close(resolve));
  });
  beforeEach(() => {
    receiver.reached.length = 0;
  });

  it('refuses a name that resolves to loopback at connection time, and sends nothing', async () => {
    const { state, resolve } = controlledResolver('127.0.0.1');
    const agent = webhookAgent(false, resolve);
    agents.push(agent);
    const failure = await fetch(`http://receiver.example:${receiver.port}/hook`, {
      method: 'POST',
      body: '{}',
      dispatcher: agent,
    }).then(
      () => null,
      (error: { cause?: Error }) => error.cause?.message,
    );
    expect(failure).toBe('receiver.example resolves to an address that is not public');
    expect(state.lookups).toBe(1);
    expect(receiver.reached).toEqual([]);
  });

  it('connects to the address it checked, so a name that changes its answer cannot slip past', async () => {
    // As publicOnlyLookup's policy, but with 127.0.0.2 standing in for a public address.
    const { state, resolve } = controlledResolver('127.0.0.2');
    const agent = new Agent({
      connect: { lookup: publicOnlyLookup(resolve, (address) => address !== '127.0.0.2') },
    });
    agents.push(agent);
    const post = () =>
      fetch(`http://receiver.example:${receiver.port}/hook`, {
        method: 'POST',
        body: '{}',
        dispatcher: agent,
      }).then(
        async (response) => `${response.status} ${await response.text()}`,
        (error: { cause?: Error }) => error.cause?.message,
      );

    expect(await post()).toBe('200 ok');
    expect(receiver.reached).toEqual(['127.0.0.2']);
    // Rebinding: the next connection's lookup answers a refused address.
    state.answer = '127.0.0.1';
    expect(await post()).toBe('receiver.example resolves to an address that is not public');
    expect(receiver.reached).toEqual(['127.0.0.2']);
    expect(state.lookups).toBe(2);
  });

  it('answers lookups in the form the connection asked for, and refuses mixed answers', async () => {
    const answers: LookupAddress[] = [
      { address: '2606:2800:220:1::10', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ];
    const lookup = publicOnlyLookup(async () => answers);
    expect(await lookupOnce(lookup, {})).toEqual({
      error: null,
      address: '2606:2800:220:1::10',
      family: 6,
    });
    expect(await lookupOnce(lookup, { family: 4 })).toEqual({
      error: null,
      address: '93.184.216.34',
      family: 4,
    });
    expect(await lookupOnce(lookup, { all: true })).toEqual({ error: null, address: answers });

    const mixed = publicOnlyLookup(async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ]);
    expect((await lookupOnce(mixed, { all: true })).error?.message).toBe(
      'receiver.example resolves to an address that is not public',
    );
    const unresolvable = publicOnlyLookup(async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND receiver.example'), {
        code: 'ENOTFOUND',
      });
    });
    expect((await lookupOnce(unresolvable, {})).error?.message).toMatch(/ENOTFOUND/);
    const onlySix = publicOnlyLookup(async () => [{ address: '2606:2800:220:1::10', family: 6 }]);
    expect((await lookupOnce(onlySix, { family: 4 })).error?.message).toBe(
      'receiver.example could not be resolved',
    );
  });

  it('refuses names whose answer holds any address that is not public, before connecting', async () => {
    for (const address of [
      '10.1.2.3',
      '192.168.0.7',
      '169.254.169.254',
      '100.64.0.1',
      '::1',
      'fd00::7',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::7f00:1',
      '64:ff9b::7f00:1',
      '64:ff9b:1::a00:1',
      '2002:a00:1::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      'ff02::1',
      '0.0.0.0',
      '2001:db8::1',
    ]) {
      const lookup = publicOnlyLookup(async () => [
        { address: '93.184.216.34', family: 4 },
        { address, family: address.includes(':') ? 6 : 4 },
      ]);
      expect({ address, error: (await lookupOnce(lookup, { all: true })).error?.message }).toEqual({
        address,
        error: 'receiver.example resolves to an address that is not public',
      });
    }
  });

  it('checks address literals and special names before connecting, as they are not looked up', () => {
    const notPublic = 'the destination address is not public';
    expect(destinationRefusal('http://127.0.0.1:8080/hook', false)).toBe(notPublic);
    expect(destinationRefusal('http://[::ffff:10.0.0.1]/hook', false)).toBe(notPublic);
    expect(destinationRefusal('http://[::7f00:1]/hook', false)).toBe(notPublic);
    expect(destinationRefusal('http://[64:ff9b::7f00:1]/hook', false)).toBe(notPublic);
    expect(destinationRefusal('http://localhost.:8080/hook', false)).toBe(
      'the destination names this machine or a local network',
    );
    expect(destinationRefusal('http://ip6-localhost/hook', false)).toBe(
      'the destination names this machine or a local network',
    );
    expect(destinationRefusal('https://93.184.216.34/hook', false)).toBeNull();
    expect(destinationRefusal('https://receiver.example/hook', false)).toBeNull();
    expect(destinationRefusal('http://127.0.0.1:8080/hook', true)).toBeNull();
  });

  it('lets private networks through when they are allowed', async () => {
    const agent = webhookAgent(true);
    agents.push(agent);
    const response = await fetch(`http://127.0.0.1:${receiver.port}/hook`, {
      method: 'POST',
      body: '{}',
      dispatcher: agent,
    });
    expect(response.status).toBe(200);
    await response.text();
    expect(receiver.reached).toEqual(['127.0.0.1']);
  });

  describe('as a webhook URL is saved', () => {
    const field = 'webhook.url';
    /** A name server whose answers the test sets per name; unknown names do not exist. */
    const zone = (answers: Record<string, string[] | Error>): ResolveHost => {
      return async (host) => {
        const answer = answers[host];
        if (answer instanceof Error) throw answer;
        if (!answer)
          throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      };
    };
    const destinations = new WebhookDestinations(
      false,
      zone({
        'public.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
        'loopback.example': ['127.0.0.1'],
        'private.example': ['10.20.30.40'],
        'mixed.example': ['93.184.216.34', '192.168.1.20'],
        'nat64.example': ['64:ff9b::a14:1e28'],
        'empty.example': [],
        'flaky.example': Object.assign(new Error('getaddrinfo EAI_AGAIN flaky.example'), {
          code: 'EAI_AGAIN',
        }),
      }),
    );

    it('accepts a name whose every address is public', async () => {
      expect(await destinations.issuesOf('https://public.example/hook')).toEqual([]);
      expect(await destinations.issuesOf('https://93.184.216.34/hook')).toEqual([]);
    });

    it.each(['loopback.example', 'private.example', 'mixed.example', 'nat64.example'])(
      'refuses %s, which resolves to an address that is not public, without naming it',
      async (host) => {
        const issues = await destinations.issuesOf(`https://${host}:8443/hook`);
        expect(issues).toEqual([
          {
            field,
            message: `must not point at a loopback or private address: ${host} resolves to one`,
          },
        ]);
        expect(JSON.stringify(issues)).not.toMatch(/10\.20|192\.168|127\.0|64:ff9b/);
      },
    );

    it('refuses a name that has no address, and lets one through whose resolver fails', async () => {
      for (const host of ['nowhere.example', 'empty.example'])
        expect(await destinations.issuesOf(`https://${host}/hook`)).toEqual([
          { field, message: `must name a host that resolves: ${host} has no address` },
        ]);
      // Every connection looks it up again (and checks it) anyway.
      expect(await destinations.issuesOf('https://flaky.example/hook')).toEqual([]);
    });

    it('refuses literals and special names without a lookup, and allows all with private networks', async () => {
      let lookups = 0;
      const counting = new WebhookDestinations(false, async () => {
        lookups++;
        return [{ address: '93.184.216.34', family: 4 }];
      });
      for (const url of ['http://localhost.:8080/hook', 'http://[::7f00:1]/hook'])
        expect(await counting.issuesOf(url)).toEqual([
          { field, message: 'must not point at a loopback or private address' },
        ]);
      expect(lookups).toBe(0);
      const allowing = new WebhookDestinations(true, zone({}));
      expect(await allowing.issuesOf('http://loopback.example/hook')).toEqual([]);
      expect(await allowing.issuesOf('http://localhost:8080/hook')).toEqual([]);
      expect(await allowing.issuesOf('ftp://public.example/hook')).toEqual([
        { field, message: 'must use http or https' },
      ]);
    });
  });
});
