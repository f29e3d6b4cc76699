"""Valuing customers: spend, CLV with explicit discounting, DERT, sBG retention, BG/BB.

Run with ``python examples/valuing.py`` (bundled data, a few seconds).
"""

from __future__ import annotations

import math

import pandas as pd

from customer_value.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    cohort_from_survivors,
    continuous_discount_rate,
    customer_lifetime_value,
    frequency_spend_correlation,
)
from customer_value.datasets import load_cdnow_summary, load_donations


def main() -> None:
    pd.set_option("display.width", 100)
    summary = load_cdnow_summary()  # weekly: summary.attrs["time_unit"] == "W"

    # 1. Spend model (customers with at least one repeat purchase).
    spend = GammaGammaModel().fit(summary)
    print("Gamma-Gamma spend model\n", spend.summary_.round(3), "\n")
    corr = frequency_spend_correlation(summary)
    print(f"frequency-spend correlation: {corr.correlation:.2f} (n={corr.n})")
    print(f"population mean spend: ${spend.population_mean_spend():.2f}\n")

    # 2. CLV: one year = 52 weeks of the weekly model, 10% a year, weekly cash flows,
    #    30% margin. The rate is converted to weeks inside: (1.10) ** (t / 52).
    bg = BetaGeoModel().fit(summary)
    clv = customer_lifetime_value(
        bg, spend, summary, horizon=52, discount_rate=0.10, discount_period="year", margin=0.3
    )
    print(f"one-year CLV (30% margin, 10%/year): total ${clv.sum():,.0f}")
    print("top 5 customers by value:")
    print(clv.sort_values(ascending=False).head(5).round(2).to_string(), "\n")

    # 3. DERT: Pareto/NBD closed form with delta = ln(1.15) / 52 per week.
    pareto = ParetoNBDModel().fit(summary)
    delta = continuous_discount_rate(0.15, pareto.time_unit_)
    dert = pareto.expected_discounted_transactions(discount_rate=delta)
    residual = 0.3 * spend.expected_spend() * dert
    print(f"delta = ln(1.15)/52 = {delta:.6f} per week ({math.log(1.15) / 52:.6f})")
    print(f"mean DERT {dert.mean():.2f}; residual margin value ${residual.sum():,.0f}\n")

    # 4. Contractual: sBG on Fader & Hardie's (2007) "regular" cohort.
    survivors = [1000, 631, 468, 382, 326, 289, 262, 241]
    sbg = ShiftedBetaGeoModel().fit(cohort_from_survivors(survivors))
    print("sBG (regular):", sbg.params_.round(3).to_dict())
    table = pd.DataFrame(
        {
            "survival %": (100 * sbg.survival(range(1, 13))).round(1),
            "retention %": (100 * sbg.retention_rate(range(1, 13))).round(1),
        }
    )
    print(table.T.to_string(), "\n")
    derl = sbg.discounted_expected_residual_lifetime(
        {"duration": [1, 7], "churned": [False, False]}, discount_rate=0.10
    )
    print("DERL at 10% (after 1 and 7 renewals):", derl.round(2).tolist(), "\n")

    # 5. Discrete opportunities: BG/BB on the donations data.
    bgbb = BetaGeoBetaBinomModel().fit(load_donations())
    print("BG/BB:", bgbb.params_.round(3).to_dict())
    new = bgbb.expected_purchases_new_customer([1, 5, 10])
    print("expected donations of a new donor in 1, 5, 10 years:", new.round(2).tolist())


if __name__ == "__main__":
    main()
