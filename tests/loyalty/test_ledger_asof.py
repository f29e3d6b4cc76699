"""As recorded vs as effective (issue 16, item 6), on every store.

A backdated entry counts from its effective time, so the balance *as effective*
on 1 March changes when a correction dated February is recorded in April; the
balance *as recorded* on 1 March (what the ledger showed that day) does not.
The stores compute both by rolling back from the present over running totals;
they are checked here against an independent forward rebuild from the journal,
the lots and the allocations (the definition), over random ledgers with
backdated writes, refunds, reversals, expiry runs and debt.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InsufficientPointsError, InvalidDataError
from customer_value.loyalty import Ledger, Program, PurchaseEvent

from .store_specs import StoreSpec

DAY = 86_400 * 10**9
HORIZON = 30 * DAY

PROGRAM = Program.from_dict(
    {
        "name": "asof",
        "currency_decimals": 0,
        "base_rate": "1",
        "expiry": {"months": 2},
        "pending_days": 5,
        "returns": {"allow_negative_balance": True},
    }
)


def forward_parts(ledger: Ledger, member: str, at: int, recorded: int | None) -> tuple[int, ...]:
    """The balance figures rebuilt forwards from the entries known at ``(at, recorded)``."""
    entries = ledger.store.entries_frame(member)
    stamp = entries["recorded_at"]
    known = entries["at"].astype("int64") <= at
    if recorded is not None:
        cut = pd.Timestamp(recorded, unit="ns", tz="UTC")
        known &= stamp.isna() | (stamp <= cut)
    mine = entries[known]
    ids = set(mine["entry_id"].tolist())
    allocations = ledger.store.allocations_frame()
    used = allocations[allocations["entry_id"].isin(ids)].groupby("lot_id")["points"].sum()
    lots = ledger.store.lots_frame(member)
    held = lots[lots["entry_id"].isin(ids)]
    left = held["points"] - held["lot_id"].map(used).fillna(0).astype("int64")
    expires = held["expires_at"].astype("int64").where(held["expires_at"].notna())
    alive = (left > 0) & (expires.isna() | (expires > at))
    ready = held["available_at"].astype("int64") <= at
    spendable = int(left[alive & ready].sum())
    pending = int(left[alive & ~ready].sum())
    expiring = int(left[alive & ready & expires.notna() & (expires <= at + HORIZON)].sum())
    debt = int(left.sum()) - int(mine["points"].sum())
    earns = mine[mine["kind"] == "earn"]
    earned = dict(zip(earns["entry_id"], earns["points"], strict=True))
    reversals = mine[(mine["kind"] == "reversal") & mine["reference"].notna()]
    undone = sum(earned.get(int(r), 0) for r in reversals["reference"])
    return spendable, pending, expiring, debt, int(earns["points"].sum()) - undone


def _store_parts(ledger: Ledger, member: str, at: int, recorded: int | None) -> tuple[int, ...]:
    p = ledger.store.balance_parts_as_of(member, at, HORIZON, recorded)
    return p.spendable_lots, p.pending, p.expiring, p.debt, p.lifetime_earned


def _random_ledger(ledger: Ledger, seed: int, n: int) -> list[int]:
    """``n`` random writes at random (often backdated) times; the instants between them."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2024-01-01")
    marks: list[int] = []
    sold: list[str] = []
    for i in range(n):
        member = f"m{rng.integers(0, 3)}"
        at = base + pd.Timedelta(hours=int(rng.integers(0, 24 * 150)))
        key = f"{seed}-{i}"
        op = rng.random()
        try:
            if op < 0.35:
                amount = Decimal(int(rng.integers(1, 300)))
                event = PurchaseEvent(member, at.to_pydatetime(), amount, transaction_id=key)
                ledger.earn(event, idempotency_key=key)
                sold.append(key)
            elif op < 0.55:
                ledger.redeem(member, int(rng.integers(1, 200)), at=at, idempotency_key=key)
            elif op < 0.7:
                points = int(rng.integers(-80, 150)) or 1
                ledger.adjust(member, points, at=at, idempotency_key=key)
            elif op < 0.8 and sold:
                tx = sold[int(rng.integers(0, len(sold)))]
                ledger.refund(tx, int(rng.integers(1, 60)), at=at, idempotency_key=key)
            elif op < 0.92:
                entry = int(rng.integers(1, i + 2))
                ledger.reverse(entry, at=at, idempotency_key=key)
            else:
                ledger.expire_due(at, idempotency_key=key)
        except (InsufficientPointsError, InvalidDataError):
            pass  # refused: writes nothing (checked by the other ledger tests)
        time.sleep(0.002)  # the stores' clocks and ours are the same host clock
        marks.append(time.time_ns())
        time.sleep(0.002)
    return marks


@pytest.mark.parametrize("seed", [3, 11])
def test_past_balances_as_recorded_and_as_effective_match_a_forward_rebuild(
    store_spec: StoreSpec, seed: int
) -> None:
    store = store_spec.open()
    ledger = Ledger(PROGRAM, store)
    marks = _random_ledger(ledger, seed, 70)
    assert (ledger.entries()["kind"] == "reversal").any()
    rng = np.random.default_rng(seed + 1)
    instants = [int(pd.Timestamp("2024-01-01").value) + int(x) * DAY for x in (-1, 30, 75, 200)]
    instants += [int(pd.Timestamp("2024-01-01").value) + int(rng.integers(0, 150 * DAY))]
    recorded: list[int | None] = [None, marks[0], marks[len(marks) // 3], marks[-2], marks[-1]]
    checked = 0
    for member in ("m0", "m1", "m2"):
        for at in instants:
            for rec in recorded:
                assert _store_parts(ledger, member, at, rec) == forward_parts(
                    ledger, member, at, rec
                ), (member, at, rec)
                checked += 1
        # the current path (running totals) agrees with the rollback after the last entry
        late = int(pd.Timestamp("2025-01-01").value)
        now = ledger.store.balance_parts(member, late, HORIZON)
        assert (now.spendable_lots, now.pending, now.expiring, now.debt) == forward_parts(
            ledger, member, late, None
        )[:4]
    assert checked == 75
    store.close()


def test_what_the_ledger_showed_on_a_day_stays_put_after_a_backdated_correction(
    store_spec: StoreSpec,
) -> None:
    store = store_spec.open()
    ledger = Ledger(PROGRAM, store)
    ledger.adjust("ann", 100, at="2024-02-01", idempotency_key="welcome")
    time.sleep(0.002)
    first_of_march = pd.Timestamp.now(tz="UTC")  # what the ledger knew "on 1 March"
    time.sleep(0.002)
    # recorded later, effective in February: a redemption the till failed to send
    ledger.redeem("ann", 30, at="2024-02-15", idempotency_key="late")
    as_effective = ledger.balance("ann", at="2024-03-01")
    as_recorded = ledger.balance("ann", at="2024-03-01", recorded_at=first_of_march)
    assert (as_effective.available, as_recorded.available) == (70, 100)
    assert ledger.balance("ann", at="2024-02-10").available == 100  # before it took effect
    # a zone-aware instant is the same instant in another zone
    in_tokyo = first_of_march.tz_convert("Asia/Tokyo")
    assert ledger.balance("ann", at="2024-03-01", recorded_at=in_tokyo).available == 100
    assert ledger.history("ann")["balance"].tolist() == [100, 70]
    assert ledger.history("ann", recorded_at=first_of_march)["kind"].tolist() == ["adjust"]
    assert ledger.history("ann", at="2024-02-10")["kind"].tolist() == ["adjust"]
    recorded = ledger.history("ann")["recorded_at"]
    assert recorded.dt.tz is not None
    assert recorded.is_monotonic_increasing
    with pytest.raises(InvalidDataError, match="recorded_at"):
        ledger.balance("ann", recorded_at="not a time")
    store.close()


def test_tier_as_recorded_ignores_purchases_recorded_later(store_spec: StoreSpec) -> None:
    program = Program.from_dict(
        {
            "name": "tiers",
            "currency_decimals": 0,
            "base_rate": "1",
            "tiers": {
                "basis": "points",
                "window_months": 12,
                "levels": [
                    {"name": "member", "threshold": 0},
                    {"name": "silver", "threshold": 500},
                ],
            },
        }
    )
    store = store_spec.open()
    ledger = Ledger(program, store)
    buy: Any = PurchaseEvent
    ledger.earn(
        buy("bo", pd.Timestamp("2024-03-01").to_pydatetime(), Decimal(300)), idempotency_key="a"
    )
    time.sleep(0.002)
    mark = pd.Timestamp.now(tz="UTC")
    time.sleep(0.002)
    # a purchase of February sent late lifts bo to silver from 1 March as effective
    ledger.earn(
        buy("bo", pd.Timestamp("2024-02-20").to_pydatetime(), Decimal(300)), idempotency_key="b"
    )
    assert ledger.tier("bo", at="2024-03-02").tier == "silver"
    assert ledger.tier("bo", at="2024-03-02", recorded_at=mark).tier == "member"
    store.close()
