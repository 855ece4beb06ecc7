/**
 * Readers of the log stop at a boundary set by this hub's appends only.
 *
 * Until now they read rows of transactions older than pg_snapshot_xmin: the oldest transaction
 * running anywhere on the server. Any transaction that held an xid (a report, a batch job, a
 * session left open in another database) held every feed, projection and scheduler back for as
 * long as it lived. The boundary is now the oldest running transaction that is writing to
 * hub_events, or, with none, everything committed:
 * - A writer takes its RowExclusiveLock on hub_events before it has an xid (the append functions
 *   lock the table first; see below), so a transaction in the reader's snapshot that holds no such
 *   lock can never add rows to the log later.
 * - The boundary is computed in the reader's own statement, on its snapshot; pg_locks is read
 *   after that snapshot was taken, and the status of each transaction after that. A transaction
 *   the snapshot saw running is passed over only if it held no lock on hub_events when the locks
 *   were read and is still running afterwards: it was running, without the lock, in between,
 *   so it never writes to the log. Any other (a writer, or one that finished meanwhile, which
 *   may have been a writer whose rows this snapshot cannot see) holds the boundary for this
 *   read; the next read sees its rows.
 * Rows below the boundary therefore never change any more, as before, and a late-committing append
 * is still never skipped: it holds the boundary until it commits or rolls back.
 *
 * The append functions keep their bodies: each is renamed and wrapped by one that locks first.
 *
 * The category index serves readers filtered on one publisher's category
 * (`learning-event-{program}/`): a subscription finds its next event without scanning other
 * programs' events. Only streams whose name has a '/' are indexed.
 */
export const logBoundarySchema = `
CREATE FUNCTION hub_log_boundary() RETURNS xid8 LANGUAGE sql STABLE AS $fn$
  WITH locks AS MATERIALIZED (
    SELECT locktype, database, relation, mode, granted, transactionid, virtualtransaction
      FROM pg_locks),
  -- Holding no lock on hub_events when the locks were read: such a transaction, if it was
  -- running then, never writes to the log (see above).
  not_writing AS (
    SELECT own.transactionid FROM locks own
     WHERE own.locktype = 'transactionid' AND own.granted
       AND NOT EXISTS (
         SELECT 1 FROM locks writing
          WHERE writing.virtualtransaction = own.virtualtransaction
            AND writing.locktype = 'relation' AND writing.relation = 'hub_events'::regclass
            AND writing.mode = 'RowExclusiveLock'
            AND writing.database = (SELECT oid FROM pg_database WHERE datname = current_database())))
  SELECT CASE
    WHEN NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()))
      THEN pg_snapshot_xmax(pg_current_snapshot())
    ELSE coalesce(
      (SELECT min(running) FROM pg_snapshot_xip(pg_current_snapshot()) AS running
        -- Passed over only if it held no lock on hub_events and is still running now, after
        -- the locks were read (CASE keeps that order): then it was running while they were.
        WHERE NOT CASE WHEN xid(running) IN (SELECT transactionid FROM not_writing)
                       THEN pg_xact_status(running) = 'in progress' ELSE false END),
      pg_snapshot_xmax(pg_current_snapshot()))
  END
$fn$;

ALTER FUNCTION hub_append_each(text[], text[], integer[], text[], text[], text[], text[])
  RENAME TO hub_append_each_unlocked;
CREATE FUNCTION hub_append_each(
  p_streams text[], p_expected text[], p_counts integer[],
  p_ids text[], p_types text[], p_data text[], p_metadata text[]
) RETURNS TABLE (request integer, outcome text, revision bigint, last_txid text, last_gpos text)
LANGUAGE plpgsql AS $fn$
BEGIN
  LOCK TABLE hub_events IN ROW EXCLUSIVE MODE;
  RETURN QUERY SELECT * FROM hub_append_each_unlocked(p_streams, p_expected, p_counts, p_ids,
    p_types, p_data, p_metadata);
END
$fn$;

ALTER FUNCTION hub_append_batch(text[], text[], integer[], text[], text[], json, json, text[], bigint[])
  RENAME TO hub_append_batch_unlocked;
CREATE FUNCTION hub_append_batch(
  p_streams text[], p_expected text[], p_counts integer[],
  p_ids text[], p_types text[], p_data json, p_metadata json,
  p_event_streams text[], p_event_revisions bigint[]
) RETURNS TABLE (request integer, outcome text, revision bigint, last_txid text, last_gpos text)
LANGUAGE plpgsql AS $fn$
BEGIN
  LOCK TABLE hub_events IN ROW EXCLUSIVE MODE;
  RETURN QUERY SELECT * FROM hub_append_batch_unlocked(p_streams, p_expected, p_counts, p_ids,
    p_types, p_data, p_metadata, p_event_streams, p_event_revisions);
END
$fn$;

CREATE INDEX hub_events_by_category
  ON hub_events ((left(stream_name, strpos(stream_name, '/'))), transaction_id, global_position)
  WHERE strpos(stream_name, '/') > 0;
`;
