import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal } from '../auth/auth.guard';
import { Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { NotFoundError } from '../errors/hub-error';
import { EVENT_STORE, EventStore, Position, START } from '../event-store/event-store.port';
import { IdParam, RequestId } from '../http/request-context';
import {
  listAttempts,
  listDeadLetters,
  queueRedelivery,
  readDeadLetter,
  readPosition,
  webhookDeliveryState,
} from './delivery-records';
import { decodeFeedCursor } from '../http/log-cursor';
import { LiveStreams } from './live-streams';
import { SubscriptionAccess } from './subscription-access';
import { FeedPage, readFeedPage } from './subscription-feed';
import { TemplateConverter } from './template-renderer';
import { ActOnSubscriptionCommand } from './subscriptions.commands';
import {
  DeadLetterPage,
  DeadLettersQuery,
  DeliveriesPage,
  DeliveriesQuery,
  ErasureFeedItemView,
  EventFeedItemView,
  FeedPageView,
  FeedQuery,
  RedeliveryView,
  ReplaySubscriptionRequest,
  ReplayView,
  StreamQuery,
} from './subscriptions.dto';
import { WebhookDispatcher } from './webhook-dispatcher';

/** What a subscription delivers, and how its deliveries went: the subscriber's side. */
@ApiTags('subscriptions')
@ApiBearerAuth()
@Controller('v1/subscriptions')
export class SubscriptionDeliveryController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly access: SubscriptionAccess,
    private readonly live: LiveStreams,
    private readonly dispatcher: WebhookDispatcher,
    private readonly converter: TemplateConverter,
  ) {}

  /** Where to start: the client's cursor, else the subscription's stored position. */
  private async startOf(subscriptionId: string, cursor: string | undefined, field: string) {
    if (cursor !== undefined) return decodeFeedCursor(cursor, field);
    const { position } = await readPosition(this.db, subscriptionId);
    return position ?? START;
  }

  @Get(':subscriptionId/feed')
  @ApiOperation({
    summary:
      'The publisher’s events after a cursor, in the hub’s order, converted by the templates (ignored categories skipped). Store nextCursor and pass it as after: nothing is missed or read twice. A page whose rendering budget ran out ends early, with hasMore true',
  })
  @ApiExtraModels(EventFeedItemView, ErasureFeedItemView)
  @ApiOkResponse({ type: FeedPageView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_CURSOR'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
    409: ['SUBSCRIPTION_NOT_APPROVED', 'SUBSCRIPTION_PAUSED'],
  })
  async feed(
    @IdParam('subscriptionId') subscriptionId: string,
    @Query() query: FeedQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<FeedPage> {
    const subscription = await this.access.delivering(subscriptionId, principal);
    const after = await this.startOf(subscriptionId, query.after, 'after');
    return readFeedPage(this.store, subscription, after, query.limit ?? 100, this.converter);
  }

  @Get(':subscriptionId/stream')
  @ApiOperation({
    summary:
      'The feed live, as Server-Sent Events (id: the cursor; event: published, amended, retracted or erased). Reconnect with Last-Event-ID to resume',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  @ApiOkResponse({
    description:
      'Server-Sent Events: `id:` the cursor, `event:` the item’s kind, `data:` the feed item as JSON; `event: end` when the subscription stops delivering',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_CURSOR'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
    409: ['SUBSCRIPTION_NOT_APPROVED', 'SUBSCRIPTION_PAUSED'],
  })
  async stream(
    @IdParam('subscriptionId') subscriptionId: string,
    @Query() query: StreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const subscription = await this.access.delivering(subscriptionId, principal);
    const from: Position | typeof START =
      lastEventId !== undefined && lastEventId !== ''
        ? decodeFeedCursor(lastEventId, 'Last-Event-ID')
        : await this.startOf(subscriptionId, query.after, 'after');
    await this.live.serve(subscription, from, request, reply);
  }

  @Post(':subscriptionId/replay')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Move the subscription’s position back (to an instant, a cursor or "start"): webhooks, and feeds or streams without a cursor, deliver again from there',
  })
  @ApiOkResponse({ type: ReplayView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_CURSOR'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
    409: ['SUBSCRIPTION_NOT_APPROVED'],
  })
  async replay(
    @IdParam('subscriptionId') subscriptionId: string,
    @Body() body: ReplaySubscriptionRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<{ subscriptionId: string; position: string }> {
    const outcome = await this.commands.execute(
      new ActOnSubscriptionCommand(
        subscriptionId,
        { type: 'replay', from: body.from },
        principal,
        requestId,
      ),
    );
    return { subscriptionId, position: outcome.replayedTo ?? 'start' };
  }

  @Get(':subscriptionId/deliveries')
  @ApiOperation({
    summary:
      'Webhook delivery attempts, newest first, and how delivery stands (webhook.status: delivering, retrying, suspended at a dead letter, or redelivering; null without a webhook)',
  })
  @ApiOkResponse({ type: DeliveriesPage })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async deliveries(
    @IdParam('subscriptionId') subscriptionId: string,
    @Query() query: DeliveriesQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    const subscription = await this.access.consumable(subscriptionId, principal);
    const state = subscription.webhook && (await webhookDeliveryState(this.db, subscriptionId));
    const limit = query.limit ?? 100;
    const rows = await listAttempts(this.db, subscriptionId, {
      ...(query.cursor === undefined ? {} : { before: query.cursor }),
      ...(query.outcome === undefined ? {} : { outcome: query.outcome }),
      limit: limit + 1,
    });
    const items = rows
      .slice(0, limit)
      .map(({ subscriptionId: _id, attemptedAt, nextAttemptAt, ...attempt }) => ({
        ...attempt,
        attemptedAt: attemptedAt.toISOString(),
        nextAttemptAt: nextAttemptAt?.toISOString() ?? null,
      }));
    return {
      webhook: state && {
        ...state,
        nextAttemptAt: state.nextAttemptAt?.toISOString() ?? null,
        since: state.since?.toISOString() ?? null,
      },
      items,
      nextCursor: rows.length > limit ? (items.at(-1)?.attemptId ?? null) : null,
    };
  }

  @Get(':subscriptionId/dead-letters')
  @ApiOperation({ summary: 'Deliveries that ran out of attempts, with the items they carried' })
  @ApiExtraModels(EventFeedItemView, ErasureFeedItemView)
  @ApiOkResponse({ type: DeadLetterPage })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async deadLetters(
    @IdParam('subscriptionId') subscriptionId: string,
    @Query() query: DeadLettersQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.access.consumable(subscriptionId, principal);
    const limit = query.limit ?? 50;
    const rows = await listDeadLetters(this.db, subscriptionId, {
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.cursor === undefined ? {} : { after: query.cursor }),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map((letter) => ({
      deliveryId: letter.deliveryId,
      status: letter.status,
      attempts: letter.attempts,
      lastError: letter.lastError,
      lastHttpStatus: letter.lastHttpStatus,
      deadAt: letter.deadAt.toISOString(),
      redeliveryRequestedAt: letter.redeliveryRequestedAt?.toISOString() ?? null,
      redeliveredAt: letter.redeliveredAt?.toISOString() ?? null,
      items: letter.items,
    }));
    return { items, nextCursor: rows.length > limit ? (items.at(-1)?.deliveryId ?? null) : null };
  }

  @Post(':subscriptionId/dead-letters/redeliver')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue every dead letter of the subscription for another round of attempts',
  })
  @ApiAcceptedResponse({ type: RedeliveryView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND'],
  })
  async redeliverAll(
    @IdParam('subscriptionId') subscriptionId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ queued: number }> {
    return this.redeliver(subscriptionId, null, principal);
  }

  @Post(':subscriptionId/dead-letters/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Queue one dead letter for another round of attempts (with its delivery id); its outcome shows in deliveries and dead-letters',
  })
  @ApiAcceptedResponse({ type: RedeliveryView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER'],
    403: ['SUBSCRIPTION_NOT_YOURS'],
    404: ['SUBSCRIPTION_NOT_FOUND', 'DEAD_LETTER_NOT_FOUND'],
  })
  async redeliverOne(
    @IdParam('subscriptionId') subscriptionId: string,
    @IdParam('deliveryId') deliveryId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ queued: number }> {
    const queued = await this.redeliver(subscriptionId, deliveryId, principal);
    if (queued.queued === 0 && !(await readDeadLetter(this.db, subscriptionId, deliveryId)))
      throw new NotFoundError('DEAD_LETTER_NOT_FOUND', `No dead letter ${deliveryId}`, {
        subscriptionId,
        deliveryId,
      });
    return queued;
  }

  private async redeliver(subscriptionId: string, deliveryId: string | null, principal: Principal) {
    const subscription = await this.access.consumable(subscriptionId, principal);
    const queued = await queueRedelivery(this.db, subscription.subscriptionId, deliveryId);
    this.dispatcher.nudge();
    return { queued };
  }
}
