"""The five-minute tour: one question per subpackage, each answered in a few lines.

Run with ``python examples/tour.py`` (bundled data, a few seconds). The docs page
"A five-minute tour" walks through this script.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.churn import churn_risk, lifecycle_stage
from customer_value.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from customer_value.data import summarize_transactions
from customer_value.datasets import load_cdnow_transactions
from customer_value.loyalty import Program, points_for_transactions
from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores
from customer_value.survey import compare_nps, net_promoter_score


def main() -> None:
    pd.set_option("display.width", 110)

    # 1. Who are my customers? One row per customer, times in weeks.
    transactions = load_cdnow_transactions()
    summary = summarize_transactions(
        transactions, monetary_value_col="amount", observation_end="1998-06-30", time_unit="W"
    )
    print(f"1. {len(summary):,} customers; {summary['frequency'].gt(0).mean():.0%} came back")

    # 2. How many purchases will each make next quarter (13 weeks)?
    model = BetaGeoModel().fit(summary)
    summary["next_13w"] = model.expected_purchases(13)
    params = ", ".join(f"{name}={value:.3f}" for name, value in model.params_.items())
    print(f"2. BG/NBD {params}; {summary['next_13w'].sum():,.0f} purchases in the next 13 weeks")

    # 3. What are they worth? 12 months, 10% a year (converted to weeks inside). The
    #    amounts are revenue and margin defaults to 1, so this is discounted revenue.
    spend = GammaGammaModel().fit(summary)
    summary["clv_12m"] = customer_lifetime_value(
        model, spend, summary, horizon=52, discount_rate=0.10, discount_period="year"
    )
    top_share = summary["clv_12m"].nlargest(len(summary) // 10).sum() / summary["clv_12m"].sum()
    total = summary["clv_12m"].sum()
    print(f"3. 12-month revenue (margin 1) ${total:,.0f}; top 10% hold {top_share:.0%}")

    # 4. Which segment is each customer in (English id + Chinese label)?
    segments = CLASSIC_SEGMENTS.assign(rfm_scores(transactions))
    counts = segments.groupby(["segment", "segment_label"], observed=True).size()
    largest = counts.sort_values(ascending=False).head(3)
    print("4. largest RFM segments:", ", ".join(f"{s} {z} {n}" for (s, z), n in largest.items()))

    # 5. Who is slipping away, and what is at stake over the next year? Pareto/NBD's
    #    P(alive), because BG/NBD counts every one-time buyer as certainly alive.
    pareto = ParetoNBDModel().fit(summary)
    risk = churn_risk(pareto, summary, spend_model=spend, horizon=52)
    at_risk = risk["risk_level"] == "high"
    print(
        f"5. {at_risk.sum():,} customers at high churn risk, "
        f"${risk.loc[at_risk, 'value_at_risk'].sum():,.0f} value at risk; stages:",
        lifecycle_stage(summary, model=pareto)["stage"].value_counts().to_dict(),
    )

    # 6. How do we reward them? 1 point per $1, double points on CDs.
    program = Program.from_dict(
        {
            "name": "CD club",
            "currency": "USD",
            "currency_decimals": 2,
            "base_rate": "1",
            "rounding": "floor",
            "earn_rules": [{"type": "category", "category": "cd", "multiplier": "2"}],
        }
    )
    purchases = transactions.head(1000).assign(
        member_id=lambda d: d["customer_id"],
        timestamp=lambda d: d["date"],
        subtotal=lambda d: d["amount"].round(2),
        category=np.where(np.arange(1000) % 2 == 0, "cd", "other"),
    )
    points = points_for_transactions(program, purchases)
    print(f"6. {points['points'].sum():,} points earned on {len(purchases):,} purchases")

    # 7. What do they tell us? NPS of two survey waves, and is the change real?
    rng = np.random.default_rng(1)
    wave_1 = rng.choice(11, size=400, p=[0.03] * 7 + [0.12, 0.14, 0.26, 0.27])
    wave_2 = rng.choice(11, size=400, p=[0.02] * 7 + [0.12, 0.14, 0.30, 0.30])
    first = net_promoter_score(wave_1)
    change = compare_nps(wave_1, wave_2)
    print(
        f"7. NPS {first.score:.1f} (95% CI {first.ci_low:.1f} to {first.ci_high:.1f}); "
        f"change {change.difference:+.1f} points, p = {change.p_value:.3f}"
    )


if __name__ == "__main__":
    main()
