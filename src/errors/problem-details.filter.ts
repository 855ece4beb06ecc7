import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem-details';

/** Every error leaving a Nest handler becomes application/problem+json. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(error, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }
}

/**
 * Also answers Fastify's framework errors (a bad URL), which skip every hook: so the headers a
 * problem needs are set here, not left to the hooks.
 */
export const sendProblem = (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const { problem, internal } = toProblem(error);
  if (internal) request.log.error({ err: error }, 'Unhandled error');
  else if (problem.status >= 500)
    request.log.warn({ code: problem.code, detail: problem.detail }, 'Request failed');
  problem.instance = request.url;
  problem.requestId = String(request.id);
  if (problem.code === 'BODY_TOO_LARGE') problem.limitBytes = request.routeOptions.bodyLimit;
  // A body left unread (refused before reading it, or cut off at the limit) is not drained for
  // the sake of keeping the connection: the connection closes after the answer.
  if (!request.raw.complete) void reply.header('connection', 'close');
  // Unavailable is temporary: say when to try again, and where to read what was recorded.
  if (problem.status === 503)
    void reply.header(
      'retry-after',
      String(typeof problem.retryAfterSeconds === 'number' ? problem.retryAfterSeconds : 5),
    );
  if (typeof problem.location === 'string') void reply.header('location', problem.location);
  void reply
    .status(problem.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .header('x-request-id', problem.requestId)
    .send(problem);
};
