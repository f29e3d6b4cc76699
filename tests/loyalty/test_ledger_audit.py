"""Regression tests for ledger bugs found in the issue-8 audit (both stores)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given, settings

from customer_value.errors import (
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidDataError,
)
from customer_value.loyalty import (
    Ledger,
    MemoryStore,
    Program,
    PurchaseEvent,
    SQLiteStore,
    Store,
    redemption_rate,
    tier_report,
)

from .ledger_checks import check_invariants

BASE: dict[str, Any] = {
    "name": "shop",
    "currency_decimals": 0,
    "base_rate": "1",
    "expiry": {"months": 12},
    "pending_days": 0,
}


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "l.db")
    yield s
    s.close()


def make(store: Store, **changes: Any) -> Ledger:
    return Ledger(Program.from_dict({**BASE, **changes}), store)


def buy(member: str, at: str, amount: int, tx: str | None = None) -> PurchaseEvent:
    return PurchaseEvent(
        member, pd.Timestamp(at).to_pydatetime(), Decimal(amount), transaction_id=tx
    )


def test_refund_of_a_reversed_purchase_is_refused(store: Store) -> None:
    # the reversal already took the points back; a refund used to claw them back twice
    ledger = make(store)
    earn = ledger.earn(buy("m1", "2024-01-01", 100, "T1"), idempotency_key="e1")
    ledger.adjust("m1", 500, at="2024-01-02", idempotency_key="a1")
    ledger.reverse(earn.entry_ids[0], at="2024-01-03", idempotency_key="x1")
    with pytest.raises(InvalidDataError, match="'T1' was reversed"):
        ledger.refund("T1", Decimal(100), at="2024-01-04", idempotency_key="f1")
    assert ledger.balance("m1", at="2024-01-05").available == 500
    assert ledger.history("m1")["kind"].tolist() == ["earn", "adjust", "reversal"]
    check_invariants(ledger)


def test_refund_and_reversal_cannot_predate_their_entry(store: Store) -> None:
    ledger = make(store)
    earn = ledger.earn(buy("m1", "2024-03-01", 100, "T1"), idempotency_key="e1")
    with pytest.raises(InvalidDataError, match="before the purchase of transaction 'T1'"):
        ledger.refund("T1", Decimal(10), at="2024-02-01", idempotency_key="f1")
    with pytest.raises(InvalidDataError, match="before entry 1"):
        ledger.reverse(earn.entry_ids[0], at="2024-02-01", idempotency_key="x1")
    assert len(ledger.entries()) == 1


def test_late_purchase_cannot_reset_the_day_cap(store: Store) -> None:
    # 5 Jan 10:00 earns 100 of the 150 daily cap; a purchase dated 4 Jan used to reset
    # the counter so that another 100 on 5 Jan was credited in full (200 on one day)
    ledger = make(store, caps={"per_day": 150})
    assert ledger.earn(buy("m1", "2024-01-05 10:00", 100), idempotency_key="e1").points == 100
    with pytest.raises(InvalidDataError, match="earned in time order"):
        ledger.earn(buy("m1", "2024-01-04 10:00", 100), idempotency_key="e2")
    # an earlier time on the same day is fine: the counter is that day's
    assert ledger.earn(buy("m1", "2024-01-05 09:00", 30), idempotency_key="e3").points == 30
    assert ledger.earn(buy("m1", "2024-01-05 12:00", 100), idempotency_key="e4").points == 20
    assert len(ledger.entries()) == 3


def test_late_purchase_without_caps_is_accepted(store: Store) -> None:
    ledger = make(store)
    ledger.earn(buy("m1", "2024-01-05", 100), idempotency_key="e1")
    assert ledger.earn(buy("m1", "2024-01-04", 100), idempotency_key="e2").points == 100


def _table(ids: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": ["a", "b", "a"][: len(ids)],
            "timestamp": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"][: len(ids)]),
            "subtotal": [100, 250, 40][: len(ids)],
            "transaction_id": ids,
        }
    )


def test_import_refuses_transactions_that_already_earned(store: Store) -> None:
    # a second import of the same purchases under a new key used to credit them twice
    ledger = make(store)
    first = ledger.import_transactions(_table(["A", "B", "C"]), idempotency_key="k1")
    assert first.points == 390
    with pytest.raises(InvalidDataError, match="'A' already earned points"):
        ledger.import_transactions(_table(["A", "B", "C"]), idempotency_key="k2")
    with pytest.raises(InvalidDataError, match="'B' already earned points"):
        ledger.earn(buy("b", "2024-01-05", 10, "B"), idempotency_key="e1")
    assert len(ledger.entries()) == 3
    # a full replay under the first key returns the first result and writes nothing
    assert ledger.import_transactions(_table(["A", "B", "C"]), idempotency_key="k1").points == 390
    assert len(ledger.entries()) == 3
    check_invariants(ledger)


def test_import_refuses_repeated_transaction_ids_and_keeps_missing_ones(store: Store) -> None:
    ledger = make(store)
    with pytest.raises(InvalidDataError, match=r"must be unique; row 2 .*'A'"):
        ledger.import_transactions(_table(["A", "B", "A"]), idempotency_key="k1")
    assert len(ledger.entries()) == 0
    # missing ids are not transaction ids (they used to be stored as the text 'None'/'nan')
    ledger.import_transactions(_table([None, "B", None]), idempotency_key="k2")
    assert ledger.entries()["transaction_id"].isna().sum() == 2
    with pytest.raises(InvalidDataError, match="never earned points"):
        ledger.refund("None", Decimal(1), at="2024-02-01", idempotency_key="f1")


def test_balance_in_the_past_is_rebuilt_as_it_was(store: Store) -> None:
    # balance(at=...) used to classify today's lots: the redemption of 30 Jan, the refund
    # of 10 Feb and the expiry run of 1 Mar all showed in a balance on 25 Jan
    ledger = make(store, pending_days=7, expiry={"months": 1})
    ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
    ledger.earn(buy("m1", "2024-01-20", 50, "T1"), idempotency_key="e1")
    ledger.redeem("m1", 60, at="2024-01-30", idempotency_key="r1")
    ledger.refund("T1", Decimal(50), at="2024-02-10", idempotency_key="f1")
    ledger.expire_due("2024-03-01")
    b = ledger.balance("m1", at="2024-01-25")
    assert (b.available, b.pending, b.expiring_30d, b.lifetime_earned) == (100, 50, 100, 50)
    # the redemption took 60 of the first-expiring lot (1 Feb); T1 is spendable from 27 Jan
    b = ledger.balance("m1", at="2024-01-31")
    assert (b.available, b.pending, b.expiring_30d) == (90, 0, 90)
    assert ledger.balance("m1", at="2024-02-05").available == 50
    assert ledger.balance("m1", at="2024-02-11").available == 0
    b = ledger.balance("m1", at="2023-12-31")
    assert (b.available, b.pending, b.lifetime_earned) == (0, 0, 0)
    # now: the lots expired on 1 March, nothing left
    assert ledger.balance("m1", at="2024-03-02").available == 0


@settings(max_examples=25)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["earn", "redeem", "refund", "adjust", "reverse", "expire"]),
            st.integers(1, 400),
        ),
        min_size=1,
        max_size=25,
    ),
    negative=st.booleans(),
    kind=st.sampled_from(["memory", "sqlite"]),
)
def test_historical_balance_equals_the_balance_seen_at_the_time(
    ops: list[tuple[str, int]], negative: bool, kind: str
) -> None:
    ledger = make(
        MemoryStore() if kind == "memory" else SQLiteStore(":memory:"),
        pending_days=3,
        expiry={"months": 1},
        returns={"allow_negative_balance": negative},
    )
    start = pd.Timestamp("2024-01-01")
    seen: list[tuple[pd.Timestamp, Any]] = []
    earns: list[str] = []
    entries: list[int] = []
    for i, (op, n) in enumerate(ops):
        at = start + pd.Timedelta(days=2 * i)
        key = f"k{i}"
        try:
            if op == "earn":
                r = ledger.earn(buy("m", str(at), n, f"T{i}"), idempotency_key=key)
                earns.append(f"T{i}")
            elif op == "redeem":
                r = ledger.redeem("m", n, at=at, idempotency_key=key)
            elif op == "refund" and earns:
                r = ledger.refund(earns[n % len(earns)], Decimal(1), at=at, idempotency_key=key)
            elif op == "adjust":
                r = ledger.adjust("m", n if n % 3 else -n, at=at, idempotency_key=key)
            elif op == "reverse" and entries:
                r = ledger.reverse(entries[n % len(entries)], at=at, idempotency_key=key)
            elif op == "expire":
                r = ledger.expire_due(at, idempotency_key=key)
            else:
                continue
            entries.extend(r.entry_ids)
        except (InvalidDataError, InsufficientPointsError):
            pass
        for moment in (at, at + pd.Timedelta(hours=30)):
            seen.append((moment, ledger.balance("m", at=moment)))
    for moment, then in seen:
        assert ledger.balance("m", at=moment) == then, moment
        # the tier report holds the same points at the same instant
        held = tier_report(ledger, at=moment)["points"].sum()
        assert held == then.available + then.pending, moment
    check_invariants(ledger)


def test_retry_of_a_request_made_at_now_replays(store: Store) -> None:
    # at=None means "now"; the fingerprint used to hold the clock, so a retry of the same
    # request a moment later raised IdempotencyConflictError instead of replaying
    ledger = make(store)
    first = ledger.adjust("m1", 100, idempotency_key="a1")
    assert ledger.adjust("m1", 100, idempotency_key="a1") == first
    redeem = ledger.redeem("m1", 30, idempotency_key="r1")
    assert ledger.redeem("m1", 30, idempotency_key="r1") == redeem
    back = ledger.reverse(redeem.entry_ids[0], idempotency_key="x1")
    assert ledger.reverse(redeem.entry_ids[0], idempotency_key="x1") == back
    ledger.earn(buy("m1", "2000-01-01", 50, "T1"), idempotency_key="e1")
    refund = ledger.refund("T1", Decimal(10), idempotency_key="f1")
    assert ledger.refund("T1", Decimal(10), idempotency_key="f1") == refund
    assert len(ledger.entries()) == 5
    # an explicit time is still part of the request
    with pytest.raises(IdempotencyConflictError, match="different request"):
        ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")


def test_set_member_keeps_the_field_not_given(store: Store) -> None:
    # setting the birth month used to erase the referrer (and vice versa)
    ledger = make(store)
    ledger.set_member("m1", referred_by="r1")
    ledger.set_member("m1", birth_month=3)
    members = store.members_frame()
    assert (members.loc["m1", "referred_by"], int(members.loc["m1", "birth_month"])) == ("r1", 3)
    ledger.set_member("m1", referred_by="r2")
    assert int(store.members_frame().loc["m1", "birth_month"]) == 3


def test_anniversary_downgrade_counts_from_the_last_confirmation(store: Store) -> None:
    # gold from 11 Jan 2024 (tiers are evaluated before each purchase); still qualified at
    # the first purchase after the 2025 anniversary: confirmed, gold is kept until 11 Jan
    # 2026. The ledger used to keep tier_since at the first upgrade, so after the first
    # anniversary any dip below the threshold downgraded at once.
    ledger = make(
        store,
        tiers={
            "basis": "points",
            "window_months": 6,
            "downgrade": "anniversary",
            "levels": [{"name": "gold", "threshold": 1000, "earn_multiplier": "2"}],
        },
    )
    ledger.earn(buy("m1", "2024-01-10", 1500), idempotency_key="e1")
    assert ledger.earn(buy("m1", "2024-01-11", 10), idempotency_key="e2").points == 20
    assert ledger.earn(buy("m1", "2024-12-20", 600), idempotency_key="e3").points == 1200
    assert ledger.earn(buy("m1", "2025-01-20", 10), idempotency_key="e4").points == 20
    # below the threshold in the window, but within the year after the confirmation
    assert ledger.earn(buy("m1", "2025-09-01", 10), idempotency_key="e5").points == 20
    assert ledger.tier("m1", at="2025-09-02").tier == "gold"
    # not qualified after the 2026 anniversary: downgraded
    assert ledger.earn(buy("m1", "2026-02-01", 10), idempotency_key="e6").points == 10
    assert ledger.tier("m1", at="2026-02-02").tier is None


def test_redemption_rate_ignores_reversed_debits(store: Store) -> None:
    # a reversed manual debit used to count as a reversed redemption (rate 40/100 - 20/100)
    ledger = make(store)
    ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
    ledger.redeem("m1", 40, at="2024-01-02", idempotency_key="r1")
    debit = ledger.adjust("m1", -20, at="2024-01-03", idempotency_key="a2")
    ledger.reverse(debit.entry_ids[0], at="2024-01-04", idempotency_key="x1")
    assert redemption_rate(ledger) == pytest.approx(0.4)
    redeem = ledger.redeem("m1", 10, at="2024-01-05", idempotency_key="r2")
    ledger.reverse(redeem.entry_ids[0], at="2024-01-06", idempotency_key="x2")
    assert redemption_rate(ledger) == pytest.approx(0.4)


def test_import_under_the_same_key_with_other_categories_conflicts(store: Store) -> None:
    # the chunk fingerprint held times, amounts and ids only: the same table with other
    # categories (other points) was silently taken for a replay
    ledger = make(store, earn_rules=[{"type": "category", "category": "wine", "multiplier": "3"}])
    table = _table(["A", "B", "C"]).assign(category=["food", "food", "food"])
    ledger.import_transactions(table, idempotency_key="k1", category_col="category")
    with pytest.raises(IdempotencyConflictError, match="chunk 0 differs"):
        ledger.import_transactions(
            table.assign(category="wine"), idempotency_key="k1", category_col="category"
        )
    assert int(ledger.entries()["points"].sum()) == 390


def test_tier_before_it_was_reached_is_not_the_current_one(store: Store) -> None:
    # tier(at=past) used to start from today's tier: gold in 2023, before any purchase
    ledger = make(
        store,
        tiers={
            "basis": "points",
            "downgrade": "never",
            "levels": [{"name": "gold", "threshold": 1000}],
        },
    )
    ledger.earn(buy("m1", "2024-01-01", 1500), idempotency_key="e1")
    ledger.earn(buy("m1", "2024-02-01", 10), idempotency_key="e2")  # gold from here
    assert ledger.tier("m1", at="2023-06-01").tier is None
    assert ledger.tier("m1", at="2024-01-15").tier == "gold"  # qualified by then
    assert ledger.tier("m1", at="2026-01-15").tier == "gold"  # kept: never downgraded
