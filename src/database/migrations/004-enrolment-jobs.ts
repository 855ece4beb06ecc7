/**
 * Bulk enrolment jobs: the request (its user ids), who asked, and progress counters that each
 * finished chunk moves forward in the same transaction as its per-row failures, so a job
 * resumed after a crash continues from the last chunk it recorded.
 */
export const enrolmentJobsSchema = `
CREATE TABLE hub_enrolment_jobs (
  job_id text PRIMARY KEY,
  batch_id text NOT NULL,
  organisation_id text NOT NULL,
  requested_by text NOT NULL,
  -- The requester as an actor (user, organisation, roles): a resumed job acts as them.
  actor jsonb NOT NULL,
  idempotency_key text,
  request_digest text NOT NULL,
  status text NOT NULL,
  user_ids text[] NOT NULL,
  total integer NOT NULL,
  processed integer NOT NULL DEFAULT 0,
  enrolled integer NOT NULL DEFAULT 0,
  already_enrolled integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  error text,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  heartbeat_at timestamptz
);
CREATE UNIQUE INDEX hub_enrolment_jobs_idempotency
  ON hub_enrolment_jobs (requested_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX hub_enrolment_jobs_unfinished
  ON hub_enrolment_jobs (status) WHERE status IN ('queued', 'running');
CREATE TABLE hub_enrolment_job_failures (
  job_id text NOT NULL REFERENCES hub_enrolment_jobs (job_id) ON DELETE CASCADE,
  row_number integer NOT NULL,
  user_id text NOT NULL,
  code text NOT NULL,
  detail text NOT NULL,
  PRIMARY KEY (job_id, row_number)
);
`;
