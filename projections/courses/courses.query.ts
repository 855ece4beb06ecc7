import { SqlExecutor } from '../../src/database/sql-database';

export const COURSES_READ_MODEL = 'courses';

export interface CourseRecord {
  courseId: string;
  organisationId: string;
  name: string;
  createdBy: string;
  hierarchyVersion: number;
  requiredContentCount: number;
  registeredAt: Date;
  updatedAt: Date;
}

interface CourseRow {
  course_id: string;
  organisation_id: string;
  name: string;
  created_by: string;
  hierarchy_version: number;
  required_content_count: number;
  registered_at: Date | string;
  updated_at: Date | string;
  [column: string]: unknown;
}

export interface CourseFilter {
  /** Null: every organisation's courses (a system admin's list). */
  organisationId: string | null;
  createdBy?: string;
  /** Text the name contains, ignoring case. */
  nameContains?: string;
  /** Exclusive: courses with ids after this one. */
  after?: string;
  limit: number;
}

// LIKE's wildcards and its escape character, taken literally.
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, (char) => `\\${char}`);

/** Courses in course-id order, one page. */
export const listCourses = async (
  db: SqlExecutor,
  filter: CourseFilter,
): Promise<CourseRecord[]> => {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.organisationId !== null) add((p) => `organisation_id = ${p}`, filter.organisationId);
  if (filter.createdBy !== undefined) add((p) => `created_by = ${p}`, filter.createdBy);
  if (filter.nameContains !== undefined)
    add((p) => `name ILIKE ${p}`, `%${likeLiteral(filter.nameContains)}%`);
  if (filter.after !== undefined) add((p) => `course_id > ${p}`, filter.after);
  params.push(filter.limit);
  const { rows } = await db.query<CourseRow>(
    `SELECT course_id, organisation_id, name, created_by, hierarchy_version,
            required_content_count, registered_at, updated_at
       FROM hub_courses ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY course_id LIMIT $${params.length}`,
    params,
  );
  return rows.map((row) => ({
    courseId: row.course_id,
    organisationId: row.organisation_id,
    name: row.name,
    createdBy: row.created_by,
    hierarchyVersion: Number(row.hierarchy_version),
    requiredContentCount: Number(row.required_content_count),
    registeredAt: new Date(row.registered_at),
    updatedAt: new Date(row.updated_at),
  }));
};
