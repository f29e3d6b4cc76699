"""Keeping customers on the CDNOW data: churn risk, a churn study, retention, lifecycle, caps.

Run: python examples/keeping_customers.py   (about 5 seconds)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.churn import (
    RISK_LABELS_ZH,
    STAGES,
    cap_contacts,
    churn_risk,
    cohort_retention,
    evaluate_churn,
    kaplan_meier,
    kpi_table,
    lifecycle_stage,
    playbook,
    recency_risk,
)
from customer_value.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from customer_value.data import calibration_holdout_split, summarize_transactions
from customer_value.datasets import load_cdnow_transactions

pd.set_option("display.width", 120)
tx = load_cdnow_transactions()

# 1. Calibrate on 39 weeks, watch the next 39: no holdout purchase = churned (proxy).
split = calibration_holdout_split(
    tx,
    calibration_end="1997-09-30",
    observation_end="1998-06-30",
    monetary_value_col="amount",
    time_unit="W",
)
calibration = split[["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]].rename(
    columns=lambda name: name.removesuffix("_cal")
)
calibration.attrs["time_unit"] = "W"
churned = split["frequency_holdout"] == 0
print(f"{len(split):,} customers, {churned.mean():.1%} make no purchase in the 39-week holdout")

# 2. Churn risk and value at risk over the next year from Pareto/NBD + Gamma-Gamma.
frequency_data = calibration[["frequency", "recency", "T"]]
pareto = ParetoNBDModel().fit(frequency_data)
spend = GammaGammaModel().fit(calibration[calibration["frequency"] > 0])
risk = churn_risk(pareto, calibration, spend_model=spend, horizon=52)
by_level = risk.groupby("risk_level", observed=False).agg(
    customers=("p_alive", "size"), value_at_risk=("value_at_risk", "sum")
)
by_level.index = [f"{level} / {label}" for level, label in RISK_LABELS_ZH.items()]
print("\nChurn risk levels (Pareto/NBD + Gamma-Gamma, 52 weeks):")
print(by_level.round(0).to_string())

# 3. The churn study: which score ranks the churners best?
scores = {
    "BG/NBD": churn_risk(BetaGeoModel().fit(frequency_data))["churn_probability"],
    "MBG/NBD": churn_risk(ModifiedBetaGeoModel().fit(frequency_data))["churn_probability"],
    "Pareto/NBD": risk["churn_probability"],
    "Recency rule": recency_risk(frequency_data)["risk_score"],
}
results = {name: evaluate_churn(churned, score) for name, score in scores.items()}
study = pd.DataFrame(
    {
        "AUC": [r.auc for r in results.values()],
        "Brier": [r.brier for r in results.values()],
        "log loss": [r.log_loss for r in results.values()],
        "top-decile lift": [r.lift["lift"].iloc[0] for r in results.values()],
    },
    index=list(results),
)
print("\nCDNOW churn study (holdout churn proxy):")
print(study.round(3).to_string())
print("\nPareto/NBD decile lift and cumulative gain:")
print(results["Pareto/NBD"].lift[["n", "churn_rate", "lift", "cumulative_gain"]].round(3))

# 4. Retention over time: monthly cohorts and a Kaplan-Meier curve.
print("\nCohort retention (share of each monthly cohort buying k months later):")
print(cohort_retention(tx).iloc[:, :7].round(3).to_string())
full = summarize_transactions(tx, observation_end="1998-06-30", time_unit="W")
lapsed = (full["T"] - full["recency"]) > 26  # no purchase in the last 26 weeks: churned
km = kaplan_meier(np.where(lapsed, full["recency"], full["T"]), lapsed)
rows = km.index.searchsorted([0, 13, 26, 52], side="right") - 1  # the step in force
table = km.iloc[rows][["survival", "lower", "upper"]].set_axis([0, 13, 26, 52])
print("\nKaplan-Meier share still active (weeks since first purchase):")
print(table.rename_axis("week").round(3).to_string())

# 5. KPIs per quarter.
kpis = kpi_table(tx, period="Q", active_window=2, monetary_value_col="amount")
print("\nQuarterly KPIs (customer base = bought in the last two quarters):")
columns = ["customers_start", "new_customers", "reactivated", "lost", "customers_end"]
print(kpis[[*columns, "retention_rate", "average_order_value"]].round(3).to_string())

# 6. Lifecycle stages at the end of calibration and what to do about them.
stages = lifecycle_stage(frequency_data, model=pareto)
by_rule = lifecycle_stage(frequency_data)
counts = pd.DataFrame(
    {
        "Pareto/NBD P(alive)": stages["stage"].value_counts(sort=False),
        "recency rule": by_rule["stage"].value_counts(sort=False),
    }
)
counts.index = [f"{stage} / {zh}" for stage, zh in STAGES.items()]
print("\nLifecycle stages at the end of calibration:")
print(counts.to_string())
win_back = playbook("win_back")
print("win_back playbook:", "; ".join(f"{a['en']} / {a['zh']}" for a in win_back["actions"]))

# 7. A campaign plan for October-November 1997, capped at two contacts a month.
rng = np.random.default_rng(0)
ids = stages.index.to_numpy()
targets = ids[stages["stage"].isin(["win_back", "retain"]).to_numpy()]
plan = pd.concat(
    [
        pd.DataFrame(  # weekly newsletter to everybody
            {
                "customer_id": np.repeat(ids, 9),
                "timestamp": np.tile(pd.date_range("1997-10-01", periods=9, freq="7D"), ids.size),
                "channel": "email",
                "priority": 1,
            }
        ),
        pd.DataFrame(  # come-back coupon and a care call for the lapsing / valuable
            {
                "customer_id": np.repeat(targets, 2),
                "timestamp": np.tile(pd.to_datetime(["1997-10-15", "1997-11-11"]), targets.size),
                "channel": np.tile(["coupon", "call"], targets.size),
                "priority": 5,
            }
        ),
    ],
    ignore_index=True,
)
capped = cap_contacts(plan, max_per_period=2, priority_col="priority")
print(f"\nContact plan: {len(plan):,} planned, {capped!r}")
print(capped.report.to_string())
promo = cap_contacts(plan, max_per_period=2, priority_col="priority", exempt_periods=["1997-11"])
print(f"With November as an exempt promotion month: {promo!r}")
