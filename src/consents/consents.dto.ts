import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';

const CONSUMER_DESCRIPTION =
  'The organisation that may see the user’s personal data; defaults to the course’s own organisation';

export class GrantConsentRequest {
  @ApiPropertyOptional({ description: CONSUMER_DESCRIPTION, example: 'org-state-education' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `consumerOrganisationId must be ${IDENTIFIER_RULE}` })
  consumerOrganisationId?: string;
}

export class RevokeConsentQuery {
  @ApiPropertyOptional({ description: CONSUMER_DESCRIPTION })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `consumerOrganisationId must be ${IDENTIFIER_RULE}` })
  consumerOrganisationId?: string;
}

export class ConsentView {
  @ApiProperty() userId!: string;
  @ApiProperty() courseId!: string;
  @ApiProperty() consumerOrganisationId!: string;
  @ApiProperty({ enum: ['granted'] }) status!: 'granted';
  @ApiProperty({ format: 'date-time', description: 'When the active consent was given' })
  grantedAt!: string;
}

export class ConsentItemView {
  @ApiProperty() courseId!: string;
  @ApiProperty() consumerOrganisationId!: string;
  @ApiProperty({ enum: ['granted', 'revoked'] }) status!: 'granted' | 'revoked';
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) grantedAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When the latest grant was revoked; null while it is active',
  })
  revokedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ConsentListView {
  @ApiProperty({ type: [ConsentItemView] }) items!: ConsentItemView[];
}
