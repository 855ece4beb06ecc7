import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { newUlid } from '../ids/ulid';
import { replayPositionAt } from '../../projections/learning-events/learning-events.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { SUBSCRIPTIONS_READ_MODEL } from '../../projections/subscriptions/subscriptions.query';
import { actorOf, Principal } from '../auth/principal';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { HubError, InvalidInputError } from '../errors/hub-error';
import { handleCommand, loadState } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore, Position, START } from '../event-store/event-store.port';
import { ProgramDirectory } from '../programs/programs.lookups';
import { isIsoInstant } from '../time/calendar';
import { CLOCK, Clock } from '../time/clock';
import { movePosition, storeSecret } from './delivery-records';
import { cursorOf, decodeFeedCursor, START_CURSOR } from '../http/log-cursor';
import {
  SubscriptionCommand,
  subscriptionDecider,
  subscriptionNotFound,
} from './subscription.decider';
import { ActiveSubscription, subscriptionStream, WebhookSettings } from './subscription.events';
import {
  CreateSubscriptionRequest,
  UpdateSubscriptionRequest,
  WebhookDto,
} from './subscriptions.dto';
import { checkTemplateSet } from './template-set';
import { WebhookDispatcher } from './webhook-dispatcher';
import { newWebhookSecret } from './webhook-signature';

export class CreateSubscriptionCommand extends Command<SubscriptionOutcome> {
  constructor(
    readonly request: CreateSubscriptionRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

/** Everything done to an existing subscription, each by whom the decider allows. */
export type SubscriptionAction =
  | { type: 'approve' }
  | { type: 'reject'; reason: string | null }
  | { type: 'change'; request: UpdateSubscriptionRequest }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'delete' }
  | { type: 'add-secret' }
  | { type: 'revoke-secret'; secretId: string }
  | { type: 'replay'; from: string };

export class ActOnSubscriptionCommand extends Command<SubscriptionOutcome> {
  constructor(
    readonly subscriptionId: string,
    readonly action: SubscriptionAction,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export interface SubscriptionOutcome {
  /** Null after a deletion. */
  state: ActiveSubscription | null;
  changed: boolean;
  /** A signing secret issued by this request: shown to the caller once. */
  issuedSecret?: { secretId: string; secret: string };
  /** Where a replay moved the subscription. */
  replayedTo?: string;
}

abstract class SubscriptionHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(SQL_DATABASE) protected readonly db: SqlDatabase,
    @Inject(CLOCK) protected readonly clock: Clock,
    @Inject(HUB_CONFIG) protected readonly config: HubConfig,
    protected readonly programs: ProgramDirectory,
    private readonly projections: ProjectionEngine,
    protected readonly dispatcher: WebhookDispatcher,
  ) {}

  protected async webhook(
    dto: WebhookDto | null | undefined,
  ): Promise<WebhookSettings | null | undefined> {
    if (dto === undefined || dto === null) return dto;
    const issues = await this.dispatcher.webhookUrlIssues(dto.url);
    if (issues.length > 0)
      throw new InvalidInputError('The webhook is not valid', issues, 'INVALID_WEBHOOK');
    return { url: dto.url, maxAttempts: dto.maxAttempts ?? null };
  }

  /** A new signing secret, not kept anywhere yet: see decide. */
  protected newSecret() {
    return { secretId: newUlid(), secret: newWebhookSecret() };
  }

  /**
   * Runs the command. When it may issue `secret`, the secret is kept before the event that names
   * it is appended (signing uses only named secrets), and only once a dry run of the decision on
   * the stream as it stands shows the caller may do this: a refused request stores nothing.
   */
  protected async decide(
    subscriptionId: string,
    command: SubscriptionCommand,
    principal: Principal,
    requestId: string,
    secret: { secretId: string; secret: string } | null = null,
  ) {
    const stream = subscriptionStream(subscriptionId);
    if (secret) {
      const { state } = await loadState(this.store, stream, subscriptionDecider);
      const names = subscriptionDecider
        .decide(command, state)
        .some(
          (event) => event.type === 'WebhookSecretAdded' && event.data.secretId === secret.secretId,
        );
      if (names) await storeSecret(this.db, subscriptionId, secret.secretId, secret.secret);
    }
    const outcome = await handleCommand(this.store, stream, subscriptionDecider, command, {
      metadata: actorMetadata(actorOf(principal), requestId),
    });
    if (outcome.appended) {
      // Lists and the webhook dispatcher read the read model: let them see this at once.
      await this.projections.awaitApplied(SUBSCRIPTIONS_READ_MODEL, outcome.appended.position);
      this.dispatcher.nudge();
    }
    const issued = outcome.events.some(
      (event) => event.type === 'WebhookSecretAdded' && event.data.secretId === secret?.secretId,
    );
    return {
      state: outcome.state.exists ? outcome.state : null,
      changed: outcome.appended !== null,
      ...(issued && secret ? { issuedSecret: secret } : {}),
    };
  }
}

@CommandHandler(CreateSubscriptionCommand)
export class CreateSubscriptionHandler
  extends SubscriptionHandler
  implements ICommandHandler<CreateSubscriptionCommand, SubscriptionOutcome>
{
  async execute({
    request,
    principal,
    requestId,
  }: CreateSubscriptionCommand): Promise<SubscriptionOutcome> {
    const subscriptionId = request.subscriptionId ?? newUlid();
    const templates = checkTemplateSet(request.templates);
    const webhook = (await this.webhook(request.webhook)) ?? null;
    const [subscriberProgram, publisherProgram] = await Promise.all([
      this.programs.program(request.subscriberProgramId),
      this.programs.program(request.publisherProgramId),
    ]);
    const secret = webhook ? this.newSecret() : null;
    return this.decide(
      subscriptionId,
      {
        type: 'CreateSubscription',
        subscriptionId,
        subscriberProgramId: request.subscriberProgramId,
        publisherProgramId: request.publisherProgramId,
        subscriberProgram,
        publisherProgram,
        name: request.name ?? null,
        templates,
        enabled: request.enabled ?? true,
        webhook,
        newSecretId: secret?.secretId ?? newUlid(),
        actor: actorOf(principal),
        now: this.clock.now(),
      },
      principal,
      requestId,
      secret,
    );
  }
}

@CommandHandler(ActOnSubscriptionCommand)
export class ActOnSubscriptionHandler
  extends SubscriptionHandler
  implements ICommandHandler<ActOnSubscriptionCommand, SubscriptionOutcome>
{
  async execute({
    subscriptionId,
    action,
    principal,
    requestId,
  }: ActOnSubscriptionCommand): Promise<SubscriptionOutcome> {
    const base = { subscriptionId, actor: actorOf(principal), now: this.clock.now() };
    let secret: { secretId: string; secret: string } | null = null;
    let replayedTo: Position | null | undefined;
    let command: SubscriptionCommand;
    switch (action.type) {
      case 'approve':
        command = { ...base, type: 'ApproveSubscription' };
        break;
      case 'reject':
        command = { ...base, type: 'RejectSubscription', reason: action.reason };
        break;
      case 'change': {
        const { request } = action;
        const webhook = await this.webhook(request.webhook);
        if (webhook) secret = this.newSecret();
        command = {
          ...base,
          type: 'ChangeSubscription',
          ...(request.name === undefined ? {} : { name: request.name }),
          ...(request.templates === undefined
            ? {}
            : { templates: checkTemplateSet(request.templates) }),
          ...(webhook === undefined ? {} : { webhook }),
          ...(request.enabled === undefined ? {} : { enabled: request.enabled }),
          newSecretId: secret?.secretId ?? newUlid(),
        };
        break;
      }
      case 'pause':
        command = { ...base, type: 'PauseSubscription' };
        break;
      case 'resume':
        command = { ...base, type: 'ResumeSubscription' };
        break;
      case 'delete':
        command = { ...base, type: 'DeleteSubscription' };
        break;
      case 'add-secret':
        secret = this.newSecret();
        command = { ...base, type: 'AddWebhookSecret', secretId: secret.secretId };
        break;
      case 'revoke-secret':
        command = { ...base, type: 'RevokeWebhookSecret', secretId: action.secretId };
        break;
      case 'replay': {
        const from = await this.replayTarget(subscriptionId, action.from);
        replayedTo = from.position;
        command = { ...base, type: 'ReplaySubscription', from: from.from, position: from.position };
        break;
      }
      default: {
        const unknownAction: never = action;
        throw new HubError(
          'internal',
          'INTERNAL',
          `Unknown action ${JSON.stringify(unknownAction)}`,
        );
      }
    }
    const outcome = await this.decide(subscriptionId, command, principal, requestId, secret);
    if (replayedTo !== undefined) {
      await movePosition(this.db, subscriptionId, replayedTo);
      this.dispatcher.nudge();
    }
    return {
      ...outcome,
      ...(replayedTo === undefined ? {} : { replayedTo: cursorOf(replayedTo ?? START) }),
    };
  }

  /** `from` as a position: the start, after a cursor, or a little before an instant. */
  private async replayTarget(subscriptionId: string, from: string) {
    if (from === START_CURSOR) return { from: { start: true as const }, position: null };
    if (isIsoInstant(from)) {
      const { state } = await loadState(
        this.store,
        subscriptionStream(subscriptionId),
        subscriptionDecider,
      );
      if (!state.exists) throw subscriptionNotFound(subscriptionId);
      return {
        from: { time: new Date(from).toISOString() },
        position: await replayPositionAt(this.db, state.publisherProgramId, new Date(from)),
      };
    }
    const position = decodeFeedCursor(from, 'from');
    return { from: { cursor: from }, position: position === START ? null : position };
  }
}
