import { Global, Module } from '@nestjs/common';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import {
  DEFAULT_JOB_RUNNER_OPTIONS,
  JOB_RUNNER_OPTIONS,
  JobRunner,
  JobRunnerOptions,
} from './job-runner';
import { Jobs } from './jobs';
import { JobsController } from './jobs.controller';

/** The job runner and the jobs API; slices register their kinds with the JobRunner. */
@Global()
@Module({
  controllers: [JobsController],
  providers: [
    {
      provide: JOB_RUNNER_OPTIONS,
      inject: [HUB_CONFIG],
      useFactory: (config: HubConfig): JobRunnerOptions => ({
        ...DEFAULT_JOB_RUNNER_OPTIONS,
        leaseMs: config.jobLeaseMs ?? DEFAULT_JOB_RUNNER_OPTIONS.leaseMs,
      }),
    },
    JobRunner,
    Jobs,
  ],
  exports: [JobRunner, Jobs],
})
export class JobsModule {}
