import 'reflect-metadata';
import { createHubApp } from './app';
import { ConfigError, loadConfig } from './config/hub-config';
import { describeStorage } from './event-store/storage.module';
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
  const logger = createRootLogger(config.logLevel);
  const app = await createHubApp(config, logger);
  await app.listen({ port: config.port, host: config.host });
  logger.info({ port: config.port, ...describeStorage(config) }, 'Learning Hub is listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
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

main().catch((error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`Learning Hub failed to start: ${message}\n`);
  process.exit(1);
});
