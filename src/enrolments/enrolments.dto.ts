import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageLimit, queryBoolean } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import { IsInstant } from '../time/is-instant';
import { EnrolmentRow } from '../../projections/enrolments/enrolments.query';

export const MAX_PROGRESS_UPDATES = 1_000;
export const MAX_RESPONSES = 500;

const REFERENCE_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}):(\d{3})([+-]\d{2})(\d{2})$/;

/**
 * Accepts ISO 8601 instants and the reference service's `2020-11-23 12:58:35:179+0000`, which
 * existing players send, as the same ISO instant.
 */
const normalizeInstant = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const match = REFERENCE_TIMESTAMP.exec(value);
  return match ? `${match[1]}T${match[2]}.${match[3]}${match[4]}:${match[5]}` : value;
};

export class EnrolRequest {
  @ApiPropertyOptional({ description: `The learner; the caller when absent. ${IDENTIFIER_RULE}` })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `userId must be ${IDENTIFIER_RULE}` })
  userId?: string;
}

export class ContentUpdateDto {
  @ApiPropertyOptional({ description: 'The learner; the caller when absent' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `userId must be ${IDENTIFIER_RULE}` })
  userId?: string;

  @ApiProperty()
  @Matches(IDENTIFIER, { message: `contentId must be ${IDENTIFIER_RULE}` })
  contentId!: string;

  @ApiProperty({ enum: [1, 2], description: '1 in progress, 2 completed' })
  @IsIn([1, 2], { message: 'status must be 1 (in progress) or 2 (completed)' })
  status!: 1 | 2;

  @ApiProperty({ example: '2026-11-22T10:15:00Z' })
  @Transform(normalizeInstant)
  @IsInstant()
  lastAccessTime!: string;
}

export class RecordProgressRequest {
  @ApiProperty({ type: [ContentUpdateDto], maxItems: MAX_PROGRESS_UPDATES })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_PROGRESS_UPDATES)
  @ValidateNested({ each: true })
  @Type(() => ContentUpdateDto)
  contents!: ContentUpdateDto[];
}

export class QuestionResponseDto {
  @ApiProperty() @Matches(IDENTIFIER) questionId!: string;

  @ApiProperty({ example: 'mcq' }) @IsString() @MaxLength(50) type!: string;

  @ApiPropertyOptional({ default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  title?: string;

  @ApiPropertyOptional({ type: [Object], default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  options?: unknown[];

  @ApiPropertyOptional({ description: 'The learner’s answer, as the player records it' })
  @IsOptional()
  response?: unknown;

  @ApiProperty({ minimum: 0, description: 'At most the question’s maxScore, when it has one' })
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  score!: number;

  @ApiPropertyOptional({
    minimum: 0,
    description:
      'The question’s maximum. The course declares the assessment’s maxScore, the attempt’s ' +
      'maximum: give a maxScore on every response, adding up to it (otherwise 400 ' +
      'ATTEMPT_MAX_SCORE_MISMATCH), or on none, and the scores must then add up to at most it ' +
      '(otherwise 400 SCORE_ABOVE_MAX)',
  })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  maxScore?: number;

  @ApiPropertyOptional({ description: 'Seconds spent on the question', default: 0 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(31_536_000)
  duration?: number;

  @ApiPropertyOptional({ description: 'When answered: the latest answer per question wins' })
  @IsOptional()
  @Transform(normalizeInstant)
  @IsInstant()
  answeredAt?: string;
}

export class RecordAssessmentRequest {
  @ApiPropertyOptional({ description: 'The learner; the caller when absent' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `userId must be ${IDENTIFIER_RULE}` })
  userId?: string;

  @ApiProperty() @Matches(IDENTIFIER) contentId!: string;

  @ApiProperty({ description: 'Resubmitting an attempt id replaces that attempt' })
  @Matches(IDENTIFIER)
  attemptId!: string;

  @ApiProperty({ example: '2026-11-22T10:15:00Z' })
  @Transform(normalizeInstant)
  @IsInstant()
  submittedAt!: string;

  @ApiProperty({ type: [QuestionResponseDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RESPONSES)
  @ValidateNested({ each: true })
  @Type(() => QuestionResponseDto)
  responses!: QuestionResponseDto[];
}

export class IssueCertificatesRequest {
  @ApiPropertyOptional({
    type: [String],
    description: 'Learners to (re)consider; all who have completed the course when absent',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10_000)
  @Matches(IDENTIFIER, { each: true })
  userIds?: string[];
}

export class ParticipantsQuery {
  @ApiPropertyOptional({ description: 'Only active (true) or unenrolled (false) participants' })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ description: 'Only those who completed (true) or did not (false)' })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  completed?: boolean;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  cursor?: string;

  @PageLimit(100, 1000)
  limit?: number;
}

export class UserEnrolmentsQuery {
  @ApiPropertyOptional({ description: 'Include unenrolled batches too', default: false })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  includeInactive?: boolean;

  @PageLimit(100, 1000)
  limit?: number;
}

export class EnrolmentView {
  @ApiProperty() batchId!: string;
  @ApiProperty() courseId!: string;
  @ApiProperty() userId!: string;
  @ApiProperty() enrolledAt!: string;
  @ApiProperty() active!: boolean;
  @ApiProperty({ enum: [0, 1, 2], description: '0 not started, 1 in progress, 2 completed' })
  status!: number;
  @ApiProperty() progressPercent!: number;
  @ApiProperty() completedCount!: number;
  @ApiProperty() requiredCount!: number;
  @ApiProperty({ nullable: true, type: String }) completedOn!: string | null;
  @ApiProperty({ type: Object, description: 'Per nested unit: progress in percent' })
  unitProgress!: Record<string, number>;
  @ApiProperty({ type: Object, description: 'Per assessment: the counting attempt' })
  assessments!: Record<string, unknown>;
  @ApiProperty() totalScore!: number;
  @ApiProperty() totalMaxScore!: number;
  @ApiProperty({ enum: ['Issued', 'Failed'], nullable: true, type: String })
  certificateStatus!: string | null;
  @ApiProperty({ nullable: true, type: Object }) certificate!: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, type: String }) lastAccessTime!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastContentId!: string | null;
}

export class EnrolmentProgressView extends EnrolmentView {
  @ApiProperty({ type: Object, description: 'Per content: status and last access' })
  contents!: Record<string, unknown>;
}

export class ParticipantPage {
  @ApiProperty({ type: [EnrolmentView] }) items!: EnrolmentView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
  @ApiProperty({ type: Object }) counts!: { total: number; active: number; completed: number };
}

export class UserEnrolmentsView {
  @ApiProperty({ type: [EnrolmentView] }) items!: EnrolmentView[];
}

export class BulkEnrolmentJobView {
  @ApiProperty() jobId!: string;
  @ApiProperty() batchId!: string;
  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] })
  status!: string;
  @ApiProperty({ description: 'Rows (user ids) in the request' }) total!: number;
  @ApiProperty() processed!: number;
  @ApiProperty({ minimum: 0, maximum: 100 }) percent!: number;
  @ApiProperty() enrolled!: number;
  @ApiProperty() alreadyEnrolled!: number;
  @ApiProperty({ description: 'Rows refused: listed at …/failures' }) failed!: number;
  @ApiProperty({ nullable: true, type: String, description: 'Why the job itself failed' })
  error!: string | null;
  @ApiProperty() requestedBy!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt!: string | null;
}

export class BulkRowFailureView {
  @ApiProperty({ description: 'The row of the request, from 1' }) row!: number;
  @ApiProperty() userId!: string;
  @ApiProperty({ description: 'The code the enrolment was refused with' }) code!: string;
  @ApiProperty() detail!: string;
}

export class BulkFailurePage {
  @ApiProperty({ type: [BulkRowFailureView] }) items!: BulkRowFailureView[];
  @ApiProperty({ nullable: true, type: Number, description: 'Pass as after for the next page' })
  nextAfter!: number | null;
}

/** The learner's standing after a write, straight from the write model. */
export class EnrolmentStandingView {
  @ApiProperty() userId!: string;
  @ApiProperty({ description: 'Whether the write recorded anything' }) changed!: boolean;
  @ApiProperty() active!: boolean;
  @ApiProperty({ enum: [0, 1, 2], description: '0 not started, 1 in progress, 2 completed' })
  status!: number;
  @ApiProperty() progressPercent!: number;
  @ApiProperty({ nullable: true, type: String }) completedOn!: string | null;
  @ApiProperty() totalScore!: number;
  @ApiProperty() totalMaxScore!: number;
  @ApiProperty({ enum: ['Issued', 'Failed'], nullable: true, type: String })
  certificateStatus!: string | null;
}

export class EnrolmentWriteErrorView {
  @ApiProperty() code!: string;
  @ApiProperty() detail!: string;
}

/** One learner's updates that were refused, in a request for several learners. */
export class ProgressFailureView {
  @ApiProperty() userId!: string;
  @ApiProperty({ type: EnrolmentWriteErrorView }) error!: EnrolmentWriteErrorView;
}

export class ProgressResultsView {
  @ApiProperty({
    type: 'array',
    description: 'Per learner: the standing after the updates, or why they were refused',
    items: {
      oneOf: [
        { $ref: getSchemaPath(EnrolmentStandingView) },
        { $ref: getSchemaPath(ProgressFailureView) },
      ],
    },
  })
  results!: (EnrolmentStandingView | ProgressFailureView)[];
  @ApiProperty() failed!: number;
}

export class AssessmentResultView extends EnrolmentStandingView {
  @ApiProperty() contentId!: string;
  @ApiProperty() attemptId!: string;
  @ApiProperty({
    nullable: true,
    type: Object,
    description: 'The assessment’s counting attempt and score, under the score policy',
  })
  assessment!: Record<string, unknown> | null;
}

export class CertificateRunView {
  @ApiProperty() considered!: number;
  @ApiProperty() issued!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() unchanged!: number;
}

/** An enrolment as the API shows it. */
export const enrolmentView = (row: EnrolmentRow): EnrolmentView => ({
  batchId: row.batchId,
  courseId: row.courseId,
  userId: row.userId,
  enrolledAt: row.enrolledAt,
  active: row.active,
  status: row.status,
  progressPercent: row.progressPercent,
  completedCount: row.completedCount,
  requiredCount: row.requiredCount,
  completedOn: row.completedOn,
  unitProgress: row.unitProgress,
  assessments: row.assessments,
  totalScore: row.totalScore,
  totalMaxScore: row.totalMaxScore,
  certificateStatus: row.certificateStatus,
  certificate:
    row.certificateStatus === null
      ? null
      : {
          status: row.certificateStatus,
          certificateId: row.certificateId,
          at: row.certificateAt,
          failure: row.certificateFailure,
        },
  lastAccessTime: row.lastAccessTime,
  lastContentId: row.lastContentId,
});
