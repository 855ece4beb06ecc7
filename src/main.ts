import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { createHubApp } from './app';
import { LOCAL_ADMIN_TOKEN } from './auth/authenticator';
import { LocalAdminToken } from './auth/admin-token';
import { ConfigError, HubConfig, loadConfig } from './config/hub-config';
import { claimDataDir } from './database/data-dir-lock';
import { describeFailure } from './errors/failure-line';
import { describeStorage } from './event-store/storage.module';
import { localUrl, removeHubFile, writeHubFile } from './local-hub/hub-file';
import { createRootLogger } from './logging/json-logger';
import { LiveStreams } from './subscriptions/live-streams';

const main = async (): Promise<void> => {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Before anything starts or logs: a DATA_DIR another process holds is one line and exit 1.
  if (config.storage.kind === 'embedded') claimDataDir(config.storage.dataDir);
  const logger = createRootLogger(config.logLevel);
  const app = await createHubApp(config, logger);
  await app.listen({ port: config.port, host: config.host });
  const withdraw = announceToCli(app, config);
  logger.info({ port: config.port, ...describeStorage(config) }, 'Learning Hub is listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    withdraw();
    logger.info(
      { signal },
      'Shutting down: no new requests, projections finish their batch, pools close',
    );
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'Shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      // Live streams never finish on their own: end them, then Fastify stops accepting
      // connections and drains in-flight requests; then Nest runs the projections'
      // onModuleDestroy and the storage's onApplicationShutdown.
      app.get(LiveStreams).endAll();
      await app.getHttpAdapter().getInstance().close();
      await app.close();
      logger.info('Stopped');
      logger.flush();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'Shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
};

/**
 * On the embedded store the CLI cannot open DATA_DIR while the hub holds it, so the hub leaves
 * its address and a credential of its own there (DATA_DIR/hub.json) for as long as it listens.
 * Returns what takes it back.
 */
const announceToCli = (app: NestFastifyApplication, config: HubConfig): (() => void) => {
  if (config.storage.kind !== 'embedded') return () => undefined;
  const { dataDir } = config.storage;
  const address = app.getHttpAdapter().getInstance().server.address() as AddressInfo;
  const { token } = app.get<LocalAdminToken>(LOCAL_ADMIN_TOKEN);
  writeHubFile(dataDir, { pid: process.pid, url: localUrl(address), token });
  return () => removeHubFile(dataDir);
};

main().catch((error: unknown) => {
  process.stderr.write(`Learning Hub failed to start: ${describeFailure(error)}\n`);
  process.exit(1);
});
