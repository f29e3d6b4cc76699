"""Invariant checks shared by the ledger tests (imported by the test modules)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from customer_value.errors import InsufficientPointsError
from customer_value.loyalty import Ledger, Program, PurchaseEvent, Store


def check_invariants(ledger: Ledger) -> None:
    """Every lot accounted for by its allocations; balances equal the sum of entries."""
    entries = ledger.entries()
    lots = ledger.lots()
    alloc = ledger.store.allocations_frame()
    members = ledger.store.members_frame()
    used = alloc.groupby("lot_id")["points"].sum()
    spent = lots["lot_id"].map(used).fillna(0).astype("int64")
    # no lot spent twice: what the allocations took is exactly what left the lot
    assert (lots["remaining"] == lots["points"] - spent).all()
    assert (lots["remaining"] >= 0).all()
    assert (lots["remaining"] <= lots["points"]).all()
    # balance = earned - redeemed - expired - clawed back +/- adjustments
    by_entries = entries.groupby("member_id")["points"].sum()
    by_lots = lots.groupby("member_id")["remaining"].sum()
    ids = sorted(set(by_entries.index) | set(by_lots.index))
    debt = (
        pd.to_numeric(members["debt"]).reindex(ids).fillna(0)
        if "debt" in members.columns
        else pd.Series(0, index=ids)
    )
    lhs = by_entries.reindex(ids, fill_value=0)
    rhs = by_lots.reindex(ids, fill_value=0) - debt.astype("int64")
    assert (lhs == rhs).all(), pd.DataFrame({"entries": lhs, "lots_minus_debt": rhs})
    # every redemption and expiry is fully traced to lots
    traced = alloc.groupby("entry_id")["points"].sum()
    for kind in ("redeem", "expire"):
        sub = entries[entries["kind"] == kind]
        got = sub["entry_id"].map(traced).fillna(0).astype("int64")
        assert (got == -sub["points"]).all(), kind


def import_table() -> pd.DataFrame:
    """The bulk-import table of the SIGKILL test (also imported by its child process)."""
    rng = np.random.default_rng(7)
    n = 60_000
    return pd.DataFrame(
        {
            "member_id": rng.integers(0, 3000, n).astype(str),
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 300 * 86400, n)), unit="s"),
            "subtotal": rng.integers(1, 5000, n),
            "transaction_id": [f"T{i}" for i in range(n)],
        }
    )


def race_worker(store: Store, program: dict[str, Any], seed: int, n: int) -> dict[str, int]:
    """``n`` random earns and redeems on 4 shared members; what was acknowledged.

    Run by each writer of the race tests (a process, or a thread on MemoryStore).
    """
    ledger = Ledger(Program.from_dict(program), store)
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2024-01-01")
    ok_points, ok_ops, refused = 0, 0, 0
    for i in range(n):
        member = f"m{rng.integers(0, 4)}"
        at = base + pd.Timedelta(seconds=int(rng.integers(0, 86400 * 30)))
        key = f"w{seed}-{i}"
        if rng.random() < 0.5:
            amount = int(rng.integers(1, 200))
            event = PurchaseEvent(member, at.to_pydatetime(), Decimal(amount), transaction_id=key)
            r = ledger.earn(event, idempotency_key=key)
        else:
            try:
                when = base + pd.Timedelta(days=40)
                r = ledger.redeem(member, int(rng.integers(1, 300)), at=when, idempotency_key=key)
            except InsufficientPointsError:
                refused += 1
                continue
        ok_points += r.points
        ok_ops += 1
    return {"points": ok_points, "ops": ok_ops, "refused": refused}
