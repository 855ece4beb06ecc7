import { SqlExecutor } from '../../src/database/sql-database';
import {
  EXHAUST_REQUEST_STREAM_PREFIX,
  ExhaustRequestEvent,
} from '../../src/exhausts/exhaust-request.events';
import { defineProjection, HandlersOf } from '../engine/projection';
import { JOB_REQUESTS_READ_MODEL } from './job-requests.query';

/**
 * The reference's (Sunbird's) `job_request` table, built from the report requests' events, and
 * one row per download beside it. `job_id` is the report type (`progress-exhaust`, …), as the
 * reference's job id names the dataset; `requested_channel` is the organisation.
 * `encryption_key` is kept for the reference's shape and is always NULL: the key is never in an
 * event, so it is never in a read model either. `iteration` counts failed runs.
 */
const schema = `
CREATE TABLE IF NOT EXISTS job_request (
  tag text NOT NULL,
  request_id text PRIMARY KEY,
  job_id text NOT NULL,
  status text NOT NULL,
  -- {batchIds, type, encrypted}
  request_data jsonb NOT NULL,
  requested_by text NOT NULL,
  requested_channel text NOT NULL,
  dt_job_submitted timestamptz NOT NULL,
  download_urls text[] NOT NULL,
  dt_file_created timestamptz,
  dt_job_completed timestamptz,
  execution_time bigint,
  err_message text,
  iteration integer NOT NULL,
  -- Always NULL: the key is never stored (the reference's column, kept for its shape).
  encryption_key text,
  -- [{batchId, filePath, fileSize, rows}], one per file made
  processed_batches jsonb NOT NULL,
  downloads integer NOT NULL,
  organisation_id text NOT NULL,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS job_request_submitted
  ON job_request (dt_job_submitted DESC, request_id DESC);
CREATE INDEX IF NOT EXISTS job_request_organisation_submitted
  ON job_request (organisation_id, dt_job_submitted DESC, request_id DESC);
CREATE TABLE IF NOT EXISTS job_request_downloads (
  request_id text NOT NULL,
  -- The download's revision in its request's stream: replays meet the same key.
  revision bigint NOT NULL,
  batch_id text NOT NULL,
  file_key text NOT NULL,
  organisation_id text NOT NULL,
  downloaded_by text NOT NULL,
  downloaded_at timestamptz NOT NULL,
  PRIMARY KEY (request_id, revision)
);
CREATE INDEX IF NOT EXISTS job_request_downloads_at
  ON job_request_downloads (downloaded_at, organisation_id);
`;

/** Changes the request's row for the event at `revision`; a replay (revision not newer) does nothing. */
const update = (
  tx: SqlExecutor,
  requestId: string,
  revision: bigint,
  assignments: string,
  values: readonly unknown[],
) =>
  tx.query(
    `UPDATE job_request SET ${assignments}, revision = $2
      WHERE request_id = $1 AND revision < $2`,
    [requestId, revision.toString(), ...values],
  );

const handlers: Required<HandlersOf<ExhaustRequestEvent>> = {
  ExhaustRequested: async ({ data, revision }, tx) => {
    await tx.query(
      `INSERT INTO job_request (tag, request_id, job_id, status, request_data, requested_by,
         requested_channel, dt_job_submitted, download_urls, iteration, processed_batches,
         downloads, organisation_id, revision)
       VALUES ($1, $2, $3, 'SUBMITTED', $4, $5, $6, $7, '{}', 0, '[]', 0, $6, $8)
       ON CONFLICT (request_id) DO NOTHING`,
      [
        data.tag,
        data.requestId,
        data.type,
        JSON.stringify({ batchIds: data.batchIds, type: data.type, encrypted: data.encrypted }),
        data.requestedBy,
        data.organisationId,
        data.requestedAt,
        revision.toString(),
      ],
    );
  },
  ExhaustStarted: async ({ data, revision }, tx) => {
    await update(tx, data.requestId, revision, `status = 'PROCESSING'`, []);
  },
  ExhaustCompleted: async ({ data, revision }, tx) => {
    await update(
      tx,
      data.requestId,
      revision,
      `status = 'SUCCESS', download_urls = $3::text[], processed_batches = $4::jsonb,
       dt_file_created = $5, dt_job_completed = $5, execution_time = $6, err_message = NULL`,
      [
        data.files.map((file) => file.key),
        JSON.stringify(
          data.files.map((file) => ({
            batchId: file.batchId,
            filePath: file.key,
            fileSize: file.bytes,
            rows: file.rows,
          })),
        ),
        data.completedAt,
        Math.round(data.executionMs),
      ],
    );
  },
  ExhaustFailed: async ({ data, revision }, tx) => {
    await update(
      tx,
      data.requestId,
      revision,
      `status = 'FAILED', err_message = $3, dt_job_completed = $4, iteration = iteration + 1`,
      [data.error, data.failedAt],
    );
  },
  // Runs again: submitted anew; the last failure's message stays until this run ends.
  ExhaustResubmitted: async ({ data, revision }, tx) => {
    await update(
      tx,
      data.requestId,
      revision,
      `status = 'SUBMITTED', dt_job_submitted = $3, dt_job_completed = NULL, execution_time = NULL,
       request_data = jsonb_set(request_data, '{encrypted}', to_jsonb($4::boolean))`,
      [data.resubmittedAt, data.encrypted],
    );
  },
  ExhaustDownloaded: async ({ data, revision }, tx) => {
    await tx.query(
      `INSERT INTO job_request_downloads (request_id, revision, batch_id, file_key, organisation_id,
         downloaded_by, downloaded_at)
       SELECT request_id, $2, $3, $4, organisation_id, $5, $6 FROM job_request WHERE request_id = $1
       ON CONFLICT (request_id, revision) DO NOTHING`,
      [
        data.requestId,
        revision.toString(),
        data.batchId,
        data.key,
        data.downloadedBy,
        data.downloadedAt,
      ],
    );
    await update(tx, data.requestId, revision, 'downloads = downloads + 1', []);
  },
};

/** Report requests as the reference's job_request rows, and every download of their files. */
export const jobRequestsProjection = defineProjection<ExhaustRequestEvent>({
  name: JOB_REQUESTS_READ_MODEL,
  version: 1,
  schema,
  tables: ['job_request', 'job_request_downloads'],
  streamNamePrefixes: [EXHAUST_REQUEST_STREAM_PREFIX],
  handlers,
});
