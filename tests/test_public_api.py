"""The public API is pinned: removing a name from any __all__ must fail this test.

Adding a name is fine (add it here too); removing one needs a deprecation cycle
(one minor release with a DeprecationWarning, see customer_value._deprecation).
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PINNED: dict[str, set[str]] = {
    "customer_value": {
        "BetaGeoBetaBinomModel",
        "BetaGeoModel",
        "CLASSIC_SEGMENTS",
        "ConvergenceError",
        "CustomerValueError",
        "CustomerValueWarning",
        "GammaGammaModel",
        "InvalidDataError",
        "Ledger",
        "MemoryStore",
        "ModifiedBetaGeoModel",
        "NotFittedError",
        "ParetoNBDModel",
        "Program",
        "SQLiteStore",
        "SegmentMap",
        "ShiftedBetaGeoModel",
        "VALUE_TIERS",
        "__version__",
        "calibration_holdout_split",
        "churn",
        "churn_risk",
        "clv",
        "cohort_retention",
        "compare_nps",
        "cronbach_alpha",
        "customer_lifetime_value",
        "data",
        "datasets",
        "errors",
        "kaplan_meier",
        "lifecycle_stage",
        "load_cdnow_summary",
        "load_cdnow_transactions",
        "load_donations",
        "loyalty",
        "net_promoter_score",
        "rfm_scores",
        "segmentation",
        "summarize_transactions",
        "survey",
    },
    "customer_value.clv": {
        "BetaGeoBetaBinomModel",
        "BetaGeoModel",
        "GammaGammaModel",
        "ModifiedBetaGeoModel",
        "ParetoNBDModel",
        "ShiftedBetaGeoModel",
        "SpendCorrelation",
        "UNITS_PER_YEAR",
        "cohort_from_survivors",
        "continuous_discount_rate",
        "customer_lifetime_value",
        "frequency_spend_correlation",
        "units_per_year",
    },
    "customer_value.data": {
        "calibration_holdout_split",
        "load_cdnow_summary",
        "load_cdnow_transactions",
        "load_donations",
        "summarize_transactions",
    },
    "customer_value.datasets": {
        "load_cdnow_summary",
        "load_cdnow_transactions",
        "load_donations",
    },
    "customer_value.errors": {
        "ConvergenceError",
        "CustomerValueError",
        "CustomerValueWarning",
        "IdempotencyConflictError",
        "InsufficientPointsError",
        "InvalidDataError",
        "InvalidProgramError",
        "NotFittedError",
        "StoreError",
    },
    "customer_value.churn": {
        "RISK_LABELS_ZH",
        "STAGES",
        "AliveModel",
        "ChurnEvaluation",
        "ContactPlan",
        "SpendModel",
        "average_order_value",
        "cac_payback_periods",
        "cap_contacts",
        "churn_rate",
        "churn_risk",
        "cohort_retention",
        "evaluate_churn",
        "kaplan_meier",
        "kpi_table",
        "lifecycle_stage",
        "ltv_cac_ratio",
        "playbook",
        "purchase_frequency",
        "recency_risk",
        "referral_share",
        "repeat_purchase_rate",
        "retention_rate",
    },
    "customer_value.loyalty": {
        "Balance",
        "FLOW_COLUMNS",
        "ImportSummary",
        "Ledger",
        "LedgerReceipt",
        "MemoryStore",
        "PostgresStore",
        "SQLiteStore",
        "Store",
        "StoreTransaction",
        "accounting",
        "points_flow",
        "redemption_rate",
        "tier_report",
        "BirthdayBonus",
        "CategoryMultiplier",
        "EarnRule",
        "EligibleAmount",
        "ExpiryPolicy",
        "FirstPurchaseBonus",
        "MemberState",
        "POINTS_COLUMNS",
        "PointsResult",
        "Program",
        "Promotion",
        "PurchaseEvent",
        "ReferralBonus",
        "ReturnPolicy",
        "Tier",
        "TierPolicy",
        "TierStatus",
        "advance_state",
        "available_at",
        "clawback_points",
        "evaluate_tier",
        "evaluate_tiers",
        "expiry_date",
        "expiry_dates",
        "points_for_event",
        "points_for_transactions",
    },
    "customer_value.loyalty.accounting": {
        "PointsLiability",
        "PriceAllocation",
        "allocate_transaction_price",
        "breakage_rate",
        "points_liability",
        "points_revenue_schedule",
    },
    "customer_value.loyalty.stores": {
        "ENTRY_KINDS",
        "BalanceParts",
        "EntryRow",
        "LotRow",
        "MemoryStore",
        "PostgresStore",
        "SQLiteStore",
        "Store",
        "StoreTransaction",
    },
    "customer_value.plotting": {
        "MissingExtraError",
        "plot_calibration_purchases_vs_holdout_purchases",
        "plot_churn_lift",
        "plot_cohort_retention",
        "plot_cumulative_transactions",
        "plot_frequency_recency_matrix",
        "plot_kaplan_meier",
        "plot_period_transactions",
        "plot_probability_alive_matrix",
        "plot_kano_better_worse",
        "plot_nps_distribution",
        "plot_points_flow",
        "plot_segment_sizes",
        "plot_survival_curve",
        "plot_tier_report",
        "plot_value_loyalty_matrix",
    },
    "customer_value.segmentation": {
        "CLASSIC_SEGMENTS",
        "ClusterSegmenter",
        "Interval",
        "OPERATORS",
        "QUADRANTS",
        "RuleSegmenter",
        "Segment",
        "SegmentMap",
        "SegmentMapReport",
        "VALUE_TIERS",
        "behavioural_features",
        "bin_segments",
        "rfm_scores",
        "segment_profile",
        "value_loyalty_matrix",
    },
    "customer_value.survey": {
        "AlphaResult",
        "CESResult",
        "CSATResult",
        "KANO_TABLE",
        "NPSComparison",
        "NPSResult",
        "ces",
        "compare_nps",
        "cronbach_alpha",
        "csat",
        "importance_performance",
        "item_analysis",
        "kano_category",
        "kano_summary",
        "key_driver_analysis",
        "net_promoter_score",
        "nps_by",
        "reverse_code",
        "scale_scores",
    },
}


@pytest.mark.parametrize("module_name", sorted(PINNED))
def test_pinned_names_are_exported(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    missing = PINNED[module_name] - exported
    assert not missing, f"{module_name}.__all__ lost {sorted(missing)}"
    for name in exported:
        assert hasattr(module, name), f"{module_name}.__all__ lists {name!r}, which is missing"


@pytest.mark.parametrize("module_name", sorted(PINNED))
def test_public_callables_are_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{module_name}.{name} has no docstring"
        if not (inspect.isclass(obj) and issubclass(obj, BaseException)):
            assert "Examples" in doc, f"{module_name}.{name} has no Examples section"


def test_top_level_errors_are_value_errors() -> None:
    from customer_value import errors

    for name in PINNED["customer_value.errors"] - {"CustomerValueWarning"}:
        assert issubclass(getattr(errors, name), ValueError)
