"""Plots for fitted models and result tables ([plot] extra; matplotlib imported lazily).

Every function takes fitted objects or result frames, accepts ``ax=`` and returns the
matplotlib ``Axes``.
"""

from customer_value.errors import MissingExtraError
from customer_value.plotting._campaign import plot_rule_lift, plot_uplift_by_segment
from customer_value.plotting._churn import plot_churn_lift, plot_cohort_retention, plot_kaplan_meier
from customer_value.plotting._clv import (
    plot_calibration_purchases_vs_holdout_purchases,
    plot_cumulative_transactions,
    plot_frequency_recency_matrix,
    plot_period_transactions,
    plot_probability_alive_matrix,
)
from customer_value.plotting._loyalty import plot_points_flow, plot_tier_report
from customer_value.plotting._segmentation import plot_segment_sizes, plot_value_loyalty_matrix
from customer_value.plotting._survey import plot_kano_better_worse, plot_nps_distribution
from customer_value.plotting._value import plot_survival_curve, plot_value_concentration

__all__ = [
    "MissingExtraError",
    "plot_calibration_purchases_vs_holdout_purchases",
    "plot_churn_lift",
    "plot_cohort_retention",
    "plot_cumulative_transactions",
    "plot_frequency_recency_matrix",
    "plot_kano_better_worse",
    "plot_kaplan_meier",
    "plot_nps_distribution",
    "plot_period_transactions",
    "plot_points_flow",
    "plot_probability_alive_matrix",
    "plot_rule_lift",
    "plot_segment_sizes",
    "plot_survival_curve",
    "plot_tier_report",
    "plot_uplift_by_segment",
    "plot_value_concentration",
    "plot_value_loyalty_matrix",
]
