"""Bundled public datasets (CDNOW transactions and summary, donations) and a basket generator.

See :mod:`customer_value.data` for provenance.
"""

from customer_value.data._datasets import (
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
)
from customer_value.data._synthetic import CATEGORIES, make_basket_transactions

__all__ = [
    "CATEGORIES",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "make_basket_transactions",
]
