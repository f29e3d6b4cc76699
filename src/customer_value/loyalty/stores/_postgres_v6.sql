CREATE FUNCTION {s}.single_write(v_key text, v_fp text, v_result text, v_result_tail text, v_created timestamptz, v_m text, v_expected jsonb, v_state text, v_tx text, v_lock_key integer, v_lock_tx integer, v_bucket integer, v_lock_member integer, v_k text, v_p bigint, v_t timestamptz, v_amount bigint, v_note text, v_a timestamptz, v_x timestamptz, v_d integer, v_debt bigint) RETURNS bigint[]
LANGUAGE plpgsql AS $single_write$
DECLARE
  v_e bigint;
  v_l bigint;
  v_lot bigint;
  v_remaining bigint;
  v_lots bigint[] := '{}';
  v_have bigint[] := '{}';
  v_found bigint := 0;
  v_need bigint;
  v_left bigint;
  v_take bigint;
BEGIN
  -- left to right, as the per-statement path takes them (a NULL lock_tx takes none)
  PERFORM pg_advisory_xact_lock(1280901123, v_lock_key),
    pg_advisory_xact_lock(1280901124, v_lock_tx),
    pg_advisory_xact_lock_shared(1280901121, v_bucket),
    pg_advisory_xact_lock(1280901122, v_lock_member);
  IF EXISTS (SELECT 1 FROM {s}.idempotency WHERE key = v_key)
     OR (v_tx IS NOT NULL AND EXISTS (SELECT 1 FROM {s}.entries
         WHERE transaction_id = v_tx AND kind = 'earn'))
     OR (SELECT state FROM {s}.members WHERE member_id = v_m) IS DISTINCT FROM v_expected
  THEN
    RETURN NULL;
  END IF;
  IF v_p > 0 THEN
    WITH entry AS (INSERT INTO {s}.entries (entry_id, member_id, kind, points, at, amount_minor, transaction_id, reference, note) VALUES (COALESCE(nextval('{s}.entries_entry_id_seq')::bigint, nextval(pg_get_serial_sequence('{s}.entries', 'entry_id'))), v_m, v_k, v_p, v_t, v_amount, v_tx, NULL, v_note) RETURNING entry_id), lot AS (INSERT INTO {s}.lots (lot_id, member_id, entry_id, earned_at, available_at, expires_at, points, remaining) SELECT COALESCE(nextval('{s}.lots_lot_id_seq')::bigint, nextval(pg_get_serial_sequence('{s}.lots', 'lot_id'))), v_m, entry_id, v_t, v_a, v_x, v_p, v_p FROM entry RETURNING entry_id, lot_id), open AS (INSERT INTO {s}.balances AS b (member_id, open_points) VALUES (v_m, v_p) ON CONFLICT (member_id) DO UPDATE SET open_points = b.open_points + excluded.open_points), days AS (INSERT INTO {s}.expiry_days AS d (member_id, day, points) SELECT v_m, v_d, v_p WHERE v_d::integer IS NOT NULL ON CONFLICT (member_id, day) DO UPDATE SET points = d.points + excluded.points), member AS (INSERT INTO {s}.members (member_id, state) SELECT v_m, v_state::jsonb WHERE v_state::text IS NOT NULL ON CONFLICT (member_id) DO UPDATE SET state = excluded.state), idem AS (INSERT INTO {s}.idempotency (key, fingerprint, result, created_at) VALUES (v_key, v_fp, v_result || (SELECT entry_id FROM entry) || v_result_tail, v_created)) SELECT entry_id, lot_id FROM lot INTO v_e, v_l;
    RETURN ARRAY[v_e, v_l];
  END IF;
  -- spendable (``_balances``) less the member's debt must cover the points: the lots
  -- holding points + debt, in consumption order, read before anything is written
  v_need := v_debt - v_p;
  FOR v_lot, v_remaining IN SELECT lot_id, remaining FROM {s}.lots WHERE member_id = v_m AND expires_at IS NOT NULL AND (has_points AND (expires_at IS NULL OR expires_at > v_t) AND available_at <= v_t) AND entry_id IS DISTINCT FROM NULL::bigint ORDER BY expires_at, earned_at, lot_id LOOP
    v_lots := v_lots || v_lot;
    v_have := v_have || v_remaining;
    v_found := v_found + v_remaining;
    EXIT WHEN v_found >= v_need;
  END LOOP;
  IF v_found < v_need THEN
    FOR v_lot, v_remaining IN SELECT lot_id, remaining FROM {s}.lots WHERE member_id = v_m AND expires_at IS NULL AND (has_points AND (expires_at IS NULL OR expires_at > v_t) AND available_at <= v_t) AND entry_id IS DISTINCT FROM NULL::bigint ORDER BY earned_at, lot_id LOOP
      v_lots := v_lots || v_lot;
      v_have := v_have || v_remaining;
      v_found := v_found + v_remaining;
      EXIT WHEN v_found >= v_need;
    END LOOP;
    IF v_found < v_need THEN
      RETURN NULL;
    END IF;
  END IF;
  WITH entry AS (INSERT INTO {s}.entries (entry_id, member_id, kind, points, at, amount_minor, transaction_id, reference, shortfall, note) VALUES (COALESCE(nextval('{s}.entries_entry_id_seq')::bigint, nextval(pg_get_serial_sequence('{s}.entries', 'entry_id'))), v_m, v_k, v_p, v_t, v_amount, v_tx, NULL, 0, v_note) RETURNING entry_id), member AS (INSERT INTO {s}.members (member_id, state) SELECT v_m, v_state::jsonb WHERE v_state::text IS NOT NULL ON CONFLICT (member_id) DO UPDATE SET state = excluded.state), idem AS (INSERT INTO {s}.idempotency (key, fingerprint, result, created_at) VALUES (v_key, v_fp, v_result || (SELECT entry_id FROM entry) || v_result_tail, v_created)) SELECT entry_id FROM entry INTO v_e;
  v_left := -v_p;
  FOR v_i IN 1 .. cardinality(v_lots) LOOP
    v_take := least(v_have[v_i], v_left);
    WITH taken AS (UPDATE {s}.lots SET remaining = remaining - v_take WHERE lot_id = v_lots[v_i] RETURNING lot_id, member_id, expires_at), open AS (UPDATE {s}.balances b SET open_points = b.open_points - v_take FROM taken WHERE b.member_id = taken.member_id), days AS (UPDATE {s}.expiry_days d SET points = d.points - v_take FROM taken WHERE d.member_id = taken.member_id AND d.day = (((taken.expires_at) AT TIME ZONE 'UTC')::date - DATE '1970-01-01')) INSERT INTO {s}.allocations (entry_id, lot_id, points) SELECT v_e, lot_id, v_take FROM taken;
    v_left := v_left - v_take;
    EXIT WHEN v_left = 0;
  END LOOP;
  RETURN ARRAY[v_e, NULL];
END
$single_write$