import { projections } from '../../projections/registry';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import pino from 'pino';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { Public } from '../../src/auth/auth.guard';
import { ApiProblems } from '../../src/errors/api-problems';
import { NotFoundError, RuleViolatedError } from '../../src/errors/hub-error';
import { freshStorage, HubStorage } from '../support/hub-harness';
import { testConfig } from '../support/hub-config';
import { createCheckedHubApp } from '../support/openapi-conformance';

class EchoRequest {
  @IsString()
  @MaxLength(20)
  name!: string;

  @IsInt()
  @Min(0)
  @Max(10)
  level!: number;
}

/**
 * Endpoints that exist only in this test, to drive the shared validation and error mapping;
 * documented like the hub's own, since every answer is checked against the document.
 */
@Public()
@Controller('test')
class ProbeController {
  @Post('echo')
  @ApiCreatedResponse({ schema: { type: 'object' } })
  echo(@Body() body: EchoRequest) {
    return body;
  }

  @Get('rule')
  @ApiProblems({ 422: ['NOT_A_ON_GOING_BATCH'] })
  rule() {
    throw new RuleViolatedError('NOT_A_ON_GOING_BATCH', 'The batch has started');
  }

  @Get('missing')
  @ApiProblems({ 404: ['BATCH_NOT_FOUND'] })
  missing() {
    throw new NotFoundError('BATCH_NOT_FOUND', 'No such batch', { batchId: 'b1' });
  }

  @Get('crash')
  crash() {
    throw new Error('secret internal detail');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('HTTP application', () => {
  let app: NestFastifyApplication;
  let base: string;
  let storage: HubStorage;

  beforeAll(async () => {
    storage = await freshStorage('http');
    app = await createCheckedHubApp(testConfig(storage.storage), pino({ level: 'silent' }), [
      ProbeModule,
    ]);
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
    await storage.dispose();
  });

  const post = (path: string, body: string, contentType = 'application/json') =>
    fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });

  const expectProblem = async (response: Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status, code, type: `urn:problem:learning-hub:${code}` });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
    return body;
  };

  it('answers /health without a credential, with store and projection details', async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      status: string;
      details: Record<string, { status: string; projections?: unknown[] }>;
    };
    expect(body.status).toBe('ok');
    expect(body.details.database?.status).toBe('up');
    expect(body.details.eventStore?.status).toBe('up');
    expect(body.details.projections?.projections).toEqual(
      projections.map(({ name }) =>
        expect.objectContaining({
          name,
          eventsBehind: expect.any(Number),
          secondsBehind: expect.any(Number),
        }),
      ),
    );
  });

  it('serves the OpenAPI document at /docs', async () => {
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    const spec = (await (await fetch(`${base}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(spec.paths)).toContain('/health');
  });

  it('keeps a sane caller request id and makes one up otherwise', async () => {
    const kept = await fetch(`${base}/health`, { headers: { 'x-request-id': 'caller-123' } });
    expect(kept.headers.get('x-request-id')).toBe('caller-123');
    const replaced = await fetch(`${base}/health`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('accepts a valid body', async () => {
    const response = await post('/test/echo', JSON.stringify({ name: 'ok', level: 3 }));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ name: 'ok', level: 3 });
  });

  it('refuses invalid fields with the list of issues', async () => {
    const body = await expectProblem(
      await post('/test/echo', JSON.stringify({ name: 5, level: 99 })),
      400,
      'VALIDATION_FAILED',
    );
    expect(body.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'name' }),
        expect.objectContaining({ field: 'level' }),
      ]),
    );
  });

  it('refuses unknown properties', async () => {
    const body = await expectProblem(
      await post('/test/echo', JSON.stringify({ name: 'ok', level: 1, admin: true })),
      400,
      'VALIDATION_FAILED',
    );
    expect(body.issues).toEqual([expect.objectContaining({ field: 'admin' })]);
  });

  it.each([
    ['malformed JSON', '{"name": ', 'application/json', 400],
    ['an empty JSON body', '', 'application/json', 400],
    ['a JSON array', '[1,2]', 'application/json', 400],
    ['JSON null', 'null', 'application/json', 400],
    ['an unsupported media type', '<name>x</name>', 'application/xml', 415],
    [
      'a body over the limit',
      JSON.stringify({ name: 'x'.repeat(20_000), level: 1 }),
      'application/json',
      413,
    ],
  ])('answers %s with a problem, never a 500', async (_, body, contentType, status) => {
    const response = await post('/test/echo', body, contentType);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('maps domain errors by kind', async () => {
    await expectProblem(await fetch(`${base}/test/rule`), 422, 'NOT_A_ON_GOING_BATCH');
    const missing = await expectProblem(
      await fetch(`${base}/test/missing`),
      404,
      'BATCH_NOT_FOUND',
    );
    expect(missing.batchId).toBe('b1');
    await expectProblem(await fetch(`${base}/no/such/route`), 404, 'ROUTE_NOT_FOUND');
  });

  it('hides unexpected errors behind a generic 500 problem', async () => {
    const body = await expectProblem(await fetch(`${base}/test/crash`), 500, 'INTERNAL_ERROR');
    expect(JSON.stringify(body)).not.toContain('secret internal detail');
  });
});
