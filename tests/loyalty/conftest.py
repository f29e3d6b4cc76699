"""Shared helpers for the loyalty tests: a sequential reference pricer and a sample program."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from customer_value.loyalty import (
    MemberState,
    PointsResult,
    Program,
    PurchaseEvent,
    advance_state,
    points_for_event,
)


def _money(value: Any, decimals: int) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return (
        Decimal(int(value)).scaleb(-decimals)
        if isinstance(value, (int, np.integer))
        else (Decimal(str(value)))
    )


def price_row_by_row(
    program: Program,
    tx: pd.DataFrame,
    members: pd.DataFrame | None = None,
    *,
    minor_units: bool = True,
) -> list[PointsResult]:
    """Price ``tx`` with points_for_event, threading each member's state in time order.

    Integer money columns are minor units when ``minor_units``. Returns results in
    table order.
    """
    decimals = program.currency_decimals
    order = np.lexsort(
        (np.arange(len(tx)), tx["timestamp"].to_numpy(), pd.factorize(tx["member_id"])[0])
    )
    states: dict[Any, MemberState] = {}
    results: list[PointsResult | None] = [None] * len(tx)
    for pos in order:
        row = tx.iloc[int(pos)]
        member = row["member_id"]
        if member not in states:
            kwargs: dict[str, Any] = {}
            if members is not None and member in members.index:
                rec = members.loc[member]
                for col in (
                    "tier",
                    "birth_month",
                    "referred_by",
                    "qualifying_purchases",
                    "birthday_bonus_year",
                ):
                    if col in members.columns and not pd.isna(rec[col]):
                        value = rec[col]
                        kwargs[col] = (
                            int(value)
                            if col in ("birth_month", "qualifying_purchases", "birthday_bonus_year")
                            else value
                        )
            states[member] = MemberState(**kwargs)

        def amount(col: str, row: pd.Series = row) -> Decimal:
            if col not in tx.columns:
                return Decimal(0)
            v = row[col]
            if minor_units:
                return Decimal(int(v)).scaleb(-decimals)
            return _money(v, decimals)

        category = row["category"] if "category" in tx.columns else None
        event = PurchaseEvent(
            member_id=member,
            at=row["timestamp"],
            subtotal=amount("subtotal"),
            discount=amount("discount"),
            tax=amount("tax"),
            shipping=amount("shipping"),
            category=None if category is None or pd.isna(category) else category,
        )
        result = points_for_event(program, event, states[member])
        states[member] = advance_state(program, states[member], event, result)
        results[int(pos)] = result
    return [r for r in results if r is not None]


SUPERMARKET: dict[str, Any] = {
    "name": "Supermarket",
    "currency": "JPY",
    "currency_decimals": 0,
    "base_rate": "1",
    "rounding": "floor",
    "earn_rules": [
        {"type": "category", "category": "fresh", "multiplier": "2"},
        {
            "type": "promotion",
            "name": "year-end",
            "start": "2024-12-20",
            "end": "2024-12-31",
            "multiplier": "3",
        },
        {"type": "first_purchase", "points": 500},
        {"type": "birthday_month", "points": 1000, "multiplier": "2"},
        {"type": "referral", "points": 300},
    ],
    "caps": {"per_transaction": 5000, "per_day": 8000, "per_month": 30000},
    "tiers": {
        "basis": "spend",
        "window_months": 12,
        "downgrade": "anniversary",
        "levels": [
            {"name": "member", "threshold": 0},
            {
                "name": "silver",
                "threshold": 50000,
                "earn_multiplier": "1.5",
                "privileges": ["exclusive offers"],
            },
            {
                "name": "gold",
                "threshold": 200000,
                "earn_multiplier": "2",
                "privileges": ["exclusive offers", "priority purchase"],
            },
        ],
    },
    "expiry": {"months": 12},
    "pending_days": 7,
    "returns": {"clawback": "proportional", "allow_negative_balance": False},
}


@pytest.fixture
def supermarket() -> Program:
    return Program.from_dict(SUPERMARKET)


@pytest.fixture(scope="session")
def row_by_row() -> Any:
    """The sequential reference pricer :func:`price_row_by_row`."""
    return price_row_by_row


@pytest.fixture
def supermarket_config() -> dict[str, Any]:
    """A fresh deep copy of the supermarket configuration (safe to mutate)."""
    import copy

    return copy.deepcopy(SUPERMARKET)


# ---------------------------------------------------------------------------- stores
@pytest.fixture(scope="session")
def pg_server() -> Any:
    """A PostgreSQL server started for this session (skips, with the reason, when none)."""
    pytest.importorskip("psycopg", reason="PostgresStore tests need the [postgres] extra")
    from .pg_server import start_server

    server, reason = start_server()
    if server is None:
        pytest.skip(f"no PostgreSQL server for the PostgresStore tests: {reason}")
    yield server
    server.stop()


_SCHEMAS = iter(range(10**9))


def make_spec(kind: str, request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """A fresh, empty store of ``kind`` (its own SQLite file or PostgreSQL schema)."""
    from .store_specs import StoreSpec

    if kind == "memory":
        return StoreSpec("memory")
    if kind == "sqlite":
        return StoreSpec("sqlite", str(tmp_path / "ledger.db"))
    server = request.getfixturevalue("pg_server")
    return StoreSpec("postgres", server.conninfo, f"t{os.getpid()}_{next(_SCHEMAS)}")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """Each store backend in turn, fresh and empty (the contract suite's parameter)."""
    return make_spec(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store_spec(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """The backends several processes can open at once."""
    return make_spec(request.param, request, tmp_path)
