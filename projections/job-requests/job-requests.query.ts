import { SqlExecutor } from '../../src/database/sql-database';
import { ExhaustRequested, ExhaustStatus } from '../../src/exhausts/exhaust-request.events';

export const JOB_REQUESTS_READ_MODEL = 'job-requests';

type ExhaustType = ExhaustRequested['data']['type'];

/** A batch's file as the reference's `processed_batches` lists it. */
export interface ProcessedBatch {
  batchId: string;
  /** The storage key of the file. */
  filePath: string;
  fileSize: number;
  rows: number;
}

/** One report request, as the reference's job_request row (camel-cased), timestamps ISO. */
export interface JobRequestRow {
  /** `<tag>:<organisation>`, as requested. */
  tag: string;
  requestId: string;
  /** The report type: the reference's job id names the dataset. */
  jobId: ExhaustType;
  status: ExhaustStatus;
  requestData: { batchIds: string[]; type: ExhaustType; encrypted: boolean };
  requestedBy: string;
  /** The organisation, as the reference's channel. */
  requestedChannel: string;
  dtJobSubmitted: string;
  /** Storage keys of the files made, in the order made. */
  downloadUrls: string[];
  dtFileCreated: string | null;
  dtJobCompleted: string | null;
  /** Milliseconds the successful run took. */
  executionTime: number | null;
  errMessage: string | null;
  /** Failed runs so far. */
  iteration: number;
  /** Always null: the key is never stored (kept for the reference's shape). */
  encryptionKey: null;
  processedBatches: ProcessedBatch[];
  /** Downloads of the request's files, all batches together. */
  downloads: number;
  organisationId: string;
  revision: bigint;
}

interface JobRequestDbRow {
  tag: string;
  request_id: string;
  job_id: string;
  status: string;
  request_data: JobRequestRow['requestData'];
  requested_by: string;
  requested_channel: string;
  dt_job_submitted: Date | string;
  download_urls: string[];
  dt_file_created: Date | string | null;
  dt_job_completed: Date | string | null;
  execution_time: string | number | bigint | null;
  err_message: string | null;
  iteration: number;
  encryption_key: string | null;
  processed_batches: ProcessedBatch[];
  downloads: number;
  organisation_id: string;
  revision: string | number | bigint;
  [column: string]: unknown;
}

const iso = (value: Date | string): string => new Date(value).toISOString();
const isoOrNull = (value: Date | string | null): string | null =>
  value === null ? null : iso(value);

const fromDbRow = (row: JobRequestDbRow): JobRequestRow => ({
  tag: row.tag,
  requestId: row.request_id,
  jobId: row.job_id as ExhaustType,
  status: row.status as ExhaustStatus,
  requestData: row.request_data,
  requestedBy: row.requested_by,
  requestedChannel: row.requested_channel,
  dtJobSubmitted: iso(row.dt_job_submitted),
  downloadUrls: row.download_urls,
  dtFileCreated: isoOrNull(row.dt_file_created),
  dtJobCompleted: isoOrNull(row.dt_job_completed),
  executionTime: row.execution_time === null ? null : Number(row.execution_time),
  errMessage: row.err_message,
  iteration: Number(row.iteration),
  encryptionKey: null,
  processedBatches: row.processed_batches,
  downloads: Number(row.downloads),
  organisationId: row.organisation_id,
  revision: BigInt(row.revision),
});

export const readJobRequest = async (
  db: SqlExecutor,
  requestId: string,
): Promise<JobRequestRow | null> => {
  const { rows } = await db.query<JobRequestDbRow>(
    'SELECT * FROM job_request WHERE request_id = $1',
    [requestId],
  );
  return rows[0] ? fromDbRow(rows[0]) : null;
};

/** Where a page of requests ends: the next page starts after it. */
export interface JobRequestCursor {
  dtJobSubmitted: string;
  requestId: string;
}

export const jobRequestCursor = (row: JobRequestRow): JobRequestCursor => ({
  dtJobSubmitted: row.dtJobSubmitted,
  requestId: row.requestId,
});

export interface JobRequestFilter {
  /** The requester's organisation; null for a system admin, who sees every organisation. */
  organisationId: string | null;
  /** Only this requester's requests (what a principal who is not an admin sees). */
  requestedBy?: string;
  /** The whole tag, `<tag>:<organisation>`, as the reference's list by tag. */
  tag?: string;
  type?: ExhaustType;
  status?: ExhaustStatus;
  /** Exclusive: requests after this one in the list's order. */
  after?: JobRequestCursor;
  limit: number;
}

/**
 * Requests newest first (last submitted, then request id descending), one page. A resubmission
 * moves its request to the front; a request resubmitted while a client pages may show twice or
 * not at all in that listing, as it moved.
 */
export const listJobRequests = async (
  db: SqlExecutor,
  filter: JobRequestFilter,
): Promise<JobRequestRow[]> => {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.organisationId !== null) add((p) => `organisation_id = ${p}`, filter.organisationId);
  if (filter.requestedBy !== undefined) add((p) => `requested_by = ${p}`, filter.requestedBy);
  if (filter.tag !== undefined) add((p) => `tag = ${p}`, filter.tag);
  if (filter.type !== undefined) add((p) => `job_id = ${p}`, filter.type);
  if (filter.status !== undefined) add((p) => `status = ${p}`, filter.status);
  if (filter.after !== undefined) {
    params.push(filter.after.dtJobSubmitted, filter.after.requestId);
    where.push(
      `(dt_job_submitted, request_id) < ($${params.length - 1}::timestamptz, $${params.length})`,
    );
  }
  params.push(filter.limit);
  const { rows } = await db.query<JobRequestDbRow>(
    `SELECT * FROM job_request ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY dt_job_submitted DESC, request_id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(fromDbRow);
};

/** Files made and downloads of them for one batch, over every request in scope. */
export interface BatchDownloadCount {
  batchId: string;
  organisationId: string;
  /** Files made for the batch (one per successful request that had data for it). */
  files: number;
  downloads: number;
}

/** Files made and downloads of them for one request. */
export interface RequestDownloadCount {
  requestId: string;
  type: ExhaustType;
  organisationId: string;
  files: number;
  downloads: number;
}

export interface DownloadCounts {
  byBatch: BatchDownloadCount[];
  byRequest: RequestDownloadCount[];
}

export interface DownloadCountFilter {
  /** One organisation's requests; null for every organisation (a system admin). */
  organisationId: string | null;
  /** Inclusive: files created and downloads made at or after this instant. */
  from?: string;
  /** Exclusive: files created and downloads made before this instant. */
  to?: string;
}

/**
 * What the download ratio (downloads ÷ files, per batch, request or organisation) is made of.
 * With a period, files count by when they were made and downloads by when they happened, so a
 * download in the period of a file made before it counts as a download without a file. Batches
 * and requests with neither in the period are left out. Ordered by batch id, then organisation;
 * by request id.
 */
export const downloadCounts = async (
  db: SqlExecutor,
  filter: DownloadCountFilter,
): Promise<DownloadCounts> => {
  const params: unknown[] = [filter.organisationId, filter.from ?? null, filter.to ?? null];
  const { rows } = await db.query<{
    request_id: string;
    job_id: string;
    organisation_id: string;
    batch_id: string;
    files: string | number;
    downloads: string | number;
  }>(
    `WITH scope AS (
       SELECT request_id, job_id, organisation_id, dt_file_created, processed_batches
         FROM job_request
        WHERE ($1::text IS NULL OR organisation_id = $1::text)
     ), made AS (
       SELECT s.request_id, f.value->>'batchId' AS batch_id, count(*) AS files
         FROM scope s CROSS JOIN LATERAL jsonb_array_elements(s.processed_batches) AS f(value)
        WHERE ($2::timestamptz IS NULL OR s.dt_file_created >= $2::timestamptz)
          AND ($3::timestamptz IS NULL OR s.dt_file_created < $3::timestamptz)
        GROUP BY s.request_id, f.value->>'batchId'
     ), fetched AS (
       SELECT d.request_id, d.batch_id, count(*) AS downloads
         FROM job_request_downloads d JOIN scope s ON s.request_id = d.request_id
        WHERE ($2::timestamptz IS NULL OR d.downloaded_at >= $2::timestamptz)
          AND ($3::timestamptz IS NULL OR d.downloaded_at < $3::timestamptz)
        GROUP BY d.request_id, d.batch_id
     )
     SELECT s.request_id, s.job_id, s.organisation_id, k.batch_id,
            coalesce(m.files, 0) AS files, coalesce(d.downloads, 0) AS downloads
       FROM (SELECT request_id, batch_id FROM made UNION SELECT request_id, batch_id FROM fetched) k
       JOIN scope s ON s.request_id = k.request_id
       LEFT JOIN made m ON m.request_id = k.request_id AND m.batch_id = k.batch_id
       LEFT JOIN fetched d ON d.request_id = k.request_id AND d.batch_id = k.batch_id`,
    params,
  );
  const byBatch = new Map<string, BatchDownloadCount>();
  const byRequest = new Map<string, RequestDownloadCount>();
  for (const row of rows) {
    const files = Number(row.files);
    const downloads = Number(row.downloads);
    const batchKey = `${row.batch_id}\u0000${row.organisation_id}`;
    const batch = byBatch.get(batchKey) ?? {
      batchId: row.batch_id,
      organisationId: row.organisation_id,
      files: 0,
      downloads: 0,
    };
    batch.files += files;
    batch.downloads += downloads;
    byBatch.set(batchKey, batch);
    const request = byRequest.get(row.request_id) ?? {
      requestId: row.request_id,
      type: row.job_id as ExhaustType,
      organisationId: row.organisation_id,
      files: 0,
      downloads: 0,
    };
    request.files += files;
    request.downloads += downloads;
    byRequest.set(row.request_id, request);
  }
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    byBatch: [...byBatch.values()].sort(
      (a, b) => byText(a.batchId, b.batchId) || byText(a.organisationId, b.organisationId),
    ),
    byRequest: [...byRequest.values()].sort((a, b) => byText(a.requestId, b.requestId)),
  };
};
