import { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import {
  createScratchDatabase,
  postgresServer,
  whyNoPostgresServer,
} from '../support/test-databases';
import { testConfig } from '../support/hub-config';
import { createCheckedHubApp } from '../support/openapi-conformance';

const unavailable = whyNoPostgresServer();
if (unavailable !== null) console.warn(`Skipping the readiness test: ${unavailable}`);

(unavailable === null ? describe : describe.skip)('readiness when the database goes away', () => {
  let app: NestFastifyApplication;

  afterAll(async () => {
    await app?.close().catch(() => undefined);
  });

  it('answers /health 503 with a NOT_READY problem naming the failed checks', async () => {
    const server = await postgresServer();
    if ('unavailable' in server) throw new Error(server.unavailable);
    const scratch = await createScratchDatabase(server.url, 'readiness');
    app = await createCheckedHubApp(
      testConfig({ kind: 'postgres', databaseUrl: scratch.url }),
      pino({ level: 'silent' }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await fetch(`${base}/health`)).status).toBe(200);

    // Dropping the database ends every connection to it and makes new ones fail.
    await scratch.drop();
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await response.json()) as {
      code: string;
      checks: { error: Record<string, { status: string }> };
    };
    expect(body.code).toBe('NOT_READY');
    expect(body.checks.error.database?.status).toBe('down');
    expect(body.checks.error.eventStore?.status).toBe('down');
  });
});
