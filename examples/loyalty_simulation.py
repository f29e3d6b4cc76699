"""Run a supermarket loyalty programme for two simulated years on a SQLite ledger.

1 point per yen (1,000 points buy a 10-yen voucher), silver and gold tiers
with earn multipliers and privileges, a birthday-month bonus, points expiring
12 months after they are earned and a 7-day pending period. Purchases are
bulk-imported month by month, members redeem, one purchase is refunded, expiry
runs every month, and the IFRS 15 contract liability for the points
outstanding is computed at the 2024 year end.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from customer_value.loyalty import (
    Ledger,
    Program,
    PurchaseEvent,
    SQLiteStore,
    points_flow,
    redemption_rate,
    tier_report,
)
from customer_value.loyalty.accounting import (
    allocate_transaction_price,
    breakage_rate,
    points_liability,
    points_revenue_schedule,
)

PROGRAM = Program.from_dict(
    {
        "name": "Supermarket points",
        "currency": "JPY",
        "currency_decimals": 0,
        "base_rate": "1",
        "rounding": "floor",
        "earn_rules": [{"type": "birthday_month", "multiplier": "2"}],
        "tiers": {
            "basis": "spend",
            "window_months": 12,
            "downgrade": "anniversary",
            "levels": [
                {
                    "name": "silver",
                    "threshold": 100_000,
                    "earn_multiplier": "1.5",
                    "privileges": ["exclusive offers"],
                },
                {
                    "name": "gold",
                    "threshold": 300_000,
                    "earn_multiplier": "2",
                    "privileges": ["exclusive offers", "priority purchase"],
                },
            ],
        },
        "expiry": {"months": 12},
        "pending_days": 7,
    }
)

MEMBERS = 200
RNG = np.random.default_rng(2024)
SPEND_RATE = RNG.gamma(2.0, 1.0, MEMBERS)  # some members shop far more than others


def month_of_purchases(month: pd.Period) -> pd.DataFrame:
    """Random purchases of every member during one month."""
    counts = RNG.poisson(1.5 * SPEND_RATE)
    member = np.repeat(np.arange(MEMBERS), counts)
    start = month.to_timestamp()
    seconds = RNG.integers(0, month.days_in_month * 86_400, member.size)
    return pd.DataFrame(
        {
            "member_id": [f"M{m:03d}" for m in member],
            "timestamp": start + pd.to_timedelta(seconds, unit="s"),
            "subtotal": RNG.integers(300, 8_000, member.size),
            "transaction_id": [f"{month}-{i}" for i in range(member.size)],
        }
    ).sort_values("timestamp", ignore_index=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # NORMAL is crash-safe in WAL mode; FULL (the default) also survives power loss
        store = SQLiteStore(Path(tmp) / "ledger.sqlite", synchronous="NORMAL")
        ledger = Ledger(PROGRAM, store)
        for i in range(MEMBERS):
            ledger.set_member(f"M{i:03d}", birth_month=int(RNG.integers(1, 13)))

        sales: dict[int, int] = {}
        for month in pd.period_range("2024-01", "2025-12", freq="M"):
            purchases = month_of_purchases(month)
            sales[month.year] = sales.get(month.year, 0) + int(purchases["subtotal"].sum())
            ledger.import_transactions(purchases, idempotency_key=f"purchases-{month}")
            end = month.to_timestamp(how="end").floor("s")
            # some members holding 5,000+ spendable points turn most of them into vouchers
            lots = ledger.lots()
            spendable = lots[(lots["available_at"] <= end) & (lots["expires_at"] > end)]
            held = spendable.groupby("member_id")["remaining"].sum()
            for member, points in held[held >= 5_000].items():
                if RNG.random() < 0.15:
                    voucher = int(points * 0.6) // 1_000 * 1_000
                    ledger.redeem(member, voucher, at=end, idempotency_key=f"v-{member}-{month}")
            ledger.expire_due(end)

        # a customer returns half of a purchase: points are clawed back proportionally
        ledger.earn(
            PurchaseEvent(
                "M007",
                pd.Timestamp("2025-12-20 10:00").to_pydatetime(),
                Decimal(8_000),
                transaction_id="R-1",
            ),
            idempotency_key="R-1",
        )
        refund = ledger.refund("R-1", Decimal(4_000), at="2025-12-22", idempotency_key="R-1-ret")
        balance = ledger.balance("M007", at="2025-12-31")
        print(
            f"refund of half of R-1 clawed back {-refund.points} points; M007 now holds "
            f"{balance.available:,} available + {balance.pending:,} pending points"
        )

        flow = points_flow(ledger, freq="Q")
        print("\nPoints flow per quarter")
        print(flow[["earned", "redeemed", "expired", "clawed_back", "outstanding"]].to_string())
        print(
            f"\nredemption rate {redemption_rate(ledger):.1%}, "
            f"breakage (settled points) {breakage_rate(ledger.entries()):.1%}"
        )
        print("\nTiers at 2025-12-31")
        print(tier_report(ledger, at="2025-12-31").to_string(float_format="{:,.0f}".format))

        # IFRS 15 at the 2024 year end: 1,000 points = a 10-yen voucher, so a point's
        # stand-alone selling price is 0.01 yen times the share expected to be redeemed
        entries = ledger.entries()
        year = entries[entries["at"].dt.year == 2024]
        issued = int(year.loc[year["kind"] == "earn", "points"].sum())
        redeemed = -int(year.loc[year["kind"] == "redeem", "points"].sum())
        expected = issued * 85 // 100  # management's estimate: 15% breakage
        allocation = allocate_transaction_price(
            sales[2024], Decimal(expected) * Decimal("0.01"), decimals=0
        )
        schedule = points_revenue_schedule(allocation.points, [redeemed], [expected], decimals=0)
        outstanding = issued - redeemed
        liability = points_liability(
            ledger,
            "2024-12-31 23:59:59",
            value_per_point=allocation.points / expected,
            breakage=1 - Decimal(expected - redeemed) / outstanding,
            decimals=0,
        )
        print(
            f"\nIFRS 15, year 2024: sales ¥{sales[2024]:,}, {issued:,} points issued, "
            f"{expected:,} expected to be redeemed"
        )
        print(f"  allocated to points ¥{allocation.points:,}, to goods ¥{allocation.product:,}")
        print(
            f"  revenue on points redeemed ¥{schedule['revenue'].iloc[0]:,}; "
            f"contract liability ¥{schedule['contract_liability'].iloc[0]:,} "
            f"(from the ledger: ¥{liability.liability:,} on "
            f"{liability.outstanding_points:,} points)"
        )
        store.close()


if __name__ == "__main__":
    main()
