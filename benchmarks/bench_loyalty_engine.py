"""points_for_transactions on 1,000,000 purchases vs pricing them one by one.

The anchor is the obvious implementation: sort, then call points_for_event and
advance_state for every purchase in a Python loop (the same rules, the same
results). It runs on a subsample (default 20,000 rows, argv[2]) and its time is
scaled linearly to the full size; the subsample's points are compared with the
vectorised result for the same rows.
Target: ours <= 1 s for 1,000,000 purchases.
"""

from __future__ import annotations

import sys
from decimal import Decimal

import numpy as np
import pandas as pd
from _common import table, timed

from customer_value.loyalty import (
    MemberState,
    Program,
    PurchaseEvent,
    advance_state,
    points_for_event,
    points_for_transactions,
)

N_TX = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
N_ANCHOR = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000

PROGRAM = Program.from_dict(
    {
        "name": "Supermarket",
        "currency": "JPY",
        "currency_decimals": 0,
        "base_rate": "1",
        "rounding": "half_even",
        "earn_rules": [
            {"type": "category", "category": "fresh", "multiplier": "2"},
            {"type": "category", "category": "liquor", "multiplier": "0.5"},
            {
                "type": "promotion",
                "name": "spring",
                "start": "2024-03-01",
                "end": "2024-03-31",
                "multiplier": "1.5",
            },
            {
                "type": "promotion",
                "name": "fresh-week",
                "start": "2024-06-01",
                "end": "2024-06-07",
                "multiplier": "3",
                "categories": ["fresh"],
            },
            {"type": "first_purchase", "points": 500},
            {"type": "birthday_month", "points": 1000, "multiplier": "2"},
            {"type": "referral", "points": 300},
        ],
        "minimum_spend": "100",
        "caps": {"per_transaction": 5000, "per_day": 8000, "per_month": 30000},
        "tiers": {
            "levels": [
                {"name": "member", "threshold": 0},
                {"name": "silver", "threshold": 50000, "earn_multiplier": "1.5"},
                {"name": "gold", "threshold": 200000, "earn_multiplier": "2"},
            ]
        },
        "expiry": {"months": 12},
        "pending_days": 7,
    }
)


def make_data(n_tx: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_members = max(n_tx // 20, 1)
    start = np.datetime64("2024-01-01T00:00:00", "s").astype("datetime64[ns]")
    seconds = rng.integers(0, 366 * 86_400, size=n_tx)
    tx = pd.DataFrame(
        {
            "member_id": rng.integers(0, n_members, size=n_tx),
            "timestamp": start + seconds.astype("timedelta64[s]"),
            "subtotal": np.round(rng.gamma(2.0, 2_000.0, size=n_tx)).astype(np.int64),
            "discount": np.where(rng.random(n_tx) < 0.2, 200, 0).astype(np.int64),
            "category": rng.choice(["fresh", "liquor", "grocery", "household"], size=n_tx),
        }
    )
    members = pd.DataFrame(
        {
            "tier": rng.choice(["member", "silver", "gold"], size=n_members, p=[0.7, 0.2, 0.1]),
            "birth_month": rng.integers(1, 13, size=n_members),
            "referred_by": np.where(rng.random(n_members) < 0.1, "ref", None),
        }
    )
    return tx, members


def row_by_row(tx: pd.DataFrame, members: pd.DataFrame) -> list[int]:
    order = np.lexsort((np.arange(len(tx)), tx["timestamp"].to_numpy(), tx["member_id"].to_numpy()))
    states: dict[int, MemberState] = {}
    points = [0] * len(tx)
    ids = tx["member_id"].to_numpy()
    stamps = tx["timestamp"].to_numpy()
    subtotal = tx["subtotal"].to_numpy()
    discount = tx["discount"].to_numpy()
    category = tx["category"].to_numpy()
    for pos in order:
        member = int(ids[pos])
        state = states.get(member)
        if state is None:
            rec = members.loc[member]
            ref = rec["referred_by"]
            state = MemberState(
                tier=str(rec["tier"]),
                birth_month=int(rec["birth_month"]),
                referred_by=None if ref is None or pd.isna(ref) else str(ref),
            )
        event = PurchaseEvent(
            member,
            pd.Timestamp(stamps[pos]),
            Decimal(int(subtotal[pos])),
            Decimal(int(discount[pos])),
            category=str(category[pos]),
        )
        result = points_for_event(PROGRAM, event, state)
        states[member] = advance_state(PROGRAM, state, event, result)
        points[pos] = result.points
    return points


def main() -> None:
    tx, members = make_data(N_TX)
    ours_s, ours = timed(lambda: points_for_transactions(PROGRAM, tx, members=members), repeat=3)
    # anchor on the complete histories of a subset of members (caps and bonuses are per member)
    keep = tx["member_id"].to_numpy() < max(int(members.shape[0] * N_ANCHOR / N_TX), 1)
    sub = tx.loc[keep]
    anchor_s, anchor_points = timed(lambda: row_by_row(sub, members))
    scaled = anchor_s * N_TX / len(sub)
    same = bool(np.array_equal(ours.loc[keep, "points"].to_numpy(), np.asarray(anchor_points)))
    print(
        f"row-by-row anchor: {len(sub):,} purchases in {anchor_s:.2f} s, "
        f"scaled x{N_TX / len(sub):.1f}; "
        f"identical points on those rows: {same}; total points {int(ours['points'].sum()):,}"
    )
    rows: list[tuple[str, float, float | None, str]] = [
        (
            f"points_for_transactions {N_TX:,} purchases",
            ours_s,
            scaled,
            "ours <= 1 s (anchor scaled)",
        )
    ]
    print(table("bench_loyalty_engine: vectorised vs row-by-row points_for_event", rows))


if __name__ == "__main__":
    main()
