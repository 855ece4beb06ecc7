/**
 * A lighter append for the publishing load (npm run bench:hub), where every event is a new
 * stream of its own:
 * - New streams are created with INSERT ... ON CONFLICT DO NOTHING and no look-up before it; the
 *   requests whose stream existed after all (resends, conflicts) are answered by hub_append_each.
 *   Streams expected at a revision are still locked and checked first, in stream-name order.
 * - Event data and metadata are stored as json, not jsonb: the store never looks inside them, and
 *   json is kept as sent (validated, not converted), so appends parse less and reads send the
 *   text as it is. Parameters arrive as json arrays for the same reason.
 * - Stream names compare bytewise (COLLATE "C"): locale-aware comparison of every index key
 *   bought nothing, as stream names have no linguistic order.
 */
export const lighterAppendSchema = `
ALTER TABLE hub_streams ALTER COLUMN stream_name TYPE text COLLATE "C";
ALTER TABLE hub_events
  ALTER COLUMN stream_name TYPE text COLLATE "C",
  ALTER COLUMN data TYPE json USING data::json,
  ALTER COLUMN metadata TYPE json USING metadata::json;

CREATE OR REPLACE FUNCTION hub_append_each(
  p_streams text[], p_expected text[], p_counts integer[],
  p_ids text[], p_types text[], p_data text[], p_metadata text[]
) RETURNS TABLE (request integer, outcome text, revision bigint, last_txid text, last_gpos text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_offset integer := 0;
  v_count integer;
  v_stream text;
  v_expected text;
  v_current bigint;
  v_exists boolean;
  v_check_from bigint;
  v_matches integer;
  v_start bigint;
  v_gpos bigint;
  v_txid text;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
    v_stream := p_streams[i];
    v_count := p_counts[i];
    v_expected := p_expected[i];
    request := i;
    <<attempt>>
    LOOP
      SELECT s.revision INTO v_current FROM hub_streams s WHERE s.stream_name = v_stream FOR UPDATE;
      v_exists := FOUND;
      IF NOT v_exists THEN v_current := NULL; END IF;

      -- Where this request's events would already be if it had been applied before.
      v_check_from := CASE
        WHEN v_expected = 'no_stream' THEN CASE WHEN v_exists THEN 0 END
        WHEN v_expected IN ('any', 'stream_exists') THEN CASE WHEN v_exists THEN v_current - v_count + 1 END
        WHEN v_exists AND v_current <> v_expected::bigint THEN v_expected::bigint + 1
      END;
      IF v_check_from IS NOT NULL AND v_check_from >= 0 THEN
        SELECT count(*), max(e.stream_revision) INTO v_matches, v_start
          FROM generate_series(1, v_count) AS k
          JOIN hub_events e ON e.stream_name = v_stream
                           AND e.stream_revision = v_check_from + k - 1
                           AND e.event_id = p_ids[v_offset + k]::uuid;
        IF v_matches = v_count THEN
          SELECT e.transaction_id::text, e.global_position::text INTO last_txid, last_gpos
            FROM hub_events e WHERE e.stream_name = v_stream AND e.stream_revision = v_start;
          outcome := 'idempotent'; revision := v_start;
          RETURN NEXT;
          EXIT attempt;
        END IF;
      END IF;

      IF (v_expected = 'no_stream' AND v_exists)
         OR (v_expected = 'stream_exists' AND NOT v_exists)
         OR (v_expected NOT IN ('any', 'no_stream', 'stream_exists')
             AND v_current IS DISTINCT FROM v_expected::bigint
             AND NOT (NOT v_exists AND v_expected::bigint = -1)) THEN
        outcome := 'conflict'; revision := v_current; last_txid := NULL; last_gpos := NULL;
        RETURN NEXT;
        EXIT attempt;
      END IF;

      IF v_exists THEN
        UPDATE hub_streams SET revision = v_current + v_count WHERE stream_name = v_stream;
        v_start := v_current + 1;
      ELSE
        INSERT INTO hub_streams (stream_name, revision) VALUES (v_stream, v_count - 1)
          ON CONFLICT (stream_name) DO NOTHING;
        -- A concurrent transaction created the stream first: check again against its revision.
        CONTINUE attempt WHEN NOT FOUND;
        v_start := 0;
      END IF;

      WITH inserted AS (
        INSERT INTO hub_events (stream_name, stream_revision, event_id, event_type, data, metadata)
        SELECT v_stream, v_start + k - 1, p_ids[v_offset + k]::uuid, p_types[v_offset + k],
               p_data[v_offset + k]::json, p_metadata[v_offset + k]::json
          FROM generate_series(1, v_count) AS k
         ORDER BY k
        RETURNING global_position
      )
      SELECT max(global_position) INTO v_gpos FROM inserted;

      v_txid := pg_current_xact_id()::text;
      outcome := 'ok'; revision := v_start + v_count - 1; last_txid := v_txid; last_gpos := v_gpos::text;
      RETURN NEXT;
      EXIT attempt;
    END LOOP;
    v_offset := v_offset + v_count;
  END LOOP;
END
$fn$;

DROP FUNCTION hub_append_batch(text[], text[], integer[], text[], text[], jsonb, jsonb, text[], bigint[]);
CREATE FUNCTION hub_append_batch(
  p_streams text[], p_expected text[], p_counts integer[],
  p_ids text[], p_types text[], p_data json, p_metadata json,
  p_event_streams text[], p_event_revisions bigint[]
) RETURNS TABLE (request integer, outcome text, revision bigint, last_txid text, last_gpos text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_requests integer := coalesce(array_length(p_streams, 1), 0);
  v_fits boolean;
  v_new integer;
  -- Requests for a new stream that turned out to exist: answered by hub_append_each below.
  v_late integer[] := '{}';
  v_late_streams text[] := '{}';
  v_created text[];
BEGIN
  IF v_requests = 0 THEN RETURN; END IF;
  SELECT count(DISTINCT r.s) = v_requests AND NOT bool_or(r.e IN ('any', 'stream_exists')),
         count(*) FILTER (WHERE r.e = 'no_stream')
    INTO v_fits, v_new
    FROM unnest(p_streams, p_expected) AS r(s, e);
  -- Streams expected at a revision: locked as they are checked, in stream-name order, so
  -- concurrent batches lock in one order whatever order their requests arrived in.
  IF v_fits AND v_new < v_requests THEN
    SELECT bool_and(coalesce(h.revision = r.e::bigint, false))
      INTO v_fits
      FROM (SELECT u.s, u.e FROM unnest(p_streams, p_expected) AS u(s, e)
             WHERE u.e <> 'no_stream' ORDER BY u.s) r
      LEFT JOIN LATERAL (SELECT hs.revision FROM hub_streams hs WHERE hs.stream_name = r.s FOR UPDATE) h ON true;
  END IF;
  IF v_fits IS NOT TRUE THEN
    RETURN QUERY SELECT * FROM hub_append_each(p_streams, p_expected, p_counts, p_ids, p_types,
      ARRAY(SELECT x.d::text FROM json_array_elements(p_data) WITH ORDINALITY AS x(d, k) ORDER BY x.k),
      ARRAY(SELECT x.m::text FROM json_array_elements(p_metadata) WITH ORDINALITY AS x(m, k) ORDER BY x.k));
    RETURN;
  END IF;
  -- New streams are created without looking first: the insert itself finds those that exist
  -- (a resend, or a concurrent creator, whose commit it waits for).
  IF v_new > 0 THEN
    WITH created AS (
      INSERT INTO hub_streams (stream_name, revision)
      SELECT r.s, r.c - 1 FROM unnest(p_streams, p_expected, p_counts) AS r(s, e, c)
       WHERE r.e = 'no_stream' ORDER BY r.s
      ON CONFLICT (stream_name) DO NOTHING
      RETURNING stream_name)
    SELECT coalesce(array_agg(c.stream_name), '{}') INTO v_created FROM created c;
    IF cardinality(v_created) < v_new THEN
      SELECT array_agg(r.i::integer ORDER BY r.i), array_agg(r.s ORDER BY r.i)
        INTO v_late, v_late_streams
        FROM unnest(p_streams, p_expected) WITH ORDINALITY AS r(s, e, i)
       WHERE r.e = 'no_stream' AND NOT r.s = ANY (v_created);
    END IF;
  END IF;
  -- Row by row through the primary key (rows this transaction has locked already).
  FOR i IN 1 .. v_requests LOOP
    IF p_expected[i] <> 'no_stream' THEN
      UPDATE hub_streams hs SET revision = hs.revision + p_counts[i]
       WHERE hs.stream_name = p_streams[i];
    END IF;
  END LOOP;
  RETURN QUERY
  WITH inserted AS (
    -- In arrival order: the order the log gives the events.
    INSERT INTO hub_events (stream_name, stream_revision, event_id, event_type, data, metadata)
    SELECT ev.s, ev.r, ev.id::uuid, ev.t, d.v, m.v
      FROM unnest(p_event_streams, p_event_revisions, p_ids, p_types) WITH ORDINALITY AS ev(s, r, id, t, k)
      JOIN json_array_elements(p_data) WITH ORDINALITY AS d(v, k) ON d.k = ev.k
      JOIN json_array_elements(p_metadata) WITH ORDINALITY AS m(v, k) ON m.k = ev.k
     WHERE NOT ev.s = ANY (v_late_streams)
     ORDER BY ev.k
    RETURNING stream_name, stream_revision, global_position
  ), req AS (
    SELECT r.i::integer AS i, r.s,
           CASE WHEN r.e = 'no_stream' THEN r.c - 1 ELSE r.e::bigint + r.c END AS last_revision
      FROM unnest(p_streams, p_expected, p_counts) WITH ORDINALITY AS r(s, e, c, i)
  )
  SELECT req.i, 'ok'::text, req.last_revision, pg_current_xact_id()::text, ins.global_position::text
    FROM req JOIN inserted ins ON ins.stream_name = req.s AND ins.stream_revision = req.last_revision
   ORDER BY req.i;
  IF cardinality(v_late) > 0 THEN
    -- Their streams exist, so these requests append nothing: each is a resend or a conflict.
    RETURN QUERY
    SELECT v_late[x.request], x.outcome, x.revision, x.last_txid, x.last_gpos
      FROM hub_append_each(
        v_late_streams,
        ARRAY(SELECT 'no_stream' FROM unnest(v_late)),
        ARRAY(SELECT p_counts[l.i] FROM unnest(v_late) WITH ORDINALITY AS l(i, o) ORDER BY l.o),
        ARRAY(SELECT ev.id FROM unnest(p_event_streams, p_ids) WITH ORDINALITY AS ev(s, id, k)
               WHERE ev.s = ANY (v_late_streams) ORDER BY array_position(v_late_streams, ev.s), ev.k),
        ARRAY(SELECT ev.t FROM unnest(p_event_streams, p_types) WITH ORDINALITY AS ev(s, t, k)
               WHERE ev.s = ANY (v_late_streams) ORDER BY array_position(v_late_streams, ev.s), ev.k),
        ARRAY(SELECT d.v::text FROM unnest(p_event_streams) WITH ORDINALITY AS ev(s, k)
               JOIN json_array_elements(p_data) WITH ORDINALITY AS d(v, k) ON d.k = ev.k
               WHERE ev.s = ANY (v_late_streams) ORDER BY array_position(v_late_streams, ev.s), ev.k),
        ARRAY(SELECT m.v::text FROM unnest(p_event_streams) WITH ORDINALITY AS ev(s, k)
               JOIN json_array_elements(p_metadata) WITH ORDINALITY AS m(v, k) ON m.k = ev.k
               WHERE ev.s = ANY (v_late_streams) ORDER BY array_position(v_late_streams, ev.s), ev.k)
      ) AS x;
  END IF;
END
$fn$;
`;
