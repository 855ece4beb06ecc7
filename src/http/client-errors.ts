import { ErrorCode } from '../errors/error-codes';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { problem, PROBLEM_CONTENT_TYPE } from '../errors/problem-details';
import { newUlid } from '../ids/ulid';

interface ClientErrorAnswer {
  status: number;
  code: ErrorCode;
  detail: string;
}

// Node's HTTP parser refuses these before there is a request for Fastify to route.
const ANSWERS: Record<string, ClientErrorAnswer> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    detail: `The request line and headers are larger than the hub reads (${maxHeaderSize} bytes)`,
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'REQUEST_TIMEOUT',
    detail: 'The request did not arrive in time',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    code: 'BODY_TOO_LARGE',
    detail: 'The chunk extensions of the body are too large',
  },
};

const MALFORMED: ClientErrorAnswer = {
  status: 400,
  code: 'MALFORMED_REQUEST',
  detail: 'The request is not valid HTTP/1.1',
};

/**
 * Fastify's clientErrorHandler: a request Node's parser could not read (headers too large, bad
 * framing) is answered with a problem, written straight to the socket, which then closes. It has
 * no request id yet, so one is made up and logged with the refusal.
 */
export const answerClientError =
  (logger: Logger) =>
  (error: Error & { code?: string }, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, code, detail } = (error.code && ANSWERS[error.code]) || MALFORMED;
    const requestId = newUlid();
    logger.info({ requestId, code, parserError: error.code }, 'Unreadable HTTP request refused');
    const body = JSON.stringify({ ...problem(status, code, detail), requestId });
    if (socket.writable)
      socket.write(
        [
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}`,
          `content-type: ${PROBLEM_CONTENT_TYPE}`,
          `content-length: ${Buffer.byteLength(body)}`,
          'x-content-type-options: nosniff',
          'cache-control: no-store',
          `x-request-id: ${requestId}`,
          'connection: close',
          '',
          body,
        ].join('\r\n'),
      );
    socket.destroy(error);
  };
