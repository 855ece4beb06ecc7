import { DomainEvent } from '../event-sourcing/decider';
import { ExhaustType } from './reports/exhaust-types';

/**
 * A report request as the domain records it (the reference's job_request row, as a history):
 * asked for, picked up, finished or failed, resubmitted after a failure, downloaded. The job
 * runner's table says how the work is going; these say what happened, and the job_request read
 * model and the download-ratio metric are built from them.
 */
export const EXHAUST_REQUEST_STREAM_PREFIX = 'exhaust-request-';
export const exhaustRequestStream = (requestId: string): string =>
  `${EXHAUST_REQUEST_STREAM_PREFIX}${requestId}`;

/** The reference's job statuses, in its spelling. */
export type ExhaustStatus = 'SUBMITTED' | 'PROCESSING' | 'SUCCESS' | 'FAILED';

/** A batch's file, once made. */
export interface ExhaustFile {
  batchId: string;
  /** Where the storage port keeps it: `{type}/{requestId}/{batchId}_{key}_{yyyyMMdd}.zip`. */
  key: string;
  bytes: number;
  rows: number;
}

export type ExhaustRequested = DomainEvent<
  'ExhaustRequested',
  {
    requestId: string;
    /** As the reference stores it: `<tag>:<organisation>`. */
    tag: string;
    type: ExhaustType;
    /** De-duplicated, in the order asked. */
    batchIds: string[];
    requestedBy: string;
    organisationId: string;
    /** Whether the file is to be encrypted; the key itself is never in an event. */
    encrypted: boolean;
    requestedAt: string;
  }
>;

export type ExhaustStarted = DomainEvent<
  'ExhaustStarted',
  { requestId: string; startedAt: string }
>;

export type ExhaustCompleted = DomainEvent<
  'ExhaustCompleted',
  {
    requestId: string;
    files: ExhaustFile[];
    /** Batches of the request that had nothing to report (unknown, or no active enrolment). */
    skippedBatchIds: string[];
    completedAt: string;
    executionMs: number;
  }
>;

export type ExhaustFailed = DomainEvent<
  'ExhaustFailed',
  { requestId: string; error: string; failedAt: string }
>;

/** The same request again on the same day after it failed: it runs once more. */
export type ExhaustResubmitted = DomainEvent<
  'ExhaustResubmitted',
  { requestId: string; encrypted: boolean; resubmittedAt: string }
>;

export type ExhaustDownloaded = DomainEvent<
  'ExhaustDownloaded',
  { requestId: string; batchId: string; key: string; downloadedBy: string; downloadedAt: string }
>;

export type ExhaustRequestEvent =
  | ExhaustRequested
  | ExhaustStarted
  | ExhaustCompleted
  | ExhaustFailed
  | ExhaustResubmitted
  | ExhaustDownloaded;
