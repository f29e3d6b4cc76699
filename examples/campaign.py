"""Planning a campaign and measuring it, on the generated basket data.

Part 1 builds a contact plan: lifecycle stage, CLV, value segment, price sensitivity
and item-item recommendations -> campaign_plan (capped with cap_contacts).
Part 2 measures a campaign: salted, stratified hold-out assignment, then simulated
outcomes with a known true uplift (stated below) -> uplift by segment, revenue,
power and incremental value. The numbers are quoted in docs/user_guide/planning.rst
and docs/user_guide/measuring.rst.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.churn import lifecycle_stage
from customer_value.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value
from customer_value.data import summarize_transactions
from customer_value.datasets import make_basket_transactions
from customer_value.experiment import (
    assign_groups,
    compare_means,
    incremental_value,
    mde_proportions,
    sample_size_proportions,
    uplift_by_segment,
)
from customer_value.recommend import ItemItemRecommender, campaign_plan
from customer_value.segmentation import behavioural_features

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 12)
pd.set_option("display.max_colwidth", 40)

# ---------------------------------------------------------------- 1. plan
tx = make_basket_transactions(n_customers=2000, seed=0)
orders = tx.groupby(["customer_id", "order_id"], as_index=False).agg(
    date=("date", "first"), amount=("amount", "sum")
)
summary = summarize_transactions(orders, monetary_value_col="amount", time_unit="W")
bgnbd = BetaGeoModel().fit(summary[["frequency", "recency", "T"]])
repeat = summary[summary["frequency"] > 0]
spend = GammaGammaModel().fit(repeat[["frequency", "monetary_value"]])
clv = customer_lifetime_value(bgnbd, spend, summary, horizon=52, discount_rate=0.10)
stages = lifecycle_stage(summary)
features = behavioural_features(tx, discount_col="discount")

customers = pd.DataFrame({"stage": stages["stage"].astype(str), "expected_value": clv})
customers["discount_share"] = features["discount_share"].reindex(customers.index)
top_fifth = customers["expected_value"] >= customers["expected_value"].quantile(0.8)
customers["segment"] = np.where(
    top_fifth, "high_value",
    np.where(customers["stage"] == "win_back", "churn_risk",
             np.where(customers["stage"].isin(["acquire", "nurture"]), "potential", None)),
)  # fmt: skip
print("customers by stage and value segment:")
print(pd.crosstab(customers["stage"], customers["segment"].fillna("-")))

model = ItemItemRecommender().fit(tx)
recs = model.recommend(customers.index, n=3)
existing = pd.DataFrame(
    {
        "customer_id": customers.index[:300].repeat(2),
        "timestamp": ["2025-01-08", "2025-01-20"] * 300,
    }
)
plan = campaign_plan(
    customers,
    date="2025-01-15",
    recommendations=recs,
    n_items=3,
    segment_col="segment",
    price_col="discount_share",
    skip_stages=["lost"],
    existing_contacts=existing,
    max_per_period=2,
)
print(f"\nplan: {len(plan.kept)} contacts kept, {len(plan.dropped)} dropped by the cap")
print(plan.kept["offer"].value_counts())
print(plan.kept[["customer_id", "action", "offer_zh", "items", "expected_value"]].head(5).round(2))

# ---------------------------------------------------------------- 2. measure
# The campaign is measured on a simulated roll-out to 40,000 customers whose value
# segments have the shares found above (documented simulation, not real results).
rng = np.random.default_rng(7)
shares = customers["segment"].fillna("other").value_counts(normalize=True).sort_index()
population = pd.Index([f"M{k:05d}" for k in range(40_000)], name="customer_id")
segments = pd.Series(
    rng.choice(shares.index, population.size, p=shares.to_numpy()), index=population
)
groups = assign_groups(population, salt="2025-01-winback", treatment_share=0.8, strata=segments)
print("\ntreated share per segment:")
print(groups.groupby("stratum")["group"].apply(lambda g: round((g == "treatment").mean(), 3)))

# 30-day purchase probability per segment, and a true uplift of +6 points for
# churn_risk, +2 for high_value and 0 for the others.
base = segments.map({"high_value": 0.45, "churn_risk": 0.10, "other": 0.15}).to_numpy()
true_lift = segments.map({"high_value": 0.02, "churn_risk": 0.06, "other": 0.0}).to_numpy()
treated = (groups["group"] == "treatment").to_numpy()
bought = rng.random(population.size) < base + treated * true_lift
revenue = np.where(bought, rng.lognormal(3.3, 0.9, population.size), 0.0)
results = pd.DataFrame(
    {
        "group": groups["group"].to_numpy(),
        "segment": segments.to_numpy(),
        "converted": bought.astype(int),
        "revenue": revenue,
    },
    index=population,
)

table = uplift_by_segment(results, outcome_col="converted")
print("\nconversion uplift by segment:")
print(table.round(4))
print(table.attrs["adjustment"])

spend_result = compare_means(results.loc[treated, "revenue"], results.loc[~treated, "revenue"])
print("\nrevenue per customer:", spend_result)

print(
    "\npower: customers needed for +2 points over 15 %, 80/20 split:",
    sample_size_proportions(0.15, 0.02, ratio=0.25),
)
n_t = int(treated.sum())
print(
    "minimum detectable uplift with this experiment:",
    round(mde_proportions(0.15, n_t, ratio=(~treated).sum() / n_t).effect, 4),
)

overall = table.loc["overall"]
value = incremental_value(
    (overall["uplift"], overall["ci_low"], overall["ci_high"]),
    customers["expected_value"],
    customers=n_t,
)  # mean CLV above
print("mean CLV per customer:", round(float(customers["expected_value"].mean()), 2))
print("\nincremental value of the treated group:", value)
