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
    print(f"\nBG/NBD purchase model (time unit: {model.time_unit}):")
    print(model.summary_.round(3).to_string())
    forecast = summary.assign(
        expected_purchases_39w=model.expected_purchases(39),
        p_alive=model.probability_alive(),
    )
    print("\nTop 10 customers by expected purchases in the next 39 weeks:")
    print(forecast.nlargest(10, "expected_purchases_39w").round(2).to_string())

    # Value: spend model + CLV. The horizon is in the model's unit (weeks); the
    # discount rate is stated per year and converted to weeks inside.
    spend_model = GammaGammaModel().fit(summary)
    forecast["clv_12m"] = customer_lifetime_value(
        model, spend_model, summary, horizon=52, discount_rate=0.10, discount_period="year"
    )
    print("\nCLV over the next 12 months (10% a year), top 10 customers:")
    columns = ["frequency", "recency", "T", "monetary_value", "clv_12m"]
    print(forecast.nlargest(10, "clv_12m")[columns].round(2).to_string())
    print(f"Total 12-month value of {len(forecast):,} customers: ${forecast['clv_12m'].sum():,.0f}")

    # Churn risk from Pareto/NBD's P(alive): unlike BG/NBD it does not treat every
    # one-time buyer as certainly alive (see the "Keeping customers" guide).
    risk = churn_risk(ParetoNBDModel().fit(summary))
    levels = risk.groupby(["risk_level", "risk_level_zh"], observed=True).size()
    print("\nChurn risk at the end of the calibration period (Pareto/NBD P(alive)):")
    for (level, zh_label), n in levels.items():
        print(f"  {level:<8} {zh_label:<5} {n:5,d}  {n / len(risk):6.1%}")

    segments = CLASSIC_SEGMENTS.assign(rfm_scores(transactions))
    counts = segments.groupby(["segment", "segment_label"], observed=True).size()
    print("\nRFM segments of the CDNOW customers (CLASSIC_SEGMENTS, quintile scores):")
    for (name, zh_label), n in counts.sort_values(ascending=False).items():
        print(f"  {name:<20} {zh_label:<8} {n:5,d}  {n / len(segments):6.1%}")


if __name__ == "__main__":
    main()
