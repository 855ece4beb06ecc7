import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import {
  activeSubscription,
  createSubscription,
  expectProblem,
  learningEvent,
  Parties,
  publishOne,
  registerProgram,
  setUpParties,
} from '../support/clearinghouse';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  startHub,
} from '../support/hub-harness';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TEMPLATE =
  '{"learner": "{{PublisherParticipantId}}", "course": "{{PublisherEventData.courseName}}"}';
const TEMPLATES = { '*_default': { action: 'import', template: TEMPLATE } };
/** The template set as the hub keeps and shows it. */
const STORED_TEMPLATES = { '*_default': { action: 'import', label: null, template: TEMPLATE } };

/** Requesting, approving, changing and removing subscriptions through the HTTP API. */
describe('Subscriptions API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let p: Parties;
  // A third organisation subscribing to the same publisher: its subscriptions are not ours.
  let otherAdmin: string;
  let otherSubscriber: string;
  const OTHER_PROGRAM = 'subs-OTHER';
  let earlierEvents: string[];

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async <T>(act: () => Promise<T>): Promise<T> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  const request = (extra: Record<string, unknown> = {}) => ({
    subscriberProgramId: p.subscriberProgram,
    publisherProgramId: p.publisherProgram,
    name: 'Completions',
    templates: TEMPLATES,
    ...extra,
  });

  const feedOf = (token: string, id: string, query = '') =>
    hub.call(token, 'GET', `/v1/subscriptions/${id}/feed${query}`);
  const streamOf = (token: string, id: string) =>
    hub.call(token, 'GET', `/v1/subscriptions/${id}/stream?after=start`);

  beforeAll(async () => {
    storage = await freshStorage('subscriptions-e2e');
    hub = await startHub(storage.storage);
    p = await setUpParties(hub, 'subs');
    [otherAdmin, otherSubscriber] = await Promise.all([
      issueKey(hub, 'other-admin', 'subs-other-org', ['ORG_ADMIN']),
      issueKey(hub, 'other-subscriber', 'subs-other-org', ['SUBSCRIBER']),
    ]);
    await registerProgram(hub, otherAdmin, OTHER_PROGRAM);
    // One by one, so that the hub's order is the order they were sent in.
    earlierEvents = [
      await publishOne(hub, p.publisher, learningEvent(p.publisherProgram, 'before-1')),
      await publishOne(
        hub,
        p.publisher,
        learningEvent(p.publisherProgram, 'before-2', { category: null }),
      ),
    ];
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('approval by the publisher', () => {
    let pendingId: string;

    it('creates a subscription requested by the subscriber’s admin as pending', async () => {
      const response = await hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', request());
      expect(response.status).toBe(201);
      pendingId = response.body.subscriptionId;
      expect(response.headers.get('location')).toBe(`/v1/subscriptions/${pendingId}`);
      expect(response.body).toEqual({
        subscriptionId: expect.any(String),
        subscriberProgramId: p.subscriberProgram,
        subscriberOrganisationId: p.subscriberOrg,
        publisherProgramId: p.publisherProgram,
        publisherOrganisationId: p.publisherOrg,
        name: 'Completions',
        status: 'pending',
        approval: 'pending',
        enabled: true,
        categories: { imported: [], ignored: [], othersImported: true },
        templates: STORED_TEMPLATES,
        webhook: null,
        createdBy: 'subs-sub-admin',
        createdAt: expect.stringMatching(ISO),
        updatedAt: response.body.createdAt,
      });
      const read = await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${pendingId}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(response.body);
    });

    it('delivers nothing while pending: feed and stream answer 409 SUBSCRIPTION_NOT_APPROVED', async () => {
      // Published while the request waits: it must show once approved.
      earlierEvents.push(
        await publishOne(hub, p.publisher, learningEvent(p.publisherProgram, 'while-pending')),
      );
      for (const token of [p.subscriber, p.subscriberAdmin]) {
        expectProblem(await feedOf(token, pendingId), 409, 'SUBSCRIPTION_NOT_APPROVED');
        expectProblem(await streamOf(token, pendingId), 409, 'SUBSCRIPTION_NOT_APPROVED');
      }
      expectProblem(
        await hub.call(p.subscriber, 'POST', `/v1/subscriptions/${pendingId}/replay`, {
          from: 'start',
        }),
        409,
        'SUBSCRIPTION_NOT_APPROVED',
      );
    });

    it('does not let the subscriber approve its own request (403 PUBLISHER_APPROVAL_REQUIRED)', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', `/v1/subscriptions/${pendingId}/approve`),
      );
      expectProblem(response, 403, 'PUBLISHER_APPROVAL_REQUIRED');
      // A publisher key is no admin: to it the subscription does not exist.
      expectProblem(
        await hub.call(p.publisher, 'POST', `/v1/subscriptions/${pendingId}/approve`),
        404,
        'SUBSCRIPTION_NOT_FOUND',
      );
      const read = await hub.call(p.subscriberAdmin, 'GET', `/v1/subscriptions/${pendingId}`);
      expect(read.body).toMatchObject({ status: 'pending', approval: 'pending' });
    });

    it('lists pending requests for its programs to the publisher’s admin, who may not read the feed', async () => {
      const list = await hub.call(p.publisherAdmin, 'GET', '/v1/subscriptions?approval=pending');
      expect(list.status).toBe(200);
      expect((list.body.items as any[]).map((item: any) => item.subscriptionId)).toEqual([
        pendingId,
      ]);
      expect(list.body.items[0]).toMatchObject({
        publisherProgramId: p.publisherProgram,
        status: 'pending',
      });
      const read = await hub.call(p.publisherAdmin, 'GET', `/v1/subscriptions/${pendingId}`);
      expect(read.status).toBe(200);
      expectProblem(await feedOf(p.publisherAdmin, pendingId), 403, 'SUBSCRIPTION_NOT_YOURS');
    });

    it('becomes active once the publisher’s admin approves, with the publisher’s earlier events in the feed', async () => {
      const response = await hub.call(
        p.publisherAdmin,
        'POST',
        `/v1/subscriptions/${pendingId}/approve`,
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        subscriptionId: pendingId,
        status: 'active',
        approval: 'approved',
      });
      expect(Date.parse(response.body.updatedAt)).toBeGreaterThanOrEqual(
        Date.parse(response.body.createdAt),
      );
      // Approving again changes nothing.
      const again = await expectNothingAppended(() =>
        hub.call(p.publisherAdmin, 'POST', `/v1/subscriptions/${pendingId}/approve`),
      );
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ status: 'active' });

      // Without a cursor the feed starts at the subscription's position: the start.
      for (const feed of [
        await feedOf(p.subscriber, pendingId),
        await feedOf(p.subscriber, pendingId, '?after=start'),
      ]) {
        expect(feed.status).toBe(200);
        expect((feed.body.items as any[]).map((item: any) => item.eventId)).toEqual(earlierEvents);
        expect(feed.body.items[0]).toMatchObject({
          kind: 'published',
          template: '*_default',
          payload: { learner: 'learner-1', course: 'Course before-1' },
        });
        expect(feed.body.hasMore).toBe(false);
      }
      // The publisher's admin still reads the subscription but not what it delivers.
      expectProblem(await feedOf(p.publisherAdmin, pendingId), 403, 'SUBSCRIPTION_NOT_YOURS');
    });

    it('creates an active subscription at once when a system admin asks', async () => {
      const response = await hub.call(ADMIN_TOKEN, 'POST', '/v1/subscriptions', request());
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        status: 'active',
        approval: 'approved',
        subscriberOrganisationId: p.subscriberOrg,
        publisherOrganisationId: p.publisherOrg,
      });
      const feed = await feedOf(p.subscriber, response.body.subscriptionId);
      expect(feed.status).toBe(200);
      expect((feed.body.items as any[]).map((item: any) => item.eventId)).toEqual(earlierEvents);
    });

    it('rejects a request; a rejected one cannot be approved and delivers nothing', async () => {
      const created = await createSubscription(
        hub,
        p.subscriberAdmin,
        request({ name: 'To reject' }),
      );
      expect(created.status).toBe('pending');
      const rejected = await hub.call(
        p.publisherAdmin,
        'POST',
        `/v1/subscriptions/${created.subscriptionId}/reject`,
        { reason: 'not sharing this data' },
      );
      expect(rejected.status).toBe(200);
      expect(rejected.body).toMatchObject({ status: 'rejected', approval: 'rejected' });
      expectProblem(
        await hub.call(
          p.subscriberAdmin,
          'POST',
          `/v1/subscriptions/${created.subscriptionId}/reject`,
        ),
        403,
        'PUBLISHER_APPROVAL_REQUIRED',
      );

      const approve = await expectNothingAppended(() =>
        hub.call(p.publisherAdmin, 'POST', `/v1/subscriptions/${created.subscriptionId}/approve`),
      );
      expectProblem(approve, 409, 'SUBSCRIPTION_REJECTED');
      expectProblem(
        await feedOf(p.subscriber, created.subscriptionId),
        409,
        'SUBSCRIPTION_NOT_APPROVED',
      );
      const read = await hub.call(
        p.subscriber,
        'GET',
        `/v1/subscriptions/${created.subscriptionId}`,
      );
      expect(read.body).toMatchObject({ status: 'rejected' });
    });
  });

  describe('who may do what', () => {
    let otherId: string;
    let ownId: string;

    beforeAll(async () => {
      otherId = (
        await createSubscription(hub, otherAdmin, {
          subscriberProgramId: OTHER_PROGRAM,
          publisherProgramId: p.publisherProgram,
          templates: TEMPLATES,
        })
      ).subscriptionId;
      await hub.call(p.publisherAdmin, 'POST', `/v1/subscriptions/${otherId}/approve`);
      ownId = (await activeSubscription(hub, p, TEMPLATES, { name: 'Own' })).subscriptionId;
    });

    it('lets a SUBSCRIBER key read only its own organisation’s subscriptions', async () => {
      for (const token of [p.subscriber, p.subscriberAdmin]) {
        expectProblem(
          await hub.call(token, 'GET', `/v1/subscriptions/${otherId}`),
          404,
          'SUBSCRIPTION_NOT_FOUND',
        );
        expectProblem(await feedOf(token, otherId), 404, 'SUBSCRIPTION_NOT_FOUND');
        expectProblem(
          await hub.call(token, 'GET', `/v1/subscriptions/${otherId}/deliveries`),
          404,
          'SUBSCRIPTION_NOT_FOUND',
        );
      }
      const list = await hub.call(p.subscriber, 'GET', '/v1/subscriptions?limit=500');
      expect(list.status).toBe(200);
      const ids = (list.body.items as any[]).map((item: any) => item.subscriptionId);
      expect(ids).toContain(ownId);
      expect(ids).not.toContain(otherId);
      for (const item of list.body.items)
        expect(item.subscriberOrganisationId).toBe(p.subscriberOrg);

      // And the other organisation sees its own but not ours.
      expect((await hub.call(otherSubscriber, 'GET', `/v1/subscriptions/${otherId}`)).status).toBe(
        200,
      );
      expectProblem(
        await hub.call(otherSubscriber, 'GET', `/v1/subscriptions/${ownId}`),
        404,
        'SUBSCRIPTION_NOT_FOUND',
      );
      const others = await hub.call(otherSubscriber, 'GET', '/v1/subscriptions');
      expect((others.body.items as any[]).map((item: any) => item.subscriptionId)).toEqual([
        otherId,
      ]);
    });

    it('lists both organisations’ subscriptions of its program to the publisher’s admin', async () => {
      const list = await hub.call(
        p.publisherAdmin,
        'GET',
        `/v1/subscriptions?publisherProgramId=${p.publisherProgram}&limit=500`,
      );
      const ids = (list.body.items as any[]).map((item: any) => item.subscriptionId);
      expect(ids).toEqual(expect.arrayContaining([ownId, otherId]));
      expectProblem(await feedOf(p.publisherAdmin, otherId), 403, 'SUBSCRIPTION_NOT_YOURS');
      // A publisher key is not an admin: it sees none of them.
      expectProblem(
        await hub.call(p.publisher, 'GET', `/v1/subscriptions/${ownId}`),
        404,
        'SUBSCRIPTION_NOT_FOUND',
      );
    });

    it('lets only admins create subscriptions, for programs of their own organisation', async () => {
      const bySubscriber = await expectNothingAppended(() =>
        hub.call(p.subscriber, 'POST', '/v1/subscriptions', request()),
      );
      expectProblem(bySubscriber, 403);
      const forOthers = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', {
          ...request(),
          subscriberProgramId: OTHER_PROGRAM,
        }),
      );
      expectProblem(forOthers, 404, 'PROGRAM_NOT_FOUND');
    });

    it('answers 404 PROGRAM_NOT_FOUND for an unknown publisher program', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', {
          ...request(),
          publisherProgramId: 'NO-SUCH-PROGRAM',
        }),
      );
      expectProblem(response, 404, 'PROGRAM_NOT_FOUND');
    });
  });

  describe('checking what is saved', () => {
    it('refuses templates that do not compile with 400 INVALID_TEMPLATE, the field and the position', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', {
          ...request(),
          templates: {
            COURSE: { action: 'import', template: '{"a": "{{shout PublisherEventId}}"}' },
            EXAM: { template: '{\n  "a": 1,\n  "b": "{{foo.bar baz}}"\n}' },
            CREDENTIAL: { action: 'import', template: '{\n  {{> item}}\n}' },
            BADGE: { action: 'import', template: '{\n  "name": "{{#if x}}yes"\n}' },
            '*_default': { action: 'import', template: TEMPLATE },
          },
        }),
      );
      expectProblem(response, 400, 'INVALID_TEMPLATE');
      const issues = response.body.issues as { field: string; message: string }[];
      expect(issues.map((issue) => issue.field).sort()).toEqual([
        'templates.BADGE.template',
        'templates.COURSE.template',
        'templates.CREDENTIAL.template',
        'templates.EXAM.template',
      ]);
      const message = (field: string) => issues.find((issue) => issue.field === field)?.message;
      expect(message('templates.COURSE.template')).toMatch(/^line 1, column 8: .*shout/);
      expect(message('templates.EXAM.template')).toMatch(/^line 3, column 9: .*foo/);
      expect(message('templates.CREDENTIAL.template')).toMatch(/^line 2, column 3: .*partial/);
      expect(message('templates.BADGE.template')).toMatch(/^line 3, column \d+: /);
    });

    it('refuses template entries without a template to import, or with an unknown action', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', {
          ...request(),
          templates: { COURSE: { action: 'import' }, EXAM: { action: 'drop', template: '{}' } },
        }),
      );
      expectProblem(response, 400, 'INVALID_TEMPLATE');
      expect(response.body.issues).toEqual(
        expect.arrayContaining([
          { field: 'templates.COURSE.template', message: expect.any(String) },
          { field: 'templates.EXAM.action', message: expect.any(String) },
        ]),
      );
    });

    it('refuses webhook URLs with credentials or that are not http(s) (400 INVALID_WEBHOOK)', async () => {
      for (const url of [
        'https://user:secret@hooks.example.org/hub',
        'ftp://hooks.example.org/hub',
      ]) {
        const response = await expectNothingAppended(() =>
          hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', {
            ...request(),
            webhook: { url },
          }),
        );
        expectProblem(response, 400, 'INVALID_WEBHOOK');
        expect(response.body.issues).toEqual([
          { field: 'webhook.url', message: expect.any(String) },
        ]);
      }
    });
  });

  describe('changing a subscription', () => {
    let id: string;

    beforeAll(async () => {
      id = (await activeSubscription(hub, p, TEMPLATES, { name: 'Before' })).subscriptionId;
    });

    it('changes name and templates (checked again), and the feed uses the new templates', async () => {
      const template = '{"who": "{{upper PublisherParticipantId}}"}';
      const response = await hub.call(p.subscriberAdmin, 'PATCH', `/v1/subscriptions/${id}`, {
        name: 'After',
        templates: { '*_default': { action: 'import', label: 'All', template } },
      });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        subscriptionId: id,
        name: 'After',
        templates: { '*_default': { action: 'import', label: 'All', template } },
        status: 'active',
      });
      const read = await hub.call(p.subscriber, 'GET', `/v1/subscriptions/${id}`);
      expect(read.body).toEqual(response.body);
      const feed = await feedOf(p.subscriber, id, '?after=start');
      expect(feed.body.items[0]).toMatchObject({
        label: 'All',
        payload: { who: 'LEARNER-1' },
      });

      const invalid = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'PATCH', `/v1/subscriptions/${id}`, {
          templates: { COURSE: { template: '{{#each x}}' } },
        }),
      );
      expectProblem(invalid, 400, 'INVALID_TEMPLATE');
      expect(invalid.body.issues).toEqual([
        {
          field: 'templates.COURSE.template',
          message: expect.stringMatching(/^line \d+, column \d+: /),
        },
      ]);
      // Only the subscriber's admin changes it.
      expectProblem(
        await hub.call(p.subscriber, 'PATCH', `/v1/subscriptions/${id}`, { name: 'x' }),
        403,
      );
      expectProblem(
        await hub.call(p.publisherAdmin, 'PATCH', `/v1/subscriptions/${id}`, { name: 'x' }),
        403,
        'SUBSCRIPTION_NOT_YOURS',
      );
    });

    it('pauses (feed 409 SUBSCRIPTION_PAUSED) and resumes', async () => {
      const paused = await hub.call(p.subscriberAdmin, 'POST', `/v1/subscriptions/${id}/pause`);
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ status: 'paused', enabled: false, approval: 'approved' });
      expectProblem(await feedOf(p.subscriber, id), 409, 'SUBSCRIPTION_PAUSED');
      expectProblem(await streamOf(p.subscriber, id), 409, 'SUBSCRIPTION_PAUSED');

      const resumed = await hub.call(p.subscriberAdmin, 'POST', `/v1/subscriptions/${id}/resume`);
      expect(resumed.status).toBe(200);
      expect(resumed.body).toMatchObject({ status: 'active', enabled: true });
      const feed = await feedOf(p.subscriber, id);
      expect(feed.status).toBe(200);
      expect((feed.body.items as any[]).map((item: any) => item.eventId)).toEqual(earlierEvents);
    });

    it('deletes: 204, then 404 everywhere and gone from lists', async () => {
      const deleted = await hub.call(p.subscriberAdmin, 'DELETE', `/v1/subscriptions/${id}`);
      expect(deleted.status).toBe(204);
      for (const token of [p.subscriber, p.subscriberAdmin, ADMIN_TOKEN]) {
        expectProblem(
          await hub.call(token, 'GET', `/v1/subscriptions/${id}`),
          404,
          'SUBSCRIPTION_NOT_FOUND',
        );
        expectProblem(await feedOf(token, id), 404, 'SUBSCRIPTION_NOT_FOUND');
      }
      expectProblem(
        await hub.call(p.subscriberAdmin, 'POST', `/v1/subscriptions/${id}/resume`),
        404,
        'SUBSCRIPTION_NOT_FOUND',
      );
      const list = await hub.call(ADMIN_TOKEN, 'GET', '/v1/subscriptions?limit=500');
      expect((list.body.items as any[]).map((item: any) => item.subscriptionId)).not.toContain(id);
    });
  });

  describe('retrying a create', () => {
    it('answers 200 with the original for the same id and content, 409 SUBSCRIPTION_EXISTS for other content', async () => {
      const body = request({ subscriptionId: 'client-chosen-1', name: 'Retried' });
      const first = await hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', body);
      expect(first.status).toBe(201);
      expect(first.body.subscriptionId).toBe('client-chosen-1');

      const retried = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', body),
      );
      expect(retried.status).toBe(200);
      expect(retried.body).toEqual(first.body);

      const different = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', { ...body, name: 'Other name' }),
      );
      expectProblem(different, 409, 'SUBSCRIPTION_EXISTS');
      const otherTemplates = await expectNothingAppended(() =>
        hub.call(p.subscriberAdmin, 'POST', '/v1/subscriptions', {
          ...body,
          templates: { COURSE: { action: 'ignore' } },
        }),
      );
      expectProblem(otherTemplates, 409, 'SUBSCRIPTION_EXISTS');
      const read = await hub.call(p.subscriberAdmin, 'GET', '/v1/subscriptions/client-chosen-1');
      expect(read.body).toEqual(first.body);
    });
  });

  describe('signing secrets', () => {
    const secretRows = async () =>
      Number(
        (
          await hub.app
            .get<SqlDatabase>(SQL_DATABASE)
            .query<{ n: string }>('SELECT count(*)::text AS n FROM hub_webhook_secrets')
        ).rows[0]!.n,
      );

    it('keeps no secret for a request that is refused: a create, a change or a rotation', async () => {
      const created = await hub.call(ADMIN_TOKEN, 'POST', '/v1/subscriptions', {
        ...request({ subscriptionId: 'secrets-1' }),
        webhook: { url: 'https://lms.example.org/hook' },
      });
      expect(created.status).toBe(201);
      expect(created.body.webhookSecret.secret).toMatch(/^whsec_/);
      const before = await secretRows();

      const rotatedByOthers = await expectNothingAppended(() =>
        hub.call(otherAdmin, 'POST', '/v1/subscriptions/secrets-1/webhook/secrets'),
      );
      expectProblem(rotatedByOthers, 404, 'SUBSCRIPTION_NOT_FOUND');
      const rotatedBySubscriber = await expectNothingAppended(() =>
        hub.call(p.subscriber, 'POST', '/v1/subscriptions/secrets-1/webhook/secrets'),
      );
      expectProblem(rotatedBySubscriber, 403, 'SUBSCRIPTION_NOT_YOURS');
      const createdByOthers = await expectNothingAppended(() =>
        hub.call(otherAdmin, 'POST', '/v1/subscriptions', {
          ...request({ subscriptionId: 'secrets-2' }),
          webhook: { url: 'https://lms.example.org/hook' },
        }),
      );
      expectProblem(createdByOthers, 404, 'PROGRAM_NOT_FOUND');
      expect(await secretRows()).toBe(before);

      const rotated = await hub.call(
        p.subscriberAdmin,
        'POST',
        '/v1/subscriptions/secrets-1/webhook/secrets',
      );
      expect(rotated.status).toBe(201);
      expect(await secretRows()).toBe(before + 1);
      const read = await hub.call(p.subscriberAdmin, 'GET', '/v1/subscriptions/secrets-1');
      expect(read.body.webhook.secretIds).toEqual([
        created.body.webhookSecret.secretId,
        rotated.body.secretId,
      ]);
    });
  });
  describe('who sees the settings: templates, webhook URL and signing secrets', () => {
    const HOOK_URL = 'https://lms.example.org/settings-hook';
    const SETTINGS_TEMPLATES = {
      COURSE: { action: 'import', label: 'Courses', template: TEMPLATE },
      EXAM: { action: 'ignore' },
    };
    let id: string;
    let secretId: string;
    let subLearner: string;
    let subCreator: string;
    let pubLearner: string;
    let pubCreator: string;

    const readOne = (token: string) => hub.call(token, 'GET', `/v1/subscriptions/${id}`);
    const listed = async (token: string) => {
      const list = await hub.call(token, 'GET', '/v1/subscriptions?limit=500');
      expect(list.status).toBe(200);
      return (list.body.items as any[]).find((item: any) => item.subscriptionId === id);
    };

    beforeAll(async () => {
      [subLearner, subCreator, pubLearner, pubCreator] = await Promise.all([
        issueKey(hub, 'subs-sub-learner', p.subscriberOrg, ['LEARNER']),
        issueKey(hub, 'subs-sub-creator', p.subscriberOrg, ['CONTENT_CREATOR']),
        issueKey(hub, 'subs-pub-learner', p.publisherOrg, ['LEARNER']),
        issueKey(hub, 'subs-pub-creator', p.publisherOrg, ['CONTENT_CREATOR']),
      ]);
      // Paused, so that approving it sends nothing to the webhook.
      const created = await createSubscription(hub, p.subscriberAdmin, {
        ...request({ name: 'With settings', enabled: false }),
        templates: SETTINGS_TEMPLATES,
        webhook: { url: HOOK_URL, maxAttempts: 3 },
      });
      id = created.subscriptionId;
      secretId = created.webhookSecret.secretId;
    });

    it('shows them to the subscriber’s admin, its SUBSCRIBER key and a system admin, alike in list and read', async () => {
      for (const token of [p.subscriberAdmin, p.subscriber, ADMIN_TOKEN]) {
        const read = await readOne(token);
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({
          subscriptionId: id,
          status: 'pending',
          categories: { imported: ['COURSE'], ignored: ['EXAM'], othersImported: false },
          templates: {
            COURSE: { action: 'import', label: 'Courses', template: TEMPLATE },
            EXAM: { action: 'ignore', label: null, template: null },
          },
          webhook: { url: HOOK_URL, maxAttempts: 3, secretIds: [secretId] },
        });
        expect(await listed(token)).toEqual(read.body);
      }
    });

    it('keeps them from a LEARNER and a CONTENT_CREATOR of the subscriber, who see the rest', async () => {
      const full = (await readOne(p.subscriberAdmin)).body;
      const { templates: _templates, webhook: _webhook, ...summary } = full;
      for (const token of [subLearner, subCreator]) {
        const read = await readOne(token);
        expect(read.status).toBe(200);
        expect(read.body).toEqual(summary);
        const item = await listed(token);
        expect(item).toEqual(summary);
        for (const body of [read.body, item]) {
          const text = JSON.stringify(body);
          expect(text).not.toContain('lms.example.org');
          expect(text).not.toContain(secretId);
          expect(text).not.toContain('PublisherParticipantId');
        }
      }
    });

    it('shows the publisher’s admin what it approves, without templates, webhook or secrets', async () => {
      const read = await readOne(p.publisherAdmin);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({
        subscriptionId: id,
        subscriberProgramId: p.subscriberProgram,
        publisherProgramId: p.publisherProgram,
        status: 'pending',
        categories: { imported: ['COURSE'], ignored: ['EXAM'], othersImported: false },
      });
      expect(read.body).not.toHaveProperty('templates');
      expect(read.body).not.toHaveProperty('webhook');
      expect(await listed(p.publisherAdmin)).toEqual(read.body);

      const approved = await hub.call(p.publisherAdmin, 'POST', `/v1/subscriptions/${id}/approve`);
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ approval: 'approved', status: 'paused' });
      expect(approved.body).not.toHaveProperty('templates');
      expect(approved.body).not.toHaveProperty('webhook');
      expect(JSON.stringify(approved.body)).not.toContain('lms.example.org');
    });

    it('hides the subscription from a LEARNER and a CONTENT_CREATOR of the publisher', async () => {
      for (const token of [pubLearner, pubCreator]) {
        expectProblem(await readOne(token), 404, 'SUBSCRIPTION_NOT_FOUND');
        expect(await listed(token)).toBeUndefined();
      }
    });
  });
});
