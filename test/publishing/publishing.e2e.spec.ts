import { LEARNING_BUILDER_EVENT_TYPES } from '../../src/config/hub-config';
import { Position, RecordedEvent, START } from '../../src/event-store/event-store.port';
import {
  eventIdFor,
  learningEventStream,
  parseEventId,
} from '../../src/publishing/learning-event.events';
import { eventually } from '../support/eventually';
import { testConfig } from '../support/hub-config';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  startHub,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;
type Body = Record<string, unknown>;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const PUB_ORG = 'org-publisher';
const OTHER_ORG = 'org-other';
const SUB_ORG = 'org-subscriber';
const SUB2_ORG = 'org-subscriber-2';
const PUB = 'PUB'; // the publisher's program
const PUB2 = 'PUB2'; // another program of the publisher's organisation
const LONG = 'P'.repeat(25); // a program id at the 25-character limit
const LST = 'LST'; // the publisher's program for the list tests
const BULK = 'BULK'; // the publisher's program for big batches
const OTH = 'OTH'; // another organisation's program
const SUBP = 'SUBP'; // the subscriber organisation's program
const SUBP2 = 'SUBP2'; // the second subscriber organisation's program
const UNREGISTERED = 'NOPE';

const LONG_SYSTEM_ID = 'S'.repeat(25);
const TOO_LONG_SYSTEM_ID = 'S'.repeat(26);
const LONG_EVENT_TYPE = 'T'.repeat(50);
const TOO_LONG_EVENT_TYPE = 'T'.repeat(51);
const DATA_MAX_BYTES = 1024;

const expectProblem = (response: Reply, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, ...(code === undefined ? {} : { code }) });
};

/** The fields the issues of a 400 name, sorted; every issue has a message. */
const issueFields = (response: Reply): string[] => {
  const issues = (response.body as { issues?: { field: string; message: string }[] }).issues;
  expect(Array.isArray(issues)).toBe(true);
  for (const issue of issues ?? [])
    expect(issue).toEqual({ field: expect.any(String), message: expect.any(String) });
  return (issues ?? []).map((issue) => issue.field).sort();
};

let sequence = 0;
/** A valid event of PUB with a fresh PublisherEventId, with `overrides` applied. */
const anEvent = (overrides: Body = {}): Body => ({
  PublisherProgramId: PUB,
  PublisherSystemId: 'LB',
  EventType: 'AI_COMP_SUCCESS',
  PublisherEventId: `AI:${++sequence}`,
  PublisherParticipantId: 'joebob@example.com',
  PublisherEventCategory: { value: 'COURSE', label: 'Course' },
  PublisherEventData: { course: 'Ethics 101', score: 9.5, passed: true },
  EventStartUtc: '2026-12-01T09:30:00Z',
  EventEndUtc: '2026-12-01T10:30:00Z',
  ...overrides,
});

const without = (event: Body, ...fields: string[]): Body =>
  Object.fromEntries(Object.entries(event).filter(([key]) => !fields.includes(key)));

/** PublisherEventData of exactly `bytes` bytes as UTF-8 JSON: {"x":"aaa..."}. */
const dataOfBytes = (bytes: number): Body => ({ x: 'a'.repeat(bytes - '{"x":""}'.length) });

/** Publishing, amending, retracting and reading events through the HTTP API. */
describe('Publishing API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let publisher: string; // PUBLISHER of PUB_ORG
  let pubAdmin: string; // ORG_ADMIN of PUB_ORG
  let otherPublisher: string; // PUBLISHER of OTHER_ORG
  let pubSubscriber: string; // SUBSCRIBER of PUB_ORG
  let learner: string; // LEARNER of PUB_ORG
  let subscriber: string; // SUBSCRIBER of SUB_ORG
  let subAdmin: string; // ORG_ADMIN of SUB_ORG
  let subscriber2: string; // SUBSCRIBER of SUB2_ORG

  const publish = (token: string | null, body: unknown, headers?: Record<string, string>) =>
    hub.call(token, 'POST', '/v1/events', body, headers);
  const publishBatch = (token: string | null, body: unknown) =>
    hub.call(token, 'POST', '/v1/events/batch', body);
  const streamOf = (eventId: string) => learningEventStream(parseEventId(eventId)!);
  const eventsOf = async (eventId: string): Promise<RecordedEvent[]> =>
    hub.store.readStream(streamOf(eventId));
  const typesOf = async (eventId: string) => (await eventsOf(eventId)).map((event) => event.type);

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async <T>(act: () => Promise<T>): Promise<T> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  /**
   * Everything appended to the log after `from`, once the log reads up to its head (reads see an
   * append only when every transaction that began before it has ended).
   */
  const appendedSince = async (from: Position | null): Promise<RecordedEvent[]> =>
    eventually(async () => {
      const head = await hub.store.headPosition();
      const all: RecordedEvent[] = [];
      let after: Position | typeof START = from ?? START;
      for (;;) {
        const page = await hub.store.readAll({ from: after, maxCount: 1_000 });
        all.push(...page);
        if (page.length < 1_000) break;
        after = page.at(-1)!.position;
      }
      expect(all.at(-1)?.position ?? from).toEqual(head);
      return all;
    });

  /** Expects the single-event publish of `body` to be refused with these issue fields. */
  const expectInvalid = async (body: unknown, fields: string[], token = publisher) => {
    const response = await expectNothingAppended(() => publish(token, body));
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(issueFields(response)).toEqual([...fields].sort());
    return response;
  };

  const registerProgram = async (programId: string, organisationId: string) => {
    const response = await hub.call(ADMIN_TOKEN, 'POST', '/v1/programs', {
      programId,
      organisationId,
      name: `Program ${programId}`,
    });
    expect(response.status).toBe(201);
  };

  const listEvents = async (token: string, query: string) => {
    const response = await hub.call(token, 'GET', `/v1/events?${query}`);
    expect(response.status).toBe(200);
    return response.body as { items: Body[]; nextCursor: string | null };
  };
  const idsOf = (items: Body[]) => items.map((item) => item.EventId as string);

  beforeAll(async () => {
    storage = await freshStorage('publishing-e2e');
    const defaults = testConfig(storage.storage).clearinghouse;
    hub = await startHub(storage.storage, {
      clearinghouse: {
        ...defaults,
        eventDataMaxBytes: DATA_MAX_BYTES,
        publisherSystemIds: ['LB', 'XS', LONG_SYSTEM_ID, TOO_LONG_SYSTEM_ID],
        eventTypes: [...LEARNING_BUILDER_EVENT_TYPES, LONG_EVENT_TYPE, TOO_LONG_EVENT_TYPE],
      },
    });
    [
      publisher,
      pubAdmin,
      otherPublisher,
      pubSubscriber,
      learner,
      subscriber,
      subAdmin,
      subscriber2,
    ] = await Promise.all([
      issueKey(hub, 'lb-publisher', PUB_ORG, ['PUBLISHER']),
      issueKey(hub, 'pub-admin', PUB_ORG, ['ORG_ADMIN']),
      issueKey(hub, 'other-publisher', OTHER_ORG, ['PUBLISHER']),
      issueKey(hub, 'pub-subscriber', PUB_ORG, ['SUBSCRIBER']),
      issueKey(hub, 'pub-learner', PUB_ORG, ['LEARNER']),
      issueKey(hub, 'subscriber', SUB_ORG, ['SUBSCRIBER']),
      issueKey(hub, 'sub-admin', SUB_ORG, ['ORG_ADMIN']),
      issueKey(hub, 'subscriber-2', SUB2_ORG, ['SUBSCRIBER']),
    ]);
    for (const [programId, org] of [
      [PUB, PUB_ORG],
      [PUB2, PUB_ORG],
      [LONG, PUB_ORG],
      [LST, PUB_ORG],
      [BULK, PUB_ORG],
      [OTH, OTHER_ORG],
      [SUBP, SUB_ORG],
      [SUBP2, SUB2_ORG],
    ] as const)
      await registerProgram(programId, org);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('publishing one event', () => {
    it('answers 201 with the EventId, Location, ETag and the normalised event', async () => {
      const sent = anEvent({
        PublisherEventId: 'AI:first',
        EventStartUtc: '2026-12-01T11:30:00+02:00',
        EventEndUtc: '2026-12-01T10:30:00.5Z',
      });
      const response = await publish(publisher, sent);
      expect(response.status).toBe(201);
      const eventId = eventIdFor(PUB, 'AI:first');
      expect(eventId).toMatch(new RegExp(`^${PUB}-${UUID}$`));
      expect(response.headers.get('location')).toBe(`/v1/events/${eventId}`);
      expect(response.headers.get('etag')).toBe('"0"');
      expect(response.body).toEqual({
        EventId: eventId,
        PublisherProgramId: PUB,
        PublisherSystemId: 'LB',
        EventType: 'AI_COMP_SUCCESS',
        PublisherEventId: 'AI:first',
        PublisherParticipantId: 'joebob@example.com',
        PublisherEventCategory: { value: 'COURSE', label: 'Course' },
        PublisherEventData: { course: 'Ethics 101', score: 9.5, passed: true },
        EventStartUtc: '2026-12-01T09:30:00.000Z',
        EventEndUtc: '2026-12-01T10:30:00.500Z',
        CreatedUtc: expect.stringMatching(ISO),
        AmendedUtc: null,
      });
      const events = await eventsOf(eventId);
      expect(events.map((event) => event.type)).toEqual(['LearningEventPublished']);
      expect(events[0]?.data).toEqual(without(response.body, 'AmendedUtc'));

      // Optional fields may be left out: no category, no end.
      const minimal = await publish(
        publisher,
        without(anEvent(), 'PublisherEventCategory', 'EventEndUtc'),
      );
      expect(minimal.status).toBe(201);
      expect(minimal.body).toMatchObject({ PublisherEventCategory: null, EventEndUtc: null });
      const nulls = await publish(
        publisher,
        anEvent({ PublisherEventCategory: null, EventEndUtc: null, PublisherEventData: {} }),
      );
      expect(nulls.status).toBe(201);
      const noLabel = await publish(
        publisher,
        anEvent({ PublisherEventCategory: { value: 'COURSE' } }),
      );
      expect(noLabel.status).toBe(201);
      expect(noLabel.body.PublisherEventCategory).toEqual({ value: 'COURSE', label: null });
    });
  });

  describe('field limits and malformed events (400, nothing stored)', () => {
    it('accepts every field at its limit', async () => {
      const atLimit = [
        anEvent({ PublisherProgramId: LONG }),
        anEvent({ PublisherSystemId: LONG_SYSTEM_ID }),
        anEvent({ PublisherSystemId: 'XS' }),
        anEvent({ EventType: LONG_EVENT_TYPE }),
        anEvent({ PublisherEventId: 'E'.repeat(200) }),
        anEvent({ PublisherParticipantId: 'U'.repeat(200) }),
        anEvent({ PublisherEventCategory: { value: 'C'.repeat(100), label: 'L'.repeat(200) } }),
        anEvent({ PublisherEventData: dataOfBytes(DATA_MAX_BYTES) }),
        // Multi-byte text counts in UTF-8 bytes: 508 × 2 bytes + 8 = 1024.
        anEvent({ PublisherEventData: { x: 'é'.repeat(508) } }),
        anEvent({ EventEndUtc: '2026-12-01T09:30:00Z' }), // ends when it starts
      ];
      for (const event of atLimit) {
        const response = await publish(publisher, event);
        expect({ sent: event, status: response.status, body: response.body }).toMatchObject({
          status: 201,
        });
      }
      for (const eventType of LEARNING_BUILDER_EVENT_TYPES)
        expect((await publish(publisher, anEvent({ EventType: eventType }))).status).toBe(201);
    });

    it('refuses every field one over its limit', async () => {
      await expectInvalid(anEvent({ PublisherProgramId: `${LONG}X` }), ['PublisherProgramId']);
      await expectInvalid(anEvent({ PublisherSystemId: TOO_LONG_SYSTEM_ID }), [
        'PublisherSystemId',
      ]);
      await expectInvalid(anEvent({ EventType: TOO_LONG_EVENT_TYPE }), ['EventType']);
      await expectInvalid(anEvent({ PublisherEventId: 'E'.repeat(201) }), ['PublisherEventId']);
      await expectInvalid(anEvent({ PublisherParticipantId: 'U'.repeat(201) }), [
        'PublisherParticipantId',
      ]);
      await expectInvalid(anEvent({ PublisherEventCategory: { value: 'C'.repeat(101) } }), [
        'PublisherEventCategory.value',
      ]);
      await expectInvalid(
        anEvent({ PublisherEventCategory: { value: 'COURSE', label: 'L'.repeat(201) } }),
        ['PublisherEventCategory.label'],
      );
      const tooBig = await expectInvalid(
        anEvent({ PublisherEventData: dataOfBytes(DATA_MAX_BYTES + 1) }),
        ['PublisherEventData'],
      );
      expect(tooBig.body.issues[0].message).toContain(String(DATA_MAX_BYTES));
      await expectInvalid(anEvent({ PublisherEventData: { x: 'é'.repeat(509) } }), [
        'PublisherEventData',
      ]);
    });

    it('refuses missing required fields, listing each', async () => {
      for (const field of [
        'PublisherProgramId',
        'PublisherSystemId',
        'EventType',
        'PublisherEventId',
        'PublisherParticipantId',
        'PublisherEventData',
        'EventStartUtc',
      ]) {
        await expectInvalid(without(anEvent(), field), [field]);
        await expectInvalid(anEvent({ [field]: null }), [field]);
      }
      await expectInvalid({}, [
        'EventStartUtc',
        'EventType',
        'PublisherEventData',
        'PublisherEventId',
        'PublisherParticipantId',
        'PublisherProgramId',
        'PublisherSystemId',
      ]);
    });

    it('refuses wrong types, empty and control-character values', async () => {
      await expectInvalid(anEvent({ PublisherProgramId: 42 }), ['PublisherProgramId']);
      await expectInvalid(anEvent({ PublisherSystemId: ['LB'] }), ['PublisherSystemId']);
      await expectInvalid(anEvent({ EventType: true }), ['EventType']);
      await expectInvalid(anEvent({ PublisherEventId: 1234 }), ['PublisherEventId']);
      await expectInvalid(anEvent({ PublisherParticipantId: { id: 1 } }), [
        'PublisherParticipantId',
      ]);
      await expectInvalid(anEvent({ PublisherEventData: 'score=9' }), ['PublisherEventData']);
      await expectInvalid(anEvent({ PublisherEventData: [1, 2] }), ['PublisherEventData']);
      await expectInvalid(anEvent({ PublisherEventCategory: 'COURSE' }), [
        'PublisherEventCategory',
      ]);
      await expectInvalid(anEvent({ PublisherEventCategory: { value: 7 } }), [
        'PublisherEventCategory.value',
      ]);
      await expectInvalid(anEvent({ PublisherEventCategory: { label: 'no value' } }), [
        'PublisherEventCategory.value',
      ]);
      await expectInvalid(anEvent({ PublisherEventCategory: { value: '*_default' } }), [
        'PublisherEventCategory.value',
      ]);
      await expectInvalid(anEvent({ EventStartUtc: 1764581400000 }), ['EventStartUtc']);
      await expectInvalid(anEvent({ EventStartUtc: '2026-12-01T09:30:00' }), ['EventStartUtc']);
      await expectInvalid(anEvent({ EventStartUtc: '2026-02-30T09:30:00Z' }), ['EventStartUtc']);
      await expectInvalid(anEvent({ EventStartUtc: 'yesterday' }), ['EventStartUtc']);
      await expectInvalid(anEvent({ EventEndUtc: false }), ['EventEndUtc']);
      await expectInvalid(anEvent({ PublisherEventId: '' }), ['PublisherEventId']);
      await expectInvalid(anEvent({ PublisherParticipantId: '   ' }), ['PublisherParticipantId']);
      await expectInvalid(anEvent({ PublisherEventId: 'AI:\n1' }), ['PublisherEventId']);
      await expectInvalid(anEvent({ PublisherProgramId: 'PUB/x' }), ['PublisherProgramId']);
      // NUL cannot be stored at all: the edge refuses it, naming where it was, before any field
      // check runs.
      for (const [event, field] of [
        [anEvent({ PublisherParticipantId: 'a\u0000b' }), '#/PublisherParticipantId'],
        [anEvent({ PublisherEventData: { note: 'a\u0000b' } }), '#/PublisherEventData/note'],
      ] as const) {
        const response = await expectNothingAppended(() => publish(publisher, event));
        expectProblem(response, 400, 'INVALID_TEXT');
        expect(issueFields(response)).toEqual([field]);
      }
      // Several problems at once are all reported.
      await expectInvalid(anEvent({ PublisherProgramId: 42, EventType: 1, EventStartUtc: 'x' }), [
        'EventStartUtc',
        'EventType',
        'PublisherProgramId',
      ]);
    });

    it('refuses unknown fields and the fields the hub assigns', async () => {
      await expectInvalid(anEvent({ Score: 10 }), ['Score']);
      await expectInvalid(anEvent({ publisherEventId: 'lowercase' }), ['publisherEventId']);
      await expectInvalid(anEvent({ PublisherEventCategory: { value: 'COURSE', colour: 'red' } }), [
        'PublisherEventCategory.colour',
      ]);
      await expectInvalid(anEvent({ EventId: eventIdFor(PUB, 'mine') }), ['EventId']);
      await expectInvalid(anEvent({ CreatedUtc: '2026-12-01T09:30:00Z' }), ['CreatedUtc']);
      await expectInvalid(anEvent({ AmendedUtc: '2026-12-01T09:30:00Z' }), ['AmendedUtc']);
    });

    it('refuses a PublisherSystemId or EventType the hub is not configured to accept', async () => {
      const system = await expectInvalid(anEvent({ PublisherSystemId: 'ZZ' }), [
        'PublisherSystemId',
      ]);
      expect(system.body.issues[0].message).toContain('LB');
      await expectInvalid(anEvent({ PublisherSystemId: 'lb' }), ['PublisherSystemId']);
      await expectInvalid(anEvent({ EventType: 'COURSE_COMPLETED' }), ['EventType']);
    });

    it('refuses an end before the start', async () => {
      const response = await expectInvalid(
        anEvent({ EventStartUtc: '2026-12-01T10:00:00Z', EventEndUtc: '2026-12-01T09:59:59.999Z' }),
        ['EventEndUtc'],
      );
      expect(response.body.issues[0].message).toMatch(/before/);
      // The comparison is on instants, not on the text as sent.
      await expectInvalid(
        anEvent({
          EventStartUtc: '2026-12-01T10:00:00Z',
          EventEndUtc: '2026-12-01T11:00:00+02:00',
        }),
        ['EventEndUtc'],
      );
    });

    it('refuses a body that is not valid JSON: 400 MALFORMED_JSON', async () => {
      const malformed = await expectNothingAppended(() =>
        publish(publisher, '{"PublisherProgramId": "PUB",'),
      );
      expectProblem(malformed, 400, 'MALFORMED_JSON');
      const batch = await expectNothingAppended(() => publishBatch(publisher, '[{"a": 1},'));
      expectProblem(batch, 400, 'MALFORMED_JSON');
    });

    it('refuses bodies that are not one JSON object', async () => {
      for (const body of ['[]', '"an event"', '42', 'null', JSON.stringify([anEvent()])]) {
        const response = await expectNothingAppended(() => publish(publisher, body));
        expectProblem(response, 400, 'VALIDATION_FAILED');
        expect(issueFields(response)).toEqual(['']);
      }
      const empty = await expectNothingAppended(() =>
        hub.call(publisher, 'POST', '/v1/events', undefined, {
          'content-type': 'application/json',
        }),
      );
      expectProblem(empty, 400);
    });
  });

  describe('program authorisation', () => {
    it('refuses a publisher of another organisation: 403 PROGRAM_NOT_YOURS', async () => {
      const response = await expectNothingAppended(() => publish(otherPublisher, anEvent()));
      expectProblem(response, 403, 'PROGRAM_NOT_YOURS');
      // And the other way round: the publisher may not publish for OTH.
      const mine = await expectNothingAppended(() =>
        publish(publisher, anEvent({ PublisherProgramId: OTH })),
      );
      expectProblem(mine, 403, 'PROGRAM_NOT_YOURS');
      // Its own program is fine.
      expect((await publish(otherPublisher, anEvent({ PublisherProgramId: OTH }))).status).toBe(
        201,
      );
    });

    it('refuses an unregistered program: 403', async () => {
      const response = await expectNothingAppended(() =>
        publish(publisher, anEvent({ PublisherProgramId: UNREGISTERED })),
      );
      expectProblem(response, 403, 'PROGRAM_NOT_YOURS');
    });

    it('accepts a program’s events as soon as it is registered', async () => {
      const early = await expectNothingAppended(() =>
        publish(publisher, anEvent({ PublisherProgramId: 'LATE' })),
      );
      expectProblem(early, 403, 'PROGRAM_NOT_YOURS');
      await registerProgram('LATE', PUB_ORG);
      expect((await publish(publisher, anEvent({ PublisherProgramId: 'LATE' }))).status).toBe(201);
    });

    it('refuses callers without the PUBLISHER role: 403 MISSING_ROLE', async () => {
      for (const token of [pubSubscriber, learner, pubAdmin, subscriber]) {
        const response = await expectNothingAppended(() => publish(token, anEvent()));
        expectProblem(response, 403, 'MISSING_ROLE');
        expectProblem(await publishBatch(token, [anEvent()]), 403, 'MISSING_ROLE');
      }
    });

    it('lets a system admin publish for any registered program', async () => {
      const response = await publish(ADMIN_TOKEN, anEvent({ PublisherProgramId: OTH }));
      expect(response.status).toBe(201);
      expect(response.body.EventId).toMatch(new RegExp(`^${OTH}-${UUID}$`));
      const unknown = await expectNothingAppended(() =>
        publish(ADMIN_TOKEN, anEvent({ PublisherProgramId: UNREGISTERED })),
      );
      expectProblem(unknown, 404, 'PROGRAM_NOT_FOUND');
    });

    it('refuses a request without a valid token: 401', async () => {
      await expectNothingAppended(async () => {
        expectProblem(await publish(null, anEvent()), 401);
        expectProblem(await publish('not-a-real-token-0123456789abcdef', anEvent()), 401);
        expectProblem(await publishBatch(null, [anEvent()]), 401);
        expectProblem(await hub.call(null, 'GET', '/v1/events'), 401);
      });
    });
  });

  describe('idempotent retries', () => {
    it('answers the same event again with 200 and the original, recording nothing', async () => {
      const sent = anEvent({ PublisherEventId: 'AI:retry' });
      const first = await publish(publisher, sent);
      expect(first.status).toBe(201);
      const eventId = first.body.EventId as string;
      await new Promise((resolve) => setTimeout(resolve, 5));

      const again = await expectNothingAppended(() => publish(publisher, sent));
      expect(again.status).toBe(200);
      expect(again.headers.get('location')).toBe(`/v1/events/${eventId}`);
      expect(again.headers.get('etag')).toBe('"0"');
      expect(again.body).toEqual(first.body);

      // The same content written differently (key order, an equivalent instant) is the same.
      const reordered = await expectNothingAppended(() =>
        publish(publisher, {
          EventEndUtc: '2026-12-01T12:30:00+02:00',
          PublisherEventData: { passed: true, score: 9.5, course: 'Ethics 101' },
          ...without(sent, 'EventEndUtc', 'PublisherEventData'),
        }),
      );
      expect(reordered.status).toBe(200);
      expect(reordered.body.CreatedUtc).toBe(first.body.CreatedUtc);

      // The system admin resending it gets the original too.
      const byAdmin = await expectNothingAppended(() => publish(ADMIN_TOKEN, sent));
      expect(byAdmin.status).toBe(200);
      expect(byAdmin.body.EventId).toBe(eventId);

      expect(await typesOf(eventId)).toEqual(['LearningEventPublished']);
    });

    it('gives the same PublisherEventId of different programs different EventIds', async () => {
      const a = await publish(publisher, anEvent({ PublisherEventId: 'shared-id' }));
      const b = await publish(
        publisher,
        anEvent({ PublisherEventId: 'shared-id', PublisherProgramId: PUB2 }),
      );
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.EventId).not.toBe(b.body.EventId);
      expect(b.body.EventId).toMatch(new RegExp(`^${PUB2}-${UUID}$`));
    });

    it('records one event when the same event is sent ten times at once', async () => {
      const sent = anEvent({ PublisherEventId: 'AI:concurrent' });
      const before = await hub.store.headPosition();
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => publish(publisher, sent)),
      );
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      const eventIds = new Set(responses.map((response) => response.body.EventId));
      expect(eventIds).toEqual(new Set([eventIdFor(PUB, 'AI:concurrent')]));
      const createdUtcs = new Set(responses.map((response) => response.body.CreatedUtc));
      expect(createdUtcs.size).toBe(1);
      const appended = await appendedSince(before);
      expect(appended.map((event) => [event.type, event.stream])).toEqual([
        ['LearningEventPublished', streamOf(eventIdFor(PUB, 'AI:concurrent'))],
      ]);
    });
  });

  describe('conflicts', () => {
    it('keeps one of several different events sent at once under one id', async () => {
      const before = await hub.store.headPosition();
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          publish(
            publisher,
            anEvent({ PublisherEventId: 'AI:race', PublisherEventData: { attempt: index } }),
          ),
        ),
      );
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
      const winner = responses.find((response) => response.status === 201)!;
      for (const loser of responses.filter((response) => response.status === 409))
        expectProblem(loser, 409, 'EVENT_CONFLICT');
      const appended = await appendedSince(before);
      expect(appended).toHaveLength(1);
      expect(appended[0]?.data).toMatchObject({
        PublisherEventData: winner.body.PublisherEventData,
      });
    });

    it('refuses the same PublisherEventId with other content: 409 EVENT_CONFLICT', async () => {
      const sent = anEvent({ PublisherEventId: 'AI:conflict' });
      const first = await publish(publisher, sent);
      expect(first.status).toBe(201);
      for (const changed of [
        { ...sent, PublisherParticipantId: 'someone-else' },
        { ...sent, PublisherEventData: { course: 'Ethics 101', score: 3 } },
        { ...sent, EventType: 'AI_COMP_UNSUCCESS' },
        { ...sent, PublisherEventCategory: null },
        { ...sent, PublisherEventCategory: { value: 'COURSE', label: 'Another label' } },
        { ...sent, EventEndUtc: null },
        { ...sent, PublisherSystemId: 'XS' },
      ]) {
        const response = await expectNothingAppended(() => publish(publisher, changed));
        expectProblem(response, 409, 'EVENT_CONFLICT');
      }
      const read = await hub.call(publisher, 'GET', `/v1/events/${first.body.EventId}`);
      expect(read.body).toEqual(first.body);
      expect(await typesOf(first.body.EventId)).toEqual(['LearningEventPublished']);
    });
  });

  describe('amendments', () => {
    let original: Body;
    let eventId: string;
    let createdUtc: string;
    let corrected: Body;

    beforeAll(async () => {
      original = anEvent({ PublisherEventId: 'AI:amend' });
      const response = await publish(publisher, original);
      expect(response.status).toBe(201);
      eventId = response.body.EventId;
      createdUtc = response.body.CreatedUtc;
    });

    it('records a correction sent with PUT: 200, AmendedUtc set, ETag "1"', async () => {
      corrected = {
        ...original,
        PublisherEventData: { course: 'Ethics 101', score: 7, passed: true },
        PublisherEventCategory: { value: 'EXAM', label: 'Exam' },
      };
      const response = await hub.call(publisher, 'PUT', `/v1/events/${eventId}`, corrected);
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe('"1"');
      expect(response.body).toEqual({
        EventId: eventId,
        ...corrected,
        EventStartUtc: '2026-12-01T09:30:00.000Z',
        EventEndUtc: '2026-12-01T10:30:00.000Z',
        CreatedUtc: createdUtc,
        AmendedUtc: expect.stringMatching(ISO),
      });
      expect(response.body.AmendedUtc >= createdUtc).toBe(true);
      const events = await eventsOf(eventId);
      expect(events.map((event) => event.type)).toEqual([
        'LearningEventPublished',
        'LearningEventAmended',
      ]);
      expect(events[1]?.data).toMatchObject({
        EventId: eventId,
        PublisherEventData: corrected.PublisherEventData,
        CreatedUtc: createdUtc,
        AmendedUtc: response.body.AmendedUtc,
      });
      const read = await hub.call(publisher, 'GET', `/v1/events/${eventId}`);
      expect(read.status).toBe(200);
      expect(read.headers.get('etag')).toBe('"1"');
      expect(read.body).toEqual(response.body);
      // The read model shows the correction too.
      await eventually(async () => {
        const { items } = await listEvents(publisher, `programId=${PUB}&category=EXAM`);
        expect(items.find((item) => item.EventId === eventId)).toMatchObject({
          PublisherEventData: corrected.PublisherEventData,
          AmendedUtc: response.body.AmendedUtc,
          RetractedUtc: null,
        });
      });
    });

    it('records nothing for an identical PUT', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(publisher, 'PUT', `/v1/events/${eventId}`, corrected),
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe('"1"');
      expect(response.body).toMatchObject({ PublisherEventData: corrected.PublisherEventData });
    });

    it('refuses a PUT naming another PublisherEventId or program: 400 EVENT_ID_MISMATCH', async () => {
      await expectNothingAppended(async () => {
        const otherId = await hub.call(publisher, 'PUT', `/v1/events/${eventId}`, {
          ...corrected,
          PublisherEventId: 'AI:someone-else',
        });
        expectProblem(otherId, 400, 'EVENT_ID_MISMATCH');
        const otherProgram = await hub.call(publisher, 'PUT', `/v1/events/${eventId}`, {
          ...corrected,
          PublisherProgramId: PUB2,
        });
        expectProblem(otherProgram, 400, 'EVENT_ID_MISMATCH');
        const invalid = await hub.call(publisher, 'PUT', `/v1/events/${eventId}`, {
          ...corrected,
          EventType: 'NOT_A_TYPE',
        });
        expectProblem(invalid, 400, 'VALIDATION_FAILED');
        expect(issueFields(invalid)).toEqual(['EventType']);
      });
    });

    it('honours If-Match: 412 when stale, the change when current', async () => {
      const next = { ...corrected, PublisherParticipantId: 'joebob@example.org' };
      const stale = await expectNothingAppended(() =>
        hub.call(publisher, 'PUT', `/v1/events/${eventId}`, next, { 'if-match': '"0"' }),
      );
      expectProblem(stale, 412, 'STALE_REVISION');
      const current = await hub.call(publisher, 'PUT', `/v1/events/${eventId}`, next, {
        'if-match': '"1"',
      });
      expect(current.status).toBe(200);
      expect(current.headers.get('etag')).toBe('"2"');
      expect(current.body.PublisherParticipantId).toBe('joebob@example.org');
      corrected = next;
    });

    it('lets only one of two concurrent corrections based on the same revision through', async () => {
      const [a, b] = await Promise.all(
        ['a', 'b'].map((which) =>
          hub.call(
            publisher,
            'PUT',
            `/v1/events/${eventId}`,
            { ...corrected, PublisherEventData: { which } },
            { 'if-match': '"2"' },
          ),
        ),
      );
      expect([a!.status, b!.status].sort()).toEqual([200, 412]);
      const winner = a!.status === 200 ? a! : b!;
      expect(winner.headers.get('etag')).toBe('"3"');
      corrected = { ...corrected, PublisherEventData: winner.body.PublisherEventData };
      const read = await hub.call(publisher, 'GET', `/v1/events/${eventId}`);
      expect(read.headers.get('etag')).toBe('"3"');
      expect(read.body.PublisherEventData).toEqual(winner.body.PublisherEventData);
    });

    it('answers 404 for an event never published, and 403 for another organisation', async () => {
      const unknown = eventIdFor(PUB, 'AI:never');
      const response = await expectNothingAppended(() =>
        hub.call(
          publisher,
          'PUT',
          `/v1/events/${unknown}`,
          anEvent({ PublisherEventId: 'AI:never' }),
        ),
      );
      expectProblem(response, 404, 'EVENT_NOT_FOUND');
      const foreign = await expectNothingAppended(() =>
        hub.call(otherPublisher, 'PUT', `/v1/events/${eventId}`, {
          ...corrected,
          PublisherEventData: { hijacked: true },
        }),
      );
      expectProblem(foreign, 403, 'PROGRAM_NOT_YOURS');
      expectProblem(
        await hub.call(subscriber, 'PUT', `/v1/events/${eventId}`, corrected),
        403,
        'MISSING_ROLE',
      );
    });

    it('answers a resend of the original or the corrected content with 200, recording nothing', async () => {
      const resent = await expectNothingAppended(() => publish(publisher, original));
      expect(resent.status).toBe(200);
      expect(resent.body).toMatchObject({ EventId: eventId, CreatedUtc: createdUtc });
      const resentCorrection = await expectNothingAppended(() => publish(publisher, corrected));
      expect(resentCorrection.status).toBe(200);
      expect(resentCorrection.body.EventId).toBe(eventId);
      // Content that is neither is still a conflict.
      const third = await expectNothingAppended(() =>
        publish(publisher, { ...original, PublisherEventData: { third: true } }),
      );
      expectProblem(third, 409, 'EVENT_CONFLICT');
      expect(await typesOf(eventId)).toEqual([
        'LearningEventPublished',
        'LearningEventAmended',
        'LearningEventAmended',
        'LearningEventAmended',
      ]);
    });
  });

  describe('retraction', () => {
    let sent: Body;
    let eventId: string;

    beforeAll(async () => {
      sent = anEvent({ PublisherEventId: 'AI:retract', PublisherParticipantId: 'retract-1' });
      const response = await publish(publisher, sent);
      expect(response.status).toBe(201);
      eventId = response.body.EventId;
      // Listed before it is retracted.
      await eventually(async () => {
        const { items } = await listEvents(publisher, 'participantId=retract-1');
        expect(idsOf(items)).toEqual([eventId]);
      });
    });

    it('refuses another organisation, a stale If-Match and an unknown event', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(otherPublisher, 'DELETE', `/v1/events/${eventId}`),
          403,
          'PROGRAM_NOT_YOURS',
        );
        expectProblem(
          await hub.call(publisher, 'DELETE', `/v1/events/${eventId}`, undefined, {
            'if-match': '"3"',
          }),
          412,
          'STALE_REVISION',
        );
        expectProblem(
          await hub.call(publisher, 'DELETE', `/v1/events/${eventIdFor(PUB, 'AI:nothing')}`),
          404,
          'EVENT_NOT_FOUND',
        );
      });
    });

    it('retracts with DELETE: 204, and again 204 recording nothing', async () => {
      const response = await hub.call(publisher, 'DELETE', `/v1/events/${eventId}`, undefined, {
        'if-match': '"0"',
      });
      expect(response.status).toBe(204);
      expect(response.body).toBeNull();
      const events = await eventsOf(eventId);
      expect(events.map((event) => event.type)).toEqual([
        'LearningEventPublished',
        'LearningEventRetracted',
      ]);
      expect(events[1]?.data).toMatchObject({
        EventId: eventId,
        PublisherEventId: 'AI:retract',
        RetractedUtc: expect.stringMatching(ISO),
      });
      const again = await expectNothingAppended(() =>
        hub.call(publisher, 'DELETE', `/v1/events/${eventId}`),
      );
      expect(again.status).toBe(204);
    });

    it('answers GET with 410, PUT and POST with 409 EVENT_RETRACTED', async () => {
      await expectNothingAppended(async () => {
        const read = await hub.call(publisher, 'GET', `/v1/events/${eventId}`);
        expectProblem(read, 410, 'EVENT_RETRACTED');
        expect(read.body.retractedUtc).toMatch(ISO);
        expectProblem(
          await hub.call(publisher, 'PUT', `/v1/events/${eventId}`, {
            ...sent,
            PublisherEventData: { corrected: true },
          }),
          409,
          'EVENT_RETRACTED',
        );
        expectProblem(await publish(publisher, sent), 409, 'EVENT_RETRACTED');
        expectProblem(
          await publish(publisher, { ...sent, PublisherEventData: { other: true } }),
          409,
          'EVENT_RETRACTED',
        );
      });
    });

    it('hides retracted events from GET /v1/events unless includeRetracted=true', async () => {
      await eventually(async () => {
        const { items } = await listEvents(publisher, 'participantId=retract-1');
        expect(items).toEqual([]);
      });
      const { items } = await listEvents(
        publisher,
        'participantId=retract-1&includeRetracted=true',
      );
      expect(items).toEqual([
        expect.objectContaining({ EventId: eventId, RetractedUtc: expect.stringMatching(ISO) }),
      ]);
      expect(
        (await listEvents(publisher, 'participantId=retract-1&includeRetracted=false')).items,
      ).toEqual([]);
    });
  });

  describe('batches', () => {
    it('answers each event of a mixed batch on its own and stores exactly the valid ones', async () => {
      const published = anEvent({ PublisherEventId: 'AI:batch-before' });
      expect((await publish(publisher, published)).status).toBe(201);
      const valid1 = anEvent({ PublisherEventId: 'AI:batch-1' });
      const valid2 = anEvent({ PublisherEventId: 'AI:batch-2', PublisherParticipantId: 'b2' });
      const batch = [
        valid1,
        anEvent({ PublisherEventId: 'AI:batch-bad', EventType: 'NOPE', Extra: 1 }),
        { ...valid1 }, // the same event again, in the same batch
        valid2,
        { ...valid2, PublisherParticipantId: 'someone-else' }, // same id, other content
        anEvent({ PublisherEventId: 'AI:batch-oth', PublisherProgramId: OTH }),
        anEvent({ PublisherEventId: 'AI:batch-unregistered', PublisherProgramId: UNREGISTERED }),
        published, // published before
        'not an event',
      ];
      const before = await hub.store.headPosition();
      const response = await publishBatch(publisher, batch);
      expect(response.status).toBe(200);
      const id1 = eventIdFor(PUB, 'AI:batch-1');
      const id2 = eventIdFor(PUB, 'AI:batch-2');
      expect(response.body).toEqual({
        created: 2,
        duplicates: 2,
        failed: 5,
        results: [
          { index: 0, status: 201, EventId: id1 },
          {
            index: 1,
            status: 400,
            code: 'VALIDATION_FAILED',
            detail: expect.any(String),
            issues: expect.arrayContaining([
              { field: 'Extra', message: expect.any(String) },
              { field: 'EventType', message: expect.any(String) },
            ]),
          },
          { index: 2, status: 200, EventId: id1 },
          { index: 3, status: 201, EventId: id2 },
          expect.objectContaining({ index: 4, status: 409, code: 'EVENT_CONFLICT' }),
          expect.objectContaining({ index: 5, status: 403, code: 'PROGRAM_NOT_YOURS' }),
          expect.objectContaining({ index: 6, status: 403, code: 'PROGRAM_NOT_YOURS' }),
          { index: 7, status: 200, EventId: eventIdFor(PUB, 'AI:batch-before') },
          expect.objectContaining({ index: 8, status: 400, code: 'VALIDATION_FAILED' }),
        ],
      });
      expect(response.body.results[1].issues).toHaveLength(2);
      const appended = await appendedSince(before);
      expect(appended.map((event) => [event.type, event.stream]).sort()).toEqual(
        [
          ['LearningEventPublished', streamOf(id1)],
          ['LearningEventPublished', streamOf(id2)],
        ].sort(),
      );
      // The first of two events under one id is the one stored.
      const stored = await hub.call(publisher, 'GET', `/v1/events/${id2}`);
      expect(stored.body.PublisherParticipantId).toBe('b2');
    });

    it('refuses an empty, oversized or malformed batch: 400 INVALID_BATCH, nothing stored', async () => {
      const oversized = Array.from({ length: 1001 }, (_, index) =>
        anEvent({ PublisherProgramId: BULK, PublisherEventId: `over-${index}` }),
      );
      for (const body of [
        [],
        oversized,
        { events: [] },
        { events: oversized },
        {},
        { events: 'none' },
        { event: [anEvent()] },
        anEvent(),
        '"events"',
        '42',
        'null',
      ]) {
        const response = await expectNothingAppended(() => publishBatch(publisher, body));
        expectProblem(response, 400, 'INVALID_BATCH');
        expect(issueFields(response)).toEqual(['events']);
      }
    });

    it('accepts {"events": [...]}', async () => {
      const events = [
        anEvent({ PublisherEventId: 'AI:wrapped-1' }),
        anEvent({ PublisherEventId: 'AI:wrapped-2' }),
      ];
      const response = await publishBatch(publisher, { events });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        created: 2,
        duplicates: 0,
        failed: 0,
        results: [
          { index: 0, status: 201, EventId: eventIdFor(PUB, 'AI:wrapped-1') },
          { index: 1, status: 201, EventId: eventIdFor(PUB, 'AI:wrapped-2') },
        ],
      });
      const read = await hub.call(
        publisher,
        'GET',
        `/v1/events/${eventIdFor(PUB, 'AI:wrapped-2')}`,
      );
      expect(read.status).toBe(200);
      expect(read.body.PublisherEventId).toBe('AI:wrapped-2');
    });

    it('publishes a batch of 1,000 events, and records nothing when it is resent', async () => {
      const events = Array.from({ length: 1000 }, (_, index) =>
        anEvent({
          PublisherProgramId: BULK,
          PublisherEventId: `bulk-${index}`,
          PublisherParticipantId: `learner-${index % 37}`,
          PublisherEventData: { index },
        }),
      );
      const before = await hub.store.headPosition();
      const response = await publishBatch(publisher, events);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ created: 1000, duplicates: 0, failed: 0 });
      expect(response.body.results).toEqual(
        events.map((_, index) => ({
          index,
          status: 201,
          EventId: eventIdFor(BULK, `bulk-${index}`),
        })),
      );
      const appended = await appendedSince(before);
      expect(appended).toHaveLength(1000);
      expect(new Set(appended.map((event) => event.stream)).size).toBe(1000);
      expect(appended.every((event) => event.type === 'LearningEventPublished')).toBe(true);

      const resent = await expectNothingAppended(() => publishBatch(publisher, events));
      expect(resent.status).toBe(200);
      expect(resent.body).toMatchObject({ created: 0, duplicates: 1000, failed: 0 });
      await eventually(async () => {
        const { items } = await listEvents(publisher, `programId=${BULK}&limit=1000`);
        expect(items).toHaveLength(1000);
      });
    });
  });

  describe('reading one event', () => {
    let courseId: string;
    let examId: string;
    let uncategorisedId: string;
    let pub2Id: string;

    beforeAll(async () => {
      const results = await Promise.all([
        publish(publisher, anEvent({ PublisherParticipantId: 'reader-1' })),
        publish(
          publisher,
          anEvent({
            PublisherParticipantId: 'reader-1',
            PublisherEventCategory: { value: 'EXAM', label: 'Exam' },
          }),
        ),
        publish(
          publisher,
          anEvent({ PublisherParticipantId: 'reader-1', PublisherEventCategory: null }),
        ),
        publish(
          publisher,
          anEvent({ PublisherParticipantId: 'reader-1', PublisherProgramId: PUB2 }),
        ),
      ]);
      expect(results.map((result) => result.status)).toEqual([201, 201, 201, 201]);
      [courseId, examId, uncategorisedId, pub2Id] = results.map((result) => result.body.EventId);
    });

    it('shows an event to its publisher, the organisation’s admin and a system admin', async () => {
      for (const token of [publisher, pubAdmin, ADMIN_TOKEN]) {
        const response = await hub.call(token, 'GET', `/v1/events/${courseId}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('etag')).toBe('"0"');
        expect(response.body).toMatchObject({
          EventId: courseId,
          PublisherParticipantId: 'reader-1',
          CreatedUtc: expect.stringMatching(ISO),
          AmendedUtc: null,
        });
      }
    });

    it('answers 404 to other organisations and to subscribers without an approved subscription', async () => {
      for (const token of [otherPublisher, subscriber, subAdmin, subscriber2])
        expectProblem(
          await hub.call(token, 'GET', `/v1/events/${courseId}`),
          404,
          'EVENT_NOT_FOUND',
        );
      // A SUBSCRIBER of the publisher's own organisation is no publisher.
      expectProblem(await hub.call(pubSubscriber, 'GET', `/v1/events/${courseId}`), 404);
      expectProblem(
        await hub.call(publisher, 'GET', `/v1/events/${eventIdFor(PUB, 'AI:unknown')}`),
        404,
        'EVENT_NOT_FOUND',
      );
      expectProblem(await hub.call(learner, 'GET', `/v1/events/${courseId}`), 403, 'MISSING_ROLE');
      const listed = await listEvents(subscriber, 'participantId=reader-1');
      expect(listed.items).toEqual([]);
    });

    it('refuses a malformed EventId: 400 INVALID_EVENT_ID', async () => {
      for (const bad of [
        'not-an-event-id',
        `${PUB}-1234`,
        `${PUB}-${courseId.slice(PUB.length + 1).toUpperCase()}`,
        `${'A'.repeat(26)}-${courseId.slice(PUB.length + 1)}`,
        `-${courseId.slice(PUB.length + 1)}`,
        courseId.slice(PUB.length + 1),
        `${courseId}x`,
      ]) {
        const path = `/v1/events/${encodeURIComponent(bad)}`;
        expectProblem(await hub.call(publisher, 'GET', path), 400, 'INVALID_EVENT_ID');
        await expectNothingAppended(async () => {
          expectProblem(await hub.call(publisher, 'PUT', path, anEvent()), 400, 'INVALID_EVENT_ID');
          expectProblem(await hub.call(publisher, 'DELETE', path), 400, 'INVALID_EVENT_ID');
        });
      }
    });

    it('lets subscribers read what their approved subscription imports, and nothing else', async () => {
      const templates = {
        COURSE: { action: 'import', label: 'Courses', template: '{"id": "{{EventId}}"}' },
        EXAM: { action: 'ignore' },
      };
      // Requested by the subscriber's admin: pending until the publisher's side approves.
      const requested = await hub.call(subAdmin, 'POST', '/v1/subscriptions', {
        subscriptionId: 'sub-reader',
        subscriberProgramId: SUBP,
        publisherProgramId: PUB,
        templates,
      });
      expect(requested.status).toBe(201);
      expect(requested.body).toMatchObject({ approval: 'pending', status: 'pending' });
      expectProblem(await hub.call(subscriber, 'GET', `/v1/events/${courseId}`), 404);

      const approved = await hub.call(pubAdmin, 'POST', '/v1/subscriptions/sub-reader/approve');
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ approval: 'approved', status: 'active' });

      for (const token of [subscriber, subAdmin]) {
        const course = await hub.call(token, 'GET', `/v1/events/${courseId}`);
        expect(course.status).toBe(200);
        expect(course.body).toMatchObject({
          EventId: courseId,
          PublisherParticipantId: 'reader-1',
        });
        // The category its templates ignore, events without a category (no *_default), and
        // another program of the publisher stay hidden.
        for (const hidden of [examId, uncategorisedId, pub2Id])
          expectProblem(
            await hub.call(token, 'GET', `/v1/events/${hidden}`),
            404,
            'EVENT_NOT_FOUND',
          );
      }
      await eventually(async () => {
        const { items } = await listEvents(subscriber, 'participantId=reader-1');
        expect(idsOf(items)).toEqual([courseId]);
      });
      // Another organisation gains nothing from it.
      expectProblem(await hub.call(subscriber2, 'GET', `/v1/events/${courseId}`), 404);

      // A system admin creates an approved subscription with a *_default fallback directly.
      const direct = await hub.call(ADMIN_TOKEN, 'POST', '/v1/subscriptions', {
        subscriptionId: 'sub-reader-2',
        subscriberProgramId: SUBP2,
        publisherProgramId: PUB,
        templates: {
          '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' },
          EXAM: { action: 'ignore' },
        },
      });
      expect(direct.status).toBe(201);
      expect(direct.body.approval).toBe('approved');
      for (const visible of [courseId, uncategorisedId])
        expect((await hub.call(subscriber2, 'GET', `/v1/events/${visible}`)).status).toBe(200);
      for (const hidden of [examId, pub2Id])
        expectProblem(await hub.call(subscriber2, 'GET', `/v1/events/${hidden}`), 404);
      await eventually(async () => {
        const { items } = await listEvents(subscriber2, 'participantId=reader-1');
        expect(idsOf(items).sort()).toEqual([courseId, uncategorisedId].sort());
      });
    });

    it('follows the event into an ignored category and back when it is corrected', async () => {
      const current = await hub.call(publisher, 'GET', `/v1/events/${courseId}`);
      const content = without(current.body, 'EventId', 'CreatedUtc', 'AmendedUtc');
      const toExam = await hub.call(publisher, 'PUT', `/v1/events/${courseId}`, {
        ...content,
        PublisherEventCategory: { value: 'EXAM', label: 'Exam' },
      });
      expect(toExam.status).toBe(200);
      expectProblem(await hub.call(subscriber, 'GET', `/v1/events/${courseId}`), 404);
      await eventually(async () => {
        const { items } = await listEvents(subscriber, 'participantId=reader-1');
        expect(items).toEqual([]);
      });
      const back = await hub.call(publisher, 'PUT', `/v1/events/${courseId}`, content);
      expect(back.status).toBe(200);
      expect(back.headers.get('etag')).toBe('"2"');
      expect((await hub.call(subscriber, 'GET', `/v1/events/${courseId}`)).status).toBe(200);
      await eventually(async () => {
        const { items } = await listEvents(subscriber, 'participantId=reader-1');
        expect(idsOf(items)).toEqual([courseId]);
      });
    });

    it('takes the access away with the subscription', async () => {
      const deleted = await hub.call(subAdmin, 'DELETE', '/v1/subscriptions/sub-reader');
      expect(deleted.status).toBe(204);
      expectProblem(await hub.call(subscriber, 'GET', `/v1/events/${courseId}`), 404);
      await eventually(async () => {
        const { items } = await listEvents(subscriber, 'participantId=reader-1');
        expect(items).toEqual([]);
      });
      // The other organisation's subscription is untouched.
      expect((await hub.call(subscriber2, 'GET', `/v1/events/${courseId}`)).status).toBe(200);
    });
  });

  describe('listing events', () => {
    const earlyIds: string[] = [];
    const lateIds: string[] = [];
    let lateCreatedUtc: string;
    let all: Body[];

    const listEvent = (index: number, overrides: Body = {}) =>
      anEvent({
        PublisherProgramId: LST,
        PublisherEventId: `list-${index}`,
        PublisherParticipantId: index % 2 === 0 ? 'p-even' : 'p-odd',
        EventType: index % 3 === 0 ? 'LPI_STARTED' : 'AI_COMP_SUCCESS',
        PublisherEventCategory:
          index % 4 === 0 ? null : { value: index % 4 === 1 ? 'COURSE' : 'EXAM', label: null },
        ...overrides,
      });

    beforeAll(async () => {
      // Two batches, the second created strictly later than the first.
      const early = await publishBatch(
        publisher,
        Array.from({ length: 6 }, (_, index) => listEvent(index)),
      );
      expect(early.body.created).toBe(6);
      earlyIds.push(...(early.body.results as Body[]).map((result) => result.EventId as string));
      const earlyCreated = (await hub.call(publisher, 'GET', `/v1/events/${earlyIds[0]}`)).body
        .CreatedUtc as string;
      while (new Date().toISOString() <= earlyCreated)
        await new Promise((resolve) => setTimeout(resolve, 2));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const late = await publishBatch(
        publisher,
        Array.from({ length: 6 }, (_, index) => listEvent(index + 6)),
      );
      expect(late.body.created).toBe(6);
      lateIds.push(...(late.body.results as Body[]).map((result) => result.EventId as string));
      lateCreatedUtc = (await hub.call(publisher, 'GET', `/v1/events/${lateIds[0]}`)).body
        .CreatedUtc as string;
      expect(lateCreatedUtc > earlyCreated).toBe(true);
      all = await eventually(async () => {
        const { items, nextCursor } = await listEvents(publisher, `programId=${LST}`);
        expect(items).toHaveLength(12);
        expect(nextCursor).toBeNull();
        return items;
      });
    });

    it('lists the publisher’s events in hub order, each batch in its order', async () => {
      const ids = idsOf(all);
      expect(new Set(ids)).toEqual(new Set([...earlyIds, ...lateIds]));
      expect(ids.slice(0, 6).sort()).toEqual([...earlyIds].sort());
      expect(all[0]).toEqual({
        EventId: expect.stringMatching(new RegExp(`^${LST}-${UUID}$`)),
        PublisherProgramId: LST,
        PublisherSystemId: 'LB',
        EventType: expect.any(String),
        PublisherEventId: expect.stringMatching(/^list-\d+$/),
        PublisherParticipantId: expect.stringMatching(/^p-(even|odd)$/),
        PublisherEventCategory: all[0]?.PublisherEventCategory ?? null,
        PublisherEventData: { course: 'Ethics 101', score: 9.5, passed: true },
        EventStartUtc: '2026-12-01T09:30:00.000Z',
        EventEndUtc: '2026-12-01T10:30:00.000Z',
        CreatedUtc: expect.stringMatching(ISO),
        AmendedUtc: null,
        RetractedUtc: null,
      });
      expect(all.map((event) => JSON.stringify(event.PublisherEventCategory)).sort()).toEqual(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
          .map((index) =>
            JSON.stringify(
              index % 4 === 0 ? null : { value: index % 4 === 1 ? 'COURSE' : 'EXAM', label: null },
            ),
          )
          .sort(),
      );
      // A system admin sees them; another organisation's publisher does not.
      expect(idsOf((await listEvents(ADMIN_TOKEN, `programId=${LST}`)).items)).toEqual(ids);
      expect((await listEvents(otherPublisher, `programId=${LST}`)).items).toEqual([]);
      expect(idsOf((await listEvents(pubAdmin, `programId=${LST}`)).items)).toEqual(ids);
    });

    it('filters by participant, category, event type and creation time', async () => {
      const expected = (keep: (event: Body) => boolean) =>
        idsOf(all.filter((event) => keep(event)));
      const query = async (q: string) =>
        idsOf((await listEvents(publisher, `programId=${LST}&${q}`)).items);

      expect(await query('participantId=p-even')).toEqual(
        expected((e) => e.PublisherParticipantId === 'p-even'),
      );
      expect(await query('category=COURSE')).toEqual(
        expected((e) => (e.PublisherEventCategory as Body | null)?.value === 'COURSE'),
      );
      expect(await query('eventType=LPI_STARTED')).toEqual(
        expected((e) => e.EventType === 'LPI_STARTED'),
      );
      expect(await query('participantId=p-odd&category=EXAM&eventType=AI_COMP_SUCCESS')).toEqual(
        expected(
          (e) =>
            e.PublisherParticipantId === 'p-odd' &&
            (e.PublisherEventCategory as Body | null)?.value === 'EXAM' &&
            e.EventType === 'AI_COMP_SUCCESS',
        ),
      );
      expect(await query('participantId=nobody')).toEqual([]);
      const from = encodeURIComponent(lateCreatedUtc);
      expect((await query(`from=${from}`)).sort()).toEqual([...lateIds].sort());
      expect((await query(`to=${from}`)).sort()).toEqual([...earlyIds].sort());
      expect(await query(`from=${from}&to=${from}`)).toEqual([]);
      expect(await query('to=2000-01-01T00:00:00Z')).toEqual([]);
      expect((await query('from=2000-01-01T00:00:00%2B05:00')).length).toBe(12);
      // Without programId the other programs' events are there too; with it, only LST's.
      const { items } = await listEvents(publisher, 'participantId=p-even&limit=1000');
      expect(items.every((item) => item.PublisherProgramId === LST)).toBe(true);
    });

    it('refuses malformed queries with 400', async () => {
      for (const q of [
        'limit=0',
        'limit=1001',
        'limit=ten',
        'from=yesterday',
        'to=2026-12-01T09:30:00',
        'programId=a%2Fb',
        'cursor=not-a-cursor',
        'includeRetracted=maybe',
        'colour=red',
      ])
        expectProblem(await hub.call(publisher, 'GET', `/v1/events?${q}`), 400);
    });

    it('pages with the cursor without gaps or repeats', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { items: Body[]; nextCursor: string | null } = await listEvents(
          publisher,
          `programId=${LST}&limit=5${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
        );
        seen.push(...idsOf(page.items));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(idsOf(all));
      // Filters apply across pages.
      const first = await listEvents(publisher, `programId=${LST}&participantId=p-even&limit=2`);
      expect(first.items).toHaveLength(2);
      const second = await listEvents(
        publisher,
        `programId=${LST}&participantId=p-even&limit=10&cursor=${encodeURIComponent(first.nextCursor!)}`,
      );
      expect([...idsOf(first.items), ...idsOf(second.items)]).toEqual(
        idsOf(all.filter((e) => e.PublisherParticipantId === 'p-even')),
      );
      expect(second.nextCursor).toBeNull();
    });

    it('pages without gaps or repeats while a publisher keeps writing', async () => {
      const pageOf = async (cursor: string | null, limit: number) =>
        listEvents(
          publisher,
          `programId=${LST}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
        );
      let written = 0;
      let writerDone = false;
      const writer = (async () => {
        try {
          for (let batch = 0; batch < 30; batch++) {
            const events = Array.from({ length: 5 }, () =>
              listEvent(1000 + written++, { PublisherParticipantId: 'p-live' }),
            );
            const response = await publishBatch(publisher, events);
            expect(response.body.created).toBe(5);
          }
        } finally {
          writerDone = true;
        }
      })();

      // Pages that had a next cursor are settled; the last page (no cursor yet) is read again
      // from the same cursor until the writer is done, and must only ever grow.
      const settled: string[] = [];
      let tail: string[] = [];
      let cursor: string | null = null;
      const readOn = async (limit: number) => {
        for (;;) {
          const page = await pageOf(cursor, limit);
          const ids = idsOf(page.items);
          if (page.nextCursor !== null) {
            expect(ids.slice(0, tail.length)).toEqual(tail);
            settled.push(...ids);
            tail = [];
            cursor = page.nextCursor;
            continue;
          }
          expect(ids.slice(0, tail.length)).toEqual(tail);
          tail = ids;
          return;
        }
      };
      while (!writerDone) {
        await readOn(4);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      await writer;
      expect(written).toBe(150);
      const final = await eventually(async () => {
        const { items } = await listEvents(publisher, `programId=${LST}&limit=1000`);
        expect(items).toHaveLength(12 + written);
        return idsOf(items);
      });
      await readOn(4);
      const seen = [...settled, ...tail];
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(final);
    });
  });
});
