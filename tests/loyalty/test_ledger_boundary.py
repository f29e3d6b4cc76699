"""The ledger's boundary: instants, referrals and the bulk import's timestamps.

Regression tests of issue 16 (items 4 and 5) and issue 17 (bug 2, the ledger's
``at``): a zone-aware ``at`` used to lose its offset silently, ``at`` after 2262
raised ``OverflowError``, a member could refer themselves, and
``import_transactions`` parsed the timestamps a second time (a bare pandas
``ValueError`` on mixed formats that ``points_for_transactions`` accepts); now every
timestamp column goes through the one parsing layer (``customer_value._time``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.loyalty import (
    Ledger,
    MemoryStore,
    Program,
    PurchaseEvent,
    SQLiteStore,
    expiry_dates,
    points_flow,
    points_for_transactions,
)
from customer_value.loyalty.accounting import points_liability

PROGRAM = Program.from_dict(
    {
        "name": "p",
        "base_rate": "1",
        "currency_decimals": 0,
        "expiry": {"months": 12},
        "earn_rules": [{"type": "referral", "points": 50}],
    }
)


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "l.db")
    yield Ledger(PROGRAM, store)
    store.close()


@pytest.mark.parametrize(
    "at",
    [
        "2024-01-01T10:00:00Z",
        "2024-01-01T10:00:00-05:00",
        pd.Timestamp("2024-01-01 10:00", tz="Asia/Tokyo"),
        dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc),
    ],
)
def test_a_zone_aware_at_is_refused_not_stripped(ledger: Ledger, at: Any) -> None:
    with pytest.raises(InvalidDataError, match=r"at must be a naive timestamp.*time zone"):
        ledger.adjust("m", 5, at=at, idempotency_key="a")
    with pytest.raises(InvalidDataError, match=r"purchase\.at must be a naive timestamp"):
        ledger.earn(PurchaseEvent("m", at, Decimal(10)), idempotency_key="e")
    assert ledger.entries().empty


@pytest.mark.parametrize("at", ["2300-01-01", "1600-01-01", dt.datetime(9999, 1, 1)])
def test_an_at_out_of_range_is_invalid_data(ledger: Ledger, at: Any) -> None:
    with pytest.raises(
        InvalidDataError, match=r"at is outside the supported range 1677-09-21 \.\. 2262-04-11"
    ):
        ledger.adjust("m", 5, at=at, idempotency_key="a")
    with pytest.raises(InvalidDataError, match="at is outside the supported range"):
        ledger.balance("m", at=at)
    with pytest.raises(InvalidDataError, match="at is outside the supported range"):
        points_liability(ledger, at, value_per_point=Decimal(1), breakage=Decimal(0))


def test_points_expiring_after_2262_are_refused_with_a_typed_error(ledger: Ledger) -> None:
    with pytest.raises(InvalidDataError, match=r"expiry date .* beyond the supported range"):
        ledger.adjust("m", 5, at="2261-12-01", idempotency_key="a")
    assert ledger.entries().empty


def test_reports_read_the_same_instants(ledger: Ledger) -> None:
    ledger.adjust("m", 5, at="2024-01-01", idempotency_key="a")
    assert points_flow(ledger)["earned"].sum() == 0
    assert points_flow(ledger)["adjusted"].sum() == 5


def test_self_referral_is_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidDataError, match="'alice' cannot refer themselves"):
        ledger.set_member("alice", referred_by="alice")
    ledger.earn(PurchaseEvent("alice", dt.datetime(2024, 1, 1), Decimal(10)), idempotency_key="e")
    assert ledger.balance("alice", at="2024-02-01").available == 10


def test_referral_cycles_are_refused(ledger: Ledger) -> None:
    ledger.set_member("a", referred_by="b")
    ledger.set_member("b", referred_by="c")
    with pytest.raises(InvalidDataError, match="cycle: 'c' -> 'a' -> 'b' -> 'c'"):
        ledger.set_member("c", referred_by="a")
    ledger.set_member("c", referred_by="d")  # a chain is fine
    ledger.earn(PurchaseEvent("a", dt.datetime(2024, 1, 1), Decimal(10)), idempotency_key="e")
    assert ledger.balance("b", at="2024-02-01").available == 50


MIXED = pd.DataFrame(
    {
        "member_id": ["a", "b"],
        "timestamp": ["2024-01-02", "1 Mar 2024 10:00"],
        "subtotal": [100, 250],
    }
)


def test_import_parses_timestamps_once_like_points_for_transactions(ledger: Ledger) -> None:
    priced = points_for_transactions(PROGRAM, MIXED)
    summary = ledger.import_transactions(MIXED, idempotency_key="mixed")
    assert summary.points == int(priced["points"].sum()) == 350
    stamps = ledger.entries().sort_values("member_id")["at"].tolist()
    assert stamps == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-03-01 10:00")]


def test_ambiguous_day_month_is_refused_the_same_way_everywhere(ledger: Ledger) -> None:
    # "03/01/2024" is 3 January or 1 March: the one parsing layer (customer_value._time)
    # refuses it in the engine, the bulk import and expiry_dates alike, naming the row
    ambiguous = MIXED.assign(timestamp=["2024-01-02", "03/01/2024 10:00"])
    match = r"'timestamp' has a numeric day and month whose order is ambiguous.*row 1"
    with pytest.raises(InvalidDataError, match=match):
        points_for_transactions(PROGRAM, ambiguous)
    with pytest.raises(InvalidDataError, match=match):
        ledger.import_transactions(ambiguous, idempotency_key="ambiguous")
    with pytest.raises(InvalidDataError, match=r"'earned_at' has a numeric day and month"):
        expiry_dates(PROGRAM, ambiguous["timestamp"])
    assert ledger.entries().empty


def test_import_refuses_bad_timestamps_with_invalid_data(ledger: Ledger) -> None:
    bad = MIXED.assign(timestamp=["2024-01-02", "not a date"])
    with pytest.raises(InvalidDataError, match=r"'timestamp' could not be parsed as a date.*row 1"):
        ledger.import_transactions(bad, idempotency_key="bad")
    assert ledger.entries().empty
