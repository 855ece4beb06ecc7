import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { Role, ROLES } from '../auth/principal';
import { queryBoolean, queryInteger } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';

export class CreateApiKeyRequest {
  @ApiProperty({ description: 'The user or service the key acts as', example: 'lms-sync' })
  @Matches(IDENTIFIER, { message: `principalId must be ${IDENTIFIER_RULE}` })
  principalId!: string;

  @ApiPropertyOptional({ description: 'Defaults to the caller’s; only system admins name another' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisationId must be ${IDENTIFIER_RULE}` })
  organisationId?: string;

  @ApiProperty({ enum: ROLES, isArray: true, example: ['CONTENT_CREATOR'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(ROLES.length)
  @IsIn(ROLES, { each: true, message: `each role must be one of ${ROLES.join(', ')}` })
  roles!: Role[];

  @ApiPropertyOptional({ example: 'State user service' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  label?: string;
}

export class ApiKeyView {
  @ApiProperty() keyId!: string;
  @ApiProperty() principalId!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty({ enum: ROLES, isArray: true }) roles!: Role[];
  @ApiProperty() label!: string;
  @ApiProperty() issuedAt!: string;
}

export class IssuedApiKeyView extends ApiKeyView {
  @ApiProperty({ description: 'The bearer token. Shown only in this response; store it now.' })
  token!: string;
}

export class ListedApiKeyView extends ApiKeyView {
  @ApiProperty() issuedBy!: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
}

export class ApiKeyPage {
  @ApiProperty({ type: [ListedApiKeyView] }) items!: ListedApiKeyView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `after` for the next page' })
  nextCursor!: string | null;
}

export class ListApiKeysQuery {
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  includeRevoked?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  after?: string;

  @ApiPropertyOptional({ default: 50, maximum: 200 })
  @IsOptional()
  @Transform(queryInteger)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}
