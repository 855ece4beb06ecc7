import { SqlExecutor } from '../../src/database/sql-database';
import { SealedPersonalData, UserProfileAttributes } from '../../src/users/user.events';

export const USERS_READ_MODEL = 'users';

export interface UserProfileRow {
  userId: string;
  organisationId: string;
  personal: SealedPersonalData | null;
  attributes: UserProfileAttributes;
  personalErasedAt: Date | null;
  recordedAt: Date;
  revision: bigint;
}

interface Row {
  user_id: string;
  organisation_id: string;
  personal: SealedPersonalData | null;
  attributes: UserProfileAttributes;
  personal_erased_at: Date | string | null;
  recorded_at: Date | string;
  revision: string | number;
  [column: string]: unknown;
}

const toProfileRow = (row: Row): UserProfileRow => ({
  userId: row.user_id,
  organisationId: row.organisation_id,
  personal: row.personal,
  attributes: row.attributes,
  personalErasedAt: row.personal_erased_at === null ? null : new Date(row.personal_erased_at),
  recordedAt: new Date(row.recorded_at),
  revision: BigInt(row.revision),
});

export const readUserProfile = async (
  db: SqlExecutor,
  userId: string,
): Promise<UserProfileRow | null> => {
  const { rows } = await db.query<Row>('SELECT * FROM user_profiles WHERE user_id = $1', [userId]);
  const row = rows[0];
  return row ? toProfileRow(row) : null;
};

/** The profiles of these users (one page of a report at a time); absent ones have none. */
export const readUserProfiles = async (
  db: SqlExecutor,
  userIds: readonly string[],
): Promise<Map<string, UserProfileRow>> => {
  const { rows } = await db.query<Row>(
    'SELECT * FROM user_profiles WHERE user_id = ANY($1::text[])',
    [[...new Set(userIds)]],
  );
  return new Map(rows.map((row) => [row.user_id, toProfileRow(row)]));
};

/** The organisation of each user with a profile, looked up 5,000 at a time; absent ones have none. */
export const organisationsOfUsers = async (
  db: SqlExecutor,
  userIds: readonly string[],
): Promise<Map<string, { organisationId: string }>> => {
  const found = new Map<string, { organisationId: string }>();
  const unique = [...new Set(userIds)];
  for (let from = 0; from < unique.length; from += 5_000) {
    const { rows } = await db.query<{ user_id: string; organisation_id: string }>(
      'SELECT user_id, organisation_id FROM user_profiles WHERE user_id = ANY($1::text[])',
      [unique.slice(from, from + 5_000)],
    );
    for (const row of rows) found.set(row.user_id, { organisationId: row.organisation_id });
  }
  return found;
};
