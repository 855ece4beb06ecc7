import { freshStorage, HubStorage, RunningHub, startHub } from '../support/hub-harness';

interface Schema {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
}
interface Response {
  description: string;
  content?: Record<string, { schema?: Schema }>;
}
interface Operation {
  parameters?: { in: string; name: string }[];
  security?: unknown[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, Response>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const PROBLEM = 'application/problem+json';

const operations = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      name: `${method.toUpperCase()} ${path}`,
      method,
      operation,
    })),
  );

const codesOf = (response: Response | undefined): unknown[] =>
  response?.content?.[PROBLEM]?.schema?.allOf?.[1]?.properties?.code?.enum ?? [];

describe('the OpenAPI document (/docs/json)', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let document: Document;

  beforeAll(async () => {
    storage = await freshStorage('openapi');
    hub = await startHub(storage.storage);
    const response = await hub.call(null, 'GET', '/docs/json');
    expect(response.status).toBe(200);
    document = response.body as Document;
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  it('has the problem details schema, with the members the filter emits', () => {
    const problem = document.components.schemas.ProblemDetails;
    expect(Object.keys(problem?.properties ?? {})).toEqual(
      expect.arrayContaining([
        'type',
        'title',
        'status',
        'detail',
        'instance',
        'code',
        'requestId',
        'issues',
        'in',
        'limitBytes',
      ]),
    );
  });

  it('documents every error answer of every operation as a problem, with its codes', () => {
    const wrong = operations(document).flatMap(({ name, method, operation }) => {
      const errors = Object.entries(operation.responses).filter(
        ([status]) => Number(status) >= 400,
      );
      const problems: string[] = [];
      if (errors.length === 0) problems.push(`${name}: no error answer`);
      for (const [status, response] of errors) {
        const schema = response.content?.[PROBLEM]?.schema;
        if (Object.keys(response.content ?? {}).join() !== PROBLEM)
          problems.push(`${name} ${status}: not only ${PROBLEM}`);
        if (schema?.allOf?.[0]?.$ref !== '#/components/schemas/ProblemDetails')
          problems.push(`${name} ${status}: not a ProblemDetails`);
        if (codesOf(response).length === 0) problems.push(`${name} ${status}: no codes`);
      }
      if (!codesOf(operation.responses['500']).includes('INTERNAL_ERROR'))
        problems.push(`${name}: no 500 INTERNAL_ERROR`);
      if (
        operation.security?.length &&
        !codesOf(operation.responses['401']).includes('INVALID_TOKEN')
      )
        problems.push(`${name}: authenticated, but no 401 INVALID_TOKEN`);
      if (['post', 'put', 'patch', 'delete'].includes(method)) {
        if (!codesOf(operation.responses['413']).includes('BODY_TOO_LARGE'))
          problems.push(`${name}: no 413 BODY_TOO_LARGE`);
        if (!codesOf(operation.responses['400']).includes('MALFORMED_JSON'))
          problems.push(`${name}: no 400 MALFORMED_JSON`);
      }
      return problems;
    });
    expect(wrong).toEqual([]);
  });

  it('documents what each operation answers on success, with its media type and schema', () => {
    const wrong = operations(document).flatMap(({ name, operation }) =>
      Object.entries(operation.responses)
        // 204 No Content and 304 Not Modified carry no body (RFC 9110 §15.3.5, §15.4.5).
        .filter(([status]) => Number(status) < 400 && status !== '204' && status !== '304')
        .flatMap(([status, response]) => {
          const content = Object.entries(response.content ?? {});
          if (content.length === 0) return [`${name} ${status}: no content`];
          return content
            .filter(([, media]) => media.schema === undefined)
            .map(([type]) => `${name} ${status} ${type}: no schema`);
        }),
    );
    expect(wrong).toEqual([]);
  });

  it('documents the request bodies, the bulk enrolment as JSON or CSV', () => {
    const bodiless = operations(document)
      .filter(({ method }) => ['put', 'patch'].includes(method))
      .filter(({ operation }) => !operation.requestBody)
      .map(({ name }) => name);
    expect(bodiless).toEqual([]);
    const bulk = document.paths['/v1/batches/{batchId}/enrolments/bulk']?.post;
    const content = bulk?.requestBody?.content ?? {};
    expect(Object.keys(content)).toEqual(expect.arrayContaining(['application/json', 'text/csv']));
    expect(content['text/csv']?.schema).toMatchObject({ type: 'string' });
    expect(JSON.stringify(content['application/json']?.schema)).toContain('userIds');
    expect(Object.keys(bulk?.responses ?? {})).toEqual(expect.arrayContaining(['200', '202']));
  });

  it('refers only to schemas it has', () => {
    const refs = JSON.stringify(document).match(/"\$ref":"[^"]*"/g) ?? [];
    const missing = [...new Set(refs)]
      .map((ref) => ref.slice('"$ref":"'.length, -1))
      .filter((ref) => !document.components.schemas[ref.replace('#/components/schemas/', '')]);
    expect(refs.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it('documents the answers that are not JSON with their media type', () => {
    const stream = document.paths['/v1/subscriptions/{subscriptionId}/stream']?.get;
    expect(Object.keys(stream?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    const metrics = document.paths['/metrics']?.get;
    expect(Object.keys(metrics?.responses['200']?.content ?? {})).toEqual(['text/plain']);
  });
});
