import { Actor } from '../../src/auth/principal';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../../src/errors/hub-error';
import { ErasePersonalData, RecordUserProfile, userDecider } from '../../src/users/user.decider';
import { SealedPersonalData, UserEvent, UserProfileAttributes } from '../../src/users/user.events';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(userDecider);

const ORG = 'org-1';
const OTHER_ORG = 'org-2';
const now = new Date('2026-11-22T10:00:00.000Z');
const NOW = now.toISOString();

const orgAdmin: Actor = { userId: 'svc-users', organisationId: ORG, roles: ['ORG_ADMIN'] };
const foreignAdmin: Actor = {
  userId: 'svc-other',
  organisationId: OTHER_ORG,
  roles: ['ORG_ADMIN'],
};
const self: Actor = { userId: 'u-1', organisationId: ORG, roles: ['LEARNER'] };
const colleague: Actor = { userId: 'u-2', organisationId: ORG, roles: ['LEARNER'] };
const stranger: Actor = { userId: 'u-3', organisationId: OTHER_ORG, roles: ['LEARNER'] };
const systemAdmin: Actor = { userId: 'ops', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };

const attributes: UserProfileAttributes = {
  userType: 'teacher',
  userSubType: null,
  state: 'Karnataka',
  district: 'Mysuru',
  block: null,
  cluster: null,
  schoolId: 'school-9',
  schoolName: 'Government High School',
  organisationName: 'Org One',
};

const personal: SealedPersonalData = { keyId: 'k-1', iv: 'iv', ciphertext: 'ct', tag: 'tag' };

const record = (overrides: Partial<RecordUserProfile> = {}): RecordUserProfile => ({
  type: 'RecordUserProfile',
  userId: 'u-1',
  organisationId: ORG,
  personal,
  personalDigest: 'digest-1',
  attributes,
  actor: orgAdmin,
  now,
  ...overrides,
});

const erase = (actor: Actor, userId = 'u-1'): ErasePersonalData => ({
  type: 'ErasePersonalData',
  userId,
  actor,
  now,
});

const recorded: Extract<UserEvent, { type: 'UserProfileRecorded' }> = {
  type: 'UserProfileRecorded',
  data: {
    userId: 'u-1',
    organisationId: ORG,
    personal,
    personalDigest: 'digest-1',
    attributes,
    recordedBy: 'svc-users',
    recordedAt: '2026-11-01T09:00:00.000Z',
  },
};

const erased = (erasedBy: string, erasedAt = NOW): UserEvent => ({
  type: 'UserPersonalDataErased',
  data: { userId: 'u-1', erasedBy, erasedAt },
});

describe('user decider: RecordUserProfile', () => {
  it('records a profile sent by an ORG_ADMIN of the organisation', () => {
    spec
      .given([])
      .when(record())
      .then([
        {
          type: 'UserProfileRecorded',
          data: {
            userId: 'u-1',
            organisationId: ORG,
            personal,
            personalDigest: 'digest-1',
            attributes,
            recordedBy: 'svc-users',
            recordedAt: NOW,
          },
        },
      ]);
  });

  it('does nothing when the same snapshot is sent again, even sealed afresh', () => {
    spec
      .given([recorded])
      .when(record({ personal: { ...personal, iv: 'another-iv', ciphertext: 'other' } }))
      .thenNothingHappens();
  });

  it('records a changed attribute', () => {
    const moved = { ...attributes, district: 'Mandya' };
    spec
      .given([recorded])
      .when(record({ attributes: moved }))
      .then([
        {
          type: 'UserProfileRecorded',
          data: {
            userId: 'u-1',
            organisationId: ORG,
            personal,
            personalDigest: 'digest-1',
            attributes: moved,
            recordedBy: 'svc-users',
            recordedAt: NOW,
          },
        },
      ]);
  });

  it('records changed personal data', () => {
    const events = userDecider.decide(
      record({ personalDigest: 'digest-2' }),
      userDecider.evolve(userDecider.initialState(), recorded),
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ data: { personalDigest: 'digest-2' } });
  });

  it('refuses a LEARNER', () => {
    spec
      .given([])
      .when(record({ actor: self }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('refuses an admin of another organisation recording for it', () => {
    spec
      .given([])
      .when(record({ actor: foreignAdmin }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('does not reveal an existing user to another organisation’s admin claiming them', () => {
    spec
      .given([recorded])
      .when(record({ actor: foreignAdmin, organisationId: OTHER_ORG }))
      .thenThrows(NotFoundError, { code: 'USER_NOT_FOUND', details: { userId: 'u-1' } });
  });
});

describe('user decider: RecordUserProfile without an organisation', () => {
  const moved = { ...attributes, district: 'Mandya' };
  const recordedBy = (actor: Actor, organisationId: string): UserEvent[] => [
    {
      type: 'UserProfileRecorded',
      data: {
        userId: 'u-1',
        organisationId,
        personal,
        personalDigest: 'digest-1',
        attributes: moved,
        recordedBy: actor.userId,
        recordedAt: NOW,
      },
    },
  ];

  it('keeps an existing user in their organisation when a system admin names none', () => {
    spec
      .given([recorded])
      .when(record({ actor: systemAdmin, organisationId: null, attributes: moved }))
      .then(recordedBy(systemAdmin, ORG));
  });

  it('records nothing for a system admin’s unchanged snapshot that names no organisation', () => {
    spec
      .given([recorded])
      .when(record({ actor: systemAdmin, organisationId: null }))
      .thenNothingHappens();
  });

  it('keeps an existing user in their organisation when their admin names none', () => {
    spec
      .given([recorded])
      .when(record({ organisationId: null, attributes: moved }))
      .then(recordedBy(orgAdmin, ORG));
  });

  it('does not reveal the user to another organisation’s admin who names none', () => {
    spec
      .given([recorded])
      .when(record({ actor: foreignAdmin, organisationId: null }))
      .thenThrows(NotFoundError, { code: 'USER_NOT_FOUND' });
  });

  it('puts a new user in the caller’s organisation when an org admin names none', () => {
    spec
      .given([])
      .when(record({ organisationId: null, attributes: moved }))
      .then(recordedBy(orgAdmin, ORG));
  });

  it('asks a system admin to name the organisation of a new user (400 ORGANISATION_REQUIRED)', () => {
    spec
      .given([])
      .when(record({ actor: systemAdmin, organisationId: null }))
      .thenThrows(InvalidInputError, {
        code: 'ORGANISATION_REQUIRED',
        details: { issues: [{ field: 'organisationId', message: expect.any(String) }] },
      });
  });

  it('lets a system admin move a user by naming the new organisation', () => {
    spec
      .given([recorded])
      .when(record({ actor: systemAdmin, organisationId: OTHER_ORG, attributes: moved }))
      .then(recordedBy(systemAdmin, OTHER_ORG));
  });

  it('refuses a learner who names no organisation', () => {
    spec
      .given([recorded])
      .when(record({ actor: self, organisationId: null }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });
});

describe('user decider: ErasePersonalData', () => {
  it('lets users erase their own personal data', () => {
    spec
      .given([recorded])
      .when(erase(self))
      .then([erased('u-1')]);
  });

  it('lets an admin of the user’s organisation erase it', () => {
    spec
      .given([recorded])
      .when(erase(orgAdmin))
      .then([erased('svc-users')]);
  });

  it('does nothing the second time', () => {
    spec
      .given([recorded, erased('u-1', '2026-11-20T00:00:00.000Z')])
      .when(erase(self))
      .thenNothingHappens();
  });

  it('erases again once new personal data was recorded after an erasure', () => {
    const reRecorded: UserEvent = {
      type: 'UserProfileRecorded',
      data: {
        ...recorded.data,
        personalDigest: 'digest-2',
        recordedAt: '2026-11-21T00:00:00.000Z',
      },
    };
    spec
      .given([recorded, erased('u-1', '2026-11-20T00:00:00.000Z'), reRecorded])
      .when(erase(self))
      .then([erased('u-1')]);
  });

  it('refuses a user the hub does not know', () => {
    spec.given([]).when(erase(orgAdmin)).thenThrows(NotFoundError, { code: 'USER_NOT_FOUND' });
  });

  it('hides the user from another organisation', () => {
    spec
      .given([recorded])
      .when(erase(stranger))
      .thenThrows(NotFoundError, { code: 'USER_NOT_FOUND' });
    spec
      .given([recorded])
      .when(erase(foreignAdmin))
      .thenThrows(NotFoundError, { code: 'USER_NOT_FOUND' });
  });

  it('hides the user from someone of another organisation who has the same user id', () => {
    spec
      .given([recorded])
      .when(erase({ userId: 'u-1', organisationId: OTHER_ORG, roles: ['LEARNER'] }))
      .thenThrows(NotFoundError, { code: 'USER_NOT_FOUND' });
  });

  it('refuses a learner of the same organisation who is not the user', () => {
    spec
      .given([recorded])
      .when(erase(colleague))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });
});
