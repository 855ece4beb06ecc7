import 'reflect-metadata';
import { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { newUlid } from './ids/ulid';
import { AppModule } from './app.module';
import { HubConfig } from './config/hub-config';
import { BULK_BODY_LIMIT_BYTES, BULK_ENROLMENT_ROUTE } from './enrolments/bulk-enrolment-request';
import { ProblemDetailsFilter, sendProblem } from './errors/problem-details.filter';
import { publishingBodyLimits } from './publishing/publishing-routes';
import { createValidationPipe } from './errors/validation';
import { JsonLogger } from './logging/json-logger';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

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
  });
  const fastify = adapter.getInstance();
  // Bulk enrolment takes up to 100,000 user ids, a batch of events up to 1,000 events: larger
  // bodies than anything else. The first rule that matches a route sets its limit.
  const bodyLimits = [
    { route: BULK_ENROLMENT_ROUTE, bytes: BULK_BODY_LIMIT_BYTES },
    ...publishingBodyLimits(config.clearinghouse),
  ];
  fastify.addHook('onRoute', (route) => {
    const rule = bodyLimits.find(({ route: pattern }) => pattern.test(route.url));
    if (rule) route.bodyLimit = Math.max(config.bodyLimitBytes, rule.bytes);
  });
  fastify.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, extraModules),
    adapter,
    {
      logger: new JsonLogger(logger),
      bufferLogs: false,
      abortOnError: false,
    },
  );
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(createValidationPipe());

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Learning Hub')
      .setDescription(
        'Event-sourced learning-record hub. Errors are RFC 9457 application/problem+json with a stable `code`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  return app;
};
