"""Hypothesis on every store: ledger invariants after random operations; replays change nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from customer_value.errors import InsufficientPointsError, InvalidDataError
from customer_value.loyalty import Ledger, Program, PurchaseEvent, Store

from .conftest import make_spec
from .ledger_checks import check_invariants

MEMBERS = ("a", "b", "c")
KINDS_IN = {"earn", "adjust"}


def program(allow_negative: bool) -> Program:
    return Program.from_dict(
        {
            "name": "p",
            "currency_decimals": 0,
            "base_rate": "1",
            "rounding": "half_up",
            "expiry": {"months": 2},
            "pending_days": 3,
            "earn_rules": [{"type": "first_purchase", "points": 7}],
            "returns": {"allow_negative_balance": allow_negative},
        }
    )


class LedgerMachine(RuleBasedStateMachine):
    """Random earn/redeem/refund/adjust/reverse/expire against a model of the sums."""

    make_store: Callable[[], Store]

    def __init__(self) -> None:
        super().__init__()
        self.now = pd.Timestamp("2024-01-01")
        self.n = 0
        self.purchases: list[tuple[str, int]] = []  # (transaction id, eligible left)
        self.model: dict[str, int] = dict.fromkeys(MEMBERS, 0)  # signed sum of booked points
        self.counted: set[int] = set()
        self.ledger: Ledger

    @initialize(allow_negative=st.booleans())
    def setup(self, allow_negative: bool) -> None:
        self.ledger = Ledger(program(allow_negative), self.make_store())

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    @rule(days=st.integers(0, 40))
    def advance(self, days: int) -> None:
        self.now += pd.Timedelta(days=days)

    @rule(member=st.sampled_from(MEMBERS), amount=st.integers(0, 10_000))
    def earn(self, member: str, amount: int) -> None:
        tx = f"T{self.n}"
        r = self.ledger.earn(
            PurchaseEvent(member, self.now.to_pydatetime(), Decimal(amount), transaction_id=tx),
            idempotency_key=self.key(),
        )
        self.model[member] += r.points
        self.purchases.append((tx, amount))

    @rule(member=st.sampled_from(MEMBERS), points=st.integers(1, 5_000))
    def redeem(self, member: str, points: int) -> None:
        before = self.ledger.balance(member, at=self.now).available
        try:
            r = self.ledger.redeem(member, points, at=self.now, idempotency_key=self.key())
        except InsufficientPointsError:
            assert points > before
            return
        assert points <= before
        self.model[member] += r.points

    @rule(member=st.sampled_from(MEMBERS), points=st.integers(-3_000, 3_000).filter(bool))
    def adjust(self, member: str, points: int) -> None:
        try:
            r = self.ledger.adjust(member, points, at=self.now, idempotency_key=self.key())
        except InsufficientPointsError:
            assert points < 0
            return
        self.model[member] += r.points

    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        open_ = [(i, p) for i, p in enumerate(self.purchases) if p[1] > 0]
        if not open_:
            return
        i, (tx, left) = data.draw(st.sampled_from(open_))
        amount = data.draw(st.integers(1, left))
        try:
            r = self.ledger.refund(tx, Decimal(amount), at=self.now, idempotency_key=self.key())
        except InvalidDataError as exc:
            # a reversed purchase cannot be refunded (its points were already taken back)
            if "was reversed" not in str(exc):
                raise
            self.purchases[i] = (tx, 0)
            return
        self.purchases[i] = (tx, left - amount)
        assert r.member_id is not None
        self.model[r.member_id] += r.points

    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        entries = self.ledger.entries()
        if len(entries) == 0:
            return
        entry_id = int(data.draw(st.sampled_from(entries["entry_id"].tolist())))
        try:
            r = self.ledger.reverse(entry_id, at=self.now, idempotency_key=self.key())
        except InvalidDataError:
            return
        assert r.member_id is not None
        self.model[r.member_id] += r.points

    @rule()
    def expire(self) -> None:
        r = self.ledger.expire_due(self.now)
        entries = self.ledger.entries()
        for entry_id in r.entry_ids:
            if entry_id in self.counted:
                continue  # same instant again: a replay of the earlier run
            self.counted.add(entry_id)
            row = entries[entries["entry_id"] == entry_id].iloc[0]
            self.model[row["member_id"]] += int(row["points"])

    @invariant()
    def invariants_hold(self) -> None:
        if not hasattr(self, "ledger"):
            return
        check_invariants(self.ledger)
        sums = self.ledger.entries().groupby("member_id")["points"].sum()
        for member, expected in self.model.items():
            assert int(sums.get(member, 0)) == expected
        lots = self.ledger.lots()
        assert (lots["remaining"] >= 0).all()
        if not self.ledger.program.returns.allow_negative_balance:
            for member in MEMBERS:
                assert self.ledger.balance(member, at=self.now).available >= 0


def fresh_stores(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A factory of fresh, empty stores of ``kind`` (one per hypothesis example)."""
    counter = iter(range(10**6))

    def make() -> Store:
        where = tmp_path / f"x{next(counter)}"
        where.mkdir()
        store: Store = make_spec(kind, request, where).open()
        return store

    return make


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_ledger_machine(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    class Machine(LedgerMachine):
        pass

    Machine.make_store = staticmethod(fresh_stores(kind, request, tmp_path))
    run_state_machine_as_test(
        Machine,
        settings=settings(
            # the SQL backends run fewer examples: each is a fresh file or schema
            max_examples=25 if kind == "memory" else 10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_replaying_any_request_changes_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    make = fresh_stores(backend, request, tmp_path)

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        ops=st.lists(
            st.tuples(
                st.sampled_from(["earn", "redeem", "adjust", "refund"]),
                st.sampled_from(MEMBERS),
                st.integers(1, 2_000),
            ),
            min_size=1,
            max_size=20,
        ),
        repeats=st.integers(1, 3),
        seed=st.randoms(use_true_random=False),
    )
    def replay(ops: list[tuple[str, str, int]], repeats: int, seed: Any) -> None:
        ledger = Ledger(program(False), make())
        at = pd.Timestamp("2024-01-01")
        done: list[tuple[Any, Any]] = []
        for i, (kind, member, value) in enumerate(ops):
            at += pd.Timedelta(days=4)
            key = f"k{i}"
            if kind == "earn":
                event = PurchaseEvent(
                    member, at.to_pydatetime(), Decimal(value), transaction_id=key
                )

                def call(e: PurchaseEvent = event, k: str = key) -> Any:
                    return ledger.earn(e, idempotency_key=k)
            elif kind == "refund":
                earned = [k for k, _ in done if k is not None and k.startswith("T")]
                if not earned:
                    continue
                tx = earned[value % len(earned)][1:]

                def call(t: str = tx, k: str = key, when: Any = at) -> Any:
                    return ledger.refund(t, Decimal(1), at=when, idempotency_key=k)
            elif kind == "redeem":

                def call(m: str = member, v: int = value, k: str = key, when: Any = at) -> Any:
                    return ledger.redeem(m, v, at=when, idempotency_key=k)
            else:

                def call(m: str = member, v: int = value, k: str = key, when: Any = at) -> Any:
                    return ledger.adjust(m, v, at=when, idempotency_key=k)

            try:
                result = call()
            except (InsufficientPointsError, InvalidDataError):
                continue
            done.append(((f"T{key}" if kind == "earn" else None), (call, result)))
        snapshot = (ledger.entries(), ledger.lots(), ledger.store.allocations_frame())
        replays = [item for _, item in done] * repeats
        seed.shuffle(replays)
        for call, result in replays:
            assert call() == result
        pd.testing.assert_frame_equal(ledger.entries(), snapshot[0])
        pd.testing.assert_frame_equal(ledger.lots(), snapshot[1])
        pd.testing.assert_frame_equal(ledger.store.allocations_frame(), snapshot[2])

    replay()
