import { Inject, Injectable } from '@nestjs/common';
import { activeConsents } from '../../projections/consents/consents.query';
import {
  GroupActivity,
  groupActivityAggregates,
  GroupActivityAggregates,
  GroupActivityMember,
  listGroupActivityMembers,
  MemberCursor,
  MemberSort,
  readGroupActivity,
} from '../../projections/group-activity/group-activity.query';
import {
  GroupSummary,
  isGroupMember,
  readGroupSummary,
} from '../../projections/group-activity/groups.query';
import { readUserProfiles } from '../../projections/users/users.query';
import { Actor, isAdminOf } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { NotFoundError } from '../errors/hub-error';
import { UserProfiles } from '../users/users.lookups';

export const groupNotFound = (groupId: string) =>
  new NotFoundError('GROUP_NOT_FOUND', `No group ${groupId}`, { groupId });

const activityNotFound = (groupId: string, activityId: string) =>
  new NotFoundError(
    'GROUP_ACTIVITY_NOT_FOUND',
    `Group ${groupId} has no activity ${activityId} of that type`,
    { groupId, activityId },
  );

/** A member with the name the viewer may see: null unless consent allows, and once erased. */
export interface NamedMember extends GroupActivityMember {
  name: string | null;
}

/**
 * Reads a group's activity for a viewer: who may see it (system admins, admins of the group's
 * organisation, the group's own members), its aggregates, and its members with their names.
 */
@Injectable()
export class GroupActivityReader {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly profiles: UserProfiles,
  ) {}

  /**
   * The activity, when the viewer may see the group. Another organisation's group, or one the
   * viewer is not in, is answered as unknown, so its existence does not leak.
   */
  async open(
    actor: Actor,
    groupId: string,
    activityId: string,
    activityType?: string,
  ): Promise<GroupActivity> {
    const group = await readGroupSummary(this.db, groupId);
    if (group === null || !(await this.maySee(actor, group))) throw groupNotFound(groupId);
    const activity = await readGroupActivity(this.db, groupId, activityId);
    const typeDiffers =
      activityType !== undefined &&
      activityType.toLowerCase() !== activity?.activityType.toLowerCase();
    if (activity === null || typeDiffers) throw activityNotFound(groupId, activityId);
    return activity;
  }

  aggregates(activity: GroupActivity): Promise<GroupActivityAggregates> {
    return groupActivityAggregates(this.db, activity.groupId, activity.activityId);
  }

  async members(
    actor: Actor,
    activity: GroupActivity,
    page: { sort: MemberSort; after?: MemberCursor; limit: number },
  ): Promise<{ members: NamedMember[]; next: MemberCursor | null }> {
    const listed = await listGroupActivityMembers(
      this.db,
      activity.groupId,
      activity.activityId,
      page,
    );
    const names = await this.namesOf(
      actor,
      activity,
      listed.members.map((member) => member.userId),
    );
    return {
      members: listed.members.map((member) => ({
        ...member,
        name: names.get(member.userId) ?? null,
      })),
      next: listed.next,
    };
  }

  private async maySee(actor: Actor, group: GroupSummary): Promise<boolean> {
    if (isAdminOf(actor, group.organisationId)) return true;
    return (
      actor.organisationId === group.organisationId &&
      (await isGroupMember(this.db, group.groupId, actor.userId))
    );
  }

  /**
   * Names are personal data: shown where the member consented to the group's organisation seeing
   * it for this course, and to the member themself; blank once erased, whatever else holds.
   */
  private async namesOf(
    actor: Actor,
    activity: GroupActivity,
    userIds: readonly string[],
  ): Promise<Map<string, string | null>> {
    const [profiles, consents] = await Promise.all([
      readUserProfiles(this.db, userIds),
      activeConsents(this.db, activity.activityId, activity.organisationId, userIds),
    ]);
    const shown = [...profiles.values()].filter(
      (profile) =>
        profile.personalErasedAt === null &&
        (consents.has(profile.userId) ||
          (profile.userId === actor.userId && profile.organisationId === actor.organisationId)),
    );
    const opened = await this.profiles.personalDataOf(shown);
    return new Map([...opened].map(([userId, data]) => [userId, data.name]));
  }
}
