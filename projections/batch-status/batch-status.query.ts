import { Actor, isSystemAdmin } from '../../src/auth/principal';
import { SqlExecutor } from '../../src/database/sql-database';
import { BatchDetails, BatchStatus, EnrollmentType } from '../../src/batches/batch.events';

export const BATCH_STATUS_READ_MODEL = 'batch-status';

export interface BatchRecord extends BatchDetails {
  batchId: string;
  courseId: string;
  organisationId: string;
  createdBy: string;
  status: BatchStatus;
  createdAt: Date;
  updatedAt: Date;
  statusChangedAt: Date | null;
  revision: bigint;
}

interface Row {
  batch_id: string;
  course_id: string;
  organisation_id: string;
  created_by: string;
  status: number;
  details: BatchDetails;
  created_at: Date | string;
  updated_at: Date | string;
  status_changed_at: Date | string | null;
  revision: string | number;
  [column: string]: unknown;
}

const toRecord = (row: Row): BatchRecord => ({
  ...row.details,
  batchId: row.batch_id,
  courseId: row.course_id,
  organisationId: row.organisation_id,
  createdBy: row.created_by,
  status: Number(row.status) as BatchStatus,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  statusChangedAt: row.status_changed_at === null ? null : new Date(row.status_changed_at),
  revision: BigInt(row.revision),
});

export const readBatch = async (db: SqlExecutor, batchId: string): Promise<BatchRecord | null> => {
  const { rows } = await db.query<Row>('SELECT * FROM batch_status WHERE batch_id = $1', [batchId]);
  return rows[0] ? toRecord(rows[0]) : null;
};

export interface BatchFilter {
  courseId?: string;
  status?: BatchStatus;
  createdBy?: string;
  mentor?: string;
  organisationId?: string;
  enrollmentType?: EnrollmentType;
  /** Exclusive: batches with ids after this one. */
  after?: string;
  limit: number;
}

/** The batches `viewer` may see, in batch-id order (ULIDs: creation order), one page. */
export const listBatches = async (
  db: SqlExecutor,
  viewer: Actor,
  filter: BatchFilter,
): Promise<BatchRecord[]> => {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (!isSystemAdmin(viewer))
    add((p) => `(organisation_id = ${p} OR ${p} = ANY(created_for))`, viewer.organisationId);
  if (filter.courseId !== undefined) add((p) => `course_id = ${p}`, filter.courseId);
  if (filter.status !== undefined) add((p) => `status = ${p}`, filter.status);
  if (filter.createdBy !== undefined) add((p) => `created_by = ${p}`, filter.createdBy);
  if (filter.mentor !== undefined) add((p) => `mentors @> ARRAY[${p}]::text[]`, filter.mentor);
  if (filter.organisationId !== undefined)
    add((p) => `(organisation_id = ${p} OR ${p} = ANY(created_for))`, filter.organisationId);
  if (filter.enrollmentType !== undefined)
    add((p) => `enrollment_type = ${p}`, filter.enrollmentType);
  if (filter.after !== undefined) add((p) => `batch_id > ${p}`, filter.after);
  params.push(filter.limit);
  const { rows } = await db.query<Row>(
    `SELECT * FROM batch_status ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY batch_id LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRecord);
};

export interface CourseBatchCounts {
  courseId: string;
  upcoming: number;
  inProgress: number;
  ended: number;
}

/** Batches per status for each course the viewer can see batches of. */
export const countBatchesByStatus = async (
  db: SqlExecutor,
  viewer: Actor,
  courseId?: string,
): Promise<CourseBatchCounts[]> => {
  const params: unknown[] = [];
  const where: string[] = [];
  if (!isSystemAdmin(viewer)) {
    params.push(viewer.organisationId);
    where.push(`(organisation_id = $${params.length} OR $${params.length} = ANY(created_for))`);
  }
  if (courseId !== undefined) {
    params.push(courseId);
    where.push(`course_id = $${params.length}`);
  }
  const { rows } = await db.query<{ course_id: string; status: number; count: string | number }>(
    `SELECT course_id, status, count(*) AS count FROM batch_status
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY course_id, status ORDER BY course_id`,
    params,
  );
  const byCourse = new Map<string, CourseBatchCounts>();
  for (const row of rows) {
    const counts = byCourse.get(row.course_id) ?? {
      courseId: row.course_id,
      upcoming: 0,
      inProgress: 0,
      ended: 0,
    };
    const count = Number(row.count);
    if (Number(row.status) === 0) counts.upcoming = count;
    else if (Number(row.status) === 1) counts.inProgress = count;
    else counts.ended = count;
    byCourse.set(row.course_id, counts);
  }
  return [...byCourse.values()];
};
