import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultClearinghouseConfig, HubConfig } from '../../src/config/hub-config';

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
  databasePoolSize: 20,
  clearinghouse: {
    ...defaultClearinghouseConfig(),
    // Tests receive webhooks on 127.0.0.1 and cannot wait minutes between attempts.
    webhooks: {
      ...defaultClearinghouseConfig().webhooks,
      allowPrivateNetworks: true,
      backoffBaseMs: 50,
      backoffMaxMs: 400,
      timeoutMs: 2_000,
    },
  },
  ...overrides,
});
