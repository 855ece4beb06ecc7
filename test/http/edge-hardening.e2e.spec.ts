import { execFile, execFileSync } from 'node:child_process';
import { request as httpRequest, IncomingHttpHeaders } from 'node:http';
import {
  createSubscription,
  expectProblem,
  learningEvent,
  Parties,
  setUpParties,
} from '../support/clearinghouse';
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

type Reply = Awaited<ReturnType<RunningHub['call']>>;

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';
const NUL = '\u0000';

/** A headless Chromium on this machine, if there is one (Debian's `chromium` package). */
const CHROMIUM = ((): string | null => {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
})();

/** Loads `url` in headless Chromium: the DOM once scripts settled, and the console's messages. */
const loadInBrowser = (url: string): Promise<{ dom: string; console: string[] }> =>
  new Promise((resolve, reject) =>
    execFile(
      CHROMIUM!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--enable-logging=stderr',
        '--log-level=0',
        '--virtual-time-budget=10000',
        '--dump-dom',
        url,
      ],
      { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, dom, log) =>
        error
          ? reject(new Error(`chromium failed: ${error.message}`))
          : resolve({ dom, console: log.split('\n').filter((line) => line.includes(':CONSOLE')) }),
    ),
  );

/** Arrays nested `depth` deep around 1, as JSON text. */
const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** The HTTP edge: what is refused before any handler runs, and what every answer carries. */
describe('HTTP edge hardening', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let parties: Parties;
  let creator: string; // CONTENT_CREATOR of edge-org
  let orgAdmin: string; // ORG_ADMIN of edge-org

  beforeAll(async () => {
    storage = await freshStorage('edge-hardening');
    hub = await startHub(storage.storage);
    parties = await setUpParties(hub, 'edge');
    [creator, orgAdmin] = await Promise.all([
      issueKey(hub, 'edge-creator', 'edge-org', ['CONTENT_CREATOR']),
      issueKey(hub, 'edge-admin', 'edge-org', ['ORG_ADMIN']),
    ]);
    await recordUser(hub, 'edge-learner', 'edge-org');
    const course = await hub.call(creator, 'POST', '/v1/courses', {
      courseId: 'edge-course',
      name: 'Edge course',
      trackable: { enabled: true },
      children: sampleHierarchy(),
    });
    if (course.status !== 201) throw new Error(`course: ${JSON.stringify(course.body)}`);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  /** Runs `act` and expects the event log to be exactly as it was. */
  const expectNothingAppended = async <T>(act: () => Promise<T>): Promise<T> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  const expectFullProblem = (response: Reply, status: number, code: string) => {
    expectProblem(response, status, code);
    expect(response.body).toMatchObject({ type: `urn:problem:learning-hub:${code}` });
    expect(typeof response.body.detail).toBe('string');
    expect(response.body.requestId).toBe(response.headers.get('x-request-id'));
  };

  const expectInvalidText = (response: Reply, where: string, field: string) => {
    expectFullProblem(response, 400, 'INVALID_TEXT');
    expect(response.body.in).toBe(where);
    expect(response.body.issues).toEqual([{ field, message: expect.any(String) }]);
  };

  const batchRequest = (name: string) => ({
    courseId: 'edge-course',
    name,
    enrollmentType: 'open',
    startDate: utcDay(7),
    endDate: utcDay(30),
  });

  const subscriptionRequest = (extra: Record<string, unknown> = {}) => ({
    subscriberProgramId: parties.subscriberProgram,
    publisherProgramId: parties.publisherProgram,
    name: 'Edge subscription',
    templates: { '*_default': { action: 'import', template: '{"id": "{{EventId}}"}' } },
    ...extra,
  });

  let events = 0;
  const anEvent = (data: Record<string, unknown> = { title: 'Ethics' }) =>
    learningEvent(parties.publisherProgram, `edge-${++events}`, { data });

  /**
   * Sends a request's head and `sent` bytes of a body that never ends; resolves with the answer,
   * or rejects when none comes within waitMs (the hub is then waiting for the body).
   */
  const answerBeforeBody = (
    method: string,
    path: string,
    headers: Record<string, string>,
    { sent = 65_536, waitMs = 15_000 }: { sent?: number; waitMs?: number } = {},
  ): Promise<RawAnswer> =>
    new Promise((resolve, reject) => {
      const url = new URL(path, hub.base);
      const request = httpRequest({
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
      });
      const timer = setTimeout(() => {
        request.destroy();
        reject(new Error(`no answer within ${waitMs} ms: the hub waits for the body`));
      }, waitMs);
      request.on('response', (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          clearTimeout(timer);
          request.destroy();
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text ? JSON.parse(text) : null,
          });
        });
      });
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.flushHeaders();
      if (sent > 0) request.write(Buffer.alloc(sent, 0x20)); // white space: a prefix of any JSON
    });

  describe('finding 1: text the log and the read models cannot store is refused at the edge', () => {
    it.each([
      ['a lone high surrogate in PublisherEventData', { t: LONE_HIGH }, '#/PublisherEventData/t'],
      [
        'a lone low surrogate, deeper',
        { a: [{ b: `x${LONE_LOW}` }] },
        '#/PublisherEventData/a/0/b',
      ],
      ['NUL in PublisherEventData', { t: `a${NUL}b` }, '#/PublisherEventData/t'],
      ['a lone surrogate in a key', { [LONE_HIGH]: 1 }, '#/PublisherEventData/\\uD800'],
    ])('POST /v1/events with %s: 400 INVALID_TEXT, nothing appended', async (_, data, field) => {
      const response = await expectNothingAppended(() =>
        hub.call(parties.publisher, 'POST', '/v1/events', anEvent(data)),
      );
      expectInvalidText(response, 'body', field);
    });

    it('a well-formed surrogate pair (an emoji) is text like any other', async () => {
      const response = await hub.call(
        parties.publisher,
        'POST',
        '/v1/events',
        anEvent({ t: '😀' }),
      );
      expect(response.status).toBe(201);
      expect(response.body.PublisherEventData).toEqual({ t: '😀' });
    });

    it('POST /v1/events/batch: one bad event refuses the whole batch', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(parties.publisher, 'POST', '/v1/events/batch', [
          anEvent(),
          anEvent({ t: LONE_HIGH }),
        ]),
      );
      expectInvalidText(response, 'body', '#/1/PublisherEventData/t');
    });

    it.each([
      ['a lone surrogate', LONE_HIGH],
      ['NUL', NUL],
    ])('POST /v1/batches with %s in the name', async (_, bad) => {
      const response = await expectNothingAppended(() =>
        hub.call(creator, 'POST', '/v1/batches', batchRequest(`Cohort ${bad}`)),
      );
      expectInvalidText(response, 'body', '#/name');
    });

    it.each([
      ['a lone surrogate', LONE_LOW],
      ['NUL', NUL],
    ])('PUT /v1/users/{id}/profile with %s in a field', async (_, bad) => {
      const response = await expectNothingAppended(() =>
        hub.call(orgAdmin, 'PUT', '/v1/users/edge-learner/profile', {
          organisationId: 'edge-org',
          name: `Ada ${bad}`,
        }),
      );
      expectInvalidText(response, 'body', '#/name');
    });

    it('POST /v1/subscriptions with a bad name or template', async () => {
      const badName = await expectNothingAppended(() =>
        hub.call(
          parties.subscriberAdmin,
          'POST',
          '/v1/subscriptions',
          subscriptionRequest({ name: `Subs ${LONE_HIGH}` }),
        ),
      );
      expectInvalidText(badName, 'body', '#/name');
      const badTemplate = await expectNothingAppended(() =>
        hub.call(
          parties.subscriberAdmin,
          'POST',
          '/v1/subscriptions',
          subscriptionRequest({
            templates: { '*_default': { action: 'import', template: `{"x": "${NUL}"}` } },
          }),
        ),
      );
      expectInvalidText(badTemplate, 'body', '#/templates/*_default/template');
    });

    it('POST /v1/subscriptions/{id}/reject with a bad reason', async () => {
      const pending = await createSubscription(
        hub,
        parties.subscriberAdmin,
        subscriptionRequest({ name: 'To reject' }),
      );
      const response = await expectNothingAppended(() =>
        hub.call(
          parties.publisherAdmin,
          'POST',
          `/v1/subscriptions/${pending.subscriptionId}/reject`,
          { reason: `No ${LONE_LOW}` },
        ),
      );
      expectInvalidText(response, 'body', '#/reason');
    });

    it('a path parameter with NUL (percent-encoded)', async () => {
      expectInvalidText(await hub.call(creator, 'GET', '/v1/batches/a%00b'), 'path', 'batchId');
      const response = await expectNothingAppended(() =>
        hub.call(orgAdmin, 'PUT', '/v1/users/u%00/profile', { organisationId: 'edge-org' }),
      );
      expectInvalidText(response, 'path', 'userId');
    });

    it('a query value with NUL (percent-encoded), and a query name', async () => {
      expectInvalidText(
        await hub.call(parties.publisher, 'GET', '/v1/events?participantId=a%00'),
        'query',
        'participantId',
      );
      expectInvalidText(
        await hub.call(parties.publisher, 'GET', '/v1/events?x%00=1'),
        'query',
        'x\\u0000',
      );
    });

    it('malformed percent-encoding in the query or the path is a 400 problem', async () => {
      const query = await hub.call(parties.publisher, 'GET', '/v1/events?participantId=%E0%A4%A');
      expectFullProblem(query, 400, 'MALFORMED_URL');
      expect(query.body.in).toBe('query');
      const lone = await hub.call(parties.publisher, 'GET', '/v1/events?participantId=%ED%A0%80');
      expectFullProblem(lone, 400, 'MALFORMED_URL');
      expectFullProblem(
        await hub.call(creator, 'GET', '/v1/batches/%E0%A4%A'),
        400,
        'MALFORMED_URL',
      );
    });

    it('a CSV upload with NUL, or a body that is not UTF-8', async () => {
      const created = await hub.call(creator, 'POST', '/v1/batches', batchRequest('CSV cohort'));
      expect(created.status).toBe(201);
      const csv = await expectNothingAppended(() =>
        hub.call(
          creator,
          'POST',
          `/v1/batches/${created.body.batchId}/enrolments/bulk`,
          `userId\nedge-learner\nbad${NUL}id\n`,
          { 'content-type': 'text/csv' },
        ),
      );
      expectInvalidText(csv, 'body', 'line 3');
      const latin1 = await fetch(`${hub.base}/v1/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${creator}`, 'content-type': 'application/json' },
        body: Buffer.concat([
          Buffer.from('{"courseId":"edge-course","name":"Caf'),
          Buffer.from([0xe9]),
          Buffer.from('"}'),
        ]),
      });
      expect(latin1.status).toBe(400);
      expect(await latin1.json()).toMatchObject({ code: 'INVALID_TEXT', in: 'body' });
    });
  });

  describe('finding 6: credentials are checked before the body is read', () => {
    const HUGE = String(60 * 1024 * 1024);

    it('answers 401 to an unauthenticated 60 MB batch while its body is still coming', async () => {
      const answer = await answerBeforeBody('POST', '/v1/events/batch', {
        'content-type': 'application/json',
        'content-length': HUGE,
      });
      expect(answer.status).toBe(401);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ code: 'MISSING_CREDENTIALS' });
      // The rest of the body is not read to keep the connection: it closes.
      expect(answer.headers.connection).toBe('close');
    });

    it('the same with a bogus bearer token', async () => {
      const answer = await answerBeforeBody('POST', '/v1/events', {
        authorization: 'Bearer lhk_bogus',
        'content-type': 'application/json',
        'content-length': HUGE,
      });
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ code: 'INVALID_TOKEN' });
    });

    it('answers 404 to a body sent to no route, without waiting for it', async () => {
      const answer = await answerBeforeBody(
        'POST',
        '/v1/no-such-route',
        { 'content-type': 'application/json', 'content-length': '10000' },
        { sent: 1_000 },
      );
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    });

    it('refuses a declared Content-Length over the batch route’s limit before reading it', async () => {
      const answer = await answerBeforeBody(
        'POST',
        '/v1/events/batch',
        {
          authorization: `Bearer ${parties.publisher}`,
          'content-type': 'application/json',
          'content-length': String(20 * 1024 * 1024),
        },
        { sent: 0 },
      );
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({ code: 'BODY_TOO_LARGE', limitBytes: 8 * 1024 * 1024 });
    });

    it('refuses a streamed body as soon as it passes the route’s limit', async () => {
      // No Content-Length (chunked): only counting the bytes as they come can stop it.
      const answer = await answerBeforeBody('POST', '/v1/batches', {
        authorization: `Bearer ${creator}`,
        'content-type': 'application/json',
      });
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({ code: 'BODY_TOO_LARGE', limitBytes: 16 * 1024 });
    });
  });

  describe('finding 7: deep JSON is refused at parse, by a scan rather than recursion', () => {
    /** An event whose PublisherEventData is {"deep": <arrays nested `depth` deep>}. */
    const deepEvent = (depth: number) =>
      JSON.stringify(anEvent({ deep: 'DEEP' })).replace('"DEEP"', nested(depth));

    // Parsing comes before the handler and its role check, so one all-powerful token serves.
    it.each([
      ['POST', '/v1/events', () => deepEvent(1_500)],
      ['POST', '/v1/events/batch', () => `[${deepEvent(1_500)}]`],
      ['POST', '/v1/batches', () => `{"courseId":"edge-course","name":${nested(1_500)}}`],
      ['PUT', '/v1/users/edge-learner/profile', () => `{"name":${nested(1_500)}}`],
      ['POST', '/v1/subscriptions', () => `{"templates":${nested(1_500)}}`],
      ['POST', '/v1/admin/api-keys', () => `{"roles":${nested(5_000)}}`],
    ])('%s %s: 400 JSON_TOO_DEEP', async (method, path, body) => {
      const response = await expectNothingAppended(() =>
        hub.call(ADMIN_TOKEN, method, path, body()),
      );
      expectFullProblem(response, 400, 'JSON_TOO_DEEP');
    });

    it('a batch of [good, deeply nested] is refused whole: nothing is committed', async () => {
      const good = anEvent();
      const response = await expectNothingAppended(() =>
        hub.call(
          parties.publisher,
          'POST',
          '/v1/events/batch',
          `[${JSON.stringify(good)}, ${deepEvent(1_500)}]`,
        ),
      );
      expectFullProblem(response, 400, 'JSON_TOO_DEEP');
      const listed = await hub.call(
        parties.publisher,
        'GET',
        `/v1/events?programId=${parties.publisherProgram}&limit=1000`,
      );
      expect(listed.status).toBe(200);
      const ids = (listed.body.items as { PublisherEventId: string }[]).map(
        (item) => item.PublisherEventId,
      );
      expect(ids).not.toContain(good.PublisherEventId);
    });

    it('64 levels are accepted, 65 are not', async () => {
      // The event is one level, its data a second: 62 arrays inside make 64.
      const at = await hub.call(parties.publisher, 'POST', '/v1/events', deepEvent(62));
      expect(at.status).toBe(201);
      expectFullProblem(
        await hub.call(parties.publisher, 'POST', '/v1/events', deepEvent(63)),
        400,
        'JSON_TOO_DEEP',
      );
    });

    it('still refuses prototype poisoning, as Fastify’s own parser does', async () => {
      for (const body of [
        '{"__proto__": {"isAdmin": true}}',
        '{"constructor": {"prototype": {"isAdmin": true}}}',
      ]) {
        const response = await expectNothingAppended(() =>
          hub.call(creator, 'POST', '/v1/batches', body),
        );
        expectFullProblem(response, 400, 'FORBIDDEN_JSON_KEY');
      }
    });
  });

  describe('finding 8: Fastify’s and Node’s own refusals are problems too', () => {
    it('a malformed escape in the path: 400 MALFORMED_URL', async () => {
      expectFullProblem(await hub.call(null, 'GET', '/v1/batches/%E0%A4%A'), 400, 'MALFORMED_URL');
    });

    it('a path parameter longer than any identifier: 414 URI_TOO_LONG', async () => {
      expectFullProblem(
        await hub.call(creator, 'GET', `/v1/batches/${'a'.repeat(400)}`),
        414,
        'URI_TOO_LONG',
      );
      // The longest identifier, percent-encoded after its first character, is still routed.
      const longest = `a${'%40'.repeat(127)}`;
      expectFullProblem(
        await hub.call(creator, 'GET', `/v1/batches/${longest}`),
        404,
        'BATCH_NOT_FOUND',
      );
    });

    it('headers larger than Node reads: 431 HEADERS_TOO_LARGE', async () => {
      const answer = await new Promise<RawAnswer>((resolve, reject) => {
        const url = new URL(hub.base);
        const request = httpRequest({
          host: url.hostname,
          port: url.port,
          path: '/health',
          headers: { 'x-filler': 'a'.repeat(32 * 1024) },
        });
        request.on('response', (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: JSON.parse(text),
            }),
          );
        });
        request.on('error', reject);
        request.end();
      });
      expect(answer.status).toBe(431);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
      expect(answer.body.requestId).toBe(answer.headers['x-request-id']);
    });

    it.each([
      ['XML', 'application/xml', '<batch/>'],
      ['a form', 'application/x-www-form-urlencoded', 'courseId=edge-course&name=Form'],
    ])('%s body: 415 unsupported_media_type', async (_, contentType, body) => {
      const response = await expectNothingAppended(() =>
        hub.call(creator, 'POST', '/v1/batches', body, { 'content-type': contentType }),
      );
      expectFullProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('malformed JSON and an unknown route', async () => {
      expectFullProblem(
        await hub.call(creator, 'POST', '/v1/batches', '{"name": '),
        400,
        'MALFORMED_JSON',
      );
      expectFullProblem(await hub.call(null, 'GET', '/v1/nowhere'), 404, 'ROUTE_NOT_FOUND');
    });
  });

  describe('finding 11: security headers, no-store, and /docs under its CSP', () => {
    const directives = (csp: string | null): Map<string, string[]> =>
      new Map(
        (csp ?? '')
          .split(';')
          .map((part) => part.trim().split(/\s+/))
          .filter(([name]) => name)
          .map(([name, ...values]) => [name!, values]),
      );

    const expectLockedDown = (headers: Headers) => {
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(directives(headers.get('content-security-policy')).get('frame-ancestors')).toEqual([
        "'none'",
      ]);
      expect(headers.get('cache-control')).toBe('no-store');
    };

    it('API answers, refusals and /health are locked down and never cached', async () => {
      const read = await hub.call(creator, 'GET', '/v1/batches');
      expect(read.status).toBe(200);
      expectLockedDown(read.headers);
      expect(directives(read.headers.get('content-security-policy')).get('default-src')).toEqual([
        "'none'",
      ]);
      const refused = await hub.call(null, 'GET', '/v1/batches');
      expect(refused.status).toBe(401);
      expectLockedDown(refused.headers);
      expectLockedDown((await hub.call(null, 'GET', '/health')).headers);
      expectLockedDown((await hub.call(null, 'GET', '/v1/nowhere')).headers);
    });

    it('answers carrying a new API key or a webhook secret say no-store', async () => {
      const key = await hub.call(ADMIN_TOKEN, 'POST', '/v1/admin/api-keys', {
        principalId: 'edge-someone',
        organisationId: 'edge-org',
        roles: ['LEARNER'],
      });
      expect(key.status).toBe(201);
      expect(key.body.token).toEqual(expect.any(String));
      expectLockedDown(key.headers);

      const subscription = await hub.call(
        parties.subscriberAdmin,
        'POST',
        '/v1/subscriptions',
        subscriptionRequest({ name: 'With webhook', webhook: { url: 'http://127.0.0.1:9/hook' } }),
      );
      expect(subscription.status).toBe(201);
      expect(subscription.body.webhookSecret?.secret).toEqual(expect.any(String));
      expectLockedDown(subscription.headers);

      const secret = await hub.call(
        parties.subscriberAdmin,
        'POST',
        `/v1/subscriptions/${subscription.body.subscriptionId}/webhook/secrets`,
      );
      expect(secret.status).toBe(201);
      expect(secret.body.secret).toEqual(expect.any(String));
      expectLockedDown(secret.headers);
    });

    it('/docs loads under its CSP: same-origin scripts and styles only, each served with its type', async () => {
      const page = await fetch(`${hub.base}/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = directives(page.headers.get('content-security-policy'));
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      const html = await page.text();
      const pageUrl = new URL(page.url);

      // Scripts: all external and same-origin (script-src 'self'), none inline.
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      const assets: { url: URL; type: RegExp }[] = [];
      for (const [, attributes, content] of scripts) {
        expect(content!.trim()).toBe('');
        const src = /src=["']([^"']+)["']/.exec(attributes!)?.[1];
        expect(src).toBeDefined();
        assets.push({ url: new URL(src!, pageUrl), type: /javascript/ });
      }
      // Stylesheets from 'self'; the inline <style> blocks need 'unsafe-inline'.
      for (const [, href] of html.matchAll(
        /<link[^>]+rel=["']stylesheet["'][^>]*href=["']([^"']+)["']/g,
      ))
        assets.push({ url: new URL(href!, pageUrl), type: /^text\/css/ });
      expect(csp.get('style-src')).toEqual(expect.arrayContaining(["'self'"]));
      if (/<style\b/.test(html) || /\sstyle=/.test(html))
        expect(csp.get('style-src')).toContain("'unsafe-inline'");

      expect(assets.length).toBeGreaterThanOrEqual(4);
      for (const asset of assets) {
        expect(asset.url.origin).toBe(pageUrl.origin);
        const response = await fetch(asset.url);
        expect([asset.url.pathname, response.status]).toEqual([asset.url.pathname, 200]);
        // nosniff: a browser runs a script, or applies a stylesheet, only with the right type.
        expect(response.headers.get('content-type')).toMatch(asset.type);
        const text = await response.text();
        if (asset.url.pathname.endsWith('.css') && text.includes('url(data:'))
          expect(csp.get('img-src')).toContain('data:');
      }
      // The UI reads the document from the same origin (connect-src 'self').
      expect(csp.get('connect-src')).toEqual(["'self'"]);
      const documentJson = await fetch(`${hub.base}/docs/json`);
      expect(documentJson.status).toBe(200);
    });

    (CHROMIUM ? it : it.skip)(
      '/docs renders in a browser with no CSP violation (needs chromium)',
      async () => {
        const { dom, console } = await loadInBrowser(`${hub.base}/docs`);
        expect(console.filter((line) => /Content Security Policy/.test(line))).toEqual([]);
        // Swagger UI ran: it rendered the operations of the document.
        expect((dom.match(/opblock-summary-path/g) ?? []).length).toBeGreaterThan(50);
      },
      90_000,
    );
    if (!CHROMIUM)
      process.stdout.write(
        'edge-hardening: no chromium here, so /docs is not loaded in a browser\n',
      );
  });
});
