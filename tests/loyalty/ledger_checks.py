"""Invariant checks shared by the ledger tests (imported by the test modules)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.loyalty import Ledger


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
