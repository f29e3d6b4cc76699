"""Recommending products and planning campaigns.

Association rules from baskets, an item-to-item recommender with popularity fallbacks,
holdout evaluation next to the popularity baseline, and ``campaign_plan``, which turns
stages, segments, values and recommendations into a capped contact plan.
"""

from customer_value.recommend._campaign import OFFERS, PLAN_COLUMNS, campaign_plan
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
    "OFFERS",
    "PLAN_COLUMNS",
    "RECOMMENDATION_COLUMNS",
    "RULE_COLUMNS",
    "ItemItemRecommender",
    "PopularityRecommender",
    "association_rules",
    "campaign_plan",
    "evaluate_recommender",
    "frequent_itemsets",
    "ranking_metrics",
    "time_split",
]
