"""Bundled public datasets: CDNOW transactions and summary, donations (BG/BB).

See :mod:`customer_value.data` for provenance.
"""

from customer_value.data._datasets import (
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
)

__all__ = ["load_cdnow_summary", "load_cdnow_transactions", "load_donations"]
