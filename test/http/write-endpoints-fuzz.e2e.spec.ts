import fc from 'fast-check';
import { ulid } from 'ulid';
import { rebuildProjection } from '../../projections/engine/rebuild';
import { projections } from '../../projections/registry';
import { SQL_DATABASE, SqlDatabase } from '../../src/database/sql-database';
import { openDatabase, openEventStore } from '../../src/event-store/storage.module';
import {
  activeSubscription,
  learningEvent,
  Parties,
  publishOne,
  setUpParties,
  waitFor,
} from '../support/clearinghouse';
import { testConfig } from '../support/hub-config';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  recordUser,
  RunningHub,
  sampleHierarchy,
  startHub,
  utcDay,
} from '../support/hub-harness';

/**
 * Every write endpoint of the hub, as /docs/json lists them, driven with arbitrary text
 * (lone surrogates, NUL, combining marks, right-to-left and 4-byte characters) in its path, query
 * and body, and with arbitrary JSON. Whatever comes in: no answer is a 5xx, a refused request
 * leaves nothing in the log (no event carries its request id), and afterwards every projection is
 * live and equal to a rebuild from the log.
 */

/** One code unit or code point of the kinds that break text handling. */
const awkwardUnit: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u0000', '\u0001', '\u001f', '\u007f', '\t', '\n'),
  fc.integer({ min: 0x0300, max: 0x036f }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x05d0, max: 0x05ea }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u0627', '\u0644', '\u202e', '\u200f', '\u2066', '\ufeff', '\uffff'),
  fc.integer({ min: 0x1f600, max: 0x1f64f }).map((c) => String.fromCodePoint(c)),
  fc.integer({ min: 0x20000, max: 0x2a6df }).map((c) => String.fromCodePoint(c)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const awkwardText = fc.array(awkwardUnit, { maxLength: 24 }).map((units) => units.join(''));

/** Nesting deeper than the hub's limit of 64, now and then. */
const deepJson = fc
  .integer({ min: 60, max: 200 })
  .map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown);
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ stringUnit: awkwardUnit, maxDepth: 4 }) },
  { weight: 1, arbitrary: deepJson },
);

/** Percent-encodes any string, a lone surrogate as the bytes a careless client would send. */
const encodeSegment = (text: string): string => {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff)
      out +=
        `%ED%${(0xa0 | ((code >> 6) & 0x1f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    else out += encodeURIComponent(char);
  }
  return out;
};

/** The string leaves of a JSON value, as paths of keys. */
const stringLeaves = (value: unknown, at: (string | number)[] = []): (string | number)[][] => {
  if (typeof value === 'string') return [at];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringLeaves(item, [...at, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) => stringLeaves(item, [...at, key]));
  return [];
};

const replaceAt = (value: unknown, at: (string | number)[], replacement: unknown): unknown => {
  if (at.length === 0) return replacement;
  const [head, ...rest] = at;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head!] = replaceAt(copy[head!], rest, replacement);
  return copy;
};

/** A body: the endpoint's valid example, with one text replaced, a field added, or anything. */
const bodyFor = (example: unknown): fc.Arbitrary<unknown> => {
  const leaves = stringLeaves(example);
  const variants: fc.Arbitrary<unknown>[] = [fc.constant(example), anyJson];
  if (leaves.length > 0)
    variants.push(
      fc
        .tuple(fc.nat({ max: leaves.length - 1 }), awkwardText)
        .map(([index, text]) => replaceAt(example, leaves[index]!, text)),
      fc
        .tuple(fc.nat({ max: leaves.length - 1 }), anyJson)
        .map(([index, json]) => replaceAt(example, leaves[index]!, json)),
    );
  if (example && typeof example === 'object' && !Array.isArray(example))
    variants.push(
      fc.tuple(awkwardText, anyJson).map(([key, json]) => ({ ...example, [key]: json })),
    );
  return fc.oneof(...variants);
};

interface Operation {
  method: string;
  path: string;
}

describe('every write endpoint under arbitrary text and JSON', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let db: SqlDatabase;
  let p: Parties;
  let creator: string;
  let learner: string;
  const ids: Record<string, string> = {};
  const examples = new Map<string, unknown>();

  beforeAll(async () => {
    storage = await freshStorage('fuzz');
    hub = await startHub(storage.storage);
    db = hub.app.get<SqlDatabase>(SQL_DATABASE);
    p = await setUpParties(hub, 'fz');
    creator = await issueKey(hub, 'fz-creator', 'fz-org', ['CONTENT_CREATOR']);
    learner = await issueKey(hub, 'fz-learner', 'fz-org', ['LEARNER']);
    await recordUser(hub, 'fz-learner', 'fz-org', { name: 'Lea' });
    const course = await hub.call(creator, 'POST', '/v1/courses', {
      courseId: 'fz-course',
      name: 'Course',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    expect(course.status).toBe(201);
    const batch = await hub.call(creator, 'POST', '/v1/batches', {
      courseId: 'fz-course',
      name: 'Batch',
      enrollmentType: 'open',
      startDate: utcDay(0),
      endDate: utcDay(300),
    });
    expect(batch.status).toBe(201);
    expect(
      (await hub.call(learner, 'POST', `/v1/batches/${batch.body.batchId}/enrolments`, {})).status,
    ).toBe(201);
    const subscription = await activeSubscription(hub, p, {
      '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' },
    });
    const eventId = await publishOne(hub, p.publisher, learningEvent(p.publisherProgram, 'fz-1'));
    const key = await hub.call(ADMIN_TOKEN, 'POST', '/v1/admin/api-keys', {
      principalId: 'fz-extra',
      organisationId: 'fz-org',
      roles: ['LEARNER'],
    });
    Object.assign(ids, {
      programId: p.publisherProgram,
      userId: 'fz-learner',
      courseId: 'fz-course',
      batchId: batch.body.batchId as string,
      eventId,
      subscriptionId: subscription.subscriptionId as string,
      keyId: key.body.keyId as string,
      secretId: subscription.webhookSecret?.secretId ?? 'none',
      deliveryId: ulid(),
    });
    const event = learningEvent(p.publisherProgram, 'fz-2');
    const set: Record<string, unknown> = {
      'POST /v1/programs': { programId: 'fz-NEW', name: 'New program' },
      'PATCH /v1/programs/{programId}': { name: 'Renamed' },
      'PUT /v1/users/{userId}/profile': { name: 'Lea R', email: 'lea@example.org', state: 'Goa' },
      'POST /v1/batches/{batchId}/enrolments': { userId: 'fz-learner' },
      'POST /v1/batches/{batchId}/enrolments/bulk': { userIds: ['fz-learner'] },
      'POST /v1/batches/{batchId}/progress': {
        contents: [{ contentId: 'content-1', status: 2, lastAccessTime: new Date().toISOString() }],
      },
      'POST /v1/batches/{batchId}/assessments': {
        contentId: 'quiz-1',
        attemptId: 'a1',
        submittedAt: new Date().toISOString(),
        responses: [{ questionId: 'q1', type: 'mcq', score: 4, maxScore: 10 }],
      },
      'POST /v1/batches/{batchId}/certificates/issue': { userIds: ['fz-learner'] },
      'POST /v1/events': event,
      'POST /v1/events/batch': [event, learningEvent(p.publisherProgram, 'fz-3')],
      'POST /v1/events/erasures': {
        PublisherProgramId: p.publisherProgram,
        PublisherParticipantId: 'nobody@example.org',
      },
      'PUT /v1/events/{eventId}': learningEvent(p.publisherProgram, 'fz-1', { data: { a: 'b' } }),
      'POST /v1/courses': {
        courseId: 'fz-course-2',
        name: 'Another',
        trackable: { enabled: true },
        children: sampleHierarchy(),
      },
      'PUT /v1/courses/{courseId}/hierarchy': { children: sampleHierarchy() },
      'POST /v1/admin/api-keys': {
        principalId: 'fz-k',
        organisationId: 'fz-org',
        roles: ['LEARNER'],
      },
      'PUT /v1/users/{userId}/consents/{courseId}': {},
      'POST /v1/batches': {
        courseId: 'fz-course',
        name: 'Another batch',
        enrollmentType: 'open',
        startDate: utcDay(1),
        endDate: utcDay(200),
      },
      'PATCH /v1/batches/{batchId}': { name: 'Renamed batch' },
      'POST /v1/subscriptions': {
        subscriberProgramId: p.subscriberProgram,
        publisherProgramId: p.publisherProgram,
        name: 'Another',
        templates: { '*_default': { action: 'import', template: '{"e": "{{EventId}}"}' } },
      },
      'PATCH /v1/subscriptions/{subscriptionId}': { name: 'Renamed subscription' },
      'POST /v1/subscriptions/{subscriptionId}/replay': { from: 'start' },
      'POST /v1/subscriptions/{subscriptionId}/reject': { reason: 'Not now' },
    };
    for (const [operation, body] of Object.entries(set)) examples.set(operation, body);
  });

  afterAll(async () => {
    await hub?.close().catch(() => undefined);
    await storage.dispose();
  });

  const writeOperations = async (): Promise<Operation[]> => {
    const spec = await hub.call(null, 'GET', '/docs/json');
    expect(spec.status).toBe(200);
    const operations: Operation[] = [];
    for (const [path, methods] of Object.entries(spec.body.paths as Record<string, object>))
      for (const method of Object.keys(methods))
        if (['post', 'put', 'patch', 'delete'].includes(method))
          operations.push({ method: method.toUpperCase(), path });
    return operations;
  };

  /** Events the request with this id left in the log. */
  const eventsOf = async (requestId: string): Promise<number> =>
    Number(
      (
        await db.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM hub_events WHERE metadata->>'correlationId' = $1`,
          [requestId],
        )
      ).rows[0]!.n,
    );

  it('answers no 5xx, changes nothing when it refuses, and leaves every projection equal to a rebuild', async () => {
    const operations = await writeOperations();
    // Every write the hub has (35 as this was written), each with a valid example or arbitrary JSON.
    expect(operations.length).toBeGreaterThanOrEqual(35);
    const pathParameter = (name: string) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(ids[name] ?? name) },
        { weight: 1, arbitrary: awkwardText },
      );
    const request = fc.constantFrom(...operations).chain((operation) =>
      fc.record({
        operation: fc.constant(operation),
        params: fc.record(
          Object.fromEntries(
            [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [
              name!,
              pathParameter(name!),
            ]),
          ),
        ),
        query: fc.oneof(
          { weight: 4, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.tuple(awkwardText, awkwardText) },
        ),
        body: bodyFor(examples.get(`${operation.method} ${operation.path}`) ?? {}),
        token: fc.constantFrom(ADMIN_TOKEN, p.publisher, p.subscriberAdmin, creator, learner),
      }),
    );
    const refused = new Map<string, number>();
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ operation, params, query, body, token }) => {
        let path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) =>
          encodeSegment((params as Record<string, string>)[name] ?? ''),
        );
        if (query) path += `?${encodeSegment(query[0]) || 'q'}=${encodeSegment(query[1])}`;
        const requestId = ulid();
        const response = await hub.call(token, operation.method, path, body, {
          'x-request-id': requestId,
        });
        answered++;
        if (response.status >= 500)
          throw new Error(
            `${operation.method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`,
          );
        if (response.status >= 400) {
          refused.set(
            String(response.body?.code),
            (refused.get(String(response.body?.code)) ?? 0) + 1,
          );
          expect(await eventsOf(requestId)).toBe(0);
        }
      }),
      { numRuns: 1_500, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    );
    expect(answered).toBeGreaterThanOrEqual(1_500);
    // Text the log cannot store was among what was refused, and refused as such.
    expect(refused.get('INVALID_TEXT') ?? 0).toBeGreaterThan(0);

    // Every projection live, with nothing left to apply and nothing failing.
    await waitFor(
      'every projection to be live and caught up',
      async () => {
        const health = await hub.call(null, 'GET', '/health');
        const reports = health.body?.details?.projections?.projections as
          Array<{ state: string; eventsBehind: number | null }> | undefined;
        return (
          health.body?.status === 'ok' &&
          reports?.every((r) => r.state === 'live' && r.eventsBehind === 0)
        );
      },
      { timeoutMs: 60_000 },
    );

    // Equal to a rebuild: the CLI's way, with the hub stopped.
    await hub.close();
    const config = testConfig(storage.storage);
    const database = await openDatabase(config);
    const store = await openEventStore(config, database);
    const dump = async (tables: readonly string[]) => {
      const rows: Record<string, string[]> = {};
      for (const table of tables)
        rows[table] = (
          await database.query<{ row: string }>(
            `SELECT to_jsonb(t)::text AS row FROM "${table}" t ORDER BY 1`,
          )
        ).rows.map((r) => r.row);
      return rows;
    };
    try {
      for (const projection of projections) {
        const live = await dump(projection.tables);
        await rebuildProjection(projection, { db: database, store });
        expect({ projection: projection.name, rows: await dump(projection.tables) }).toEqual({
          projection: projection.name,
          rows: live,
        });
      }
    } finally {
      await store.close();
      await database.close();
    }
  });
});
