"""customer_value: customer analytics you can trust.

Segments (RFM, rules, clusters), lifetime value (BTYD models), churn risk, loyalty
ledgers and survey scores, typed and tested against published reference values.

Subpackages and the names re-exported here are imported on first use (PEP 562), so
``import customer_value.loyalty`` or ``import customer_value`` does not pay for the
lifetime-value models, ``scipy.stats`` or the plotting back end.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from customer_value._version import __version__
from customer_value.errors import (
    ConvergenceError,
    CustomerValueError,
    CustomerValueWarning,
    InvalidDataError,
    NotFittedError,
)

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time these load lazily
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
    from customer_value.loyalty import Ledger, MemoryStore, Program, SQLiteStore
    from customer_value.segmentation import CLASSIC_SEGMENTS, VALUE_TIERS, SegmentMap, rfm_scores
    from customer_value.survey import compare_nps, cronbach_alpha, net_promoter_score

#: Subpackages importable as attributes (``customer_value.clv``) without an import.
_SUBPACKAGES = frozenset(
    {
        "churn",
        "clv",
        "data",
        "datasets",
        "errors",
        "experiment",
        "loyalty",
        "recommend",
        "segmentation",
        "survey",
    }
)

#: Re-exported name -> the public subpackage that owns it.
_LAZY_NAMES: dict[str, str] = {
    "churn_risk": "churn",
    "cohort_retention": "churn",
    "kaplan_meier": "churn",
    "lifecycle_stage": "churn",
    "BetaGeoBetaBinomModel": "clv",
    "BetaGeoModel": "clv",
    "GammaGammaModel": "clv",
    "ModifiedBetaGeoModel": "clv",
    "ParetoNBDModel": "clv",
    "ShiftedBetaGeoModel": "clv",
    "customer_lifetime_value": "clv",
    "calibration_holdout_split": "data",
    "load_cdnow_summary": "datasets",
    "load_cdnow_transactions": "datasets",
    "load_donations": "datasets",
    "summarize_transactions": "data",
    "Ledger": "loyalty",
    "MemoryStore": "loyalty",
    "Program": "loyalty",
    "SQLiteStore": "loyalty",
    "CLASSIC_SEGMENTS": "segmentation",
    "VALUE_TIERS": "segmentation",
    "SegmentMap": "segmentation",
    "rfm_scores": "segmentation",
    "compare_nps": "survey",
    "cronbach_alpha": "survey",
    "net_promoter_score": "survey",
}

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


if not TYPE_CHECKING:  # hidden from type checkers so that a misspelt name stays an error

    def __getattr__(name: str) -> Any:
        """Import a subpackage or a re-exported name on first access (PEP 562)."""
        if name in _SUBPACKAGES:
            return importlib.import_module(f"{__name__}.{name}")
        owner = _LAZY_NAMES.get(name)
        if owner is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{owner}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value


def __dir__() -> list[str]:
    """Every public name, loaded or not, so ``dir()`` and tab completion see them all."""
    return sorted(set(globals()) | set(__all__))
