import type { LookupAddress } from 'node:dns';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Agent, fetch } from 'undici';
import {
  addressRefusal,
  publicOnlyLookup,
  ResolveHost,
  webhookAgent,
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
      { address: '2001:db8::10', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ];
    const lookup = publicOnlyLookup(async () => answers);
    expect(await lookupOnce(lookup, {})).toEqual({
      error: null,
      address: '2001:db8::10',
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
    const onlySix = publicOnlyLookup(async () => [{ address: '2001:db8::10', family: 6 }]);
    expect((await lookupOnce(onlySix, { family: 4 })).error?.message).toBe(
      'receiver.example could not be resolved',
    );
  });

  it('checks address literals before connecting, as they are not looked up', () => {
    expect(addressRefusal('http://127.0.0.1:8080/hook', false)).toBe(
      'the destination address is not public',
    );
    expect(addressRefusal('http://[::ffff:10.0.0.1]/hook', false)).toBe(
      'the destination address is not public',
    );
    expect(addressRefusal('https://93.184.216.34/hook', false)).toBeNull();
    expect(addressRefusal('https://receiver.example/hook', false)).toBeNull();
    expect(addressRefusal('http://127.0.0.1:8080/hook', true)).toBeNull();
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
});
