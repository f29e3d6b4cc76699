"""PostgresStore internals: the per-operation transaction (advisory locks, round trips)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from customer_value.errors import StoreError
from customer_value.loyalty.stores._balances import (
    FIRST_BATCH,
    OpenSums,
    Undone,
    in_expiry_order,
    undone_rows,
    undone_sql,
)
from customer_value.loyalty.stores._balances import (
    open_sums as sums_of,
)
from customer_value.loyalty.stores._contract import (
    ENTRY_COLUMNS,
    LOT_COLUMNS,
    EntryRow,
    LotRow,
    StoreTransaction,
)
from customer_value.loyalty.stores._postgres_bulk import bulk_earn
from customer_value.loyalty.stores._postgres_sql import (
    ALLOCATE_SQL,
    CREDIT_INSERT_SQL,
    CREDIT_TOTALS,
    DEBIT_SQL,
    EARN_BY_TX_SQL,
    ENTRY_INSERT_SQL,
    ENTRY_SELECT,
    IDEMPOTENCY_PUT_SQL,
    LOT_SELECT,
    MEMBER_PUT_SQL,
    NS_BUCKET,
    NS_KEY,
    NS_MEMBER,
    NS_TX,
    PREFETCH_SQL,
    STORED,
    SUMS_NOW_SQL,
    SUMS_SQL,
    Sql,
    at_bound,
    bucket,
    hash32,
    lots_sql,
    member_locks,
    ns_sql,
    pyformat,
    select,
    table,
    to_ts,
)
from customer_value.loyalty.stores._rules import (
    DUE,
    HAS_POINTS,
    expiry_day,
    expiry_key,
    expiry_window,
)

if TYPE_CHECKING:
    import psycopg

    from customer_value.loyalty.stores._batch import EarnBatch

__all__ = ["PostgresTransaction"]


class PostgresTransaction(StoreTransaction):
    """One READ COMMITTED transaction that locks a member before reading its rows.

    Round trips are what a write costs on a server (each one a network wait and a
    wake-up of both processes), so statements whose answer the ledger does not
    need at once - the locks, ``BEGIN``, writes without a returned id - are queued
    and sent in one pipeline with the next statement whose rows it needs (or with
    ``COMMIT``). The server still runs them one after the other, each ``READ
    COMMITTED`` statement with a fresh snapshot, so a read queued after a lock
    sees what the lock's previous holder committed. An error in a queued
    statement aborts the transaction and is raised at that next round trip at
    the latest (before ``COMMIT`` succeeds): nothing is written.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        sql: Sql,
        *,
        locking: bool = True,
        begin: str | None = None,
    ) -> None:
        self.conn = self._conn = conn
        self._q = sql
        self._locking = locking  # False in read-only snapshots (balances, reports)
        self._members: set[str] = set()
        self._buckets: set[int] = set()
        self._keys: set[tuple[int, int]] = set()
        # statements sent with the next round trip (``begin``: this object opens the
        # transaction itself, its BEGIN travels with the first statements)
        self._queue: list[tuple[str, Any]] = [] if begin is None else [(begin, None)]
        # advisory locks not sent yet: one statement takes them all, in this order
        self._locks: list[tuple[str, int, int]] = []
        # what prefetch() read after taking the locks (answers the first reads)
        self._idem: dict[str, tuple[str, str] | None] = {}
        self._states: dict[str, dict[str, Any] | None] = {}
        self._earns: dict[str, EntryRow | None] = {}
        # ids drawn ahead by prefetch: a write using them need not wait for RETURNING
        self._new_entries: list[int] = []
        self._new_lots: list[int] = []

    @property
    def states(self) -> dict[str, dict[str, Any] | None]:
        """The members' states this transaction read or wrote (None: no such member)."""
        return self._states

    # ------------------------------------------------------------------ round trips
    def send(self, query: str, params: Any = None) -> None:
        """Queue a statement whose result is not needed (sent with the next round trip)."""
        self._send_locks()
        self._queue.append((self._q(query), params))

    def _lock(self, function: str, namespace: int, value: int) -> None:
        self._locks.append((function, namespace, value))

    def _send_locks(self) -> None:
        # the functions of a SELECT list run left to right: the locks are taken in the
        # order they were asked for
        if self._locks:
            calls = ", ".join(f"{fn}(%s, %s)" for fn, _, _ in self._locks)
            params = [v for _, namespace, value in self._locks for v in (namespace, value)]
            self._locks = []
            self._queue.append((f"SELECT {calls}", params))

    def _fetch_all(self, queries: Sequence[tuple[str, Any]]) -> list[list[Any]]:
        """The rows of each query, in one round trip with everything queued before."""
        self._send_locks()
        pending, self._queue = self._queue, []
        if len(pending) + len(queries) == 1:
            query, params = (pending or [(self._q(q), p) for q, p in queries])[0]
            cur = self._conn.execute(query, params)
            return [cur.fetchall()] if queries else []
        with self._conn.pipeline():
            for query, params in pending:
                self._conn.execute(query, params)
            cursors = [self._conn.execute(self._q(q), p) for q, p in queries]
        return [cur.fetchall() for cur in cursors]

    def fetch(self, query: str, params: Any = None) -> list[Any]:
        """The rows of one query (``{s}`` the schema), with what is queued, in one round trip."""
        return self._fetch_all([(query, params)])[0]

    def _one(self, query: str, params: Any = None) -> Any:
        rows = self.fetch(query, params)
        return rows[0] if rows else None

    def flush(self, final: str | None = None) -> None:
        """Send what is queued (and ``final``, ``COMMIT``) in one round trip."""
        if final is not None:
            self._queue.append((final, None))
        self._fetch_all([])

    # ------------------------------------------------------------------ locks
    def _lock_key(self, namespace: int, value: str) -> None:
        key = (namespace, hash32(str(namespace), value))
        if self._locking and key not in self._keys:
            self._lock("pg_advisory_xact_lock", *key)
            self._keys.add(key)

    def _lock_member(self, member_id: str) -> None:
        # every read of a member's rows comes after this lock: READ COMMITTED then sees
        # what the previous holder committed (one fresh snapshot per statement)
        if member_id in self._members or not self._locking:
            return
        key, number = member_locks(member_id)
        if number in self._buckets:
            self._members.add(member_id)
            return
        self._lock("pg_advisory_xact_lock_shared", NS_BUCKET, number)
        self._lock("pg_advisory_xact_lock", NS_MEMBER, key)
        self._members.add(member_id)

    def lock_many(self, member_ids: Sequence[str]) -> None:
        # bulk writers take whole buckets exclusively, in ascending order (no deadlock
        # between bulk writers); single-member writers hold their bucket shared
        wanted = sorted({bucket(m) for m in member_ids if m not in self._members} - self._buckets)
        if wanted and self._locking:
            self.send(
                "SELECT count(pg_advisory_xact_lock(%s, b)) "
                "FROM (SELECT unnest(%s::int[]) AS b ORDER BY 1) AS ordered",
                (NS_BUCKET, wanted),
            )
            self._buckets.update(wanted)
        self._members.update(member_ids)

    def prefetch(
        self,
        key: str,
        member_ids: Sequence[str] = (),
        transaction_id: str | None = None,
        *,
        entries: int = 0,
        lots: int = 0,
    ) -> None:
        # the locks in the order the reads would take them (key, transaction, members),
        # then one statement reading the key, the earn and the first member (and drawing
        # the ids of an entry and a lot), in one trip
        self._lock_key(NS_KEY, key)
        if transaction_id is not None:
            self._lock_key(NS_TX, transaction_id)
        member = next((m for m in member_ids if m not in self._states), None)
        if member is not None:
            self._lock_member(member)
        params = {"k": key, "m": member, "tx": transaction_id, "ne": entries > 0, "nl": lots > 0}
        row = self._one(PREFETCH_SQL, params)
        self._idem[key] = None if row[0] is None else (str(row[0]), str(row[1]))
        if member is not None:
            self._states[member] = None if row[2] is None else dict(row[2])
        self._new_entries += [] if row[3] is None else [int(row[3])]
        self._new_lots += [] if row[4] is None else [int(row[4])]
        if transaction_id is not None:
            self._earns[transaction_id] = None if row[5] is None else EntryRow(*row[5:])
        for other in member_ids:
            if other not in self._states:
                self.member_get(other)

    # ------------------------------------------------------------------ idempotency
    def idempotency_get(self, key: str) -> tuple[str, str] | None:
        if key in self._idem:
            return self._idem[key]
        self._lock_key(NS_KEY, key)
        row = self._one("SELECT fingerprint, result FROM {s}.idempotency WHERE key = %s", (key,))
        return None if row is None else (str(row[0]), str(row[1]))

    def idempotency_put(self, key: str, fingerprint: str, result_json: str, at: int) -> None:
        self._lock_key(NS_KEY, key)
        self.send(
            IDEMPOTENCY_PUT_SQL,
            {"key": key, "fp": fingerprint, "result": result_json, "created": at_bound(at)},
        )
        self._idem[key] = (fingerprint, result_json)

    # ------------------------------------------------------------------ members
    def member_get(self, member_id: str) -> dict[str, Any] | None:
        if member_id in self._states:
            known = self._states[member_id]
            return None if known is None else dict(known)
        self._lock_member(member_id)
        row = self._one("SELECT state FROM {s}.members WHERE member_id = %s", (member_id,))
        state = None if row is None else dict(row[0])
        self._states[member_id] = None if state is None else dict(state)
        return state

    def members_get(self, member_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        ids = list(member_ids)
        self.lock_many(ids)
        # one JSON object (decoded once) rather than a row and a decoding per member
        rows = self.fetch(
            "SELECT json_object_agg(member_id, state)::text FROM {s}.members "
            "WHERE member_id = ANY(%s)",
            (ids,),
        )
        found: dict[str, dict[str, Any]] = json.loads(rows[0][0] or "{}")
        return found

    def member_put(self, member_id: str, state: dict[str, Any]) -> None:
        self.members_put({member_id: state})

    def members_put(self, states: dict[str, dict[str, Any]]) -> None:
        if not states:
            return
        ids = list(states)
        upsert = " ON CONFLICT (member_id) DO UPDATE SET state = excluded.state"
        if len(ids) == 1:  # the single-operation path: no arrays to encode
            self._lock_member(ids[0])
            self.send(
                MEMBER_PUT_SQL, {"m": ids[0], "state": json.dumps(states[ids[0]], sort_keys=True)}
            )
        else:
            self.lock_many(ids)
            # one JSON document (a jsonb[] text array would escape every quote client-side)
            self.send(
                "INSERT INTO {s}.members (member_id, state) "
                "SELECT key, value FROM jsonb_each(%s::jsonb) ORDER BY key" + upsert,
                (json.dumps(states, sort_keys=True),),
            )
        for member_id in ids:
            self._states[member_id] = dict(states[member_id])

    # ------------------------------------------------------------------ entries
    def entry_add(
        self,
        member_id: str,
        kind: str,
        points: int,
        at: int,
        *,
        amount_minor: int | None = None,
        transaction_id: str | None = None,
        reference: int | None = None,
        shortfall: int = 0,
        note: str | None = None,
    ) -> int:
        self._lock_member(member_id)
        params = self._entry_params(
            member_id, kind, points, at, amount_minor, transaction_id, reference, note
        )
        params["shortfall"] = int(shortfall)
        if params["e"] is not None:  # the id is known: the insert travels with the next trip
            self.send(ENTRY_INSERT_SQL, params)
            return int(params["e"])
        row = self._one(ENTRY_INSERT_SQL, params)
        return int(row[0]) if row is not None else 0

    def _entry_params(
        self,
        member_id: str,
        kind: str,
        points: int,
        at: int,
        amount_minor: int | None,
        transaction_id: str | None,
        reference: int | None,
        note: str | None,
    ) -> dict[str, Any]:
        """Parameters of a new entry; ``e`` its id when ``prefetch`` drew one, else None."""
        return {
            "e": self._new_entries.pop(0) if self._new_entries else None,
            "m": member_id,
            "k": kind,
            "p": int(points),
            "t": to_ts(at),
            "amount": amount_minor,
            "tx": transaction_id,
            "ref": reference,
            "note": note,
        }

    def _entry(self, row: Sequence[Any] | None) -> EntryRow | None:
        if row is None:
            return None
        entry = row if isinstance(row, EntryRow) else EntryRow(*row)
        # an entry never changes; what depends on it (clawbacks, lots) is read after the
        # member's lock
        self._lock_member(entry.member_id)
        return entry

    def entry_get(self, entry_id: int) -> EntryRow | None:
        return self._entry(
            self._one(f"SELECT {ENTRY_SELECT} FROM {{s}}.entries WHERE entry_id = %s", (entry_id,))
        )

    def earn_by_transaction(self, transaction_id: str) -> EntryRow | None:
        if transaction_id in self._earns:
            return self._entry(self._earns[transaction_id])
        self._lock_key(NS_TX, transaction_id)
        return self._entry(self._one(EARN_BY_TX_SQL, (transaction_id,)))

    def earned_transactions(self, transaction_ids: Sequence[str]) -> list[str]:
        # no lock: the unique index on earn transaction ids refuses a racing duplicate
        rows = self.fetch(
            "SELECT DISTINCT transaction_id FROM {s}.entries WHERE kind = 'earn' "
            "AND transaction_id = ANY(%s)",
            (list(transaction_ids),),
        )
        return sorted(str(r[0]) for r in rows)

    def entries_referencing(self, entry_id: int) -> list[EntryRow]:
        rows = self.fetch(
            f"SELECT {ENTRY_SELECT} FROM {{s}}.entries WHERE reference = %s ORDER BY entry_id",
            (entry_id,),
        )
        return [EntryRow(*r) for r in rows]

    def member_entries(self, member_id: str, since: int) -> list[EntryRow]:
        self._lock_member(member_id)
        rows = self.fetch(
            f"SELECT {ENTRY_SELECT} FROM {{s}}.entries WHERE member_id = %s AND at > %s "
            "ORDER BY entry_id",
            (member_id, at_bound(since)),
        )
        return [EntryRow(*r) for r in rows]

    # ------------------------------------------------------------------ lots
    def lot_add(
        self,
        member_id: str,
        entry_id: int,
        earned_at: int,
        available_at: int,
        expires_at: int | None,
        points: int,
    ) -> int:
        self._lock_member(member_id)
        # the lot and the member's running total of points left, in one statement
        row = self._one(
            "WITH lot AS (INSERT INTO {s}.lots (member_id, entry_id, earned_at, available_at, "
            "expires_at, points, remaining) VALUES (%(m)s, %(e)s, %(t)s, %(a)s, %(x)s, %(p)s, "
            f"%(p)s) RETURNING lot_id), {CREDIT_TOTALS} SELECT lot_id FROM lot",
            {
                "m": member_id,
                "e": entry_id,
                "t": to_ts(earned_at),
                "a": to_ts(available_at),
                "x": to_ts(expires_at),
                "p": points,
                "d": None if expires_at is None else expiry_day(expires_at),
            },
        )
        return int(row[0]) if row is not None else 0

    def entry_with_lot_add(
        self,
        member_id: str,
        kind: str,
        points: int,
        at: int,
        available_at: int,
        expires_at: int | None,
        *,
        amount_minor: int | None = None,
        transaction_id: str | None = None,
        reference: int | None = None,
        note: str | None = None,
    ) -> tuple[int, int]:
        self._lock_member(member_id)
        # the entry, its lot and the member's running totals in one statement
        params = self._entry_params(
            member_id, kind, points, at, amount_minor, transaction_id, reference, note
        )
        entry_id = params["e"]
        lot_id = self._new_lots.pop(0) if self._new_lots else None
        params.update(
            l=lot_id,
            a=to_ts(available_at),
            x=to_ts(expires_at),
            d=None if expires_at is None else expiry_day(expires_at),
        )
        if entry_id is not None and lot_id is not None:
            # both ids drawn ahead: the statement travels with the next round trip
            self.send(CREDIT_INSERT_SQL, params)
            return entry_id, lot_id
        row = self._one(CREDIT_INSERT_SQL, params)
        return int(row[0]), int(row[1])

    def lot_get(self, lot_id: int) -> LotRow:
        row = self._one(f"SELECT {LOT_SELECT} FROM {{s}}.lots WHERE lot_id = %s", (lot_id,))
        if row is None:
            raise StoreError(f"PostgresStore: no lot {lot_id}")
        return LotRow(*row)

    def lots_of_entry(self, entry_id: int) -> list[LotRow]:
        rows = self.fetch(
            f"SELECT {LOT_SELECT} FROM {{s}}.lots WHERE entry_id = %s ORDER BY lot_id",
            (entry_id,),
        )
        return [LotRow(*r) for r in rows]

    def _lots_query(
        self,
        member_id: str,
        at: int,
        spendable_only: bool,
        exclude_entry: int | None,
        never_expiring: bool,
        offset: int,
        limit: int,
    ) -> tuple[str, dict[str, Any]]:
        """One batch of one pass of :meth:`open_lots` (see ``_rules.pass_sql``)."""
        return (
            lots_sql(spendable_only, never_expiring),
            {"m": member_id, "at": at_bound(at), "x": exclude_entry, "n": limit, "o": offset},
        )

    def open_lots(
        self,
        member_id: str,
        at: int,
        *,
        spendable_only: bool,
        points: int | None = None,
        exclude_entry: int | None = None,
        first: dict[bool, list[LotRow]] | None = None,
    ) -> list[LotRow]:
        # ``first``: the first batch of each pass (never expiring or not), when already read
        self._lock_member(member_id)

        def fetch(never_expiring: bool, offset: int, limit: int) -> list[LotRow]:
            if first is not None and offset == 0 and limit == FIRST_BATCH:
                return first[never_expiring]
            rows = self.fetch(
                *self._lots_query(
                    member_id, at, spendable_only, exclude_entry, never_expiring, offset, limit
                )
            )
            return [LotRow(*r) for r in rows]

        return in_expiry_order(fetch, points)

    def _sums_query(self, member_id: str, at: int, until: int) -> tuple[str, dict[str, Any]]:
        params = {"m": member_id, "at": at_bound(at)}
        if until == at:  # a debit: nothing can be expiring
            return SUMS_NOW_SQL, params
        window: dict[str, Any] = expiry_window(at, until)
        for name in ("head_end", "tail_end"):
            window[name] = at_bound(window[name])
        return SUMS_SQL, {**params, "until": at_bound(until), **window}

    def open_sums(self, member_id: str, at: int, until: int) -> OpenSums:
        self._lock_member(member_id)
        return sums_of(self._one(*self._sums_query(member_id, at, until)))

    def spendable_lots(
        self, member_id: str, at: int, points: int, debt: int
    ) -> tuple[int, list[LotRow]]:
        # the sums and the first batch of lots of both passes in one statement (the
        # batches are wasted only when the debit is refused)
        self._lock_member(member_id)
        _, params = self._lots_query(member_id, at, True, None, False, 0, FIRST_BATCH)
        rows = self.fetch(DEBIT_SQL, params)
        width = len(rows[0]) - len(LotRow._fields) - 1
        sums = sums_of(rows[0][:width])
        available = sums.open_points - sums.due - sums.pending - debt
        if points > available:
            return available, []
        first: dict[bool, list[LotRow]] = {False: [], True: []}
        for row in rows:
            if row[width] is not None:
                first[bool(row[width])].append(LotRow(*row[width + 1 :]))
        for lots in first.values():  # each pass in consumption order
            lots.sort(key=lambda lot: expiry_key(partial(getattr, lot)))
        return available, self.open_lots(
            member_id, at, spendable_only=True, points=points, first=first
        )

    def undone(self, member_id: str, at: int, recorded_at: int | None) -> Undone:
        self._lock_member(member_id)
        params = {
            "m": member_id,
            "at": at_bound(at),
            "rec": None if recorded_at is None else at_bound(recorded_at),
        }
        queries = undone_sql(
            pyformat,
            table,
            lambda prefix: select(ENTRY_COLUMNS, prefix),
            lambda prefix: select(LOT_COLUMNS, prefix),
            ns_sql,
        )
        entries, lots, allocations, reversed_earns = self._fetch_all([(q, params) for q in queries])
        return undone_rows(entries, lots, allocations, reversed_earns[0][0], EntryRow, LotRow)

    def due_lots(self, at: int) -> list[LotRow]:
        # the members found by their running ``next_expiry`` (at or before the earliest
        # expiry of their open lots; schema version 7), their due lots read under their
        # locks; then each one's ``next_expiry`` set to that earliest expiry, so that a
        # member whose lots were all expired by an earlier run is visited once more at most
        params = {"at": at_bound(at)}
        members = self.fetch(
            "SELECT member_id FROM {s}.balances WHERE next_expiry <= %(at)s", params
        )
        ids = [str(r[0]) for r in members]
        if not ids:
            return []
        self.lock_many(ids)
        rows = self.fetch(
            f"SELECT {LOT_SELECT} FROM {{s}}.lots WHERE member_id = ANY(%(ids)s) AND "
            f"{DUE.sql(pyformat, stored=STORED)} ORDER BY member_id, lot_id",
            {**params, "ids": ids},
        )
        self.send(
            "UPDATE {s}.balances b SET next_expiry = (SELECT min(l.expires_at) FROM {s}.lots l "
            f"WHERE l.member_id = b.member_id AND {HAS_POINTS.sql(pyformat, stored=STORED)}) "
            "WHERE b.member_id = ANY(%(ids)s)",
            {"ids": ids},
        )
        return [LotRow(*r) for r in rows]

    def allocate(self, entry_id: int, lot_id: int, points: int) -> None:
        self.send(ALLOCATE_SQL, {"p": points, "lot": lot_id, "e": entry_id})

    def allocations_of(self, entry_id: int) -> list[tuple[int, int]]:
        rows = self.fetch(
            "SELECT lot_id, points FROM {s}.allocations WHERE entry_id = %s ORDER BY allocation_id",
            (entry_id,),
        )
        return [(int(a), int(b)) for a, b in rows]

    def bulk_earn(self, batch: EarnBatch) -> None:
        bulk_earn(self, batch)
