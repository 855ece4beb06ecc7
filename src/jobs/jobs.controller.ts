import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.guard';
import { actorOf, Principal } from '../auth/principal';
import { ApiProblems } from '../errors/api-problems';
import { IdParam } from '../http/request-context';
import { Jobs } from './jobs';
import { JobView, toJobView } from './jobs.dto';

/**
 * Every background job, whatever its kind, in one id space: its progress and its cancellation.
 * The requester, admins of its organisation and system admins see it; to anyone else it is 404.
 */
@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: Jobs) {}

  @Get(':jobId')
  @ApiOperation({ summary: 'A job: its state, attempts, progress and result' })
  @ApiOkResponse({ type: JobView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['JOB_NOT_FOUND'] })
  async job(
    @IdParam('jobId') jobId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    const job = await this.jobs.visible(jobId, actorOf(principal));
    return toJobView(job, await this.jobs.describe(job));
  }

  @Post(':jobId/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a queued or running job; a running one stops within a second',
  })
  @ApiOkResponse({ type: JobView, description: 'The job, cancelled' })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    404: ['JOB_NOT_FOUND'],
    409: ['JOB_NOT_CANCELLABLE'],
  })
  async cancel(
    @IdParam('jobId') jobId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    return toJobView(await this.jobs.cancel(jobId, actorOf(principal)));
  }
}
