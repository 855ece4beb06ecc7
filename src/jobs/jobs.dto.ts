import { ApiProperty } from '@nestjs/swagger';
import { Job, JOB_STATES, percentDone } from './job';

export class JobProgressView {
  @ApiProperty() done!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Null while unknown' })
  total!: number | null;
  @ApiProperty({ nullable: true, type: Number, minimum: 0, maximum: 100 })
  percent!: number | null;
}

/** Any job, whatever its kind: GET /v1/jobs/{id}. */
export class JobView {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'What the job does, e.g. bulk-enrolment' }) kind!: string;
  @ApiProperty({ enum: JOB_STATES }) state!: string;
  @ApiProperty({ description: 'Attempts started so far (a retry or a takeover is one more)' })
  attempts!: number;
  @ApiProperty({ type: JobProgressView }) progress!: JobProgressView;
  @ApiProperty({
    nullable: true,
    description: 'What a completed job produced; its kind defines the shape',
  })
  result!: unknown;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why it failed (or why its last attempt did)',
  })
  error!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt!: string | null;
  @ApiProperty({
    required: false,
    description: "The job's domain's view of it, its kind defines the shape (a report request)",
  })
  details?: unknown;
}

export const toJobView = (job: Job, details?: unknown): JobView => ({
  id: job.id,
  kind: job.kind,
  state: job.state,
  attempts: job.attempts,
  progress: { ...job.progress, percent: percentDone(job.progress) },
  result: job.result,
  error: job.error,
  createdAt: job.createdAt,
  startedAt: job.startedAt,
  finishedAt: job.finishedAt,
  ...(details === undefined ? {} : { details }),
});
