import { SqlExecutor } from '../../src/database/sql-database';
import { SealedPersonalData } from '../../src/users/personal-data-vault';
import { USER_STREAM_PREFIX, UserEvent, UserProfileAttributes } from '../../src/users/user.events';
import { defineProjection } from '../engine/projection';

const schema = `
CREATE TABLE IF NOT EXISTS user_profiles (
  user_id text PRIMARY KEY,
  organisation_id text NOT NULL,
  -- Ciphertext only: it opens while the user's key exists, and to nothing after erasure.
  personal jsonb,
  attributes jsonb NOT NULL,
  personal_erased_at timestamptz,
  recorded_at timestamptz NOT NULL,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS user_profiles_organisation ON user_profiles (organisation_id, user_id);
`;

export const usersProjection = defineProjection<UserEvent>({
  name: 'users',
  version: 1,
  schema,
  tables: ['user_profiles'],
  streamNamePrefixes: [USER_STREAM_PREFIX],
  handlers: {
    UserProfileRecorded: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `INSERT INTO user_profiles (user_id, organisation_id, personal, attributes, recorded_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET organisation_id = $2, personal = $3, attributes = $4,
           recorded_at = $5, revision = $6,
           personal_erased_at = CASE WHEN $3::jsonb IS NULL THEN user_profiles.personal_erased_at END
         WHERE user_profiles.revision < $6`,
        [
          data.userId,
          data.organisationId,
          data.personal === null ? null : JSON.stringify(data.personal),
          JSON.stringify(data.attributes),
          data.recordedAt,
          revision.toString(),
        ],
      );
    },
    UserPersonalDataErased: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `UPDATE user_profiles SET personal = NULL, personal_erased_at = $2, revision = $3
          WHERE user_id = $1 AND revision < $3`,
        [data.userId, data.erasedAt, revision.toString()],
      );
    },
  },
});

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

export const readUserProfile = async (
  db: SqlExecutor,
  userId: string,
): Promise<UserProfileRow | null> => {
  const { rows } = await db.query<Row>('SELECT * FROM user_profiles WHERE user_id = $1', [userId]);
  const row = rows[0];
  if (!row) return null;
  return {
    userId: row.user_id,
    organisationId: row.organisation_id,
    personal: row.personal,
    attributes: row.attributes,
    personalErasedAt: row.personal_erased_at === null ? null : new Date(row.personal_erased_at),
    recordedAt: new Date(row.recorded_at),
    revision: BigInt(row.revision),
  };
};
