import {
  activeSubscription,
  learningEvent,
  publishOne,
  setUpParties,
  sleep,
  waitFor,
} from '../support/clearinghouse';
import { freshStorage, HubStorage, RunningHub, startHub } from '../support/hub-harness';
import { WebhookReceiver } from '../support/webhook-receiver';

const TEMPLATES = { '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' } };

/** A delivery being retried when the hub stops carries on where it was when it starts again. */
describe('Webhook retries across a restart', () => {
  let storage: HubStorage;
  let hub: RunningHub | null = null;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    storage = await freshStorage('webhook-restart-e2e');
  });
  afterAll(async () => {
    await hub?.close();
    await receiver?.close();
    await storage?.dispose();
  });

  it('keeps the delivery id, its body and the count of attempts', async () => {
    let down = true;
    receiver = await WebhookReceiver.start(() => (down ? 503 : 204));
    hub = await startHub(storage.storage);
    const p = await setUpParties(hub, 'rst');
    const id: string = (
      await activeSubscription(hub, p, TEMPLATES, {
        webhook: { url: receiver.url, maxAttempts: 50 },
      })
    ).subscriptionId;
    const eventId = await publishOne(hub, p.publisher, learningEvent(p.publisherProgram, 'rst-1'));
    await waitFor('two failed attempts', () => receiver.requests.length >= 2);
    await hub.close();
    hub = null;
    const seenBefore = receiver.requests.length;
    const firstId = receiver.requests[0]!.headers['webhook-id'];
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(
      new Set([firstId]),
    );

    down = false;
    hub = await startHub(storage.storage);
    const running = hub;
    await waitFor('the delivery', () => receiver.accepted.length > 0, { timeoutMs: 15_000 });
    await sleep(300);
    expect(receiver.accepted).toHaveLength(1);
    const [accepted] = receiver.accepted;
    expect(accepted!.headers['webhook-id']).toBe(firstId);
    expect(accepted!.rawBody).toBe(receiver.requests[0]!.rawBody);
    expect((accepted!.body.items as { eventId: string }[]).map((item) => item.eventId)).toEqual([
      eventId,
    ]);

    const attempts = await waitFor('the attempt recorded', async () => {
      const response = await running.call(
        p.subscriber,
        'GET',
        `/v1/subscriptions/${id}/deliveries`,
      );
      const items = response.body.items as { attempt: number; outcome: string }[];
      return items[0]?.outcome === 'delivered' && items;
    });
    // Numbered on from the attempts made before the restart, not from 1 again.
    const numbers = [...attempts].reverse().map((attempt) => [attempt.attempt, attempt.outcome]);
    expect(numbers.length).toBeGreaterThanOrEqual(2);
    expect(numbers.length).toBeLessThanOrEqual(seenBefore + 1);
    expect(numbers).toEqual(
      numbers.map((_, index) => [index + 1, index === numbers.length - 1 ? 'delivered' : 'failed']),
    );
  }, 60_000);
});
