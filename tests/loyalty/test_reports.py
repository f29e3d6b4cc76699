"""Programme reports: tiers, monthly flow, redemption rate."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.loyalty import (
    FLOW_COLUMNS,
    Ledger,
    MemoryStore,
    Program,
    PurchaseEvent,
    points_flow,
    redemption_rate,
    tier_report,
)

PROGRAM = {
    "name": "p",
    "currency_decimals": 0,
    "base_rate": "1",
    "expiry": {"months": 2},
    "tiers": {
        "basis": "spend",
        "window_months": 12,
        "levels": [
            {"name": "silver", "threshold": 1000},
            {"name": "gold", "threshold": 5000, "earn_multiplier": "2"},
        ],
    },
}


def build() -> Ledger:
    ledger = Ledger(Program.from_dict(PROGRAM), MemoryStore())
    for i, (member, amount, day) in enumerate(
        [
            ("a", 6000, "2024-01-05"),
            ("b", 1500, "2024-01-20"),
            ("c", 200, "2024-02-03"),
            ("b", 100, "2024-03-01"),
        ]
    ):
        ledger.earn(
            PurchaseEvent(
                member, pd.Timestamp(day).to_pydatetime(), Decimal(amount), transaction_id=f"T{i}"
            ),
            idempotency_key=f"e{i}",
        )
    ledger.redeem("a", 1000, at="2024-02-10", idempotency_key="r1")
    ledger.refund("T1", Decimal(500), at="2024-02-11", idempotency_key="f1")
    ledger.expire_due("2024-04-01")
    return ledger


def test_points_flow_matches_entries() -> None:
    ledger = build()
    flow = points_flow(ledger)
    assert list(flow.columns) == list(FLOW_COLUMNS)
    assert [str(p) for p in flow.index] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert flow.loc[pd.Period("2024-01", "M"), "earned"] == 7500
    assert flow.loc[pd.Period("2024-02", "M"), "redeemed"] == 1000
    assert flow.loc[pd.Period("2024-02", "M"), "clawed_back"] == 500
    # "b" is silver in March (silver has no multiplier): 100 points
    assert flow.loc[pd.Period("2024-03", "M"), "earned"] == 100
    assert flow["outstanding"].iloc[-1] == int(ledger.entries()["points"].sum())
    expired = -int(ledger.entries().query("kind == 'expire'")["points"].sum())
    assert flow["expired"].sum() == expired > 0
    yearly = points_flow(ledger.entries(), freq="Y")
    assert yearly["net"].sum() == flow["net"].sum()
    with pytest.raises(InvalidDataError, match="freq must be"):
        points_flow(ledger, freq="W")


def test_redemption_rate() -> None:
    ledger = build()
    assert redemption_rate(ledger) == pytest.approx(1000 / 7800)
    with pytest.raises(InvalidDataError, match="no points were issued"):
        redemption_rate(pd.DataFrame({"kind": ["redeem"], "points": [-1], "at": ["2024-01-01"]}))


def test_tier_report_counts_members_and_points() -> None:
    ledger = build()
    report = tier_report(ledger, at="2024-03-02")
    assert list(report.index) == ["silver", "gold", "(no tier)"]
    assert report["members"].tolist() == [1, 1, 1]  # b silver (1,100 spend), a gold, c none
    held = {m: ledger.balance(m, at="2024-03-02") for m in "abc"}
    assert report.loc["gold", "points"] == held["a"].available + held["a"].pending
    assert report["members"].sum() == 3
    empty = tier_report(Ledger(Program.from_dict(PROGRAM), MemoryStore()), at="2024-01-01")
    assert empty["members"].sum() == 0
    with pytest.raises(InvalidDataError, match="ledger must be a Ledger"):
        tier_report("x", at="2024-01-01")  # type: ignore[arg-type]
