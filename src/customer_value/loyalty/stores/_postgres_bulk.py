"""PostgresStore's bulk import of one chunk: binary COPY into staging tables, then one statement.

The chunk's columns go to the server as PostgreSQL's binary COPY format, built
by numpy in one piece (no Python object per value): integers as ``int8``,
instants as ``timestamptz`` (microseconds since 2000-01-01), members as
positions in a small table of the chunk's members. The running totals (points
left per member and per member and expiry day) arrive summed
(:class:`~customer_value.loyalty.stores._batch.EarnBatch`), so the server
only inserts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from customer_value.errors import StoreError
from customer_value.loyalty.stores._postgres_sql import ANALYZE_ROWS, to_ts

if TYPE_CHECKING:
    from customer_value.loyalty.stores._batch import EarnBatch
    from customer_value.loyalty.stores._postgres_txn import PostgresTransaction

__all__ = ["bulk_earn", "copy_binary", "stale_statistics"]

#: PostgreSQL's timestamptz epoch (2000-01-01) in microseconds since 1970-01-01
_PG_EPOCH_US = 946_684_800_000_000
_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_TRAILER = b"\xff\xff"

_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS cv_loyalty_rows (i bigint, k integer, points bigint, "
    "at timestamptz, amount_minor bigint, available_at timestamptz, expires_at timestamptz, "
    "remaining bigint) ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS cv_loyalty_members (k integer, member_id text, "
    "open_points bigint, next_expiry timestamptz) ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS cv_loyalty_days (k integer, day integer, points bigint) "
    "ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS cv_loyalty_tx (i bigint, transaction_id text) "
    "ON COMMIT DELETE ROWS",
)


def copy_binary(columns: list[tuple[npt.NDArray[Any], str]]) -> bytes:
    """Rows of non-null integer ``columns`` in PostgreSQL's binary COPY format.

    Each column is ``(values, kind)`` with kind ``"i4"`` (``integer``) or
    ``"i8"`` (``bigint``, and ``timestamptz`` given as microseconds since
    2000-01-01): per row a field count, then each field's length and value,
    big-endian (PostgreSQL documentation, "COPY", section "Binary Format").

    Examples
    --------
    >>> import numpy as np
    >>> data = copy_binary([(np.array([1, 2]), "i4"), (np.array([3, 4]), "i8")])
    >>> len(data) == 19 + 2 * (2 + 4 + 4 + 4 + 8) + 2
    True
    >>> data[19:25].hex()
    '000200000004'
    """
    dtype = [("n", ">i2")]
    for j, (_, kind) in enumerate(columns):
        dtype += [(f"l{j}", ">i4"), (f"v{j}", ">" + kind)]
    rows = np.empty(len(columns[0][0]), dtype=dtype)
    rows["n"] = len(columns)
    for j, (values, kind) in enumerate(columns):
        rows[f"l{j}"] = int(kind[1])
        rows[f"v{j}"] = values
    return _HEADER + rows.tobytes() + _TRAILER


def _micros(ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Int-nanosecond instants as timestamptz (microseconds since 2000-01-01).

    Sub-microsecond instants are refused, as single writes refuse them
    (``to_ts`` raises, naming the instant).
    """
    odd = np.flatnonzero(ns % 1000)
    if len(odd):
        to_ts(int(ns[odd[0]]))
    return ns // 1000 - _PG_EPOCH_US


def _bigints(values: list[int], what: str) -> npt.NDArray[np.int64]:
    try:
        return np.asarray(values, dtype=np.int64)
    except OverflowError:
        raise StoreError(
            f"PostgresStore: {what} would exceed bigint; nothing was written"
        ) from None


def bulk_earn(txn: PostgresTransaction, batch: EarnBatch) -> None:
    """``StoreTransaction.bulk_earn`` for PostgreSQL (see there), in ``txn``."""
    if not len(batch):
        return
    txn.lock_many(batch.members)
    for statement in _STAGING:
        txn.send(statement)
    codes, totals = batch.open_points()
    member_open: list[int | None] = [None] * len(batch.members)
    for code, total in zip(codes, totals, strict=True):
        member_open[code] = total
    member_expiry = _next_expiry(batch)
    day_codes, days, day_points = batch.day_totals()
    rows: list[tuple[npt.NDArray[Any], str]] = [
        (np.arange(len(batch)), "i8"),
        (batch.member, "i4"),
        (batch.points, "i8"),
        (_micros(batch.at), "i8"),
        (batch.amount_minor, "i8"),
        (_micros(batch.available_at), "i8"),
    ]
    names = "i, k, points, at, amount_minor, available_at"
    if batch.expires_at is not None:
        rows.append((_micros(batch.expires_at), "i8"))
        names += ", expires_at"
    rows.append((batch.remaining, "i8"))
    names += ", remaining"
    tx_rows = [(i, t) for i, t in enumerate(batch.transaction_id) if t is not None]
    # the rows already in the journal, with the queued statements (COPY does not run in
    # a pipeline): the planner statistics are refreshed only when they would be stale
    journal = txn.fetch("SELECT reltuples FROM pg_class WHERE oid = '{s}.entries'::regclass")
    with txn.conn.cursor() as cur:
        with cur.copy(f"COPY cv_loyalty_rows ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(copy_binary(rows))
        members_copy = "COPY cv_loyalty_members (k, member_id, open_points, next_expiry) FROM STDIN"
        with cur.copy(members_copy) as copy:
            for k, (member, left, expiry) in enumerate(
                zip(batch.members, member_open, member_expiry, strict=True)
            ):
                copy.write_row((k, member, left, expiry))
        if len(days):
            day_copy = "COPY cv_loyalty_days (k, day, points) FROM STDIN (FORMAT BINARY)"
            with cur.copy(day_copy) as copy:
                copy.write(
                    copy_binary(
                        [
                            (day_codes, "i4"),
                            (days, "i4"),
                            (_bigints(day_points, "the points expiring on a day"), "i8"),
                        ]
                    )
                )
        if tx_rows:
            with cur.copy("COPY cv_loyalty_tx (i, transaction_id) FROM STDIN") as copy:
                for row in tx_rows:
                    copy.write_row(row)
    tx_join = " LEFT JOIN cv_loyalty_tx USING (i)" if tx_rows else ""
    tx_column = "transaction_id" if tx_rows else "NULL"
    # one statement: ids drawn in row order (the staging rows are read once, into a
    # materialised CTE), then the entries, their lots, debt repayments and running
    # totals written from it; the sequences are looked up once (an InitPlan), not per
    # row, and the sort of the staging rows by i stays in memory; the staging tables have
    # no statistics, so the planner's row estimates are far too high and would have the
    # statement JIT-compiled (about 0.4 s of a 200,000-row chunk, for nothing)
    txn.send(f"SET LOCAL work_mem = '{_work_mem(len(batch))}MB'")
    txn.send("SET LOCAL jit = off")
    txn.send(
        "WITH s AS MATERIALIZED (SELECT o.*, nextval((SELECT "
        "pg_get_serial_sequence('{s}.entries', 'entry_id')::regclass)) AS e, "
        "CASE WHEN points > 0 THEN nextval((SELECT "
        "pg_get_serial_sequence('{s}.lots', 'lot_id')::regclass)) END AS l "
        f"FROM (SELECT r.*, m.member_id, {tx_column} AS transaction_id "
        f"FROM cv_loyalty_rows r JOIN cv_loyalty_members m USING (k){tx_join} "
        "ORDER BY r.i) AS o), "
        "entries AS (INSERT INTO {s}.entries (entry_id, member_id, kind, points, at, "
        "amount_minor, transaction_id) SELECT e, member_id, 'earn', points, at, "
        "amount_minor, transaction_id FROM s), "
        "lots AS (INSERT INTO {s}.lots (lot_id, member_id, entry_id, earned_at, "
        "available_at, expires_at, points, remaining) SELECT l, member_id, e, at, "
        "available_at, expires_at, points, remaining FROM s WHERE l IS NOT NULL), "
        "repaid AS (INSERT INTO {s}.allocations (entry_id, lot_id, points) "
        "SELECT e, l, points - remaining FROM s WHERE l IS NOT NULL AND remaining < points), "
        "days AS (INSERT INTO {s}.expiry_days AS d (member_id, day, points) "
        "SELECT m.member_id, x.day, x.points FROM cv_loyalty_days x "
        "JOIN cv_loyalty_members m USING (k) ON CONFLICT (member_id, day) "
        "DO UPDATE SET points = d.points + excluded.points) "
        "INSERT INTO {s}.balances AS b (member_id, open_points, next_expiry) "
        "SELECT member_id, open_points, next_expiry FROM cv_loyalty_members "
        "WHERE open_points IS NOT NULL ON CONFLICT (member_id) "
        "DO UPDATE SET open_points = b.open_points + excluded.open_points, "
        "next_expiry = LEAST(b.next_expiry, excluded.next_expiry)"
    )
    # emptied for a next chunk in the same transaction (a caller's, with savepoints); a
    # new empty file each, where DELETE would visit every row
    txn.send("TRUNCATE cv_loyalty_rows, cv_loyalty_members, cv_loyalty_days, cv_loyalty_tx")
    if batch.import_rows and stale_statistics(batch.import_rows, float(journal[0][0])):
        # fresh planner statistics, once per import (on its last chunk): right after a
        # large import into a small ledger the planner would read a member's lots by
        # sequential scan (4-5x slower balances until autovacuum runs)
        txn.send("ANALYZE {s}.entries, {s}.lots, {s}.allocations, {s}.balances, {s}.expiry_days")


def _next_expiry(batch: EarnBatch) -> list[Any]:
    """Per member of ``batch``, the earliest expiry of its lots (``balances.next_expiry``,
    lowered to it by the import; None: none of its lots expires)."""
    if batch.expires_at is None or not len(batch):
        return [None] * len(batch.members)
    last = np.iinfo(np.int64).max
    earliest = np.full(len(batch.members), last, dtype=np.int64)
    np.minimum.at(earliest, batch.member, batch.expires_at)
    return [None if ns == last else to_ts(ns) for ns in earliest.tolist()]


def _work_mem(rows: int) -> int:
    """Megabytes of ``work_mem`` for the statement writing ``rows`` staged rows.

    About 512 bytes a row (at least 64 MB, at most 1 GB): the staged rows read
    once into a materialised CTE, their sort and the lots captured for the
    statement's trigger then stay in memory instead of spilling to temporary
    files (about 0.5 s of a 500,000-row chunk).

    Examples
    --------
    >>> _work_mem(10_000), _work_mem(500_000), _work_mem(10**8)
    (64, 244, 1024)
    """
    return min(max(64, rows * 512 >> 20), 1024)


def stale_statistics(rows: int, known: float) -> bool:
    """Whether an import of ``rows`` to a journal of ``known`` rows needs ANALYZE.

    ``known`` is ``pg_class.reltuples`` (-1: never analysed; the count at the
    last ANALYZE, the import's earlier chunks not included). Between two ANALYZE
    runs the planner scales the row counts by the table's current size, so the
    statistics go stale when the journal changes in kind - from (nearly) empty
    to large - not when it merely grows: ANALYZE runs, once at the end of the
    import, when the import at least doubles the journal (and is at least
    ``ANALYZE_ROWS`` rows).

    Examples
    --------
    >>> stale_statistics(200_000, -1.0), stale_statistics(200_000, 200_000.0)
    (True, True)
    >>> stale_statistics(200_000, 400_000.0), stale_statistics(500, -1.0)
    (False, False)
    """
    return rows >= ANALYZE_ROWS and rows >= known
