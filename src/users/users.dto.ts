import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';

/** A snapshot of a user's profile as the organisation's user service knows it. */
export class UserProfileRequest {
  @ApiPropertyOptional({
    description:
      'Organisation (tenant) id. Omitted: an existing user keeps theirs; a new user gets the caller’s, ' +
      'except that a system admin must name it (400 ORGANISATION_REQUIRED). Only system admins may ' +
      'name another organisation than their own, and only they move a user to another.',
  })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisationId must be ${IDENTIFIER_RULE}` })
  organisationId?: string;

  @ApiPropertyOptional({ description: 'Personal data: erasable.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ description: 'Personal data: erasable.' })
  @IsOptional()
  @IsEmail()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ description: 'Personal data: erasable.', example: '+91 98450 12345' })
  @IsOptional()
  @Matches(/^\+?[0-9 ()-]{4,24}$/, { message: 'phone must be a phone number' })
  phone?: string;

  @ApiPropertyOptional({
    description: 'The state’s own id for the user (e.g. teacher id). Personal data: erasable.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  externalId?: string;

  @ApiPropertyOptional({ example: 'teacher' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  userType?: string;

  @ApiPropertyOptional({ example: 'hm' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  userSubType?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) state?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) district?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) block?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) cluster?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) schoolId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) schoolName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) organisationName?: string;
}

export class UserProfileView {
  @ApiPropertyOptional() userId!: string;
  @ApiPropertyOptional() organisationId!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) name!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) email!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) phone!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) externalId!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) userType!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) userSubType!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) state!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) district!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) block!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) cluster!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) schoolId!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) schoolName!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) organisationName!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' })
  personalDataErasedAt!: string | null;
  @ApiPropertyOptional({ format: 'date-time' }) recordedAt!: string;
}
