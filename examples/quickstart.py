"""Quickstart: CDNOW end to end - summary, purchase forecasts, value, churn risk, segments.

Run with ``make demo``. Later sections add forecasts, values and segments.
"""

from __future__ import annotations

import pandas as pd

from customer_value.churn import churn_risk
from customer_value.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from customer_value.data import summarize_transactions
from customer_value.datasets import load_cdnow_transactions
from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores


def main() -> None:
    pd.set_option("display.width", 120)
    transactions = load_cdnow_transactions()
    print(
        f"CDNOW sample: {len(transactions):,} transactions by "
        f"{transactions['customer_id'].nunique():,} customers, "
        f"{transactions['date'].min():%Y-%m-%d} to {transactions['date'].max():%Y-%m-%d}"
    )
    summary = summarize_transactions(
        transactions,
        monetary_value_col="amount",
        observation_end="1997-09-30",
        time_unit="W",
        after_end="drop",
    )
    print("\nCustomer summary over the 39-week calibration period (times in weeks):")
    print(summary.head(8).round(2).to_string())
    repeaters = (summary["frequency"] > 0).mean()
    print(f"\n{repeaters:.1%} of customers bought again within the period.")

    model = BetaGeoModel().fit(summary)
    print(f"\nBG/NBD purchase model (time unit: {model.time_unit_}):")
    print(model.summary_.round(3).to_string())
    forecast = summary.assign(
        expected_purchases_39w=model.expected_purchases(39),
        p_alive=model.probability_alive(),
    )
    print("\nTop 10 customers by expected purchases in the next 39 weeks:")
    print(forecast.nlargest(10, "expected_purchases_39w").round(2).to_string())

    # Value: spend model + CLV. The horizon is in the model's unit (weeks); the
    # discount rate is stated per year and converted to weeks inside. CDNOW amounts are
    # revenue and we know no margin, so margin=1.0: the result is discounted *revenue*,
    # not profit (pass your gross margin, e.g. margin=0.3, to value customers).
    spend_model = GammaGammaModel().fit(summary)
    forecast["revenue_12m"] = customer_lifetime_value(
        model,
        spend_model,
        summary,
        horizon=52,
        discount_rate=0.10,
        discount_period="year",
        margin=1.0,
    )
    print("\nExpected revenue over the next 12 months (discounted at 10% a year; margin=1.0,")
    print("so this is revenue, not profit), top 10 customers:")
    columns = ["frequency", "recency", "T", "monetary_value", "revenue_12m"]
    print(forecast.nlargest(10, "revenue_12m")[columns].round(2).to_string())
    total = forecast["revenue_12m"].sum()
    print(f"Total expected 12-month revenue of {len(forecast):,} customers: ${total:,.0f}")

    # Churn risk from Pareto/NBD's P(alive): unlike BG/NBD it does not treat every
    # one-time buyer as certainly alive (see the "Keeping customers" guide).
    risk = churn_risk(ParetoNBDModel().fit(summary))
    levels = risk.groupby(["risk_level", "risk_level_zh"], observed=True).size()
    print("\nChurn risk at the end of the calibration period (Pareto/NBD P(alive)):")
    # Chinese labels go last: they are two columns wide on screen, so padding them by
    # character count would break the alignment of the columns after them.
    for (level, zh_label), n in levels.items():
        print(f"  {level:<8} {n:5,d}  {n / len(risk):6.1%}  {zh_label}")

    # RFM on the same calibration period as everything above (to 1997-09-30), not on the
    # whole 18 months: recency is measured at the end of that period.
    segments = CLASSIC_SEGMENTS.assign(rfm_scores(transactions, observation_end="1997-09-30"))
    counts = segments.groupby(["segment", "segment_label"], observed=True).size()
    print(
        "\nRFM segments at the end of the calibration period (CLASSIC_SEGMENTS, quintile "
        "scores,\ntransactions to 1997-09-30):"
    )
    for (name, zh_label), n in counts.sort_values(ascending=False).items():
        print(f"  {name:<20} {n:5,d}  {n / len(segments):6.1%}  {zh_label}")


if __name__ == "__main__":
    main()
