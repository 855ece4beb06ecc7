import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
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
import { FieldIssue, InvalidInputError } from '../errors/hub-error';
import { PageLimit } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import { CourseNode } from './course.events';

/** An http(s) URL without spaces: what LMS selectors and course regexes are matched against. */
export const LMS_RESOURCE_LINK = /^https?:\/\/[^\s]+$/;
export const LMS_RESOURCE_LINK_RULE = 'lmsResourceLink must be an http(s) URL without spaces';

export class CourseNodeDto {
  @ApiProperty({ example: 'do_unit_1' })
  @Matches(IDENTIFIER, { message: `id must be ${IDENTIFIER_RULE}` })
  id!: string;

  @ApiProperty({ example: 'Unit 1: Fractions' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  name!: string;

  @ApiProperty({ enum: ['unit', 'content', 'assessment'] })
  @IsIn(['unit', 'content', 'assessment'])
  kind!: 'unit' | 'content' | 'assessment';

  @ApiPropertyOptional({
    description: 'Leaves only: optional contents do not count towards completion',
  })
  @ValidateIf((node: CourseNodeDto) => node.kind !== 'unit' || node.optional !== undefined)
  @IsOptional()
  @IsBoolean()
  optional?: boolean;

  @ApiPropertyOptional({ description: 'Assessments (self-assessments) only: the highest score' })
  @ValidateIf((node: CourseNodeDto) => node.kind === 'assessment' || node.maxScore !== undefined)
  @IsInt({ message: 'maxScore must be a whole number; assessments need one' })
  @Min(1)
  @Max(1_000_000)
  maxScore?: number;

  @ApiPropertyOptional({ type: () => [CourseNodeDto], description: 'Units only' })
  @ValidateIf((node: CourseNodeDto) => node.kind === 'unit' || node.children !== undefined)
  @IsArray({ message: 'children must be an array; a unit needs one' })
  @ArrayMaxSize(5_000)
  @ValidateNested({ each: true })
  @Type(() => CourseNodeDto)
  children?: CourseNodeDto[];
}

export class TrackableDto {
  @ApiProperty({ description: 'Must be true (or "Yes"): only trackable collections are courses' })
  @IsOptional()
  enabled?: unknown;
}

export class CourseHierarchyRequest {
  @ApiProperty({ type: [CourseNodeDto] })
  @ArrayMaxSize(5_000)
  @ValidateNested({ each: true })
  @Type(() => CourseNodeDto)
  children!: CourseNodeDto[];
}

export class RegisterCourseRequest extends CourseHierarchyRequest {
  @ApiProperty({ example: 'do_2134567' })
  @Matches(IDENTIFIER, { message: `courseId must be ${IDENTIFIER_RULE}` })
  courseId!: string;

  @ApiProperty({ example: 'Foundations of arithmetic' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  name!: string;

  @ApiPropertyOptional({ description: 'Defaults to the caller’s organisation' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisationId must be ${IDENTIFIER_RULE}` })
  organisationId?: string;

  @ApiProperty({ type: TrackableDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => TrackableDto)
  trackable?: TrackableDto;

  @ApiPropertyOptional({
    description:
      'Whether learners are asked for consent to share personal data with the batch’s organisation (user-info reports need it); false by default',
  })
  @IsOptional()
  @IsBoolean()
  userConsent?: boolean;

  @ApiPropertyOptional({
    description:
      'The course run in an external LMS whose enrolments mirror this course’s (LMS_BACKENDS selects the LMS by it)',
    example: 'https://openedx.example.org/courses/course-v1:edX+DemoX+2026/course',
  })
  @IsOptional()
  @Matches(LMS_RESOURCE_LINK, { message: LMS_RESOURCE_LINK_RULE })
  @MaxLength(2_000)
  lmsResourceLink?: string;
}

export class CourseLmsResourceLinkRequest {
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'null: the course is no longer mirrored to an LMS',
  })
  @ValidateIf((_, value) => value !== null)
  @Matches(LMS_RESOURCE_LINK, { message: LMS_RESOURCE_LINK_RULE })
  @MaxLength(2_000)
  lmsResourceLink!: string | null;
}

const misplacedFields = (node: CourseNodeDto): string[] =>
  node.kind === 'unit'
    ? (['optional', 'maxScore'] as const).filter((field) => node[field] !== undefined)
    : node.kind === 'content'
      ? (['children', 'maxScore'] as const).filter((field) => node[field] !== undefined)
      : node.children === undefined
        ? []
        : ['children'];

const convert = (nodes: CourseNodeDto[], path: string, issues: FieldIssue[]): CourseNode[] =>
  nodes.map((node, index): CourseNode => {
    const at = `${path}[${index}]`;
    for (const field of misplacedFields(node))
      issues.push({ field: `${at}.${field}`, message: `a ${node.kind} has no ${field}` });
    switch (node.kind) {
      case 'unit':
        return {
          kind: 'unit',
          id: node.id,
          name: node.name,
          children: convert(node.children ?? [], `${at}.children`, issues),
        };
      case 'content':
        return { kind: 'content', id: node.id, name: node.name, optional: node.optional ?? false };
      case 'assessment':
        return {
          kind: 'assessment',
          id: node.id,
          name: node.name,
          optional: node.optional ?? false,
          maxScore: node.maxScore ?? 0,
        };
      default: {
        const unknownKind: never = node.kind;
        return unknownKind;
      }
    }
  });

/** The validated request tree as domain nodes; a field that does not fit its node's kind is a 400. */
export const toCourseNodes = (nodes: CourseNodeDto[]): CourseNode[] => {
  const issues: FieldIssue[] = [];
  const converted = convert(nodes, 'children', issues);
  if (issues.length > 0)
    throw new InvalidInputError('The course hierarchy is not valid', issues, 'VALIDATION_FAILED');
  return converted;
};

export const isTrackable = (trackable: TrackableDto | undefined): boolean =>
  trackable?.enabled === true || trackable?.enabled === 'Yes' || trackable?.enabled === 'true';

export class BatchStatusCountsView {
  @ApiProperty() upcoming!: number;
  @ApiProperty() inProgress!: number;
  @ApiProperty() ended!: number;
}

export class CourseView {
  @ApiProperty() courseId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty() hierarchyVersion!: number;
  @ApiProperty({ type: [CourseNodeDto] }) children!: CourseNode[];
  @ApiProperty({ description: 'Leaf contents that count towards completion' })
  requiredContentCount!: number;
  @ApiProperty() registeredAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ description: 'Learners are asked for consent to share personal data' })
  userConsent!: boolean;
  @ApiProperty({ type: String, nullable: true }) lmsResourceLink!: string | null;
  @ApiProperty({ type: BatchStatusCountsView }) batchCounts!: BatchStatusCountsView;
}

export class ListCoursesQuery {
  @ApiPropertyOptional({ description: 'System admins: one organisation’s courses' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisationId must be ${IDENTIFIER_RULE}` })
  organisationId?: string;

  @ApiPropertyOptional({ description: 'Courses this user registered' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `createdBy must be ${IDENTIFIER_RULE}` })
  createdBy?: string;

  @ApiPropertyOptional({ description: 'Text the name contains, ignoring case' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  q?: string;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  cursor?: string;

  @PageLimit(50, 200)
  limit?: number;
}

/** A course without its hierarchy, as lists show it. */
export class CourseSummaryView {
  @ApiProperty() courseId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty() hierarchyVersion!: number;
  @ApiProperty({ description: 'Leaf contents that count towards completion' })
  requiredContentCount!: number;
  @ApiProperty() registeredAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class CoursePage {
  @ApiProperty({ type: [CourseSummaryView] }) items!: CourseSummaryView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
