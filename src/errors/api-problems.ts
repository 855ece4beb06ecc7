import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { ResponseObject, SchemaObject } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode } from './error-codes';
import { PROBLEM_CONTENT_TYPE, TITLES } from './problem-details';

/** The schema component every error answer of the OpenAPI document refers to. */
export const PROBLEM_SCHEMA_NAME = 'ProblemDetails';

const FIELD_ISSUE: SchemaObject = {
  type: 'object',
  required: ['field', 'message'],
  properties: {
    field: {
      type: 'string',
      description: 'The field, header or parameter; a JSON pointer (#/a/0) or "line n" for text',
    },
    message: { type: 'string' },
  },
};

/**
 * RFC 9457 problem details as the problem-details filter (and the client-error handler) emit
 * them: the standard members, the hub's stable `code` and the request id, and the extension
 * members some codes carry. Other members a code adds (the ids it names) are allowed.
 */
export const PROBLEM_DETAILS_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: {
      type: 'string',
      format: 'uri',
      description: '`urn:problem:learning-hub:{code}`',
      example: 'urn:problem:learning-hub:END_DATE_ERROR',
    },
    title: { type: 'string', description: 'The status’s reason phrase', example: 'Bad Request' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'What went wrong, for a person' },
    instance: { type: 'string', description: 'The request’s path and query' },
    code: {
      type: 'string',
      description: 'Stable: clients may branch on it. Every code the hub gives is listed here',
      enum: [...ERROR_CODES],
    },
    requestId: { type: 'string', description: 'The x-request-id of the request' },
    issues: {
      type: 'array',
      items: FIELD_ISSUE,
      description: 'Every problem found (VALIDATION_FAILED, INVALID_TEXT, INVALID_WEBHOOK, …)',
    },
    in: {
      type: 'string',
      enum: ['body', 'path', 'query'],
      description: 'Where the refused text is (INVALID_TEXT, MALFORMED_URL)',
    },
    limitBytes: {
      type: 'integer',
      description: 'The route’s body limit (BODY_TOO_LARGE)',
    },
    requiredRoles: {
      type: 'array',
      items: { type: 'string' },
      description: 'The roles the route needs, any one of them (MISSING_ROLE)',
    },
    retryAfterSeconds: {
      type: 'integer',
      description: 'When to read again, also in Retry-After (VIEW_BEHIND)',
    },
    location: {
      type: 'string',
      description: 'Where to read what was recorded, also in Location (VIEW_BEHIND)',
    },
    readModel: { type: 'string', description: 'The read model that is behind (VIEW_BEHIND)' },
    checks: {
      type: 'object',
      description: 'Each dependency’s state, as GET /health answers it (NOT_READY)',
    },
  },
  additionalProperties: true,
};

/** Which statuses an operation may document a problem for. */
export type ProblemStatus =
  400 | 401 | 403 | 404 | 408 | 409 | 410 | 412 | 413 | 414 | 415 | 422 | 431 | 500 | 503;

export type ProblemCodes = Partial<Record<ProblemStatus, readonly ErrorCode[]>>;

const describe = (status: number, codes: readonly string[]): string =>
  `${TITLES[status] ?? 'Error'}: ${codes.map((code) => `\`${code}\``).join(', ')}`;

/** A problem+json response whose `code` is one of `codes` (sorted, without repeats). */
export const problemResponse = (status: number, codes: readonly string[]): ResponseObject => {
  const sorted = [...new Set(codes)].sort();
  return {
    description: describe(status, sorted),
    content: {
      [PROBLEM_CONTENT_TYPE]: {
        schema: {
          allOf: [
            { $ref: `#/components/schemas/${PROBLEM_SCHEMA_NAME}` },
            {
              type: 'object',
              properties: {
                status: { type: 'integer', enum: [status] },
                code: { type: 'string', enum: sorted },
              },
            },
          ],
        },
      },
    },
  };
};

/** The codes a response made by problemResponse allows; null for any other response. */
export const problemCodesOf = (response: unknown): string[] | null => {
  const content = (response as ResponseObject | undefined)?.content?.[PROBLEM_CONTENT_TYPE];
  const allOf = (content?.schema as SchemaObject | undefined)?.allOf;
  const own = allOf?.[1] as SchemaObject | undefined;
  const code = own?.properties?.code as SchemaObject | undefined;
  return Array.isArray(code?.enum) ? (code.enum as string[]) : null;
};

/**
 * Documents the problems an operation answers with, by status, with the codes it can give.
 * The answers every route can give (a malformed URL, a missing credential, a body over the
 * limit, the store unavailable, …) are added to every operation when the document is built
 * (src/http/openapi.ts), so only the operation's own codes are listed here.
 */
export const ApiProblems = (problems: ProblemCodes) =>
  applyDecorators(
    ...Object.entries(problems).map(([status, codes]) =>
      ApiResponse({ status: Number(status), ...problemResponse(Number(status), codes ?? []) }),
    ),
  );
