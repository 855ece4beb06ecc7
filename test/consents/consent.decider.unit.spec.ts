import { Actor } from '../../src/auth/principal';
import {
  ConsentCommand,
  consentDecider,
  consentKey,
  consentListScope,
  GrantConsent,
  RevokeConsent,
} from '../../src/consents/consent.decider';
import { ConsentEvent, consentStream } from '../../src/consents/consent.events';
import { ForbiddenError, NotFoundError } from '../../src/errors/hub-error';
import { fold } from '../../src/event-sourcing/decider';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(consentDecider);

const COURSE_ORG = 'org-course';
const REPORTING_ORG = 'org-state';
const COURSE = { courseId: 'course-1', organisationId: COURSE_ORG };
const now = new Date('2026-11-22T10:00:00.000Z');
const NOW = now.toISOString();
const EARLIER = '2026-11-01T09:00:00.000Z';
const LATER_STILL = '2026-11-10T09:00:00.000Z';

const self: Actor = { userId: 'u-1', organisationId: 'org-home', roles: ['LEARNER'] };
const systemAdmin: Actor = { userId: 'root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };
const colleague: Actor = { userId: 'u-2', organisationId: 'org-home', roles: ['LEARNER'] };
const courseOrgAdmin: Actor = { userId: 'adm-1', organisationId: COURSE_ORG, roles: ['ORG_ADMIN'] };
const homeOrgAdmin: Actor = { userId: 'adm-2', organisationId: 'org-home', roles: ['ORG_ADMIN'] };
const mentor: Actor = { userId: 'm-1', organisationId: COURSE_ORG, roles: ['COURSE_MENTOR'] };

const command = <T extends ConsentCommand['type']>(
  type: T,
  overrides: Partial<Omit<ConsentCommand, 'type'>> = {},
): Extract<ConsentCommand, { type: T }> =>
  ({
    type,
    userId: 'u-1',
    courseId: 'course-1',
    consumerOrganisationId: null,
    course: COURSE,
    actor: self,
    now,
    ...overrides,
  }) as Extract<ConsentCommand, { type: T }>;

const grant = (overrides: Partial<Omit<GrantConsent, 'type'>> = {}) =>
  command('GrantConsent', overrides);
const revoke = (overrides: Partial<Omit<RevokeConsent, 'type'>> = {}) =>
  command('RevokeConsent', overrides);

const granted = (
  grantedAt = EARLIER,
  consumerOrganisationId = COURSE_ORG,
  grantedBy = 'u-1',
  courseId = 'course-1',
): ConsentEvent => ({
  type: 'ConsentGranted',
  data: { userId: 'u-1', courseId, consumerOrganisationId, grantedBy, grantedAt },
});

const revoked = (
  revokedAt = LATER_STILL,
  consumerOrganisationId = COURSE_ORG,
  revokedBy = 'u-1',
  courseId = 'course-1',
): ConsentEvent => ({
  type: 'ConsentRevoked',
  data: { userId: 'u-1', courseId, consumerOrganisationId, revokedBy, revokedAt },
});

describe('consent stream', () => {
  it('is one stream per user, under the consent- prefix', () => {
    expect(consentStream('u-1')).toBe('consent-u-1');
  });
});

describe('consent decider: GrantConsent', () => {
  it('lets the user grant consent to the course’s own organisation by default', () => {
    spec
      .given([])
      .when(grant())
      .then([granted(NOW)]);
  });

  it('records a consent to the organisation the user names', () => {
    spec
      .given([])
      .when(grant({ consumerOrganisationId: REPORTING_ORG }))
      .then([granted(NOW, REPORTING_ORG)]);
  });

  it('lets a system admin grant on the user’s behalf, recording who did', () => {
    spec
      .given([])
      .when(grant({ actor: systemAdmin }))
      .then([granted(NOW, COURSE_ORG, 'root')]);
  });

  it('records nothing when the consent is already active, keeping its original time', () => {
    spec.given([granted()]).when(grant()).thenNothingHappens();
    const state = fold(consentDecider, [granted()]);
    expect(state.get(consentKey('course-1', COURSE_ORG))).toEqual({ granted: true, at: EARLIER });
  });

  it('treats a consent to another organisation, or for another course, as a separate one', () => {
    spec
      .given([granted()])
      .when(grant({ consumerOrganisationId: REPORTING_ORG }))
      .then([granted(NOW, REPORTING_ORG)]);
    spec
      .given([granted(EARLIER, COURSE_ORG, 'u-1', 'course-2')])
      .when(grant())
      .then([granted(NOW)]);
  });

  it('grants again after a revocation', () => {
    spec
      .given([granted(), revoked()])
      .when(grant())
      .then([granted(NOW)]);
  });

  it.each([
    ['another learner', colleague],
    ['an admin of the course’s organisation', courseOrgAdmin],
    ['an admin of the user’s own organisation', homeOrgAdmin],
    ['a mentor of the course', mentor],
  ])('refuses %s (CONSENT_NOT_YOURS)', (_, actor) => {
    spec.given([]).when(grant({ actor })).thenThrows(ForbiddenError, { code: 'CONSENT_NOT_YOURS' });
  });

  it('refuses a principal of another organisation that carries the user’s id', () => {
    spec
      .given([])
      .when(
        grant({
          actor: { ...self, organisationId: 'org-elsewhere' },
          profile: { organisationId: 'org-home' },
        }),
      )
      .thenThrows(ForbiddenError, { code: 'CONSENT_NOT_YOURS' });
    spec
      .given([])
      .when(grant({ profile: { organisationId: 'org-home' } }))
      .then([granted(NOW)]);
  });

  it('refuses an unknown course', () => {
    spec
      .given([])
      .when(grant({ course: null, courseId: 'nope' }))
      .thenThrows(NotFoundError, { code: 'COURSE_NOT_FOUND', details: { courseId: 'nope' } });
  });

  it('refuses someone else before saying whether the course exists', () => {
    spec
      .given([])
      .when(grant({ actor: colleague, course: null }))
      .thenThrows(ForbiddenError, { code: 'CONSENT_NOT_YOURS' });
  });

  it('accepts a course of any organisation', () => {
    spec
      .given([])
      .when(grant({ course: { courseId: 'course-1', organisationId: 'org-far-away' } }))
      .then([granted(NOW, 'org-far-away')]);
  });
});

describe('consent decider: RevokeConsent', () => {
  it('lets the user revoke an active consent', () => {
    spec
      .given([granted()])
      .when(revoke())
      .then([revoked(NOW)]);
  });

  it('revokes the consent to the organisation named, and only that one', () => {
    spec
      .given([granted(), granted(EARLIER, REPORTING_ORG)])
      .when(revoke({ consumerOrganisationId: REPORTING_ORG }))
      .then([revoked(NOW, REPORTING_ORG)]);
  });

  it('lets a system admin revoke on the user’s behalf', () => {
    spec
      .given([granted()])
      .when(revoke({ actor: systemAdmin }))
      .then([revoked(NOW, COURSE_ORG, 'root')]);
  });

  it('records nothing when the consent is already revoked', () => {
    spec.given([granted(), revoked()]).when(revoke()).thenNothingHappens();
  });

  it('revokes a re-granted consent', () => {
    spec
      .given([granted(), revoked(), granted(LATER_STILL)])
      .when(revoke())
      .then([revoked(NOW)]);
  });

  it('answers CONSENT_NOT_FOUND for a consent never granted', () => {
    spec
      .given([])
      .when(revoke())
      .thenThrows(NotFoundError, {
        code: 'CONSENT_NOT_FOUND',
        details: { userId: 'u-1', courseId: 'course-1', consumerOrganisationId: COURSE_ORG },
      });
    spec
      .given([granted()])
      .when(revoke({ consumerOrganisationId: REPORTING_ORG }))
      .thenThrows(NotFoundError, { code: 'CONSENT_NOT_FOUND' });
  });

  it.each([
    ['another learner', colleague],
    ['an admin of the course’s organisation', courseOrgAdmin],
    ['a mentor of the course', mentor],
  ])('refuses %s (CONSENT_NOT_YOURS)', (_, actor) => {
    spec
      .given([granted()])
      .when(revoke({ actor }))
      .thenThrows(ForbiddenError, { code: 'CONSENT_NOT_YOURS' });
  });

  it('refuses an unknown course', () => {
    spec
      .given([granted()])
      .when(revoke({ course: null }))
      .thenThrows(NotFoundError, { code: 'COURSE_NOT_FOUND' });
  });
});

describe('consent decider: evolve', () => {
  it('keeps the latest decision per course and consumer organisation, with its time', () => {
    const state = fold(consentDecider, [
      granted(),
      granted(EARLIER, REPORTING_ORG),
      revoked(LATER_STILL),
    ]);
    expect(state).toEqual(
      new Map([
        [consentKey('course-1', COURSE_ORG), { granted: false, at: LATER_STILL }],
        [consentKey('course-1', REPORTING_ORG), { granted: true, at: EARLIER }],
      ]),
    );
  });

  it('never changes the state it is given', () => {
    const before = fold(consentDecider, [granted()]);
    consentDecider.evolve(before, revoked());
    expect(before.get(consentKey('course-1', COURSE_ORG))).toEqual({ granted: true, at: EARLIER });
  });
});

describe('consentListScope', () => {
  it('shows the user and system admins every consent', () => {
    expect(consentListScope(self, 'u-1')).toEqual({ consumerOrganisationId: null });
    expect(consentListScope(systemAdmin, 'u-1')).toEqual({ consumerOrganisationId: null });
  });

  it('shows an organisation admin only the consents given to their organisation', () => {
    expect(consentListScope(courseOrgAdmin, 'u-1')).toEqual({ consumerOrganisationId: COURSE_ORG });
  });

  it('refuses everyone else', () => {
    for (const actor of [colleague, mentor])
      expect(() => consentListScope(actor, 'u-1')).toThrow(
        expect.objectContaining({ kind: 'forbidden', code: 'CONSENT_NOT_YOURS' }),
      );
  });
});
