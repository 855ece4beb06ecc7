import { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { HubConfig } from '../../src/config/hub-config';
import { EVENT_STORE, EventStore } from '../../src/event-store/event-store.port';
import { tempDataDir, testConfig } from './hub-config';
import { createCheckedHubApp } from './openapi-conformance';
import { createScratchDatabase, postgresServer } from './test-databases';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface HubStorage {
  storage: HubConfig['storage'];
  dispose: () => Promise<void>;
}

/** A fresh database: a scratch database on the PostgreSQL server when there is one, else PGlite. */
export const freshStorage = async (label: string): Promise<HubStorage> => {
  const server = await postgresServer();
  if ('unavailable' in server)
    return { storage: { kind: 'embedded', dataDir: tempDataDir(label) }, dispose: async () => {} };
  const scratch = await createScratchDatabase(server.url, label);
  return {
    storage: { kind: 'postgres', databaseUrl: scratch.url },
    dispose: async () => {
      await scratch.drop();
      await server.stop();
    },
  };
};

export interface RunningHub {
  app: NestFastifyApplication;
  base: string;
  store: EventStore;
  /** fetch against the hub with `Authorization: Bearer <token>` (none when token is null). */
  call: (
    token: string | null,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; headers: Headers; body: any }>;
  close: () => Promise<void>;
}

/**
 * Boots the real HTTP app, listening on a free port, with ADMIN_TOKEN as the bootstrap admin;
 * every answer is checked against its OpenAPI document (test/support/openapi-setup.ts).
 */
export const startHub = async (
  storage: HubConfig['storage'],
  overrides: Partial<HubConfig> = {},
): Promise<RunningHub> => {
  const config = testConfig(storage, { adminToken: ADMIN_TOKEN, ...overrides });
  const app = await createCheckedHubApp(config, pino({ level: 'silent' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const store = app.get<EventStore>(EVENT_STORE);
  return {
    app,
    base,
    store,
    call: async (token, method, path, body, headers = {}) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: the raw text is the body
      }
      return { status: response.status, headers: response.headers, body: parsed as any };
    },
    close: () => app.close(),
  };
};

/** Issues an API key through the API with the bootstrap admin token; returns its bearer token. */
export const issueKey = async (
  hub: RunningHub,
  principalId: string,
  organisationId: string,
  roles: string[],
): Promise<string> => {
  const response = await hub.call(ADMIN_TOKEN, 'POST', '/v1/admin/api-keys', {
    principalId,
    organisationId,
    roles,
  });
  if (response.status !== 201)
    throw new Error(`issuing a key failed: ${JSON.stringify(response.body)}`);
  return (response.body as { token: string }).token;
};

/** Records a profile so the user is known to the hub (e.g. to be a mentor). */
export const recordUser = async (
  hub: RunningHub,
  userId: string,
  organisationId: string,
  profile: Record<string, unknown> = {},
): Promise<void> => {
  const response = await hub.call(ADMIN_TOKEN, 'PUT', `/v1/users/${userId}/profile`, {
    organisationId,
    ...profile,
  });
  if (response.status !== 200)
    throw new Error(`recording a user failed: ${JSON.stringify(response.body)}`);
};

/** A small sound course hierarchy: a unit with two contents and an assessment. */
export const sampleHierarchy = () => [
  {
    id: 'unit-1',
    name: 'Unit 1',
    kind: 'unit',
    children: [
      { id: 'content-1', name: 'Video', kind: 'content' },
      { id: 'content-2', name: 'Reading', kind: 'content', optional: true },
      { id: 'quiz-1', name: 'Quiz', kind: 'assessment', maxScore: 10 },
    ],
  },
  { id: 'content-3', name: 'Wrap-up', kind: 'content' },
];

/** Today + n days as yyyy-MM-dd in UTC (the tests' HUB_TIMEZONE). */
export const utcDay = (offsetDays: number): string =>
  new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** A trackable course with the sample hierarchy and an open batch of it, running for 30 days. */
export const createCourseAndOpenBatch = async (
  hub: RunningHub,
  creator: string,
  ids: { courseId: string; batchId: string; name: string; mentors: string[] },
): Promise<void> => {
  const course = await hub.call(creator, 'POST', '/v1/courses', {
    courseId: ids.courseId,
    name: ids.name,
    trackable: { enabled: true },
    children: sampleHierarchy(),
  });
  if (course.status !== 201)
    throw new Error(`creating a course failed: ${JSON.stringify(course.body)}`);
  const batch = await hub.call(creator, 'POST', '/v1/batches', {
    batchId: ids.batchId,
    courseId: ids.courseId,
    name: ids.name,
    enrollmentType: 'open',
    startDate: new Date().toISOString(),
    endDate: utcDay(30),
    mentors: ids.mentors,
  });
  if (batch.status !== 201)
    throw new Error(`creating a batch failed: ${JSON.stringify(batch.body)}`);
};
