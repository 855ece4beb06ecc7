/**
 * Per-user keys for personal data, kept outside the event log. Erasure deletes the row: the
 * events keep their ciphertext, which no one can read any more (crypto-shredding).
 */
export const personalDataKeysSchema = `
CREATE TABLE hub_personal_data_keys (
  user_id text PRIMARY KEY,
  key_id uuid NOT NULL UNIQUE,
  key bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
`;
