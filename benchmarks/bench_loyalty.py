"""Ledger throughput: durable single operations, bulk import, balance of a heavy member.

Usage: ``python benchmarks/bench_loyalty.py [import_rows] [single_ops] [parts]`` (defaults
1,000,000, 2,000 and ``sqlite,heavy,pg``: a comma list of the parts to run).

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

* Per-member cost against history length (issue 16, item 5): one member
  holding 5,000 and 50,000 open lots (imported purchases, never-expiring
  points, all unspent), on each store. ``redeem`` of a few points at the end
  of the history and ``balance`` at the instant 100 entries before the end (a
  past balance), median of 50
  calls each; the anchor of each row is the same call on the 5,000-lot member,
  so a speed-up near 1.0x means the cost does not grow with the history.

* PostgreSQL (issue 16): a server started for the run in a temporary
  directory (``initdb`` + ``pg_ctl``, default ``fsync=on`` and
  ``synchronous_commit=on``: every commit is durable). ``single_ops``
  earn/redeem calls from one writer, against the floor of one bare ``INSERT``
  per committed transaction over the same connection; 8 writer processes on
  distinct members, 1,000 operations each (total ops/s); the import of
  ``import_rows`` purchases (COPY), against the same import into MemoryStore.

* Import regression (issue 16): ``regress`` runs the import of ``import_rows``
  purchases into SQLiteStore (FULL) and MemoryStore with this checkout's code and
  with the code of ``PRE_RESTRUCTURE`` (the commit before the loyalty package was
  split up, exported with ``git archive`` into a temporary directory), each in a
  fresh interpreter, interleaved in the same run; the anchor of each row is the old
  code. Needs the repository's history.

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
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
from _common import table, timed
from _loyalty_data import PROGRAM, purchases

from customer_value.loyalty import (
    Ledger,
    MemoryStore,
    PostgresStore,
    Program,
    PurchaseEvent,
    SQLiteStore,
    Store,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "loyalty"))

#: the member-cost rows: points that never expire, so every lot stays open
OPEN_PROGRAM = Program.from_dict({**PROGRAM.to_dict(), "expiry": None})


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
    n_import: int,
    n_single: int,
    tx: pd.DataFrame | None,
    memory_import: float | None,
    points: int | None,
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
        rows += cost_rows("PG", member_costs(lambda name: PostgresStore(conninfo, schema=name)))
        if tx is None:
            return rows
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


#: the last commit before the loyalty restructure (issue 16, item 3)
PRE_RESTRUCTURE = "0199668"

_CHILD = """
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from _loyalty_data import PROGRAM, purchases
from customer_value.loyalty import Ledger, MemoryStore, SQLiteStore
tx = purchases(int(sys.argv[2]), members=max(int(sys.argv[2]) // 20, 1))
with tempfile.TemporaryDirectory() as tmp:
    store = (MemoryStore() if sys.argv[3] == "memory"
             else SQLiteStore(Path(tmp) / "bulk.db", synchronous="FULL"))
    start = time.perf_counter()
    Ledger(PROGRAM, store).import_transactions(tx, idempotency_key="bulk")
    print(time.perf_counter() - start)
    store.close()
"""


def regress_rows(n_import: int, repeat: int = 2) -> list[tuple[str, float, float | None, str]]:
    """Import into SQLite (FULL) and Memory: this code against ``PRE_RESTRUCTURE``."""
    import os
    import subprocess

    here = Path(__file__).resolve().parent
    src = here.parent / "src"
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "-C", str(here.parent), "archive", PRE_RESTRUCTURE, "src"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        for _ in range(repeat):
            for store in ("sqlite", "memory"):
                for code, path in (("new", src), ("old", Path(old) / "src")):
                    env = {**os.environ, "PYTHONPATH": str(path)}
                    out = subprocess.run(
                        [sys.executable, "-c", _CHILD, str(here), str(n_import), store],
                        capture_output=True,
                        text=True,
                        check=True,
                        env=env,
                    )
                    times.setdefault((store, code), []).append(float(out.stdout.split()[-1]))
    return [
        (
            f"import {n_import:,}, {name}: now vs {PRE_RESTRUCTURE}",
            min(times[(store, "new")]),
            min(times[(store, "old")]),
            "must not regress (>= 1.0x)",
        )
        for store, name in (("sqlite", "SQLite FULL"), ("memory", "MemoryStore"))
    ]


_END = pd.Timestamp("2024-12-31")


def _median(fn: Callable[[int], object], n: int) -> float:
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def member_costs(open_store: Callable[[str], Store], reps: int = 50) -> tuple[float, ...]:
    """(redeem, past balance) medians for a member with 5,000 and with 50,000 lots."""
    out: list[float] = []
    for n in (5_000, 50_000):
        heavy = purchases(n, members=1, seed=2)
        store = open_store(f"heavy{n}")
        ledger = Ledger(OPEN_PROGRAM, store)
        ledger.import_transactions(heavy, idempotency_key=f"heavy{n}", chunk_size=n)
        then = heavy["timestamp"].sort_values().iloc[-100]
        past = _median(lambda i, led=ledger, t=then: led.balance("0", at=t), reps)
        redeem = _median(
            lambda i, led=ledger: led.redeem("0", 5, at=_END, idempotency_key=f"r{i}"), reps
        )
        store.close()
        out += [redeem, past]
    return tuple(out)


def cost_rows(name: str, costs: tuple[float, ...]) -> list[tuple[str, float, float | None, str]]:
    redeem5, past5, redeem50, past50 = costs
    return [
        (
            f"{name}: redeem, 50,000 vs 5,000 lots",
            redeem50,
            redeem5,
            f"flat (~1.0x): {redeem50 * 1000:.2f} vs {redeem5 * 1000:.2f} ms",
        ),
        (
            f"{name}: past balance, 50,000 vs 5,000 lots",
            past50,
            past5,
            f"flat (~1.0x): {past50 * 1000:.2f} vs {past5 * 1000:.2f} ms",
        ),
    ]


def main() -> None:
    n_import = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_single = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    parts = (sys.argv[3] if len(sys.argv) > 3 else "sqlite,heavy,pg").split(",")
    rows: list[tuple[str, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if "heavy" in parts:
            rows += cost_rows("Memory", member_costs(lambda name: MemoryStore()))
            rows += cost_rows(
                "SQLite NORMAL",
                member_costs(
                    lambda name: SQLiteStore(Path(tmp) / f"{name}.db", synchronous="NORMAL")
                ),
            )
        if "regress" in parts:
            rows += regress_rows(n_import)
        if "sqlite" not in parts:
            if "pg" in parts:
                # the PostgreSQL import against the same import into MemoryStore
                tx = purchases(n_import, members=max(n_import // 20, 1))
                anchor, check = timed(
                    lambda: Ledger(PROGRAM, MemoryStore()).import_transactions(
                        tx, idempotency_key="bulk"
                    )
                )
                rows.extend(pg_rows(n_import, n_single, tx, anchor, check.points))
            print(table("Loyalty ledger (selected parts)", rows))
            return
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
    if "pg" in parts:
        rows.extend(pg_rows(n_import, n_single, tx, memory_import, check.points))
    print(
        table(
            "Loyalty ledger (SQLiteStore in WAL mode, PostgresStore; shared 2-core machine)",
            rows,
        )
    )


if __name__ == "__main__":
    main()
