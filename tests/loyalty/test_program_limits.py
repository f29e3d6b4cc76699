"""Programmes that used to load and then make every write fail are refused at load time.

Regression tests of issue 16, item 5 (adversarial run): limits on months, days,
points and rates, and the strict JSON grammar (duplicate keys, deep nesting).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from customer_value.errors import InvalidProgramError
from customer_value.loyalty import Ledger, MemoryStore, Program, PurchaseEvent

BASE: dict[str, Any] = {"name": "p", "base_rate": "1", "currency_decimals": 2}


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"expiry": {"months": 10**6}}, "expiry.months: must be <= 1200"),
        (
            {"tiers": {"window_months": 10**9, "levels": [{"name": "s", "threshold": 1}]}},
            "tiers.window_months: must be <= 1200",
        ),
        ({"pending_days": 10**12}, "pending_days: must be <= 36500"),
        ({"earn_rules": [{"type": "first_purchase", "points": 2**63}]}, r"earn_rules\[0\].points"),
        ({"earn_rules": [{"type": "referral", "points": 10**16}]}, r"earn_rules\[0\].points"),
        ({"caps": {"per_day": 2**64}}, "caps.per_day: must be <= 1000000000000000"),
        ({"base_rate": "1e999999999"}, "base_rate: must be between"),
        ({"base_rate": "1e13"}, "base_rate: must be <= 1000000000000"),
        (
            {"earn_rules": [{"type": "category", "category": "x", "multiplier": "1e400"}]},
            r"earn_rules\[0\].multiplier: must be between",
        ),
        ({"minimum_spend": "1e17"}, "minimum_spend: must be <= 10000000000000000"),
        (
            {"tiers": {"basis": "points", "levels": [{"name": "s", "threshold": 10**16}]}},
            r"tiers.levels\[0\].threshold: must be <= 1000000000000000 points",
        ),
        ({"pending_days": "1e999999999"}, "pending_days: must be a whole number"),
    ],
)
def test_limits_are_checked_at_load_time_naming_the_path(
    changes: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidProgramError, match=path):
        Program.from_dict({**BASE, **changes})


def test_the_largest_allowed_values_still_write() -> None:
    program = Program.from_dict(
        {
            **BASE,
            "expiry": {"months": 1200},
            "pending_days": 36_500,
            "tiers": {"window_months": 1200, "levels": [{"name": "s", "threshold": 1}]},
            "earn_rules": [{"type": "first_purchase", "points": 10**15 - 10}],
        }
    )
    ledger = Ledger(program, MemoryStore())
    event = PurchaseEvent("m", dt.datetime(2024, 1, 1), Decimal("10.00"), transaction_id="t")
    assert ledger.earn(event, idempotency_key="k").points == 10**15
    # spendable 36,500 days after the purchase (8 Dec 2123), expiring on 1 Jan 2124
    assert ledger.balance("m", at="2123-12-31").available == 10**15
    assert ledger.balance("m", at="2124-01-01").available == 0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"name": "p", "base_rate": 1, "base_rate": 2}', "<json>: duplicate key 'base_rate'"),
        (
            '{"name": "p", "base_rate": 1, "x": ' + "[" * 200 + "]" * 200 + "}",
            "<json>: nested deeper than 64 levels",
        ),
        (b'{"name": "\xff"}', "<json>: not UTF-8 text"),
    ],
)
def test_from_json_refuses_duplicate_keys_deep_nesting_and_bad_utf8(
    text: str | bytes, match: str
) -> None:
    with pytest.raises(InvalidProgramError, match=match):
        Program.from_json(text)
