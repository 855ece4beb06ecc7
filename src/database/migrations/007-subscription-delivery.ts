/**
 * Delivery to subscribers: where each subscription stands in the log, the secrets that sign its
 * webhooks, every delivery attempt, and the deliveries that ran out of attempts.
 */
export const subscriptionDeliverySchema = `
-- No row, or a null position: the start of the log. generation moves on every replay or
-- redelivery request, so a running delivery notices and never writes over the new position.
CREATE TABLE hub_subscription_positions (
  subscription_id text PRIMARY KEY,
  position text,
  generation bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Signing needs the secret itself, so it is kept here rather than in the event log; the log
-- records which secret ids were issued and revoked.
CREATE TABLE hub_webhook_secrets (
  subscription_id text NOT NULL,
  secret_id text NOT NULL,
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription_id, secret_id)
);

CREATE TABLE hub_webhook_attempts (
  attempt_id bigint GENERATED ALWAYS AS IDENTITY,
  subscription_id text NOT NULL,
  delivery_id text NOT NULL,
  attempt integer NOT NULL,
  -- delivered, failed (will be retried), dead-lettered (out of attempts), redelivered
  outcome text NOT NULL,
  item_count integer NOT NULL,
  first_cursor text NOT NULL,
  last_cursor text NOT NULL,
  http_status integer,
  error text,
  duration_ms integer NOT NULL,
  attempted_at timestamptz NOT NULL,
  next_attempt_at timestamptz,
  PRIMARY KEY (subscription_id, attempt_id)
);

CREATE TABLE hub_webhook_dead_letters (
  subscription_id text NOT NULL,
  delivery_id text NOT NULL,
  -- The items as they would have been sent.
  items jsonb NOT NULL,
  item_count integer NOT NULL,
  first_cursor text NOT NULL,
  last_cursor text NOT NULL,
  attempts integer NOT NULL,
  last_error text,
  last_http_status integer,
  dead_at timestamptz NOT NULL,
  -- dead, queued (for redelivery), redelivered
  status text NOT NULL,
  redelivery_requested_at timestamptz,
  redelivered_at timestamptz,
  PRIMARY KEY (subscription_id, delivery_id)
);
CREATE INDEX hub_webhook_dead_letters_queued
  ON hub_webhook_dead_letters (subscription_id, dead_at) WHERE status = 'queued';
`;
