"""customer_value: customer analytics you can trust.

Segments (RFM, rules, clusters), lifetime value (BTYD models), churn risk, loyalty
ledgers and survey scores, typed and tested against published reference values.
"""

from customer_value import (
    churn,
    clv,
    data,
    datasets,
    errors,
    experiment,
    loyalty,
    recommend,
    segmentation,
    survey,
)
from customer_value._version import __version__
from customer_value.churn import churn_risk, cohort_retention, kaplan_meier, lifecycle_stage
from customer_value.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    customer_lifetime_value,
)
from customer_value.data import calibration_holdout_split, summarize_transactions
from customer_value.datasets import load_cdnow_summary, load_cdnow_transactions, load_donations
from customer_value.errors import (
    ConvergenceError,
    CustomerValueError,
    CustomerValueWarning,
    InvalidDataError,
    NotFittedError,
)
from customer_value.loyalty import Ledger, MemoryStore, Program, SQLiteStore
from customer_value.segmentation import CLASSIC_SEGMENTS, VALUE_TIERS, SegmentMap, rfm_scores
from customer_value.survey import compare_nps, cronbach_alpha, net_promoter_score

__all__ = [
    "CLASSIC_SEGMENTS",
    "VALUE_TIERS",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
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
    "experiment",
    "kaplan_meier",
    "lifecycle_stage",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "loyalty",
    "net_promoter_score",
    "recommend",
    "rfm_scores",
    "segmentation",
    "summarize_transactions",
    "survey",
]
