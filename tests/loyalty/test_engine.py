"""The points engine against hand-computed Decimal examples; tiers, expiry, clawback."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError
from customer_value.loyalty import (
    POINTS_COLUMNS,
    MemberState,
    Program,
    PurchaseEvent,
    advance_state,
    available_at,
    clawback_points,
    evaluate_tier,
    evaluate_tiers,
    expiry_date,
    expiry_dates,
    points_for_event,
    points_for_transactions,
)

AT = dt.datetime(2024, 5, 10, 12, 0)


def program(**config: Any) -> Program:
    base: dict[str, Any] = {"name": "t", "base_rate": "1", "currency_decimals": 2}
    base.update(config)
    return Program.from_dict(base)


def event(subtotal: str, at: dt.datetime = AT, **kwargs: Any) -> PurchaseEvent:
    money = {k: Decimal(v) for k, v in kwargs.items() if k in ("discount", "tax", "shipping")}
    other = {k: v for k, v in kwargs.items() if k not in money}
    return PurchaseEvent("m", at, Decimal(subtotal), **money, **other)


# ----------------------------------------------------------------------------- rounding
ORACLE = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


@pytest.mark.parametrize(
    ("amount", "floor", "half_up", "half_even"),
    [
        ("12.50", 12, 13, 12),
        ("13.50", 13, 14, 14),
        ("12.49", 12, 12, 12),
        ("12.51", 12, 13, 13),
        ("0.50", 0, 1, 0),
        ("7.00", 7, 7, 7),
    ],
)
def test_rounding_modes_hand_computed(
    amount: str, floor: int, half_up: int, half_even: int
) -> None:
    expected = {"floor": floor, "half_up": half_up, "half_even": half_even}
    for mode, want in expected.items():
        result = points_for_event(program(rounding=mode), event(amount))
        assert result.rounded_points == want
        # the decimal module agrees
        assert want == int(Decimal(amount).quantize(Decimal(1), rounding=ORACLE[mode]))
        assert result.raw_points == Decimal(amount)
        assert result.rounding_adjustment == want - Decimal(amount)


def test_rounding_happens_once_per_transaction() -> None:
    """1.00 x 1.5 (category) x 1.5 (promotion) x 1.5 (tier) = 3.375 exactly, rounded once."""
    p = program(
        rounding="half_up",
        earn_rules=[
            {"type": "category", "category": "a", "multiplier": "1.5"},
            {
                "type": "promotion",
                "name": "x",
                "start": "2024-05-01",
                "end": "2024-05-31",
                "multiplier": "1.5",
            },
        ],
        tiers={"levels": [{"name": "gold", "threshold": 0, "earn_multiplier": "1.5"}]},
    )
    result = points_for_event(p, event("1.00", category="a"), MemberState(tier="gold"))
    assert result.raw_points == Decimal("3.375")
    assert result.rounded_points == 3  # rounding each stage (2, 3, 5) would give 5
    assert (result.category_multiplier, result.promotion_multiplier, result.tier_multiplier) == (
        Decimal("1.5"),
        Decimal("1.5"),
        Decimal("1.5"),
    )
    assert result.promotions == ("x",)


def test_fractional_base_rate() -> None:
    """1 point per 100 yen: 1,999 yen floors to 19 points; half_up of 1,950 is 20."""
    p = program(currency_decimals=0, base_rate="0.01")
    assert points_for_event(p, event("1999")).points == 19
    p = program(currency_decimals=0, base_rate="0.01", rounding="half_up")
    assert points_for_event(p, event("1950")).points == 20
    assert points_for_event(p, event("1949")).points == 19


# ----------------------------------------------------------------------------- eligible amount
@pytest.mark.parametrize(
    ("include", "expected"),
    [
        ({}, Decimal("70.00")),
        ({"include_tax": True}, Decimal("78.00")),
        ({"include_shipping": True}, Decimal("75.00")),
        ({"include_tax": True, "include_shipping": True}, Decimal("83.00")),
    ],
)
def test_eligible_amount(include: dict[str, bool], expected: Decimal) -> None:
    p = program(eligible_amount=include)
    result = points_for_event(p, event("100.00", discount="30", tax="8", shipping="5"))
    assert result.eligible_amount == expected
    assert result.points == int(expected)


def test_discount_larger_than_subtotal_gives_zero_not_negative() -> None:
    p = program(eligible_amount={"include_tax": True})
    result = points_for_event(p, event("10.00", discount="15.00", tax="2.00"))
    assert result.eligible_amount == Decimal("2.00")
    result = points_for_event(program(), event("10.00", discount="15.00"))
    assert result.eligible_amount == 0
    assert result.qualifies is False
    assert result.points == 0


def test_minimum_spend() -> None:
    p = program(minimum_spend="100", earn_rules=[{"type": "first_purchase", "points": 50}])
    below = points_for_event(p, event("99.99"))
    assert (below.qualifies, below.points, below.first_purchase_bonus) == (False, 0, 0)
    at_min = points_for_event(p, event("100.00"))
    assert (at_min.qualifies, at_min.points, at_min.first_purchase_bonus) == (True, 150, 50)
    # a non-qualifying purchase does not use up the first-purchase bonus
    state = advance_state(p, MemberState(), event("99.99"), below)
    assert state.qualifying_purchases == 0
    assert points_for_event(p, event("120.00"), state).first_purchase_bonus == 50


# ----------------------------------------------------------------------------- caps
def test_transaction_cap() -> None:
    result = points_for_event(program(caps={"per_transaction": 50}), event("80.00"))
    assert (result.rounded_points, result.cap_transaction, result.earn_points) == (80, 30, 50)


def _run(p: Program, events: list[PurchaseEvent], state: MemberState | None = None) -> list[Any]:
    state = state or MemberState()
    out = []
    for e in events:
        r = points_for_event(p, e, state)
        state = advance_state(p, state, e, r)
        out.append(r)
    return out


def test_day_and_month_caps_sequence() -> None:
    p = program(caps={"per_day": 100, "per_month": 150})
    events = [
        event("60.00", dt.datetime(2024, 5, 1, 9)),
        event("60.00", dt.datetime(2024, 5, 1, 10)),  # day: 40 room
        event("60.00", dt.datetime(2024, 5, 2, 9)),  # new day, month room 50
        event("60.00", dt.datetime(2024, 5, 3, 9)),  # month full
        event("60.00", dt.datetime(2024, 6, 1, 9)),  # new month
    ]
    results = _run(p, events)
    assert [r.earn_points for r in results] == [60, 40, 50, 0, 60]
    assert [r.cap_day for r in results] == [0, 20, 0, 0, 0]
    assert [r.cap_month for r in results] == [0, 0, 10, 60, 0]
    tx = pd.DataFrame(
        {
            "member_id": ["m"] * 5,
            "timestamp": [e.at for e in events],
            "subtotal": ["60.00"] * 5,
        }
    )
    frame = points_for_transactions(p, tx)
    assert frame["earn_points"].tolist() == [60, 40, 50, 0, 60]
    assert frame["cap_day"].tolist() == [0, 20, 0, 0, 0]
    assert frame["cap_month"].tolist() == [0, 0, 10, 60, 0]


def test_member_state_counters_from_the_ledger() -> None:
    p = program(caps={"per_day": 100, "per_month": 150})
    state = MemberState(
        last_purchase_at=dt.datetime(2024, 5, 10, 8), points_on_day=90, points_in_month=120
    )
    result = points_for_event(p, event("50.00"), state)
    assert (result.earn_points, result.cap_day, result.cap_month) == (10, 40, 0)
    # counters belong to another day/month: ignored
    old = MemberState(
        last_purchase_at=dt.datetime(2024, 4, 30), points_on_day=100, points_in_month=150
    )
    assert points_for_event(p, event("50.00"), old).earn_points == 50


def test_bonuses_are_outside_the_caps() -> None:
    p = program(
        caps={"per_transaction": 10}, earn_rules=[{"type": "first_purchase", "points": 500}]
    )
    result = points_for_event(p, event("80.00"))
    assert (result.earn_points, result.bonus_points, result.points) == (10, 500, 510)


# ----------------------------------------------------------------------------- promotions
PROMO_PROGRAM: dict[str, Any] = {
    "earn_rules": [
        {
            "type": "promotion",
            "name": "year-end",
            "start": "2024-12-20",
            "end": "2024-12-31",
            "multiplier": "3",
        },
        {
            "type": "promotion",
            "name": "fresh",
            "start": "2024-12-31",
            "end": "2025-01-02",
            "multiplier": "2",
            "categories": ["fresh"],
        },
    ]
}


@pytest.mark.parametrize(
    ("at", "category", "expected"),
    [
        (dt.datetime(2024, 12, 19, 23, 59, 59), None, 10),
        (dt.datetime(2024, 12, 20, 0, 0, 0), None, 30),
        (dt.datetime(2024, 12, 31, 23, 59, 59), None, 30),
        (dt.datetime(2024, 12, 31, 23, 59, 59), "fresh", 30),  # max(3, 2)
        (dt.datetime(2025, 1, 1, 0, 0, 0), None, 10),
        (dt.datetime(2025, 1, 1, 0, 0, 0), "fresh", 20),
        (dt.datetime(2025, 1, 2, 23, 0, 0), "fresh", 20),
        (dt.datetime(2025, 1, 3, 0, 0, 0), "fresh", 10),
    ],
)
def test_promotion_window_edges(at: dt.datetime, category: str | None, expected: int) -> None:
    p = program(**PROMO_PROGRAM)
    assert points_for_event(p, event("10.00", at, category=category)).points == expected
    tx = pd.DataFrame(
        {"member_id": ["m"], "timestamp": [at], "subtotal": ["10.00"], "category": [category]}
    )
    assert points_for_transactions(p, tx)["points"].tolist() == [expected]


def test_promotion_stacking_multiply() -> None:
    p = program(promotion_stacking="multiply", **PROMO_PROGRAM)
    result = points_for_event(p, event("10.00", dt.datetime(2024, 12, 31, 12), category="fresh"))
    assert result.promotion_multiplier == 6
    assert result.promotions == ("year-end", "fresh")
    assert result.points == 60


# ----------------------------------------------------------------------------- bonuses
BONUS_RULES = [
    {"type": "first_purchase", "points": 500},
    {"type": "birthday_month", "points": 1000, "multiplier": "2"},
    {"type": "referral", "points": 300},
]


def test_birthday_month() -> None:
    p = program(currency_decimals=0, earn_rules=BONUS_RULES)
    state = MemberState(birth_month=5, qualifying_purchases=3)
    events = [
        event("100", dt.datetime(2024, 4, 30, 23, 59)),
        event("100", dt.datetime(2024, 5, 1, 0, 0)),
        event("100", dt.datetime(2024, 5, 31, 23, 59)),
        event("100", dt.datetime(2024, 6, 1, 0, 0)),
        event("100", dt.datetime(2025, 5, 15)),
    ]
    results = _run(p, events, state)
    assert [r.birthday_multiplier for r in results] == [1, 2, 2, 1, 2]
    assert [r.birthday_bonus for r in results] == [0, 1000, 0, 0, 1000]
    assert [r.points for r in results] == [100, 1200, 200, 100, 1200]
    # the ledger says this year's bonus was already given
    done = MemberState(birth_month=5, qualifying_purchases=3, birthday_bonus_year=2024)
    assert points_for_event(p, events[1], done).birthday_bonus == 0


def test_first_purchase_and_referral() -> None:
    p = program(currency_decimals=0, earn_rules=BONUS_RULES)
    state = MemberState(referred_by="alice")
    results = _run(p, [event("0"), event("100"), event("100")], state)
    assert [r.first_purchase_bonus for r in results] == [0, 500, 0]
    assert [r.referrer_id for r in results] == [None, "alice", None]
    assert [r.referrer_points for r in results] == [0, 300, 0]
    assert results[1].points == 600  # the referrer's points are not the member's
    # no referrer: no referral bonus
    assert points_for_event(p, event("100")).referrer_id is None


def test_referral_bonus_in_the_vectorised_engine() -> None:
    p = program(currency_decimals=0, earn_rules=BONUS_RULES)
    tx = pd.DataFrame(
        {
            "member_id": ["b", "a", "b", "c"],
            "timestamp": pd.to_datetime(["2024-02-02", "2024-02-01", "2024-02-01", "2024-02-03"]),
            "subtotal": [100, 100, 100, 100],
        }
    )
    members = pd.DataFrame({"referred_by": ["x", None]}, index=["b", "c"])
    frame = points_for_transactions(p, tx, members=members)
    assert frame["referrer_id"].tolist() == [None, None, "x", None]
    assert frame["referrer_points"].tolist() == [0, 0, 300, 0]
    assert frame["first_purchase_bonus"].tolist() == [0, 500, 500, 500]


# ----------------------------------------------------------------------------- tiers in earn
def test_tier_multiplier_and_errors(supermarket: Program) -> None:
    result = points_for_event(
        supermarket,
        event("1000", dt.datetime(2024, 3, 3)),
        MemberState(tier="gold", qualifying_purchases=1),
    )
    assert (result.tier_multiplier, result.points) == (Decimal(2), 2000)
    with pytest.raises(InvalidDataError, match=r"unknown tier 'platinum'; the program's tiers"):
        points_for_event(supermarket, event("1000"), MemberState(tier="platinum"))
    with pytest.raises(InvalidDataError, match=r"member tier 'gold' given but the program has no"):
        points_for_event(program(), event("10"), MemberState(tier="gold"))
    tx = pd.DataFrame({"member_id": [1], "timestamp": [AT], "subtotal": [10]})
    with pytest.raises(InvalidDataError, match=r"unknown tier 'platinum'"):
        points_for_transactions(
            supermarket, tx, members=pd.DataFrame({"tier": ["platinum"]}, index=[1])
        )


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subtotal": 10.5}, r"event.subtotal must be a Decimal, int or decimal string, not float"),
        ({"subtotal": Decimal("-1")}, r"event.subtotal must be >= 0, got -1"),
        ({"subtotal": Decimal("1.005")}, r"event.subtotal must be a whole number of minor units"),
        ({"subtotal": Decimal("NaN")}, r"event.subtotal must be finite"),
        ({"subtotal": "abc"}, r"event.subtotal must be a number, got 'abc'"),
        ({"discount": Decimal("-2")}, r"event.discount must be >= 0"),
        ({"at": "not a date"}, r"event.at could not be parsed as a timestamp"),
    ],
)
def test_event_bad_input(kwargs: dict[str, Any], match: str) -> None:
    fields: dict[str, Any] = {"member_id": "m", "at": AT, "subtotal": Decimal(1)}
    fields.update(kwargs)
    with pytest.raises(InvalidDataError, match=match):
        points_for_event(program(), PurchaseEvent(**fields))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"member_id": [1], "timestamp": [AT]}, r"missing column\(s\) 'subtotal'"),
        (
            {"member_id": [1, 2], "timestamp": [AT, AT], "subtotal": [5, -1]},
            r"column 'subtotal' must be >= 0; row 1 has subtotal=-1",
        ),
        (
            {"member_id": [1, 2], "timestamp": [AT, AT], "subtotal": [5.0, 1.005]},
            r"column 'subtotal' must hold whole minor units \(2 decimal place\(s\)\); row 1",
        ),
        (
            {"member_id": [1, 2], "timestamp": [AT, AT], "subtotal": [5.0, np.nan]},
            r"column 'subtotal' must be finite; row 1",
        ),
        (
            {"member_id": [1, 2], "timestamp": [AT, AT], "subtotal": ["5", "x"]},
            r"column 'subtotal' must hold money as Decimal, int or decimal strings.*row 1 has "
            r"subtotal='x'",
        ),
        (
            {"member_id": [1, 2], "timestamp": [AT, "nope"], "subtotal": [5, 5]},
            r"column 'timestamp' could not be parsed as a date.*; row 1 has timestamp='nope'",
        ),
        (
            {"member_id": [1, None], "timestamp": [AT, AT], "subtotal": [5, 5]},
            r"column 'member_id' is missing; row 1",
        ),
        (
            {"member_id": [1], "timestamp": [AT], "subtotal": [True]},
            r"column 'subtotal' must be money, found booleans",
        ),
    ],
)
def test_transactions_bad_input(data: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        points_for_transactions(program(), pd.DataFrame(data))


def test_transactions_money_forms_agree() -> None:
    """Decimal objects, decimal strings, whole-cent floats and integer cents agree."""
    p = program(
        rounding="half_even",
        earn_rules=[{"type": "category", "category": "a", "multiplier": "1.5"}],
    )
    stamps = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])
    forms = [
        ([Decimal("10.25"), Decimal("0.33"), Decimal("99.99")], False),
        (["10.25", "0.33", "99.99"], False),
        ([10.25, 0.33, 99.99], False),
        ([1025, 33, 9999], True),
    ]
    outputs = []
    for values, minor in forms:
        tx = pd.DataFrame(
            {
                "member_id": [1, 1, 2],
                "timestamp": stamps,
                "subtotal": values,
                "category": ["a", "b", "a"],
            }
        )
        frame = points_for_transactions(p, tx, amounts_in_minor_units=minor)
        outputs.append(frame["points"].tolist())
        assert frame["eligible_minor"].tolist() == [1025, 33, 9999]
    # 10.25 x 1.5 = 15.375 -> 15; 0.33 -> 0; 99.99 x 1.5 = 149.985 -> 150
    assert outputs == [[15, 0, 150]] * 4
    # integer currency units
    tx = pd.DataFrame({"member_id": [1], "timestamp": stamps[:1], "subtotal": [7]})
    assert points_for_transactions(program(), tx)["eligible_minor"].tolist() == [700]


def test_output_shape_and_index() -> None:
    tx = pd.DataFrame(
        {"member_id": ["a", "b"], "timestamp": [AT, AT], "subtotal": [1, 2]}, index=["x", "y"]
    )
    frame = points_for_transactions(program(), tx)
    assert list(frame.columns) == list(POINTS_COLUMNS)
    assert list(frame.index) == ["x", "y"]
    for col in ("rounded_points", "earn_points", "points", "bonus_points", "eligible_minor"):
        assert frame[col].dtype == np.int64
    # a mapping of columns works too
    assert points_for_transactions(program(), tx.to_dict("list"))["points"].tolist() == [1, 2]


# ----------------------------------------------------------------------------- expiry and pending
@pytest.mark.parametrize(
    ("expiry", "earned", "expected"),
    [
        ({"months": 12}, "2024-03-15 10:30", pd.Timestamp("2025-03-15 10:30")),
        ({"months": 12}, "2024-02-29 10:00", pd.Timestamp("2025-02-28 10:00")),
        ({"months": 1}, "2024-01-31", pd.Timestamp("2024-02-29")),
        (
            {"months": 12, "clamp_to_month_end": True},
            "2024-03-15 10:30",
            pd.Timestamp("2025-04-01"),
        ),
        ({"months": 1, "clamp_to_month_end": True}, "2024-12-31 23:59", pd.Timestamp("2025-02-01")),
        (None, "2024-03-15", None),
    ],
)
def test_expiry_date(expiry: Any, earned: str, expected: pd.Timestamp | None) -> None:
    p = program(expiry=expiry)
    assert expiry_date(p, earned) == expected
    vector = expiry_dates(p, pd.Series(pd.to_datetime([earned, earned])))
    if expected is None:
        assert vector.isna().all()
    else:
        assert vector.tolist() == [expected, expected]


def test_expiry_dates_matches_scalar_on_many_dates() -> None:
    p = program(expiry={"months": 13, "clamp_to_month_end": True})
    dates = pd.Series(pd.date_range("2023-01-01", "2025-12-31", freq="37h"))
    vector = expiry_dates(p, dates)
    assert vector.tolist() == [expiry_date(p, d) for d in dates]


def test_expiry_bad_input() -> None:
    bad = r"earned_at: column 'earned_at' could not be parsed.*row 1 has earned_at='x'"
    with pytest.raises(InvalidDataError, match=bad):
        expiry_dates(program(expiry={"months": 1}), pd.Series(["2024-01-01", "x"]))
    with pytest.raises(InvalidDataError, match=r"earned_at could not be parsed"):
        expiry_date(program(expiry={"months": 1}), "soon")


def test_available_at() -> None:
    assert available_at(program(pending_days=7), "2024-01-30 18:00") == pd.Timestamp(
        "2024-02-06 18:00"
    )
    assert available_at(program(), AT) == pd.Timestamp(AT)


# ----------------------------------------------------------------------------- clawback
@pytest.mark.parametrize(
    ("mode", "points", "eligible", "refunded", "expected"),
    [
        ("half_up", 125, "100.00", "30.00", 38),  # 37.5
        ("floor", 125, "100.00", "30.00", 37),
        ("half_even", 125, "100.00", "30.00", 38),  # 37.5 -> 38 (even)
        ("half_even", 75, "100.00", "50.00", 38),  # 37.5 -> 38
        ("half_even", 25, "100.00", "50.00", 12),  # 12.5 -> 12
        ("floor", 125, "100.00", "100.00", 125),
        ("floor", 125, "100.00", "0.00", 0),
        ("floor", 0, "100.00", "50.00", 0),
    ],
)
def test_clawback_points(
    mode: str, points: int, eligible: str, refunded: str, expected: int
) -> None:
    p = program(rounding=mode)
    assert clawback_points(p, points, Decimal(eligible), Decimal(refunded)) == expected


def test_clawback_policy_none_and_errors() -> None:
    assert clawback_points(program(returns={"clawback": "none"}), 100, Decimal(10), Decimal(5)) == 0
    with pytest.raises(InvalidDataError, match=r"refunded_amount must not exceed eligible_amount"):
        clawback_points(program(), 10, Decimal(10), Decimal(11))
    with pytest.raises(InvalidDataError, match=r"points must be a whole number >= 0, got -1"):
        clawback_points(program(), -1, Decimal(10), Decimal(1))
    with pytest.raises(InvalidDataError, match=r"refunded_amount must be >= 0"):
        clawback_points(program(), 1, Decimal(10), Decimal(-1))


# ----------------------------------------------------------------------------- tier evaluation
def _history(rows: list[tuple[str, int]], column: str = "spend") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime([r[0] for r in rows], format="ISO8601"),
            column: [r[1] for r in rows],
        }
    )


def test_evaluate_tier_rolling_window(supermarket: Program) -> None:
    history = _history(
        [
            ("2023-06-30 12:00", 150_000),
            ("2023-07-01", 30_000),
            ("2024-06-30 12:00", 30_000),
            ("2024-07-01", 999_999),
        ]
    )
    status = evaluate_tier(supermarket, history, "2024-06-30 12:00")
    # window (2023-06-30 12:00, 2024-06-30 12:00]: the first row is on the open edge
    assert status.qualifying_value == Decimal(60_000)
    assert (status.tier, status.qualified_tier) == ("silver", "silver")
    assert status.privileges == ("exclusive offers",)
    assert status.earn_multiplier == Decimal("1.5")
    assert (status.next_tier, status.to_next_tier) == ("gold", Decimal(140_000))
    assert status.window_start == pd.Timestamp("2023-06-30 12:00")


def test_evaluate_tier_upgrade_and_downgrade_policies(supermarket_config: dict[str, Any]) -> None:
    history = _history([("2024-01-15", 60_000)])
    p = Program.from_dict(supermarket_config)
    # upgrade is immediate
    assert evaluate_tier(p, history, "2024-02-01", current_tier="member").tier == "silver"
    # gold since 2024-03-01 but only silver spend: kept until the anniversary
    kept = evaluate_tier(p, history, "2025-01-10", current_tier="gold", tier_since="2024-03-01")
    assert (kept.tier, kept.qualified_tier) == ("gold", "silver")
    after = evaluate_tier(p, history, "2025-03-01", current_tier="gold", tier_since="2024-03-01")
    assert after.tier == "member"  # the 2024-01-15 spend has left the window
    supermarket_config["tiers"]["downgrade"] = "never"
    never = Program.from_dict(supermarket_config)
    assert evaluate_tier(never, history, "2030-01-01", current_tier="gold").tier == "gold"
    assert evaluate_tier(never, history, "2030-01-01", current_tier="gold").next_tier is None


def test_evaluate_tier_points_basis_and_edges(supermarket_config: dict[str, Any]) -> None:
    supermarket_config["tiers"]["basis"] = "points"
    supermarket_config["tiers"]["levels"][0]["threshold"] = 10
    p = Program.from_dict(supermarket_config)
    empty = evaluate_tier(p, pd.DataFrame({"timestamp": [], "points": []}), "2024-01-01")
    assert (empty.tier, empty.privileges, empty.earn_multiplier) == (None, (), Decimal(1))
    assert (empty.next_tier, empty.to_next_tier) == ("member", Decimal(10))
    # refunds/clawbacks count negatively
    history = _history([("2024-01-01", 60_000), ("2024-01-02", -20_000)], "points")
    assert evaluate_tier(p, history, "2024-02-01").qualifying_value == Decimal(40_000)
    with pytest.raises(InvalidDataError, match=r"history is missing column\(s\) 'points'"):
        evaluate_tier(p, _history([("2024-01-01", 1)]), "2024-02-01")
    with pytest.raises(InvalidDataError, match=r"unknown tier 'platinum'"):
        evaluate_tier(p, history, "2024-02-01", current_tier="platinum")
    with pytest.raises(InvalidDataError, match=r"the program has no tiers to evaluate"):
        evaluate_tier(program(), history, "2024-02-01")


def test_evaluate_tier_spend_in_decimal_units() -> None:
    p = program(
        tiers={"levels": [{"name": "a", "threshold": "0"}, {"name": "b", "threshold": "100.50"}]}
    )
    history = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "spend": [Decimal("100.25"), Decimal("0.25")],
        }
    )
    status = evaluate_tier(p, history, "2024-01-03")
    assert (status.tier, status.qualifying_value) == ("b", Decimal("100.50"))


def test_duplicate_index_and_missing_referrer_stay_none() -> None:
    p = program(earn_rules=[{"type": "referral", "points": 3}])
    tx = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            "subtotal": [1, 2],
            "category": ["unknown", None],
        },
        index=[5, 5],
    )
    members = pd.DataFrame({"referred_by": ["z"]}, index=["a"])
    frame = points_for_transactions(p, tx, members=members)
    assert frame["referrer_id"].tolist() == ["z", None]
    assert frame["points"].tolist() == [1, 2]
    assert list(frame.index) == [5, 5]


@settings(max_examples=40)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 900), st.integers(-20_000, 150_000)),
        min_size=1,
        max_size=25,
    ),
    current=st.lists(
        st.tuples(st.sampled_from([None, "member", "silver", "gold"]), st.integers(0, 800)),
        min_size=6,
        max_size=6,
    ),
    downgrade=st.sampled_from(["anniversary", "never"]),
)
def test_evaluate_tiers_equals_evaluate_tier(
    rows: list[tuple[int, int, int]], current: list[tuple[str | None, int]], downgrade: str
) -> None:
    config: dict[str, Any] = {
        "name": "t",
        "base_rate": "1",
        "currency_decimals": 0,
        "tiers": {
            "downgrade": downgrade,
            "levels": [
                {"name": "member", "threshold": 1},
                {"name": "silver", "threshold": 50000},
                {"name": "gold", "threshold": 200000},
            ],
        },
    }
    p = Program.from_dict(config)
    start = pd.Timestamp("2023-01-01")
    history = pd.DataFrame(
        {
            "member_id": [r[0] for r in rows],
            "timestamp": [start + pd.Timedelta(days=r[1]) for r in rows],
            "spend": [r[2] for r in rows],
        }
    )
    cur = pd.DataFrame(
        {
            "tier": [c[0] for c in current],
            "tier_since": [start + pd.Timedelta(days=c[1]) for c in current],
        },
        index=range(6),
    )
    at = pd.Timestamp("2025-03-01")
    frame = evaluate_tiers(p, history, at, current=cur)
    assert list(frame.index) == list(range(6))
    for member, row in frame.iterrows():
        sub = history[history["member_id"] == member][["timestamp", "spend"]]
        tier, since = current[int(member)]
        status = evaluate_tier(
            p, sub, at, current_tier=tier, tier_since=start + pd.Timedelta(days=since)
        )
        assert row["qualifying_value"] == status.qualifying_value
        assert row["qualified_tier"] == status.qualified_tier
        assert row["tier"] == status.tier
