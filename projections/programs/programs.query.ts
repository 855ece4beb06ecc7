import { SqlExecutor } from '../../src/database/sql-database';

export const PROGRAMS_READ_MODEL = 'programs';

export interface ProgramRecord {
  programId: string;
  organisationId: string;
  name: string;
  description: string | null;
  registeredBy: string;
  registeredAt: Date;
  updatedAt: Date;
  revision: bigint;
}

interface ProgramRow {
  program_id: string;
  organisation_id: string;
  name: string;
  description: string | null;
  registered_by: string;
  registered_at: Date;
  updated_at: Date;
  revision: string;
  [column: string]: unknown;
}

/** Programs in id order after `after`; of one organisation unless `organisationId` is null. */
export const listPrograms = async (
  db: SqlExecutor,
  filter: { organisationId: string | null; after?: string; limit: number },
): Promise<ProgramRecord[]> => {
  const { rows } = await db.query<ProgramRow>(
    `SELECT program_id, organisation_id, name, description, registered_by, registered_at,
            updated_at, revision::text AS revision
       FROM hub_programs
      WHERE ($1::text IS NULL OR organisation_id = $1) AND ($2::text IS NULL OR program_id > $2)
      ORDER BY program_id LIMIT $3`,
    [filter.organisationId, filter.after ?? null, filter.limit],
  );
  return rows.map((row) => ({
    programId: row.program_id,
    organisationId: row.organisation_id,
    name: row.name,
    description: row.description,
    registeredBy: row.registered_by,
    registeredAt: new Date(row.registered_at),
    updatedAt: new Date(row.updated_at),
    revision: BigInt(row.revision),
  }));
};
