import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultClearinghouseConfig,
  defaultLmsConfig,
  HubConfig,
} from '../../src/config/hub-config';

export const tempDataDir = (label: string): string => mkdtempSync(join(tmpdir(), `hub-${label}-`));

export const testConfig = (
  storage: HubConfig['storage'],
  overrides: Partial<HubConfig> = {},
): HubConfig => ({
  port: 0,
  host: '127.0.0.1',
  logLevel: 'warn',
  storage,
  bodyLimitBytes: 16 * 1024,
  projectionBatchSize: 100,
  shutdownTimeoutMs: 10_000,
  timeZone: 'UTC',
  scorePolicy: 'best',
  stateCacheSize: 200_000,
  stateCacheMb: 96,
  databasePoolSize: 20,
  metricsPort: null,
  metricsHost: '127.0.0.1',
  exhausts: {
    dir: tempDataDir('exhaust'),
    mailFrom: 'Learning Hub <hub@test.local>',
    linkTtlMs: 60_000,
    attachmentMaxBytes: 1_048_576,
    publicUrl: 'http://127.0.0.1',
  },
  clearinghouse: {
    ...defaultClearinghouseConfig(),
    // Tests receive webhooks on 127.0.0.1 and cannot wait hours between attempts: eight
    // attempts over about 1.5 s, as the default schedule makes eight over a day.
    webhooks: {
      ...defaultClearinghouseConfig().webhooks,
      allowPrivateNetworks: true,
      retryScheduleMs: [20, 40, 80, 160, 320, 400, 400],
      timeoutMs: 2_000,
    },
  },
  // Retries a test can wait for; a lease short enough for a takeover test.
  lms: { ...defaultLmsConfig(), retryBaseMs: 50, retryMaxMs: 400, leaseMs: 3_000 },
  ...overrides,
});
