import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { listUserEnrolments } from '../../projections/enrolments/enrolments.query';
import { readUserProfile } from '../../projections/users/users.query';
import { CurrentPrincipal } from '../auth/auth.guard';
import { isSameUser, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import {
  enrolmentView,
  UserEnrolmentsQuery,
  UserEnrolmentsView,
} from '../enrolments/enrolments.dto';
import { UserProfiles } from '../users/users.lookups';
import { MeView } from './me.dto';

/** Who the caller is, and what is theirs: for every credential, whatever its roles. */
@ApiTags('me')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  constructor(
    private readonly profiles: UserProfiles,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The caller: principal, organisation, roles, credential, and their own profile',
  })
  @ApiOkResponse({ type: MeView })
  async me(@CurrentPrincipal() principal: Principal): Promise<MeView> {
    const { userId, organisationId, roles, credential } = principal;
    const row = await readUserProfile(this.db, userId);
    // A profile of the same id in another organisation is someone else's: not shown.
    const own = row !== null && isSameUser(principal, userId, row);
    return {
      userId,
      organisationId,
      roles: [...roles],
      credential: { ...credential },
      profile: own ? await this.profiles.view(row) : null,
    };
  }

  @Get('enrolments')
  @ApiOperation({ summary: 'The caller’s enrolments, latest first' })
  @ApiOkResponse({ type: UserEnrolmentsView })
  async enrolments(
    @Query() query: UserEnrolmentsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<UserEnrolmentsView> {
    const { userId } = principal;
    // Enrolments are kept by user id: those of a same-named user of another organisation are
    // not the caller's.
    if (!isSameUser(principal, userId, await readUserProfile(this.db, userId)))
      return { items: [] };
    const rows = await listUserEnrolments(this.db, userId, {
      includeInactive: query.includeInactive ?? false,
      limit: query.limit ?? 100,
    });
    return { items: rows.map(enrolmentView) };
  }
}
