"""points_for_transactions (vectorised) == points_for_event threaded row by row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from customer_value.loyalty import Program, points_for_transactions

CATEGORIES = ["a", "b", "c"]
START = dt.datetime(2024, 1, 1)


def _decimal(draw: Any, low: int, high: int, places: int) -> str:
    units = draw(st.integers(low, high))
    return str(Decimal(units).scaleb(-places))


@st.composite
def programs(draw: Any) -> Program:
    decimals = draw(st.sampled_from([0, 2]))
    places = draw(st.integers(0, 3))
    config: dict[str, Any] = {
        "name": "random",
        "currency_decimals": decimals,
        "base_rate": _decimal(draw, 1, 3000, places),
        "rounding": draw(st.sampled_from(["floor", "half_up", "half_even"])),
        "promotion_stacking": draw(st.sampled_from(["max", "multiply"])),
        "minimum_spend": str(draw(st.integers(0, 50))),
        "eligible_amount": {
            "include_tax": draw(st.booleans()),
            "include_shipping": draw(st.booleans()),
        },
    }
    rules: list[dict[str, Any]] = []
    for cat in draw(st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=3)):
        rules.append({"type": "category", "category": cat, "multiplier": _decimal(draw, 1, 400, 2)})
    for i in range(draw(st.integers(0, 3))):
        a = draw(st.integers(0, 80))
        b = a + draw(st.integers(0, 30))
        promo: dict[str, Any] = {
            "type": "promotion",
            "name": f"p{i}",
            "start": (START + dt.timedelta(days=a)).date().isoformat(),
            "end": (START + dt.timedelta(days=b)).date().isoformat(),
            "multiplier": _decimal(draw, 1, 500, 2),
        }
        if draw(st.booleans()):
            promo["categories"] = draw(
                st.lists(st.sampled_from([*CATEGORIES, "z"]), unique=True, min_size=1)
            )
        rules.append(promo)
    if draw(st.booleans()):
        rules.append({"type": "first_purchase", "points": draw(st.integers(0, 500))})
    if draw(st.booleans()):
        rules.append(
            {
                "type": "birthday_month",
                "points": draw(st.integers(0, 500)),
                "multiplier": _decimal(draw, 50, 300, 2),
            }
        )
    if draw(st.booleans()):
        rules.append({"type": "referral", "points": draw(st.integers(0, 500))})
    config["earn_rules"] = draw(st.permutations(rules))
    caps: dict[str, Any] = {}
    for key in ("per_transaction", "per_day", "per_month"):
        if draw(st.booleans()):
            caps[key] = draw(st.integers(0, 3000))
    config["caps"] = caps
    if draw(st.booleans()):
        config["tiers"] = {
            "levels": [
                {"name": "t0", "threshold": 0},
                {"name": "t1", "threshold": 100, "earn_multiplier": _decimal(draw, 50, 300, 2)},
            ]
        }
    return Program.from_dict(config)


@st.composite
def tables(draw: Any, program: Program) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 30))
    n_members = draw(st.integers(1, 4))
    minutes = draw(st.lists(st.integers(0, 100 * 24 * 60), min_size=n, max_size=n))
    # clump times so that several purchases share a day and a month
    stamps = [START + dt.timedelta(minutes=(m // 600) * 600) for m in minutes]
    money = st.integers(0, 400_000)
    tx = pd.DataFrame(
        {
            "member_id": draw(st.lists(st.integers(0, n_members - 1), min_size=n, max_size=n)),
            "timestamp": pd.to_datetime(stamps),
            "subtotal": draw(st.lists(money, min_size=n, max_size=n)),
            "discount": draw(st.lists(st.integers(0, 50_000), min_size=n, max_size=n)),
            "tax": draw(st.lists(st.integers(0, 5_000), min_size=n, max_size=n)),
            "shipping": draw(st.lists(st.integers(0, 2_000), min_size=n, max_size=n)),
            "category": draw(
                st.lists(st.sampled_from([*CATEGORIES, "z", None]), min_size=n, max_size=n)
            ),
        }
    )
    tier_choices: list[Any] = [None]
    if program.tiers is not None:
        tier_choices += [t.name for t in program.tiers.levels]
    members = pd.DataFrame(
        {
            "tier": [draw(st.sampled_from(tier_choices)) for _ in range(n_members)],
            "birth_month": [draw(st.sampled_from([None, 1, 2, 3, 7])) for _ in range(n_members)],
            "referred_by": [draw(st.sampled_from([None, "r1", "r2"])) for _ in range(n_members)],
            "qualifying_purchases": [draw(st.integers(0, 2)) for _ in range(n_members)],
            "birthday_bonus_year": [
                draw(st.sampled_from([None, 2023, 2024])) for _ in range(n_members)
            ],
        },
        index=range(n_members),
    )
    return tx, members


COMPARED = [
    "qualifies",
    "category_multiplier",
    "promotion_multiplier",
    "tier_multiplier",
    "birthday_multiplier",
    "rounded_points",
    "cap_transaction",
    "cap_day",
    "cap_month",
    "earn_points",
    "first_purchase_bonus",
    "birthday_bonus",
    "bonus_points",
    "points",
    "referrer_id",
    "referrer_points",
]


@given(data=st.data())
def test_vectorised_equals_event_by_event(data: st.DataObject, row_by_row: Any) -> None:
    program = data.draw(programs())
    tx, members = data.draw(tables(program))
    frame = points_for_transactions(program, tx, members=members, amounts_in_minor_units=True)
    expected = row_by_row(program, tx, members, minor_units=True)
    scale = 10**program.currency_decimals
    for i, result in enumerate(expected):
        row = frame.iloc[i]
        assert int(row["eligible_minor"]) == int(result.eligible_amount * scale)
        for col in COMPARED:
            got = row[col]
            want = getattr(result, col)
            if isinstance(want, bool):
                got = bool(got)
            elif isinstance(want, int):
                got = int(got)
            assert got == want, (col, i, got, want)
    # invariants that hold for any program
    assert (frame["points"] >= 0).all()
    assert (frame["earn_points"] <= frame["rounded_points"]).all()
    assert (frame["points"] == frame["earn_points"] + frame["bonus_points"]).all()


def test_large_amounts_take_the_exact_object_path(row_by_row: Any) -> None:
    """Amounts whose products overflow int64 are still exact (Python integers)."""
    program = Program.from_dict(
        {
            "name": "big",
            "currency_decimals": 2,
            "base_rate": "1.234567",
            "rounding": "half_even",
            "earn_rules": [{"type": "category", "category": "a", "multiplier": "3.333333"}],
        }
    )
    tx = pd.DataFrame(
        {
            "member_id": [1, 2],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "subtotal": [9_000_000_000_000_000, 12345],
            "category": ["a", "b"],
        }
    )
    frame = points_for_transactions(program, tx, amounts_in_minor_units=True)
    expected = row_by_row(program, tx, minor_units=True)
    assert [int(v) for v in frame["points"]] == [r.points for r in expected]
    raw = Decimal(9_000_000_000_000_000).scaleb(-2) * Decimal("1.234567") * Decimal("3.333333")
    assert int(frame["points"].iloc[0]) == int(raw.to_integral_value(rounding="ROUND_HALF_EVEN"))
    assert np.issubdtype(frame["points"].dtype, np.integer)
