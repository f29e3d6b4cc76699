"""The single-event and table engines agree at the numeric limits, or both refuse.

Regression tests of issue 16, item 5: bulk amounts used to wrap around in int64
(``amount_minor`` 84 and 0 points for an integer subtotal of 184467440737095517
with 2 decimals), 10**17 gave a misleading "must be >= 0", and a base rate of
1e12 raised ``OverflowError`` in the table engine where the event engine
returned 10**21 points.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.loyalty import (
    Ledger,
    MemoryStore,
    Program,
    PurchaseEvent,
    points_for_event,
    points_for_transactions,
)

CENTS = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 2})


def _table(subtotal: object) -> pd.DataFrame:
    return pd.DataFrame(
        {"member_id": ["a"], "timestamp": pd.to_datetime(["2024-01-01"]), "subtotal": [subtotal]}
    )


@pytest.mark.parametrize("subtotal", [184467440737095517, 10**17, 2**63 - 1])
def test_huge_integer_amounts_are_refused_not_wrapped(subtotal: int) -> None:
    with pytest.raises(InvalidDataError, match=r"'subtotal' must be at most .*row 0"):
        points_for_transactions(CENTS, _table(subtotal))
    with pytest.raises(InvalidDataError, match=r"event\.subtotal must be at most"):
        points_for_event(CENTS, PurchaseEvent("a", dt.datetime(2024, 1, 1), Decimal(subtotal)))
    ledger = Ledger(CENTS, MemoryStore())
    with pytest.raises(InvalidDataError, match="must be at most"):
        ledger.import_transactions(_table(subtotal), idempotency_key="k")
    assert ledger.entries().empty


@pytest.mark.parametrize(
    "subtotal", [pytest.param(1e17, id="float"), pytest.param("1e17", id="text")]
)
def test_huge_float_and_text_amounts_are_refused(subtotal: object) -> None:
    with pytest.raises(InvalidDataError, match="'subtotal' must"):
        points_for_transactions(CENTS, _table(subtotal))


def test_the_largest_amount_is_exact_in_both_engines() -> None:
    big = 10**16  # currency units: 10**18 minor units, the limit
    table = points_for_transactions(
        Program.from_dict({"name": "p", "base_rate": "0.0001", "currency_decimals": 2}),
        _table(big),
    )
    one = points_for_event(
        Program.from_dict({"name": "p", "base_rate": "0.0001", "currency_decimals": 2}),
        PurchaseEvent("a", dt.datetime(2024, 1, 1), Decimal(big)),
    )
    assert int(table["points"].iloc[0]) == one.points == 10**12
    assert int(table["eligible_minor"].iloc[0]) == 10**18


def test_points_above_the_limit_are_refused_by_both_engines() -> None:
    program = Program.from_dict({"name": "p", "base_rate": "1e12", "currency_decimals": 2})
    event = PurchaseEvent("a", dt.datetime(2024, 1, 1), Decimal(10**9))
    with pytest.raises(
        InvalidDataError,
        match=r"points earned by the purchase of member 'a' at .*: 1000000000000000000000, above",
    ):
        points_for_event(program, event)
    with pytest.raises(InvalidDataError, match="row 0 would earn 1000000000000000000000 points"):
        points_for_transactions(program, _table(10**9))
    # just below the limit both engines agree
    ok = PurchaseEvent("a", dt.datetime(2024, 1, 1), Decimal(1000))
    assert points_for_event(program, ok).points == 10**15
    assert int(points_for_transactions(program, _table(1000))["points"].iloc[0]) == 10**15


def test_event_at_outside_the_nanosecond_range_is_refused() -> None:
    event = PurchaseEvent("a", dt.datetime(2300, 1, 1), Decimal(1))
    with pytest.raises(InvalidDataError, match=r"event\.at is outside the supported range"):
        points_for_event(CENTS, event)


def test_self_referral_and_cycles_in_a_members_table_are_refused() -> None:
    program = Program.from_dict(
        {"name": "p", "base_rate": "1", "earn_rules": [{"type": "referral", "points": 50}]}
    )
    tx = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "subtotal": [10, 10],
        }
    )
    alone = pd.DataFrame({"referred_by": ["a"]}, index=["a"])
    with pytest.raises(InvalidDataError, match="'a' cannot refer themselves"):
        points_for_transactions(program, tx, members=alone)
    cycle = pd.DataFrame({"referred_by": ["b", "c", "a"]}, index=["a", "b", "c"])
    with pytest.raises(InvalidDataError, match="cycle: 'a' -> 'b' -> 'c' -> 'a'"):
        points_for_transactions(program, tx, members=cycle)
    chain = pd.DataFrame({"referred_by": ["b", "c", None]}, index=["a", "b", "c"])
    got = points_for_transactions(program, tx, members=chain)
    assert got["referrer_id"].tolist() == ["b", "c"]
