import 'reflect-metadata';
import helmet from '@fastify/helmet';
import { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { newUlid } from './ids/ulid';
import { AppModule } from './app.module';
import { authenticateBeforeBody, refuseUnknownRoute } from './auth/authentication-hook';
import { Authenticator } from './auth/authenticator';
import { HubConfig } from './config/hub-config';
import { BULK_BODY_LIMIT_BYTES, BULK_ENROLMENT_ROUTE } from './enrolments/bulk-enrolment-request';
import { ProblemDetailsFilter, sendProblem } from './errors/problem-details.filter';
import { registerBodyParsers } from './http/body-parsers';
import { answerClientError } from './http/client-errors';
import { buildHubDocument } from './http/openapi';
import { API_HELMET, DOCS_PATH, forbidCaching, markDocsRoute } from './http/security-headers';
import { checkUrlText } from './http/url-text';
import { publishingBodyLimits } from './publishing/publishing-routes';
import { createValidationPipe } from './errors/validation';
import { JsonLogger } from './logging/json-logger';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

// An identifier path parameter is at most 128 characters, each of which a client may send
// percent-encoded; a longer parameter is 414 (FST_ERR_MAX_PARAM_LENGTH).
const MAX_PARAM_LENGTH = 3 * 128;

/**
 * Body parsing and other Fastify-level failures happen before Nest's filters see the request.
 * Nest installs a Fastify error handler of its own at start-up that turns them into plain HTTP
 * exceptions, losing their codes (an invalid JSON body would answer `bad_request`); this adapter
 * installs the hub's problem+json handler in its place, once.
 */
class HubFastifyAdapter extends FastifyAdapter {
  override setErrorHandler(): ReturnType<FastifyAdapter['setErrorHandler']> {
    return super.setErrorHandler((error, request, reply) => sendProblem(error, request, reply));
  }
}

/** Builds the HTTP application (not yet listening): used by main.ts and by the e2e tests. */
export const createHubApp = async (
  config: HubConfig,
  logger: Logger,
  extraModules: Type[] = [],
): Promise<NestFastifyApplication> => {
  const adapter = new HubFastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    // A caller's own request id is kept when it is sane, so logs correlate across services.
    genReqId: (request: { headers: Record<string, string | string[] | undefined> }) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newUlid();
    },
    return503OnClosing: true,
    // A request (headers and body) must arrive within a minute: a client that trickles one in
    // does not hold a connection and its buffers for ever. Responses (live streams) are not timed.
    requestTimeout: 60_000,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A malformed path escape or an over-long parameter: Fastify's answer, as a problem.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(error, request, reply),
    clientErrorHandler: answerClientError(logger),
  });
  const fastify = adapter.getInstance();
  fastify.decorateRequest('principal', null);
  // Bulk enrolment takes up to 100,000 user ids, a batch of events up to 1,000 events: larger
  // bodies than anything else. The first rule that matches a route sets its limit.
  const bodyLimits = [
    { route: BULK_ENROLMENT_ROUTE, bytes: BULK_BODY_LIMIT_BYTES },
    ...publishingBodyLimits(config.clearinghouse),
  ];
  fastify.addHook('onRoute', (route) => {
    const rule = bodyLimits.find(({ route: pattern }) => pattern.test(route.url));
    if (rule) route.bodyLimit = Math.max(config.bodyLimitBytes, rule.bytes);
    markDocsRoute(route);
  });
  registerBodyParsers(fastify, [BULK_ENROLMENT_ROUTE]);
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onSend', forbidCaching);

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, extraModules),
    adapter,
    {
      logger: new JsonLogger(logger),
      bufferLogs: false,
      abortOnError: false,
      // The hub's own parsers (registerBodyParsers) are the only ones: JSON and text, checked.
      bodyParser: false,
    },
  );
  // Before any body is read, in this order: the security headers (so refusals carry them too),
  // unknown routes, unstorable text in the path or query, then the credential.
  await app.register(helmet, API_HELMET);
  fastify.addHook('onRequest', refuseUnknownRoute);
  fastify.addHook('onRequest', checkUrlText);
  fastify.addHook('onRequest', authenticateBeforeBody(app.get(Authenticator)));
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(createValidationPipe());

  const document = buildHubDocument(app);
  SwaggerModule.setup(DOCS_PATH.slice(1), app, document, {
    jsonDocumentUrl: `${DOCS_PATH.slice(1)}/json`,
  });
  return app;
};
