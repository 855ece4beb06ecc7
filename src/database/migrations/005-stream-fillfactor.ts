/**
 * Every append rewrites its stream's row in hub_streams. Free space on each page lets those
 * updates stay on the page (HOT) and be pruned there, so the table and its index do not bloat
 * between vacuums: on servers with autovacuum off, never.
 */
export const streamFillfactorSchema = `
ALTER TABLE hub_streams SET (fillfactor = 50);
`;
