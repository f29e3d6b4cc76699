"""Recommending products: association rules, an item-to-item recommender, evaluation."""

from customer_value.recommend._evaluation import (
    METRIC_COLUMNS,
    evaluate_recommender,
    ranking_metrics,
    time_split,
)
from customer_value.recommend._itemitem import RECOMMENDATION_COLUMNS, ItemItemRecommender
from customer_value.recommend._popularity import PopularityRecommender
from customer_value.recommend._rules import RULE_COLUMNS, association_rules, frequent_itemsets

__all__ = [
    "METRIC_COLUMNS",
    "RECOMMENDATION_COLUMNS",
    "RULE_COLUMNS",
    "ItemItemRecommender",
    "PopularityRecommender",
    "association_rules",
    "evaluate_recommender",
    "frequent_itemsets",
    "ranking_metrics",
    "time_split",
]
