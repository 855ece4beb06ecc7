import { Actor } from '../../src/auth/principal';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  RuleViolatedError,
} from '../../src/errors/hub-error';
import { fold } from '../../src/event-sourcing/decider';
import {
  AddGroupActivity,
  AddGroupMember,
  canReadGroup,
  GroupCommand,
  groupDecider,
  groupListScope,
  MAX_GROUP_MEMBERS,
  PutGroupSnapshot,
  RemoveGroupActivity,
  RemoveGroupMember,
} from '../../src/groups/group.decider';
import { GroupEvent, groupStream } from '../../src/groups/group.events';
import { ImmutableMap } from '../../src/groups/immutable-map';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(groupDecider);

const ORG = 'org-a';
const now = new Date('2026-11-22T10:00:00.000Z');
const NOW = now.toISOString();
const EARLIER = '2026-11-01T09:00:00.000Z';

const orgAdmin: Actor = { userId: 'adm', organisationId: ORG, roles: ['ORG_ADMIN'] };
const systemAdmin: Actor = { userId: 'root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };
const otherOrgAdmin: Actor = { userId: 'adm-b', organisationId: 'org-b', roles: ['ORG_ADMIN'] };
const groupAdmin: Actor = { userId: 'ga', organisationId: ORG, roles: ['LEARNER'] };
const member: Actor = { userId: 'u1', organisationId: ORG, roles: ['LEARNER'] };
const outsider: Actor = { userId: 'u9', organisationId: ORG, roles: ['LEARNER'] };
const mentor: Actor = { userId: 'm1', organisationId: ORG, roles: ['COURSE_MENTOR'] };

const base = { groupId: 'g1', actor: orgAdmin, now };

const snapshot = (overrides: Partial<Omit<PutGroupSnapshot, 'type'>> = {}): PutGroupSnapshot => ({
  type: 'PutGroupSnapshot',
  ...base,
  organisationId: null,
  name: 'Group one',
  description: null,
  members: [
    { userId: 'ga', role: 'admin', status: 'active' },
    { userId: 'u1', role: 'member', status: 'active' },
  ],
  activities: [{ activityId: 'c1', activityType: 'Course' }],
  ...overrides,
});

const addMember = (overrides: Partial<Omit<AddGroupMember, 'type'>> = {}): AddGroupMember => ({
  type: 'AddGroupMember',
  ...base,
  userId: 'u2',
  role: 'member',
  status: 'active',
  ...overrides,
});

const removeMember = (
  overrides: Partial<Omit<RemoveGroupMember, 'type'>> = {},
): RemoveGroupMember => ({ type: 'RemoveGroupMember', ...base, userId: 'u1', ...overrides });

const addActivity = (
  overrides: Partial<Omit<AddGroupActivity, 'type'>> = {},
): AddGroupActivity => ({
  type: 'AddGroupActivity',
  ...base,
  activityId: 'c2',
  activityType: 'Course',
  ...overrides,
});

const removeActivity = (
  overrides: Partial<Omit<RemoveGroupActivity, 'type'>> = {},
): RemoveGroupActivity => ({
  type: 'RemoveGroupActivity',
  ...base,
  activityId: 'c1',
  ...overrides,
});

const created = (
  organisationId = ORG,
  by = 'adm',
  at = EARLIER,
  name = 'Group one',
  description: string | null = null,
): GroupEvent => ({
  type: 'GroupCreated',
  data: { groupId: 'g1', organisationId, name, description, createdBy: by, createdAt: at },
});
const memberAdded = (
  userId: string,
  role: 'admin' | 'member' = 'member',
  status: 'active' | 'inactive' = 'active',
  by = 'adm',
  at = EARLIER,
): GroupEvent => ({
  type: 'GroupMemberAdded',
  data: { groupId: 'g1', userId, role, status, addedBy: by, addedAt: at },
});
const memberChanged = (
  userId: string,
  role: 'admin' | 'member',
  status: 'active' | 'inactive',
  by = 'adm',
): GroupEvent => ({
  type: 'GroupMemberChanged',
  data: { groupId: 'g1', userId, role, status, changedBy: by, changedAt: NOW },
});
const memberRemoved = (userId: string, by = 'adm'): GroupEvent => ({
  type: 'GroupMemberRemoved',
  data: { groupId: 'g1', userId, removedBy: by, removedAt: NOW },
});
const activityAdded = (activityId: string, activityType = 'Course', at = EARLIER): GroupEvent => ({
  type: 'GroupActivityAdded',
  data: { groupId: 'g1', activityId, activityType, addedBy: 'adm', addedAt: at },
});
const activityRemoved = (activityId: string): GroupEvent => ({
  type: 'GroupActivityRemoved',
  data: { groupId: 'g1', activityId, removedBy: 'adm', removedAt: NOW },
});

/** The group the snapshot above created, earlier. */
const existing: GroupEvent[] = [
  created(),
  memberAdded('ga', 'admin'),
  memberAdded('u1'),
  activityAdded('c1'),
];

const refuses = (
  given: GroupEvent[],
  command: GroupCommand,
  type: new (...args: never[]) => Error,
  code: string,
) => spec.given(given).when(command).thenThrows(type, { code });

describe('group stream', () => {
  it('is one stream per group, under the group- prefix', () => {
    expect(groupStream('g1')).toBe('group-g1');
  });
});

describe('group decider: PutGroupSnapshot creates', () => {
  it('creates the group in the org admin’s organisation, with its members and activities', () => {
    spec
      .given([])
      .when(snapshot())
      .then([
        created(ORG, 'adm', NOW),
        memberAdded('ga', 'admin', 'active', 'adm', NOW),
        memberAdded('u1', 'member', 'active', 'adm', NOW),
        activityAdded('c1', 'Course', NOW),
      ]);
  });

  it('creates an empty group', () => {
    spec
      .given([])
      .when(snapshot({ members: [], activities: [], description: 'About' }))
      .then([created(ORG, 'adm', NOW, 'Group one', 'About')]);
  });

  it('lets a system admin create a group of the organisation they name', () => {
    spec
      .given([])
      .when(snapshot({ actor: systemAdmin, organisationId: 'org-z', members: [], activities: [] }))
      .then([created('org-z', 'root', NOW)]);
  });

  it('asks a system admin for the organisation of a new group', () => {
    refuses([], snapshot({ actor: systemAdmin }), InvalidInputError, 'GROUP_ORGANISATION_REQUIRED');
  });

  it('lets an org admin name their own organisation, not another', () => {
    spec
      .given([])
      .when(snapshot({ organisationId: ORG, members: [], activities: [] }))
      .then([created(ORG, 'adm', NOW)]);
    refuses([], snapshot({ organisationId: 'org-b' }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
  });

  it.each([
    ['a learner', member],
    ['a mentor', mentor],
  ])('refuses %s (GROUP_WRITE_FORBIDDEN)', (_, actor) => {
    refuses([], snapshot({ actor }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
  });

  it('refuses a member or activity named twice (GROUP_SNAPSHOT_DUPLICATE), naming where', () => {
    spec
      .given([])
      .when(
        snapshot({
          members: [
            { userId: 'u1', role: 'member', status: 'active' },
            { userId: 'u1', role: 'admin', status: 'active' },
          ],
          activities: [
            { activityId: 'c1', activityType: 'Course' },
            { activityId: 'c1', activityType: 'Course' },
          ],
        }),
      )
      .thenThrows(InvalidInputError, {
        kind: 'invalid_input',
        code: 'GROUP_SNAPSHOT_DUPLICATE',
        issues: [
          { field: 'members.1.userId', message: expect.any(String) },
          { field: 'activities.1.activityId', message: expect.any(String) },
        ],
      });
  });

  it('refuses more members than a group may have', () => {
    const members = Array.from({ length: MAX_GROUP_MEMBERS + 1 }, (_, index) => ({
      userId: `u-${index}`,
      role: 'member' as const,
      status: 'active' as const,
    }));
    refuses([], snapshot({ members }), RuleViolatedError, 'GROUP_LIMIT_REACHED');
  });
});

describe('group decider: PutGroupSnapshot on an existing group', () => {
  it('records nothing for an unchanged snapshot (idempotent)', () => {
    spec.given(existing).when(snapshot()).thenNothingHappens();
    spec
      .given(existing)
      .when(snapshot({ organisationId: ORG }))
      .thenNothingHappens();
    spec
      .given(existing)
      .when(snapshot({ actor: systemAdmin }))
      .thenNothingHappens();
  });

  it('ignores the order of members and activities', () => {
    const given = [...existing, activityAdded('c2')];
    const command = snapshot({
      members: [...snapshot().members].reverse(),
      activities: [
        { activityId: 'c2', activityType: 'Course' },
        { activityId: 'c1', activityType: 'Course' },
      ],
    });
    spec.given(given).when(command).thenNothingHappens();
  });

  it('records only the differences', () => {
    spec
      .given(existing)
      .when(
        snapshot({
          name: 'Renamed',
          description: 'Now described',
          members: [
            { userId: 'ga', role: 'admin', status: 'inactive' },
            { userId: 'u2', role: 'member', status: 'active' },
          ],
          activities: [
            { activityId: 'c1', activityType: 'Assessment' },
            { activityId: 'c3', activityType: 'Course' },
          ],
        }),
      )
      .then([
        {
          type: 'GroupDetailsChanged',
          data: {
            groupId: 'g1',
            name: 'Renamed',
            description: 'Now described',
            changedBy: 'adm',
            changedAt: NOW,
          },
        },
        memberRemoved('u1'),
        memberChanged('ga', 'admin', 'inactive'),
        memberAdded('u2', 'member', 'active', 'adm', NOW),
        activityRemoved('c1'),
        activityAdded('c1', 'Assessment', NOW),
        activityAdded('c3', 'Course', NOW),
      ]);
  });

  it('empties the group', () => {
    spec
      .given(existing)
      .when(snapshot({ members: [], activities: [] }))
      .then([memberRemoved('ga'), memberRemoved('u1'), activityRemoved('c1')]);
  });

  it('refuses to move the group to another organisation', () => {
    refuses(
      existing,
      snapshot({ actor: systemAdmin, organisationId: 'org-b' }),
      ConflictError,
      'GROUP_ORGANISATION_IMMUTABLE',
    );
  });

  it.each([
    ['the group’s admin', groupAdmin],
    ['a member', member],
    ['an outsider of the organisation', outsider],
    ['an admin of another organisation', otherOrgAdmin],
  ])('refuses %s (GROUP_WRITE_FORBIDDEN)', (_, actor) => {
    refuses(existing, snapshot({ actor }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
  });

  it('refuses duplicates on an existing group too', () => {
    refuses(
      existing,
      snapshot({
        activities: [
          { activityId: 'c1', activityType: 'Course' },
          { activityId: 'c1', activityType: 'Course' },
        ],
      }),
      InvalidInputError,
      'GROUP_SNAPSHOT_DUPLICATE',
    );
  });
});

describe('group decider: members', () => {
  it('adds a member, by default an active member', () => {
    spec
      .given(existing)
      .when(addMember())
      .then([memberAdded('u2', 'member', 'active', 'adm', NOW)]);
  });

  it('changes the role or status of a member, and records nothing for the same values', () => {
    spec
      .given(existing)
      .when(addMember({ userId: 'u1', role: 'admin' }))
      .then([memberChanged('u1', 'admin', 'active')]);
    spec
      .given(existing)
      .when(addMember({ userId: 'u1', status: 'inactive' }))
      .then([memberChanged('u1', 'member', 'inactive')]);
    spec
      .given(existing)
      .when(addMember({ userId: 'u1' }))
      .thenNothingHappens();
  });

  it('removes a member; a non-member is GROUP_MEMBER_NOT_FOUND', () => {
    spec
      .given(existing)
      .when(removeMember())
      .then([memberRemoved('u1')]);
    spec
      .given(existing)
      .when(removeMember({ userId: 'u2' }))
      .thenThrows(NotFoundError, {
        code: 'GROUP_MEMBER_NOT_FOUND',
        details: { groupId: 'g1', userId: 'u2' },
      });
    refuses(
      [...existing, memberRemoved('u1')],
      removeMember(),
      NotFoundError,
      'GROUP_MEMBER_NOT_FOUND',
    );
  });

  it('lets a system admin and the group’s active admin manage members', () => {
    spec
      .given(existing)
      .when(addMember({ actor: systemAdmin }))
      .then([memberAdded('u2', 'member', 'active', 'root', NOW)]);
    spec
      .given(existing)
      .when(addMember({ actor: groupAdmin }))
      .then([memberAdded('u2', 'member', 'active', 'ga', NOW)]);
    spec
      .given(existing)
      .when(removeMember({ actor: groupAdmin }))
      .then([memberRemoved('u1', 'ga')]);
  });

  it('does not let an inactive group admin, or one whose profile is another organisation’s, manage members', () => {
    const inactive = [...existing, memberChanged('ga', 'admin', 'inactive')];
    refuses(inactive, addMember({ actor: groupAdmin }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
    refuses(
      existing,
      addMember({ actor: groupAdmin, actorProfile: { organisationId: 'org-b' } }),
      NotFoundError,
      'GROUP_NOT_FOUND',
    );
  });

  it('refuses a plain member (403) and hides the group from outsiders and other organisations (404)', () => {
    refuses(existing, addMember({ actor: member }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
    refuses(existing, removeMember({ actor: member }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
    refuses(existing, addMember({ actor: outsider }), NotFoundError, 'GROUP_NOT_FOUND');
    refuses(existing, addMember({ actor: otherOrgAdmin }), NotFoundError, 'GROUP_NOT_FOUND');
    refuses(existing, removeMember({ actor: mentor }), NotFoundError, 'GROUP_NOT_FOUND');
  });

  it('answers GROUP_NOT_FOUND for an unknown group, whoever asks', () => {
    for (const actor of [orgAdmin, systemAdmin, member])
      refuses([], addMember({ actor }), NotFoundError, 'GROUP_NOT_FOUND');
    refuses([], removeMember(), NotFoundError, 'GROUP_NOT_FOUND');
  });
});

describe('group decider: activities', () => {
  it('adds an activity; the same again records nothing', () => {
    spec
      .given(existing)
      .when(addActivity())
      .then([activityAdded('c2', 'Course', NOW)]);
    spec
      .given(existing)
      .when(addActivity({ activityId: 'c1' }))
      .thenNothingHappens();
  });

  it('replaces an activity given with another type: removed, then added', () => {
    spec
      .given(existing)
      .when(addActivity({ activityId: 'c1', activityType: 'Assessment' }))
      .then([activityRemoved('c1'), activityAdded('c1', 'Assessment', NOW)]);
  });

  it('removes an activity; one the group does not have is GROUP_ACTIVITY_NOT_FOUND', () => {
    spec
      .given(existing)
      .when(removeActivity())
      .then([activityRemoved('c1')]);
    spec
      .given(existing)
      .when(removeActivity({ activityId: 'c9' }))
      .thenThrows(NotFoundError, {
        code: 'GROUP_ACTIVITY_NOT_FOUND',
        details: { groupId: 'g1', activityId: 'c9' },
      });
  });

  it('lets a system admin change activities, not the group’s admin or a member', () => {
    spec
      .given(existing)
      .when(removeActivity({ actor: systemAdmin }))
      .then([
        {
          ...activityRemoved('c1'),
          data: { ...activityRemoved('c1').data, removedBy: 'root' },
        } as GroupEvent,
      ]);
    refuses(existing, addActivity({ actor: groupAdmin }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
    refuses(existing, removeActivity({ actor: member }), ForbiddenError, 'GROUP_WRITE_FORBIDDEN');
    refuses(existing, addActivity({ actor: otherOrgAdmin }), NotFoundError, 'GROUP_NOT_FOUND');
  });

  it('answers GROUP_NOT_FOUND for an unknown group', () => {
    refuses([], addActivity(), NotFoundError, 'GROUP_NOT_FOUND');
    refuses([], removeActivity(), NotFoundError, 'GROUP_NOT_FOUND');
  });
});

describe('group decider: evolve', () => {
  it('folds details, members and activities', () => {
    const state = fold(groupDecider, [
      ...existing,
      {
        type: 'GroupDetailsChanged',
        data: { groupId: 'g1', name: 'B', description: 'd', changedBy: 'adm', changedAt: NOW },
      },
      memberChanged('u1', 'admin', 'inactive'),
      memberAdded('u2'),
      memberRemoved('ga'),
      activityAdded('c2', 'Assessment'),
      activityRemoved('c1'),
    ]);
    expect({
      ...state,
      members: new Map(state.members),
      activities: new Map(state.activities),
    }).toEqual({
      exists: true,
      groupId: 'g1',
      organisationId: ORG,
      name: 'B',
      description: 'd',
      members: new Map([
        ['u1', { role: 'admin', status: 'inactive' }],
        ['u2', { role: 'member', status: 'active' }],
      ]),
      activities: new Map([['c2', 'Assessment']]),
    });
  });

  it('never changes the state it is given', () => {
    const before = fold(groupDecider, existing);
    groupDecider.evolve(before, memberRemoved('u1'));
    groupDecider.evolve(before, activityAdded('c2'));
    expect(before.members.has('u1')).toBe(true);
    expect(before.activities.has('c2')).toBe(false);
  });

  it('folds thousands of members quickly and exactly', () => {
    const events: GroupEvent[] = [created()];
    for (let index = 0; index < 5_000; index++) events.push(memberAdded(`u-${index}`));
    for (let index = 0; index < 5_000; index += 2) events.push(memberRemoved(`u-${index}`));
    const started = Date.now();
    const state = fold(groupDecider, events);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(state.members.size).toBe(2_500);
    expect(state.members.has('u-1')).toBe(true);
    expect(state.members.has('u-2')).toBe(false);
    expect([...state.members.keys()]).toHaveLength(2_500);
  });
});

describe('ImmutableMap', () => {
  it('behaves as a map whose changes are new maps', () => {
    let map = ImmutableMap.empty<string, number>();
    const snapshots: [ImmutableMap<string, number>, Map<string, number>][] = [];
    const reference = new Map<string, number>();
    for (let index = 0; index < 300; index++) {
      map = map.set(`k${index % 120}`, index);
      reference.set(`k${index % 120}`, index);
      if (index % 7 === 0) {
        map = map.delete(`k${index % 50}`);
        reference.delete(`k${index % 50}`);
      }
      if (index % 37 === 0) snapshots.push([map, new Map(reference)]);
    }
    expect(new Map(map)).toEqual(reference);
    expect(map.size).toBe(reference.size);
    for (const [earlier, asItWas] of snapshots) {
      expect(new Map(earlier)).toEqual(asItWas);
      expect(earlier.size).toBe(asItWas.size);
    }
    expect(map.delete('missing')).toBe(map);
  });
});

describe('canReadGroup and groupListScope', () => {
  const state = fold(groupDecider, existing);

  it('shows a group to admins of its organisation, system admins and its members only', () => {
    for (const actor of [orgAdmin, systemAdmin, groupAdmin, member])
      expect(canReadGroup(actor, state)).toBe(true);
    for (const actor of [outsider, mentor, otherOrgAdmin])
      expect(canReadGroup(actor, state)).toBe(false);
    expect(canReadGroup(member, fold(groupDecider, []))).toBe(false);
    expect(canReadGroup(member, state, { organisationId: 'org-b' })).toBe(false);
    const inactive = fold(groupDecider, [...existing, memberChanged('u1', 'member', 'inactive')]);
    expect(canReadGroup(member, inactive)).toBe(true);
  });

  it('lets anyone list their own groups, org admins their organisation’s, system admins all', () => {
    expect(groupListScope(member, { memberId: 'u1' })).toEqual({ memberId: 'u1' });
    expect(groupListScope(orgAdmin, {})).toEqual({ organisationId: ORG });
    expect(groupListScope(orgAdmin, { memberId: 'u1' })).toEqual({
      memberId: 'u1',
      organisationId: ORG,
    });
    expect(groupListScope(systemAdmin, {})).toEqual({});
    expect(groupListScope(systemAdmin, { organisationId: 'org-b' })).toEqual({
      organisationId: 'org-b',
    });
  });

  it('refuses other lists (GROUP_LIST_FORBIDDEN)', () => {
    for (const [actor, filter] of [
      [member, {}],
      [member, { memberId: 'u2' }],
      [member, { memberId: 'u1', profile: true }],
      [orgAdmin, { organisationId: 'org-b' }],
    ] as const) {
      const { profile, ...rest } = { profile: false, ...filter };
      expect(() =>
        groupListScope(actor, rest, profile ? { organisationId: 'org-b' } : null),
      ).toThrow(expect.objectContaining({ kind: 'forbidden', code: 'GROUP_LIST_FORBIDDEN' }));
    }
  });
});
