import { SqlExecutor } from '../../src/database/sql-database';
import { EnrolmentDbRow, EnrolmentRow, fromDbRow } from './enrolment-row';

export type { EnrolmentRow } from './enrolment-row';

export const ENROLMENTS_READ_MODEL = 'enrolments';

export const readEnrolment = async (
  db: SqlExecutor,
  batchId: string,
  userId: string,
): Promise<EnrolmentRow | null> => {
  const { rows } = await db.query<EnrolmentDbRow>(
    'SELECT * FROM enrolments WHERE batch_id = $1 AND user_id = $2',
    [batchId, userId],
  );
  return rows[0] ? fromDbRow(rows[0]) : null;
};

export interface ParticipantFilter {
  active?: boolean;
  completed?: boolean;
  /** Exclusive: participants with user ids after this one. */
  after?: string;
  limit: number;
}

/** A batch's participants in user-id order, one page. */
export const listParticipants = async (
  db: SqlExecutor,
  batchId: string,
  filter: ParticipantFilter,
): Promise<EnrolmentRow[]> => {
  const where = ['batch_id = $1'];
  const params: unknown[] = [batchId];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.active !== undefined) add((p) => `active = ${p}`, filter.active);
  if (filter.completed !== undefined)
    add((p) => `(completed_on IS NOT NULL) = ${p}`, filter.completed);
  if (filter.after !== undefined) add((p) => `user_id > ${p}`, filter.after);
  params.push(filter.limit);
  const { rows } = await db.query<EnrolmentDbRow>(
    `SELECT * FROM enrolments WHERE ${where.join(' AND ')} ORDER BY user_id LIMIT $${params.length}`,
    params,
  );
  return rows.map(fromDbRow);
};

export const countParticipants = async (
  db: SqlExecutor,
  batchId: string,
): Promise<{ total: number; active: number; completed: number }> => {
  const { rows } = await db.query<{ total: string; active: string; completed: string }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE active) AS active,
            count(*) FILTER (WHERE completed_on IS NOT NULL) AS completed
       FROM enrolments WHERE batch_id = $1`,
    [batchId],
  );
  const row = rows[0];
  return {
    total: Number(row?.total ?? 0),
    active: Number(row?.active ?? 0),
    completed: Number(row?.completed ?? 0),
  };
};

/** A user's enrolments, most recent first; only active ones unless asked otherwise. */
export const listUserEnrolments = async (
  db: SqlExecutor,
  userId: string,
  options: { includeInactive: boolean; limit: number },
): Promise<EnrolmentRow[]> => {
  const { rows } = await db.query<EnrolmentDbRow>(
    `SELECT * FROM enrolments WHERE user_id = $1 ${options.includeInactive ? '' : 'AND active'}
      ORDER BY enrolled_at DESC, batch_id LIMIT $2`,
    [userId, options.limit],
  );
  return rows.map(fromDbRow);
};

/** Active learners of a batch at or above a completion percentage without an issued certificate. */
export const learnersAwaitingCertificate = async (
  db: SqlExecutor,
  batchId: string,
  minCompletionPercent: number,
): Promise<string[]> => {
  const { rows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM enrolments
      WHERE batch_id = $1 AND active AND progress_percent >= $2
        AND certificate_status IS DISTINCT FROM 'Issued'
      ORDER BY user_id`,
    [batchId, minCompletionPercent],
  );
  return rows.map((row) => row.user_id);
};
