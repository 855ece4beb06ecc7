import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageLimit, queryBoolean } from '../http/query-params';
import { PROGRAM_ID, PROGRAM_ID_RULE } from '../programs/program.decider';
import { IsInstant } from '../time/is-instant';

class EventCategoryDoc {
  @ApiProperty({ example: 'COURSE', maxLength: 100 }) value!: string;
  @ApiPropertyOptional({ example: 'Course', maxLength: 200, nullable: true, type: String })
  label?: string | null;
}

/** The body of POST /v1/events (documentation: the hub checks it field by field itself). */
export class PublishEventRequest {
  @ApiProperty({ example: 'NCSBN', maxLength: 25, description: PROGRAM_ID_RULE })
  PublisherProgramId!: string;
  @ApiProperty({ example: 'LB', maxLength: 25, description: 'One of HUB_PUBLISHER_SYSTEM_IDS' })
  PublisherSystemId!: string;
  @ApiProperty({ example: 'AI_COMP_SUCCESS', maxLength: 50, description: 'One of HUB_EVENT_TYPES' })
  EventType!: string;
  @ApiProperty({ example: 'AI:1234', maxLength: 200 }) PublisherEventId!: string;
  @ApiProperty({ example: 'joebob@example.com', maxLength: 200 }) PublisherParticipantId!: string;
  @ApiPropertyOptional({ type: EventCategoryDoc, nullable: true })
  PublisherEventCategory?: EventCategoryDoc | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The publisher’s own JSON (at most HUB_EVENT_DATA_MAX_BYTES)',
  })
  PublisherEventData!: Record<string, unknown>;
  @ApiProperty({ example: '2026-12-01T09:30:00Z' }) EventStartUtc!: string;
  @ApiPropertyOptional({ example: '2026-12-01T10:30:00Z', nullable: true, type: String })
  EventEndUtc?: string | null;
}

export class LearningEventView extends PublishEventRequest {
  @ApiProperty({ example: 'NCSBN-8c5e0f52-6f0b-5a1e-9d33-0b7a4f1c2d3e' }) EventId!: string;
  @ApiProperty() CreatedUtc!: string;
  @ApiProperty({ nullable: true, type: String }) AmendedUtc!: string | null;
}

export class PublishBatchResult {
  @ApiProperty() index!: number;
  @ApiProperty({ description: '201 published, 200 already published, else a problem status' })
  status!: number;
  @ApiPropertyOptional() EventId?: string;
  @ApiPropertyOptional() code?: string;
  @ApiPropertyOptional() detail?: string;
  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } }) issues?: unknown[];
}

export class PublishBatchView {
  @ApiProperty() created!: number;
  @ApiProperty() duplicates!: number;
  @ApiProperty() failed!: number;
  @ApiProperty({ type: [PublishBatchResult] }) results!: PublishBatchResult[];
}

export class ListEventsQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(PROGRAM_ID, { message: `programId must be ${PROGRAM_ID_RULE}` })
  programId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  participantId?: string;

  @ApiPropertyOptional({ description: 'PublisherEventCategory.value' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  category?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(50)
  eventType?: string;

  @ApiPropertyOptional({ description: 'CreatedUtc at or after this instant' })
  @IsOptional()
  @IsInstant()
  from?: string;

  @ApiPropertyOptional({ description: 'CreatedUtc before this instant' })
  @IsOptional()
  @IsInstant()
  to?: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  includeRetracted?: boolean;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @PageLimit(100, 1000)
  limit?: number;
}

export class ListedLearningEventView extends LearningEventView {
  @ApiProperty({ nullable: true, type: String }) RetractedUtc!: string | null;
}

export class LearningEventPage {
  @ApiProperty({ type: [ListedLearningEventView] }) items!: ListedLearningEventView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

/** The body of POST /v1/events/erasures. */
export class EraseParticipantRequest {
  @ApiProperty({ example: 'NCSBN', maxLength: 25, description: PROGRAM_ID_RULE })
  @Matches(PROGRAM_ID, { message: `PublisherProgramId must be ${PROGRAM_ID_RULE}` })
  PublisherProgramId!: string;

  @ApiProperty({
    example: 'joebob@example.com',
    maxLength: 200,
    description: 'Exactly as the program’s events name the participant',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  PublisherParticipantId!: string;
}

export class ParticipantErasureView {
  @ApiProperty({ example: '01JF3Q9X4Z8M2N6P0R5T7V9W1Y' }) ErasureId!: string;
  @ApiProperty({ example: 'NCSBN' }) PublisherProgramId!: string;
  @ApiProperty({ type: [String], description: 'The events erased; none when none named them' })
  EventIds!: string[];
  @ApiProperty() ErasedUtc!: string;
}
