import { USER_STREAM_PREFIX, UserEvent } from '../../src/users/user.events';
import { defineProjection } from '../engine/projection';
import { USERS_READ_MODEL } from './users.query';

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
  name: USERS_READ_MODEL,
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
