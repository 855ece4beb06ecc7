/**
 * Webhook delivery keeps the hub's order through failures. From its first failed attempt, the
 * oldest undelivered batch of a subscription (its head) is kept among the dead letters, with the
 * position the subscription moves to once the batch is delivered: while it is there, nothing
 * newer is sent. Its status is `retrying` (not listed as a dead letter) until it runs out of
 * attempts; then it is `dead`, and delivery waits for a redelivery request (`queued`).
 */
export const webhookOrderSchema = `
-- The items as sent, byte for byte: a retry carries the very body of the first attempt.
ALTER TABLE hub_webhook_dead_letters ALTER COLUMN items TYPE json USING items::json;
-- Null for a dead letter that no longer holds the subscription's place: those of earlier
-- versions, which delivery went on past, and a head a replay moved the subscription away from.
ALTER TABLE hub_webhook_dead_letters ADD COLUMN up_to text;
-- Attempts of the current round (a redelivery request starts a new one) and when the next is
-- due, so a restarted hub carries on with the same schedule.
ALTER TABLE hub_webhook_dead_letters ADD COLUMN round_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE hub_webhook_dead_letters ADD COLUMN next_attempt_at timestamptz;
CREATE UNIQUE INDEX hub_webhook_dead_letters_head
  ON hub_webhook_dead_letters (subscription_id) WHERE up_to IS NOT NULL;
`;
