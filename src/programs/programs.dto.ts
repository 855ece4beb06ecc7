import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { PageLimit } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import { PROGRAM_ID, PROGRAM_ID_RULE } from './program.decider';

export class RegisterProgramRequest {
  @ApiProperty({ example: 'NCSBN', description: PROGRAM_ID_RULE })
  @Matches(PROGRAM_ID, { message: `programId must be ${PROGRAM_ID_RULE}` })
  programId!: string;

  @ApiPropertyOptional({ description: 'Defaults to the caller’s; only system admins name another' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisationId must be ${IDENTIFIER_RULE}` })
  organisationId?: string;

  @ApiProperty({ example: 'Nursing board CE program', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ maxLength: 2000, nullable: true, type: String })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @MaxLength(2000)
  description?: string | null;
}

export class UpdateProgramRequest {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ maxLength: 2000, nullable: true, type: String })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @MaxLength(2000)
  description?: string | null;
}

export class ListProgramsQuery {
  @ApiPropertyOptional({ description: 'System admins: one organisation’s programs' })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisationId must be ${IDENTIFIER_RULE}` })
  organisationId?: string;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(PROGRAM_ID, { message: 'cursor must be nextCursor of a previous page' })
  cursor?: string;

  @PageLimit(50, 500)
  limit?: number;
}

export class ProgramView {
  @ApiProperty() programId!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty() registeredAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class ProgramPage {
  @ApiProperty({ type: [ProgramView] }) items!: ProgramView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
