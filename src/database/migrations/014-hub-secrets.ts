/**
 * Secrets the hub makes for itself when none is configured, shared by every instance on the
 * database: the key that signs download links (and seals report passwords while they wait), so
 * a link made by one instance opens on another and survives a restart.
 */
export const hubSecretsSchema = `
CREATE TABLE hub_secrets (
  name text PRIMARY KEY,
  secret bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
`;
