import { ADMIN_TOKEN, issueKey, RunningHub } from './hub-harness';

/** Publishers and subscribers for clearinghouse tests: two organisations, a program each. */
export interface Parties {
  publisherOrg: string;
  publisherProgram: string;
  /** ORG_ADMIN of the publisher's organisation. */
  publisherAdmin: string;
  /** PUBLISHER of the publisher's organisation. */
  publisher: string;
  subscriberOrg: string;
  subscriberProgram: string;
  /** ORG_ADMIN of the subscriber's organisation. */
  subscriberAdmin: string;
  /** SUBSCRIBER of the subscriber's organisation. */
  subscriber: string;
}

type Reply = Awaited<ReturnType<RunningHub['call']>>;

export const expectProblem = (response: Reply, status: number, code?: string): void => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, ...(code === undefined ? {} : { code }) });
};

/** Registers a program by an admin of its organisation. */
export const registerProgram = async (
  hub: RunningHub,
  adminToken: string,
  programId: string,
): Promise<void> => {
  const response = await hub.call(adminToken, 'POST', '/v1/programs', {
    programId,
    name: `Program ${programId}`,
  });
  if (response.status !== 201)
    throw new Error(`registering ${programId} failed: ${JSON.stringify(response.body)}`);
};

/** A publisher organisation with a program and a PUBLISHER key; a subscriber one with a program. */
export const setUpParties = async (hub: RunningHub, prefix: string): Promise<Parties> => {
  const publisherOrg = `${prefix}-pub-org`;
  const subscriberOrg = `${prefix}-sub-org`;
  const [publisherAdmin, publisher, subscriberAdmin, subscriber] = await Promise.all([
    issueKey(hub, `${prefix}-pub-admin`, publisherOrg, ['ORG_ADMIN']),
    issueKey(hub, `${prefix}-publisher`, publisherOrg, ['PUBLISHER']),
    issueKey(hub, `${prefix}-sub-admin`, subscriberOrg, ['ORG_ADMIN']),
    issueKey(hub, `${prefix}-subscriber`, subscriberOrg, ['SUBSCRIBER']),
  ]);
  const publisherProgram = `${prefix}-PUB`;
  const subscriberProgram = `${prefix}-SUB`;
  await registerProgram(hub, publisherAdmin, publisherProgram);
  await registerProgram(hub, subscriberAdmin, subscriberProgram);
  return {
    publisherOrg,
    publisherProgram,
    publisherAdmin,
    publisher,
    subscriberOrg,
    subscriberProgram,
    subscriberAdmin,
    subscriber,
  };
};

export interface EventOptions {
  category?: string | null;
  participantId?: string;
  data?: Record<string, unknown>;
  eventType?: string;
}

/** A valid event as a publisher sends it; no category when `category` is null. */
export const learningEvent = (
  programId: string,
  publisherEventId: string,
  options: EventOptions = {},
): Record<string, unknown> => {
  const category = options.category === undefined ? 'COURSE' : options.category;
  return {
    PublisherProgramId: programId,
    PublisherSystemId: 'LB',
    EventType: options.eventType ?? 'LPI_COMP_SUCCESS',
    PublisherEventId: publisherEventId,
    PublisherParticipantId: options.participantId ?? 'learner-1',
    ...(category === null ? {} : { PublisherEventCategory: { value: category, label: category } }),
    PublisherEventData: options.data ?? { courseName: `Course ${publisherEventId}`, score: 9 },
    EventStartUtc: '2026-01-05T10:00:00Z',
    EventEndUtc: '2026-01-05T11:30:00Z',
  };
};

/** Publishes one event; returns its EventId. */
export const publishOne = async (
  hub: RunningHub,
  token: string,
  event: Record<string, unknown>,
): Promise<string> => {
  const response = await hub.call(token, 'POST', '/v1/events', event);
  if (response.status !== 201)
    throw new Error(`publishing failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.EventId as string;
};

/** Publishes a batch in which every event is new; returns the EventIds in order. */
export const publishBatch = async (
  hub: RunningHub,
  token: string,
  events: Record<string, unknown>[],
): Promise<string[]> => {
  const response = await hub.call(token, 'POST', '/v1/events/batch', events);
  if (response.status !== 200 || response.body.created !== events.length)
    throw new Error(
      `publishing a batch failed: ${response.status} ${JSON.stringify(response.body)}`,
    );
  return (response.body.results as { EventId: string }[]).map((result) => result.EventId);
};

export const createSubscription = async (
  hub: RunningHub,
  token: string,
  body: Record<string, unknown>,
): Promise<any> => {
  const response = await hub.call(token, 'POST', '/v1/subscriptions', body);
  if (response.status !== 201)
    throw new Error(`creating a subscription failed: ${JSON.stringify(response.body)}`);
  return response.body;
};

/** A subscription made active at once by the system admin. */
export const activeSubscription = async (
  hub: RunningHub,
  parties: Pick<Parties, 'subscriberProgram' | 'publisherProgram'>,
  templates: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<any> =>
  createSubscription(hub, ADMIN_TOKEN, {
    subscriberProgramId: parties.subscriberProgram,
    publisherProgramId: parties.publisherProgram,
    templates,
    ...extra,
  });

/** Reads the feed page by page from `after` until hasMore is false. */
export const readWholeFeed = async (
  hub: RunningHub,
  token: string,
  subscriptionId: string,
  after = 'start',
  limit = 1000,
): Promise<{ items: any[]; nextCursor: string }> => {
  const items: any[] = [];
  let cursor = after;
  for (;;) {
    const page = await hub.call(
      token,
      'GET',
      `/v1/subscriptions/${subscriptionId}/feed?after=${encodeURIComponent(cursor)}&limit=${limit}`,
    );
    if (page.status !== 200)
      throw new Error(`reading the feed failed: ${JSON.stringify(page.body)}`);
    items.push(...(page.body.items as any[]));
    cursor = page.body.nextCursor as string;
    if (!page.body.hasMore) return { items, nextCursor: cursor };
  }
};

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined/false; fails after timeoutMs. */
export const waitFor = async <T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let lastError: string | null = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : JSON.stringify(error);
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${
          lastError === null ? '' : `: ${lastError}`
        }`,
      );
    await sleep(intervalMs);
  }
};
