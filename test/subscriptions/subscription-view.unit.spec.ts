import { Actor } from '../../src/auth/principal';
import { NotFoundError } from '../../src/errors/hub-error';
import { ActiveSubscription } from '../../src/subscriptions/subscription.events';
import { toSubscriptionView } from '../../src/subscriptions/subscriptions.controller';

const SUB_ORG = 'org-sub';
const PUB_ORG = 'org-pub';

const subscription: ActiveSubscription = {
  exists: true,
  subscriptionId: 'sub-1',
  subscriberProgramId: 'STATE',
  subscriberOrganisationId: SUB_ORG,
  publisherProgramId: 'NCBON',
  publisherOrganisationId: PUB_ORG,
  name: 'Nursing board feed',
  templates: {
    COURSE: { action: 'import', label: 'Course', template: '{"id": "{{EventId}}"}' },
    EXAM: { action: 'ignore', label: null, template: null },
    '*_default': { action: 'import', label: null, template: '{"all": true}' },
  },
  enabled: false,
  webhook: { url: 'https://lms.example.org/hook', maxAttempts: 4 },
  approval: 'approved',
  secretIds: ['sec-1', 'sec-2'],
  createdBy: 'adm-sub',
  createdAt: '2026-11-20T08:00:00.000Z',
  updatedAt: '2026-11-21T08:00:00.000Z',
};

const actor = (organisationId: string, role: Actor['roles'][number]): Actor => ({
  userId: `${organisationId}-${role}`,
  organisationId,
  roles: [role],
});

const SUMMARY = {
  subscriptionId: 'sub-1',
  subscriberProgramId: 'STATE',
  subscriberOrganisationId: SUB_ORG,
  publisherProgramId: 'NCBON',
  publisherOrganisationId: PUB_ORG,
  name: 'Nursing board feed',
  status: 'paused',
  approval: 'approved',
  enabled: false,
  categories: { imported: ['COURSE'], ignored: ['EXAM'], othersImported: true },
  createdBy: 'adm-sub',
  createdAt: '2026-11-20T08:00:00.000Z',
  updatedAt: '2026-11-21T08:00:00.000Z',
};

describe('toSubscriptionView', () => {
  it.each([
    ['the subscriber’s admin', actor(SUB_ORG, 'ORG_ADMIN')],
    ['a SUBSCRIBER key of the subscriber', actor(SUB_ORG, 'SUBSCRIBER')],
    ['a system admin', actor('system', 'SYSTEM_ADMIN')],
  ])('shows %s the templates, the webhook and its secret ids', (_, reader) => {
    expect(toSubscriptionView(subscription, reader)).toEqual({
      ...SUMMARY,
      templates: subscription.templates,
      webhook: {
        url: 'https://lms.example.org/hook',
        maxAttempts: 4,
        secretIds: ['sec-1', 'sec-2'],
      },
    });
  });

  it.each([
    ['the publisher’s admin', actor(PUB_ORG, 'ORG_ADMIN')],
    ['a LEARNER of the subscriber', actor(SUB_ORG, 'LEARNER')],
    ['a CONTENT_CREATOR of the subscriber', actor(SUB_ORG, 'CONTENT_CREATOR')],
  ])('shows %s the categories but no template, webhook or secret', (_, reader) => {
    const view = toSubscriptionView(subscription, reader);
    expect(view).toEqual(SUMMARY);
    expect(JSON.stringify(view)).not.toMatch(/lms\.example\.org|sec-1|EventId|maxAttempts/);
  });

  it('keeps an absent webhook null for those who see settings', () => {
    const view = toSubscriptionView(
      { ...subscription, webhook: null, secretIds: [] },
      actor(SUB_ORG, 'ORG_ADMIN'),
    );
    expect(view.webhook).toBeNull();
  });

  it.each([
    ['a PUBLISHER key of the publisher', actor(PUB_ORG, 'PUBLISHER')],
    ['a LEARNER of the publisher', actor(PUB_ORG, 'LEARNER')],
    ['an admin of another organisation', actor('org-x', 'ORG_ADMIN')],
  ])('does not exist for %s', (_, reader) => {
    expect(() => toSubscriptionView(subscription, reader)).toThrow(NotFoundError);
  });
});
