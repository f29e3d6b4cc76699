"""Reliability of SQLiteStore with real processes: SIGKILL mid-batch, concurrent writers.

These tests start real Python subprocesses on a real SQLite file; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from customer_value.loyalty import Ledger, MemoryStore, Program, SQLiteStore

from .ledger_checks import check_invariants, import_table

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="needs POSIX signals (SIGKILL)"
)

PROGRAM = {"name": "shop", "currency_decimals": 0, "base_rate": "1"}

OPS_SCRIPT = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from customer_value.loyalty import Ledger, Program, SQLiteStore
    path, n = sys.argv[1], int(sys.argv[2])
    ledger = Ledger(Program.from_dict({program}), SQLiteStore(path))
    base = pd.Timestamp("2024-01-01")
    for i in range(n):
        member, key, at = f"m{{(i // 3) % 5}}", f"op-{{i}}", base + pd.Timedelta(minutes=i)
        if i % 3 == 2:
            ledger.redeem(member, 5, at=at, idempotency_key=key, note=key)
        else:
            ledger.adjust(member, 10, at=at, reason=key, idempotency_key=key)
        print(i, flush=True)
    """
).format(program=repr(PROGRAM))


def run_ops(ledger: Ledger, n: int) -> None:
    base = pd.Timestamp("2024-01-01")
    for i in range(n):
        member, key, at = f"m{(i // 3) % 5}", f"op-{i}", base + pd.Timedelta(minutes=i)
        if i % 3 == 2:
            ledger.redeem(member, 5, at=at, idempotency_key=key, note=key)
        else:
            ledger.adjust(member, 10, at=at, reason=key, idempotency_key=key)


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_sigkill_mid_batch_leaves_whole_operations(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteStore(path).close()  # create the schema before the race
    n = 2000
    child = subprocess.Popen(
        [sys.executable, "-c", OPS_SCRIPT, str(path), str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert child.stdout is not None
    seen = 0
    while seen < 200:  # let it commit a few hundred operations, then kill it mid-stream
        line = child.stdout.readline()
        assert line, "the writer died before it was killed"
        seen += 1
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    store = SQLiteStore(path)
    assert store.integrity_check() == "ok"
    ledger = Ledger(Program.from_dict(PROGRAM), store)
    check_invariants(ledger)
    entries = ledger.entries()
    done = set(entries["note"])
    con = sqlite3.connect(path)
    keys = {k for (k,) in con.execute("SELECT key FROM idempotency")}
    con.close()
    # each operation is wholly there (entry + allocations + key) or wholly absent ...
    assert done == keys
    # ... and, being sequential, the committed ones are a prefix of the batch
    committed = len(keys)
    assert committed >= seen
    assert keys == {f"op-{i}" for i in range(committed)}
    assert committed < n, "the kill came too late to test anything"
    # finishing the batch with the same keys gives exactly an uninterrupted run
    run_ops(ledger, n)
    clean = Ledger(Program.from_dict(PROGRAM), MemoryStore())
    run_ops(clean, n)
    for m in (f"m{i}" for i in range(5)):
        assert ledger.balance(m, at="2025-01-01") == clean.balance(m, at="2025-01-01")
    assert len(ledger.entries()) == n
    check_invariants(ledger)
    store.close()


IMPORT_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pandas as pd
    from customer_value.loyalty import Ledger, Program, SQLiteStore
    sys.path.insert(0, sys.argv[2])
    from ledger_checks import import_table
    ledger = Ledger(Program.from_dict({program}), SQLiteStore(sys.argv[1]))
    ledger.import_transactions(import_table(), idempotency_key="bulk", chunk_size=2000)
    print("finished", flush=True)
    """
).format(program=repr({**PROGRAM, "earn_rules": [{"type": "first_purchase", "points": 25}]}))


def test_sigkill_during_bulk_import_then_resume(tmp_path: Path) -> None:
    path = tmp_path / "bulk.db"
    SQLiteStore(path).close()
    child = subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, str(path), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    con = sqlite3.connect(path, timeout=30)
    deadline = time.monotonic() + 60
    chunks = 0
    while chunks < 2 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
        chunks = con.execute(
            "SELECT COUNT(*) FROM idempotency WHERE key GLOB 'bulk#[0-9]*'"
        ).fetchone()[0]
    con.close()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert chunks >= 2, "the import did not get going"

    store = SQLiteStore(path)
    assert store.integrity_check() == "ok"
    program = Program.from_dict(
        {**PROGRAM, "earn_rules": [{"type": "first_purchase", "points": 25}]}
    )
    ledger = Ledger(program, store)
    check_invariants(ledger)
    written = ledger.entries()
    assert len(written) % 2000 == 0 or len(written) == len(import_table())  # whole chunks only
    summary = ledger.import_transactions(import_table(), idempotency_key="bulk", chunk_size=2000)
    assert summary.replayed_chunks >= 2
    clean = Ledger(program, MemoryStore())
    clean.import_transactions(import_table(), idempotency_key="bulk", chunk_size=2000)
    got = ledger.entries().groupby("member_id")["points"].sum()
    want = clean.entries().groupby("member_id")["points"].sum()
    pd.testing.assert_series_equal(got, want)
    check_invariants(ledger)
    store.close()


WORKER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import pandas as pd
    from decimal import Decimal
    from customer_value.errors import InsufficientPointsError
    from customer_value.loyalty import Ledger, Program, PurchaseEvent, SQLiteStore
    path, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ledger = Ledger(Program.from_dict({program}), SQLiteStore(path))
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2024-01-01")
    ok_points, ok_ops, refused = 0, 0, 0
    for i in range(n):
        member = f"m{{rng.integers(0, 4)}}"
        at = base + pd.Timedelta(seconds=int(rng.integers(0, 86400 * 30)))
        key = f"w{{seed}}-{{i}}"
        if rng.random() < 0.5:
            amount = int(rng.integers(1, 200))
            r = ledger.earn(PurchaseEvent(member, at.to_pydatetime(), Decimal(amount),
                                          transaction_id=key), idempotency_key=key)
        else:
            try:
                r = ledger.redeem(member, int(rng.integers(1, 300)), at=base
                                  + pd.Timedelta(days=40), idempotency_key=key)
            except InsufficientPointsError:
                refused += 1
                continue
        ok_points += r.points
        ok_ops += 1
    print(json.dumps({{"points": ok_points, "ops": ok_ops, "refused": refused}}))
    """
).format(program=repr(PROGRAM))


def test_two_processes_share_members_without_losing_anything(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    SQLiteStore(path).close()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, str(path), str(seed), "1000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for seed in (1, 2)
    ]
    reports = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        reports.append(json.loads(out))
    store = SQLiteStore(path)
    assert store.integrity_check() == "ok"
    ledger = Ledger(Program.from_dict(PROGRAM), store)
    entries = ledger.entries()
    # nothing lost: every acknowledged operation is there, and nothing else
    assert len(entries) == sum(r["ops"] for r in reports)
    assert int(entries["points"].sum()) == sum(r["points"] for r in reports)
    assert all(r["refused"] > 0 for r in reports), "the test should exercise refusals too"
    # no lot spent twice, remaining never negative, balances = sum of entries
    check_invariants(ledger)
    # no balance ever below zero: in commit order every member's running balance stays >= 0
    running = entries.groupby("member_id")["points"].cumsum()
    assert (running >= 0).all()
    for m in entries["member_id"].unique():
        assert ledger.balance(m, at="2024-03-01").available >= 0
    store.close()
