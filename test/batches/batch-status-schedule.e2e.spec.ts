import {
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  sampleHierarchy,
  startHub,
} from '../support/hub-harness';
import { batchStream } from '../../src/batches/batch.events';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls GET /v1/batches/{id} until the status is reached; returns when it was first seen. */
const observeStatus = async (
  hub: RunningHub,
  token: string,
  batchId: string,
  status: number,
  timeoutMs = 15_000,
): Promise<number> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await hub.call(token, 'GET', `/v1/batches/${batchId}`);
    if (response.status === 200 && response.body.status === status) return Date.now();
    await sleep(25);
  }
  throw new Error(`batch ${batchId} did not reach status ${status} in ${timeoutMs} ms`);
};

const transitions = async (hub: RunningHub, batchId: string) =>
  (await hub.store.readStream(batchStream(batchId)))
    .filter((event) => ['BatchStarted', 'BatchEnded', 'BatchReopened'].includes(event.type))
    .map((event) => ({
      type: event.type,
      effectiveAt: (event.data as { effectiveAt: string }).effectiveAt,
      recordedAt: event.recordedAt.getTime(),
    }));

const createBatch = async (
  hub: RunningHub,
  token: string,
  startsAt: number,
  endsAt: number,
): Promise<string> => {
  const response = await hub.call(token, 'POST', '/v1/batches', {
    courseId: 'course-1',
    name: 'Short batch',
    enrollmentType: 'open',
    startDate: new Date(startsAt).toISOString(),
    endDate: new Date(endsAt).toISOString(),
  });
  expect(response.status).toBe(201);
  expect(response.body.status).toBe(0);
  return response.body.batchId as string;
};

describe('Batch status follows the dates to the second', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let token: string;

  beforeAll(async () => {
    storage = await freshStorage('schedule');
    hub = await startHub(storage.storage);
    token = await issueKey(hub, 'alice', 'org-a', ['CONTENT_CREATOR']);
    const course = await hub.call(token, 'POST', '/v1/courses', {
      courseId: 'course-1',
      name: 'Course',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
  });

  afterAll(async () => {
    await hub.close();
    await storage.dispose();
  });

  it('starts and ends within 1 s of each boundary, across a restart, and catches up on downtime', async () => {
    const t0 = Date.now();
    // Observed live: start in 3 s; end in 9 s, after a restart in between.
    const live = await createBatch(hub, token, t0 + 3_000, t0 + 9_000);
    // Both boundaries fall while the hub is down: appended once, on the next start.
    const duringDowntime = await createBatch(hub, token, t0 + 4_500, t0 + 5_500);

    const started = await observeStatus(hub, token, live, 1);
    expect(started - (t0 + 3_000)).toBeGreaterThanOrEqual(0);
    expect(started - (t0 + 3_000)).toBeLessThanOrEqual(1_000);

    await hub.close();
    await sleep(Math.max(0, t0 + 6_500 - Date.now()));
    hub = await startHub(storage.storage);

    const caughtUp = await observeStatus(hub, token, duringDowntime, 2);
    expect(caughtUp).toBeLessThan(t0 + 9_000);
    const ended = await observeStatus(hub, token, live, 2);
    expect(ended - (t0 + 9_000)).toBeGreaterThanOrEqual(0);
    expect(ended - (t0 + 9_000)).toBeLessThanOrEqual(1_000);

    const liveTransitions = await transitions(hub, live);
    expect(liveTransitions.map((t) => t.type)).toEqual(['BatchStarted', 'BatchEnded']);
    expect(liveTransitions[0]!.effectiveAt).toBe(new Date(t0 + 3_000).toISOString());
    expect(liveTransitions[1]!.effectiveAt).toBe(new Date(t0 + 9_000).toISOString());
    for (const [index, boundary] of [t0 + 3_000, t0 + 9_000].entries())
      expect(liveTransitions[index]!.recordedAt - boundary).toBeLessThanOrEqual(1_000);

    const downtimeTransitions = await transitions(hub, duringDowntime);
    expect(downtimeTransitions.map((t) => [t.type, t.effectiveAt])).toEqual([
      ['BatchStarted', new Date(t0 + 4_500).toISOString()],
      ['BatchEnded', new Date(t0 + 5_500).toISOString()],
    ]);

    const history = await hub.call(token, 'GET', `/v1/batches/${live}/history`);
    expect((history.body as { actor: string }[]).map((entry) => entry.actor)).toEqual([
      'alice',
      'system:hub',
      'system:hub',
    ]);
  });

  it('ends a reopened batch on time: extending a closed batch gives it a new boundary', async () => {
    const t0 = Date.now();
    const batchId = await createBatch(hub, token, t0 + 1_000, t0 + 2_000);
    await observeStatus(hub, token, batchId, 2);

    const newEnd = Date.now() + 2_500;
    const extended = await hub.call(token, 'PATCH', `/v1/batches/${batchId}`, {
      endDate: new Date(newEnd).toISOString(),
    });
    expect(extended.status).toBe(200);
    expect(extended.body.status).toBe(1);

    const endedAgain = await observeStatus(hub, token, batchId, 2);
    expect(endedAgain - newEnd).toBeGreaterThanOrEqual(0);
    expect(endedAgain - newEnd).toBeLessThanOrEqual(1_000);
    expect((await transitions(hub, batchId)).map((t) => t.type)).toEqual([
      'BatchStarted',
      'BatchEnded',
      'BatchReopened',
      'BatchEnded',
    ]);
  });

  it('appends each transition once with two hub instances on one database', async () => {
    if (storage.storage.kind !== 'postgres') {
      console.warn(
        'Skipped: two instances need a shared PostgreSQL server (PGlite is single-process)',
      );
      return;
    }
    const second = await startHub(storage.storage);
    try {
      const t0 = Date.now();
      const batchIds: string[] = [];
      for (let i = 0; i < 5; i++)
        batchIds.push(await createBatch(hub, token, t0 + 2_500, t0 + 4_500));
      await observeStatus(second, token, batchIds[4]!, 2);
      await sleep(1_500); // time for a duplicate, if one were coming
      for (const batchId of batchIds) {
        const recorded = await transitions(hub, batchId);
        expect(recorded.map((t) => t.type)).toEqual(['BatchStarted', 'BatchEnded']);
      }
    } finally {
      await second.close();
    }
  });
});
