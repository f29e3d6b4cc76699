"""Loyalty rules: a supermarket programme priced one purchase at a time and a table at once.

1 point per yen, silver/gold tiers with earn multipliers and privileges, a
birthday-month bonus, points expiring 12 months after they are earned and
spendable after a 7-day pending period (the return window).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from customer_value.loyalty import (
    MemberState,
    Program,
    PurchaseEvent,
    advance_state,
    available_at,
    clawback_points,
    evaluate_tier,
    expiry_date,
    points_for_event,
    points_for_transactions,
)

CONFIG = """
{
  "name": "Sakura Supermarket Points",
  "currency": "JPY",
  "currency_decimals": 0,
  "base_rate": 1,
  "rounding": "floor",
  "minimum_spend": 100,
  "earn_rules": [
    {"type": "category", "category": "fresh", "multiplier": 2},
    {"type": "promotion", "name": "year-end", "start": "2024-12-20", "end": "2024-12-31",
     "multiplier": 3},
    {"type": "first_purchase", "points": 500},
    {"type": "birthday_month", "points": 1000, "multiplier": 2},
    {"type": "referral", "points": 300}
  ],
  "caps": {"per_transaction": 20000, "per_day": 30000},
  "tiers": {
    "basis": "spend", "window_months": 12, "downgrade": "anniversary",
    "levels": [
      {"name": "member", "threshold": 0},
      {"name": "silver", "threshold": 50000, "earn_multiplier": 1.5,
       "privileges": ["exclusive offers"]},
      {"name": "gold", "threshold": 200000, "earn_multiplier": 2,
       "privileges": ["exclusive offers", "priority purchase", "free delivery"]}
    ]
  },
  "expiry": {"months": 12},
  "pending_days": 7,
  "returns": {"clawback": "proportional", "allow_negative_balance": false}
}
"""


def main() -> None:
    program = Program.from_json(CONFIG)
    print(
        f"{program.name}: {program.base_rate} point per yen, tiers "
        f"{[t.name for t in program.tiers.levels] if program.tiers else []}"
    )

    # -- one member, purchase by purchase (what the ledger does)
    state = MemberState(tier="silver", birth_month=5, referred_by="M0042")
    purchases = [
        PurchaseEvent("M0100", dt.datetime(2024, 4, 28, 18, 5), Decimal(3280), category="grocery"),
        PurchaseEvent(
            "M0100",
            dt.datetime(2024, 5, 3, 11, 40),
            Decimal(2150),
            discount=Decimal(200),
            category="fresh",
        ),
        PurchaseEvent("M0100", dt.datetime(2024, 5, 20, 19, 0), Decimal(980), category="grocery"),
        PurchaseEvent(
            "M0100",
            dt.datetime(2024, 12, 24, 10, 0),
            Decimal(5400),
            tax=Decimal(432),
            category="fresh",
        ),
    ]
    print("\nPurchase by purchase (silver member, born in May, referred by M0042):")
    print(
        f"{'date':<12}{'eligible':>9}{'raw':>9}{'earn':>6}{'bonus':>7}{'total':>7}"
        "  spendable   expires"
    )
    for event in purchases:
        result = points_for_event(program, event, state)
        state = advance_state(program, state, event, result)
        expires = expiry_date(program, event.at)
        expires_text = "never" if expires is None else f"{expires:%Y-%m-%d}"
        print(
            f"{event.at:%Y-%m-%d}  {result.eligible_amount:>8}{result.raw_points:>9}"
            f"{result.earn_points:>6}{result.bonus_points:>7}{result.points:>7}  "
            f"{available_at(program, event.at):%Y-%m-%d}  {expires_text}"
        )
        if result.referrer_id:
            print(f"{'':12}referral: {result.referrer_points} points to {result.referrer_id}")

    # -- a refund of 1,000 yen of the 5,400 yen purchase
    last = points_for_event(
        program, purchases[-1], MemberState(tier="silver", qualifying_purchases=3)
    )
    back = clawback_points(program, last.points, last.eligible_amount, Decimal(1000))
    print(
        f"\nRefund of 1,000 of {last.eligible_amount} yen: claw back {back} of {last.points} points"
    )

    # -- tier at the end of the year from the rolling 12-month spend
    history = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-02-10", "2024-06-15", "2024-11-30"]),
            "spend": [90_000, 75_000, 48_000],
        }
    )
    status = evaluate_tier(program, history, "2024-12-31", current_tier="silver")
    print(
        f"Tier on 2024-12-31: {status.tier} (12-month spend {status.qualifying_value} yen), "
        f"privileges: {', '.join(status.privileges)}"
    )

    # -- a whole month of purchases at once
    rng = np.random.default_rng(7)
    n = 100_000
    tx = pd.DataFrame(
        {
            "member_id": rng.integers(0, 5_000, size=n),
            "timestamp": pd.Timestamp("2024-12-01")
            + pd.to_timedelta(rng.integers(0, 31 * 86_400, size=n), unit="s"),
            "subtotal": rng.integers(50, 12_000, size=n),
            "category": rng.choice(["fresh", "grocery", "household"], size=n),
        }
    )
    members = pd.DataFrame(
        {
            "tier": rng.choice(["member", "silver", "gold"], size=5_000, p=[0.7, 0.2, 0.1]),
            "birth_month": rng.integers(1, 13, size=5_000),
            "qualifying_purchases": 1,
        }
    )
    points = points_for_transactions(program, tx, members=members)
    by_tier = points.assign(tier=members["tier"].to_numpy()[tx["member_id"].to_numpy()])
    summary = by_tier.groupby("tier")[["eligible_minor", "points"]].sum()
    summary["points per 100 yen"] = (100 * summary["points"] / summary["eligible_minor"]).round(2)
    print(f"\nDecember: {n:,} purchases priced at once; points by tier:")
    print(summary.to_string())


if __name__ == "__main__":
    main()
