import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/hub-config';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('configuration from the environment', () => {
  it('defaults to the embedded store in ./data on port 3000', () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      logLevel: 'info',
      storage: { kind: 'embedded', dataDir: resolve('./data') },
    });
  });

  it('selects PostgreSQL with DATABASE_URL and EventStoreDB with EVENTSTORE_URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/hub' }).storage).toEqual({
      kind: 'postgres',
      databaseUrl: 'postgres://u:p@db:5432/hub',
    });
    expect(
      loadConfig({
        EVENTSTORE_URL: 'esdb://es:2113?tls=false',
        DATABASE_URL: 'postgresql://db/hub',
      }).storage,
    ).toEqual({
      kind: 'eventstoredb',
      eventStoreUrl: 'esdb://es:2113?tls=false',
      databaseUrl: 'postgresql://db/hub',
    });
  });

  it('reports every wrong value at once, with a clear message each, hiding passwords', () => {
    const problems = problemsOf({
      PORT: '70000',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://root:secret@db/hub',
      PROJECTION_BATCH_SIZE: 'ten',
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/PORT must be a whole number from 1 to 65535, got "70000"/);
    expect(problems.join('\n')).toMatch(
      /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace/,
    );
    expect(problems.join('\n')).toMatch(/DATABASE_URL must use postgres: or postgresql:/);
    expect(problems.join('\n')).toMatch(/PROJECTION_BATCH_SIZE/);
    expect(problems.join('\n')).not.toContain('secret');
  });

  it('needs DATABASE_URL next to EVENTSTORE_URL', () => {
    expect(problemsOf({ EVENTSTORE_URL: 'esdb://es:2113?tls=false' })).toEqual([
      expect.stringContaining('EVENTSTORE_URL needs DATABASE_URL'),
    ]);
  });

  it('takes the webhook retry schedule as delays with units, by default over a day', () => {
    expect(loadConfig({}).clearinghouse.webhooks.retryScheduleMs).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(
      loadConfig({ HUB_WEBHOOK_RETRY_SCHEDULE: ' 10ms, 1s,2M ,3h,1d ' }).clearinghouse.webhooks
        .retryScheduleMs,
    ).toEqual([10, 1_000, 120_000, 10_800_000, 86_400_000]);
  });

  it('reports every wrong retry delay with the other problems', () => {
    const problems = problemsOf({
      HUB_WEBHOOK_RETRY_SCHEDULE: '5s,5,,1w,5ms,8d',
      PORT: '0',
    });
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/PORT must be a whole number/);
    expect(problems.join('\n')).toContain(
      'HUB_WEBHOOK_RETRY_SCHEDULE must be a comma-separated list of at most 99 delays such as ' +
        '5s,5m,30m,2h (units ms, s, m, h or d; each from 10ms to 7d); ' +
        'not delays: "5", "", "1w", "5ms", "8d", got "5s,5,,1w,5ms,8d"',
    );
    expect(problemsOf({ HUB_WEBHOOK_RETRY_SCHEDULE: Array(100).fill('1s').join(',') })[0]).toMatch(
      /^HUB_WEBHOOK_RETRY_SCHEDULE must be a comma-separated list of at most 99 delays/,
    );
  });

  it('refuses the replaced back-off settings, naming the schedule that retries as they did', () => {
    expect(
      problemsOf({ HUB_WEBHOOK_BACKOFF_BASE_MS: '1000', HUB_WEBHOOK_BACKOFF_MAX_MS: '300000' }),
    ).toEqual([
      'HUB_WEBHOOK_BACKOFF_BASE_MS, HUB_WEBHOOK_BACKOFF_MAX_MS are replaced by ' +
        'HUB_WEBHOOK_RETRY_SCHEDULE, the delays before each retry (a delivery has one attempt ' +
        'more than there are delays): unset them, and set ' +
        'HUB_WEBHOOK_RETRY_SCHEDULE=1s,2s,4s,8s,16s,32s,64s to retry as before',
    ]);
    expect(
      problemsOf({ HUB_WEBHOOK_MAX_ATTEMPTS: '4', HUB_WEBHOOK_BACKOFF_MAX_MS: '3000' }),
    ).toEqual([
      expect.stringContaining('set HUB_WEBHOOK_RETRY_SCHEDULE=1s,2s,3s to retry as before'),
    ]);
    expect(problemsOf({ HUB_WEBHOOK_MAX_ATTEMPTS: 'many' })).toEqual([
      expect.stringMatching(/^HUB_WEBHOOK_MAX_ATTEMPTS is replaced by .*: unset it$/),
    ]);
  });

  it('refuses something that is not a URL without echoing a password', () => {
    const [problem] = problemsOf({ DATABASE_URL: 'postgres://user:pw@' + ' bad' });
    expect(problem).toMatch(/DATABASE_URL must be a URL/);
    expect(problem).not.toContain(':pw@');
  });
});

describe('LMS configuration', () => {
  const backend = {
    BACKEND: 'openedx',
    BASE_URL: 'https://edx.test',
    SELECTOR_REGEX: '^https://edx\\.test/',
    COURSE_REGEX: '^.*/courses/(?P<course_id>.*)/course/?$',
    API_TOKEN: 'edx-secret-token-value',
  };

  it('mirrors to nothing by default, and reads LMS_BACKENDS and the pacing settings', () => {
    expect(loadConfig({}).lms).toMatchObject({ backends: [], usernameField: 'externalId' });
    const lms = loadConfig({
      LMS_BACKENDS: JSON.stringify([backend]),
      LMS_USERNAME_FIELD: 'email',
      LMS_CONCURRENCY: '4',
    }).lms;
    expect(lms).toMatchObject({ usernameField: 'email', concurrency: 4, maxAttempts: 20 });
    expect(lms.backends).toHaveLength(1);
    expect(lms.backends[0]).toMatchObject({ backend: 'openedx', mode: 'honor', index: 0 });
  });

  it('reports LMS problems with the others, at once, never showing a token', () => {
    const problems = problemsOf({
      PORT: 'x',
      LMS_BACKENDS: JSON.stringify([
        { ...backend, COURSE_REGEX: '^(.*)$', BASE_URL: 'ftp://edx.test' },
        { ...backend, BACKEND: 'moodle', SELECTOR_REGEX: '([' },
      ]),
      LMS_USERNAME_FIELD: 'nickname',
    });
    const text = problems.join('\n');
    expect(text).toMatch(/PORT/);
    expect(text).toMatch(/LMS_BACKENDS\[0\]\.COURSE_REGEX/);
    expect(text).toMatch(/LMS_BACKENDS\[0\]\.BASE_URL/);
    expect(text).toMatch(/LMS_BACKENDS\[1\]\.SELECTOR_REGEX/);
    expect(text).toMatch(/LMS_BACKENDS\[1\]\.STUDENT_ROLE_ID/);
    expect(text).toMatch(/LMS_USERNAME_FIELD must be one of externalId, email, userId/);
    expect(text).not.toContain('edx-secret-token-value');
  });

  it('keeps a lease longer than the calls it covers', () => {
    const lms = loadConfig({
      LMS_BACKENDS: JSON.stringify([{ ...backend, TIMEOUT_MS: 60_000 }]),
      LMS_LEASE_MS: '5000',
    }).lms;
    expect(lms.leaseMs).toBe(180_000);
  });
});
