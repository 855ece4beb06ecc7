import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { userProfileOrganisation } from '../users/users.lookups';
import { Body, Controller, Delete, Get, HttpCode, Inject, Put, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { listConsents } from '../../projections/consents/consents.query';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal } from '../auth/auth.guard';
import { Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { IdParam, RequestId } from '../http/request-context';
import { consentListScope } from './consent.decider';
import { GrantConsentCommand, RevokeConsentCommand } from './consents.commands';
import {
  ConsentListView,
  ConsentView,
  GrantConsentRequest,
  RevokeConsentQuery,
} from './consents.dto';

@ApiTags('consents')
@ApiBearerAuth()
@Controller('v1/users')
export class ConsentsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Put(':userId/consents/:courseId')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Consent to an organisation seeing the user’s personal data for a course (the user, or a system admin for them). Granting again records nothing.',
  })
  @ApiOkResponse({ type: ConsentView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['CONSENT_NOT_YOURS'],
    404: ['COURSE_NOT_FOUND'],
  })
  grant(
    @IdParam('userId') userId: string,
    @IdParam('courseId') courseId: string,
    @Body() body: GrantConsentRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<ConsentView> {
    return this.commands.execute(
      new GrantConsentCommand(userId, courseId, body.consumerOrganisationId, principal, requestId),
    );
  }

  @Delete(':userId/consents/:courseId')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Revoke a consent (the user, or a system admin for them). Revoking again records nothing; a consent never given is a 404.',
  })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['CONSENT_NOT_YOURS'],
    404: ['COURSE_NOT_FOUND', 'CONSENT_NOT_FOUND'],
  })
  async revoke(
    @IdParam('userId') userId: string,
    @IdParam('courseId') courseId: string,
    @Query() query: RevokeConsentQuery,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.commands.execute(
      new RevokeConsentCommand(
        userId,
        courseId,
        query.consumerOrganisationId,
        principal,
        requestId,
      ),
    );
  }

  @Get(':userId/consents')
  @ApiOperation({
    summary:
      'The user’s consents: all of them for the user and system admins, those given to their organisation for an organisation admin',
  })
  @ApiOkResponse({ type: ConsentListView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 403: ['CONSENT_NOT_YOURS'] })
  async list(
    @IdParam('userId') userId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ConsentListView> {
    const { consumerOrganisationId } = consentListScope(
      principal,
      userId,
      await userProfileOrganisation(this.store, userId),
    );
    const consents = await listConsents(
      this.db,
      userId,
      consumerOrganisationId === null ? {} : { consumerOrganisationId },
    );
    return {
      items: consents.map((consent) => ({
        courseId: consent.courseId,
        consumerOrganisationId: consent.consumerOrganisationId,
        status: consent.status,
        grantedAt: consent.grantedAt?.toISOString() ?? null,
        revokedAt: consent.revokedAt?.toISOString() ?? null,
        updatedAt: consent.updatedAt.toISOString(),
      })),
    };
  }
}
