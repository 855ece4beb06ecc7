import { Inject, Injectable } from '@nestjs/common';
import { readUserProfile } from '../../projections/users/users.query';
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
    if (this.field === 'userId')
      return { username: userId, email: null, firstName: null, lastName: null };
    const profile = await readUserProfile(this.db, userId);
    const personal = profile
      ? (await this.profiles.personalDataOf([profile])).get(userId)
      : undefined;
    const username = personal?.[this.field];
    if (!username) return null;
    const [firstName, ...rest] = (personal?.name ?? '').trim().split(/\s+/);
    return {
      username,
      email: personal?.email ?? null,
      firstName: firstName || null,
      lastName: rest.length > 0 ? rest.join(' ') : null,
    };
  }
}
