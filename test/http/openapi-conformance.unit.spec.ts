import type { OpenAPIObject } from '@nestjs/swagger';
import { problemResponse } from '../../src/errors/api-problems';
import { completeProblemResponses } from '../../src/http/openapi';
import { OpenApiChecker, RecordedResponse } from '../support/openapi-conformance';

/** A small document as @nestjs/swagger builds them, completed as the hub's is. */
const document = (): OpenAPIObject =>
  completeProblemResponses({
    openapi: '3.0.0',
    info: { title: 'test', version: '1' },
    components: {
      schemas: {
        ThingView: {
          type: 'object',
          required: ['thingId', 'count', 'status'],
          properties: {
            thingId: { type: 'string' },
            count: { type: 'number' },
            status: { type: 'string', enum: ['Issued', 'Failed'], nullable: true },
            parent: { nullable: true, allOf: [{ $ref: '#/components/schemas/ThingView' }] },
          },
        },
      },
    },
    paths: {
      '/v1/things/{thingId}': {
        get: {
          parameters: [{ name: 'thingId', in: 'path', required: true, schema: { type: 'string' } }],
          security: [{ bearer: [] }],
          responses: {
            200: {
              description: '',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ThingView' } },
              },
            },
            404: problemResponse(404, ['COURSE_NOT_FOUND']),
          },
        },
        delete: {
          parameters: [{ name: 'thingId', in: 'path', required: true, schema: { type: 'string' } }],
          security: [{ bearer: [] }],
          responses: { 204: { description: '' } },
        },
      },
    },
  });

const answer = (overrides: Partial<RecordedResponse>): RecordedResponse => ({
  method: 'GET',
  route: '/v1/things/:thingId',
  url: '/v1/things/t1',
  status: 200,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify({ thingId: 't1', count: 2, status: null, parent: null }),
  ...overrides,
});

const problem = (status: number, code: string) =>
  JSON.stringify({
    type: `urn:problem:learning-hub:${code}`,
    title: 'Not Found',
    status,
    detail: 'No such thing',
    code,
    instance: '/v1/things/t1',
    requestId: 'r1',
  });

describe('the OpenAPI conformance check of e2e answers', () => {
  const checker = new OpenApiChecker(document());

  it('accepts an answer the document describes, OpenAPI nullable enums and refs included', () => {
    expect(checker.check(answer({}))).toBeNull();
    expect(
      checker.check(
        answer({
          body: JSON.stringify({ thingId: 't1', count: 1, status: 'Issued', parent: null }),
        }),
      ),
    ).toBeNull();
    expect(
      checker.check(
        answer({
          status: 404,
          contentType: 'application/problem+json',
          body: problem(404, 'COURSE_NOT_FOUND'),
        }),
      ),
    ).toBeNull();
  });

  it('flags a body that does not match the schema', () => {
    expect(
      checker.check(answer({ body: JSON.stringify({ thingId: 't1', count: '2', status: null }) })),
    ).toMatch(/does not match the documented schema.*\/count must be number/);
    expect(checker.check(answer({ body: JSON.stringify({ thingId: 't1', count: 2 }) }))).toMatch(
      /must have required property 'status'/,
    );
    expect(
      checker.check(answer({ body: JSON.stringify({ thingId: 't1', count: 2, status: 'Lost' }) })),
    ).toMatch(/\/status/);
    expect(checker.check(answer({ body: 'not json' }))).toMatch(/not JSON/);
  });

  it('flags a status, a media type or a code the operation does not document', () => {
    expect(checker.check(answer({ status: 201 }))).toMatch(/status is not documented/);
    expect(checker.check(answer({ contentType: 'text/html' }))).toMatch(
      /media type text\/html is not documented/,
    );
    expect(
      checker.check(
        answer({
          status: 404,
          contentType: 'application/problem+json',
          body: problem(404, 'ELSEWHERE_NOT_FOUND'),
        }),
      ),
    ).toMatch(/\/code must be equal to one of the allowed values/);
    expect(
      checker.check(
        answer({ status: 404, contentType: 'application/json', body: problem(404, 'X') }),
      ),
    ).toMatch(/media type application\/json is not documented/);
  });

  it('knows the answers of the HTTP edge every route can give', () => {
    const unauthenticated = answer({
      status: 401,
      contentType: 'application/problem+json',
      body: problem(401, 'MISSING_CREDENTIALS'),
    });
    expect(checker.check(unauthenticated)).toBeNull();
    // A GET reads no body: a 413 is not one of its answers.
    expect(
      checker.check(
        answer({ status: 413, contentType: 'application/problem+json', body: problem(413, 'x') }),
      ),
    ).toMatch(/status is not documented/);
    const tooLarge = answer({
      method: 'DELETE',
      status: 413,
      contentType: 'application/problem+json',
      body: problem(413, 'BODY_TOO_LARGE'),
    });
    expect(checker.check(tooLarge)).toBeNull();
  });

  it('flags a body on an answer documented without one', () => {
    expect(checker.check(answer({ method: 'DELETE', status: 204, body: '' }))).toBeNull();
    expect(checker.check(answer({ method: 'DELETE', status: 204, body: '{}' }))).toMatch(
      /documented without content/,
    );
  });

  it('lets only a problem answer a route the document does not have', () => {
    const unknown = { route: null, url: '/v1/nowhere' };
    expect(
      checker.check(
        answer({
          ...unknown,
          status: 404,
          contentType: 'application/problem+json',
          body: problem(404, 'ROUTE_NOT_FOUND'),
        }),
      ),
    ).toBeNull();
    expect(checker.check(answer(unknown))).toMatch(/a route the document does not have/);
    expect(
      checker.check(
        answer({
          ...unknown,
          status: 404,
          contentType: 'application/problem+json',
          body: JSON.stringify({ code: 'ROUTE_NOT_FOUND' }),
        }),
      ),
    ).toMatch(/required property/);
  });
});
