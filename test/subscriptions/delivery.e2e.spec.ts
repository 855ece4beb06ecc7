import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  activeSubscription,
  expectProblem,
  learningEvent,
  Parties,
  publishBatch,
  publishOne,
  readWholeFeed,
  registerProgram,
  setUpParties,
  sleep,
  waitFor,
} from '../support/clearinghouse';
import { freshStorage, HubStorage, RunningHub, startHub } from '../support/hub-harness';
import { SseReader } from '../support/sse-reader';
import { ReceivedRequest, WebhookReceiver } from '../support/webhook-receiver';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TEMPLATES = {
  EXAM: { action: 'ignore' },
  '*_default': {
    action: 'import',
    template: '{"learner": "{{PublisherParticipantId}}", "id": "{{PublisherEventId}}"}',
  },
};

/** The Standard Webhooks signature, computed here from the specification, not the hub's code. */
const sign = (secret: string, id: string, timestamp: string, body: string): string => {
  expect(secret.startsWith('whsec_')).toBe(true);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
};

const header = (request: ReceivedRequest, name: string): string => {
  const value = request.headers[name];
  if (typeof value !== 'string') throw new Error(`no ${name} header`);
  return value;
};

const signaturesOf = (request: ReceivedRequest): string[] =>
  header(request, 'webhook-signature').split(' ');

const signedBy = (request: ReceivedRequest, secret: string): boolean =>
  signaturesOf(request).includes(
    sign(
      secret,
      header(request, 'webhook-id'),
      header(request, 'webhook-timestamp'),
      request.rawBody,
    ),
  );

const eventIdsOf = (requests: ReceivedRequest[]): string[] =>
  requests.flatMap((request) => (request.body.items as any[]).map((item) => item.eventId));

/** A receiver that holds its first request open until `failFirst`, and accepts the others. */
const holdingFirstRequest = async () => {
  const bodies: string[] = [];
  let answerFirst: (() => void) | null = null;
  let arrived!: () => void;
  const firstArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      if (bodies.length > 1) return void response.writeHead(204).end();
      answerFirst = () => void response.writeHead(500).end();
      arrived();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    firstArrived,
    failFirst: () => answerFirst?.(),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** Live delivery: Server-Sent Events and signed webhooks that are retried and dead-lettered. */
describe('Subscription delivery', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let p: Parties;
  const receivers: WebhookReceiver[] = [];
  const streams: SseReader[] = [];

  const program = async (name: string) => {
    const programId = `dlv-${name}`;
    await registerProgram(hub, p.publisherAdmin, programId);
    return { subscriberProgram: p.subscriberProgram, publisherProgram: programId };
  };
  const receiver = async (...args: Parameters<typeof WebhookReceiver.start>) => {
    const started = await WebhookReceiver.start(...args);
    receivers.push(started);
    return started;
  };
  const connect = async (id: string, query: string, headers: Record<string, string> = {}) => {
    const reader = await SseReader.open(`${hub.base}/v1/subscriptions/${id}/stream${query}`, {
      authorization: `Bearer ${p.subscriber}`,
      ...headers,
    });
    streams.push(reader);
    return reader;
  };
  /** Delivery attempts as the hub lists them: newest first. */
  const listedAttempts = async (id: string, query = '') => {
    const response = await hub.call(
      p.subscriber,
      'GET',
      `/v1/subscriptions/${id}/deliveries?limit=1000${query}`,
    );
    expect(response.status).toBe(200);
    return response.body.items as any[];
  };
  /** Delivery attempts as they happened (by attemptId, whatever order the list has). */
  const deliveries = async (id: string, query = '') =>
    (await listedAttempts(id, query)).sort((a, b) =>
      BigInt(a.attemptId) < BigInt(b.attemptId) ? -1 : 1,
    );
  const deadLetters = async (id: string, query = '') => {
    const response = await hub.call(
      p.subscriber,
      'GET',
      `/v1/subscriptions/${id}/dead-letters${query}`,
    );
    expect(response.status).toBe(200);
    return response.body.items as any[];
  };

  beforeAll(async () => {
    storage = await freshStorage('delivery-e2e');
    hub = await startHub(storage.storage);
    p = await setUpParties(hub, 'dlv');
  });

  afterAll(async () => {
    await Promise.all(streams.map((stream) => stream.close()));
    await hub?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await storage?.dispose();
  });

  describe('Server-Sent Events', () => {
    it('streams live events, resumes after Last-Event-ID without repeats, and ends when paused', async () => {
      const parties = await program('SSE');
      const programId = parties.publisherProgram;
      const id = (await activeSubscription(hub, parties, TEMPLATES)).subscriptionId;
      const publish = (key: string, category: string | null = 'COURSE') =>
        publishOne(hub, p.publisher, learningEvent(programId, key, { category }));
      const before = await publish('sse-0');

      const first = await connect(id, '?after=start');
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await first.waitFor('the event published before connecting', (r) => r.events.length === 1);
      expect(first.messages[0]).toEqual({ retry: 2000 });

      const live = [await publish('sse-1'), await publish('sse-2', null)];
      await first.waitFor('the live events', (r) => r.events.length === 3);
      const corrected = learningEvent(programId, 'sse-1', { data: { corrected: true } });
      expect((await hub.call(p.publisher, 'PUT', `/v1/events/${live[0]}`, corrected)).status).toBe(
        200,
      );
      await first.waitFor('the amendment', (r) => r.events.length === 4);
      // An ignored event moves the stream's position with an id-only message.
      await publish('sse-exam', 'EXAM');
      await first.waitFor('an id-only message', (r) => r.messages.at(-1)?.data === undefined);

      const received = first.events.map((message) => {
        const item = JSON.parse(message.data!);
        expect(message.id).toBe(item.cursor);
        expect(message.event).toBe(item.kind);
        return [item.kind, item.eventId];
      });
      expect(received).toEqual([
        ['published', before],
        ['published', live[0]],
        ['published', live[1]],
        ['amended', live[0]],
      ]);
      expect(JSON.parse(first.events[1]!.data!)).toMatchObject({
        template: '*_default',
        recordedUtc: expect.stringMatching(ISO),
        payload: { learner: 'learner-1', id: 'sse-1' },
      });
      const idOnly = first.messages.at(-1)!;
      expect(Object.keys(idOnly)).toEqual(['id']);
      expect(idOnly.id).not.toBe(first.events.at(-1)!.id);

      const lastEventId = first.lastEventId!;
      expect(lastEventId).toBe(idOnly.id);
      await first.close();

      const missed = [await publish('sse-3'), await publish('sse-exam-2', 'EXAM')];
      const more = await publish('sse-4', null);
      // Last-Event-ID wins over after=start.
      const second = await connect(id, '?after=start', { 'last-event-id': lastEventId });
      expect(second.status).toBe(200);
      await second.waitFor('the events since the last id', (r) =>
        r.events.some((message) => message.data!.includes(more)),
      );
      const live2 = await publish('sse-5');
      await second.waitFor('a live event after resuming', (r) => r.events.length >= 3);
      await sleep(200);
      expect(second.events.map((message) => JSON.parse(message.data!).eventId)).toEqual([
        missed[0],
        more,
        live2,
      ]);

      const paused = await hub.call(p.subscriberAdmin, 'POST', `/v1/subscriptions/${id}/pause`);
      expect(paused.status).toBe(200);
      await second.waitFor('the end of the stream', (r) => r.isClosed, 5_000);
      expect(second.messages.at(-1)).toEqual({
        event: 'end',
        data: JSON.stringify({ reason: 'SUBSCRIPTION_PAUSED' }),
      });
      await second.closed;

      // Paused, it cannot be opened again.
      expectProblem(
        await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/stream`),
        409,
        'SUBSCRIPTION_PAUSED',
      );
    });

    it('refuses a Last-Event-ID it did not hand out (400 INVALID_CURSOR)', async () => {
      const parties = await program('SSEBAD');
      const id = (await activeSubscription(hub, parties, TEMPLATES)).subscriptionId;
      expectProblem(
        await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/stream`, undefined, {
          'last-event-id': 'not-a-cursor',
        }),
        400,
        'INVALID_CURSOR',
      );
    });
  });

  describe('webhook signatures', () => {
    it('signs each delivery with every active secret, through rotation and revocation', async () => {
      const hook = await receiver(() => 204);
      const parties = await program('SIG');
      const programId = parties.publisherProgram;
      const created = await activeSubscription(hub, parties, TEMPLATES, {
        webhook: { url: hook.url },
      });
      const id: string = created.subscriptionId;
      expect(created.webhookSecret).toEqual({
        secretId: expect.any(String),
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
      });
      const oldSecret: { secretId: string; secret: string } = created.webhookSecret;
      expect(created.webhook).toEqual({
        url: hook.url,
        maxAttempts: null,
        secretIds: [oldSecret.secretId],
      });
      // The secret is shown once.
      const read = await hub.call(p.subscriberAdmin, 'GET', `/v1/subscriptions/${id}`);
      expect(read.body.webhookSecret).toBeUndefined();
      expect(JSON.stringify(read.body)).not.toContain(oldSecret.secret);

      const deliveryOf = async (eventId: string) =>
        waitFor(`the delivery of ${eventId}`, () =>
          hook.requests.find((request) => eventIdsOf([request]).includes(eventId)),
        );

      const e1 = await publishOne(hub, p.publisher, learningEvent(programId, 'sig-1'));
      const first = await deliveryOf(e1);
      expect(first.method).toBe('POST');
      expect(first.headers['content-type']).toMatch(/^application\/json/);
      const webhookId = header(first, 'webhook-id');
      const timestamp = header(first, 'webhook-timestamp');
      expect(timestamp).toMatch(/^\d+$/);
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
      expect(signaturesOf(first)).toEqual([
        sign(oldSecret.secret, webhookId, timestamp, first.rawBody),
      ]);
      expect(first.body).toEqual({
        subscriptionId: id,
        deliveryId: webhookId,
        items: [
          expect.objectContaining({
            kind: 'published',
            eventId: e1,
            payload: { learner: 'learner-1', id: 'sig-1' },
          }),
        ],
      });
      // A changed body or another secret does not verify.
      expect(
        signaturesOf(first).includes(
          sign(oldSecret.secret, webhookId, timestamp, first.rawBody.replace('sig-1', 'sig-X')),
        ),
      ).toBe(false);

      const rotated = await hub.call(
        p.subscriberAdmin,
        'POST',
        `/v1/subscriptions/${id}/webhook/secrets`,
      );
      expect(rotated.status).toBe(201);
      const newSecret: { secretId: string; secret: string } = rotated.body;
      expect(newSecret.secret).toMatch(/^whsec_/);
      expect(newSecret.secret).not.toBe(oldSecret.secret);
      const afterRotation = await hub.call(p.subscriberAdmin, 'GET', `/v1/subscriptions/${id}`);
      expect(afterRotation.body.webhook.secretIds).toEqual([
        oldSecret.secretId,
        newSecret.secretId,
      ]);

      const e2 = await publishOne(hub, p.publisher, learningEvent(programId, 'sig-2'));
      const second = await deliveryOf(e2);
      expect(signaturesOf(second)).toHaveLength(2);
      expect(signedBy(second, oldSecret.secret)).toBe(true);
      expect(signedBy(second, newSecret.secret)).toBe(true);

      const revoked = await hub.call(
        p.subscriberAdmin,
        'DELETE',
        `/v1/subscriptions/${id}/webhook/secrets/${oldSecret.secretId}`,
      );
      expect(revoked.status).toBe(204);
      const e3 = await publishOne(hub, p.publisher, learningEvent(programId, 'sig-3'));
      const third = await deliveryOf(e3);
      expect(signaturesOf(third)).toHaveLength(1);
      expect(signedBy(third, newSecret.secret)).toBe(true);
      expect(signedBy(third, oldSecret.secret)).toBe(false);

      expectProblem(
        await hub.call(
          p.subscriberAdmin,
          'DELETE',
          `/v1/subscriptions/${id}/webhook/secrets/${newSecret.secretId}`,
        ),
        409,
        'LAST_WEBHOOK_SECRET',
      );
      // Every delivery went through once, in order.
      expect(eventIdsOf(hook.accepted)).toEqual([e1, e2, e3]);
    });
  });

  describe('retries', () => {
    it('retries while the receiver fails, then delivers everything in order, with the attempts visible', async () => {
      // Enough attempts for attempt ids to reach two digits.
      const FAILURES = 8;
      const hook = await receiver((_, index) => (index < FAILURES ? 500 : 204));
      const parties = await program('RETRY');
      const programId = parties.publisherProgram;
      const id = (
        await activeSubscription(hub, parties, TEMPLATES, {
          webhook: { url: hook.url, maxAttempts: 20 },
        })
      ).subscriptionId;

      // 30 events in 5 batches, published while the receiver fails and after it recovers.
      const batches: string[][] = [];
      for (let b = 0; b < 5; b++) {
        batches.push(
          await publishBatch(
            hub,
            p.publisher,
            Array.from({ length: 6 }, (_, i) => learningEvent(programId, `retry-${b}-${i}`)),
          ),
        );
        await sleep(150);
      }
      const published = batches.flat();
      await waitFor('every event delivered', () =>
        published.every((eventId) => eventIdsOf(hook.accepted).includes(eventId)),
      );

      // Nothing lost, nothing twice, in the hub's order; batch after batch.
      const delivered = eventIdsOf(hook.accepted);
      const hubOrder = (await readWholeFeed(hub, p.subscriber, id)).items.map(
        (item) => item.eventId,
      );
      expect(delivered).toEqual(hubOrder);
      expect(new Set(delivered)).toEqual(new Set(published));
      expect(delivered).toHaveLength(30);
      const batchOf = (eventId: string) => batches.findIndex((batch) => batch.includes(eventId));
      const batchIndexes = delivered.map(batchOf);
      expect([...batchIndexes].sort((a, b) => a - b)).toEqual(batchIndexes);

      // The failed requests were one delivery, retried with the same id and body.
      const failed = hook.requests.slice(0, FAILURES);
      expect(failed.map((request) => request.status)).toEqual(Array(FAILURES).fill(500));
      const firstAccepted = hook.requests[FAILURES]!;
      expect(firstAccepted.status).toBe(204);
      const retriedId = header(firstAccepted, 'webhook-id');
      for (const request of failed) {
        expect(header(request, 'webhook-id')).toBe(retriedId);
        expect(request.rawBody).toBe(firstAccepted.rawBody);
      }
      // Backing off: the retries were spread out, not fired at once.
      expect(firstAccepted.receivedAt - failed[0]!.receivedAt).toBeGreaterThanOrEqual(200);

      const attempts = await waitFor('every attempt recorded', async () => {
        const all = await deliveries(id);
        return all.filter((a) => a.outcome === 'delivered').length === hook.accepted.length && all;
      });
      const ofFirst = attempts.filter((attempt) => attempt.deliveryId === retriedId);
      expect(ofFirst.map((a) => [a.attempt, a.outcome, a.httpStatus])).toEqual([
        ...Array.from({ length: FAILURES }, (_, i) => [i + 1, 'failed', 500]),
        [FAILURES + 1, 'delivered', 204],
      ]);
      for (const attempt of ofFirst.slice(0, FAILURES)) {
        expect(attempt.error).toEqual(expect.stringContaining('500'));
        expect(attempt.nextAttemptAt).toMatch(ISO);
        expect(Date.parse(attempt.nextAttemptAt)).toBeGreaterThan(Date.parse(attempt.attemptedAt));
      }
      expect(ofFirst.at(-1)).toMatchObject({
        nextAttemptAt: null,
        error: null,
        itemCount: (firstAccepted.body.items as any[]).length,
        firstCursor: firstAccepted.body.items[0].cursor,
        lastCursor: (firstAccepted.body.items as any[]).at(-1).cursor,
        attemptedAt: expect.stringMatching(ISO),
        durationMs: expect.any(Number),
        attemptId: expect.any(String),
      });
      const deliveredAttempts = attempts.filter((attempt) => attempt.outcome === 'delivered');
      expect(deliveredAttempts.map((attempt) => attempt.deliveryId)).toEqual(
        hook.accepted.map((request) => header(request, 'webhook-id')),
      );
      expect(deliveredAttempts.reduce((sum, attempt) => sum + attempt.itemCount, 0)).toBe(30);
      expect(await deliveries(id, '&outcome=failed')).toHaveLength(FAILURES);
      expect(await deadLetters(id)).toEqual([]);
      expectProblem(
        await hub.call(p.publisherAdmin, 'GET', `/v1/subscriptions/${id}/deliveries`),
        403,
        'SUBSCRIPTION_NOT_YOURS',
      );

      // Paging through the attempts a few at a time gives each once, newest first.
      const paged: any[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: any } = await hub.call(
          p.subscriber,
          'GET',
          `/v1/subscriptions/${id}/deliveries?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`,
        );
        expect(page.status).toBe(200);
        paged.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor !== null && paged.length <= attempts.length);
      const newestFirst = [...attempts].reverse().map((attempt) => attempt.attemptId);
      expect((await listedAttempts(id)).map((attempt) => attempt.attemptId)).toEqual(newestFirst);
      expect(paged.map((attempt) => attempt.attemptId)).toEqual(newestFirst);
    });
  });

  describe('dead letters', () => {
    it('dead-letters a batch after maxAttempts, waits there, and resumes with it on request', async () => {
      let failingId: string | null = null;
      let healed = false;
      const hook = await receiver((request) => {
        const webhookId = request.headers['webhook-id'] as string;
        failingId ??= webhookId;
        return webhookId === failingId && !healed ? 500 : 204;
      });
      const parties = await program('DEAD');
      const programId = parties.publisherProgram;
      const created = await activeSubscription(hub, parties, TEMPLATES, {
        webhook: { url: hook.url, maxAttempts: 2 },
      });
      const id: string = created.subscriptionId;
      expect(created.webhook.maxAttempts).toBe(2);

      const lost = await publishBatch(
        hub,
        p.publisher,
        [1, 2, 3].map((n) => learningEvent(programId, `dead-${n}`)),
      );
      const [letter] = await waitFor('the dead letter', async () => {
        const letters = await deadLetters(id);
        return letters.length > 0 && letters;
      });
      expect(hook.requests.map((request) => request.status)).toEqual([500, 500]);
      expect(letter).toEqual({
        deliveryId: failingId,
        status: 'dead',
        attempts: 2,
        lastError: expect.stringContaining('500'),
        lastHttpStatus: 500,
        deadAt: expect.stringMatching(ISO),
        redeliveryRequestedAt: null,
        redeliveredAt: null,
        items: expect.any(Array),
      });
      expect(new Set((letter.items as any[]).map((item: any) => item.eventId))).toEqual(
        new Set(lost),
      );
      expect(letter.items).toEqual(hook.requests[0]!.body.items);

      // Delivery waits at the dead letter: nothing newer goes out before it (a change of
      // behaviour: it used to carry on, so older events came after newer ones).
      const later = [
        await publishOne(hub, p.publisher, learningEvent(programId, 'dead-4')),
        await publishOne(hub, p.publisher, learningEvent(programId, 'dead-5')),
      ];
      await sleep(500);
      expect(hook.requests).toHaveLength(2);
      const suspended = await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/deliveries`);
      expect(suspended.body.webhook).toEqual({
        status: 'suspended',
        deliveryId: failingId,
        attempts: 2,
        nextAttemptAt: null,
        lastError: expect.stringContaining('500'),
        lastHttpStatus: 500,
        since: letter.deadAt,
      });
      const attempts = await deliveries(id);
      expect(
        attempts
          .filter((attempt) => attempt.deliveryId === failingId)
          .map((a) => [a.attempt, a.outcome, a.httpStatus]),
      ).toEqual([
        [1, 'failed', 500],
        [2, 'dead-lettered', 500],
      ]);

      healed = true;
      const requested = await hub.call(
        p.subscriber,
        'POST',
        `/v1/subscriptions/${id}/dead-letters/${failingId}/redeliver`,
      );
      expect(requested.status).toBe(202);
      expect(requested.body).toEqual({ queued: 1 });
      const again = await waitFor('the redelivery', () =>
        hook.accepted.find((request) => header(request, 'webhook-id') === failingId),
      );
      expect(again.body).toEqual({
        subscriptionId: id,
        deliveryId: failingId,
        items: letter.items,
      });
      expect(signedBy(again, created.webhookSecret.secret)).toBe(true);

      const settled = await waitFor('the dead letter redelivered', async () => {
        const [one] = await deadLetters(id);
        return one?.status === 'redelivered' && one;
      });
      expect(settled).toMatchObject({
        deliveryId: failingId,
        redeliveryRequestedAt: expect.stringMatching(ISO),
        redeliveredAt: expect.stringMatching(ISO),
      });
      expect(await deadLetters(id, '?status=dead')).toEqual([]);
      expect((await deadLetters(id, '?status=redelivered')).map((l) => l.deliveryId)).toEqual([
        failingId,
      ]);
      const redelivered = await waitFor('the redelivery attempt', async () => {
        const found = (await deliveries(id, '&outcome=redelivered')).filter(
          (attempt) => attempt.deliveryId === failingId,
        );
        return found.length > 0 && found;
      });
      expect(redelivered).toEqual([
        expect.objectContaining({ outcome: 'redelivered', httpStatus: 204, itemCount: 3 }),
      ]);
      // Then everything after it, once each, in order; and delivery carries on.
      await waitFor('the later events', () =>
        later.every((eventId) => eventIdsOf(hook.accepted).includes(eventId)),
      );
      const newest = await publishOne(hub, p.publisher, learningEvent(programId, 'dead-6'));
      await waitFor('the newest event', () => eventIdsOf(hook.accepted).includes(newest));
      await sleep(300);
      expect(eventIdsOf(hook.accepted)).toEqual([
        ...(letter.items as any[]).map((i: any) => i.eventId),
        ...later,
        newest,
      ]);
      const resumed = await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/deliveries`);
      expect(resumed.body.webhook).toMatchObject({ status: 'delivering', deliveryId: null });

      expectProblem(
        await hub.call(
          p.subscriber,
          'POST',
          `/v1/subscriptions/${id}/dead-letters/01NOSUCHDELIVERY/redeliver`,
        ),
        404,
        'DEAD_LETTER_NOT_FOUND',
      );
    });

    it('gives a receiver that was down until deliveries ran out everything once, in order, after redelivery', async () => {
      let down = true;
      const hook = await receiver(() => (down ? 503 : 204));
      const parties = await program('DOWN');
      const programId = parties.publisherProgram;
      // The default number of attempts: one more than the (test) schedule has delays.
      const id: string = (
        await activeSubscription(hub, parties, TEMPLATES, { webhook: { url: hook.url } })
      ).subscriptionId;
      const publish = (keys: string[]) =>
        publishBatch(
          hub,
          p.publisher,
          keys.map((key) => learningEvent(programId, key)),
        );

      const first = await publish(['down-1', 'down-2', 'down-3']);
      const [letter] = await waitFor(
        'the first batch to run out of attempts',
        async () => {
          const letters = await deadLetters(id);
          return letters.length > 0 && letters;
        },
        { timeoutMs: 20_000 },
      );
      expect(letter.attempts).toBe(8);
      const deadId = letter.deliveryId as string;
      // While it is down, and after it is back: nothing newer is sent past the dead letter.
      const whileDown = await publish(['down-4', 'down-5']);
      await sleep(400);
      down = false;
      const afterwards = await publish(['down-6', 'down-7', 'down-8']);
      await sleep(400);
      expect(new Set(hook.requests.map((request) => header(request, 'webhook-id')))).toEqual(
        new Set([deadId]),
      );
      expect(hook.accepted).toEqual([]);

      const requested = await hub.call(
        p.subscriber,
        'POST',
        `/v1/subscriptions/${id}/dead-letters/redeliver`,
      );
      expect(requested.status).toBe(202);
      expect(requested.body).toEqual({ queued: 1 });
      const published = [...first, ...whileDown, ...afterwards];
      await waitFor('every event delivered', () =>
        published.every((eventId) => eventIdsOf(hook.accepted).includes(eventId)),
      );
      const newest = await publish(['down-9']);
      await waitFor('the newest event', () => eventIdsOf(hook.accepted).includes(newest[0]!));
      await sleep(300);

      // Exactly once each, in the hub's order, the dead letter first, under its own id.
      const hubOrder = (await readWholeFeed(hub, p.subscriber, id)).items.map(
        (item) => item.eventId,
      );
      expect(eventIdsOf(hook.accepted)).toEqual(hubOrder);
      expect(hubOrder).toHaveLength(published.length + newest.length);
      expect(new Set(hubOrder)).toEqual(new Set([...published, ...newest]));
      // Each publish request after the one before it: older groups never after newer ones.
      const groups = [first, whileDown, afterwards, newest];
      const groupOf = hubOrder.map((eventId) => groups.findIndex((g) => g.includes(eventId)));
      expect([...groupOf].sort((a, b) => a - b)).toEqual(groupOf);
      expect(header(hook.accepted[0]!, 'webhook-id')).toBe(deadId);
      expect(new Set(eventIdsOf([hook.accepted[0]!]))).toEqual(new Set(first));
      expect(await deadLetters(id, '?status=redelivered')).toEqual([
        expect.objectContaining({ deliveryId: deadId, items: letter.items }),
      ]);
      const state = await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/deliveries`);
      expect(state.body.webhook.status).toBe('delivering');
    }, 60_000);

    it('ends a suspension by a replay, leaving the dead letter listed to be redelivered as it is', async () => {
      let failingId: string | null = null;
      let healed = false;
      const hook = await receiver((request) => {
        const webhookId = request.headers['webhook-id'] as string;
        failingId ??= webhookId;
        return webhookId === failingId && !healed ? 500 : 204;
      });
      const parties = await program('REPLAY');
      const programId = parties.publisherProgram;
      const id: string = (
        await activeSubscription(hub, parties, TEMPLATES, {
          webhook: { url: hook.url, maxAttempts: 1 },
        })
      ).subscriptionId;
      const first = await publishOne(hub, p.publisher, learningEvent(programId, 'replay-1'));
      await waitFor('the dead letter', async () => (await deadLetters(id)).length > 0);
      const second = await publishOne(hub, p.publisher, learningEvent(programId, 'replay-2'));
      healed = true;

      const replayed = await hub.call(p.subscriber, 'POST', `/v1/subscriptions/${id}/replay`, {
        from: 'start',
      });
      expect(replayed.status).toBe(200);
      await waitFor('both events', () => eventIdsOf(hook.accepted).length === 2);
      await sleep(300);
      expect(eventIdsOf(hook.accepted)).toEqual([first, second]);
      const [letter] = await deadLetters(id);
      expect(letter).toMatchObject({ deliveryId: failingId, status: 'dead' });
      const state = await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}/deliveries`);
      expect(state.body.webhook.status).toBe('delivering');

      // Asked for, it is sent again as it is, and delivery goes on where it is.
      const requested = await hub.call(
        p.subscriber,
        'POST',
        `/v1/subscriptions/${id}/dead-letters/${failingId}/redeliver`,
      );
      expect(requested.body).toEqual({ queued: 1 });
      await waitFor('the redelivery', () => eventIdsOf(hook.accepted).length === 3);
      const third = await publishOne(hub, p.publisher, learningEvent(programId, 'replay-3'));
      await waitFor('the next event', () => eventIdsOf(hook.accepted).includes(third));
      await sleep(300);
      expect(eventIdsOf(hook.accepted)).toEqual([first, second, first, third]);
      const redelivery = hook.accepted.filter((r) => header(r, 'webhook-id') === failingId);
      expect(redelivery.map((request) => eventIdsOf([request]))).toEqual([[first]]);
    });

    describe('and erasure', () => {
      const ADA = 'ada@example.org';
      const BOB = 'bob@example.org';
      /** A subscription whose receiver fails the first delivery until healed. */
      const failingFirst = async (name: string) => {
        const state = { failingId: null as string | null, healed: false };
        const hook = await receiver((request) => {
          const webhookId = request.headers['webhook-id'] as string;
          state.failingId ??= webhookId;
          return webhookId === state.failingId && !state.healed ? 500 : 204;
        });
        const parties = await program(name);
        const id: string = (
          await activeSubscription(hub, parties, TEMPLATES, {
            webhook: { url: hook.url, maxAttempts: 1 },
          })
        ).subscriptionId;
        return { state, hook, id, programId: parties.publisherProgram };
      };
      const erase = async (programId: string, participantId: string) => {
        const response = await hub.call(p.publisher, 'POST', '/v1/events/erasures', {
          PublisherProgramId: programId,
          PublisherParticipantId: participantId,
        });
        expect(response.status).toBe(200);
        return response.body.EventIds as string[];
      };
      const kindsAndIds = (requests: ReceivedRequest[]) =>
        requests.flatMap((request) =>
          (request.body.items as any[]).map((item) =>
            item.kind === 'erased' ? ['erased', item.eventIds] : [item.kind, item.eventId],
          ),
        );

      it('redelivers the dead letter delivery waits at without the events erased from it', async () => {
        const { state, hook, id, programId } = await failingFirst('ERASE-SOME');
        const [hers, his] = await publishBatch(hub, p.publisher, [
          learningEvent(programId, 'some-ada', { participantId: ADA }),
          learningEvent(programId, 'some-bob', { participantId: BOB }),
        ]);
        await waitFor('the dead letter', async () => (await deadLetters(id)).length > 0);
        const later = await publishOne(
          hub,
          p.publisher,
          learningEvent(programId, 'some-bob-2', { participantId: BOB }),
        );
        expect(await erase(programId, ADA)).toEqual([hers]);
        const [letter] = await deadLetters(id);
        expect((letter.items as any[]).map((item) => item.eventId)).toEqual([his]);
        expect(JSON.stringify(await deadLetters(id))).not.toContain(ADA);
        // Still waiting at it: the erasure left something in it to deliver.
        await sleep(300);
        expect(hook.accepted).toEqual([]);

        state.healed = true;
        const requested = await hub.call(
          p.subscriber,
          'POST',
          `/v1/subscriptions/${id}/dead-letters/${letter.deliveryId}/redeliver`,
        );
        expect(requested.body).toEqual({ queued: 1 });
        await waitFor('the erasure delivered', () =>
          kindsAndIds(hook.accepted).some(([kind]) => kind === 'erased'),
        );
        expect(kindsAndIds(hook.accepted)).toEqual([
          ['published', his],
          ['published', later],
          ['erased', [hers]],
        ]);
        expect(hook.accepted[0]!.rawBody).not.toContain(ADA);
      });

      it('keeps none of an event erased while the first attempt that carried it was under way', async () => {
        const hook = await holdingFirstRequest();
        try {
          const parties = await program('ERASE-INFLIGHT');
          const programId = parties.publisherProgram;
          const id: string = (
            await activeSubscription(hub, parties, TEMPLATES, {
              webhook: { url: hook.url, maxAttempts: 3 },
            })
          ).subscriptionId;
          const hers = await publishOne(
            hub,
            p.publisher,
            learningEvent(programId, 'inflight-ada', { participantId: ADA }),
          );
          await hook.firstArrived;
          expect(hook.bodies[0]).toContain(ADA);
          // Erased while the attempt is under way, before any delivery is held to take it from.
          expect(await erase(programId, ADA)).toEqual([hers]);
          hook.failFirst();
          await waitFor('the erasure delivered', () =>
            hook.bodies.slice(1).some((body) => body.includes('"erased"')),
          );
          expect(hook.bodies.slice(1).join()).not.toContain(ADA);
          expect(await deadLetters(id)).toEqual([]);
        } finally {
          await hook.close();
        }
      });

      it('moves past a dead letter whose every event was erased, without a request', async () => {
        const { state, hook, id, programId } = await failingFirst('ERASE-ALL');
        const hers = await publishOne(
          hub,
          p.publisher,
          learningEvent(programId, 'all-ada', { participantId: ADA }),
        );
        await waitFor('the dead letter', async () => (await deadLetters(id)).length > 0);
        state.healed = true;
        const his = await publishOne(
          hub,
          p.publisher,
          learningEvent(programId, 'all-bob', { participantId: BOB }),
        );
        await sleep(300);
        expect(hook.accepted).toEqual([]);

        expect(await erase(programId, ADA)).toEqual([hers]);
        await waitFor('the erasure delivered', () =>
          kindsAndIds(hook.accepted).some(([kind]) => kind === 'erased'),
        );
        expect(kindsAndIds(hook.accepted)).toEqual([
          ['published', his],
          ['erased', [hers]],
        ]);
        expect(await deadLetters(id)).toEqual([]);
        expect(
          hook.requests
            .slice(1)
            .map((request) => request.rawBody)
            .join(),
        ).not.toContain(ADA);
      });
    });
  });
});
