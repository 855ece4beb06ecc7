import { Actor, canSeeOrganisation, hasRole, isAdminOf, isSystemAdmin } from '../auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors/hub-error';
import { sameJson } from '../event-sourcing/canonical-json';
import { Decider } from '../event-sourcing/decider';
import { ProgramFacts } from '../programs/program.decider';
import {
  ActiveSubscription,
  evolveSubscription,
  SubscriptionEvent,
  SubscriptionState,
  TemplateSet,
  WebhookSettings,
} from './subscription.events';

/** Active signing secrets a subscription may have at once (enough to rotate without a gap). */
export const MAX_WEBHOOK_SECRETS = 5;

interface SubscriptionCommandBase {
  subscriptionId: string;
  actor: Actor;
  now: Date;
}

export type CreateSubscription = SubscriptionCommandBase & {
  type: 'CreateSubscription';
  subscriberProgramId: string;
  publisherProgramId: string;
  /** Looked up by the caller; null when the program is not registered. */
  subscriberProgram: ProgramFacts | null;
  publisherProgram: ProgramFacts | null;
  name: string | null;
  templates: TemplateSet;
  enabled: boolean;
  webhook: WebhookSettings | null;
  /** The id of the first signing secret, used when a webhook is given. */
  newSecretId: string;
};

export type ApproveSubscription = SubscriptionCommandBase & { type: 'ApproveSubscription' };
export type RejectSubscription = SubscriptionCommandBase & {
  type: 'RejectSubscription';
  reason: string | null;
};
export type ChangeSubscription = SubscriptionCommandBase & {
  type: 'ChangeSubscription';
  name?: string | null;
  templates?: TemplateSet;
  webhook?: WebhookSettings | null;
  enabled?: boolean;
  /** Used when a webhook is set where none was: its first signing secret. */
  newSecretId: string;
};
export type PauseSubscription = SubscriptionCommandBase & { type: 'PauseSubscription' };
export type ResumeSubscription = SubscriptionCommandBase & { type: 'ResumeSubscription' };
export type ReplaySubscription = SubscriptionCommandBase & {
  type: 'ReplaySubscription';
  from: { time: string } | { cursor: string } | { start: true };
  /** Where `from` lands in the log, resolved by the caller; null: the start. */
  position: string | null;
};
export type DeleteSubscription = SubscriptionCommandBase & { type: 'DeleteSubscription' };
export type AddWebhookSecret = SubscriptionCommandBase & {
  type: 'AddWebhookSecret';
  secretId: string;
};
export type RevokeWebhookSecret = SubscriptionCommandBase & {
  type: 'RevokeWebhookSecret';
  secretId: string;
};

export type SubscriptionCommand =
  | CreateSubscription
  | ApproveSubscription
  | RejectSubscription
  | ChangeSubscription
  | PauseSubscription
  | ResumeSubscription
  | ReplaySubscription
  | DeleteSubscription
  | AddWebhookSecret
  | RevokeWebhookSecret;

/** The parts of a subscription the access rules look at. */
export type SubscriptionParties = Pick<
  ActiveSubscription,
  'subscriberOrganisationId' | 'publisherOrganisationId'
>;

export const subscriptionNotFound = (subscriptionId: string) =>
  new NotFoundError('SUBSCRIPTION_NOT_FOUND', `No subscription ${subscriptionId}`, {
    subscriptionId,
  });

/**
 * How much of a subscription the actor sees, or null when it does not exist for them.
 * - `settings`, everything: its templates, webhook URL and attempts, and the ids of its signing
 *   secrets. For those who manage or consume it: the subscriber organisation's admins and
 *   SUBSCRIBER keys, and system admins.
 * - `summary`: the subscription, its programs, status and which categories it imports or
 *   ignores; enough for the publisher's admins to approve it (the categories decide what
 *   leaves the publisher, the templates only reshape it) and for the subscriber organisation's
 *   other roles to know what it receives.
 * Every read of a subscription (one or a list) goes through this.
 */
export const subscriptionDisclosure = (
  actor: Actor,
  parties: SubscriptionParties,
): 'settings' | 'summary' | null => {
  if (isSystemAdmin(actor)) return 'settings';
  if (actor.organisationId === parties.subscriberOrganisationId)
    return hasRole(actor, 'ORG_ADMIN', 'SUBSCRIBER') ? 'settings' : 'summary';
  return isAdminOf(actor, parties.publisherOrganisationId) ? 'summary' : null;
};

/** Either side may see a subscription: the subscriber's organisation and the publisher's admins. */
export const canReadSubscription = (actor: Actor, parties: SubscriptionParties): boolean =>
  subscriptionDisclosure(actor, parties) !== null;

/** Whether the actor sees the subscription's templates, webhook and signing-secret ids. */
export const canReadSubscriptionSettings = (actor: Actor, parties: SubscriptionParties): boolean =>
  subscriptionDisclosure(actor, parties) === 'settings';

/** Only the subscriber side consumes (feed, stream, deliveries, replay): its subscribers and admins. */
export const canConsumeSubscription = (actor: Actor, parties: SubscriptionParties): boolean =>
  isSystemAdmin(actor) ||
  (actor.organisationId === parties.subscriberOrganisationId &&
    hasRole(actor, 'SUBSCRIBER', 'ORG_ADMIN'));

/** Whether events flow: approved by the publisher and not paused. */
export const isDelivering = (state: Pick<ActiveSubscription, 'approval' | 'enabled'>): boolean =>
  state.approval === 'approved' && state.enabled;

const existing = (state: SubscriptionState, command: SubscriptionCommand): ActiveSubscription => {
  if (!state.exists || !canReadSubscription(command.actor, state))
    throw subscriptionNotFound(command.subscriptionId);
  return state;
};

const assertSubscriberAdmin = (actor: Actor, state: ActiveSubscription, what: string) => {
  if (!isAdminOf(actor, state.subscriberOrganisationId))
    throw new ForbiddenError(
      'SUBSCRIPTION_NOT_YOURS',
      `Only an admin of the subscriber's organisation (or a system admin) ${what}`,
    );
};

const assertPublisherAdmin = (actor: Actor, state: ActiveSubscription, what: string) => {
  if (!isAdminOf(actor, state.publisherOrganisationId))
    throw new ForbiddenError(
      'PUBLISHER_APPROVAL_REQUIRED',
      `Only an admin of the publisher's program (or a system admin) ${what}`,
    );
};

const programNotFound = (programId: string, role: 'subscriber' | 'publisher') =>
  new NotFoundError('PROGRAM_NOT_FOUND', `No ${role} program ${programId}`, { programId });

const by = (command: SubscriptionCommandBase) => ({
  actor: command.actor.userId,
  at: command.now.toISOString(),
});

const decideCreate = (
  command: CreateSubscription,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const subscriber = command.subscriberProgram;
  // Another organisation's program is as unknown as one that does not exist.
  if (!subscriber || !canSeeOrganisation(actor, subscriber.organisationId))
    throw programNotFound(command.subscriberProgramId, 'subscriber');
  if (!isAdminOf(actor, subscriber.organisationId))
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      'Subscriptions are requested by an admin of the subscriber’s organisation or a system admin',
    );
  const publisher = command.publisherProgram;
  if (!publisher) throw programNotFound(command.publisherProgramId, 'publisher');
  const data = {
    subscriptionId,
    subscriberProgramId: subscriber.programId,
    subscriberOrganisationId: subscriber.organisationId,
    publisherProgramId: publisher.programId,
    publisherOrganisationId: publisher.organisationId,
    name: command.name,
    templates: command.templates,
    enabled: command.enabled,
    webhook: command.webhook,
    // Publishers decide who sees their data: a request from elsewhere waits for them.
    approval: isAdminOf(actor, publisher.organisationId)
      ? ('approved' as const)
      : ('pending' as const),
  };
  if (state.exists || state.deleted) {
    // A retried create (same id, same request) changes nothing.
    if (
      state.exists &&
      sameJson(
        {
          subscriberProgramId: state.subscriberProgramId,
          publisherProgramId: state.publisherProgramId,
          name: state.name,
          templates: state.templates,
          webhook: state.webhook,
        },
        {
          subscriberProgramId: data.subscriberProgramId,
          publisherProgramId: data.publisherProgramId,
          name: data.name,
          templates: data.templates,
          webhook: data.webhook,
        },
      )
    )
      return [];
    throw new ConflictError(
      'SUBSCRIPTION_EXISTS',
      `Subscription ${subscriptionId} already exists`,
      { subscriptionId },
    );
  }
  return [
    { type: 'SubscriptionCreated', data: { ...data, createdBy: who, createdAt: at } },
    ...(command.webhook
      ? [
          {
            type: 'WebhookSecretAdded' as const,
            data: {
              subscriptionId,
              secretId: command.newSecretId,
              addedBy: who,
              addedAt: at,
            },
          },
        ]
      : []),
  ];
};

const decideApprove = (
  command: ApproveSubscription,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertPublisherAdmin(actor, current, 'approves a subscription');
  if (current.approval === 'approved') return [];
  if (current.approval === 'rejected')
    throw new ConflictError(
      'SUBSCRIPTION_REJECTED',
      `Subscription ${subscriptionId} was rejected; the subscriber must request a new one`,
      { subscriptionId },
    );
  return [
    {
      type: 'SubscriptionApproved',
      data: { subscriptionId, approvedBy: who, approvedAt: at },
    },
  ];
};

const decideReject = (
  command: RejectSubscription,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertPublisherAdmin(actor, current, 'rejects a subscription or withdraws its approval');
  if (current.approval === 'rejected') return [];
  return [
    {
      type: 'SubscriptionRejected',
      data: { subscriptionId, rejectedBy: who, rejectedAt: at, reason: command.reason },
    },
  ];
};

const decideChange = (
  command: ChangeSubscription,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertSubscriberAdmin(actor, current, 'changes a subscription');
  const changes: Omit<
    Extract<SubscriptionEvent, { type: 'SubscriptionChanged' }>['data'],
    'subscriptionId' | 'changedBy' | 'changedAt'
  > = {};
  if (command.name !== undefined && command.name !== current.name) changes.name = command.name;
  if (command.templates !== undefined && !sameJson(command.templates, current.templates))
    changes.templates = command.templates;
  if (command.webhook !== undefined && !sameJson(command.webhook, current.webhook))
    changes.webhook = command.webhook;
  const events: SubscriptionEvent[] = [];
  if (Object.keys(changes).length > 0)
    events.push({
      type: 'SubscriptionChanged',
      data: { subscriptionId, ...changes, changedBy: who, changedAt: at },
    });
  if (changes.webhook && current.secretIds.length === 0)
    events.push({
      type: 'WebhookSecretAdded',
      data: { subscriptionId, secretId: command.newSecretId, addedBy: who, addedAt: at },
    });
  if (command.enabled === false && current.enabled)
    events.push({
      type: 'SubscriptionPaused',
      data: { subscriptionId, pausedBy: who, pausedAt: at },
    });
  if (command.enabled === true && !current.enabled)
    events.push({
      type: 'SubscriptionResumed',
      data: { subscriptionId, resumedBy: who, resumedAt: at },
    });
  return events;
};

const decidePause = (command: PauseSubscription, state: SubscriptionState): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertSubscriberAdmin(actor, current, 'pauses a subscription');
  if (!current.enabled) return [];
  return [{ type: 'SubscriptionPaused', data: { subscriptionId, pausedBy: who, pausedAt: at } }];
};

const decideResume = (
  command: ResumeSubscription,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertSubscriberAdmin(actor, current, 'resumes a subscription');
  if (current.enabled) return [];
  return [{ type: 'SubscriptionResumed', data: { subscriptionId, resumedBy: who, resumedAt: at } }];
};

const decideReplay = (
  command: ReplaySubscription,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  if (!canConsumeSubscription(actor, current))
    throw new ForbiddenError(
      'SUBSCRIPTION_NOT_YOURS',
      'Only the subscriber’s organisation (subscribers, admins) replays its subscription',
    );
  if (current.approval !== 'approved')
    throw new ConflictError(
      'SUBSCRIPTION_NOT_APPROVED',
      `Subscription ${subscriptionId} is ${current.approval}: nothing flows to replay`,
      { subscriptionId, approval: current.approval },
    );
  return [
    {
      type: 'SubscriptionReplayed',
      data: {
        subscriptionId,
        from: command.from,
        position: command.position,
        replayedBy: who,
        replayedAt: at,
      },
    },
  ];
};

const decideDelete = (
  command: DeleteSubscription,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertSubscriberAdmin(actor, current, 'deletes a subscription');
  return [{ type: 'SubscriptionDeleted', data: { subscriptionId, deletedBy: who, deletedAt: at } }];
};

const decideAddWebhookSecret = (
  command: AddWebhookSecret,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertSubscriberAdmin(actor, current, 'issues signing secrets');
  if (!current.webhook)
    throw new ConflictError(
      'WEBHOOK_NOT_CONFIGURED',
      `Subscription ${subscriptionId} has no webhook to sign for`,
      { subscriptionId },
    );
  if (current.secretIds.length >= MAX_WEBHOOK_SECRETS)
    throw new ConflictError(
      'TOO_MANY_WEBHOOK_SECRETS',
      `A subscription has at most ${MAX_WEBHOOK_SECRETS} active secrets: revoke an old one first`,
      { subscriptionId },
    );
  return [
    {
      type: 'WebhookSecretAdded',
      data: { subscriptionId, secretId: command.secretId, addedBy: who, addedAt: at },
    },
  ];
};

const decideRevokeWebhookSecret = (
  command: RevokeWebhookSecret,
  state: SubscriptionState,
): SubscriptionEvent[] => {
  const { subscriptionId, actor } = command;
  const { actor: who, at } = by(command);
  const current = existing(state, command);
  assertSubscriberAdmin(actor, current, 'revokes signing secrets');
  if (!current.secretIds.includes(command.secretId))
    throw new NotFoundError(
      'WEBHOOK_SECRET_NOT_FOUND',
      `Subscription ${subscriptionId} has no active secret ${command.secretId}`,
      { subscriptionId, secretId: command.secretId },
    );
  if (current.webhook && current.secretIds.length === 1)
    throw new ConflictError(
      'LAST_WEBHOOK_SECRET',
      'Deliveries are always signed: issue a new secret before revoking the last one',
      { subscriptionId, secretId: command.secretId },
    );
  return [
    {
      type: 'WebhookSecretRevoked',
      data: { subscriptionId, secretId: command.secretId, revokedBy: who, revokedAt: at },
    },
  ];
};

export const subscriptionDecider: Decider<
  SubscriptionCommand,
  SubscriptionEvent,
  SubscriptionState
> = {
  initialState: () => ({ exists: false, deleted: false }),

  decide: (command, state) => {
    switch (command.type) {
      case 'CreateSubscription':
        return decideCreate(command, state);
      case 'ApproveSubscription':
        return decideApprove(command, state);
      case 'RejectSubscription':
        return decideReject(command, state);
      case 'ChangeSubscription':
        return decideChange(command, state);
      case 'PauseSubscription':
        return decidePause(command, state);
      case 'ResumeSubscription':
        return decideResume(command, state);
      case 'ReplaySubscription':
        return decideReplay(command, state);
      case 'DeleteSubscription':
        return decideDelete(command, state);
      case 'AddWebhookSecret':
        return decideAddWebhookSecret(command, state);
      case 'RevokeWebhookSecret':
        return decideRevokeWebhookSecret(command, state);
      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  },

  evolve: evolveSubscription,
};
