import { UserProfileRow } from '../../projections/users/users.query';
import { Injectable } from '@nestjs/common';
import { loadState } from '../event-sourcing/command-handler';
import { EventStore } from '../event-store/event-store.port';
import { PersonalData, PersonalDataVault } from './personal-data-vault';
import { userDecider } from './user.decider';
import { userStream } from './user.events';
import { UserProfileView } from './users.dto';

/** A profile as the API shows it, its personal data opened (blank once erased). */
export const profileView = async (
  row: UserProfileRow,
  vault: PersonalDataVault,
): Promise<UserProfileView> => {
  const personal = await vault.open(row.userId, row.personal);
  return {
    userId: row.userId,
    organisationId: row.organisationId,
    ...personal,
    ...row.attributes,
    personalDataErasedAt: row.personalErasedAt?.toISOString() ?? null,
    recordedAt: row.recordedAt.toISOString(),
  };
};

/** Profiles as other slices may show them: personal data opened only through the vault. */
@Injectable()
export class UserProfiles {
  constructor(private readonly vault: PersonalDataVault) {}

  view(row: UserProfileRow): Promise<UserProfileView> {
    return profileView(row, this.vault);
  }

  /** The personal data of many profiles, by user id, with one read of their keys. */
  personalDataOf(rows: readonly UserProfileRow[]): Promise<Map<string, PersonalData>> {
    return this.vault.openMany(rows.map((row) => ({ userId: row.userId, sealed: row.personal })));
  }
}

/** The organisation of a user the hub has a profile for, read from their stream; null if none. */
export const userProfileOrganisation = async (
  store: EventStore,
  userId: string,
): Promise<{ organisationId: string } | null> => {
  const { state } = await loadState(store, userStream(userId), userDecider);
  return state.exists ? { organisationId: state.organisationId } : null;
};
