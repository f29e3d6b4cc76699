"""Ledger throughput: durable single operations, bulk import, balance of a heavy member.

Usage: ``python benchmarks/bench_loyalty.py [import_rows] [single_ops] [parts]`` (defaults
1,000,000, 2,000 and ``sqlite,heavy,pg``: a comma list of the parts to run; also
``ceiling``, ``pgwriters``, ``pgimport``, ``expiring`` and ``regress``, described below).

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

* ``pgimport``: only the PostgreSQL import row (against the same import into MemoryStore).

* ``pgwriters``: only the single-writer and 8-writer PostgreSQL rows. The 8-writer row
  and the import row (here and in ``pg``) are the median of ``RUNS`` runs, listing every
  run's figure (this shared machine's speed varies by a quarter from run to run); between
  two runs the database is vacuumed and analysed off the clock (``settle``). The
  8-writer row gives the CPU seconds per operation of the writer processes
  (client) and of the server's processes (``/proc``), and the bound they put on the
  2-core machine: ``2 / (client + server)`` operations per second.

* ``ceiling`` (issue 16): the Python-client ceiling of the same server. 1 and 8
  processes (psycopg 3, autocommit, prepared statements) each commit 2,000 durable
  single-statement transactions, one round trip each: ``SELECT f($1, $2)`` of a
  plpgsql function doing one ``INSERT``, and a bare ``INSERT ... RETURNING``; with
  the same CPU accounting. A ledger operation cannot go faster than this. Then the
  floor of the ledger's data (``4 inserts``): a plpgsql function taking a member lock
  and inserting an entry (three indexes), its lot (two), the member's running total
  and an idempotency record, as an earn does, without its checks, expiry days, member
  state or any Python ledger code: the server's share of an operation cannot be less.

* ``expiring`` (issue 16): ``balance()`` of a member whose 5,000 or 50,000 lots
  all expire within its 30-day window (``expiring_30d`` counts every one), median
  of 50 calls, on MemoryStore, SQLiteStore and PostgresStore (planner statistics
  refreshed after each import); the anchor is the 5,000-lot member.

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

import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
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


def _pg_writer(args: tuple[str, str, int, float]) -> tuple[float, float]:
    """One writer process: connect, wait for the common start, run; its end time and CPU."""
    conninfo, prefix, n, start_at = args
    store = PostgresStore(conninfo, migrate=False)
    ledger = Ledger(PROGRAM, store)
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    single_ops(ledger, n, prefix)
    cpu = time.process_time() - cpu
    store.close()
    return time.time(), cpu


def _server_cpu(data: Path) -> float:
    """CPU seconds used so far by the server of data directory ``data`` (Linux ``/proc``):
    the postmaster with its reaped children, and its live backends."""
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended
            continue
        pid = int(stat.parent.name)
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def run_writers(
    worker: Callable[[Any], tuple[float, float]],
    make_args: Callable[[float], list[Any]],
    data: Path,
    ops: int,
) -> tuple[float, str]:
    """Wall time of writer processes started together, and their CPU per operation
    (client: the writers' own; server: the PostgreSQL processes') with the bound it puts
    on the 2-core machine: ``2 cores / (client + server CPU per op)``."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(make_args(0.0))) as pool:
        # the processes start, import and connect first; the clock runs from a common start
        start_at = time.time() + 10
        result = pool.map_async(worker, make_args(start_at))
        time.sleep(max(0.0, start_at - time.time() - 0.05))
        server_before = _server_cpu(data)
        done = result.get()
        server = _server_cpu(data) - server_before
    wall = max(end for end, _ in done) - start_at
    client = sum(cpu for _, cpu in done)
    ms = 1000 / ops
    bound = 2 * ops / (client + server)
    return wall, (
        f"{ops / wall:,.0f} ops/s; CPU/op {client * ms:.2f} ms client + {server * ms:.2f} "
        f"ms server: 2-core bound {bound:,.0f} ops/s"
    )


#: runs of the 8-writer and import rows: the shared machine's speed varies by a quarter
#: from one run to the next, so each row gives the median run and the range
RUNS = 3


def settle(conninfo: str) -> None:
    """Vacuum and analyse the database between two measured runs, off the clock: the
    rows a run wrote would otherwise have autovacuum compete with the next run for the
    two cores (a third 1,000,000-event import took 34.8 s where the first two took 27.5)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("VACUUM (ANALYZE)")


def median_run(runs: list[tuple[float, str]], unit: Callable[[float], str]) -> tuple[float, str]:
    """The median of ``runs`` (wall time, note) with every run's figure: ``unit(wall)``.

    Examples
    --------
    >>> median_run([(2.0, "b"), (1.0, "a"), (4.0, "c")], lambda w: f"{8 / w:.0f}/s")
    (2.0, 'median of 3 runs (8/s, 4/s, 2/s): b')
    """
    ordered = sorted(runs, key=lambda run: run[0])
    wall, note = ordered[len(ordered) // 2]
    each = ", ".join(unit(w) for w, _ in ordered)
    return wall, f"median of {len(runs)} runs ({each}): {note}"


#: the ceiling's one-statement durable transactions: a plpgsql function doing one INSERT,
#: and the bare INSERT ... RETURNING
_CEILING_SETUP = (
    "CREATE TABLE IF NOT EXISTS ceiling (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "member text NOT NULL, points bigint NOT NULL)",
    "CREATE OR REPLACE FUNCTION ceiling_op(m text, p bigint) RETURNS bigint LANGUAGE plpgsql "
    "AS $$ DECLARE out bigint; BEGIN "
    "INSERT INTO ceiling (member, points) VALUES (m, p) RETURNING id INTO out; "
    "RETURN out; END $$",
    # the floor of the ledger's data: one member lock and four inserts, an entry (three
    # indexes), its lot (two), the member's running total and the idempotency record;
    # without the ledger's checks, expiry days, member state and redemptions
    "CREATE TABLE IF NOT EXISTS ceiling_entries (id bigint GENERATED ALWAYS AS IDENTITY "
    "PRIMARY KEY, member text NOT NULL, points bigint NOT NULL, at timestamptz NOT NULL, "
    "tx text, recorded_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE INDEX IF NOT EXISTS ceiling_entries_member ON ceiling_entries (member, at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ceiling_entries_tx ON ceiling_entries (tx)",
    "CREATE INDEX IF NOT EXISTS ceiling_entries_recorded ON ceiling_entries (member, recorded_at)",
    "CREATE TABLE IF NOT EXISTS ceiling_lots (id bigint GENERATED ALWAYS AS IDENTITY "
    "PRIMARY KEY, member text NOT NULL, entry bigint NOT NULL, expires_at timestamptz, "
    "points bigint NOT NULL, remaining bigint NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ceiling_lots_open ON ceiling_lots (member, expires_at, id) "
    "WHERE remaining > 0",
    "CREATE INDEX IF NOT EXISTS ceiling_lots_entry ON ceiling_lots (entry)",
    "CREATE TABLE IF NOT EXISTS ceiling_balances (member text PRIMARY KEY, points bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ceiling_keys (key text PRIMARY KEY, result text NOT NULL)",
    "CREATE OR REPLACE FUNCTION ceiling_ledger_op(m text, p bigint) RETURNS bigint "
    "LANGUAGE plpgsql AS $$ DECLARE out bigint; BEGIN "
    "PERFORM pg_advisory_xact_lock(hashtext(m)); "
    "INSERT INTO ceiling_entries (member, points, at, tx) VALUES (m, 120, now(), m || ':' || p) "
    "RETURNING id INTO out; "
    "INSERT INTO ceiling_lots (member, entry, expires_at, points, remaining) "
    "VALUES (m, out, now() + interval '1 year', 120, 120); "
    "INSERT INTO ceiling_balances AS b VALUES (m, 120) ON CONFLICT (member) "
    "DO UPDATE SET points = b.points + excluded.points; "
    "INSERT INTO ceiling_keys VALUES (m || ':' || p, '{\"entry\": ' || out || '}'); "
    "RETURN out; END $$",
)
_CEILING_SQL = {
    "function": "SELECT ceiling_op(%s, %s)",
    "insert": "INSERT INTO ceiling (member, points) VALUES (%s, %s) RETURNING id",
    "4 inserts": "SELECT ceiling_ledger_op(%s, %s)",
}


def _ceiling_writer(args: tuple[str, str, str, int, float]) -> tuple[float, float]:
    """One process of the ceiling: n durable one-statement transactions, one round trip each."""
    import psycopg

    conninfo, kind, member, n, start_at = args
    query = _CEILING_SQL[kind]
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=0) as con:
        con.execute(query, (member, -1)).fetchone()  # prepared before the clock starts
        time.sleep(max(0.0, start_at - time.time()))
        cpu = time.process_time()
        for i in range(n):
            con.execute(query, (member, i)).fetchone()
        cpu = time.process_time() - cpu
    return time.time(), cpu


def ceiling_rows(conninfo: str, data: Path, n: int) -> list[tuple[str, float, float | None, str]]:
    """The Python-client ceiling: 1 and 8 processes, one durable single-statement
    transaction (psycopg 3, autocommit, prepared) per operation, i.e. one round trip;
    against the ledger's figures this bounds what any Python client reaches here."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as con:
        for statement in _CEILING_SETUP:
            con.execute(statement)
    rows: list[tuple[str, float, float | None, str]] = []
    for writers in (1, 8):
        for kind in _CEILING_SQL:
            wall, note = run_writers(
                _ceiling_writer,
                lambda start_at, kind=kind, writers=writers: [
                    (conninfo, kind, f"c{writers}-{w}", n, start_at) for w in range(writers)
                ],
                data,
                writers * n,
            )
            rows.append((f"PG ceiling: {writers} x {n} 1-statement tx ({kind})", wall, None, note))
    return rows


def _rows_of(
    parts: list[Callable[[], list[tuple[str, float, float | None, str]]]],
) -> list[tuple[str, float, float | None, str]]:
    """The rows of parts run after the ledger's own (see ``pg_rows``), in order."""
    return [row for part in parts for row in part()]


def pg_rows(
    n_import: int,
    n_single: int,
    tx: pd.DataFrame | None,
    memory_import: float | None,
    points: int | None,
    parts: tuple[str, ...] = ("pg",),
    n_ceiling: int = 2000,
) -> list[tuple[str, float, float | None, str]]:
    """The PostgreSQL rows of the table (empty when no server can be started)."""
    import psycopg
    from pg_server import start_server

    server, reason = start_server(durable=True)
    if server is None:
        print(f"PostgreSQL part skipped: {reason}")
        return []
    rows: list[tuple[str, float, float | None, str]] = []
    after: list[Callable[[], list[tuple[str, float, float | None, str]]]] = []
    try:
        conninfo = server.conninfo
        if "ceiling" in parts:
            # after the ledger's rows (as the expiring rows): the 16,000 commits and the
            # imports of these parts leave the server work to do (autovacuum, a
            # checkpoint) that the ledger's writers would pay for (about a quarter of
            # their throughput, measured)
            after.append(lambda: ceiling_rows(conninfo, server.root / "data", n_ceiling))
        if "expiring" in parts:

            def analyze(name: str) -> None:
                with psycopg.connect(conninfo, autocommit=True) as con:
                    con.execute(f'ANALYZE "{name}".lots, "{name}".expiry_days')  # type: ignore[arg-type]

            def expiring() -> list[tuple[str, float, float | None, str]]:
                costs = expiring_costs(lambda name: PostgresStore(conninfo, schema=name), analyze)
                return [expiring_row("PG", costs)]

            after.append(expiring)
        if "pgimport" in parts and "pg" not in parts and tx is not None:
            data = server.root / "data"
            rows.append(pg_import_row(conninfo, data, n_import, tx, memory_import, points))
            return rows + _rows_of(after)
        if "pg" not in parts and "pgwriters" not in parts:
            return rows + _rows_of(after)
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
        runs = []
        for r in range(RUNS):
            runs.append(
                run_writers(
                    _pg_writer,
                    lambda start_at, r=r: [
                        (conninfo, f"r{r}w{w}-", per, start_at) for w in range(writers)
                    ],
                    server.root / "data",
                    writers * per,
                )
            )
            settle(conninfo)
        wall, note = median_run(runs, lambda wall: f"{writers * per / wall:,.0f}")
        rows.append((f"PG: {writers} writers x {per}, distinct members", wall, None, note))
        if "pg" not in parts:
            return rows + _rows_of(after)
        rows += cost_rows("PG", member_costs(lambda name: PostgresStore(conninfo, schema=name)))
        if tx is not None:
            rows.append(
                pg_import_row(conninfo, server.root / "data", n_import, tx, memory_import, points)
            )
        rows += _rows_of(after)
    finally:
        server.stop()
    return rows


def pg_import_row(
    conninfo: str,
    data: Path,
    n_import: int,
    tx: pd.DataFrame,
    memory_import: float | None,
    points: int | None,
) -> tuple[str, float, float | None, str]:
    """The import of ``tx`` into a fresh PostgreSQL schema (``RUNS`` times, the median
    run), against MemoryStore, with the CPU seconds of this process (all its threads) and
    of the server's processes: on a shared machine they vary less than the wall time."""
    runs = []
    for run in range(RUNS):
        store = PostgresStore(conninfo, schema=f"bulk{run}")
        client_before, server_before = time.process_time(), _server_cpu(data)
        ours, summary = timed(
            lambda store=store: Ledger(PROGRAM, store).import_transactions(
                tx, idempotency_key="bulk"
            )
        )
        client, server = time.process_time() - client_before, _server_cpu(data) - server_before
        store.close()
        assert summary.points == points  # the same import as into MemoryStore
        settle(conninfo)
        runs.append(
            (
                ours,
                f"{n_import / ours:,.0f} events/s; CPU {client:.1f} s client "
                f"+ {server:.1f} s server",
            )
        )
    wall, note = median_run(runs, lambda wall: f"{wall:.1f} s")
    return (
        f"PG: import {n_import:,} events vs Memory",
        wall,
        memory_import,
        f"<= 30 s for 1M: {note}",
    )


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


def expiring_costs(
    open_store: Callable[[str], Store],
    settle: Callable[[str], None] | None = None,
    reps: int = 50,
) -> tuple[float, float]:
    """balance() medians for a member with 5,000 and 50,000 lots all expiring in its window.

    Purchases spread over 28 days of January 2024 (12-month expiry: they all expire in
    January 2025); the balance at 31 December 2024 counts every one in ``expiring_30d``.
    ``settle(name)`` runs after each import (PostgreSQL: ANALYZE, so that both members are
    planned from statistics; only the larger import refreshes them itself).
    """
    out: list[float] = []
    for n in (5_000, 50_000):
        rng = np.random.default_rng(3)
        seconds = np.sort(rng.integers(0, 28 * 86400, n))
        heavy = pd.DataFrame(
            {
                "member_id": "0",
                "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, unit="s"),
                "subtotal": rng.integers(1, 20_000, n),
            }
        )
        store = open_store(f"expiring{n}")
        ledger = Ledger(PROGRAM, store)
        ledger.import_transactions(heavy, idempotency_key=f"expiring{n}", chunk_size=n)
        if settle is not None:
            settle(f"expiring{n}")
        at = pd.Timestamp("2024-12-31 12:00")
        assert ledger.balance("0", at=at).expiring_30d == ledger.balance("0", at=at).available
        out.append(_median(lambda i, led=ledger, t=at: led.balance("0", at=t), reps))
        store.close()
    return out[0], out[1]


def expiring_row(name: str, costs: tuple[float, float]) -> tuple[str, float, float | None, str]:
    five, fifty = costs
    return (
        f"{name}: expiring balance, 50,000 vs 5,000 lots in window",
        fifty,
        five,
        f"flat (~1.0x): {fifty * 1000:.2f} vs {five * 1000:.2f} ms",
    )


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
        if "expiring" in parts:
            rows.append(expiring_row("Memory", expiring_costs(lambda name: MemoryStore())))
            rows.append(
                expiring_row(
                    "SQLite NORMAL",
                    expiring_costs(
                        lambda name: SQLiteStore(Path(tmp) / f"{name}.db", synchronous="NORMAL")
                    ),
                )
            )
        if "regress" in parts:
            rows += regress_rows(n_import)
        if "sqlite" not in parts:
            if "pg" in parts or "pgimport" in parts:
                # the PostgreSQL import against the same import into MemoryStore
                tx = purchases(n_import, members=max(n_import // 20, 1))
                anchor, check = timed(
                    lambda: Ledger(PROGRAM, MemoryStore()).import_transactions(
                        tx, idempotency_key="bulk"
                    )
                )
                rows += pg_rows(n_import, n_single, tx, anchor, check.points, tuple(parts))
            elif {"ceiling", "expiring", "pgwriters"} & set(parts):
                rows += pg_rows(n_import, n_single, None, None, None, tuple(parts))
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
    if {"pg", "pgimport", "ceiling", "expiring", "pgwriters"} & set(parts):
        rows += pg_rows(n_import, n_single, tx, memory_import, check.points, tuple(parts))
    print(
        table(
            "Loyalty ledger (SQLiteStore in WAL mode, PostgresStore; shared 2-core machine)",
            rows,
        )
    )


if __name__ == "__main__":
    main()
