import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { PageLimit } from '../http/query-params';

// The reference's form (`POST /v1/group/activity/agg`): presence is checked by hand, so a
// missing field gets the reference's own code rather than a generic validation error.
export class GroupActivityAggRequestBody {
  @ApiPropertyOptional({ type: String }) @Allow() groupId?: unknown;
  @ApiPropertyOptional({ type: String }) @Allow() activityId?: unknown;
  @ApiPropertyOptional({ type: String, example: 'Course' }) @Allow() activityType?: unknown;
}

export class GroupActivityAggRequest {
  @ApiPropertyOptional({ type: GroupActivityAggRequestBody })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => GroupActivityAggRequestBody)
  request?: GroupActivityAggRequestBody;
}

export class AggMetric {
  @ApiProperty({ example: 'enrolmentCount' }) metric!: string;
  @ApiProperty() value!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Epoch milliseconds' })
  lastUpdatedOn!: number | null;
}

export class AggEnrolmentView {
  @ApiProperty() batchId!: string;
  @ApiProperty() progress!: number;
  @ApiProperty({ enum: [0, 1, 2], description: '0 enrolled, 1 in progress, 2 completed' })
  status!: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) completedOn!: string | null;
}

export class AggMemberView {
  @ApiProperty() userId!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Blank unless consent allows' })
  name!: string | null;
  @ApiProperty({ enum: ['admin', 'member'] }) role!: string;
  @ApiProperty({ enum: ['active', 'inactive'] }) status!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ type: AggEnrolmentView, nullable: true, description: 'Null: not enrolled' })
  enrolment!: AggEnrolmentView | null;
  @ApiProperty({ type: [AggMetric] }) agg!: AggMetric[];
}

export class AggActivityView {
  @ApiProperty() id!: string;
  @ApiProperty() type!: string;
  @ApiProperty({ type: [AggMetric] }) agg!: AggMetric[];
}

export class GroupActivityAggView {
  @ApiProperty() groupId!: string;
  @ApiProperty({ type: AggActivityView }) activity!: AggActivityView;
  @ApiProperty({ type: [AggMemberView] }) members!: AggMemberView[];
}

// The REST form.
export const MEMBER_SORTS = ['userId', 'progress', 'score'] as const;

export class GroupActivityQuery {
  @ApiPropertyOptional({
    enum: MEMBER_SORTS,
    default: 'userId',
    description: 'progress and score: highest first, members without one last',
  })
  @IsOptional()
  @IsIn(MEMBER_SORTS)
  sort?: (typeof MEMBER_SORTS)[number];

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (same sort)' })
  @IsOptional()
  @IsString()
  @MaxLength(400)
  cursor?: string;

  @PageLimit(100, 1_000)
  limit?: number;
}

export class AssessmentAggregateView {
  @ApiProperty() contentId!: string;
  @ApiProperty({ description: 'Enrolled members with a counted attempt' }) attempted!: number;
  @ApiProperty() averageScore!: number;
  @ApiProperty() lowestScore!: number;
  @ApiProperty() highestScore!: number;
  @ApiProperty({ description: 'The assessment’s maximum score' }) maxScore!: number;
  @ApiProperty({ description: 'Attempts, all members together' }) attempts!: number;
  @ApiProperty({ format: 'date-time' }) lastUpdatedOn!: string;
}

export class ActivityAggregatesView {
  @ApiProperty({ description: 'Active members of the group' }) memberCount!: number;
  @ApiProperty({ description: 'Active members enrolled in the course, each once' })
  enrolmentCount!: number;
  @ApiProperty() completedCount!: number;
  @ApiProperty({ nullable: true, type: Number }) averageProgress!: number | null;
  @ApiProperty({
    type: [Number],
    description: 'Enrolled members per 10 % of progress: [0,10), [10,20), …, [90,100]',
  })
  progressDistribution!: number[];
  @ApiProperty({ type: [AssessmentAggregateView] }) assessments!: AssessmentAggregateView[];
  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastUpdatedOn!: string | null;
}

export class MemberScoreView {
  @ApiProperty() contentId!: string;
  @ApiProperty() score!: number;
  @ApiProperty() maxScore!: number;
  @ApiProperty() attempts!: number;
  @ApiProperty({ format: 'date-time' }) lastUpdatedOn!: string;
}

export class MemberEnrolmentView {
  @ApiProperty() batchId!: string;
  @ApiProperty({ format: 'date-time' }) enrolledAt!: string;
  @ApiProperty({ enum: [0, 1, 2], description: '0 enrolled, 1 in progress, 2 completed' })
  status!: number;
  @ApiProperty() progressPercent!: number;
  @ApiProperty({ description: 'Contents completed' }) completedCount!: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) completedOn!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Σscore × 100 / Σmax' })
  scorePercent!: number | null;
  @ApiProperty({ type: [MemberScoreView] }) scores!: MemberScoreView[];
  @ApiProperty({ format: 'date-time' }) lastUpdatedOn!: string;
}

export class ActivityMemberView {
  @ApiProperty() userId!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Blank unless consent allows' })
  name!: string | null;
  @ApiProperty({ enum: ['admin', 'member'] }) role!: string;
  @ApiProperty({ enum: ['active', 'inactive'] }) status!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ format: 'date-time' }) joinedAt!: string;
  @ApiProperty({
    type: MemberEnrolmentView,
    nullable: true,
    description: 'Null: not enrolled. Of several batches, the most advanced active enrolment',
  })
  enrolment!: MemberEnrolmentView | null;
}

export class GroupActivityStandingView {
  @ApiProperty() groupId!: string;
  @ApiProperty() activityId!: string;
  @ApiProperty() activityType!: string;
  @ApiProperty({ type: ActivityAggregatesView }) aggregates!: ActivityAggregatesView;
  @ApiProperty({ type: [ActivityMemberView] }) members!: ActivityMemberView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
