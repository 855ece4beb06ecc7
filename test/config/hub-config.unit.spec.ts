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

  it('refuses something that is not a URL without echoing a password', () => {
    const [problem] = problemsOf({ DATABASE_URL: 'postgres://user:pw@' + ' bad' });
    expect(problem).toMatch(/DATABASE_URL must be a URL/);
    expect(problem).not.toContain(':pw@');
  });
});
