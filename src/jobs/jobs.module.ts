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
import { MemoryRoom } from './memory-room';

/**
 * The job runner and the jobs API; slices register their kinds with the JobRunner, and caches
 * that can give memory back to memory-heavy jobs with the MemoryRoom.
 */
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
    { provide: MemoryRoom, useFactory: () => new MemoryRoom() },
    JobRunner,
    Jobs,
  ],
  exports: [JobRunner, Jobs, MemoryRoom],
})
export class JobsModule {}
