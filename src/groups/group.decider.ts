import { Actor, isAdminOf, isSameUser, isSystemAdmin } from '../auth/principal';
import {
  ConflictError,
  FieldIssue,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  RuleViolatedError,
} from '../errors/hub-error';
import { Decider } from '../event-sourcing/decider';
import { GroupEvent, GroupMemberRole, GroupMemberStatus } from './group.events';
import { ImmutableMap } from './immutable-map';

/** At most this many members and activities in one group (a snapshot, or one at a time). */
export const MAX_GROUP_MEMBERS = 10_000;
export const MAX_GROUP_ACTIVITIES = 1_000;

export const GROUP_MEMBER_ROLES: readonly GroupMemberRole[] = ['admin', 'member'];
export const GROUP_MEMBER_STATUSES: readonly GroupMemberStatus[] = ['active', 'inactive'];

export interface GroupMembership {
  role: GroupMemberRole;
  status: GroupMemberStatus;
}

export interface GroupState {
  exists: boolean;
  groupId: string;
  organisationId: string;
  name: string;
  description: string | null;
  /** userId → role and status. */
  members: ReadonlyMap<string, GroupMembership>;
  /** activityId → activityType. */
  activities: ReadonlyMap<string, string>;
}

interface GroupCommandBase {
  groupId: string;
  actor: Actor;
  /** The organisation of the actor's profile, when the hub has one (see isSameUser). */
  actorProfile?: { organisationId: string } | null;
  now: Date;
}

export interface GroupSnapshotMember {
  userId: string;
  role: GroupMemberRole;
  status: GroupMemberStatus;
}

export interface GroupSnapshotActivity {
  activityId: string;
  activityType: string;
}

/** The whole group as the caller wants it: created, or changed to match it. */
export type PutGroupSnapshot = GroupCommandBase & {
  type: 'PutGroupSnapshot';
  /** Null when the request named none: the group's own, or for a new group the actor's. */
  organisationId: string | null;
  name: string;
  description: string | null;
  members: readonly GroupSnapshotMember[];
  activities: readonly GroupSnapshotActivity[];
};

export type AddGroupMember = GroupCommandBase & {
  type: 'AddGroupMember';
  userId: string;
  role: GroupMemberRole;
  status: GroupMemberStatus;
};

export type RemoveGroupMember = GroupCommandBase & { type: 'RemoveGroupMember'; userId: string };

export type AddGroupActivity = GroupCommandBase & {
  type: 'AddGroupActivity';
  activityId: string;
  activityType: string;
};

export type RemoveGroupActivity = GroupCommandBase & {
  type: 'RemoveGroupActivity';
  activityId: string;
};

export type GroupCommand =
  PutGroupSnapshot | AddGroupMember | RemoveGroupMember | AddGroupActivity | RemoveGroupActivity;

export const groupNotFound = (groupId: string) =>
  new NotFoundError('GROUP_NOT_FOUND', `Group ${groupId} not found`, { groupId });

const writeForbidden = (groupId: string, what: string) =>
  new ForbiddenError(
    'GROUP_WRITE_FORBIDDEN',
    `Only admins of the group's organisation ${what} of group ${groupId}`,
    { groupId },
  );

/** A member of the group with the admin role, active. */
export const isGroupAdmin = (
  actor: Actor,
  state: GroupState,
  actorProfile?: { organisationId: string } | null,
): boolean => {
  const membership = state.members.get(actor.userId);
  return (
    membership?.role === 'admin' &&
    membership.status === 'active' &&
    isSameUser(actor, actor.userId, actorProfile)
  );
};

/**
 * Who may see a group: system admins, admins of its organisation and its members (whatever
 * their role or status). Everyone else is answered as if it did not exist.
 */
export const canReadGroup = (
  actor: Actor,
  state: GroupState,
  actorProfile?: { organisationId: string } | null,
): boolean =>
  state.exists &&
  (isAdminOf(actor, state.organisationId) ||
    (state.members.has(actor.userId) && isSameUser(actor, actor.userId, actorProfile)));

/** The group a fine-grained command is about; GROUP_NOT_FOUND for whoever may not see it. */
const existingGroup = (command: GroupCommandBase, state: GroupState): GroupState => {
  if (!canReadGroup(command.actor, state, command.actorProfile))
    throw groupNotFound(command.groupId);
  return state;
};

const assertMayManageMembers = (command: GroupCommandBase, state: GroupState): void => {
  if (isAdminOf(command.actor, state.organisationId)) return;
  if (isGroupAdmin(command.actor, state, command.actorProfile)) return;
  throw writeForbidden(command.groupId, 'and the group’s admins change the members');
};

const assertMayManageGroup = (command: GroupCommandBase, state: GroupState, what: string) => {
  if (!isAdminOf(command.actor, state.organisationId)) throw writeForbidden(command.groupId, what);
};

const limitReached = (groupId: string, what: 'members' | 'activities', limit: number) =>
  new RuleViolatedError(
    'GROUP_LIMIT_REACHED',
    `Group ${groupId} already has ${limit.toLocaleString('en')} ${what}, the most a group may have`,
    { groupId, limit },
  );

const duplicates = (
  ids: readonly string[],
  pointer: (index: number) => string,
  what: string,
): FieldIssue[] => {
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  ids.forEach((id, index) => {
    if (seen.has(id)) issues.push({ field: pointer(index), message: `${what} ${id} is repeated` });
    seen.add(id);
  });
  return issues;
};

const validateSnapshot = (command: PutGroupSnapshot): void => {
  const issues = [
    ...duplicates(
      command.members.map((member) => member.userId),
      (index) => `members.${index}.userId`,
      'userId',
    ),
    ...duplicates(
      command.activities.map((activity) => activity.activityId),
      (index) => `activities.${index}.activityId`,
      'activityId',
    ),
  ];
  if (issues.length > 0)
    throw new InvalidInputError(
      'A group snapshot names each member and each activity once',
      issues.slice(0, 100),
      'GROUP_SNAPSHOT_DUPLICATE',
    );
  if (command.members.length > MAX_GROUP_MEMBERS)
    throw limitReached(command.groupId, 'members', MAX_GROUP_MEMBERS);
  if (command.activities.length > MAX_GROUP_ACTIVITIES)
    throw limitReached(command.groupId, 'activities', MAX_GROUP_ACTIVITIES);
};

const stamp = (command: GroupCommandBase) => ({
  by: command.actor.userId,
  at: command.now.toISOString(),
});

const memberAdded = (command: GroupCommandBase, member: GroupSnapshotMember): GroupEvent => ({
  type: 'GroupMemberAdded',
  data: {
    groupId: command.groupId,
    userId: member.userId,
    role: member.role,
    status: member.status,
    addedBy: stamp(command).by,
    addedAt: stamp(command).at,
  },
});

const memberChanged = (command: GroupCommandBase, member: GroupSnapshotMember): GroupEvent => ({
  type: 'GroupMemberChanged',
  data: {
    groupId: command.groupId,
    userId: member.userId,
    role: member.role,
    status: member.status,
    changedBy: stamp(command).by,
    changedAt: stamp(command).at,
  },
});

const memberRemoved = (command: GroupCommandBase, userId: string): GroupEvent => ({
  type: 'GroupMemberRemoved',
  data: {
    groupId: command.groupId,
    userId,
    removedBy: stamp(command).by,
    removedAt: stamp(command).at,
  },
});

const activityAdded = (command: GroupCommandBase, activity: GroupSnapshotActivity): GroupEvent => ({
  type: 'GroupActivityAdded',
  data: {
    groupId: command.groupId,
    activityId: activity.activityId,
    activityType: activity.activityType,
    addedBy: stamp(command).by,
    addedAt: stamp(command).at,
  },
});

const activityRemoved = (command: GroupCommandBase, activityId: string): GroupEvent => ({
  type: 'GroupActivityRemoved',
  data: {
    groupId: command.groupId,
    activityId,
    removedBy: stamp(command).by,
    removedAt: stamp(command).at,
  },
});

/** The member's events: added, changed (role or status differs), or none. */
const memberEvents = (
  command: GroupCommandBase,
  state: GroupState,
  member: GroupSnapshotMember,
): GroupEvent[] => {
  const current = state.members.get(member.userId);
  if (!current) return [memberAdded(command, member)];
  if (current.role === member.role && current.status === member.status) return [];
  return [memberChanged(command, member)];
};

/**
 * The activity's events: added, none when it is there with that type, or, when it is there
 * with another type, removed and added again (an activity id names one activity of one type;
 * the read side sees a replacement, not an edit).
 */
const activityEvents = (
  command: GroupCommandBase,
  state: GroupState,
  activity: GroupSnapshotActivity,
): GroupEvent[] => {
  const current = state.activities.get(activity.activityId);
  if (current === undefined) return [activityAdded(command, activity)];
  if (current === activity.activityType) return [];
  return [activityRemoved(command, activity.activityId), activityAdded(command, activity)];
};

const putSnapshot = (command: PutGroupSnapshot, state: GroupState): GroupEvent[] => {
  const { actor, groupId } = command;
  if (!state.exists) {
    if (command.organisationId === null && isSystemAdmin(actor))
      throw new InvalidInputError(
        'A system admin names the organisation of a new group',
        [{ field: 'organisationId', message: 'is required for a new group' }],
        'GROUP_ORGANISATION_REQUIRED',
      );
    const organisationId = command.organisationId ?? actor.organisationId;
    if (!isAdminOf(actor, organisationId)) throw writeForbidden(groupId, 'create groups');
    validateSnapshot(command);
    const { by, at } = stamp(command);
    return [
      {
        type: 'GroupCreated',
        data: {
          groupId,
          organisationId,
          name: command.name,
          description: command.description,
          createdBy: by,
          createdAt: at,
        },
      },
      ...command.members.map((member) => memberAdded(command, member)),
      ...command.activities.map((activity) => activityAdded(command, activity)),
    ];
  }
  assertMayManageGroup(command, state, 'replace the snapshot');
  if (command.organisationId !== null && command.organisationId !== state.organisationId)
    throw new ConflictError(
      'GROUP_ORGANISATION_IMMUTABLE',
      `Group ${groupId} belongs to ${state.organisationId}; a group cannot move to another organisation`,
      { groupId, organisationId: state.organisationId },
    );
  validateSnapshot(command);
  const events: GroupEvent[] = [];
  if (command.name !== state.name || command.description !== state.description) {
    const { by, at } = stamp(command);
    events.push({
      type: 'GroupDetailsChanged',
      data: {
        groupId,
        name: command.name,
        description: command.description,
        changedBy: by,
        changedAt: at,
      },
    });
  }
  const wantedMembers = new Set(command.members.map((member) => member.userId));
  for (const userId of state.members.keys())
    if (!wantedMembers.has(userId)) events.push(memberRemoved(command, userId));
  for (const member of command.members) events.push(...memberEvents(command, state, member));
  const wantedActivities = new Set(command.activities.map((activity) => activity.activityId));
  for (const activityId of state.activities.keys())
    if (!wantedActivities.has(activityId)) events.push(activityRemoved(command, activityId));
  for (const activity of command.activities)
    events.push(...activityEvents(command, state, activity));
  return events;
};

const addMember = (command: AddGroupMember, state: GroupState): GroupEvent[] => {
  assertMayManageMembers(command, existingGroup(command, state));
  if (!state.members.has(command.userId) && state.members.size >= MAX_GROUP_MEMBERS)
    throw limitReached(command.groupId, 'members', MAX_GROUP_MEMBERS);
  return memberEvents(command, state, command);
};

const removeMember = (command: RemoveGroupMember, state: GroupState): GroupEvent[] => {
  assertMayManageMembers(command, existingGroup(command, state));
  if (!state.members.has(command.userId))
    throw new NotFoundError(
      'GROUP_MEMBER_NOT_FOUND',
      `${command.userId} is not a member of group ${command.groupId}`,
      { groupId: command.groupId, userId: command.userId },
    );
  return [memberRemoved(command, command.userId)];
};

const addActivity = (command: AddGroupActivity, state: GroupState): GroupEvent[] => {
  assertMayManageGroup(command, existingGroup(command, state), 'change the activities');
  if (!state.activities.has(command.activityId) && state.activities.size >= MAX_GROUP_ACTIVITIES)
    throw limitReached(command.groupId, 'activities', MAX_GROUP_ACTIVITIES);
  return activityEvents(command, state, command);
};

const removeActivity = (command: RemoveGroupActivity, state: GroupState): GroupEvent[] => {
  assertMayManageGroup(command, existingGroup(command, state), 'change the activities');
  if (!state.activities.has(command.activityId))
    throw new NotFoundError(
      'GROUP_ACTIVITY_NOT_FOUND',
      `${command.activityId} is not an activity of group ${command.groupId}`,
      { groupId: command.groupId, activityId: command.activityId },
    );
  return [activityRemoved(command, command.activityId)];
};

const asImmutable = <K, V>(map: ReadonlyMap<K, V>): ImmutableMap<K, V> =>
  map instanceof ImmutableMap ? (map as ImmutableMap<K, V>) : ImmutableMap.of(map);

export const groupDecider: Decider<GroupCommand, GroupEvent, GroupState> = {
  initialState: () => ({
    exists: false,
    groupId: '',
    organisationId: '',
    name: '',
    description: null,
    members: ImmutableMap.empty(),
    activities: ImmutableMap.empty(),
  }),

  decide: (command, state) => {
    switch (command.type) {
      case 'PutGroupSnapshot':
        return putSnapshot(command, state);
      case 'AddGroupMember':
        return addMember(command, state);
      case 'RemoveGroupMember':
        return removeMember(command, state);
      case 'AddGroupActivity':
        return addActivity(command, state);
      case 'RemoveGroupActivity':
        return removeActivity(command, state);
      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  },

  evolve: (state, event) => {
    switch (event.type) {
      case 'GroupCreated':
        return {
          ...state,
          exists: true,
          groupId: event.data.groupId,
          organisationId: event.data.organisationId,
          name: event.data.name,
          description: event.data.description,
        };
      case 'GroupDetailsChanged':
        return { ...state, name: event.data.name, description: event.data.description };
      case 'GroupMemberAdded':
      case 'GroupMemberChanged':
        return {
          ...state,
          members: asImmutable(state.members).set(event.data.userId, {
            role: event.data.role,
            status: event.data.status,
          }),
        };
      case 'GroupMemberRemoved':
        return { ...state, members: asImmutable(state.members).delete(event.data.userId) };
      case 'GroupActivityAdded':
        return {
          ...state,
          activities: asImmutable(state.activities).set(
            event.data.activityId,
            event.data.activityType,
          ),
        };
      case 'GroupActivityRemoved':
        return {
          ...state,
          activities: asImmutable(state.activities).delete(event.data.activityId),
        };
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};

/**
 * Which groups a list may show: a system admin any (as filtered); anyone listing the groups
 * they are a member of, theirs; an organisation admin their organisation's. Anyone else is
 * refused (GROUP_LIST_FORBIDDEN), as is an organisation admin naming another organisation.
 */
export const groupListScope = (
  actor: Actor,
  filter: { memberId?: string; organisationId?: string },
  actorProfile?: { organisationId: string } | null,
): { memberId?: string; organisationId?: string } => {
  if (isSystemAdmin(actor)) return filter;
  if (filter.memberId !== undefined && isSameUser(actor, filter.memberId, actorProfile))
    return filter;
  if (
    isAdminOf(actor, actor.organisationId) &&
    (filter.organisationId === undefined || filter.organisationId === actor.organisationId)
  )
    return { ...filter, organisationId: actor.organisationId };
  throw new ForbiddenError(
    'GROUP_LIST_FORBIDDEN',
    'List the groups you are a member of (member=<your id>); only admins list an organisation’s groups',
  );
};
