/**
 * The event log. Global order is (transaction_id, global_position): a reader only reads rows of
 * transactions older than the oldest still running (pg_snapshot_xmin), so a transaction that
 * took its sequence values early but commits late is never skipped.
 *
 * hub_append applies a batch of independent append requests in one transaction. Each request
 * keeps its own expected-revision check: a conflicting request writes nothing and reports
 * 'conflict' while the others commit. That lets the store coalesce concurrent appends.
 */
export const eventStoreSchema = `
CREATE TABLE hub_streams (
  stream_name text PRIMARY KEY,
  revision bigint NOT NULL
);

CREATE TABLE hub_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_name text NOT NULL,
  stream_revision bigint NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_name, stream_revision)
);

CREATE INDEX hub_events_global_order ON hub_events (transaction_id, global_position);

-- Request by request: idempotent re-appends, conflicts, 'any', repeated streams. The general path.
-- p_expected per request: 'any', 'no_stream', 'stream_exists' or a revision number as text.
CREATE FUNCTION hub_append_each(
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
               p_data[v_offset + k]::jsonb, p_metadata[v_offset + k]::jsonb
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

-- The usual batch (distinct streams, each new or at exactly the expected revision) in a few
-- set-based statements; anything else goes request by request. For this path the caller has
-- already given each event its stream and revision (p_event_streams, p_event_revisions), which
-- hold exactly when the expectations check out.
CREATE FUNCTION hub_append(
  p_streams text[], p_expected text[], p_counts integer[],
  p_ids text[], p_types text[], p_data text[], p_metadata text[],
  p_event_streams text[], p_event_revisions bigint[]
) RETURNS TABLE (request integer, outcome text, revision bigint, last_txid text, last_gpos text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_requests integer := coalesce(array_length(p_streams, 1), 0);
  v_fits boolean;
  v_new integer;
  v_created integer;
BEGIN
  IF v_requests = 0 THEN RETURN; END IF;
  -- Locks each existing stream row as it checks it; callers send requests sorted by stream
  -- name, so concurrent batches lock in one order.
  SELECT count(DISTINCT r.s) = v_requests
         AND bool_and(coalesce(CASE WHEN r.e = 'no_stream' THEN h.revision IS NULL
                                    WHEN r.e IN ('any', 'stream_exists') THEN false
                                    ELSE h.revision = r.e::bigint END, false)),
         count(*) FILTER (WHERE r.e = 'no_stream')
    INTO v_fits, v_new
    FROM unnest(p_streams, p_expected) AS r(s, e)
    LEFT JOIN LATERAL (SELECT hs.revision FROM hub_streams hs WHERE hs.stream_name = r.s FOR UPDATE) h ON true;
  IF v_fits IS NOT TRUE THEN
    RETURN QUERY SELECT * FROM hub_append_each(p_streams, p_expected, p_counts, p_ids, p_types, p_data, p_metadata);
    RETURN;
  END IF;
  IF v_new > 0 THEN
    INSERT INTO hub_streams (stream_name, revision)
    SELECT r.s, r.c - 1 FROM unnest(p_streams, p_expected, p_counts) AS r(s, e, c)
     WHERE r.e = 'no_stream' ORDER BY r.s
    ON CONFLICT (stream_name) DO NOTHING;
    GET DIAGNOSTICS v_created = ROW_COUNT;
    -- Another transaction created one of these streams meanwhile: the caller retries the
    -- requests one by one, which reports the conflict (or the idempotent re-append) properly.
    IF v_created <> v_new THEN
      RAISE EXCEPTION 'a stream of this batch was created concurrently' USING ERRCODE = '40001';
    END IF;
  END IF;
  UPDATE hub_streams h SET revision = h.revision + r.c
    FROM unnest(p_streams, p_expected, p_counts) AS r(s, e, c)
   WHERE h.stream_name = r.s AND r.e <> 'no_stream';
  RETURN QUERY
  WITH inserted AS (
    INSERT INTO hub_events (stream_name, stream_revision, event_id, event_type, data, metadata)
    SELECT ev.s, ev.r, ev.id::uuid, ev.t, ev.d::jsonb, ev.m::jsonb
      FROM unnest(p_event_streams, p_event_revisions, p_ids, p_types, p_data, p_metadata)
           AS ev(s, r, id, t, d, m)
    RETURNING stream_name, stream_revision, global_position
  ), req AS (
    SELECT r.i::integer AS i, r.s,
           CASE WHEN r.e = 'no_stream' THEN r.c - 1 ELSE r.e::bigint + r.c END AS last_revision
      FROM unnest(p_streams, p_expected, p_counts) WITH ORDINALITY AS r(s, e, c, i)
  )
  SELECT req.i, 'ok'::text, req.last_revision, pg_current_xact_id()::text, ins.global_position::text
    FROM req JOIN inserted ins ON ins.stream_name = req.s AND ins.stream_revision = req.last_revision
   ORDER BY req.i;
END
$fn$;
`;
