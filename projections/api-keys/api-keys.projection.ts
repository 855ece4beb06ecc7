import { Actor, isSystemAdmin, Role } from '../../src/auth/principal';
import { SqlExecutor } from '../../src/database/sql-database';
import { API_KEY_STREAM_PREFIX, ApiKeyEvent } from '../../src/api-keys/api-key.events';
import { defineProjection } from '../engine/projection';

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
  name: 'api-keys',
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

export interface ApiKeyRecord {
  keyId: string;
  principalId: string;
  organisationId: string;
  roles: Role[];
  label: string;
  issuedBy: string;
  issuedAt: string;
  revokedAt: string | null;
}

interface Row {
  key_id: string;
  principal_id: string;
  organisation_id: string;
  roles: Role[];
  label: string;
  issued_by: string;
  issued_at: Date | string;
  revoked_at: Date | string | null;
  [column: string]: unknown;
}

/** Keys of the viewer's organisation (every key for a system admin), oldest first. */
export const listApiKeys = async (
  db: SqlExecutor,
  viewer: Actor,
  options: { includeRevoked: boolean; after?: string; limit: number },
): Promise<ApiKeyRecord[]> => {
  const params: unknown[] = [options.after ?? '', options.limit];
  let where = 'key_id > $1';
  if (!isSystemAdmin(viewer)) {
    params.push(viewer.organisationId);
    where += ` AND organisation_id = $${params.length}`;
  }
  if (!options.includeRevoked) where += ' AND revoked_at IS NULL';
  const { rows } = await db.query<Row>(
    `SELECT * FROM api_keys WHERE ${where} ORDER BY key_id LIMIT $2`,
    params,
  );
  return rows.map((row) => ({
    keyId: row.key_id,
    principalId: row.principal_id,
    organisationId: row.organisation_id,
    roles: row.roles,
    label: row.label,
    issuedBy: row.issued_by,
    issuedAt: new Date(row.issued_at).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  }));
};
