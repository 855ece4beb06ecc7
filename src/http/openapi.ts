import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { OperationObject, ResponseObject } from '@nestjs/swagger';
import {
  PROBLEM_DETAILS_SCHEMA,
  PROBLEM_SCHEMA_NAME,
  ProblemCodes,
  problemCodesOf,
  problemResponse,
} from '../errors/api-problems';

// The answers of the HTTP edge (src/http, src/auth), which every route of a kind can give
// whatever its handler does: the operation's own codes are documented with @ApiProblems.
const EVERY_OPERATION: ProblemCodes = {
  400: ['MALFORMED_URL', 'INVALID_TEXT', 'MALFORMED_REQUEST'],
  408: ['REQUEST_TIMEOUT'],
  431: ['HEADERS_TOO_LARGE'],
  // `INTERNAL`: an invariant of the hub's own code did not hold (a bug), as INTERNAL_ERROR.
  500: ['INTERNAL_ERROR', 'INTERNAL'],
};
const AUTHENTICATED: ProblemCodes = {
  401: ['MISSING_CREDENTIALS', 'MALFORMED_AUTHORIZATION', 'INVALID_TOKEN', 'TOKEN_EXPIRED'],
  503: ['STORE_UNAVAILABLE', 'IDENTITY_PROVIDER_UNAVAILABLE'],
};
const WITH_PATH_PARAMETERS: ProblemCodes = { 414: ['URI_TOO_LONG'] };
const VALIDATED: ProblemCodes = { 400: ['VALIDATION_FAILED'] };
// Fastify reads a body on these methods (not on GET and HEAD), whether the route wants one or
// not; and they are the writes: a value the database cannot store, or a write that lost to
// concurrent writers of its stream more often than the command handler retries.
const READS_BODY: ProblemCodes = {
  400: [
    'MALFORMED_JSON',
    'EMPTY_JSON_BODY',
    'JSON_TOO_DEEP',
    'FORBIDDEN_JSON_KEY',
    'INVALID_CONTENT_LENGTH',
    'INVALID_VALUE',
  ],
  409: ['WRONG_EXPECTED_REVISION'],
  413: ['BODY_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
};
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const edgeProblems = (method: string, operation: OperationObject): ProblemCodes[] => {
  const parameters = (operation.parameters ?? []) as { in?: string }[];
  const authenticated = (operation.security ?? []).length > 0;
  return [
    EVERY_OPERATION,
    ...(authenticated ? [AUTHENTICATED] : []),
    ...(parameters.some((parameter) => parameter.in === 'path') ? [WITH_PATH_PARAMETERS] : []),
    ...(operation.requestBody || parameters.some((parameter) => parameter.in === 'query')
      ? [VALIDATED]
      : []),
    ...(BODY_METHODS.has(method) ? [READS_BODY] : []),
  ];
};

/**
 * Adds the problems of the HTTP edge to every operation, merged with the codes its handler
 * documents (@ApiProblems), and the ProblemDetails schema they refer to.
 */
export const completeProblemResponses = (document: OpenAPIObject): OpenAPIObject => {
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, [PROBLEM_SCHEMA_NAME]: PROBLEM_DETAILS_SCHEMA },
  };
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = path[method];
      if (!operation) continue;
      const responses = operation.responses as Record<string, ResponseObject>;
      for (const problems of edgeProblems(method, operation))
        for (const [status, codes] of Object.entries(problems)) {
          const documented = problemCodesOf(responses[status]) ?? [];
          responses[status] = problemResponse(Number(status), [...documented, ...(codes ?? [])]);
        }
    }
  }
  return document;
};

const documents = new WeakMap<INestApplication, OpenAPIObject>();

/** The OpenAPI document of the app's routes, as /docs/json serves it. */
export const buildHubDocument = (app: INestApplication): OpenAPIObject => {
  const document = completeProblemResponses(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Learning Hub')
        .setDescription(
          'Event-sourced learning-record hub. Errors are RFC 9457 application/problem+json with a stable `code`: each operation lists the codes it can answer, by status.',
        )
        .setVersion('0.1.0')
        .addBearerAuth()
        .build(),
    ),
  );
  documents.set(app, document);
  return document;
};

/** The document buildHubDocument made for `app` (the e2e tests check every answer against it). */
export const hubDocumentOf = (app: INestApplication): OpenAPIObject | undefined =>
  documents.get(app);
