import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { createServer, Server } from 'node:http';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { HUB_METRICS, HubMetrics } from './hub-metrics';
import { MetricsController } from './metrics.controller';

/**
 * Times every HTTP request by its route pattern (never the raw URL: ids would make a series
 * each), and serves the metrics on a port of their own when HUB_METRICS_PORT is set, for a
 * scraper on the private network that holds no credential.
 */
@Injectable()
class MetricsWiring implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: Server | null = null;

  constructor(
    @Inject(HUB_METRICS) private readonly metrics: HubMetrics,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', async (request, reply) => {
      this.metrics.httpRequestDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });
    const port = this.config.metricsPort;
    if (port === null) return;
    this.server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
        return;
      }
      this.metrics.text().then(
        (text) => response.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
        () => response.writeHead(500, { 'content-type': 'text/plain' }).end('Metrics failed\n'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject).listen(port, this.config.metricsHost, resolve);
    });
    this.logger.log(`Metrics on http://${this.config.metricsHost}:${port}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: HUB_METRICS, useFactory: () => new HubMetrics() }, MetricsWiring],
  exports: [HUB_METRICS],
})
export class MetricsModule {}
