import { CONSENT_STREAM_PREFIX, ConsentEvent } from '../../src/consents/consent.events';
import { defineProjection } from '../engine/projection';
import { CONSENTS_READ_MODEL } from './consents.query';

const schema = `
CREATE TABLE IF NOT EXISTS user_consents (
  user_id text NOT NULL,
  course_id text NOT NULL,
  consumer_organisation_id text NOT NULL,
  status text NOT NULL,
  granted_at timestamptz,
  -- When the current grant was revoked: cleared by a new grant (the events keep the history).
  revoked_at timestamptz,
  updated_at timestamptz NOT NULL,
  -- The revision of the user's consent stream last applied to this row.
  revision bigint NOT NULL,
  PRIMARY KEY (user_id, course_id, consumer_organisation_id)
);
CREATE INDEX IF NOT EXISTS user_consents_course
  ON user_consents (course_id, consumer_organisation_id, user_id);
`;

export const consentsProjection = defineProjection<ConsentEvent>({
  name: CONSENTS_READ_MODEL,
  version: 1,
  schema,
  tables: ['user_consents'],
  streamNamePrefixes: [CONSENT_STREAM_PREFIX],
  handlers: {
    // Upserts guarded by the stream revision: a redelivered or older event changes nothing.
    ConsentGranted: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `INSERT INTO user_consents (user_id, course_id, consumer_organisation_id, status,
           granted_at, revoked_at, updated_at, revision)
         VALUES ($1, $2, $3, 'granted', $4, NULL, $4, $5)
         ON CONFLICT (user_id, course_id, consumer_organisation_id) DO UPDATE
           SET status = 'granted', granted_at = $4, revoked_at = NULL, updated_at = $4, revision = $5
         WHERE user_consents.revision < $5`,
        [
          data.userId,
          data.courseId,
          data.consumerOrganisationId,
          data.grantedAt,
          revision.toString(),
        ],
      );
    },
    ConsentRevoked: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `INSERT INTO user_consents (user_id, course_id, consumer_organisation_id, status,
           granted_at, revoked_at, updated_at, revision)
         VALUES ($1, $2, $3, 'revoked', NULL, $4, $4, $5)
         ON CONFLICT (user_id, course_id, consumer_organisation_id) DO UPDATE
           SET status = 'revoked', revoked_at = $4, updated_at = $4, revision = $5
         WHERE user_consents.revision < $5`,
        [
          data.userId,
          data.courseId,
          data.consumerOrganisationId,
          data.revokedAt,
          revision.toString(),
        ],
      );
    },
  },
});
