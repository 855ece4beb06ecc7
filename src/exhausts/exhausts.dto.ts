import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import { MAX_BATCHES_PER_REQUEST } from './exhaust-request.decider';
import { EXHAUST_TYPES, ExhaustType } from './reports/exhaust-types';
import { PageLimit } from '../http/query-params';
import { IsInstant } from '../time/is-instant';

/** POST /v1/jobs: the reference's report request, in the hub's names. */
export class RequestExhaustBody {
  @ApiProperty({ enum: EXHAUST_TYPES, description: 'The report' })
  @IsIn(EXHAUST_TYPES, { message: `type must be one of ${EXHAUST_TYPES.join(', ')}` })
  type!: ExhaustType;

  @ApiPropertyOptional({ description: `One batch. ${IDENTIFIER_RULE}` })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `batchId must be ${IDENTIFIER_RULE}` })
  batchId?: string;

  @ApiPropertyOptional({
    type: [String],
    description: `Up to ${MAX_BATCHES_PER_REQUEST} batches; one file each (unknown ones are skipped)`,
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCHES_PER_REQUEST, {
    message: `Number of batches in request exceeded. It should be within ${MAX_BATCHES_PER_REQUEST}`,
  })
  @Matches(IDENTIFIER, { each: true, message: `each batch id must be ${IDENTIFIER_RULE}` })
  batchIds?: string[];

  @ApiPropertyOptional({
    description:
      'The zip is AES-256 encrypted with it; kept sealed until the file is made, then dropped',
  })
  @IsOptional()
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  encryptionKey?: string;

  @ApiPropertyOptional({
    description: 'Groups requests, as the reference; by default the batch ids',
  })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `tag must be ${IDENTIFIER_RULE}` })
  tag?: string;
}

export class ProcessedBatchView {
  @ApiProperty() batchId!: string;
  @ApiProperty() filePath!: string;
  @ApiProperty() fileSize!: number;
  @ApiProperty() rows!: number;
}

/** A report request in the shape of the reference's job_request row. */
export class JobRequestDto {
  @ApiProperty() requestId!: string;
  @ApiProperty({ description: '<tag>:<organisation>' }) tag!: string;
  @ApiProperty({ enum: EXHAUST_TYPES, description: 'The report (the reference calls it job_id)' })
  jobId!: string;
  @ApiProperty({ enum: ['SUBMITTED', 'PROCESSING', 'SUCCESS', 'FAILED'] }) status!: string;
  @ApiProperty() requestData!: Record<string, unknown>;
  @ApiProperty() requestedBy!: string;
  @ApiProperty() requestedChannel!: string;
  @ApiProperty() dtJobSubmitted!: string;
  @ApiProperty({ type: [String], description: 'File keys; GET …/download for a link' })
  downloadUrls!: string[];
  @ApiProperty({ nullable: true, type: String }) dtJobCompleted!: string | null;
  @ApiProperty({ nullable: true, type: Number }) executionTime!: number | null;
  @ApiProperty({ nullable: true, type: String }) errMessage!: string | null;
  @ApiProperty() iteration!: number;
  @ApiProperty({ type: [ProcessedBatchView] }) processedBatches!: ProcessedBatchView[];
  @ApiProperty({ description: 'CSV rows written so far' }) rowsWritten!: number;
}

export class DownloadLinkView {
  @ApiProperty() batchId!: string;
  @ApiProperty({ description: 'Opens without a credential until it expires' }) url!: string;
  @ApiProperty() expiresAt!: string;
}

export class ListJobRequestsQuery {
  @ApiPropertyOptional({ description: 'The whole tag, `<tag>:<organisation>`' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  tag?: string;

  @ApiPropertyOptional({ enum: EXHAUST_TYPES })
  @IsOptional()
  @IsIn(EXHAUST_TYPES, { message: `type must be one of ${EXHAUST_TYPES.join(', ')}` })
  type?: ExhaustType;

  @ApiPropertyOptional({ enum: ['SUBMITTED', 'PROCESSING', 'SUCCESS', 'FAILED'] })
  @IsOptional()
  @IsIn(['SUBMITTED', 'PROCESSING', 'SUCCESS', 'FAILED'], {
    message: 'status must be SUBMITTED, PROCESSING, SUCCESS or FAILED',
  })
  status?: 'SUBMITTED' | 'PROCESSING' | 'SUCCESS' | 'FAILED';

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  cursor?: string;

  @PageLimit(50, 200)
  limit?: number;
}

/** A report request as the job_request read model lists it. */
export class JobRequestListItem {
  @ApiProperty() requestId!: string;
  @ApiProperty() tag!: string;
  @ApiProperty({ enum: EXHAUST_TYPES }) jobId!: string;
  @ApiProperty({ enum: ['SUBMITTED', 'PROCESSING', 'SUCCESS', 'FAILED'] }) status!: string;
  @ApiProperty() requestData!: Record<string, unknown>;
  @ApiProperty() requestedBy!: string;
  @ApiProperty() requestedChannel!: string;
  @ApiProperty() dtJobSubmitted!: string;
  @ApiProperty({ type: [String] }) downloadUrls!: string[];
  @ApiProperty({ nullable: true, type: String }) dtFileCreated!: string | null;
  @ApiProperty({ nullable: true, type: String }) dtJobCompleted!: string | null;
  @ApiProperty({ nullable: true, type: Number }) executionTime!: number | null;
  @ApiProperty({ nullable: true, type: String }) errMessage!: string | null;
  @ApiProperty() iteration!: number;
  @ApiProperty({ type: [ProcessedBatchView] }) processedBatches!: ProcessedBatchView[];
  @ApiProperty({ description: 'Downloads of its files so far' }) downloads!: number;
}

export class JobRequestPage {
  @ApiProperty({ type: [JobRequestListItem] }) items!: JobRequestListItem[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class DownloadRatioQuery {
  @ApiPropertyOptional({ description: 'Inclusive: files made and downloads from this instant' })
  @IsOptional()
  @IsInstant()
  from?: string;

  @ApiPropertyOptional({ description: 'Exclusive: files made and downloads before this instant' })
  @IsOptional()
  @IsInstant()
  to?: string;
}

/** Downloads ÷ batches reported on: seed 002's measure of whether reports are used. */
export class DownloadRatioView {
  @ApiProperty({ description: 'Batches with a report file made' }) batches!: number;
  @ApiProperty() downloads!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'downloads ÷ batches; null without batches',
  })
  ratio!: number | null;
}

export class BatchDownloadRatioView extends DownloadRatioView {
  @ApiProperty() batchId!: string;
  @ApiProperty({ nullable: true, type: String }) courseId!: string | null;
  @ApiProperty({ description: 'Report files made for the batch' }) files!: number;
}

export class CourseDownloadRatioView extends DownloadRatioView {
  @ApiProperty({ nullable: true, type: String }) courseId!: string | null;
}

export class OrganisationDownloadRatioView extends DownloadRatioView {
  @ApiProperty() organisationId!: string;
}

export class DownloadRatiosView {
  @ApiProperty({ type: DownloadRatioView }) allCourses!: DownloadRatioView;
  @ApiProperty({ type: [OrganisationDownloadRatioView] })
  byOrganisation!: OrganisationDownloadRatioView[];
  @ApiProperty({ type: [CourseDownloadRatioView] }) byCourse!: CourseDownloadRatioView[];
  @ApiProperty({ type: [BatchDownloadRatioView] }) byBatch!: BatchDownloadRatioView[];
}
