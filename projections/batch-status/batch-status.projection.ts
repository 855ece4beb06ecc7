import { SqlExecutor } from '../../src/database/sql-database';
import {
  applyBatchChanges,
  BATCH_STREAM_PREFIX,
  BatchDetails,
  BatchEnded,
  BatchEvent,
  BatchReopened,
  BatchStarted,
  BatchStatus,
} from '../../src/batches/batch.events';
import { defineProjection, ProjectedEvent } from '../engine/projection';
import { BATCH_STATUS_READ_MODEL } from './batch-status.query';

const schema = `
CREATE TABLE IF NOT EXISTS batch_status (
  batch_id text PRIMARY KEY,
  course_id text NOT NULL,
  organisation_id text NOT NULL,
  created_for text[] NOT NULL,
  created_by text NOT NULL,
  mentors text[] NOT NULL,
  enrollment_type text NOT NULL,
  status smallint NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz,
  -- Everything else the API shows, as recorded (BatchDetails).
  details jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  status_changed_at timestamptz,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS batch_status_course ON batch_status (course_id, status);
CREATE INDEX IF NOT EXISTS batch_status_organisation ON batch_status (organisation_id, batch_id);
CREATE INDEX IF NOT EXISTS batch_status_mentors ON batch_status USING gin (mentors);
CREATE INDEX IF NOT EXISTS batch_status_created_for ON batch_status USING gin (created_for);
`;

const writeDetails = async (
  tx: SqlExecutor,
  batchId: string,
  revision: bigint,
  at: string,
  change: (details: BatchDetails) => BatchDetails,
) => {
  const { rows } = await tx.query<{ details: BatchDetails; revision: string | number }>(
    'SELECT details, revision FROM batch_status WHERE batch_id = $1 FOR UPDATE',
    [batchId],
  );
  const row = rows[0];
  if (!row || BigInt(row.revision) >= revision) return;
  const next = change(row.details);
  await tx.query(
    `UPDATE batch_status SET details = $2, mentors = $3, created_for = $4, enrollment_type = $5,
       starts_at = $6, ends_at = $7, updated_at = $8, revision = $9
     WHERE batch_id = $1`,
    [
      batchId,
      JSON.stringify(next),
      next.mentors,
      next.createdFor,
      next.enrollmentType,
      next.start.at,
      next.end?.at ?? null,
      at,
      revision.toString(),
    ],
  );
};

const setStatus =
  (status: BatchStatus) =>
  async (
    event: ProjectedEvent<BatchStarted | BatchEnded | BatchReopened>,
    tx: SqlExecutor,
  ): Promise<void> => {
    const { batchId, effectiveAt } = event.data;
    await tx.query(
      `UPDATE batch_status SET status = $2, status_changed_at = $3, revision = $4
        WHERE batch_id = $1 AND revision < $4`,
      [batchId, status, effectiveAt, event.revision.toString()],
    );
  };

/** Batches with their exact status: serves the batch list and read endpoints and course counts. */
export const batchStatusProjection = defineProjection<BatchEvent>({
  name: BATCH_STATUS_READ_MODEL,
  version: 1,
  schema,
  tables: ['batch_status'],
  streamNamePrefixes: [BATCH_STREAM_PREFIX],
  handlers: {
    BatchCreated: async (event, tx) => {
      const { data, revision } = event;
      const { batchId, courseId, organisationId, createdBy, createdAt, ...details } = data;
      await tx.query(
        `INSERT INTO batch_status (batch_id, course_id, organisation_id, created_for, created_by, mentors,
           enrollment_type, status, starts_at, ends_at, details, created_at, updated_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $11, $12)
         ON CONFLICT (batch_id) DO NOTHING`,
        [
          batchId,
          courseId,
          organisationId,
          details.createdFor,
          createdBy,
          details.mentors,
          details.enrollmentType,
          details.start.at,
          details.end?.at ?? null,
          JSON.stringify(details),
          createdAt,
          revision.toString(),
        ],
      );
    },
    BatchUpdated: async (event, tx) => {
      const { data, revision } = event;
      await writeDetails(tx, data.batchId, revision, data.updatedAt, (details) =>
        applyBatchChanges(details, data.changes),
      );
    },
    BatchEndDateExtended: async (event, tx) => {
      const { data, revision } = event;
      await writeDetails(tx, data.batchId, revision, data.extendedAt, (details) => ({
        ...details,
        end: data.to,
      }));
    },
    BatchStarted: setStatus(1),
    BatchEnded: setStatus(2),
    BatchReopened: setStatus(1),
  },
});
