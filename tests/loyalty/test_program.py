"""Program.from_dict / from_json / to_dict: every validation path and round trips."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from customer_value.errors import InvalidProgramError
from customer_value.loyalty import (
    BirthdayBonus,
    CategoryMultiplier,
    FirstPurchaseBonus,
    Program,
    Promotion,
    ReferralBonus,
    Tier,
)


def _problems(config: Any) -> list[str]:
    with pytest.raises(InvalidProgramError) as info:
        Program.from_dict(config)
    return info.value.problems


def test_supermarket_parses(supermarket_config: dict[str, Any]) -> None:
    program = Program.from_dict(supermarket_config)
    assert program.currency_decimals == 0
    assert program.base_rate == Decimal(1)
    assert program.category_multipliers == {"fresh": Decimal(2)}
    assert program.promotions == (
        Promotion("year-end", dt.date(2024, 12, 20), dt.date(2024, 12, 31), Decimal(3)),
    )
    assert program.first_purchase_bonus == FirstPurchaseBonus(500)
    assert program.birthday_bonus == BirthdayBonus(1000, Decimal(2))
    assert program.referral_bonus == ReferralBonus(300)
    assert program.cap_per_transaction == 5000
    assert program.cap_per_day == 8000
    assert program.cap_per_month == 30000
    assert program.tiers is not None
    assert [t.name for t in program.tiers.levels] == ["member", "silver", "gold"]
    assert program.tiers.level("gold") == Tier(
        "gold", Decimal(200000), Decimal(2), ("exclusive offers", "priority purchase")
    )
    with pytest.raises(KeyError):
        program.tiers.level("platinum")
    assert program.expiry.months == 12
    assert program.pending_days == 7
    assert program.returns.allow_negative_balance is False


def test_defaults() -> None:
    program = Program.from_dict({"name": "p", "base_rate": 1})
    assert program.rounding == "floor"
    assert program.promotion_stacking == "max"
    assert program.minimum_spend == 0
    assert program.tiers is None
    assert program.expiry.months is None
    assert program.returns.clawback == "proportional"
    assert program.first_purchase_bonus is None
    assert program.birthday_bonus is None
    assert program.referral_bonus is None
    assert program.earn_rules == ()


def test_round_trips(supermarket_config: dict[str, Any]) -> None:
    program = Program.from_dict(supermarket_config)
    assert Program.from_dict(program.to_dict()) == program
    assert Program.from_json(program.to_json()) == program
    # the JSON form carries no floats
    assert "." not in str(program.to_dict()["base_rate"]) or isinstance(
        program.to_dict()["base_rate"], str
    )


def test_frozen_and_hashable(supermarket_config: dict[str, Any]) -> None:
    program = Program.from_dict(supermarket_config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.base_rate = Decimal(2)  # type: ignore[misc]
    assert hash(program) == hash(Program.from_dict(supermarket_config))


def test_from_json_reads_numbers_as_decimal() -> None:
    program = Program.from_json(
        '{"name": "p", "base_rate": 0.1, "earn_rules": '
        '[{"type": "category", "category": "x", "multiplier": 1.1}]}'
    )
    assert program.base_rate == Decimal("0.1")
    assert program.category_multipliers["x"] == Decimal("1.1")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", r"<json>: not valid JSON"),
        ("[1, 2]", r"<root>: must be a JSON object, got list"),
    ],
)
def test_from_json_bad_documents(text: str, match: str) -> None:
    with pytest.raises(InvalidProgramError, match=match):
        Program.from_json(text)


def test_root_must_be_mapping() -> None:
    with pytest.raises(InvalidProgramError, match=r"<root>: must be a mapping, got list"):
        Program.from_dict([])  # type: ignore[arg-type]


def test_every_problem_is_collected() -> None:
    config = {
        "name": "",
        "base_rate": "-1",
        "earn_rules": [
            {"type": "category", "category": "a", "multiplier": "2"},
            {"type": "first_purchase", "points": 10},
            {
                "type": "promotion",
                "name": "x",
                "start": "2024-01-01",
                "end": "2024-02-01",
                "multiplier": -1,
            },
        ],
        "caps": {"per_day": -5},
        "pending_days": -1,
        "expiry": {"months": 0},
    }
    problems = _problems(config)
    assert problems == [
        "name: must be a non-empty string, got ''",
        "base_rate: must be > 0, got -1",
        "earn_rules[2].multiplier: must be > 0, got -1",
        "caps.per_day: must be >= 0, got -5",
        "expiry.months: must be >= 1, got 0",
        "pending_days: must be >= 0, got -1",
    ]
    with pytest.raises(InvalidProgramError, match=r"^6 problem\(s\) in the program:"):
        Program.from_dict(config)


BASE: dict[str, Any] = {"name": "p", "base_rate": "1"}


def _with(**changes: Any) -> dict[str, Any]:
    config = dict(BASE)
    for key, value in changes.items():
        if value is _DROP:
            config.pop(key, None)
        else:
            config[key] = value
    return config


_DROP = object()
PROMO = {
    "type": "promotion",
    "name": "x",
    "start": "2024-01-01",
    "end": "2024-01-31",
    "multiplier": "2",
}
LEVELS = [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 100}]

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown key", _with(colour="red"), r"colour: unknown key; expected one of 'name'"),
    ("name missing", _with(name=_DROP), r"name: is required"),
    ("name not str", _with(name=3), r"name: must be a non-empty string, got 3"),
    ("currency", _with(currency=5), r"currency: must be a string, got 5"),
    (
        "decimals text",
        _with(currency_decimals="two"),
        r"currency_decimals: must be a whole number, got 'two'",
    ),
    ("decimals neg", _with(currency_decimals=-1), r"currency_decimals: must be >= 0, got -1"),
    ("decimals big", _with(currency_decimals=9), r"currency_decimals: must be <= 6, got 9"),
    (
        "decimals bool",
        _with(currency_decimals=True),
        r"currency_decimals: must be a whole number, got True",
    ),
    ("rate missing", _with(base_rate=_DROP), r"base_rate: is required"),
    (
        "rate float",
        _with(base_rate=1.5),
        r"base_rate: must be a decimal string, int or Decimal, not float 1.5",
    ),
    ("rate bool", _with(base_rate=True), r"base_rate: must be a number, got True"),
    ("rate text", _with(base_rate="one"), r"base_rate: must be a number, got 'one'"),
    ("rate list", _with(base_rate=[1]), r"base_rate: must be a number, got list"),
    ("rate nan", _with(base_rate="NaN"), r"base_rate: must be finite"),
    ("rate inf", _with(base_rate=Decimal("Infinity")), r"base_rate: must be finite"),
    ("rate zero", _with(base_rate="0"), r"base_rate: must be > 0, got 0"),
    (
        "rate precision",
        _with(base_rate="0.0000001"),
        r"base_rate: must have at most 6 decimal place\(s\)",
    ),
    (
        "eligible not map",
        _with(eligible_amount=[1]),
        r"eligible_amount: must be a mapping, got list",
    ),
    (
        "eligible bool",
        _with(eligible_amount={"include_tax": "yes"}),
        r"eligible_amount.include_tax: must be true or false, got 'yes'",
    ),
    (
        "eligible key",
        _with(eligible_amount={"include_vat": True}),
        r"eligible_amount.include_vat: unknown key",
    ),
    (
        "rules not list",
        _with(earn_rules={"type": "category"}),
        r"earn_rules: must be a list, got dict",
    ),
    ("rule not map", _with(earn_rules=[3]), r"earn_rules\[0\]: must be a mapping, got int"),
    (
        "rule type",
        _with(earn_rules=[{"type": "cashback"}]),
        r"earn_rules\[0\].type: must be one of 'category'",
    ),
    (
        "rule key",
        _with(earn_rules=[{"type": "referral", "points": 1, "bonus": 2}]),
        r"earn_rules\[0\].bonus: unknown key",
    ),
    (
        "category missing",
        _with(earn_rules=[{"type": "category", "multiplier": "2"}]),
        r"earn_rules\[0\].category: is required",
    ),
    (
        "category mult",
        _with(earn_rules=[{"type": "category", "category": "a", "multiplier": "-1"}]),
        r"earn_rules\[0\].multiplier: must be > 0, got -1",
    ),
    (
        "category dup",
        _with(
            earn_rules=[
                {"type": "category", "category": "a", "multiplier": "2"},
                {"type": "category", "category": "a", "multiplier": "3"},
            ]
        ),
        r"earn_rules\[1\].category: duplicate category 'a' \(also earn_rules\[0\]\)",
    ),
    (
        "promo name",
        _with(earn_rules=[{**PROMO, "name": None}]),
        r"earn_rules\[0\].name: is required",
    ),
    (
        "promo start",
        _with(earn_rules=[{**PROMO, "start": "2024-13-01"}]),
        r"earn_rules\[0\].start: must be a date 'YYYY-MM-DD', got '2024-13-01'",
    ),
    (
        "promo end missing",
        _with(earn_rules=[{**PROMO, "end": None}]),
        r"earn_rules\[0\].end: is required",
    ),
    (
        "promo window",
        _with(earn_rules=[{**PROMO, "end": "2023-12-31"}]),
        r"earn_rules\[0\].end: must not be before start \(2024-01-01\), got 2023-12-31",
    ),
    (
        "promo mult",
        _with(earn_rules=[{**PROMO, "multiplier": "0"}]),
        r"earn_rules\[0\].multiplier: must be > 0, got 0",
    ),
    (
        "promo cats",
        _with(earn_rules=[{**PROMO, "categories": "fresh"}]),
        r"earn_rules\[0\].categories: must be a list of strings, got str",
    ),
    (
        "promo cat item",
        _with(earn_rules=[{**PROMO, "categories": ["a", 1]}]),
        r"earn_rules\[0\].categories\[1\]: must be a non-empty string, got 1",
    ),
    (
        "promo cats empty",
        _with(earn_rules=[{**PROMO, "categories": []}]),
        r"earn_rules\[0\].categories: must not be empty",
    ),
    (
        "promo dup",
        _with(earn_rules=[PROMO, PROMO]),
        r"earn_rules\[1\].name: duplicate promotion name 'x'",
    ),
    (
        "too many promos",
        _with(earn_rules=[{**PROMO, "name": f"p{i}"} for i in range(63)]),
        r"earn_rules: at most 62 promotions, got 63",
    ),
    (
        "first points",
        _with(earn_rules=[{"type": "first_purchase"}]),
        r"earn_rules\[0\].points: is required",
    ),
    (
        "first negative",
        _with(earn_rules=[{"type": "first_purchase", "points": -5}]),
        r"earn_rules\[0\].points: must be >= 0, got -5",
    ),
    (
        "first fraction",
        _with(earn_rules=[{"type": "first_purchase", "points": "1.5"}]),
        r"earn_rules\[0\].points: must be a whole number, got '1.5'",
    ),
    (
        "bonus dup",
        _with(earn_rules=[{"type": "referral", "points": 1}, {"type": "referral", "points": 2}]),
        r"earn_rules\[1\].type: only one 'referral' rule allowed \(also earn_rules\[0\]\)",
    ),
    (
        "birthday mult",
        _with(earn_rules=[{"type": "birthday_month", "multiplier": "-2"}]),
        r"earn_rules\[0\].multiplier: must be > 0, got -2",
    ),
    (
        "referral points",
        _with(earn_rules=[{"type": "referral", "points": -1}]),
        r"earn_rules\[0\].points: must be >= 0, got -1",
    ),
    (
        "stacking",
        _with(promotion_stacking="sum"),
        r"promotion_stacking: must be one of 'max', 'multiply', got 'sum'",
    ),
    ("min spend neg", _with(minimum_spend="-1"), r"minimum_spend: must be >= 0, got -1"),
    (
        "min spend fine",
        _with(currency_decimals=0, minimum_spend="0.5"),
        r"minimum_spend: must be a whole number of currency minor units "
        r"\(0 decimal place\(s\)\), got 0.5",
    ),
    ("caps not map", _with(caps=5), r"caps: must be a mapping, got int"),
    ("caps key", _with(caps={"per_week": 5}), r"caps.per_week: unknown key"),
    (
        "caps neg",
        _with(caps={"per_transaction": -1}),
        r"caps.per_transaction: must be >= 0, got -1",
    ),
    (
        "caps month",
        _with(caps={"per_month": "x"}),
        r"caps.per_month: must be a whole number, got 'x'",
    ),
    (
        "rounding",
        _with(rounding="ceil"),
        r"rounding: must be one of 'floor', 'half_up', 'half_even', got 'ceil'",
    ),
    ("tiers not map", _with(tiers=[1]), r"tiers: must be a mapping, got list"),
    ("tiers key", _with(tiers={"levels": LEVELS, "grace": 1}), r"tiers.grace: unknown key"),
    ("tiers levels missing", _with(tiers={"basis": "spend"}), r"tiers.levels: is required"),
    (
        "tiers levels empty",
        _with(tiers={"levels": []}),
        r"tiers.levels: must contain at least one tier",
    ),
    (
        "tiers basis",
        _with(tiers={"levels": LEVELS, "basis": "visits"}),
        r"tiers.basis: must be one of 'points', 'spend', got 'visits'",
    ),
    (
        "tiers window",
        _with(tiers={"levels": LEVELS, "window_months": 0}),
        r"tiers.window_months: must be >= 1, got 0",
    ),
    (
        "tiers downgrade",
        _with(tiers={"levels": LEVELS, "downgrade": "monthly"}),
        r"tiers.downgrade: must be one of 'anniversary', 'never', got 'monthly'",
    ),
    (
        "tier name",
        _with(tiers={"levels": [{"threshold": 0}]}),
        r"tiers.levels\[0\].name: is required",
    ),
    (
        "tier threshold",
        _with(tiers={"levels": [{"name": "a", "threshold": "-1"}]}),
        r"tiers.levels\[0\].threshold: must be >= 0, got -1",
    ),
    (
        "tier order",
        _with(tiers={"levels": [{"name": "a", "threshold": 100}, {"name": "b", "threshold": 100}]}),
        r"tiers.levels\[1\].threshold: must be greater than the previous tier's "
        r"threshold 100, got 100",
    ),
    (
        "tier dup",
        _with(tiers={"levels": [{"name": "a", "threshold": 0}, {"name": "a", "threshold": 5}]}),
        r"tiers.levels\[1\].name: duplicate tier name 'a'",
    ),
    (
        "tier mult",
        _with(tiers={"levels": [{"name": "a", "threshold": 0, "earn_multiplier": "0"}]}),
        r"tiers.levels\[0\].earn_multiplier: must be > 0, got 0",
    ),
    (
        "tier privileges",
        _with(tiers={"levels": [{"name": "a", "threshold": 0, "privileges": "vip"}]}),
        r"tiers.levels\[0\].privileges: must be a list of strings, got str",
    ),
    (
        "tier spend fine",
        _with(currency_decimals=0, tiers={"levels": [{"name": "a", "threshold": "0.5"}]}),
        r"tiers.levels\[0\].threshold: must be a whole number of currency minor units",
    ),
    (
        "tier points fine",
        _with(tiers={"basis": "points", "levels": [{"name": "a", "threshold": "0.5"}]}),
        r"tiers.levels\[0\].threshold: must be whole points, got 0.5",
    ),
    (
        "tier level not map",
        _with(tiers={"levels": ["gold"]}),
        r"tiers.levels\[0\]: must be a mapping, got str",
    ),
    ("expiry type", _with(expiry=12), r"expiry: must be a mapping or 'none', got 12"),
    ("expiry months", _with(expiry={"months": -3}), r"expiry.months: must be >= 1, got -3"),
    (
        "expiry clamp",
        _with(expiry={"clamp_to_month_end": True}),
        r"expiry.clamp_to_month_end: needs expiry.months",
    ),
    (
        "expiry clamp bool",
        _with(expiry={"months": 1, "clamp_to_month_end": 1}),
        r"expiry.clamp_to_month_end: must be true or false, got 1",
    ),
    ("expiry key", _with(expiry={"days": 3}), r"expiry.days: unknown key"),
    ("pending", _with(pending_days=-1), r"pending_days: must be >= 0, got -1"),
    (
        "pending fraction",
        _with(pending_days=Decimal("1.5")),
        r"pending_days: must be a whole number, got Decimal\('1.5'\)",
    ),
    ("returns not map", _with(returns="none"), r"returns: must be a mapping, got str"),
    (
        "returns clawback",
        _with(returns={"clawback": "full"}),
        r"returns.clawback: must be one of 'proportional', 'none', got 'full'",
    ),
    (
        "returns negative",
        _with(returns={"allow_negative_balance": "no"}),
        r"returns.allow_negative_balance: must be true or false, got 'no'",
    ),
    ("returns key", _with(returns={"window": 30}), r"returns.window: unknown key"),
]


@pytest.mark.parametrize(("config", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validation_paths(config: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidProgramError, match=match):
        Program.from_dict(config)


def test_invalid_program_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="base_rate"):
        Program.from_dict({"name": "p", "base_rate": "0"})


def test_accepted_value_forms() -> None:
    program = Program.from_dict(
        {
            "name": "p",
            "base_rate": Decimal("0.25"),
            "currency_decimals": "2",
            "pending_days": Decimal(7),
            "expiry": "none",
            "earn_rules": [
                {"type": "category", "category": "a", "multiplier": 3},
                {**PROMO, "start": dt.date(2024, 1, 1), "end": dt.datetime(2024, 1, 31, 12)},
            ],
            "tiers": {"levels": LEVELS, "basis": "points"},
        }
    )
    assert program.currency_decimals == 2
    assert program.pending_days == 7
    assert program.expiry.months is None
    assert program.earn_rules[0] == CategoryMultiplier("a", Decimal(3))
    assert program.promotions[0].end == dt.date(2024, 1, 31)


@pytest.mark.parametrize(
    ("on", "category", "active"),
    [
        (dt.date(2023, 12, 31), "a", False),
        (dt.date(2024, 1, 1), "a", True),
        (dt.date(2024, 1, 31), "a", True),
        (dt.date(2024, 2, 1), "a", False),
        (dt.date(2024, 1, 15), "b", False),
        (dt.date(2024, 1, 15), None, False),
    ],
)
def test_promotion_window_is_inclusive(on: dt.date, category: str | None, active: bool) -> None:
    promo = Promotion("x", dt.date(2024, 1, 1), dt.date(2024, 1, 31), Decimal(2), ("a",))
    assert promo.is_active(on, category) is active
