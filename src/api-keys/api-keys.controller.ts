import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { API_KEYS_READ_MODEL, listApiKeys } from '../../projections/api-keys/api-keys.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal, RequireRoles } from '../auth/auth.guard';
import { ApiKeyPrincipals } from './api-key-principals';
import { actorOf, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { IdParam, RequestId } from '../http/request-context';
import { IssueApiKeyCommand, RevokeApiKeyCommand } from './api-keys.commands';
import {
  ApiKeyPage,
  CreateApiKeyRequest,
  IssuedApiKeyView,
  ListApiKeysQuery,
} from './api-keys.dto';

@ApiTags('admin')
@ApiBearerAuth()
@RequireRoles('SYSTEM_ADMIN', 'ORG_ADMIN')
@Controller('v1/admin/api-keys')
export class ApiKeysController {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly commands: CommandBus,
    private readonly principals: ApiKeyPrincipals,
    private readonly projections: ProjectionEngine,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Issue an API key (system or organisation admin). The token is shown once.',
  })
  @ApiCreatedResponse({ type: IssuedApiKeyView })
  @ApiProblems({
    403: ['MISSING_ROLE', 'UNAUTHORIZED_USER', 'ROLE_NOT_GRANTABLE'],
    409: ['API_KEY_EXISTS'],
  })
  async create(
    @Body() body: CreateApiKeyRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<IssuedApiKeyView> {
    const { appended, ...issued } = await this.commands.execute(
      new IssueApiKeyCommand(
        {
          principalId: body.principalId,
          organisationId: body.organisationId ?? principal.organisationId,
          roles: body.roles,
          label: body.label ?? '',
        },
        actorOf(principal),
        requestId,
      ),
    );
    if (appended) await this.projections.awaitApplied(API_KEYS_READ_MODEL, appended.position);
    return issued;
  }

  @Get()
  @ApiOperation({ summary: 'API keys of the caller’s organisation (all, for a system admin)' })
  @ApiOkResponse({ type: ApiKeyPage })
  @ApiProblems({ 403: ['MISSING_ROLE'] })
  async list(
    @Query() query: ListApiKeysQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApiKeyPage> {
    const limit = query.limit ?? 50;
    const items = await listApiKeys(this.db, principal, {
      includeRevoked: query.includeRevoked ?? false,
      ...(query.after === undefined ? {} : { after: query.after }),
      limit: limit + 1,
    });
    const page = items.slice(0, limit);
    return { items: page, nextCursor: items.length > limit ? (page.at(-1)?.keyId ?? null) : null };
  }

  @Delete(':keyId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key: it stops working at once' })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['MISSING_ROLE', 'UNAUTHORIZED_USER'],
    404: ['API_KEY_NOT_FOUND'],
  })
  async revoke(
    @IdParam('keyId') keyId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    const appended = await this.commands.execute(
      new RevokeApiKeyCommand(keyId, actorOf(principal), requestId),
    );
    this.principals.forget(keyId);
    if (appended) await this.projections.awaitApplied(API_KEYS_READ_MODEL, appended.position);
  }
}
