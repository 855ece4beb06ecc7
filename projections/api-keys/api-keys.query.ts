import { Actor, isSystemAdmin, Role } from '../../src/auth/principal';
import { SqlExecutor } from '../../src/database/sql-database';

export const API_KEYS_READ_MODEL = 'api-keys';

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
