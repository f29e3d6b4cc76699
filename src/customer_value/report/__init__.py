"""A customer-base report on one self-contained HTML page ([report] extra: Jinja2, matplotlib).

``customer_report`` turns a transaction table (plus, optionally, survey answers and a
loyalty ledger) into the page; ``analyze_customers`` computes what it shows (the
cleaned data, the chosen purchase model, per-customer scores) for reuse, for example by
the ``customer-value`` command line.
"""

from customer_value.report._analysis import (
    CustomerAnalysis,
    DataNote,
    analyze_customers,
    choose_model,
    clean_transactions,
    holdout_error,
)
from customer_value.report._report import SECTIONS, customer_report

__all__ = [
    "SECTIONS",
    "CustomerAnalysis",
    "DataNote",
    "analyze_customers",
    "choose_model",
    "clean_transactions",
    "customer_report",
    "holdout_error",
]
