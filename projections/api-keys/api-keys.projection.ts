import { API_KEY_STREAM_PREFIX, ApiKeyEvent } from '../../src/api-keys/api-key.events';
import { defineProjection } from '../engine/projection';
import { API_KEYS_READ_MODEL } from './api-keys.query';

const schema = `
CREATE TABLE IF NOT EXISTS api_keys (
  key_id text PRIMARY KEY,
  principal_id text NOT NULL,
  organisation_id text NOT NULL,
  roles text[] NOT NULL,
  label text NOT NULL,
  issued_by text NOT NULL,
  issued_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_by text,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_organisation ON api_keys (organisation_id, key_id);
`;

/** The list of API keys admins see. Secrets' hashes are not copied here: they stay in the events. */
export const apiKeysProjection = defineProjection<ApiKeyEvent>({
  name: API_KEYS_READ_MODEL,
  version: 1,
  schema,
  tables: ['api_keys'],
  streamNamePrefixes: [API_KEY_STREAM_PREFIX],
  handlers: {
    ApiKeyIssued: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `INSERT INTO api_keys (key_id, principal_id, organisation_id, roles, label, issued_by, issued_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key_id) DO NOTHING`,
        [
          data.keyId,
          data.principalId,
          data.organisationId,
          data.roles,
          data.label,
          data.issuedBy,
          data.issuedAt,
          revision.toString(),
        ],
      );
    },
    ApiKeyRevoked: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `UPDATE api_keys SET revoked_at = $2, revoked_by = $3, revision = $4
          WHERE key_id = $1 AND revision < $4`,
        [data.keyId, data.revokedAt, data.revokedBy, revision.toString()],
      );
    },
  },
});
