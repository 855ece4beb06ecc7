import { Body, Controller, Delete, Get, HttpCode, Inject, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { readUserProfile } from '../../projections/users/users.query';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal } from '../auth/auth.guard';
import { canSeeOrganisation, isAdminOf, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ForbiddenError } from '../errors/hub-error';
import { IdParam, RequestId } from '../http/request-context';
import { PersonalDataVault } from './personal-data-vault';
import { profileView } from './users.lookups';
import { userNotFound } from './user.decider';
import { ErasePersonalDataCommand, RecordUserProfileCommand } from './users.commands';
import { UserProfileRequest, UserProfileView } from './users.dto';

@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/users')
export class UsersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly vault: PersonalDataVault,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  @Put(':userId/profile')
  @ApiOperation({
    summary:
      'Record a profile snapshot (organisation admin or its user service). Unchanged snapshots record nothing; one without organisationId keeps the user in their organisation.',
  })
  @ApiOkResponse({ type: UserProfileView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'ORGANISATION_REQUIRED'],
    403: ['UNAUTHORIZED_USER'],
    404: ['USER_NOT_FOUND'],
    503: ['VIEW_BEHIND'],
  })
  async record(
    @IdParam('userId') userId: string,
    @Body() body: UserProfileRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<UserProfileView> {
    await this.commands.execute(new RecordUserProfileCommand(userId, body, principal, requestId));
    return this.view(userId, principal);
  }

  @Get(':userId/profile')
  @ApiOperation({
    summary: 'The profile: for the user, their organisation’s admins and system admins',
  })
  @ApiOkResponse({ type: UserProfileView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER'],
    404: ['USER_NOT_FOUND'],
  })
  get(
    @IdParam('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<UserProfileView> {
    return this.view(userId, principal);
  }

  @Delete(':userId/personal-data')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Erase the user’s name, email, phone and external id everywhere, for good (their key is destroyed)',
  })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['UNAUTHORIZED_USER'],
    404: ['USER_NOT_FOUND'],
  })
  async erase(
    @IdParam('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.commands.execute(new ErasePersonalDataCommand(userId, principal, requestId));
  }

  private async view(userId: string, principal: Principal): Promise<UserProfileView> {
    const row = await readUserProfile(this.db, userId);
    if (!row || !canSeeOrganisation(principal, row.organisationId)) throw userNotFound(userId);
    if (principal.userId !== userId && !isAdminOf(principal, row.organisationId))
      throw new ForbiddenError(
        'UNAUTHORIZED_USER',
        'Only the user and their organisation’s admins see a profile',
      );
    return profileView(row, this.vault);
  }
}
