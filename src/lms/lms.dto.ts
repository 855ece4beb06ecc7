import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, Matches } from 'class-validator';
import { PageLimit } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';

export class LmsHealthErrorView {
  @ApiProperty({ nullable: true, type: Number }) status!: number | null;
  @ApiProperty() message!: string;
}

export class LmsHealthView {
  @ApiProperty({
    enum: ['unknown', 'up', 'degraded', 'down'],
    description:
      'From this instance’s calls of the last five minutes: up when the last one succeeded, down when the last five failed',
  })
  status!: string;
  @ApiProperty() callsLastFiveMinutes!: number;
  @ApiProperty() failuresLastFiveMinutes!: number;
  @ApiProperty({ nullable: true, type: String }) lastSuccessAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastFailureAt!: string | null;
  @ApiProperty({ nullable: true, type: LmsHealthErrorView }) lastError!: LmsHealthErrorView | null;
}

export class LmsBackendView {
  @ApiProperty({ example: 'openedx-0', description: 'Backend and its place in LMS_BACKENDS' })
  name!: string;
  @ApiProperty({ enum: ['openedx', 'moodle'] }) backend!: string;
  @ApiProperty() baseUrl!: string;
  @ApiProperty() selectorRegex!: string;
  @ApiProperty() courseRegex!: string;
  @ApiPropertyOptional({ description: 'Open edX enrolment mode' }) mode?: string;
  @ApiPropertyOptional({ description: 'Moodle role given to learners' }) studentRoleId?: number;
  @ApiProperty({ type: LmsHealthView }) health!: LmsHealthView;
}

export class LmsBackendsView {
  @ApiProperty({ type: [LmsBackendView] }) backends!: LmsBackendView[];
  @ApiProperty({ description: 'The profile field used as LMS username' }) usernameField!: string;
}

export class LmsSyncQuery {
  @ApiPropertyOptional({ description: 'Only this learner' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `userId must be ${IDENTIFIER_RULE}` })
  userId?: string;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;

  @PageLimit(100, 1_000)
  limit = 100;
}

export class LearnerMirrorView {
  @ApiProperty() userId!: string;
  @ApiProperty({ description: 'Enrolled in this batch (the hub’s state)' }) enrolled!: boolean;
  @ApiProperty({
    nullable: true,
    type: Boolean,
    description:
      'What the LMS should hold: enrolled while any of the learner’s batches mirrored to the same course run is active; null before anything was wanted there',
  })
  desiredActive!: boolean | null;
  @ApiProperty({ nullable: true, type: Boolean, description: 'What the last mirror left there' })
  mirroredActive!: boolean | null;
  @ApiProperty({ nullable: true, type: String }) mirroredAt!: string | null;
  @ApiProperty({ description: 'A change is waiting to be mirrored (or retried)' })
  pending!: boolean;
  @ApiProperty({ description: 'Failed attempts at the current desired state' }) attempts!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'The LMS’s HTTP status' })
  lastStatus!: number | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastFailedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) nextAttemptAt!: string | null;
}

export class LmsSyncSummaryView {
  @ApiProperty() learners!: number;
  @ApiProperty({ description: 'Waiting to be mirrored or retried' }) pending!: number;
  @ApiProperty({ description: 'Mirrored as wanted' }) mirrored!: number;
  @ApiProperty({ description: 'Given up until the state changes or a re-mirror' }) failed!: number;
}

export class LmsTargetView {
  @ApiProperty({ example: 'openedx-0' }) name!: string;
  @ApiProperty({ example: 'course-v1:edX+DemoX+2026' }) courseId!: string;
}

export class LmsSyncView {
  @ApiProperty() batchId!: string;
  @ApiProperty() courseId!: string;
  @ApiProperty({ nullable: true, type: String, description: 'The batch’s, else its course’s' })
  resourceLink!: string | null;
  @ApiProperty({
    nullable: true,
    type: LmsTargetView,
    description: 'The LMS LMS_BACKENDS selects for the link; null when none matches',
  })
  lms!: LmsTargetView | null;
  @ApiProperty({ type: LmsSyncSummaryView }) summary!: LmsSyncSummaryView;
  @ApiProperty({ type: [LearnerMirrorView] }) learners!: LearnerMirrorView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class LmsResyncRequest {
  @ApiPropertyOptional({ description: 'Only this learner; the whole batch when absent' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `userId must be ${IDENTIFIER_RULE}` })
  userId?: string;
}

export class LmsResyncView {
  @ApiProperty() batchId!: string;
  @ApiProperty({ nullable: true, type: String }) userId!: string | null;
  @ApiProperty() requestedAt!: string;
}

export class LmsReconcileRequest {
  @ApiPropertyOptional({
    description: 'Correct the drift found (by mirroring those learners again); false by default',
  })
  @IsOptional()
  @IsBoolean()
  fix?: boolean;
}
