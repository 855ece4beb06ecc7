import { UserProfileRow } from '../../projections/users/users.projection';
import { PersonalDataVault } from './personal-data-vault';
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
