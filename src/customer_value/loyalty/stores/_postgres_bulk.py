"""PostgresStore's bulk import of one chunk: COPY into a staging table, then one statement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer_value.loyalty.stores._postgres_schema import DAY_SQL
from customer_value.loyalty.stores._postgres_sql import ANALYZE_ROWS, to_ts

if TYPE_CHECKING:
    from customer_value.loyalty.stores._postgres_txn import PostgresTransaction

__all__ = ["bulk_earn", "stale_statistics"]


def bulk_earn(
    txn: PostgresTransaction,
    entries: list[tuple[str, int, int, int | None, str | None]],
    lots: list[tuple[int, int | None, int, int]],
) -> None:
    """``StoreTransaction.bulk_earn`` for PostgreSQL (see there), in ``txn``."""
    if not entries:
        return
    txn.lock_many([e[0] for e in entries])
    # one COPY of plain integers and strings into a transaction-local staging table; ids,
    # timestamptz conversion, lots and debt repayments are then done by the server
    # sub-microsecond instants are refused, as single writes do (to_ts says which)
    for at in (e[2] for e in entries if e[2] % 1000):
        to_ts(at)
    for avail, exp, _, _ in lots:
        if avail % 1000 or (exp is not None and exp % 1000):
            to_ts(avail), to_ts(exp)
    txn.send(
        "CREATE TEMP TABLE IF NOT EXISTS cv_loyalty_stage (i bigint, member_id text, "
        "points bigint, at_us bigint, amount_minor bigint, transaction_id text, "
        "avail_us bigint, exp_us bigint, lot_points bigint, remaining bigint, "
        "entry_id bigint, lot_id bigint) ON COMMIT DELETE ROWS"
    )
    # the rows already in the journal, with the queued statements (COPY does not run in
    # a pipeline): the planner statistics are refreshed only when they would be stale
    journal = txn.fetch("SELECT reltuples FROM pg_class WHERE oid = '{s}.entries'::regclass")
    with (
        txn.conn.cursor() as cur,
        cur.copy(
            "COPY cv_loyalty_stage (i, member_id, points, at_us, amount_minor, "
            "transaction_id, avail_us, exp_us, lot_points, remaining) FROM STDIN"
        ) as copy,
    ):
        for i, ((member, points, at, amount, tx), (avail, exp, pts, left)) in enumerate(
            zip(entries, lots, strict=True)
        ):
            copy.write_row(
                (
                    i,
                    member,
                    points,
                    at // 1000,
                    amount,
                    tx,
                    avail // 1000,
                    None if exp is None else exp // 1000,
                    pts,
                    left,
                )
            )
    us = "'epoch'::timestamptz + {} * interval '1 microsecond'"
    # one statement: ids drawn in row order (the staging table is read once, into a
    # materialised CTE), then the entries, their lots, debt repayments and running
    # totals written from it
    # the sequences are looked up once (an InitPlan), not per row; the sort of the
    # staging rows by i stays in memory
    txn.send("SET LOCAL work_mem = '64MB'")
    txn.send(
        "WITH s AS MATERIALIZED (SELECT o.*, nextval((SELECT "
        "pg_get_serial_sequence('{s}.entries', 'entry_id')::regclass)) AS e, "
        "CASE WHEN lot_points > 0 THEN nextval((SELECT "
        "pg_get_serial_sequence('{s}.lots', 'lot_id')::regclass)) END AS l "
        "FROM (SELECT i, member_id, points, at_us, amount_minor, transaction_id, avail_us, "
        "exp_us, lot_points, remaining FROM cv_loyalty_stage ORDER BY i) AS o), "
        "entries AS (INSERT INTO {s}.entries (entry_id, member_id, kind, points, at, "
        f"amount_minor, transaction_id) SELECT e, member_id, 'earn', points, "
        f"{us.format('at_us')}, amount_minor, transaction_id FROM s), "
        "lots AS (INSERT INTO {s}.lots (lot_id, member_id, entry_id, earned_at, "
        "available_at, expires_at, points, remaining) SELECT l, member_id, e, "
        f"{us.format('at_us')}, {us.format('avail_us')}, {us.format('exp_us')}, "
        "lot_points, remaining FROM s WHERE l IS NOT NULL), "
        "repaid AS (INSERT INTO {s}.allocations (entry_id, lot_id, points) "
        "SELECT e, l, lot_points - remaining FROM s "
        "WHERE l IS NOT NULL AND remaining < lot_points), "
        "days AS (INSERT INTO {s}.expiry_days AS d (member_id, day, points) "
        f"SELECT member_id, {DAY_SQL.format(us.format('exp_us'))}, SUM(remaining) FROM s "
        "WHERE l IS NOT NULL AND exp_us IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2 "
        "ON CONFLICT (member_id, day) DO UPDATE SET points = d.points + excluded.points) "
        "INSERT INTO {s}.balances AS b (member_id, open_points) "
        "SELECT member_id, SUM(remaining) FROM s WHERE l IS NOT NULL "
        "GROUP BY member_id ORDER BY member_id ON CONFLICT (member_id) "
        "DO UPDATE SET open_points = b.open_points + excluded.open_points"
    )
    txn.send("DELETE FROM cv_loyalty_stage")
    if stale_statistics(len(entries), float(journal[0][0])):
        # fresh planner statistics: right after a large import into a small ledger the
        # planner would read a member's lots by sequential scan (4-5x slower balances
        # until autovacuum runs)
        txn.send("ANALYZE {s}.entries, {s}.lots, {s}.allocations, {s}.balances, {s}.expiry_days")


def stale_statistics(rows: int, known: float) -> bool:
    """Whether a bulk write of ``rows`` to a journal of ``known`` rows needs ANALYZE.

    ``known`` is ``pg_class.reltuples`` (-1: never analysed). Between two
    ANALYZE runs the planner scales the row counts by the table's current size,
    so the statistics go stale when the journal changes in kind - from (nearly)
    empty to large - not when it merely grows: ANALYZE runs when the write at
    least doubles the journal (and is at least ``ANALYZE_ROWS`` rows).

    Examples
    --------
    >>> stale_statistics(200_000, -1.0), stale_statistics(200_000, 200_000.0)
    (True, True)
    >>> stale_statistics(200_000, 400_000.0), stale_statistics(500, -1.0)
    (False, False)
    """
    return rows >= ANALYZE_ROWS and rows >= known
