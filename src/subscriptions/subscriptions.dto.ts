import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PageLimit } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import { PROGRAM_ID, PROGRAM_ID_RULE } from '../programs/program.decider';

const TEMPLATES_DESCRIPTION =
  'Keyed by PublisherEventCategory.value, with "*_default" for every other category: ' +
  '{action: import|ignore, label, template}. A template is Handlebars producing JSON; ' +
  '"{{x}}" is escaped for a JSON string, {{json x}} renders a JSON literal.';

export class WebhookDto {
  @ApiProperty({ example: 'https://lms.example.org/hub-webhook', maxLength: 2000 })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  url!: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 100,
    nullable: true,
    type: Number,
    description:
      'Attempts before a delivery is dead-lettered and delivery waits there; the delays between them follow HUB_WEBHOOK_RETRY_SCHEDULE, repeating its last one (default: one more than its delays, 8)',
  })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsInt()
  @Min(1)
  @Max(100)
  maxAttempts?: number | null;
}

export class CreateSubscriptionRequest {
  @ApiPropertyOptional({
    description: `Chosen by the client to make retries safe; the hub assigns one otherwise. ${IDENTIFIER_RULE}`,
  })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `subscriptionId must be ${IDENTIFIER_RULE}` })
  subscriptionId?: string;

  @ApiProperty({ description: `The subscribing program (yours). ${PROGRAM_ID_RULE}` })
  @Matches(PROGRAM_ID, { message: `subscriberProgramId must be ${PROGRAM_ID_RULE}` })
  subscriberProgramId!: string;

  @ApiProperty({ description: `The program whose events you want. ${PROGRAM_ID_RULE}` })
  @Matches(PROGRAM_ID, { message: `publisherProgramId must be ${PROGRAM_ID_RULE}` })
  publisherProgramId!: string;

  @ApiPropertyOptional({ maxLength: 200, nullable: true, type: String })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @MaxLength(200)
  name?: string | null;

  @ApiPropertyOptional({ default: true, description: 'False: created paused' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiProperty({ type: 'object', additionalProperties: true, description: TEMPLATES_DESCRIPTION })
  @IsObject()
  templates!: Record<string, unknown>;

  @ApiPropertyOptional({ type: WebhookDto, nullable: true })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @ValidateNested()
  @Type(() => WebhookDto)
  webhook?: WebhookDto | null;
}

export class UpdateSubscriptionRequest {
  @ApiPropertyOptional({ maxLength: 200, nullable: true, type: String })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @MaxLength(200)
  name?: string | null;

  @ApiPropertyOptional({ description: 'False pauses, true resumes' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: TEMPLATES_DESCRIPTION,
  })
  @IsOptional()
  @IsObject()
  templates?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: WebhookDto,
    nullable: true,
    description: 'null removes the webhook',
  })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @ValidateNested()
  @Type(() => WebhookDto)
  webhook?: WebhookDto | null;
}

export class RejectSubscriptionRequest {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class ReplaySubscriptionRequest {
  @ApiProperty({
    description:
      'An instant (ISO 8601 with a zone): everything recorded since then comes again; a cursor (from the feed or an SSE id): everything after it; or "start"',
    example: '2026-12-01T00:00:00Z',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  from!: string;
}

export class ListSubscriptionsQuery {
  @ApiPropertyOptional({ enum: ['pending', 'approved', 'rejected'] })
  @IsOptional()
  @IsIn(['pending', 'approved', 'rejected'])
  approval?: 'pending' | 'approved' | 'rejected';

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(PROGRAM_ID, { message: `subscriberProgramId must be ${PROGRAM_ID_RULE}` })
  subscriberProgramId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(PROGRAM_ID, { message: `publisherProgramId must be ${PROGRAM_ID_RULE}` })
  publisherProgramId?: string;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: 'cursor must be nextCursor of a previous page' })
  cursor?: string;

  @PageLimit(50, 500)
  limit?: number;
}

export class FeedQuery {
  @ApiPropertyOptional({
    description:
      'nextCursor of the previous page, an SSE event id, or "start"; default: the subscription’s position',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;

  @PageLimit(100, 1000)
  limit?: number;
}

export class StreamQuery {
  @ApiPropertyOptional({ description: 'Where to start when no Last-Event-ID is sent' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;
}

export class DeliveriesQuery {
  @ApiPropertyOptional({ enum: ['delivered', 'failed', 'dead-lettered', 'redelivered'] })
  @IsOptional()
  @IsIn(['delivered', 'failed', 'dead-lettered', 'redelivered'])
  outcome?: 'delivered' | 'failed' | 'dead-lettered' | 'redelivered';

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'cursor must be nextCursor of a previous page' })
  cursor?: string;

  @PageLimit(100, 1000)
  limit?: number;
}

export class DeadLettersQuery {
  @ApiPropertyOptional({ enum: ['dead', 'queued', 'redelivered'] })
  @IsOptional()
  @IsIn(['dead', 'queued', 'redelivered'])
  status?: 'dead' | 'queued' | 'redelivered';

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: 'cursor must be nextCursor of a previous page' })
  cursor?: string;

  @PageLimit(50, 500)
  limit?: number;
}

export class WebhookView {
  @ApiProperty() url!: string;
  @ApiProperty({ nullable: true, type: Number }) maxAttempts!: number | null;
  @ApiProperty({ type: [String], description: 'Active signing secrets, oldest first' })
  secretIds!: string[];
}

export class SubscriptionCategoriesView {
  @ApiProperty({ type: [String], description: 'Categories imported by an entry of their own' })
  imported!: string[];
  @ApiProperty({ type: [String], description: 'Categories ignored by an entry of their own' })
  ignored!: string[];
  @ApiProperty({
    description: 'Whether every other category (and an event without one) is imported (*_default)',
  })
  othersImported!: boolean;
}

const SETTINGS_AUDIENCE =
  'Only for admins of the subscriber’s organisation, its SUBSCRIBER keys and system admins; ' +
  'absent for everyone else who sees the subscription (the publisher’s admins, other roles).';

export class SubscriptionView {
  @ApiProperty() subscriptionId!: string;
  @ApiProperty() subscriberProgramId!: string;
  @ApiProperty() subscriberOrganisationId!: string;
  @ApiProperty() publisherProgramId!: string;
  @ApiProperty() publisherOrganisationId!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({
    enum: ['pending', 'active', 'paused', 'rejected'],
    description: 'pending: waits for the publisher; active: events flow; paused; rejected',
  })
  status!: 'pending' | 'active' | 'paused' | 'rejected';
  @ApiProperty({ enum: ['pending', 'approved', 'rejected'] }) approval!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({
    type: SubscriptionCategoriesView,
    description:
      'What the template set lets through: what the publisher approves. For all who see it',
  })
  categories!: SubscriptionCategoriesView;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: `The template set. ${SETTINGS_AUDIENCE}`,
  })
  templates?: Record<string, unknown>;
  @ApiPropertyOptional({
    type: WebhookView,
    nullable: true,
    description: `null: no webhook. ${SETTINGS_AUDIENCE}`,
  })
  webhook?: WebhookView | null;
  @ApiProperty() createdBy!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class IssuedWebhookSecretView {
  @ApiProperty() secretId!: string;
  @ApiProperty({ description: 'whsec_…: shown only in this response; store it now' })
  secret!: string;
}

export class CreatedSubscriptionView extends SubscriptionView {
  @ApiPropertyOptional({ type: IssuedWebhookSecretView })
  webhookSecret?: IssuedWebhookSecretView;
}

export class SubscriptionPage {
  @ApiProperty({ type: [SubscriptionView] }) items!: SubscriptionView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

/** Any JSON value (a template's output). */
const ANY_JSON = {
  oneOf: [
    { type: 'object' },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
  ],
};

export class FeedCategoryView {
  @ApiProperty() value!: string;
  @ApiProperty({ nullable: true, type: String }) label!: string | null;
}

/** One change of a publisher's event, converted for the subscriber. */
export class EventFeedItemView {
  @ApiProperty({ description: 'Resume after this item: pass it as after, or Last-Event-ID' })
  cursor!: string;
  @ApiProperty({ enum: ['published', 'amended', 'retracted'] }) kind!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty() publisherProgramId!: string;
  @ApiProperty() publisherSystemId!: string;
  @ApiProperty() publisherEventId!: string;
  @ApiProperty() participantId!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty({ type: FeedCategoryView, nullable: true }) category!: FeedCategoryView | null;
  @ApiProperty({ description: 'The template-set key that applied: the category or *_default' })
  template!: string;
  @ApiProperty({ nullable: true, type: String }) label!: string | null;
  @ApiProperty() createdUtc!: string;
  @ApiProperty({ nullable: true, type: String }) amendedUtc!: string | null;
  @ApiProperty({ nullable: true, type: String }) retractedUtc!: string | null;
  @ApiProperty({ description: 'When the hub recorded this change' }) recordedUtc!: string;
  @ApiProperty({
    ...ANY_JSON,
    nullable: true,
    description: 'The template’s output; null for retractions and failed conversions',
  })
  payload!: unknown;
  @ApiProperty({ nullable: true, type: String }) conversionError!: string | null;
}

/** The publisher erased a participant: the subscriber deletes its copies of these events. */
export class ErasureFeedItemView {
  @ApiProperty() cursor!: string;
  @ApiProperty({ enum: ['erased'] }) kind!: string;
  @ApiProperty() erasureId!: string;
  @ApiProperty() publisherProgramId!: string;
  @ApiProperty({ type: [String] }) eventIds!: string[];
  @ApiProperty() erasedUtc!: string;
  @ApiProperty() recordedUtc!: string;
}

export class FeedPageView {
  @ApiProperty({
    type: 'array',
    items: {
      oneOf: [
        { $ref: getSchemaPath(EventFeedItemView) },
        { $ref: getSchemaPath(ErasureFeedItemView) },
      ],
    },
  })
  items!: (EventFeedItemView | ErasureFeedItemView)[];
  @ApiProperty({ description: 'Pass as after for the next page' }) nextCursor!: string;
  @ApiProperty({ description: 'False once the page reached the end of the log' })
  hasMore!: boolean;
}

export class ReplayView {
  @ApiProperty() subscriptionId!: string;
  @ApiProperty({ description: 'The cursor delivery starts after, or "start"' }) position!: string;
}

export class WebhookDeliveryStateView {
  @ApiProperty({ enum: ['delivering', 'retrying', 'suspended', 'redelivering'] })
  status!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The delivery everything newer waits behind',
  })
  deliveryId!: string | null;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, type: String }) nextAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ nullable: true, type: Number }) lastHttpStatus!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'When the status began' })
  since!: string | null;
}

export class DeliveryAttemptView {
  @ApiProperty() attemptId!: string;
  @ApiProperty() deliveryId!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty({ enum: ['delivered', 'failed', 'dead-lettered', 'redelivered'] })
  outcome!: string;
  @ApiProperty() itemCount!: number;
  @ApiProperty() firstCursor!: string;
  @ApiProperty() lastCursor!: string;
  @ApiProperty({ nullable: true, type: Number }) httpStatus!: number | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty() durationMs!: number;
  @ApiProperty() attemptedAt!: string;
  @ApiProperty({ nullable: true, type: String }) nextAttemptAt!: string | null;
}

export class DeliveriesPage {
  @ApiProperty({
    type: WebhookDeliveryStateView,
    nullable: true,
    description: 'How delivery stands; null without a webhook',
  })
  webhook!: WebhookDeliveryStateView | null;
  @ApiProperty({ type: [DeliveryAttemptView] }) items!: DeliveryAttemptView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class DeadLetterView {
  @ApiProperty() deliveryId!: string;
  @ApiProperty({ enum: ['dead', 'queued', 'redelivered'] }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ nullable: true, type: Number }) lastHttpStatus!: number | null;
  @ApiProperty() deadAt!: string;
  @ApiProperty({ nullable: true, type: String }) redeliveryRequestedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) redeliveredAt!: string | null;
  @ApiProperty({
    type: 'array',
    description: 'The feed items it carried',
    items: {
      oneOf: [
        { $ref: getSchemaPath(EventFeedItemView) },
        { $ref: getSchemaPath(ErasureFeedItemView) },
      ],
    },
  })
  items!: (EventFeedItemView | ErasureFeedItemView)[];
}

export class DeadLetterPage {
  @ApiProperty({ type: [DeadLetterView] }) items!: DeadLetterView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class RedeliveryView {
  @ApiProperty({ description: 'Dead letters queued for another round' }) queued!: number;
}
