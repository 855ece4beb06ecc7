import { SqlExecutor } from '../../src/database/sql-database';

export interface GroupSummary {
  groupId: string;
  organisationId: string;
  name: string;
  description: string | null;
  memberCount: number;
  activityCount: number;
  updatedAt: Date;
}

interface GroupRow {
  group_id: string;
  organisation_id: string;
  name: string;
  description: string | null;
  member_count: number;
  activity_count: number;
  updated_at: Date | string;
  [column: string]: unknown;
}

const toSummary = (row: GroupRow): GroupSummary => ({
  groupId: row.group_id,
  organisationId: row.organisation_id,
  name: row.name,
  description: row.description,
  memberCount: Number(row.member_count),
  activityCount: Number(row.activity_count),
  updatedAt: new Date(row.updated_at),
});

export interface GroupFilter {
  organisationId?: string;
  /** Only groups this user is a member of (any role or status). */
  memberId?: string;
  /** The last group id of the previous page. */
  after?: string;
  limit: number;
}

/** Groups in group-id order, filtered by organisation and member. */
export const listGroups = async (db: SqlExecutor, filter: GroupFilter): Promise<GroupSummary[]> => {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.organisationId !== undefined)
    add((p) => `g.organisation_id = ${p}`, filter.organisationId);
  if (filter.memberId !== undefined)
    add(
      (p) =>
        `EXISTS (SELECT 1 FROM group_activity_members m
                  WHERE m.group_id = g.group_id AND m.user_id = ${p})`,
      filter.memberId,
    );
  if (filter.after !== undefined) add((p) => `g.group_id > ${p}`, filter.after);
  params.push(filter.limit);
  const { rows } = await db.query<GroupRow>(
    `SELECT g.* FROM group_activity_groups g
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY g.group_id LIMIT $${params.length}`,
    params,
  );
  return rows.map(toSummary);
};
