export const projectionCheckpointsSchema = `
CREATE TABLE hub_projection_checkpoints (
  projection text PRIMARY KEY,
  -- The projection's code version its rows were built with; a new version rebuilds it.
  projection_version integer NOT NULL,
  -- Opaque event-store position of the last event applied; NULL means "from the start".
  position text,
  events_applied bigint NOT NULL DEFAULT 0,
  last_event_recorded_at timestamptz,
  rebuilt_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;
