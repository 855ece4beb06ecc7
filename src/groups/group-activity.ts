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
  readGroupAccess,
} from '../../projections/group-activity/group-activity.query';
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

/** Views kept per instance: a dashboard's pages and aggregates for the groups in use. */
const MAX_CACHED_VIEWS = 2_000;
/** See `GroupActivityReader.cached`: both well inside "visible within a second". */
const FRESH_MS = 200;
const STALE_MS = 800;

interface KeptView<T> {
  value: T;
  /** Where the activity had last changed when the view was made. */
  changedAt: string | null;
  madeAt: number;
}

/** An activity the viewer may see, and whose view of it they get (`*`: an admin's). */
export interface OpenedActivity {
  activity: GroupActivity;
  viewer: string;
}

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
  /** Oldest first: a view read again moves to the end, and the first goes when it is full. */
  private readonly views = new Map<string, KeptView<unknown>>();
  private readonly computing = new Map<string, Promise<KeptView<unknown>>>();

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
  ): Promise<OpenedActivity> {
    const access = await readGroupAccess(this.db, groupId, activityId, actor.userId);
    const asMember =
      access !== null && access.isMember && actor.organisationId === access.organisationId;
    if (access === null || !(isAdminOf(actor, access.organisationId) || asMember))
      throw groupNotFound(groupId);
    const { activity } = access;
    const typeDiffers =
      activityType !== undefined &&
      activityType.toLowerCase() !== activity?.activityType.toLowerCase();
    if (activity === null || typeDiffers) throw activityNotFound(groupId, activityId);
    // Names differ by viewer only in that members see their own: admins share one view.
    return { activity, viewer: isAdminOf(actor, access.organisationId) ? '*' : actor.userId };
  }

  /**
   * The view `compute` makes for this activity and key, kept and shared. A kept view is served
   * while the activity has not changed since it was made. Once it has, a view younger than
   * `FRESH_MS` is still served as it is, and one younger than `STALE_MS` is served while a new
   * one is made in the background; an older one is waited for. So a group whose members progress
   * every millisecond is recomputed a few times a second, reads do not queue behind it, and what
   * they show is at most `STALE_MS` behind the read model.
   */
  async cached<T>(
    opened: OpenedActivity,
    key: string,
    compute: () => Promise<T>,
  ): Promise<{ value: T; changedAt: string | null }> {
    const { activity, viewer } = opened;
    const cacheKey = `${activity.groupId}|${activity.activityId}|${viewer}|${key}`;
    const kept = this.views.get(cacheKey) as KeptView<T> | undefined;
    const age = kept === undefined ? Number.POSITIVE_INFINITY : Date.now() - kept.madeAt;
    if (kept !== undefined) {
      this.views.delete(cacheKey);
      this.views.set(cacheKey, kept);
    }
    if (kept !== undefined && (kept.changedAt === activity.changedAt || age < FRESH_MS))
      return kept;
    const making = this.make(cacheKey, activity.changedAt, compute);
    if (kept !== undefined && age < STALE_MS) {
      making.catch(() => undefined);
      return kept;
    }
    return making;
  }

  /** Makes the view once however many reads ask for it meanwhile, and keeps it. */
  private make<T>(
    cacheKey: string,
    changedAt: string | null,
    compute: () => Promise<T>,
  ): Promise<KeptView<T>> {
    const running = this.computing.get(cacheKey) as Promise<KeptView<T>> | undefined;
    if (running !== undefined) return running;
    const madeAt = Date.now();
    const made = (async () => {
      const view: KeptView<T> = { value: await compute(), changedAt, madeAt };
      this.views.delete(cacheKey);
      if (this.views.size >= MAX_CACHED_VIEWS) this.views.delete(this.views.keys().next().value!);
      this.views.set(cacheKey, view);
      return view;
    })().finally(() => this.computing.delete(cacheKey));
    this.computing.set(cacheKey, made);
    return made;
  }

  aggregates(activity: GroupActivity): Promise<GroupActivityAggregates> {
    return groupActivityAggregates(this.db, activity.groupId, activity.activityId);
  }

  async members(
    { activity, viewer }: OpenedActivity,
    page: { sort: MemberSort; after?: MemberCursor; limit: number },
  ): Promise<{ members: NamedMember[]; next: MemberCursor | null }> {
    const listed = await listGroupActivityMembers(
      this.db,
      activity.groupId,
      activity.activityId,
      page,
    );
    const names = await this.namesOf(
      viewer,
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

  /**
   * Names are personal data: shown where the member consented to the group's organisation seeing
   * it for this course, and to the member themself (`viewer`); blank once erased, whatever else
   * holds.
   */
  private async namesOf(
    viewer: string,
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
          (profile.userId === viewer && profile.organisationId === activity.organisationId)),
    );
    const opened = await this.profiles.personalDataOf(shown);
    return new Map([...opened].map(([userId, data]) => [userId, data.name]));
  }
}
