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
rendered with PL/pgSQL variables (:func:`._postgres_sql.plpgsql`), or several of
them as the parts of one statement (data-modifying ``WITH``: each statement a
PL/pgSQL function runs costs its executor set-up, whatever its work); the lot
rules and the consumption order come from ``_rules`` through them. Its plans
are cached per session, like those of prepared statements.

A debit reads the member's spendable lots in consumption order until they hold
the points and the member's debt, before it writes anything: their sum is the
spendable balance of ``_balances`` (``SPENDABLE`` lots), and as each open lot
holds at least one point, at most ``points + debt`` lots are read, however long
the history. Too few: nothing is written.

The idempotency record stores the operation's result with its entry id put in
as text: the client sends the result's JSON cut at the id (``result`` before,
``result_tail`` after), so the stored text is the one the per-statement path
stores, without a JSON parse on the server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from customer_value.loyalty.stores._postgres_sql import (
    ALLOCATE_SQL,
    CREDIT_CTES,
    ENTRY_INSERT_SQL,
    IDEMPOTENCY_PUT_SQL,
    MEMBER_PUT_SQL,
    NS_BUCKET,
    NS_KEY,
    NS_MEMBER,
    NS_TX,
    at_bound,
    hash32,
    lots_sql,
    member_locks,
    plpgsql,
    to_ts,
)
from customer_value.loyalty.stores._rules import expiry_day
from customer_value.loyalty.stores._single import PLACEHOLDER_ENTRY, SingleWrite

__all__ = [
    "SINGLE_WRITE_CALL",
    "SINGLE_WRITE_FUNCTION",
    "SINGLE_WRITE_V4",
    "SINGLE_WRITE_V6",
    "PostgresSingle",
    "split_result",
]

#: the function's parameters, in order (``v_`` + the names of the statements' parameters)
_PARAMS = (
    ("key", "text"),
    ("fp", "text"),
    ("result", "text"),  # the result's JSON up to its entry id
    ("result_tail", "text"),  # the rest, after the entry id
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


def _writes(entry: str, returning: str) -> str:
    """The entry's statement (CTEs ``entry`` ...) with the member's state and the
    idempotency record (the result with the new entry's id) as parts of it."""
    result = "v_result || (SELECT entry_id FROM entry) || v_result_tail"
    return (
        f"WITH {entry}, member AS ({plpgsql(MEMBER_PUT_SQL)}), "
        f"idem AS ({plpgsql(IDEMPOTENCY_PUT_SQL, {'result': result})}) {returning}"
    )


def _spendable(never_expiring: bool, indent: str) -> str:
    """One pass over the spendable lots in consumption order, gathering those that hold
    ``v_need`` points.

    The pass reads at most ``v_need - v_found`` lots (each open lot holds at least one
    point), and says so to the planner: the function's plans are cached, and after five
    calls PL/pgSQL keeps a generic plan, chosen without the member's id; where a few
    members hold most lots that plan reads all of the member's lots and sorts them (a
    redemption by a member with 50,000 lots took 16-22 ms instead of 1). With the
    ``LIMIT`` every plan walks the index of open lots in consumption order and stops.
    """
    lots = plpgsql(
        lots_sql(True, never_expiring, "lot_id, remaining", paged=False), {"at": "v_t", "x": "NULL"}
    )
    return f"""
{indent}FOR v_lot, v_remaining IN {lots} LIMIT v_need - v_found LOOP
{indent}  v_lots := v_lots || v_lot;
{indent}  v_have := v_have || v_remaining;
{indent}  v_found := v_found + v_remaining;
{indent}  EXIT WHEN v_found >= v_need;
{indent}END LOOP;"""


def _function() -> str:
    signature = ", ".join(f"v_{name} {kind}" for name, kind in _PARAMS)
    credit = _writes(plpgsql(CREDIT_CTES, _NEW), "SELECT entry_id, lot_id FROM lot INTO v_e, v_l")
    debit = _writes(
        f"entry AS ({plpgsql(ENTRY_INSERT_SQL, _NEW)})", "SELECT entry_id FROM entry INTO v_e"
    )
    take = plpgsql(ALLOCATE_SQL, {"p": "v_take", "lot": "v_lots[v_i]"})
    return f"""CREATE OR REPLACE FUNCTION {{s}}.single_write({signature}) RETURNS bigint[]
LANGUAGE plpgsql AS $single_write$
DECLARE
  v_e bigint;
  v_l bigint;
  v_lot bigint;
  v_remaining bigint;
  v_lots bigint[] := '{{}}';
  v_have bigint[] := '{{}}';
  v_found bigint := 0;
  v_need bigint;
  v_left bigint;
  v_take bigint;
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
    {credit};
    RETURN ARRAY[v_e, v_l];
  END IF;
  -- spendable (``_balances``) less the member's debt must cover the points: the lots
  -- holding points + debt, in consumption order, read before anything is written
  v_need := v_debt - v_p;{_spendable(False, "  ")}
  IF v_found < v_need THEN{_spendable(True, "    ")}
    IF v_found < v_need THEN
      RETURN NULL;
    END IF;
  END IF;
  {debit};
  v_left := -v_p;
  FOR v_i IN 1 .. cardinality(v_lots) LOOP
    v_take := least(v_have[v_i], v_left);
    {take};
    v_left := v_left - v_take;
    EXIT WHEN v_left = 0;
  END LOOP;
  RETURN ARRAY[v_e, NULL];
END
$single_write$"""


#: the migration statement that created the function at schema version 4 (frozen: a
#: deployed database at version 3 migrates through it; later versions replace it)
SINGLE_WRITE_V4 = resources.files(__package__).joinpath("_postgres_v4.sql").read_text()

#: the migration statement that created the function at schema version 6 (frozen: a
#: database at version 5 migrates through it; version 7 replaces it)
SINGLE_WRITE_V6 = resources.files(__package__).joinpath("_postgres_v6.sql").read_text()

#: the migration statement creating (from version 7: replacing) the function
SINGLE_WRITE_FUNCTION = _function()

#: the call, with each parameter cast to its type (one prepared statement whatever the values)
SINGLE_WRITE_CALL = (
    "SELECT {s}.single_write(" + ", ".join(f"%s::{kind}" for _, kind in _PARAMS) + ")"
)

#: ``json.dumps(..., sort_keys=True)`` without building an encoder per call (same text)
_encode = json.JSONEncoder(sort_keys=True).encode

#: where a result's JSON holds the placeholder of its entry id (group 1)
_ENTRY_IDS = re.compile(r'"entry_ids":\s*\[(' + str(PLACEHOLDER_ENTRY) + r")\]")


def split_result(result_json: str) -> tuple[str, str] | None:
    """The JSON text of a result before and after its one entry id (a placeholder).

    None when the text does not hold the placeholder exactly once as the value of
    ``entry_ids`` (the operation then takes the per-statement path). A JSON string
    cannot hold ``"entry_ids":`` unescaped, so the one match is the key itself.

    Examples
    --------
    >>> from customer_value.loyalty.stores._postgres_single import split_result
    >>> split_result('{"entry_ids": [-1], "points": 5}')
    ('{"entry_ids": [', '], "points": 5}')
    >>> split_result('{"entry_ids": [-1, -1]}') is None
    True
    """
    found = list(_ENTRY_IDS.finditer(result_json))
    if len(found) != 1:
        return None
    cut = found[0]
    return result_json[: cut.start(1)], result_json[cut.end(1) :]


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
        parts = split_result(result_json)
        if parts is None:
            return None
        new_state = self.new_state
        member_lock, member_bucket = member_locks(m)
        expected = self._state_json
        if expected is None and self.state is not None:
            expected = _encode(self.state)
        new_json = None if new_state is None else _encode(new_state)
        params = (
            key,
            fingerprint,
            *parts,
            at_bound(at),
            m,
            expected,
            new_json,
            tx,
            hash32(str(NS_KEY), key),
            None if tx is None else hash32(str(NS_TX), tx),
            member_bucket,
            member_lock,
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
