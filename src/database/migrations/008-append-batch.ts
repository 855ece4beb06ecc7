/**
 * hub_append_batch replaces hub_append, for two reasons measured with npm run bench:hub:
 * - Event data and metadata arrive as two JSON arrays, parsed once as jsonb. As text[] the driver
 *   escaped every quote of every document into an array literal and PostgreSQL unescaped it
 *   again, a large part of an append's cost.
 * - Events enter the log in arrival order. hub_append wrote them in stream-name order (the caller
 *   sorted the requests so that overlapping transactions locked streams in one order), so a
 *   publisher's batch of events, one stream each, entered the log sorted by EventId. The locks are
 *   now taken in stream-name order by the statement that checks the expectations.
 * The request-by-request path (conflicts, repeated streams) is unchanged.
 */
export const appendBatchSchema = `
DROP FUNCTION hub_append(text[], text[], integer[], text[], text[], text[], text[], text[], bigint[]);
CREATE FUNCTION hub_append_batch(
  p_streams text[], p_expected text[], p_counts integer[],
  p_ids text[], p_types text[], p_data jsonb, p_metadata jsonb,
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
  -- Locks each existing stream row as it checks it, in stream-name order, so concurrent
  -- batches lock in one order whatever order their requests arrived in.
  SELECT count(DISTINCT r.s) = v_requests
         AND bool_and(coalesce(CASE WHEN r.e = 'no_stream' THEN h.revision IS NULL
                                    WHEN r.e IN ('any', 'stream_exists') THEN false
                                    ELSE h.revision = r.e::bigint END, false)),
         count(*) FILTER (WHERE r.e = 'no_stream')
    INTO v_fits, v_new
    FROM (SELECT u.s, u.e FROM unnest(p_streams, p_expected) AS u(s, e) ORDER BY u.s) r
    LEFT JOIN LATERAL (SELECT hs.revision FROM hub_streams hs WHERE hs.stream_name = r.s FOR UPDATE) h ON true;
  IF v_fits IS NOT TRUE THEN
    RETURN QUERY SELECT * FROM hub_append_each(p_streams, p_expected, p_counts, p_ids, p_types,
      ARRAY(SELECT x.d::text FROM jsonb_array_elements(p_data) WITH ORDINALITY AS x(d, k) ORDER BY x.k),
      ARRAY(SELECT x.m::text FROM jsonb_array_elements(p_metadata) WITH ORDINALITY AS x(m, k) ORDER BY x.k));
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
      JOIN jsonb_array_elements(p_data) WITH ORDINALITY AS d(v, k) ON d.k = ev.k
      JOIN jsonb_array_elements(p_metadata) WITH ORDINALITY AS m(v, k) ON m.k = ev.k
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
END
$fn$;
`;
