import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';

export class FailingProjectionView {
  @ApiProperty() projection!: string;
  @ApiProperty() error!: string;
  @ApiProperty({ description: 'When its failures in a row began' }) since!: string;
  @ApiProperty() attempts!: number;
}

const CHECKS: ApiPropertyOptions = {
  type: 'object',
  description:
    'Per check (database, eventStore, projections): its status ("up"), and the database’s kind or each projection’s state, lag and failure',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string' } },
  },
};

/** GET /health when the hub is ready (terminus's result, with the failing projections). */
export class HealthView {
  @ApiProperty({
    enum: ['ok', 'degraded'],
    description: 'degraded: a projection fails (still 200: writes and other read models work)',
  })
  status!: string;
  @ApiPropertyOptional(CHECKS) info?: Record<string, unknown>;
  @ApiPropertyOptional(CHECKS) error?: Record<string, unknown>;
  @ApiProperty(CHECKS) details!: Record<string, unknown>;
  @ApiPropertyOptional({ type: [FailingProjectionView] }) degraded?: FailingProjectionView[];
}
