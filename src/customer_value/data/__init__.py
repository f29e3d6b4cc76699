"""Data layer: transaction logs to customer summaries and sufficient statistics.

The bundled datasets and the basket generator live in :mod:`customer_value.datasets`;
``customer_value.data.load_*``, ``make_basket_transactions`` and ``CATEGORIES`` are
deprecated aliases kept for one minor release.
"""

from __future__ import annotations

from typing import Any

from customer_value._deprecation import warn_deprecated
from customer_value.data._sufficient import collect_sufficient_statistics, sufficient_statistics
from customer_value.data._summary import calibration_holdout_split, summarize_transactions

__all__ = [
    "calibration_holdout_split",
    "collect_sufficient_statistics",
    "sufficient_statistics",
    "summarize_transactions",
]

_MOVED = (
    "CATEGORIES",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "make_basket_transactions",
)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warn_deprecated(
            f"customer_value.data.{name}",
            since="0.1",
            removal="0.2",
            instead=f"customer_value.datasets.{name}",
        )
        from customer_value import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'customer_value.data' has no attribute {name!r}")
