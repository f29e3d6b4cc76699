"""Data layer: transaction logs to customer summaries, and the bundled datasets."""

from customer_value.data._datasets import (
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
)
from customer_value.data._summary import calibration_holdout_split, summarize_transactions

__all__ = [
    "calibration_holdout_split",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "summarize_transactions",
]
