"""SQLiteStore internals: the store operations of one ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from customer_value.loyalty.stores._balances import (
    OpenSums,
    Undone,
    in_expiry_order,
    undone_rows,
    undone_sql,
)
from customer_value.loyalty.stores._balances import (
    open_sums as sums_of,
)
from customer_value.loyalty.stores._batch import EarnBatch
from customer_value.loyalty.stores._contract import (
    ENTRY_COLUMNS,
    LOT_COLUMNS,
    EntryRow,
    LotRow,
    StoreTransaction,
)
from customer_value.loyalty.stores._rules import (
    DUE,
    HELD,
    SPENDABLE,
    expiry_day,
    expiry_window,
    open_sums_sql,
    pass_sql,
)

__all__ = ["SQLiteTransaction", "insert_rows", "named"]


#: rows per execution of a bulk INSERT (8 columns: 512 parameters, below every
#: build's SQLITE_MAX_VARIABLE_NUMBER)
ROWS_PER_INSERT = 64


def insert_rows(
    con: sqlite3.Connection, head: str, row: str, columns: Sequence[Any], tail: str = ""
) -> None:
    """``head VALUES row, row, ... tail`` for the rows of ``columns``, many rows per execution.

    ``columns`` are equally long sequences or arrays (numpy integers become Python
    integers), or single values repeated on every row. One execution per row costs
    a statement step, and a reopening of the table and index cursors, per row;
    ``ROWS_PER_INSERT`` rows per execution share them (the journal rows of an
    import: about 40% less time in SQLite).

    Examples
    --------
    >>> import numpy as np
    >>> con = sqlite3.connect(":memory:")
    >>> _ = con.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    >>> insert_rows(con, "INSERT INTO t (a, b)", "(?, ?)",
    ...             [np.arange(130), [str(i) for i in range(130)]])
    >>> con.execute("SELECT COUNT(*), SUM(a), MAX(b) FROM t").fetchone()
    (130, 8385, '99')
    """
    n = len(columns[0])
    table = np.empty((n, len(columns)), dtype=object)
    for j, column in enumerate(columns):
        table[:, j] = column
    full = n - n % ROWS_PER_INSERT
    if full:
        many = f"{head} VALUES {', '.join([row] * ROWS_PER_INSERT)} {tail}"
        con.executemany(many, table[:full].reshape(full // ROWS_PER_INSERT, -1).tolist())
    if full < n:
        con.executemany(f"{head} VALUES {row} {tail}", table[full:].tolist())


def _columns(columns: Sequence[str]) -> Any:
    return lambda prefix: ", ".join(prefix + c for c in columns)


def named(name: str) -> str:
    return ":" + name


class SQLiteTransaction(StoreTransaction):
    """One ``BEGIN IMMEDIATE`` transaction of :class:`SQLiteStore` (see its notes)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def idempotency_get(self, key: str) -> tuple[str, str] | None:
        row = self._con.execute(
            "SELECT fingerprint, result FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def idempotency_put(self, key: str, fingerprint: str, result_json: str, at: int) -> None:
        self._con.execute(
            "INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
            (key, fingerprint, result_json, at),
        )

    def member_get(self, member_id: str) -> dict[str, Any] | None:
        row = self._con.execute(
            "SELECT state FROM members WHERE member_id = ?", (member_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def members_get(self, member_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        # one JSON object in, one out: no per-member decoding call in Python
        row = self._con.execute(
            "SELECT '{' || COALESCE(group_concat(json_quote(member_id) || ':' || state), '') "
            "|| '}' FROM members "
            "WHERE member_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(member_ids)),),
        ).fetchone()
        states: dict[str, dict[str, Any]] = json.loads(row[0])
        return states

    def member_put(self, member_id: str, state: dict[str, Any]) -> None:
        self._con.execute(
            "INSERT INTO members (member_id, state) VALUES (?, ?) "
            "ON CONFLICT (member_id) DO UPDATE SET state = excluded.state",
            (member_id, json.dumps(state, sort_keys=True)),
        )

    def members_put(self, states: dict[str, dict[str, Any]]) -> None:
        # one JSON document for all members (SQLite splits it; "WHERE true" lets the
        # parser tell the upsert clause from a join)
        self._con.execute(
            "INSERT INTO members (member_id, state) SELECT key, value FROM json_each(?) "
            "WHERE true ON CONFLICT (member_id) DO UPDATE SET state = excluded.state",
            (json.dumps(states, sort_keys=True),),
        )

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
        cur = self._con.execute(
            "INSERT INTO entries (member_id, kind, points, at, amount_minor, transaction_id, "
            "reference, shortfall, note, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                member_id,
                kind,
                int(points),
                int(at),
                amount_minor,
                transaction_id,
                reference,
                int(shortfall),
                note,
                time.time_ns(),
            ),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def _entry(row: Sequence[Any] | None) -> EntryRow | None:
        return None if row is None else EntryRow(*row)

    def entry_get(self, entry_id: int) -> EntryRow | None:
        return self._entry(
            self._con.execute(
                f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE entry_id = ?", (entry_id,)
            ).fetchone()
        )

    def earn_by_transaction(self, transaction_id: str) -> EntryRow | None:
        return self._entry(
            self._con.execute(
                f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries "
                "WHERE transaction_id = ? AND kind = 'earn' ORDER BY entry_id LIMIT 1",
                (transaction_id,),
            ).fetchone()
        )

    def earned_transactions(self, transaction_ids: Sequence[str]) -> list[str]:
        rows = self._con.execute(
            "SELECT DISTINCT transaction_id FROM entries WHERE kind = 'earn' "
            "AND transaction_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(transaction_ids)),),
        ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def entries_referencing(self, entry_id: int) -> list[EntryRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE reference = ? ORDER BY entry_id",
            (entry_id,),
        ).fetchall()
        return [EntryRow(*r) for r in rows]

    def member_entries(self, member_id: str, since: int) -> list[EntryRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE member_id = ? AND at > ? "
            "ORDER BY entry_id",
            (member_id, since),
        ).fetchall()
        return [EntryRow(*r) for r in rows]

    def lot_add(
        self,
        member_id: str,
        entry_id: int,
        earned_at: int,
        available_at: int,
        expires_at: int | None,
        points: int,
    ) -> int:
        cur = self._con.execute(
            "INSERT INTO lots (member_id, entry_id, earned_at, available_at, expires_at, "
            "points, remaining) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (member_id, entry_id, earned_at, available_at, expires_at, points, points),
        )
        self._add_open([(member_id, points)])
        if expires_at is not None:
            self._add_days([(member_id, expiry_day(expires_at), points)])
        return int(cur.lastrowid or 0)

    def _add_open(self, changes: Sequence[tuple[str, int]]) -> None:
        # the running total of points left in each member's lots
        self._con.executemany(
            "INSERT INTO balances (member_id, open_points) VALUES (?, ?) ON CONFLICT (member_id) "
            "DO UPDATE SET open_points = open_points + excluded.open_points",
            changes,
        )

    def _add_days(self, changes: Sequence[tuple[str, int, int]]) -> None:
        # the points left per member and expiry day (``_rules.expiry_window``)
        self._con.executemany(
            "INSERT INTO expiry_days (member_id, day, points) VALUES (?, ?, ?) "
            "ON CONFLICT (member_id, day) DO UPDATE SET points = points + excluded.points",
            changes,
        )

    def lot_get(self, lot_id: int) -> LotRow:
        row = self._con.execute(
            f"SELECT {', '.join(LOT_COLUMNS)} FROM lots WHERE lot_id = ?", (lot_id,)
        ).fetchone()
        return LotRow(*row)

    def lots_of_entry(self, entry_id: int) -> list[LotRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(LOT_COLUMNS)} FROM lots WHERE entry_id = ? ORDER BY lot_id",
            (entry_id,),
        ).fetchall()
        return [LotRow(*r) for r in rows]

    def open_lots(
        self,
        member_id: str,
        at: int,
        *,
        spendable_only: bool,
        points: int | None = None,
        exclude_entry: int | None = None,
    ) -> list[LotRow]:
        rule = (SPENDABLE if spendable_only else HELD).sql(named)
        params = {"m": member_id, "at": at, "x": exclude_entry}

        def fetch(never_expiring: bool, offset: int, limit: int) -> list[LotRow]:
            which, order = pass_sql(never_expiring)
            rows = self._con.execute(
                # the index in consumption order (the planner would rather sort the
                # member's lots by availability)
                f"SELECT {', '.join(LOT_COLUMNS)} FROM lots INDEXED BY lots_member_open "
                f"WHERE member_id = :m AND {which} "
                f"AND {rule} AND entry_id IS NOT :x ORDER BY {order} LIMIT :n OFFSET :o",
                {**params, "n": limit, "o": offset},
            ).fetchall()
            return [LotRow(*r) for r in rows]

        return in_expiry_order(fetch, points)

    def open_sums(self, member_id: str, at: int, until: int) -> OpenSums:
        if until == at:  # a debit: nothing can be expiring
            return sums_of(self._con.execute(_SUMS_NOW_SQL, {"m": member_id, "at": at}).fetchone())
        params = {"m": member_id, "at": at, "until": until, **expiry_window(at, until)}
        return sums_of(self._con.execute(_SUMS_SQL, params).fetchone())

    def undone(self, member_id: str, at: int, recorded_at: int | None) -> Undone:
        params = {"m": member_id, "at": at, "rec": recorded_at}
        con = self._con
        queries = undone_sql(named, str, _columns(ENTRY_COLUMNS), _columns(LOT_COLUMNS), str)
        entries, lots, allocations, reversed_earns = (
            con.execute(q, params).fetchall() for q in queries
        )
        return undone_rows(entries, lots, allocations, reversed_earns[0][0], EntryRow, LotRow)

    def due_lots(self, at: int) -> list[LotRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(LOT_COLUMNS)} FROM lots WHERE {DUE.sql(named)} "
            "ORDER BY member_id, lot_id",
            {"at": at},
        ).fetchall()
        return [LotRow(*r) for r in rows]

    def allocate(self, entry_id: int, lot_id: int, points: int) -> None:
        # the CHECK constraint on lots.remaining rejects overspending inside the transaction
        row = self._con.execute(
            "UPDATE lots SET remaining = remaining - ? WHERE lot_id = ? "
            "RETURNING member_id, expires_at",
            (points, lot_id),
        ).fetchone()
        # the member's running totals move with the lot (their rows exist since its credit,
        # or since migration 4 for a lot spent before migrations 2 and 3 made them)
        self._con.execute(
            "UPDATE balances SET open_points = open_points - ? WHERE member_id = ?",
            (points, row[0]),
        )
        if row[1] is not None:
            self._con.execute(
                "UPDATE expiry_days SET points = points - ? WHERE member_id = ? AND day = ?",
                (points, row[0], expiry_day(row[1])),
            )
        self._con.execute(
            "INSERT INTO allocations (entry_id, lot_id, points) VALUES (?, ?, ?)",
            (entry_id, lot_id, points),
        )

    def allocations_of(self, entry_id: int) -> list[tuple[int, int]]:
        rows = self._con.execute(
            "SELECT lot_id, points FROM allocations WHERE entry_id = ? ORDER BY allocation_id",
            (entry_id,),
        ).fetchall()
        return [(int(a), int(b)) for a, b in rows]

    def bulk_earn(self, batch: EarnBatch) -> None:
        if not len(batch):
            return
        con = self._con
        row = con.execute("SELECT COALESCE(MAX(entry_id), 0) FROM entries").fetchone()
        entry_ids = np.arange(len(batch), dtype=np.int64) + (int(row[0]) + 1)
        member_ids = np.asarray(batch.members, dtype=object)[batch.member]
        insert_rows(
            con,
            "INSERT INTO entries (entry_id, member_id, kind, points, at, amount_minor, "
            "transaction_id, recorded_at)",
            "(?, ?, 'earn', ?, ?, ?, ?, ?)",
            [
                entry_ids,
                member_ids,
                batch.points,
                batch.at,
                batch.amount_minor,
                batch.transaction_id,
                time.time_ns(),
            ],
        )
        row = con.execute("SELECT COALESCE(MAX(lot_id), 0) FROM lots").fetchone()
        lots = batch.credited()
        # lot ids in row order; a purchase worth no points opens no lot
        lot_ids = np.cumsum(lots) + int(row[0])
        expires = None if batch.expires_at is None else batch.expires_at[lots]
        table = np.empty((int(lots.sum()), 8), dtype=object)
        for j, column in enumerate(
            (
                lot_ids[lots],
                member_ids[lots],
                entry_ids[lots],
                batch.at[lots],
                batch.available_at[lots],
                expires,
                batch.points[lots],
                batch.remaining[lots],
            )
        ):
            table[:, j] = column
        # one row per execution: with its partial indexes the lots table takes many-row
        # statements more slowly (measured: 5.9 against 4.1 s for 600,000 lots)
        con.executemany(
            "INSERT INTO lots (lot_id, member_id, entry_id, earned_at, available_at, expires_at, "
            "points, remaining) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            table.tolist(),
        )
        repaid = lots & (batch.remaining < batch.points)
        if repaid.any():
            con.executemany(
                "INSERT INTO allocations (entry_id, lot_id, points) VALUES (?, ?, ?)",
                zip(
                    entry_ids[repaid].tolist(),
                    lot_ids[repaid].tolist(),
                    (batch.points - batch.remaining)[repaid].tolist(),
                    strict=True,
                ),
            )
        holders, left = batch.open_points()
        # the members' running totals from one JSON document ("WHERE true": see members_put)
        con.execute(
            "INSERT INTO balances (member_id, open_points) SELECT key, value FROM json_each(?) "
            "WHERE true ON CONFLICT (member_id) "
            "DO UPDATE SET open_points = open_points + excluded.open_points",
            (json.dumps(dict(zip([batch.members[c] for c in holders], left, strict=True))),),
        )
        codes, days, totals = batch.day_totals()
        insert_rows(
            con,
            "INSERT INTO expiry_days (member_id, day, points)",
            "(?, ?, ?)",
            [np.asarray(batch.members, dtype=object)[codes], days, totals],
            "ON CONFLICT (member_id, day) DO UPDATE SET points = points + excluded.points",
        )


_SUMS_SQL = open_sums_sql(named)
_SUMS_NOW_SQL = open_sums_sql(named, horizon=False)
