/**
 * One table for the hub's background jobs, whatever their kind: who asked, what state the job is
 * in, and the lease of the instance running it (renewed by its heartbeat, so another instance
 * takes over a job whose lease ran out). Progress and a handler's checkpoint move together, so
 * resumable work restarts from its last checkpoint.
 *
 * Bulk enrolment jobs move here: their rows are copied (an unfinished one is queued again, to
 * resume from its last recorded chunk) and hub_enrolment_jobs keeps only what is bulk-specific,
 * the batch and the user ids, next to the per-row failures.
 */
export const jobsSchema = `
CREATE TABLE hub_jobs (
  id text PRIMARY KEY,
  kind text NOT NULL,
  organisation_id text NOT NULL,
  requested_by text NOT NULL,
  idempotency_key text,
  -- What the idempotency key stands for: the same key with another request is refused.
  request_digest text,
  payload jsonb NOT NULL DEFAULT '{}',
  state text NOT NULL
    CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  -- Not claimed before: the back-off of a retry.
  run_after timestamptz NOT NULL,
  lease_owner text,
  lease_expires_at timestamptz,
  heartbeat_at timestamptz,
  progress_done bigint NOT NULL DEFAULT 0,
  progress_total bigint,
  checkpoint jsonb,
  result jsonb,
  error text,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz
);
CREATE UNIQUE INDEX hub_jobs_idempotency
  ON hub_jobs (kind, organisation_id, requested_by, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX hub_jobs_claimable ON hub_jobs (run_after) WHERE state IN ('queued', 'running');

INSERT INTO hub_jobs (id, kind, organisation_id, requested_by, idempotency_key, request_digest,
    payload, state, attempts, max_attempts, run_after, progress_done, progress_total, checkpoint,
    result, error, created_at, started_at, finished_at)
  SELECT job_id, 'bulk-enrolment', organisation_id, requested_by, idempotency_key,
    request_digest, jsonb_build_object('batchId', batch_id, 'actor', actor),
    CASE WHEN status = 'running' THEN 'queued' ELSE status END, 0, 5, now(), processed, total,
    jsonb_build_object('processed', processed, 'enrolled', enrolled,
      'alreadyEnrolled', already_enrolled, 'failed', failed),
    CASE WHEN status = 'completed' THEN jsonb_build_object('enrolled', enrolled,
      'alreadyEnrolled', already_enrolled, 'failed', failed) END,
    error, created_at, started_at, finished_at
  FROM hub_enrolment_jobs;

ALTER TABLE hub_enrolment_jobs
  DROP COLUMN organisation_id, DROP COLUMN requested_by, DROP COLUMN actor,
  DROP COLUMN idempotency_key, DROP COLUMN request_digest, DROP COLUMN status,
  DROP COLUMN total, DROP COLUMN processed, DROP COLUMN enrolled, DROP COLUMN already_enrolled,
  DROP COLUMN failed, DROP COLUMN error, DROP COLUMN created_at, DROP COLUMN started_at,
  DROP COLUMN finished_at, DROP COLUMN heartbeat_at,
  ADD FOREIGN KEY (job_id) REFERENCES hub_jobs (id) ON DELETE CASCADE;
`;
