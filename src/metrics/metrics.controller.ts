import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireRoles } from '../auth/auth.guard';
import { ApiProblems } from '../errors/api-problems';
import { HUB_METRICS, HubMetrics } from './hub-metrics';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(HUB_METRICS) private readonly metrics: HubMetrics) {}

  @Get()
  @RequireRoles('METRICS', 'SYSTEM_ADMIN')
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary:
      'Prometheus metrics (text format): request latency per route, appends, projection lag and failures, live-stream clients, webhook attempts and dead letters. Needs a METRICS or SYSTEM_ADMIN credential (or use HUB_METRICS_PORT)',
  })
  @ApiOkResponse({
    description: 'The Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiProblems({ 403: ['MISSING_ROLE'] })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.text();
  }
}
