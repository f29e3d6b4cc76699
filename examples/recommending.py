"""Recommending products: rules, item-item recommendations and a holdout evaluation.

Runs on the generated basket data (customer_value.datasets.make_basket_transactions);
the numbers printed here are those quoted in docs/user_guide/recommending.rst.
"""

from __future__ import annotations

import pandas as pd

from customer_value.datasets import make_basket_transactions
from customer_value.recommend import (
    ItemItemRecommender,
    association_rules,
    evaluate_recommender,
    time_split,
)

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)

tx = make_basket_transactions(n_customers=2000, seed=0)
print(
    f"{len(tx):,} order lines, {tx['order_id'].nunique():,} orders, "
    f"{tx['customer_id'].nunique():,} customers, {tx['item'].nunique()} items"
)

rules = association_rules(tx, min_support=0.005, min_confidence=0.3, max_len=3)
print(f"\n{len(rules)} rules; the five with the highest lift:")
print(rules.head(5)[["antecedents", "consequents", "support", "confidence", "lift"]].round(3))

train, holdout = time_split(tx, cutoff="2024-10-01")
model = ItemItemRecommender(similarity="cosine", n_neighbours=20)
table = evaluate_recommender(model, train, holdout, k=10)
print("\nholdout from 2024-10-01, k = 10:")
print(table.round(3))

print("\nrecommendations for one customer, with the reasons:")
print(model.explain(["C00007"], n=5)[["item", "score", "because", "because_share"]].round(3))

print("\ncategories for the same customer:")
cat_model = ItemItemRecommender().fit(train, category_col="category")
print(cat_model.recommend_categories(["C00007"], n=3).round(3))
