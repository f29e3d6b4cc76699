"""Ledger behaviour on both stores: earn, redeem, refund, adjust, reverse, expiry, idempotency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given

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
    expiry_date,
)
from customer_value.loyalty._rules import expiry_ns_one as _expiry_ns

from .ledger_checks import check_invariants

BASE: dict[str, Any] = {
    "name": "shop",
    "currency": "JPY",
    "currency_decimals": 0,
    "base_rate": "1",
    "expiry": {"months": 12},
    "pending_days": 7,
}


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "l.db")
    yield s
    s.close()


def make(store: Store, **changes: Any) -> Ledger:
    return Ledger(Program.from_dict({**BASE, **changes}), store)


def buy(member: str, day: str, amount: int, tx: str | None = None, **kw: Any) -> PurchaseEvent:
    return PurchaseEvent(
        member, pd.Timestamp(day).to_pydatetime(), Decimal(amount), transaction_id=tx, **kw
    )


def test_earn_is_pending_then_available_then_expires(store: Store) -> None:
    ledger = make(store)
    receipt = ledger.earn(buy("m1", "2024-01-10", 1200, "T1"), idempotency_key="k1")
    assert receipt.points == 1200
    assert receipt.operation == "earn"
    b = ledger.balance("m1", at="2024-01-12")
    assert (b.available, b.pending, b.lifetime_earned) == (0, 1200, 1200)
    b = ledger.balance("m1", at="2024-01-17")
    assert (b.available, b.pending) == (1200, 0)
    assert ledger.balance("m1", at="2024-12-20").expiring_30d == 1200
    assert ledger.balance("m1", at="2024-11-01").expiring_30d == 0
    assert ledger.balance("m1", at="2025-01-10").available == 0  # expired, before any run
    check_invariants(ledger)


def test_redeem_takes_first_expiring_lots_and_traces_them(store: Store) -> None:
    ledger = make(store, pending_days=0)
    ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
    ledger.adjust("m1", 100, at="2024-03-01", idempotency_key="a2")
    ledger.adjust("m1", 100, at="2024-02-01", idempotency_key="a3")
    r = ledger.redeem("m1", 150, at="2024-04-01", idempotency_key="r1")
    lots = ledger.lots("m1").set_index("lot_id")
    # lots 1 (expires Jan 2025) and 3 (Feb 2025) go first, lot 2 (Mar 2025) is untouched
    assert lots["remaining"].to_dict() == {1: 0, 2: 100, 3: 50}
    alloc = store.allocations_frame()
    mine = alloc[alloc["entry_id"] == r.entry_ids[0]]
    assert list(zip(mine["lot_id"], mine["points"], strict=True)) == [(1, 100), (3, 50)]
    check_invariants(ledger)


def test_pending_points_cannot_be_redeemed(store: Store) -> None:
    ledger = make(store)
    ledger.earn(buy("m1", "2024-01-10", 500, "T1"), idempotency_key="k1")
    with pytest.raises(InsufficientPointsError, match="has 0 points available"):
        ledger.redeem("m1", 1, at="2024-01-12", idempotency_key="r1")


def test_insufficient_points_writes_nothing(store: Store) -> None:
    ledger = make(store, pending_days=0)
    ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
    before = (len(ledger.entries()), ledger.lots()["remaining"].tolist())
    with pytest.raises(
        InsufficientPointsError, match=r"has 100 points available.*cannot redeem 101"
    ):
        ledger.redeem("m1", 101, at="2024-01-02", idempotency_key="r1")
    with pytest.raises(InsufficientPointsError, match="cannot remove 101"):
        ledger.adjust("m1", -101, at="2024-01-02", idempotency_key="r2")
    assert (len(ledger.entries()), ledger.lots()["remaining"].tolist()) == before
    # the failed key was not consumed: it can be used once points suffice
    assert ledger.redeem("m1", 100, at="2024-01-02", idempotency_key="r1").points == -100


def test_idempotent_replay_and_conflict(store: Store) -> None:
    ledger = make(store, pending_days=0)
    first = ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
    event = buy("m1", "2024-01-02", 300, "T1")
    earned = ledger.earn(event, idempotency_key="e1")
    redeemed = ledger.redeem("m1", 50, at="2024-01-03", idempotency_key="r1")
    n_entries = len(ledger.entries())
    for _ in range(3):
        assert ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1") == first
        assert ledger.earn(event, idempotency_key="e1") == earned
        assert ledger.redeem("m1", 50, at="2024-01-03", idempotency_key="r1") == redeemed
    assert len(ledger.entries()) == n_entries
    with pytest.raises(IdempotencyConflictError, match="'r1' was already used"):
        ledger.redeem("m1", 51, at="2024-01-03", idempotency_key="r1")
    with pytest.raises(IdempotencyConflictError, match="different request"):
        ledger.adjust("m2", 100, at="2024-01-01", idempotency_key="e1")
    assert len(ledger.entries()) == n_entries


def test_transaction_id_earns_once(store: Store) -> None:
    ledger = make(store)
    ledger.earn(buy("m1", "2024-01-02", 300, "T1"), idempotency_key="e1")
    with pytest.raises(InvalidDataError, match="'T1' already earned points"):
        ledger.earn(buy("m1", "2024-01-02", 300, "T1"), idempotency_key="e2")


def test_partial_refunds_claw_back_proportionally(store: Store) -> None:
    ledger = make(store, rounding="half_up")
    ledger.earn(buy("m1", "2024-01-02", 1001, "T1"), idempotency_key="e1")
    r1 = ledger.refund("T1", Decimal(333), at="2024-01-03", idempotency_key="f1")
    r2 = ledger.refund("T1", Decimal(333), at="2024-01-04", idempotency_key="f2")
    # cumulative: round(1001*333/1001)=333, round(1001*666/1001)=666
    assert (r1.points, r2.points) == (-333, -333)
    r3 = ledger.refund("T1", Decimal(335), at="2024-01-05", idempotency_key="f3")
    assert r3.points == -335
    assert ledger.balance("m1", at="2024-02-01").available == 0
    with pytest.raises(InvalidDataError, match="above its eligible amount 1001"):
        ledger.refund("T1", Decimal(1), at="2024-01-06", idempotency_key="f4")
    with pytest.raises(InvalidDataError, match="'T9' never earned points"):
        ledger.refund("T9", Decimal(1), at="2024-01-06", idempotency_key="f5")
    with pytest.raises(InvalidDataError, match="positive Decimal amount"):
        ledger.refund("T1", 1.5, at="2024-01-06", idempotency_key="f6")
    check_invariants(ledger)


def test_refund_after_spending_records_shortfall(store: Store) -> None:
    ledger = make(store, pending_days=0)
    ledger.earn(buy("m1", "2024-01-02", 1000, "T1"), idempotency_key="e1")
    ledger.redeem("m1", 900, at="2024-01-03", idempotency_key="r1")
    r = ledger.refund("T1", Decimal(1000), at="2024-01-04", idempotency_key="f1")
    assert (r.points, r.shortfall) == (-100, 900)
    assert ledger.balance("m1", at="2024-01-05").available == 0
    entry = ledger.history("m1").iloc[-1]
    assert (entry["kind"], entry["shortfall"]) == ("clawback", 900)
    check_invariants(ledger)


def test_refund_with_negative_balance_allowed_creates_debt_repaid_by_next_earn(
    store: Store,
) -> None:
    ledger = make(store, pending_days=0, returns={"allow_negative_balance": True})
    ledger.earn(buy("m1", "2024-01-02", 1000, "T1"), idempotency_key="e1")
    ledger.redeem("m1", 900, at="2024-01-03", idempotency_key="r1")
    r = ledger.refund("T1", Decimal(1000), at="2024-01-04", idempotency_key="f1")
    assert (r.points, r.shortfall) == (-1000, 0)
    assert ledger.balance("m1", at="2024-01-05").available == -900
    ledger.earn(buy("m1", "2024-01-06", 1500, "T2"), idempotency_key="e2")
    assert ledger.balance("m1", at="2024-01-07").available == 600
    check_invariants(ledger)


def test_reversals_correct_redeem_and_earn(store: Store) -> None:
    ledger = make(store, pending_days=0)
    e = ledger.earn(buy("m1", "2024-01-02", 500, "T1"), idempotency_key="e1")
    r = ledger.redeem("m1", 200, at="2024-01-03", idempotency_key="r1")
    back = ledger.reverse(r.entry_ids[0], at="2024-01-04", idempotency_key="x1")
    assert back.points == 200
    assert ledger.lots("m1")["remaining"].tolist() == [500]
    with pytest.raises(InvalidDataError, match="already reversed"):
        ledger.reverse(r.entry_ids[0], at="2024-01-04", idempotency_key="x2")
    undo = ledger.reverse(e.entry_ids[0], at="2024-01-05", idempotency_key="x3")
    assert undo.points == -500
    b = ledger.balance("m1", at="2024-01-06")
    assert (b.available, b.lifetime_earned) == (0, 0)
    with pytest.raises(InvalidDataError, match="only earn, redeem and adjust"):
        ledger.reverse(back.entry_ids[0], at="2024-01-06", idempotency_key="x4")
    with pytest.raises(InvalidDataError, match="does not exist"):
        ledger.reverse(999, at="2024-01-06", idempotency_key="x5")
    assert ledger.history("m1")["kind"].tolist() == ["earn", "redeem", "reversal", "reversal"]
    check_invariants(ledger)


def test_expire_due_is_idempotent_and_traced(store: Store) -> None:
    ledger = make(store, pending_days=0)
    ledger.adjust("m1", 100, at="2023-01-15", idempotency_key="a1")
    ledger.adjust("m2", 40, at="2023-02-15", idempotency_key="a2")
    ledger.adjust("m1", 60, at="2023-06-15", idempotency_key="a3")
    ledger.redeem("m1", 30, at="2023-07-01", idempotency_key="r1")
    run = ledger.expire_due("2024-03-01")
    assert run.points == -(70 + 40)
    assert len(run.entry_ids) == 2
    assert ledger.expire_due("2024-03-01") == run
    assert len(ledger.entries()) == 6
    assert ledger.balance("m1", at="2024-03-01").available == 60
    assert ledger.expire_due("2024-03-02").points == 0
    check_invariants(ledger)


def test_tiers_birthday_and_referral(store: Store) -> None:
    ledger = make(
        store,
        pending_days=0,
        earn_rules=[
            {"type": "birthday_month", "points": 500},
            {"type": "referral", "points": 300},
        ],
        tiers={
            "basis": "points",
            "window_months": 12,
            "levels": [
                {
                    "name": "silver",
                    "threshold": 1000,
                    "earn_multiplier": "1.5",
                    "privileges": ["exclusive offers"],
                },
            ],
        },
    )
    ledger.set_member("m1", birth_month=3)
    ledger.set_member("m2", referred_by="m1")
    first = ledger.earn(buy("m1", "2024-01-10", 1000, "T1"), idempotency_key="e1")
    assert first.points == 1000
    status = ledger.tier("m1", at="2024-01-11")
    assert (status.tier, status.privileges) == ("silver", ("exclusive offers",))
    second = ledger.earn(buy("m1", "2024-03-05", 100, "T2"), idempotency_key="e2")
    assert second.points == 150 + 500  # silver multiplier, birthday bonus once
    ref = ledger.earn(buy("m2", "2024-03-06", 10, "T3"), idempotency_key="e3")
    assert len(ref.entry_ids) == 2
    assert ledger.balance("m1", at="2024-03-07").available == 1000 + 650 + 300
    with pytest.raises(InvalidDataError, match="no tiers"):
        make(MemoryStore()).tier("m1")
    check_invariants(ledger)


def test_history_running_balance(store: Store) -> None:
    ledger = make(store, pending_days=0)
    ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
    ledger.redeem("m1", 30, at="2024-01-02", idempotency_key="r1")
    ledger.adjust("m2", 5, at="2024-01-02", idempotency_key="a2")
    h = ledger.history("m1")
    assert h["balance"].tolist() == [100, 70]
    assert h.index.name == "entry_id"
    assert len(ledger.history("nobody")) == 0


def test_import_equals_one_by_one_earns(store: Store) -> None:
    program = dict(
        BASE, earn_rules=[{"type": "first_purchase", "points": 50}], caps={"per_day": 400}
    )
    tx = pd.DataFrame(
        {
            "member_id": ["a", "b", "a", "a", "c", "b"],
            "timestamp": pd.to_datetime(
                [
                    "2024-01-02 09:00",
                    "2024-01-02 10:00",
                    "2024-01-02 12:00",
                    "2024-01-05 09:00",
                    "2024-01-06 09:00",
                    "2024-02-01 09:00",
                ]
            ),
            "subtotal": [300, 120, 300, 80, 999, 10],
            "transaction_id": [f"T{i}" for i in range(6)],
        }
    )
    bulk = Ledger(Program.from_dict(program), store)
    summary = bulk.import_transactions(tx, idempotency_key="imp", chunk_size=4)
    assert (summary.events, summary.chunks, summary.replayed_chunks) == (6, 2, 0)
    single = Ledger(Program.from_dict(program), MemoryStore())
    for row in tx.itertuples():
        single.earn(
            buy(row.member_id, str(row.timestamp), row.subtotal, row.transaction_id),
            idempotency_key=row.transaction_id,
        )
    for member in "abc":
        assert bulk.balance(member, at="2024-03-01") == single.balance(member, at="2024-03-01")
    assert summary.points == int(single.entries()["points"].sum())
    # a rerun skips the chunks written; different data under the key is refused
    again = bulk.import_transactions(tx, idempotency_key="imp", chunk_size=4)
    assert (again.points, again.replayed_chunks) == (summary.points, 2)
    changed = tx.assign(subtotal=tx["subtotal"] + 1)
    with pytest.raises(IdempotencyConflictError, match="chunk 0 differs"):
        bulk.import_transactions(changed, idempotency_key="imp", chunk_size=4)
    # engine counters carried over: the next purchase the same day respects the day cap
    nxt = bulk.earn(buy("a", "2024-01-05 18:00", 500, "T9"), idempotency_key="T9")
    assert nxt.points == 400 - 80
    check_invariants(bulk)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda lg: lg.redeem("", 1, at="2024-01-01", idempotency_key="k"), "member_id"),
        (lambda lg: lg.redeem("m", 0, at="2024-01-01", idempotency_key="k"), "must be > 0"),
        (lambda lg: lg.redeem("m", 1.0, at="2024-01-01", idempotency_key="k"), "whole number"),
        (lambda lg: lg.redeem("m", True, at="2024-01-01", idempotency_key="k"), "whole number"),
        (lambda lg: lg.adjust("m", 0, at="2024-01-01", idempotency_key="k"), "must not be 0"),
        (lambda lg: lg.redeem("m", 1, at="not a date", idempotency_key="k"), "timestamp"),
        (lambda lg: lg.redeem("m", 1, at="2024-01-01", idempotency_key=""), "idempotency_key"),
        (lambda lg: lg.earn("purchase", idempotency_key="k"), "PurchaseEvent"),
        (lambda lg: lg.reverse("1", idempotency_key="k"), "entry_id must be an integer"),
        (lambda lg: lg.set_member("m", birth_month=13), "birth_month must be 1-12"),
        (
            lambda lg: lg.import_transactions({"member_id": ["a"]}, idempotency_key="k"),
            "missing column",
        ),
        (
            lambda lg: lg.import_transactions(
                {"member_id": ["a"]}, idempotency_key="k", chunk_size=0
            ),
            "chunk_size",
        ),
    ],
)
def test_bad_input(call: Any, match: str) -> None:
    ledger = make(MemoryStore())
    with pytest.raises(InvalidDataError, match=match):
        call(ledger)


def test_constructor_checks_types() -> None:
    with pytest.raises(InvalidDataError, match="program must be"):
        Ledger({"name": "p"}, MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match="store must be"):
        Ledger(Program.from_dict(BASE), "ledger.db")  # type: ignore[arg-type]
    assert "shop" in repr(make(MemoryStore()))


def test_unknown_member_has_zero_balance(store: Store) -> None:
    b = make(store).balance("ghost", at=dt.datetime(2024, 1, 1))
    assert (b.available, b.pending, b.expiring_30d, b.lifetime_earned) == (0, 0, 0, 0)


@given(
    at=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 12, 31)),
    months=st.integers(1, 120),
    clamp=st.booleans(),
)
def test_fast_expiry_equals_engine_expiry_date(at: dt.datetime, months: int, clamp: bool) -> None:
    program = Program.from_dict(
        {"name": "p", "base_rate": "1", "expiry": {"months": months, "clamp_to_month_end": clamp}}
    )
    ts = pd.Timestamp(at)
    assert _expiry_ns(program, int(ts.value)) == int(expiry_date(program, ts).value)


def test_fast_expiry_at_month_ends() -> None:
    program = Program.from_dict({"name": "p", "base_rate": "1", "expiry": {"months": 1}})
    for day in ("2024-01-31 13:45:10.123456789", "2023-01-31", "2024-03-31", "2024-12-31 23:59"):
        ts = pd.Timestamp(day)
        assert _expiry_ns(program, int(ts.value)) == int(expiry_date(program, ts).value)
    never = Program.from_dict({"name": "p", "base_rate": "1"})
    assert _expiry_ns(never, 0) is None
