import { Actor } from '../../src/auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../../src/errors/hub-error';
import { fold } from '../../src/event-sourcing/decider';
import { ProgramFacts } from '../../src/programs/program.decider';
import {
  canConsumeSubscription,
  canReadSubscription,
  canReadSubscriptionSettings,
  ChangeSubscription,
  CreateSubscription,
  isDelivering,
  MAX_WEBHOOK_SECRETS,
  SubscriptionCommand,
  subscriptionDecider,
  subscriptionDisclosure,
} from '../../src/subscriptions/subscription.decider';
import {
  SubscriptionEvent,
  TemplateSet,
  WebhookSettings,
} from '../../src/subscriptions/subscription.events';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(subscriptionDecider);

const SUB_ORG = 'org-sub';
const PUB_ORG = 'org-pub';
const ID = 'sub-1';
const SUB_PROGRAM: ProgramFacts = { programId: 'STATE', organisationId: SUB_ORG };
const PUB_PROGRAM: ProgramFacts = { programId: 'NCBON', organisationId: PUB_ORG };

const now = new Date('2026-12-01T10:00:00.000Z');
const NOW = now.toISOString();
const CREATED = '2026-11-20T08:00:00.000Z';
const LATER = '2026-11-21T08:00:00.000Z';

const subAdmin: Actor = { userId: 'adm-sub', organisationId: SUB_ORG, roles: ['ORG_ADMIN'] };
const subscriber: Actor = { userId: 'key-sub', organisationId: SUB_ORG, roles: ['SUBSCRIBER'] };
const subLearner: Actor = { userId: 'u-sub', organisationId: SUB_ORG, roles: ['LEARNER'] };
const pubAdmin: Actor = { userId: 'adm-pub', organisationId: PUB_ORG, roles: ['ORG_ADMIN'] };
const pubPublisher: Actor = { userId: 'key-pub', organisationId: PUB_ORG, roles: ['PUBLISHER'] };
const outsider: Actor = { userId: 'adm-x', organisationId: 'org-x', roles: ['ORG_ADMIN'] };
const systemAdmin: Actor = { userId: 'root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };

const TEMPLATES: TemplateSet = {
  COURSE: { action: 'import', label: 'Course', template: '{"id": "{{EventId}}"}' },
  '*_default': { action: 'ignore', label: null, template: null },
};
const OTHER_TEMPLATES: TemplateSet = {
  '*_default': { action: 'import', label: null, template: '{"all": true}' },
};
const WEBHOOK: WebhookSettings = { url: 'https://example.org/hook', maxAttempts: null };

const create = (
  overrides: Partial<Omit<CreateSubscription, 'type'>> = {},
): SubscriptionCommand => ({
  type: 'CreateSubscription',
  subscriptionId: ID,
  actor: subAdmin,
  now,
  subscriberProgramId: SUB_PROGRAM.programId,
  publisherProgramId: PUB_PROGRAM.programId,
  subscriberProgram: SUB_PROGRAM,
  publisherProgram: PUB_PROGRAM,
  name: 'Nursing board feed',
  templates: TEMPLATES,
  enabled: true,
  webhook: null,
  newSecretId: 'sec-1',
  ...overrides,
});

const simple = <T extends SubscriptionCommand['type']>(
  type: T,
  actor: Actor,
  extra: Record<string, unknown> = {},
): SubscriptionCommand =>
  ({ type, subscriptionId: ID, actor, now, ...extra }) as SubscriptionCommand;

const change = (
  actor: Actor,
  fields: Partial<Pick<ChangeSubscription, 'name' | 'templates' | 'webhook' | 'enabled'>>,
  newSecretId = 'sec-new',
) => simple('ChangeSubscription', actor, { ...fields, newSecretId });

type CreatedData = Extract<SubscriptionEvent, { type: 'SubscriptionCreated' }>['data'];
const created = (overrides: Partial<CreatedData> = {}): SubscriptionEvent => ({
  type: 'SubscriptionCreated',
  data: {
    subscriptionId: ID,
    subscriberProgramId: 'STATE',
    subscriberOrganisationId: SUB_ORG,
    publisherProgramId: 'NCBON',
    publisherOrganisationId: PUB_ORG,
    name: 'Nursing board feed',
    templates: TEMPLATES,
    enabled: true,
    webhook: null,
    approval: 'pending',
    createdBy: 'adm-sub',
    createdAt: CREATED,
    ...overrides,
  },
});
const approved = (at = LATER): SubscriptionEvent => ({
  type: 'SubscriptionApproved',
  data: { subscriptionId: ID, approvedBy: 'adm-pub', approvedAt: at },
});
const rejected = (at = LATER, reason: string | null = null): SubscriptionEvent => ({
  type: 'SubscriptionRejected',
  data: { subscriptionId: ID, rejectedBy: 'adm-pub', rejectedAt: at, reason },
});
const paused = (by = 'adm-sub', at = LATER): SubscriptionEvent => ({
  type: 'SubscriptionPaused',
  data: { subscriptionId: ID, pausedBy: by, pausedAt: at },
});
const resumed = (by = 'adm-sub', at = LATER): SubscriptionEvent => ({
  type: 'SubscriptionResumed',
  data: { subscriptionId: ID, resumedBy: by, resumedAt: at },
});
const deleted = (at = LATER): SubscriptionEvent => ({
  type: 'SubscriptionDeleted',
  data: { subscriptionId: ID, deletedBy: 'adm-sub', deletedAt: at },
});
const secretAdded = (secretId: string, by = 'adm-sub', at = LATER): SubscriptionEvent => ({
  type: 'WebhookSecretAdded',
  data: { subscriptionId: ID, secretId, addedBy: by, addedAt: at },
});
const secretRevoked = (secretId: string, by = 'adm-sub', at = LATER): SubscriptionEvent => ({
  type: 'WebhookSecretRevoked',
  data: { subscriptionId: ID, secretId, revokedBy: by, revokedAt: at },
});
const changed = (
  fields: Partial<Pick<CreatedData, 'name' | 'templates' | 'webhook'>>,
  by = 'adm-sub',
  at = NOW,
): SubscriptionEvent => ({
  type: 'SubscriptionChanged',
  data: { subscriptionId: ID, ...fields, changedBy: by, changedAt: at },
});

const pending = [created()];
const active = [created(), approved()];
const withWebhook = [created({ webhook: WEBHOOK, approval: 'approved' }), secretAdded('sec-1')];

const notFound = { code: 'SUBSCRIPTION_NOT_FOUND', details: { subscriptionId: ID } };

describe('subscription decider: CreateSubscription', () => {
  it('leaves a request by the subscriber organisation’s admin pending', () => {
    spec
      .given([])
      .when(create())
      .then([created({ createdAt: NOW })]);
  });

  it('approves at once a subscription created by a system admin', () => {
    spec
      .given([])
      .when(create({ actor: systemAdmin }))
      .then([created({ approval: 'approved', createdBy: 'root', createdAt: NOW })]);
  });

  it('approves at once when the creator also administers the publisher program’s organisation', () => {
    const ownProgram: ProgramFacts = { programId: 'NCBON-2', organisationId: SUB_ORG };
    spec
      .given([])
      .when(create({ publisherProgramId: 'NCBON-2', publisherProgram: ownProgram }))
      .then([
        created({
          publisherProgramId: 'NCBON-2',
          publisherOrganisationId: SUB_ORG,
          approval: 'approved',
          createdAt: NOW,
        }),
      ]);
  });

  it('records the name, enabled flag and templates as requested', () => {
    spec
      .given([])
      .when(create({ name: null, enabled: false, templates: OTHER_TEMPLATES }))
      .then([created({ name: null, enabled: false, templates: OTHER_TEMPLATES, createdAt: NOW })]);
  });

  it('answers PROGRAM_NOT_FOUND for a subscriber program of another organisation', () => {
    spec
      .given([])
      .when(create({ actor: pubAdmin }))
      .thenThrows(NotFoundError, {
        code: 'PROGRAM_NOT_FOUND',
        details: { programId: 'STATE' },
      });
    spec
      .given([])
      .when(create({ actor: outsider }))
      .thenThrows(NotFoundError, { code: 'PROGRAM_NOT_FOUND' });
  });

  it('answers PROGRAM_NOT_FOUND for an unregistered subscriber program', () => {
    spec
      .given([])
      .when(create({ subscriberProgramId: 'NOPE', subscriberProgram: null }))
      .thenThrows(NotFoundError, { code: 'PROGRAM_NOT_FOUND', details: { programId: 'NOPE' } });
  });

  it.each([
    ['a subscriber key', subscriber],
    ['a learner', subLearner],
  ])('refuses %s of the subscriber organisation', (_, actor) => {
    spec
      .given([])
      .when(create({ actor }))
      .thenThrows(ForbiddenError, { kind: 'forbidden', code: 'UNAUTHORIZED_USER' });
  });

  it('answers PROGRAM_NOT_FOUND for an unknown publisher program', () => {
    spec
      .given([])
      .when(create({ publisherProgramId: 'GHOST', publisherProgram: null }))
      .thenThrows(NotFoundError, { code: 'PROGRAM_NOT_FOUND', details: { programId: 'GHOST' } });
  });

  it('issues the first signing secret when a webhook is given', () => {
    spec
      .given([])
      .when(create({ webhook: WEBHOOK, newSecretId: 'sec-9' }))
      .then([created({ webhook: WEBHOOK, createdAt: NOW }), secretAdded('sec-9', 'adm-sub', NOW)]);
  });

  it('records nothing for an identical retry', () => {
    spec.given(pending).when(create()).thenNothingHappens();
    spec
      .given(withWebhook)
      .when(create({ webhook: WEBHOOK }))
      .thenNothingHappens();
    // Templates read back with their keys in another order are the same templates.
    const reordered: TemplateSet = {
      '*_default': { template: null, label: null, action: 'ignore' },
      COURSE: { template: '{"id": "{{EventId}}"}', action: 'import', label: 'Course' },
    };
    spec
      .given(pending)
      .when(create({ templates: reordered }))
      .thenNothingHappens();
  });

  it('refuses a different request under an existing id (SUBSCRIPTION_EXISTS)', () => {
    for (const overrides of [
      { name: 'Another' },
      { templates: OTHER_TEMPLATES },
      { webhook: WEBHOOK },
      {
        publisherProgramId: 'NCBON-2',
        publisherProgram: { programId: 'NCBON-2', organisationId: PUB_ORG },
      },
    ])
      spec
        .given(pending)
        .when(create(overrides))
        .thenThrows(ConflictError, {
          code: 'SUBSCRIPTION_EXISTS',
          details: { subscriptionId: ID },
        });
  });

  it('does not bring a deleted subscription back', () => {
    spec
      .given([...pending, deleted()])
      .when(create())
      .thenThrows(ConflictError, { code: 'SUBSCRIPTION_EXISTS' });
  });
});

describe('subscription decider: ApproveSubscription', () => {
  it('lets an admin of the publisher’s organisation approve a pending subscription', () => {
    spec
      .given(pending)
      .when(simple('ApproveSubscription', pubAdmin))
      .then([approved(NOW)]);
  });

  it('lets a system admin approve', () => {
    spec
      .given(pending)
      .when(simple('ApproveSubscription', systemAdmin))
      .then([
        {
          type: 'SubscriptionApproved',
          data: { subscriptionId: ID, approvedBy: 'root', approvedAt: NOW },
        },
      ]);
  });

  it('records nothing when already approved', () => {
    spec.given(active).when(simple('ApproveSubscription', pubAdmin)).thenNothingHappens();
  });

  it('refuses a rejected subscription (SUBSCRIPTION_REJECTED)', () => {
    spec
      .given([...pending, rejected()])
      .when(simple('ApproveSubscription', pubAdmin))
      .thenThrows(ConflictError, {
        code: 'SUBSCRIPTION_REJECTED',
        details: { subscriptionId: ID },
      });
  });

  it('refuses the subscriber side (PUBLISHER_APPROVAL_REQUIRED)', () => {
    for (const actor of [subAdmin, subscriber])
      spec
        .given(pending)
        .when(simple('ApproveSubscription', actor))
        .thenThrows(ForbiddenError, { code: 'PUBLISHER_APPROVAL_REQUIRED' });
  });

  it('hides the subscription from those who may not read it', () => {
    for (const actor of [outsider, pubPublisher])
      spec
        .given(pending)
        .when(simple('ApproveSubscription', actor))
        .thenThrows(NotFoundError, notFound);
  });

  it('answers SUBSCRIPTION_NOT_FOUND for an unknown subscription', () => {
    spec
      .given([])
      .when(simple('ApproveSubscription', systemAdmin))
      .thenThrows(NotFoundError, notFound);
  });
});

describe('subscription decider: RejectSubscription', () => {
  it('rejects a pending subscription, with the reason', () => {
    spec
      .given(pending)
      .when(simple('RejectSubscription', pubAdmin, { reason: 'not a partner' }))
      .then([rejected(NOW, 'not a partner')]);
  });

  it('withdraws an approval', () => {
    spec
      .given(active)
      .when(simple('RejectSubscription', pubAdmin, { reason: null }))
      .then([rejected(NOW, null)]);
  });

  it('records nothing when already rejected', () => {
    spec
      .given([...pending, rejected()])
      .when(simple('RejectSubscription', pubAdmin, { reason: null }))
      .thenNothingHappens();
  });

  it('refuses the subscriber side', () => {
    spec
      .given(pending)
      .when(simple('RejectSubscription', subAdmin, { reason: null }))
      .thenThrows(ForbiddenError, { code: 'PUBLISHER_APPROVAL_REQUIRED' });
  });
});

describe('subscription decider: ChangeSubscription', () => {
  it('records a new name, templates and webhook, only the fields that change', () => {
    spec
      .given(active)
      .when(change(subAdmin, { name: 'Renamed' }))
      .then([changed({ name: 'Renamed' })]);
    spec
      .given(active)
      .when(change(subAdmin, { name: 'Nursing board feed', templates: OTHER_TEMPLATES }))
      .then([changed({ templates: OTHER_TEMPLATES })]);
    spec
      .given(active)
      .when(change(subAdmin, { name: null }))
      .then([changed({ name: null })]);
  });

  it('records nothing when nothing changes', () => {
    spec.given(active).when(change(subAdmin, {})).thenNothingHappens();
    spec
      .given(active)
      .when(
        change(subAdmin, {
          name: 'Nursing board feed',
          templates: TEMPLATES,
          webhook: null,
          enabled: true,
        }),
      )
      .thenNothingHappens();
    spec
      .given(withWebhook)
      .when(change(subAdmin, { webhook: { ...WEBHOOK } }))
      .thenNothingHappens();
  });

  it('issues a signing secret with the first webhook', () => {
    spec
      .given(active)
      .when(change(subAdmin, { webhook: WEBHOOK }, 'sec-7'))
      .then([changed({ webhook: WEBHOOK }), secretAdded('sec-7', 'adm-sub', NOW)]);
  });

  it('keeps the secrets when the webhook moves or is removed', () => {
    const moved = { url: 'https://example.org/other', maxAttempts: 3 };
    spec
      .given(withWebhook)
      .when(change(subAdmin, { webhook: moved }))
      .then([changed({ webhook: moved })]);
    spec
      .given(withWebhook)
      .when(change(subAdmin, { webhook: null }))
      .then([changed({ webhook: null })]);
    spec
      .given([...withWebhook, changed({ webhook: null })])
      .when(change(subAdmin, { webhook: WEBHOOK }))
      .then([changed({ webhook: WEBHOOK })]);
  });

  it('pauses and resumes through enabled, after the other changes', () => {
    spec
      .given(active)
      .when(change(subAdmin, { enabled: false, name: 'Quiet' }))
      .then([changed({ name: 'Quiet' }), paused('adm-sub', NOW)]);
    spec
      .given([...active, paused()])
      .when(change(subAdmin, { enabled: true }))
      .then([resumed('adm-sub', NOW)]);
    spec
      .given([...active, paused()])
      .when(change(subAdmin, { enabled: false }))
      .thenNothingHappens();
  });

  it('lets a system admin change it', () => {
    spec
      .given(active)
      .when(change(systemAdmin, { name: 'By root' }))
      .then([changed({ name: 'By root' }, 'root')]);
  });

  it('refuses everyone but the subscriber organisation’s admins', () => {
    for (const actor of [pubAdmin, subscriber])
      spec
        .given(active)
        .when(change(actor, { name: 'Mine' }))
        .thenThrows(ForbiddenError, { code: 'SUBSCRIPTION_NOT_YOURS' });
    spec
      .given(active)
      .when(change(outsider, { name: 'Mine' }))
      .thenThrows(NotFoundError, notFound);
  });
});

describe('subscription decider: PauseSubscription and ResumeSubscription', () => {
  it('pauses an enabled subscription and records nothing when already paused', () => {
    spec
      .given(active)
      .when(simple('PauseSubscription', subAdmin))
      .then([paused('adm-sub', NOW)]);
    spec
      .given([...active, paused()])
      .when(simple('PauseSubscription', subAdmin))
      .thenNothingHappens();
  });

  it('resumes a paused subscription and records nothing when already running', () => {
    spec
      .given([...active, paused()])
      .when(simple('ResumeSubscription', systemAdmin))
      .then([resumed('root', NOW)]);
    spec.given(active).when(simple('ResumeSubscription', subAdmin)).thenNothingHappens();
  });

  it('refuses the publisher side and subscriber keys', () => {
    for (const type of ['PauseSubscription', 'ResumeSubscription'] as const)
      for (const actor of [pubAdmin, subscriber])
        spec
          .given([...active, paused()])
          .when(simple(type, actor))
          .thenThrows(ForbiddenError, { code: 'SUBSCRIPTION_NOT_YOURS' });
  });
});

describe('subscription decider: ReplaySubscription', () => {
  const replay = (actor: Actor) =>
    simple('ReplaySubscription', actor, {
      from: { time: '2026-11-01T00:00:00.000Z' },
      position: '00000000000000000010:00000000000000000003',
    });

  it('lets the subscriber side replay an approved subscription', () => {
    for (const [actor, by] of [
      [subscriber, 'key-sub'],
      [subAdmin, 'adm-sub'],
      [systemAdmin, 'root'],
    ] as const)
      spec
        .given(active)
        .when(replay(actor))
        .then([
          {
            type: 'SubscriptionReplayed',
            data: {
              subscriptionId: ID,
              from: { time: '2026-11-01T00:00:00.000Z' },
              position: '00000000000000000010:00000000000000000003',
              replayedBy: by,
              replayedAt: NOW,
            },
          },
        ]);
  });

  it('replays from the start', () => {
    spec
      .given(active)
      .when(simple('ReplaySubscription', subscriber, { from: { start: true }, position: null }))
      .then([
        {
          type: 'SubscriptionReplayed',
          data: {
            subscriptionId: ID,
            from: { start: true },
            position: null,
            replayedBy: 'key-sub',
            replayedAt: NOW,
          },
        },
      ]);
  });

  it('refuses the publisher’s admins (SUBSCRIPTION_NOT_YOURS) and a learner of the subscriber', () => {
    for (const actor of [pubAdmin, subLearner])
      spec
        .given(active)
        .when(replay(actor))
        .thenThrows(ForbiddenError, { code: 'SUBSCRIPTION_NOT_YOURS' });
  });

  it('refuses a subscription that is not approved (SUBSCRIPTION_NOT_APPROVED)', () => {
    spec
      .given(pending)
      .when(replay(subscriber))
      .thenThrows(ConflictError, {
        code: 'SUBSCRIPTION_NOT_APPROVED',
        details: { subscriptionId: ID, approval: 'pending' },
      });
    spec
      .given([...active, rejected()])
      .when(replay(subscriber))
      .thenThrows(ConflictError, {
        code: 'SUBSCRIPTION_NOT_APPROVED',
        details: { subscriptionId: ID, approval: 'rejected' },
      });
  });
});

describe('subscription decider: DeleteSubscription', () => {
  it('deletes, and afterwards every command answers SUBSCRIPTION_NOT_FOUND', () => {
    spec
      .given(active)
      .when(simple('DeleteSubscription', subAdmin))
      .then([
        {
          type: 'SubscriptionDeleted',
          data: { subscriptionId: ID, deletedBy: 'adm-sub', deletedAt: NOW },
        },
      ]);
    const gone = [...active, deleted()];
    for (const command of [
      simple('DeleteSubscription', subAdmin),
      simple('ApproveSubscription', pubAdmin),
      simple('PauseSubscription', subAdmin),
      change(subAdmin, { name: 'x' }),
      simple('AddWebhookSecret', subAdmin, { secretId: 's' }),
      simple('ReplaySubscription', systemAdmin, { from: { start: true }, position: null }),
    ])
      spec.given(gone).when(command).thenThrows(NotFoundError, notFound);
    expect(fold(subscriptionDecider, gone)).toEqual({ exists: false, deleted: true });
  });

  it('refuses the publisher side', () => {
    spec
      .given(active)
      .when(simple('DeleteSubscription', pubAdmin))
      .thenThrows(ForbiddenError, { code: 'SUBSCRIPTION_NOT_YOURS' });
  });
});

describe('subscription decider: webhook secrets', () => {
  const add = (secretId: string, actor = subAdmin) =>
    simple('AddWebhookSecret', actor, { secretId });
  const revoke = (secretId: string, actor = subAdmin) =>
    simple('RevokeWebhookSecret', actor, { secretId });

  it('adds a secret to a subscription with a webhook', () => {
    spec
      .given(withWebhook)
      .when(add('sec-2'))
      .then([secretAdded('sec-2', 'adm-sub', NOW)]);
  });

  it('refuses a secret without a webhook (WEBHOOK_NOT_CONFIGURED)', () => {
    spec
      .given(active)
      .when(add('sec-2'))
      .thenThrows(ConflictError, { code: 'WEBHOOK_NOT_CONFIGURED' });
  });

  it(`keeps at most ${MAX_WEBHOOK_SECRETS} active secrets`, () => {
    expect(MAX_WEBHOOK_SECRETS).toBe(5);
    const full = [
      ...withWebhook,
      ...['sec-2', 'sec-3', 'sec-4', 'sec-5'].map((s) => secretAdded(s)),
    ];
    spec
      .given(full)
      .when(add('sec-6'))
      .thenThrows(ConflictError, {
        code: 'TOO_MANY_WEBHOOK_SECRETS',
        details: { subscriptionId: ID },
      });
    spec
      .given([...full, secretRevoked('sec-1')])
      .when(add('sec-6'))
      .then([secretAdded('sec-6', 'adm-sub', NOW)]);
  });

  it('revokes one of several secrets', () => {
    spec
      .given([...withWebhook, secretAdded('sec-2')])
      .when(revoke('sec-1'))
      .then([secretRevoked('sec-1', 'adm-sub', NOW)]);
  });

  it('refuses to revoke the last secret while a webhook is set (LAST_WEBHOOK_SECRET)', () => {
    spec
      .given(withWebhook)
      .when(revoke('sec-1'))
      .thenThrows(ConflictError, {
        code: 'LAST_WEBHOOK_SECRET',
        details: { subscriptionId: ID, secretId: 'sec-1' },
      });
    spec
      .given([...withWebhook, changed({ webhook: null })])
      .when(revoke('sec-1'))
      .then([secretRevoked('sec-1', 'adm-sub', NOW)]);
  });

  it('answers WEBHOOK_SECRET_NOT_FOUND for an unknown or already revoked secret', () => {
    spec
      .given(withWebhook)
      .when(revoke('sec-404'))
      .thenThrows(NotFoundError, {
        code: 'WEBHOOK_SECRET_NOT_FOUND',
        details: { subscriptionId: ID, secretId: 'sec-404' },
      });
    spec
      .given([...withWebhook, secretAdded('sec-2'), secretRevoked('sec-1')])
      .when(revoke('sec-1'))
      .thenThrows(NotFoundError, { code: 'WEBHOOK_SECRET_NOT_FOUND' });
  });

  it('refuses anyone but the subscriber organisation’s admins', () => {
    for (const command of [add('sec-2', pubAdmin), revoke('sec-1', subscriber)])
      spec
        .given([...withWebhook, secretAdded('sec-3')])
        .when(command)
        .thenThrows(ForbiddenError, { code: 'SUBSCRIPTION_NOT_YOURS' });
  });
});

describe('subscription decider: evolve', () => {
  it('folds the history into the current subscription', () => {
    const moved = { url: 'https://example.org/v2', maxAttempts: 4 };
    expect(
      fold(subscriptionDecider, [
        created({ webhook: WEBHOOK }),
        secretAdded('sec-1', 'adm-sub', CREATED),
        approved('2026-11-21T00:00:00.000Z'),
        changed({ name: 'v2', webhook: moved }, 'adm-sub', '2026-11-22T00:00:00.000Z'),
        secretAdded('sec-2', 'adm-sub', '2026-11-23T00:00:00.000Z'),
        secretRevoked('sec-1', 'adm-sub', '2026-11-24T00:00:00.000Z'),
        paused('adm-sub', '2026-11-25T00:00:00.000Z'),
      ]),
    ).toEqual({
      exists: true,
      subscriptionId: ID,
      subscriberProgramId: 'STATE',
      subscriberOrganisationId: SUB_ORG,
      publisherProgramId: 'NCBON',
      publisherOrganisationId: PUB_ORG,
      name: 'v2',
      templates: TEMPLATES,
      enabled: false,
      webhook: moved,
      approval: 'approved',
      secretIds: ['sec-2'],
      createdBy: 'adm-sub',
      createdAt: CREATED,
      updatedAt: '2026-11-25T00:00:00.000Z',
    });
  });
});

describe('subscription access rules', () => {
  const parties = { subscriberOrganisationId: SUB_ORG, publisherOrganisationId: PUB_ORG };

  it('canReadSubscription: the subscriber organisation, the publisher’s admins, system admins', () => {
    expect(
      [subAdmin, subscriber, subLearner, pubAdmin, pubPublisher, outsider, systemAdmin].map(
        (actor) => canReadSubscription(actor, parties),
      ),
    ).toEqual([true, true, true, true, false, false, true]);
  });

  it('canConsumeSubscription: subscribers and admins of the subscriber organisation, system admins', () => {
    expect(
      [subAdmin, subscriber, subLearner, pubAdmin, pubPublisher, outsider, systemAdmin].map(
        (actor) => canConsumeSubscription(actor, parties),
      ),
    ).toEqual([true, true, false, false, false, false, true]);
    const foreignSubscriber: Actor = { ...subscriber, organisationId: PUB_ORG };
    expect(canConsumeSubscription(foreignSubscriber, parties)).toBe(false);
  });

  it('subscriptionDisclosure: settings for who manages or consumes it, a summary for the other roles that see it', () => {
    const subCreator: Actor = { ...subLearner, roles: ['CONTENT_CREATOR'] };
    const subMentor: Actor = { ...subLearner, roles: ['COURSE_MENTOR'] };
    const subPublisher: Actor = { ...subLearner, roles: ['PUBLISHER'] };
    const pubLearner: Actor = { ...pubPublisher, roles: ['LEARNER'] };
    const pubCreator: Actor = { ...pubPublisher, roles: ['CONTENT_CREATOR'] };
    const pubSubscriber: Actor = { ...pubPublisher, roles: ['SUBSCRIBER'] };
    const cases: [Actor, ReturnType<typeof subscriptionDisclosure>][] = [
      [systemAdmin, 'settings'],
      [subAdmin, 'settings'],
      [subscriber, 'settings'],
      [{ ...subLearner, roles: ['LEARNER', 'SUBSCRIBER'] }, 'settings'],
      [subLearner, 'summary'],
      [subCreator, 'summary'],
      [subMentor, 'summary'],
      [subPublisher, 'summary'],
      [pubAdmin, 'summary'],
      [pubPublisher, null],
      [pubLearner, null],
      [pubCreator, null],
      [pubSubscriber, null],
      [outsider, null],
    ];
    for (const [actor, disclosure] of cases) {
      expect({ actor, disclosure: subscriptionDisclosure(actor, parties) }).toEqual({
        actor,
        disclosure,
      });
      expect(canReadSubscription(actor, parties)).toBe(disclosure !== null);
      expect(canReadSubscriptionSettings(actor, parties)).toBe(disclosure === 'settings');
    }
  });

  it('subscriptionDisclosure: settings for the admin of an organisation subscribed to its own program', () => {
    const own = { subscriberOrganisationId: PUB_ORG, publisherOrganisationId: PUB_ORG };
    expect(subscriptionDisclosure(pubAdmin, own)).toBe('settings');
    expect(subscriptionDisclosure(pubPublisher, own)).toBe('summary');
  });

  it('given a created, approved subscription, shows its settings to the subscriber side only', () => {
    const state = fold(subscriptionDecider, [created({ webhook: WEBHOOK }), approved()]);
    if (!state.exists) throw new Error('the subscription should exist');
    expect(
      [subAdmin, subscriber, systemAdmin, subLearner, pubAdmin, pubPublisher].map((actor) =>
        subscriptionDisclosure(actor, state),
      ),
    ).toEqual(['settings', 'settings', 'settings', 'summary', 'summary', null]);
  });

  it('isDelivering: only approved and enabled', () => {
    expect(isDelivering({ approval: 'approved', enabled: true })).toBe(true);
    expect(isDelivering({ approval: 'approved', enabled: false })).toBe(false);
    expect(isDelivering({ approval: 'pending', enabled: true })).toBe(false);
    expect(isDelivering({ approval: 'rejected', enabled: true })).toBe(false);
  });
});
