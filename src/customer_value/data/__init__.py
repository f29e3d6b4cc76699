"""Data layer: transaction logs to summaries, the bundled datasets, a basket generator."""

from customer_value.data._datasets import (
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
)
from customer_value.data._summary import calibration_holdout_split, summarize_transactions
from customer_value.data._synthetic import CATEGORIES, make_basket_transactions

__all__ = [
    "CATEGORIES",
    "calibration_holdout_split",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "make_basket_transactions",
    "summarize_transactions",
]
