import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { listSubscriptions } from '../../projections/subscriptions/subscriptions.query';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal } from '../auth/auth.guard';
import { Actor, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { HubError } from '../errors/hub-error';
import { IdParam, RequestId } from '../http/request-context';
import { SubscriptionAccess } from './subscription-access';
import { ActiveSubscription, categoryRules } from './subscription.events';
import {
  canReadSubscription,
  canReadSubscriptionSettings,
  subscriptionDisclosure,
  subscriptionNotFound,
} from './subscription.decider';
import {
  ActOnSubscriptionCommand,
  CreateSubscriptionCommand,
  SubscriptionAction,
  SubscriptionOutcome,
} from './subscriptions.commands';
import {
  CreatedSubscriptionView,
  CreateSubscriptionRequest,
  IssuedWebhookSecretView,
  ListSubscriptionsQuery,
  RejectSubscriptionRequest,
  SubscriptionCategoriesView,
  SubscriptionPage,
  SubscriptionView,
  UpdateSubscriptionRequest,
} from './subscriptions.dto';

const statusOf = (state: ActiveSubscription): SubscriptionView['status'] => {
  if (state.approval !== 'approved') return state.approval;
  return state.enabled ? 'active' : 'paused';
};

const categoriesOf = (state: ActiveSubscription): SubscriptionCategoriesView => {
  const rules = categoryRules(state.templates);
  return {
    imported: rules.importCategories,
    ignored: rules.ignoreCategories,
    othersImported: rules.defaultImport,
  };
};

/**
 * The subscription as `actor` may see it: its settings (templates, webhook) only when
 * `subscriptionDisclosure` allows them. Not found for an actor who may not see it at all.
 */
export const toSubscriptionView = (state: ActiveSubscription, actor: Actor): SubscriptionView => {
  const disclosure = subscriptionDisclosure(actor, state);
  if (disclosure === null) throw subscriptionNotFound(state.subscriptionId);
  const summary: SubscriptionView = {
    subscriptionId: state.subscriptionId,
    subscriberProgramId: state.subscriberProgramId,
    subscriberOrganisationId: state.subscriberOrganisationId,
    publisherProgramId: state.publisherProgramId,
    publisherOrganisationId: state.publisherOrganisationId,
    name: state.name,
    status: statusOf(state),
    approval: state.approval,
    enabled: state.enabled,
    categories: categoriesOf(state),
    createdBy: state.createdBy,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
  switch (disclosure) {
    case 'summary':
      return summary;
    case 'settings':
      return {
        ...summary,
        templates: state.templates,
        webhook: state.webhook && {
          url: state.webhook.url,
          maxAttempts: state.webhook.maxAttempts,
          secretIds: state.secretIds,
        },
      };
    default: {
      const unknownDisclosure: never = disclosure;
      return unknownDisclosure;
    }
  }
};

const viewOf = (outcome: SubscriptionOutcome, actor: Actor): CreatedSubscriptionView => {
  // Every action but a deletion leaves the subscription in place.
  if (!outcome.state) throw new HubError('internal', 'INTERNAL', 'The subscription is missing');
  const view = toSubscriptionView(outcome.state, actor);
  return outcome.issuedSecret && canReadSubscriptionSettings(actor, outcome.state)
    ? { ...view, webhookSecret: outcome.issuedSecret }
    : view;
};

@ApiTags('subscriptions')
@ApiBearerAuth()
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly access: SubscriptionAccess,
  ) {}

  private act(
    subscriptionId: string,
    action: SubscriptionAction,
    principal: Principal,
    requestId: string,
  ): Promise<SubscriptionOutcome> {
    return this.commands.execute(
      new ActOnSubscriptionCommand(subscriptionId, action, principal, requestId),
    );
  }

  @Post()
  @ApiOperation({
    summary:
      'Subscribe a program of yours to a publisher’s program (org or system admin). Pending until an admin of the publisher approves, unless created by one. With a webhook, its first signing secret is in the answer, once',
  })
  @ApiCreatedResponse({ type: CreatedSubscriptionView })
  @ApiOkResponse({ type: CreatedSubscriptionView, description: 'An identical retry' })
  @ApiProblems({
    400: ['INVALID_TEMPLATE', 'INVALID_WEBHOOK', 'INVALID_INPUT'],
    403: ['UNAUTHORIZED_USER'],
    404: ['PROGRAM_NOT_FOUND'],
    409: ['SUBSCRIPTION_EXISTS'],
  })
  async create(
    @Body() body: CreateSubscriptionRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedSubscriptionView> {
    const outcome = await this.commands.execute(
      new CreateSubscriptionCommand(body, principal, requestId),
    );
    const view = viewOf(outcome, principal);
    void reply
      .status(outcome.changed ? 201 : 200)
      .header('location', `/v1/subscriptions/${view.subscriptionId}`);
    return view;
  }

  @Get()
  @ApiOperation({
    summary:
      'Subscriptions of your organisation’s programs, and (admins) those asking for your programs. Templates and webhook only for the subscriber’s admins, its SUBSCRIBER keys and system admins',
  })
  @ApiOkResponse({ type: SubscriptionPage })
  async list(
    @Query() query: ListSubscriptionsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SubscriptionPage> {
    const limit = query.limit ?? 50;
    const rows = await listSubscriptions(this.db, principal, {
      ...(query.approval === undefined ? {} : { approval: query.approval }),
      ...(query.subscriberProgramId === undefined
        ? {}
        : { subscriberProgramId: query.subscriberProgramId }),
      ...(query.publisherProgramId === undefined
        ? {}
        : { publisherProgramId: query.publisherProgramId }),
      ...(query.cursor === undefined ? {} : { after: query.cursor }),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    // The query selects by the same rule; checking each row here keeps one rule for every read.
    const items = page
      .filter((row) => canReadSubscription(principal, row))
      .map((row) => toSubscriptionView(row, principal));
    return {
      items,
      nextCursor: rows.length > limit ? (page.at(-1)?.subscriptionId ?? null) : null,
    };
  }

  @Get(':subscriptionId')
  @ApiOperation({
    summary:
      'A subscription (either side of it). Templates and webhook only for the subscriber’s admins, its SUBSCRIBER keys and system admins',
  })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['SUBSCRIPTION_NOT_FOUND'] })
  async get(
    @IdParam('subscriptionId') subscriptionId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SubscriptionView> {
    return toSubscriptionView(await this.access.readable(subscriptionId, principal), principal);
  }

  @Patch(':subscriptionId')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Change name, templates (checked on save), webhook or enabled (subscriber’s admin). Setting a first webhook issues its signing secret',
  })
  @ApiOkResponse({ type: CreatedSubscriptionView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_TEMPLATE', 'INVALID_WEBHOOK', 'INVALID_INPUT'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async update(
    @IdParam('subscriptionId') subscriptionId: string,
    @Body() body: UpdateSubscriptionRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<CreatedSubscriptionView> {
    return viewOf(
      await this.act(subscriptionId, { type: 'change', request: body }, principal, requestId),
      principal,
    );
  }

  @Delete(':subscriptionId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a subscription (subscriber’s admin); delivery stops' })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async remove(
    @IdParam('subscriptionId') subscriptionId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.act(subscriptionId, { type: 'delete' }, principal, requestId);
  }

  @Post(':subscriptionId/approve')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve a pending subscription (an admin of the publisher’s program)' })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['PUBLISHER_APPROVAL_REQUIRED'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
    409: ['SUBSCRIPTION_REJECTED'],
  })
  async approve(
    @IdParam('subscriptionId') subscriptionId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<SubscriptionView> {
    return viewOf(
      await this.act(subscriptionId, { type: 'approve' }, principal, requestId),
      principal,
    );
  }

  @Post(':subscriptionId/reject')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Reject a pending subscription, or withdraw an approval (an admin of the publisher’s program)',
  })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['PUBLISHER_APPROVAL_REQUIRED'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async reject(
    @IdParam('subscriptionId') subscriptionId: string,
    @Body() body: RejectSubscriptionRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<SubscriptionView> {
    return viewOf(
      await this.act(
        subscriptionId,
        { type: 'reject', reason: body.reason ?? null },
        principal,
        requestId,
      ),
      principal,
    );
  }

  @Post(':subscriptionId/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause delivery (subscriber’s admin); events wait at the position' })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async pause(
    @IdParam('subscriptionId') subscriptionId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<SubscriptionView> {
    return viewOf(
      await this.act(subscriptionId, { type: 'pause' }, principal, requestId),
      principal,
    );
  }

  @Post(':subscriptionId/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume delivery from where it stopped (subscriber’s admin)' })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async resume(
    @IdParam('subscriptionId') subscriptionId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<SubscriptionView> {
    return viewOf(
      await this.act(subscriptionId, { type: 'resume' }, principal, requestId),
      principal,
    );
  }

  @Post(':subscriptionId/webhook/secrets')
  @ApiOperation({
    summary:
      'Issue another signing secret (subscriber’s admin): deliveries are signed with every active one, so a receiver can switch over before the old one is revoked. Shown once',
  })
  @ApiCreatedResponse({ type: IssuedWebhookSecretView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
    409: ['WEBHOOK_NOT_CONFIGURED', 'TOO_MANY_WEBHOOK_SECRETS'],
  })
  async addSecret(
    @IdParam('subscriptionId') subscriptionId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<IssuedWebhookSecretView> {
    const outcome = await this.act(subscriptionId, { type: 'add-secret' }, principal, requestId);
    if (!outcome.issuedSecret)
      throw new HubError('internal', 'INTERNAL', 'The issued secret is missing');
    return outcome.issuedSecret;
  }

  @Delete(':subscriptionId/webhook/secrets/:secretId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a signing secret (not the last one while a webhook is set)' })
  @ApiNoContentResponse()
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND', 'WEBHOOK_SECRET_NOT_FOUND'],
    409: ['LAST_WEBHOOK_SECRET'],
  })
  async revokeSecret(
    @IdParam('subscriptionId') subscriptionId: string,
    @IdParam('secretId') secretId: string,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<void> {
    await this.act(subscriptionId, { type: 'revoke-secret', secretId }, principal, requestId);
  }
}
