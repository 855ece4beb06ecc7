import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { LMS_RESOURCE_LINK, LMS_RESOURCE_LINK_RULE } from '../courses/courses.dto';
import { PageLimit, queryInteger } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import { BatchStatus, CertificateCriteria, ENROLLMENT_TYPES, EnrollmentType } from './batch.events';

const DATE_EXAMPLE = '2026-12-01 or 2026-12-01T09:30:00+05:30';

export class CertificateCriteriaDto {
  @ApiPropertyOptional({
    default: 100,
    minimum: 0,
    maximum: 100,
    description:
      'Course progress a certificate needs, in percent; 100 (the whole course) if not given',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  minCompletionPercent?: number;

  @ApiPropertyOptional({
    default: 70,
    nullable: true,
    type: Number,
    description:
      'Total assessment score a certificate needs, in percent of the maximum; null for no score ' +
      'rule. Not given, it is 70 for a course with assessments and no rule for one without (the ' +
      'course is checked when the certificate is due). A value given holds for any course: on a ' +
      'course without assessments the certificate then fails with NO_ASSESSMENT_FOR_SCORE_RULE.',
  })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  minScorePercent?: number | null;
}

class BatchFields {
  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiPropertyOptional({
    example: '2026-12-31',
    description: `A date or an instant: ${DATE_EXAMPLE}`,
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  endDate?: string;

  @ApiPropertyOptional({
    description: 'Last day of enrolment; defaults to the day before endDate',
    example: '2026-12-20',
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  enrollmentEndDate?: string;

  @ApiPropertyOptional({ type: [String], description: 'Organisations the batch is for' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(IDENTIFIER, { each: true, message: `each createdFor must be ${IDENTIFIER_RULE}` })
  createdFor?: string[];

  @ApiPropertyOptional({ type: [String], description: 'User ids of the organisation' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(IDENTIFIER, { each: true, message: `each mentor must be ${IDENTIFIER_RULE}` })
  mentors?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Invite-only batches: who may enrol' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100_000)
  @Matches(IDENTIFIER, { each: true, message: `each invitee must be ${IDENTIFIER_RULE}` })
  invitees?: string[];

  @ApiPropertyOptional({
    type: CertificateCriteriaDto,
    description:
      'Defaults to minCompletionPercent 100 and minScorePercent 70, the score rule only for a ' +
      'course with assessments; on an update, what is not given stays as it was',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => CertificateCriteriaDto)
  certificateCriteria?: CertificateCriteriaDto;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description:
      'The LMS course run this batch’s enrolments mirror to, instead of the course’s; null clears it',
  })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @Matches(LMS_RESOURCE_LINK, { message: LMS_RESOURCE_LINK_RULE })
  @MaxLength(2_000)
  lmsResourceLink?: string | null;
}

export class CertificateCriteriaView {
  @ApiProperty({ minimum: 0, maximum: 100 }) minCompletionPercent!: number;
  @ApiProperty({ nullable: true, type: Number, minimum: 0, maximum: 100 })
  minScorePercent!: number | null;
  @ApiProperty({
    description:
      'True when minScorePercent is the default (it was not given): it then applies only if the ' +
      'course has assessments',
  })
  scoreRuleDefaulted!: boolean;
}

/** The criteria as the API shows them; a batch recorded before defaults were told apart: given. */
export const criteriaView = (criteria: CertificateCriteria): CertificateCriteriaView => ({
  minCompletionPercent: criteria.minCompletionPercent,
  minScorePercent: criteria.minScorePercent,
  scoreRuleDefaulted: criteria.scoreRuleDefaulted === true,
});

export class CreateBatchRequest extends BatchFields {
  @ApiPropertyOptional({ description: 'Chosen by the client, or generated (a ULID)' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `batchId must be ${IDENTIFIER_RULE}` })
  batchId?: string;

  @ApiProperty({ example: 'do_2134567' })
  @Matches(IDENTIFIER, { message: `courseId must be ${IDENTIFIER_RULE}` })
  courseId!: string;

  @ApiProperty({ example: 'December cohort' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  name!: string;

  @ApiProperty({ enum: ENROLLMENT_TYPES })
  @IsIn(ENROLLMENT_TYPES, { message: 'enrollmentType must be open or invite-only' })
  enrollmentType!: EnrollmentType;

  @ApiProperty({ example: '2026-12-01', description: `Today or later: ${DATE_EXAMPLE}` })
  @IsString()
  @MaxLength(40)
  startDate!: string;
}

export class UpdateBatchRequest extends BatchFields {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  name?: string;

  @ApiPropertyOptional({ enum: ENROLLMENT_TYPES })
  @IsOptional()
  @IsIn(ENROLLMENT_TYPES, { message: 'enrollmentType must be open or invite-only' })
  enrollmentType?: EnrollmentType;

  @ApiPropertyOptional({ description: 'Cannot change once the batch is in progress' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  startDate?: string;
}

export class ListBatchesQuery {
  @ApiPropertyOptional() @IsOptional() @Matches(IDENTIFIER) courseId?: string;

  @ApiPropertyOptional({ enum: [0, 1, 2], description: '0 upcoming, 1 in progress, 2 ended' })
  @IsOptional()
  @Transform(queryInteger)
  @IsIn([0, 1, 2], { message: 'status must be 0, 1 or 2' })
  status?: BatchStatus;

  @ApiPropertyOptional() @IsOptional() @Matches(IDENTIFIER) createdBy?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(IDENTIFIER) mentor?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(IDENTIFIER) organisationId?: string;

  @ApiPropertyOptional({ enum: ENROLLMENT_TYPES })
  @IsOptional()
  @IsIn(ENROLLMENT_TYPES)
  enrollmentType?: EnrollmentType;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  cursor?: string;

  @PageLimit(50, 200)
  limit?: number;
}

export class StatusCountsQuery {
  @ApiPropertyOptional() @IsOptional() @Matches(IDENTIFIER) courseId?: string;
}

export class BatchView {
  @ApiProperty() batchId!: string;
  @ApiProperty() courseId!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ enum: ENROLLMENT_TYPES }) enrollmentType!: EnrollmentType;
  @ApiProperty({ description: 'As given: a date or an instant' }) startDate!: string;
  @ApiProperty({ nullable: true, type: String }) endDate!: string | null;
  @ApiProperty({ nullable: true, type: String }) enrollmentEndDate!: string | null;
  @ApiProperty({ description: 'When the batch starts' }) startsAt!: string;
  @ApiProperty({ nullable: true, type: String, description: 'When it ends (exclusive)' })
  endsAt!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When enrolment closes (exclusive)' })
  enrollmentEndsAt!: string | null;
  @ApiProperty({ enum: [0, 1, 2], description: '0 upcoming, 1 in progress, 2 ended' })
  status!: BatchStatus;
  @ApiProperty({ nullable: true, type: String }) statusChangedAt!: string | null;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ type: [String] }) createdFor!: string[];
  @ApiProperty({ type: [String] }) mentors!: string[];
  @ApiProperty({ type: [String] }) invitees!: string[];
  @ApiProperty({ type: CertificateCriteriaView }) certificateCriteria!: CertificateCriteriaView;
  @ApiProperty({ type: String, nullable: true, description: 'null: the course’s link applies' })
  lmsResourceLink!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ description: 'Stream revision; send it back as If-Match' }) revision!: string;
}

export class BatchPage {
  @ApiProperty({ type: [BatchView] }) items!: BatchView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class CourseBatchCountsView {
  @ApiProperty() courseId!: string;
  @ApiProperty() upcoming!: number;
  @ApiProperty() inProgress!: number;
  @ApiProperty() ended!: number;
}

export class BatchHistoryEntry {
  @ApiProperty() revision!: string;
  @ApiProperty() type!: string;
  @ApiProperty({ description: 'Who caused it: a user or key principal, or system:hub' })
  actor!: string;
  @ApiProperty({ nullable: true, type: String }) actorOrganisationId!: string | null;
  @ApiProperty({ nullable: true, type: String }) requestId!: string | null;
  @ApiProperty() recordedAt!: string;
  @ApiProperty({ description: 'For BatchUpdated: each changed field with from and to' })
  data!: unknown;
}
