import { HttpException } from '@nestjs/common';
import { ErrorCode } from './error-codes';
import { ErrorKind, HubError } from './hub-error';

/** RFC 9457 problem details, plus the hub's stable `code` and the request id. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  gone: 410,
  conflict: 409,
  precondition_failed: 412,
  rule_violated: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  internal: 500,
};

export const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

// Fastify's own request errors (body parsing, limits, routing), keyed by their error code.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_JSON_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'MISSING_CONTENT_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'MALFORMED_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

export const problem = (
  status: number,
  code: ErrorCode,
  detail: string,
  extensions: Record<string, unknown> = {},
): ProblemDetails => ({
  type: `urn:problem:learning-hub:${code}`,
  title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
  status,
  detail,
  code,
  ...extensions,
});

/**
 * The single mapping from anything thrown to a problem. `internal` tells the caller to log the
 * error: its message is never shown to the client.
 */
export const toProblem = (error: unknown): { problem: ProblemDetails; internal: boolean } => {
  if (error instanceof HubError) {
    const status = STATUS_BY_KIND[error.kind];
    return {
      problem: problem(status, error.code, error.message, error.details),
      internal: status >= 500 && error.kind === 'internal',
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const body = error.getResponse();
    if (
      status === 503 &&
      typeof body === 'object' &&
      body !== null &&
      'status' in body &&
      'details' in body
    )
      return {
        problem: problem(503, 'NOT_READY', 'A dependency of the hub is not ready', {
          checks: body,
        }),
        internal: false,
      };
    const detail =
      typeof body === 'object' && body !== null && 'message' in body
        ? [body.message].flat().map(String).join('; ')
        : error.message;
    const code: ErrorCode =
      status === 404 ? 'ROUTE_NOT_FOUND' : status === 400 ? 'BAD_REQUEST' : 'HTTP_ERROR';
    return { problem: problem(status, code, detail), internal: status >= 500 };
  }
  const fastifyCode = (error as { code?: unknown }).code;
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const code =
      typeof fastifyCode === 'string'
        ? (FASTIFY_CODES[fastifyCode] ?? 'BAD_REQUEST')
        : 'BAD_REQUEST';
    const message = error instanceof Error ? error.message : 'The request could not be read';
    return { problem: problem(statusCode, code, message), internal: false };
  }
  if (error instanceof SyntaxError)
    return {
      problem: problem(400, 'MALFORMED_JSON', 'The body is not valid JSON'),
      internal: false,
    };
  return {
    problem: problem(500, 'INTERNAL_ERROR', 'An unexpected error occurred; it has been logged'),
    internal: true,
  };
};
