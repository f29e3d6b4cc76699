"""customer_value: customer analytics you can trust.

Segments (RFM, rules, clusters), lifetime value (BTYD models), churn risk, loyalty
ledgers and survey scores, typed and tested against published reference values.
"""

from customer_value._version import __version__
from customer_value.data import (
    calibration_holdout_split,
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
    summarize_transactions,
)
from customer_value.errors import (
    ConvergenceError,
    CustomerValueError,
    CustomerValueWarning,
    InvalidDataError,
    NotFittedError,
)

__all__ = [
    "ConvergenceError",
    "CustomerValueError",
    "CustomerValueWarning",
    "InvalidDataError",
    "NotFittedError",
    "__version__",
    "calibration_holdout_split",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "summarize_transactions",
]
