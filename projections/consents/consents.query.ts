import { SqlExecutor } from '../../src/database/sql-database';

export const CONSENTS_READ_MODEL = 'consents';

export type ConsentStatus = 'granted' | 'revoked';

export interface ConsentRecord {
  userId: string;
  courseId: string;
  consumerOrganisationId: string;
  status: ConsentStatus;
  grantedAt: Date | null;
  revokedAt: Date | null;
  updatedAt: Date;
  revision: bigint;
}

interface Row {
  user_id: string;
  course_id: string;
  consumer_organisation_id: string;
  status: string;
  granted_at: Date | string | null;
  revoked_at: Date | string | null;
  updated_at: Date | string;
  revision: string | number;
  [column: string]: unknown;
}

const toDate = (value: Date | string | null): Date | null =>
  value === null ? null : new Date(value);

const toRecord = (row: Row): ConsentRecord => ({
  userId: row.user_id,
  courseId: row.course_id,
  consumerOrganisationId: row.consumer_organisation_id,
  status: row.status === 'granted' ? 'granted' : 'revoked',
  grantedAt: toDate(row.granted_at),
  revokedAt: toDate(row.revoked_at),
  updatedAt: new Date(row.updated_at),
  revision: BigInt(row.revision),
});

/**
 * A user's consents, granted and revoked, by course then consumer organisation. Authorisation
 * is the caller's: `consumerOrganisationId` narrows the list to what one organisation may see.
 */
export const listConsents = async (
  db: SqlExecutor,
  userId: string,
  filter: { consumerOrganisationId?: string } = {},
): Promise<ConsentRecord[]> => {
  const params: unknown[] = [userId];
  let where = 'user_id = $1';
  if (filter.consumerOrganisationId !== undefined) {
    params.push(filter.consumerOrganisationId);
    where += ' AND consumer_organisation_id = $2';
  }
  const { rows } = await db.query<Row>(
    `SELECT * FROM user_consents WHERE ${where} ORDER BY course_id, consumer_organisation_id`,
    params,
  );
  return rows.map(toRecord);
};

/**
 * Of `userIds`, those whose consent for `consumerOrganisationId` to see their personal data in
 * `courseId` is currently granted, each with when it was granted. Reports show personal data
 * only for these users; everyone else stays anonymous.
 */
export const activeConsents = async (
  db: SqlExecutor,
  courseId: string,
  consumerOrganisationId: string,
  userIds: readonly string[],
): Promise<Map<string, Date>> => {
  const granted = new Map<string, Date>();
  if (userIds.length === 0) return granted;
  const { rows } = await db.query<{
    user_id: string;
    granted_at: Date | string;
    [c: string]: unknown;
  }>(
    `SELECT user_id, granted_at FROM user_consents
      WHERE course_id = $1 AND consumer_organisation_id = $2 AND status = 'granted'
        AND granted_at IS NOT NULL AND user_id = ANY($3::text[])`,
    [courseId, consumerOrganisationId, [...new Set(userIds)]],
  );
  for (const row of rows) granted.set(row.user_id, new Date(row.granted_at));
  return granted;
};
