"""IFRS 15 accounting for points: Illustrative Example 52, breakage, liability."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given

from customer_value.errors import InvalidDataError
from customer_value.loyalty import Ledger, MemoryStore, Program
from customer_value.loyalty.accounting import (
    allocate_transaction_price,
    breakage_rate,
    points_liability,
    points_revenue_schedule,
)

# IFRS 15 Illustrative Example 52 (IE267-IE270), figures in currency units (CU):
# sale CU100,000 with 10,000 points; points' stand-alone selling price CU9,500;
# allocation CU8,676 to points and CU91,324 to products; year 1: 4,500 points
# redeemed of 9,500 expected -> revenue CU4,110; year 2: 8,500 cumulative of
# 9,700 expected -> cumulative CU7,603, year-2 revenue CU3,493.


def test_example_52_allocation() -> None:
    a = allocate_transaction_price(Decimal(100_000), Decimal(9_500), decimals=0)
    assert a.points == Decimal(8_676)
    assert a.product == Decimal(91_324)
    assert a.points + a.product == 100_000
    assert a.points_share == Decimal(9_500) / Decimal(109_500)


def test_example_52_revenue_schedule() -> None:
    s = points_revenue_schedule(Decimal(8_676), [4_500, 8_500], [9_500, 9_700], decimals=0)
    assert s["revenue"].tolist() == [Decimal(4_110), Decimal(3_493)]
    assert s["cumulative_revenue"].tolist() == [Decimal(4_110), Decimal(7_603)]
    assert s["contract_liability"].tolist() == [Decimal(4_566), Decimal(1_073)]
    assert list(s.index) == [1, 2]


def test_schedule_matches_exact_fractions_at_cents() -> None:
    # independent oracle: exact rational arithmetic, rounded half-up to cents only at the end
    s = points_revenue_schedule("8675.80", [4_500, 8_500, 9_700], [9_500, 9_700, 9_700])
    for row, (r, e) in zip(s.itertuples(), [(4500, 9500), (8500, 9700), (9700, 9700)], strict=True):
        exact = Fraction("8675.80") * r / e
        cents = (exact * 100 + Fraction(1, 2)).__floor__()
        assert row.cumulative_revenue == Decimal(cents) / 100
    assert s["contract_liability"].iloc[-1] == 0
    assert sum(s["revenue"]) == Decimal("8675.80")


@given(
    allocation=st.integers(0, 10**12),
    steps=st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
    slack=st.integers(1, 10**6),
)
def test_schedule_properties(allocation: int, steps: list[int], slack: int) -> None:
    cumulative = list(pd.Series(steps).cumsum())
    expected = cumulative[-1] + slack
    s = points_revenue_schedule(allocation, cumulative, expected, decimals=2)
    revenue = s["revenue"].tolist()
    assert all(r >= 0 for r in revenue)
    assert sum(revenue) == s["cumulative_revenue"].iloc[-1]
    assert all(0 <= x <= allocation for x in s["contract_liability"])
    assert (s["cumulative_revenue"] + s["contract_liability"] == Decimal(allocation)).all()


@given(sale=st.integers(1, 10**12), points=st.integers(0, 10**12), decimals=st.integers(0, 4))
def test_allocation_adds_up(sale: int, points: int, decimals: int) -> None:
    a = allocate_transaction_price(sale, points, decimals=decimals)
    assert a.points + a.product == sale
    assert 0 <= a.points <= sale


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: allocate_transaction_price(0, 10), "sale_amount must be > 0"),
        (lambda: allocate_transaction_price(100.0, 10), "floats are inexact"),
        (lambda: allocate_transaction_price(100, -1), "points_standalone_value must be >= 0"),
        (lambda: allocate_transaction_price(100, "x"), "must be a number"),
        (lambda: allocate_transaction_price(100, 1, decimals=9), "decimals must be between"),
        (lambda: points_revenue_schedule(100, [], 10), "empty"),
        (lambda: points_revenue_schedule(100, [5, 4], 10), "must not decrease"),
        (lambda: points_revenue_schedule(100, [11], 10), "exceeds expected"),
        (lambda: points_revenue_schedule(100, [1, 2], [10]), "1 values for 2 periods"),
        (lambda: points_revenue_schedule(100, [1], 0), "must be > 0"),
        (lambda: points_revenue_schedule(100, [1], 5, periods=["a", "b"]), "2 labels"),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        call()  # type: ignore[operator]


def test_breakage_rate() -> None:
    h = pd.DataFrame(
        {
            "kind": ["earn", "redeem", "expire", "reversal", "redeem", "clawback"],
            "points": [1000, -600, -200, 100, -100, -50],
        }
    )
    # redeemed 600 + 100 - 100 (reversed) = 600, expired 200
    assert breakage_rate(h) == pytest.approx(0.25)
    with pytest.raises(InvalidDataError, match="cannot be estimated yet"):
        breakage_rate(h.iloc[:1])
    with pytest.raises(InvalidDataError, match="missing column"):
        breakage_rate(h[["kind"]])
    with pytest.raises(InvalidDataError, match="row 1 is not a number"):
        breakage_rate({"kind": ["earn", "redeem"], "points": [1, "x"]})


def test_liability_at_year_end_reproduces_example_52() -> None:
    ledger = Ledger(
        Program.from_dict({"name": "p", "base_rate": "1", "expiry": {"months": 36}}),
        MemoryStore(),
    )
    ledger.adjust("customers", 10_000, at="2024-01-01", idempotency_key="grant")
    ledger.redeem("customers", 4_500, at="2024-06-01", idempotency_key="y1")
    ledger.redeem("customers", 4_000, at="2025-06-01", idempotency_key="y2")
    year1 = points_liability(
        ledger,
        "2024-12-31",
        value_per_point=Decimal(8_676) / 9_500,
        breakage=Decimal(500) / 5_500,
        decimals=0,
    )
    # measured after the fact: later redemptions are ignored
    assert year1.outstanding_points == 5_500
    assert year1.liability == Decimal(4_566)
    # year 2: 1,500 outstanding, 1,200 of them expected (9,700 - 8,500), CU8,676 / 9,700 each
    year2 = points_liability(
        ledger,
        "2025-12-31",
        value_per_point=Decimal(8_676) / 9_700,
        breakage=Decimal(300) / 1_500,
        decimals=0,
    )
    assert year2.liability == Decimal(1_073)
    with pytest.raises(InvalidDataError, match=r"breakage must be in \[0, 1\)"):
        points_liability(ledger, "2025-12-31", value_per_point=1, breakage=1)
    with pytest.raises(InvalidDataError, match="ledger must be a Ledger"):
        points_liability("ledger", "2025-12-31", value_per_point=1)  # type: ignore[arg-type]


def test_liability_excludes_lapsed_points_before_the_expiry_run() -> None:
    ledger = Ledger(
        Program.from_dict({"name": "p", "base_rate": "1", "expiry": {"months": 12}}),
        MemoryStore(),
    )
    ledger.adjust("m", 100, at="2023-01-10", idempotency_key="a")
    ledger.adjust("m", 50, at="2023-09-10", idempotency_key="b")
    ledger.redeem("m", 30, at="2023-03-01", idempotency_key="r")
    before_run = points_liability(ledger, "2024-02-01", value_per_point=1)
    assert before_run.outstanding_points == 50
    ledger.expire_due("2024-02-01")
    after_run = points_liability(ledger, "2024-02-01", value_per_point=1)
    assert after_run.outstanding_points == 50
    assert points_liability(ledger, "2023-12-31", value_per_point=1).outstanding_points == 120
