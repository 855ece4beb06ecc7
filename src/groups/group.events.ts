import { DomainEvent } from '../event-sourcing/decider';

/** One stream per group: its details, members and activities are ordered among themselves. */
export const GROUP_STREAM_PREFIX = 'group-';
export const groupStream = (groupId: string): string => `${GROUP_STREAM_PREFIX}${groupId}`;

export type GroupMemberRole = 'admin' | 'member';
export type GroupMemberStatus = 'active' | 'inactive';

export type GroupCreated = DomainEvent<
  'GroupCreated',
  {
    groupId: string;
    organisationId: string;
    name: string;
    description: string | null;
    createdBy: string;
    createdAt: string;
  }
>;

/** Name or description changed (a snapshot that differs, or an edit). */
export type GroupDetailsChanged = DomainEvent<
  'GroupDetailsChanged',
  {
    groupId: string;
    name: string;
    description: string | null;
    changedBy: string;
    changedAt: string;
  }
>;

export type GroupMemberAdded = DomainEvent<
  'GroupMemberAdded',
  {
    groupId: string;
    userId: string;
    role: GroupMemberRole;
    status: GroupMemberStatus;
    addedBy: string;
    addedAt: string;
  }
>;

/** A member's role or status changed. */
export type GroupMemberChanged = DomainEvent<
  'GroupMemberChanged',
  {
    groupId: string;
    userId: string;
    role: GroupMemberRole;
    status: GroupMemberStatus;
    changedBy: string;
    changedAt: string;
  }
>;

export type GroupMemberRemoved = DomainEvent<
  'GroupMemberRemoved',
  { groupId: string; userId: string; removedBy: string; removedAt: string }
>;

/** An activity of the group: a course (`activityType` as the groups service names it). */
export type GroupActivityAdded = DomainEvent<
  'GroupActivityAdded',
  {
    groupId: string;
    activityId: string;
    activityType: string;
    addedBy: string;
    addedAt: string;
  }
>;

export type GroupActivityRemoved = DomainEvent<
  'GroupActivityRemoved',
  { groupId: string; activityId: string; removedBy: string; removedAt: string }
>;

export type GroupEvent =
  | GroupCreated
  | GroupDetailsChanged
  | GroupMemberAdded
  | GroupMemberChanged
  | GroupMemberRemoved
  | GroupActivityAdded
  | GroupActivityRemoved;
