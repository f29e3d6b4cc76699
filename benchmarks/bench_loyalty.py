"""Ledger throughput: durable single operations, bulk import, balance of a heavy member.

Usage: ``python benchmarks/bench_loyalty.py [import_rows] [single_ops]`` (defaults
1,000,000 and 2,000).

* Single operations: ``single_ops`` alternating earn/redeem calls on
  ``SQLiteStore`` in WAL mode with ``synchronous="FULL"`` (every commit is
  fsynced: durable against power loss) and ``"NORMAL"`` (durable against
  process crashes, the last commits may be lost on power loss). Anchor: the I/O
  floor of the disk, one bare ``INSERT`` per ``BEGIN IMMEDIATE``/``COMMIT`` with
  the same settings; and the same calls on ``MemoryStore`` (no I/O).
* Bulk import: ``Ledger.import_transactions`` of ``import_rows`` purchases into
  SQLiteStore (FULL) against the same import into MemoryStore.
* balance(): one member with 10,000 lots; median of 200 calls on SQLiteStore
  (one aggregate over the member's open lots through a covering partial index)
  against MemoryStore (a Python scan of the member's lots, the same answer).

* PostgreSQL (issue 16): a server started for the run in a temporary
  directory (``initdb`` + ``pg_ctl``, default ``fsync=on`` and
  ``synchronous_commit=on``: every commit is durable). ``single_ops``
  earn/redeem calls from one writer, against the floor of one bare ``INSERT``
  per committed transaction over the same connection; 8 writer processes on
  distinct members, 1,000 operations each (total ops/s); the import of
  ``import_rows`` purchases (COPY), against the same import into MemoryStore.

Targets (issue 8): >= 2,000 durable ops/s, import of 1,000,000 events <= 20 s,
balance <= 5 ms. Issue 16: >= 3,000 ops/s with 8 PostgreSQL writers, import of
1,000,000 events into PostgreSQL <= 30 s.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from _common import table, timed

from customer_value.loyalty import (
    Ledger,
    MemoryStore,
    PostgresStore,
    Program,
    PurchaseEvent,
    SQLiteStore,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "loyalty"))

PROGRAM = Program.from_dict(
    {
        "name": "bench",
        "currency_decimals": 0,
        "base_rate": "1",
        "expiry": {"months": 12},
        "pending_days": 0,
        "earn_rules": [{"type": "first_purchase", "points": 50}],
    }
)


def single_ops(ledger: Ledger, n: int, prefix: str = "") -> None:
    base = pd.Timestamp("2024-01-01")
    for i in range(n):
        member = f"{prefix}m{(i // 2) % 100}"
        at = base + pd.Timedelta(seconds=i)
        if i % 2 == 0:
            tx = f"{prefix}T{i}"
            event = PurchaseEvent(member, at.to_pydatetime(), Decimal(120), transaction_id=tx)
            ledger.earn(event, idempotency_key=f"{prefix}k{i}")
        else:
            ledger.redeem(member, 60, at=at, idempotency_key=f"{prefix}k{i}")


def naive_commits(tmp: Path, sync: str, n: int) -> None:
    """The I/O floor: one bare INSERT per commit, same journal and synchronous setting."""
    con = sqlite3.connect(tmp / f"naive-{sync}.db", isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute(f"PRAGMA synchronous = {sync}")
    con.execute("CREATE TABLE t (member TEXT, points INTEGER)")
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t VALUES (?, ?)", (f"m{i % 100}", i))
        con.execute("COMMIT")
    con.close()


def purchases(n: int, members: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "member_id": rng.integers(0, members, n).astype(str),
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 365 * 86400, n)), unit="s"),
            "subtotal": rng.integers(1, 20_000, n),
        }
    )


def _pg_writer(args: tuple[str, str, int, float]) -> float:
    """One writer process: connect, wait for the common start, run; return its end time."""
    conninfo, prefix, n, start_at = args
    store = PostgresStore(conninfo, migrate=False)
    ledger = Ledger(PROGRAM, store)
    time.sleep(max(0.0, start_at - time.time()))
    single_ops(ledger, n, prefix)
    store.close()
    return time.time()


def pg_rows(
    n_import: int, n_single: int, tx: pd.DataFrame, memory_import: float, points: int
) -> list[tuple[str, float, float | None, str]]:
    """The PostgreSQL rows of the table (empty when no server can be started)."""
    import multiprocessing

    import psycopg
    from pg_server import start_server

    server, reason = start_server(durable=True)
    if server is None:
        print(f"PostgreSQL part skipped: {reason}")
        return []
    rows: list[tuple[str, float, float | None, str]] = []
    try:
        conninfo = server.conninfo
        store = PostgresStore(conninfo)
        ours, _ = timed(lambda: single_ops(Ledger(PROGRAM, store), n_single, "s"))
        store.close()
        with psycopg.connect(conninfo, autocommit=True) as con:
            con.execute("CREATE TABLE naive (member text, points bigint)")

            def naive() -> None:
                for i in range(n_single):
                    with con.transaction():
                        con.execute("INSERT INTO naive VALUES (%s, %s)", (f"m{i % 100}", i))

            anchor, _ = timed(naive)
        rows.append(
            (
                f"PG: {n_single} earn/redeem, 1 writer",
                ours,
                anchor,
                f"(durable) {n_single / ours:,.0f} ops/s",
            )
        )
        writers, per = 8, 1000
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(writers) as pool:
            # the processes start and import first; the clock runs from a common start time
            start_at = time.time() + 20
            ends = pool.map(
                _pg_writer, [(conninfo, f"w{w}-", per, start_at) for w in range(writers)]
            )
            wall = max(ends) - start_at
        rows.append(
            (
                f"PG: {writers} writer processes x {per}, distinct members",
                wall,
                None,
                f">= 3,000 ops/s: {writers * per / wall:,.0f} ops/s",
            )
        )
        store = PostgresStore(conninfo, schema="bulk")
        ours, summary = timed(
            lambda: Ledger(PROGRAM, store).import_transactions(tx, idempotency_key="bulk")
        )
        store.close()
        assert summary.points == points  # the same import as into MemoryStore
        rows.append(
            (
                f"PG: import {n_import:,} events vs Memory",
                ours,
                memory_import,
                f"<= 30 s for 1M: {n_import / ours:,.0f} events/s",
            )
        )
    finally:
        server.stop()
    return rows


def main() -> None:
    n_import = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_single = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    rows: list[tuple[str, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # --- durable single operations
        for sync in ("FULL", "NORMAL"):
            store = SQLiteStore(Path(tmp) / f"single-{sync}.db", synchronous=sync)
            ours, _ = timed(lambda store=store: single_ops(Ledger(PROGRAM, store), n_single))
            store.close()
            anchor, _ = timed(lambda sync=sync: naive_commits(Path(tmp), sync, n_single))
            rows.append(
                (
                    f"{n_single} earn/redeem, synchronous={sync}",
                    ours,
                    anchor,
                    f">= 2,000 ops/s: {n_single / ours:,.0f} ops/s",
                )
            )
        anchor, _ = timed(lambda: single_ops(Ledger(PROGRAM, MemoryStore()), n_single))
        rows.append((f"{n_single} earn/redeem, MemoryStore", anchor, None, "(no I/O)"))

        # --- bulk import
        tx = purchases(n_import, members=max(n_import // 20, 1))
        store = SQLiteStore(Path(tmp) / "bulk.db", synchronous="FULL")
        ours, summary = timed(
            lambda: Ledger(PROGRAM, store).import_transactions(tx, idempotency_key="bulk")
        )
        store.close()
        anchor, check = timed(
            lambda: Ledger(PROGRAM, MemoryStore()).import_transactions(tx, idempotency_key="bulk")
        )
        assert summary.points == check.points
        memory_import = anchor
        rows.append(
            (
                f"import {n_import:,} events, SQLite FULL vs Memory",
                ours,
                anchor,
                f"<= 20 s for 1M: {n_import / ours:,.0f} events/s",
            )
        )

        # --- balance() of a member holding 10,000 lots
        heavy = purchases(10_000, members=1, seed=2)
        path = Path(tmp) / "heavy.db"
        store = SQLiteStore(path, synchronous="FULL")
        ledger = Ledger(PROGRAM, store)
        ledger.import_transactions(heavy, idempotency_key="heavy")
        at = pd.Timestamp("2024-12-31")
        assert len(ledger.lots("0")) == 10_000
        times = []
        for _ in range(200):
            start = time.perf_counter()
            ledger.balance("0", at=at)
            times.append(time.perf_counter() - start)
        ours = statistics.median(times)
        store.close()
        memory = Ledger(PROGRAM, MemoryStore())
        memory.import_transactions(heavy, idempotency_key="heavy")
        naive = []
        for _ in range(200):
            start = time.perf_counter()
            memory.balance("0", at=at)
            naive.append(time.perf_counter() - start)
        rows.append(
            (
                "balance(), member with 10,000 lots (median)",
                ours,
                statistics.median(naive),
                f"<= 5 ms: {ours * 1000:.2f} ms",
            )
        )
    rows.extend(pg_rows(n_import, n_single, tx, memory_import, check.points))
    print(
        table(
            "Loyalty ledger (SQLiteStore in WAL mode, PostgresStore; shared 2-core machine)",
            rows,
        )
    )


if __name__ == "__main__":
    main()
