import { Inject, Injectable } from '@nestjs/common';
import { readUserProfiles } from '../../projections/users/users.query';
import { HUB_CONFIG, HubConfig, LmsConfig } from '../config/hub-config';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { UserProfiles } from '../users/users.lookups';
import { LmsLearner } from './lms-backend';

/** Who a hub user is in an LMS: the configured profile field is their username. */
@Injectable()
export class LmsLearners {
  private readonly field: LmsConfig['usernameField'];

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(HUB_CONFIG) config: HubConfig,
    private readonly profiles: UserProfiles,
  ) {
    this.field = config.lms.usernameField;
  }

  get usernameField(): LmsConfig['usernameField'] {
    return this.field;
  }

  /**
   * The learner, or null without a username: no profile, no such field, or erased (the hub no
   * longer knows who they are, so it cannot name them to an LMS either).
   */
  async learnerOf(userId: string): Promise<LmsLearner | null> {
    return (await this.learnersOf([userId])).get(userId) ?? null;
  }

  /** The same for many (a page of a reconcile): one read of their profiles and of their keys. */
  async learnersOf(userIds: readonly string[]): Promise<Map<string, LmsLearner>> {
    const field = this.field;
    if (field === 'userId')
      return new Map(
        userIds.map((userId) => [
          userId,
          { username: userId, email: null, firstName: null, lastName: null },
        ]),
      );
    const profiles = await readUserProfiles(this.db, userIds);
    const personal = await this.profiles.personalDataOf([...profiles.values()]);
    const learners = new Map<string, LmsLearner>();
    for (const [userId, data] of personal) {
      const username = data[field];
      if (!username) continue;
      const [firstName, ...rest] = (data.name ?? '').trim().split(/\s+/);
      learners.set(userId, {
        username,
        email: data.email,
        firstName: firstName || null,
        lastName: rest.length > 0 ? rest.join(' ') : null,
      });
    }
    return learners;
  }
}
