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
  400: ['malformed_url', 'invalid_text', 'malformed_request'],
  408: ['request_timeout'],
  431: ['headers_too_large'],
  // `internal`: an invariant of the hub's own code did not hold (a bug), as internal_error.
  500: ['internal_error', 'internal'],
};
const AUTHENTICATED: ProblemCodes = {
  401: ['missing_credentials', 'malformed_authorization', 'invalid_token', 'token_expired'],
  503: ['store_unavailable', 'identity_provider_unavailable'],
};
const WITH_PATH_PARAMETERS: ProblemCodes = { 414: ['uri_too_long'] };
const VALIDATED: ProblemCodes = { 400: ['validation_failed'] };
// Fastify reads a body on these methods (not on GET and HEAD), whether the route wants one or
// not; and they are the writes: a value the database cannot store, or a write that lost to
// concurrent writers of its stream more often than the command handler retries.
const READS_BODY: ProblemCodes = {
  400: [
    'malformed_json',
    'empty_json_body',
    'json_too_deep',
    'forbidden_json_key',
    'invalid_content_length',
    'invalid_value',
  ],
  409: ['wrong_expected_revision'],
  413: ['body_too_large'],
  415: ['unsupported_media_type'],
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
