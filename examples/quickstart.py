"""Quickstart: from the CDNOW transaction log to a customer summary.

Run with ``make demo``. Later sections add forecasts, values and segments.
"""

from __future__ import annotations

import pandas as pd

from customer_value.data import summarize_transactions
from customer_value.datasets import load_cdnow_transactions


def main() -> None:
    pd.set_option("display.width", 120)
    transactions = load_cdnow_transactions()
    print(
        f"CDNOW sample: {len(transactions):,} transactions by "
        f"{transactions['customer_id'].nunique():,} customers, "
        f"{transactions['date'].min():%Y-%m-%d} to {transactions['date'].max():%Y-%m-%d}"
    )
    summary = summarize_transactions(
        transactions,
        monetary_value_col="amount",
        observation_end="1997-09-30",
        time_unit="W",
        after_end="drop",
    )
    print("\nCustomer summary over the 39-week calibration period (times in weeks):")
    print(summary.head(8).round(2).to_string())
    repeaters = (summary["frequency"] > 0).mean()
    print(f"\n{repeaters:.1%} of customers bought again within the period.")


if __name__ == "__main__":
    main()
