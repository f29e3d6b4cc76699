"""Data layer: transaction logs to customer summaries, and a basket generator.

The bundled datasets live in :mod:`customer_value.datasets`; ``customer_value.data.load_*``
are deprecated aliases kept for one minor release.
"""

from __future__ import annotations

from typing import Any

from customer_value._deprecation import warn_deprecated
from customer_value.data._sufficient import sufficient_statistics
from customer_value.data._summary import calibration_holdout_split, summarize_transactions
from customer_value.data._synthetic import CATEGORIES, make_basket_transactions

__all__ = [
    "CATEGORIES",
    "calibration_holdout_split",
    "make_basket_transactions",
    "sufficient_statistics",
    "summarize_transactions",
]

_MOVED = ("load_cdnow_summary", "load_cdnow_transactions", "load_donations")


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
