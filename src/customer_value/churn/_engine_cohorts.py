"""``cohort_retention`` inside an engine, written once with narwhals.

Each customer's first purchase gives its cohort and first period; each transaction its
age in periods. The engine counts, per (cohort, age), the distinct active customers (or
sums the revenue); those few rows, the cohort sizes and the last period reach the driver,
where the pandas path's own assembly builds the matrix. Calendar periods (``"M"``,
``"Q"``, ``"W-MON"``) are numbered in the engine as pandas numbers them (``_engine_time``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from customer_value._engine import (
    collect_small,
    raise_first_bad,
    require_engine_columns,
    to_narwhals,
)
from customer_value._engine_time import add_micros, period_plan
from customer_value.errors import InvalidDataError

__all__ = ["cohort_engine"]


def cohort_engine(
    transactions: Any,
    *,
    cohort: str,
    period: str,
    measure: str,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None,
    assemble: Callable[..., pd.DataFrame],
) -> pd.DataFrame:
    """The engine path of ``cohort_retention``; ``assemble`` is its ``retention_matrix``."""
    import narwhals as nw

    what = "transactions"
    cid = customer_id_col
    amount = monetary_value_col if measure == "revenue" else None
    columns = [cid, datetime_col] + ([amount] if amount is not None else [])
    require_engine_columns(transactions, columns, what=what)
    by_period, by_cohort = period_plan(period, "period"), period_plan(cohort, "cohort")
    frame = to_narwhals(transactions, what=what).select(columns)
    frame = add_micros(frame, datetime_col, what=what, native=transactions)
    problems: list[tuple[Any, str]] = [
        (nw.col(datetime_col).is_null(), f"column {datetime_col!r} is missing"),
        (nw.col(cid).is_null(), f"column {cid!r} must not be missing"),
    ]
    if amount is not None:
        value = nw.col(amount)
        problems.append((value.is_null() | value.is_nan(), f"column {amount!r} must be finite"))
        problems.append((value < 0, f"column {amount!r} must be >= 0"))
    frame = by_period.add_number(frame, "_us", "_p")
    checked = raise_first_bad(frame, problems, columns, what=what, also={"end": nw.col("_p").max()})
    end = checked["end"]
    if end is None:
        raise InvalidDataError(f"{what} is empty: at least one row is needed")

    firsts = frame.group_by(cid).agg(nw.col("_us").min().alias("_fus"))
    firsts = by_period.add_number(firsts, "_fus", "_fp")
    firsts = by_cohort.add_number(firsts, "_fus", "_c").select(cid, "_fp", "_c")
    cohorts = collect_small(
        firsts.group_by("_c").agg(nw.len().alias("size"), nw.col("_fp").max().alias("last"))
    )
    aged = frame.join(firsts, on=cid, how="inner").with_columns(_age=nw.col("_p") - nw.col("_fp"))
    if amount is None:  # distinct customers active at each age
        active = aged.group_by(cid, "_c", "_age").agg(nw.len().alias("_rows"))
        cells = active.group_by("_c", "_age").agg(nw.len().alias("value"))
    else:
        cells = aged.group_by("_c", "_age").agg(nw.col(amount).sum().alias("value"))
    found = collect_small(cells)

    numbers = cohorts["_c"].to_numpy(dtype=np.int64)
    first_cohort = int(numbers.min())
    n_cohorts = int(numbers.max()) - first_cohort + 1
    ages = found["_age"].to_numpy(dtype=np.int64)
    span = int(ages.max()) + 1
    sizes = np.zeros(n_cohorts, dtype=np.int64)
    sizes[numbers - first_cohort] = cohorts["size"].to_numpy(dtype=np.int64)
    last_first = np.full(n_cohorts, np.iinfo(np.int64).min, dtype=np.int64)
    last_first[numbers - first_cohort] = cohorts["last"].to_numpy(dtype=np.int64)
    totals = np.zeros((n_cohorts, span), dtype=np.float64)
    rows = found["_c"].to_numpy(dtype=np.int64) - first_cohort
    totals[rows, ages] = found["value"].to_numpy(dtype=np.float64)
    return assemble(
        totals,
        sizes,
        last_first,
        first_cohort=first_cohort,
        end=int(end),
        measure=measure,
        cohort=cohort,
        period=period,
        monetary_value_col=monetary_value_col,
    )
