"""PostgresStore's bulk import of one chunk: COPY into a staging table, then one statement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer_value.loyalty.stores._postgres_sql import ANALYZE_ROWS, to_ts

if TYPE_CHECKING:
    from customer_value.loyalty.stores._postgres_txn import PostgresTransaction

__all__ = ["bulk_earn"]


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
    for _, _, at, _, _ in entries:
        to_ts(at)  # refuses sub-microsecond instants, as single writes do
    for avail, exp, _, _ in lots:
        to_ts(avail), to_ts(exp)
    txn.send(
        "CREATE TEMP TABLE IF NOT EXISTS cv_loyalty_stage (i bigint, member_id text, "
        "points bigint, at_us bigint, amount_minor bigint, transaction_id text, "
        "avail_us bigint, exp_us bigint, lot_points bigint, remaining bigint, "
        "entry_id bigint, lot_id bigint) ON COMMIT DELETE ROWS"
    )
    txn.flush()  # COPY does not run in a pipeline
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
    txn.send(
        "WITH s AS MATERIALIZED (SELECT o.*, "
        "nextval(pg_get_serial_sequence('{s}.entries', 'entry_id')) AS e, "
        "CASE WHEN lot_points > 0 THEN "
        "nextval(pg_get_serial_sequence('{s}.lots', 'lot_id')) END AS l "
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
        "WHERE l IS NOT NULL AND remaining < lot_points) "
        "INSERT INTO {s}.balances AS b (member_id, open_points) "
        "SELECT member_id, SUM(remaining) FROM s WHERE l IS NOT NULL "
        "GROUP BY member_id ORDER BY member_id ON CONFLICT (member_id) "
        "DO UPDATE SET open_points = b.open_points + excluded.open_points"
    )
    txn.send("DELETE FROM cv_loyalty_stage")
    if len(entries) >= ANALYZE_ROWS:
        # fresh planner statistics: right after a large import the planner would read a
        # member's lots by sequential scan (4-5x slower balances until autovacuum runs)
        txn.send("ANALYZE {s}.entries, {s}.lots, {s}.allocations, {s}.balances")
