/**
 * A projection that fails says so where every instance and the CLI can see it, not only in the
 * memory of the instance that runs it: the error, since when, and how many attempts in a row.
 * The next batch it commits clears them.
 */
export const projectionFailuresSchema = `
ALTER TABLE hub_projection_checkpoints
  ADD COLUMN last_error text,
  ADD COLUMN failing_since timestamptz,
  ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0;
`;
