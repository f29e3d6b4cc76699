"""PostgresStore's one-call write: a PL/pgSQL function assembled from the per-statement SQL.

``{s}.single_write(...)`` does in one round trip what the per-statement path
(``_postgres_txn``) does in two or three: it takes the same advisory locks in
the same order (key, transaction id, member bucket shared, member), checks the
presumptions of a :class:`~._single.SingleWrite` (key unused, transaction id
not earned, the member's state as the client saw it), then writes a credit
(entry, lot, running totals) or a debit (entry, then lots taken in consumption
order with their allocations and running totals), the member's state and the
idempotency record. When a presumption does not hold it writes nothing and
returns NULL. Every statement in its body is one of the per-statement path's,
rendered with PL/pgSQL variables (:func:`._postgres_sql.plpgsql`); the lot
rules and the consumption order come from ``_rules`` through them. Its plans
are cached per session, like those of prepared statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from customer_value.loyalty.stores._postgres_sql import (
    ALLOCATE_SQL,
    CREDIT_INSERT_SQL,
    ENTRY_INSERT_SQL,
    IDEMPOTENCY_PUT_SQL,
    MEMBER_PUT_SQL,
    NS_BUCKET,
    NS_KEY,
    NS_MEMBER,
    NS_TX,
    at_bound,
    bucket,
    hash32,
    lots_sql,
    ns_sql,
    plpgsql,
    pyformat,
    table,
    to_ts,
)
from customer_value.loyalty.stores._rules import expiry_day, open_sums_sql
from customer_value.loyalty.stores._single import SingleWrite

__all__ = ["SINGLE_WRITE_CALL", "SINGLE_WRITE_FUNCTION", "PostgresSingle"]

#: the function's parameters, in order (``v_`` + the names of the statements' parameters)
_PARAMS = (
    ("key", "text"),
    ("fp", "text"),
    ("result", "text"),
    ("created", "timestamptz"),
    ("m", "text"),
    ("expected", "jsonb"),  # the member's state as the client saw it (NULL: no member)
    ("state", "text"),  # the member's new state (NULL: unchanged)
    ("tx", "text"),
    ("lock_key", "integer"),
    ("lock_tx", "integer"),
    ("bucket", "integer"),
    ("lock_member", "integer"),
    ("k", "text"),
    ("p", "bigint"),  # > 0 a credit, < 0 a debit
    ("t", "timestamptz"),
    ("amount", "bigint"),
    ("note", "text"),
    ("a", "timestamptz"),
    ("x", "timestamptz"),
    ("d", "integer"),
    ("debt", "bigint"),
)

#: parameters of the inserts: new ids straight from the identity sequences (named after
#: their table and column by the version 1 migration; the statements' fallback through
#: ``pg_get_serial_sequence``, a catalog lookup per call, is then never evaluated)
_NEW = {
    "e": "nextval('{s}.entries_entry_id_seq')",
    "l": "nextval('{s}.lots_lot_id_seq')",
    "ref": "NULL",
    "shortfall": "0",
}


def _consume(never_expiring: bool) -> str:
    """One pass over the spendable lots in consumption order, taking ``v_left`` points."""
    lots = plpgsql(
        lots_sql(True, never_expiring, "lot_id, remaining", paged=False), {"at": "v_t", "x": "NULL"}
    )
    take = plpgsql(ALLOCATE_SQL, {"p": "v_take"})
    return f"""
    IF v_left > 0 THEN
      FOR v_lot, v_remaining IN {lots} LOOP
        v_take := least(v_remaining, v_left);
        {take};
        v_left := v_left - v_take;
        EXIT WHEN v_left = 0;
      END LOOP;
    END IF;"""


def _function() -> str:
    signature = ", ".join(f"v_{name} {kind}" for name, kind in _PARAMS)
    sums = plpgsql(
        open_sums_sql(pyformat, table, ns_sql, horizon=False, last_entry=False), {"at": "v_t"}
    )
    result = "jsonb_set(v_result::jsonb, '{entry_ids}', jsonb_build_array(v_e))::text"
    return f"""CREATE OR REPLACE FUNCTION {{s}}.single_write({signature}) RETURNS bigint[]
LANGUAGE plpgsql AS $single_write$
DECLARE
  v_e bigint;
  v_l bigint;
  v_lot bigint;
  v_remaining bigint;
  v_take bigint;
  v_left bigint;
  v_open bigint;
  v_due bigint;
  v_pending bigint;
BEGIN
  -- left to right, as the per-statement path takes them (a NULL lock_tx takes none)
  PERFORM pg_advisory_xact_lock({NS_KEY}, v_lock_key),
    pg_advisory_xact_lock({NS_TX}, v_lock_tx),
    pg_advisory_xact_lock_shared({NS_BUCKET}, v_bucket),
    pg_advisory_xact_lock({NS_MEMBER}, v_lock_member);
  IF EXISTS (SELECT 1 FROM {{s}}.idempotency WHERE key = v_key)
     OR (v_tx IS NOT NULL AND EXISTS (SELECT 1 FROM {{s}}.entries
         WHERE transaction_id = v_tx AND kind = 'earn'))
     OR (SELECT state FROM {{s}}.members WHERE member_id = v_m) IS DISTINCT FROM v_expected
  THEN
    RETURN NULL;
  END IF;
  IF v_p > 0 THEN
    {plpgsql(CREDIT_INSERT_SQL, _NEW)} INTO v_e, v_l;
  ELSE
    -- spendable = open_points - due - pending (``_balances``), less the member's debt
    SELECT q.* INTO v_open, v_due, v_pending FROM ({sums}) AS q;
    IF v_open - v_due - v_pending - v_debt < -v_p THEN
      RETURN NULL;
    END IF;
    {plpgsql(ENTRY_INSERT_SQL, _NEW)} INTO v_e;
    v_left := -v_p;{_consume(False)}{_consume(True)}
    IF v_left > 0 THEN
      RAISE EXCEPTION 'single_write: the lots of member % hold fewer spendable points than '
        'its running total', v_m;
    END IF;
  END IF;
  IF v_state IS NOT NULL THEN
    {plpgsql(MEMBER_PUT_SQL)};
  END IF;
  {plpgsql(IDEMPOTENCY_PUT_SQL, {"result": result})};
  RETURN ARRAY[v_e, v_l];
END
$single_write$"""


#: the migration statement creating the function (schema version 4)
SINGLE_WRITE_FUNCTION = _function()

#: the call, with each parameter cast to its type (one prepared statement whatever the values)
SINGLE_WRITE_CALL = (
    "SELECT {s}.single_write(" + ", ".join(f"%s::{kind}" for _, kind in _PARAMS) + ")"
)


class PostgresSingle(SingleWrite):
    """A :class:`SingleWrite` sent as one call of ``{s}.single_write``.

    ``call(params)`` runs :data:`SINGLE_WRITE_CALL` on an idle autocommit
    connection (its own durable transaction) and returns the function's result
    (``[entry_id, lot_id]`` or None); ``remember(member_id, state, json_text)`` tells
    the store the member's state after a write, ``forget(member_id)`` that it is unknown.
    """

    def __init__(
        self,
        member_id: str,
        state: dict[str, Any] | None,
        state_json: str | None,
        call: Callable[[tuple[Any, ...]], list[int] | None],
        remember: Callable[[str, dict[str, Any] | None, str | None], None],
        forget: Callable[[str], None],
    ) -> None:
        super().__init__(member_id, state)
        # the JSON text of ``state`` when the store has it (as last sent): not encoded again
        self._state_json = state_json
        self._call = call
        self._remember = remember
        self._forget = forget

    def commit(
        self,
        key: str,
        fingerprint: str,
        result_json: str,
        at: int,
        entry_ids: Sequence[int],
    ) -> tuple[int, ...] | None:
        if not self.complete(entry_ids):
            return None
        m = self.member_id
        tx = self.transaction_id
        credit, debit = self.credit, self.debit
        if credit is not None:
            if credit["transaction_id"] != tx:
                return None
            expires = credit["expires_at"]
            write: tuple[Any, ...] = (
                credit["kind"],
                credit["points"],
                to_ts(credit["at"]),
                credit["amount_minor"],
                credit["note"],
                to_ts(credit["available_at"]),
                to_ts(expires),
                None if expires is None else expiry_day(expires),
                0,
            )
        elif debit is not None:
            write = (
                debit["kind"],
                -debit["points"],
                to_ts(debit["at"]),
                None,
                debit["note"],
                None,
                None,
                None,
                debit["debt"],
            )
        else:  # pragma: no cover - complete() holds one of them
            return None
        new_state = self.new_state
        expected = self._state_json
        if expected is None and self.state is not None:
            expected = json.dumps(self.state, sort_keys=True)
        new_json = None if new_state is None else json.dumps(new_state, sort_keys=True)
        params = (
            key,
            fingerprint,
            result_json,
            at_bound(at),
            m,
            expected,
            new_json,
            tx,
            hash32(str(NS_KEY), key),
            None if tx is None else hash32(str(NS_TX), tx),
            bucket(m),
            hash32("member", m),
            *write,
        )
        ids = self._call(params)
        if ids is None:  # a presumption did not hold: nothing was written
            self._forget(m)
            return None
        if new_state is None:
            self._remember(m, self.state, expected)
        else:
            self._remember(m, new_state, new_json)
        return (int(ids[0]),)
