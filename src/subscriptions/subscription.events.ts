import { DomainEvent } from '../event-sourcing/decider';
import { DEFAULT_TEMPLATE_KEY } from '../publishing/learning-event.events';

export const SUBSCRIPTION_STREAM_PREFIX = 'subscription-';

export const subscriptionStream = (subscriptionId: string): string =>
  `${SUBSCRIPTION_STREAM_PREFIX}${subscriptionId}`;

/** What a subscriber does with a category of a publisher's events. */
export interface TemplateEntry {
  action: 'import' | 'ignore';
  label: string | null;
  /** Handlebars source turning an event into the subscriber's JSON; null when ignored. */
  template: string | null;
}

/** Keyed by PublisherEventCategory.value, with `*_default` for every other category. */
export type TemplateSet = Record<string, TemplateEntry>;

export interface WebhookSettings {
  url: string;
  /** Attempts per delivery before it is dead-lettered; null: the hub's default. */
  maxAttempts: number | null;
}

export type Approval = 'pending' | 'approved' | 'rejected';

export type SubscriptionCreated = DomainEvent<
  'SubscriptionCreated',
  {
    subscriptionId: string;
    subscriberProgramId: string;
    subscriberOrganisationId: string;
    publisherProgramId: string;
    publisherOrganisationId: string;
    name: string | null;
    templates: TemplateSet;
    enabled: boolean;
    webhook: WebhookSettings | null;
    /** Approved at once when an admin of the publisher's program (or a system admin) created it. */
    approval: 'pending' | 'approved';
    createdBy: string;
    createdAt: string;
  }
>;

export type SubscriptionApproved = DomainEvent<
  'SubscriptionApproved',
  { subscriptionId: string; approvedBy: string; approvedAt: string }
>;

/** Refused while pending, or approval withdrawn later: the publisher's data stops flowing. */
export type SubscriptionRejected = DomainEvent<
  'SubscriptionRejected',
  { subscriptionId: string; rejectedBy: string; rejectedAt: string; reason: string | null }
>;

/** The fields present changed to these values. */
export type SubscriptionChanged = DomainEvent<
  'SubscriptionChanged',
  {
    subscriptionId: string;
    name?: string | null;
    templates?: TemplateSet;
    webhook?: WebhookSettings | null;
    changedBy: string;
    changedAt: string;
  }
>;

export type SubscriptionPaused = DomainEvent<
  'SubscriptionPaused',
  { subscriptionId: string; pausedBy: string; pausedAt: string }
>;

export type SubscriptionResumed = DomainEvent<
  'SubscriptionResumed',
  { subscriptionId: string; resumedBy: string; resumedAt: string }
>;

/** The subscription's position moved (back) to `position` (null: the start of the log). */
export type SubscriptionReplayed = DomainEvent<
  'SubscriptionReplayed',
  {
    subscriptionId: string;
    from: { time: string } | { cursor: string } | { start: true };
    position: string | null;
    replayedBy: string;
    replayedAt: string;
  }
>;

export type SubscriptionDeleted = DomainEvent<
  'SubscriptionDeleted',
  { subscriptionId: string; deletedBy: string; deletedAt: string }
>;

/** A signing secret was issued (its value is kept apart from the log, in hub_webhook_secrets). */
export type WebhookSecretAdded = DomainEvent<
  'WebhookSecretAdded',
  { subscriptionId: string; secretId: string; addedBy: string; addedAt: string }
>;

export type WebhookSecretRevoked = DomainEvent<
  'WebhookSecretRevoked',
  { subscriptionId: string; secretId: string; revokedBy: string; revokedAt: string }
>;

export type SubscriptionEvent =
  | SubscriptionCreated
  | SubscriptionApproved
  | SubscriptionRejected
  | SubscriptionChanged
  | SubscriptionPaused
  | SubscriptionResumed
  | SubscriptionReplayed
  | SubscriptionDeleted
  | WebhookSecretAdded
  | WebhookSecretRevoked;

export const SUBSCRIPTION_EVENT_TYPES: readonly SubscriptionEvent['type'][] = [
  'SubscriptionCreated',
  'SubscriptionApproved',
  'SubscriptionRejected',
  'SubscriptionChanged',
  'SubscriptionPaused',
  'SubscriptionResumed',
  'SubscriptionReplayed',
  'SubscriptionDeleted',
  'WebhookSecretAdded',
  'WebhookSecretRevoked',
];

/** A subscription as its events leave it: what it was created with, and what changed since. */
export type ActiveSubscription = Omit<SubscriptionCreated['data'], 'approval'> & {
  exists: true;
  approval: Approval;
  /** Ids of the signing secrets not revoked, oldest first. */
  secretIds: string[];
  updatedAt: string;
};

export type SubscriptionState = { exists: false; deleted: boolean } | ActiveSubscription;

/** A subscription after one more of its events: the write model and the read model fold alike. */
export const evolveSubscription = (
  state: SubscriptionState,
  event: SubscriptionEvent,
): SubscriptionState => {
  if (event.type === 'SubscriptionCreated') {
    const { data } = event;
    return {
      exists: true,
      subscriptionId: data.subscriptionId,
      subscriberProgramId: data.subscriberProgramId,
      subscriberOrganisationId: data.subscriberOrganisationId,
      publisherProgramId: data.publisherProgramId,
      publisherOrganisationId: data.publisherOrganisationId,
      name: data.name,
      templates: data.templates,
      enabled: data.enabled,
      webhook: data.webhook,
      approval: data.approval,
      secretIds: [],
      createdBy: data.createdBy,
      createdAt: data.createdAt,
      updatedAt: data.createdAt,
    };
  }
  if (!state.exists) return state;
  switch (event.type) {
    case 'SubscriptionApproved':
      return { ...state, approval: 'approved', updatedAt: event.data.approvedAt };
    case 'SubscriptionRejected':
      return { ...state, approval: 'rejected', updatedAt: event.data.rejectedAt };
    case 'SubscriptionChanged': {
      const { data } = event;
      return {
        ...state,
        ...(data.name === undefined ? {} : { name: data.name }),
        ...(data.templates === undefined ? {} : { templates: data.templates }),
        ...(data.webhook === undefined ? {} : { webhook: data.webhook }),
        updatedAt: data.changedAt,
      };
    }
    case 'SubscriptionPaused':
      return { ...state, enabled: false, updatedAt: event.data.pausedAt };
    case 'SubscriptionResumed':
      return { ...state, enabled: true, updatedAt: event.data.resumedAt };
    case 'SubscriptionReplayed':
      return { ...state, updatedAt: event.data.replayedAt };
    case 'SubscriptionDeleted':
      return { exists: false, deleted: true };
    case 'WebhookSecretAdded':
      return {
        ...state,
        secretIds: [...state.secretIds, event.data.secretId],
        updatedAt: event.data.addedAt,
      };
    case 'WebhookSecretRevoked':
      return {
        ...state,
        secretIds: state.secretIds.filter((id) => id !== event.data.secretId),
        updatedAt: event.data.revokedAt,
      };
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
};

/** The set as the read model filters on it: which categories import, which are ignored. */
export const categoryRules = (set: TemplateSet) => ({
  importCategories: Object.keys(set).filter(
    (key) => key !== DEFAULT_TEMPLATE_KEY && set[key]!.action === 'import',
  ),
  ignoreCategories: Object.keys(set).filter(
    (key) => key !== DEFAULT_TEMPLATE_KEY && set[key]!.action === 'ignore',
  ),
  defaultImport:
    Object.hasOwn(set, DEFAULT_TEMPLATE_KEY) && set[DEFAULT_TEMPLATE_KEY]!.action === 'import',
});
