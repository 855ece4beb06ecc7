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

export const sendProblem = (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const { problem, internal } = toProblem(error);
  if (internal) request.log.error({ err: error }, 'Unhandled error');
  else if (problem.status >= 500)
    request.log.warn({ code: problem.code, detail: problem.detail }, 'Request failed');
  problem.instance = request.url;
  problem.requestId = String(request.id);
  void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
};
