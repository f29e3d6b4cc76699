"""Cohort retention matrices from a transaction log."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from customer_value._engine import is_engine
from customer_value._time import (
    check_period,
    encode_ids,
    parse_datetimes,
    period_index,
    period_numbers,
)
from customer_value._validation import (
    FloatArray,
    IntArray,
    as_frame,
    check_choice,
    check_nonnegative,
    numeric_column,
    require_columns,
    require_present,
)
from customer_value.churn._engine_cohorts import cohort_engine
from customer_value.errors import InvalidDataError

__all__ = ["cohort_retention"]

# Above this many (customer, period) cells a sort replaces the presence bitmap.
_BITMAP_LIMIT = 64_000_000


def _distinct_pairs(codes: IntArray, ages: IntArray, n: int, span: int) -> IntArray:
    """Distinct ``code * span + age`` keys (customer active at an age)."""
    keys = codes * span + ages
    if n * span <= _BITMAP_LIMIT:
        seen = np.zeros(n * span, dtype=np.bool_)
        seen[keys] = True
        return np.flatnonzero(seen)
    return np.unique(keys)


def cohort_retention(
    transactions: Any,
    *,
    cohort: str = "M",
    period: str = "M",
    measure: Literal["customers", "revenue"] = "customers",
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Cohort x period retention matrix: share of customers active, or revenue retained.

    Parameters
    ----------
    transactions : DataFrame, mapping of column name to array, or engine frame
        One row per purchase with a customer id and a timestamp (and an amount for
        ``measure="revenue"``). A Polars (eager or lazy), DuckDB, Spark or Dask frame
        is aggregated inside its engine: only one row per (cohort, age) reaches the
        driver, and the matrix, small by construction, is returned as pandas.
    cohort : str, default "M"
        Pandas period alias grouping customers by the period of their first purchase.
    period : str, default "M"
        Pandas period alias of the columns: periods since the first purchase.
    measure : {"customers", "revenue"}, default "customers"
        ``"customers"``: share of the cohort with a purchase in each period since
        acquisition. ``"revenue"``: the cohort's revenue in each period divided by its
        revenue in period 0.
    customer_id_col, datetime_col : str
        Names of the customer id and timestamp columns.
    monetary_value_col : str, optional
        Name of the amount column; required for ``measure="revenue"``.
    date_format : str, optional
        ``strftime`` format of the dates when they are numbers or strings with a numeric
        day and month; dates are read as in :func:`customer_value.data.summarize_transactions`.

    Returns
    -------
    DataFrame
        Indexed by cohort (a ``PeriodIndex``), one column per number of periods since the
        first purchase (0, 1, 2, ...). Cells that are not yet observable for every member
        of the cohort (beyond the last period of the data) are NaN. ``attrs`` holds
        ``cohort_size`` (customers per cohort, a list in index order), ``measure``,
        ``cohort`` and ``period``.

    Raises
    ------
    InvalidDataError
        Unknown period aliases, a bad ``measure``, missing columns, missing or unparsable
        dates or ids, missing, negative or non-finite amounts for revenue, or a cohort
        with no revenue in period 0.

    Notes
    -----
    A customer's age in a transaction is ``p(t) - p(t_first)`` with ``p`` the ordinal
    of the ``period`` containing the date. For ``measure="customers"`` cell ``(c, k)`` is

    .. math:: R_{c,k} = \\frac{|\\{i \\in c: i \\text{ buys at age } k\\}|}{|c|},

    so column 0 is 1 by construction. For revenue, ``R_{c,k} = V_{c,k} / V_{c,0}`` with
    ``V_{c,k}`` the cohort's revenue at age ``k``; it can exceed 1 (expansion).
    Age ``k`` of a cohort is observable when the cohort's latest first purchase plus
    ``k`` periods is within the data. Read retention per cohort and age rather than
    pooled: a cohort's retention rises with age partly because the customers most
    likely to leave leave first (heterogeneity, Fader & Hardie 2010).

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual
    setting: The perils of ignoring heterogeneity. *Marketing Science* 29(1), 85-93.

    Examples
    --------
    >>> from customer_value.churn import cohort_retention
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> matrix = cohort_retention(load_cdnow_transactions(), cohort="M", period="M")
    >>> matrix.shape
    (3, 18)
    >>> matrix.iloc[0, :4].round(3).tolist()
    [1.0, 0.159, 0.122, 0.09]
    >>> matrix.attrs["cohort_size"]
    [781, 857, 719]
    """
    what = "transactions"
    check_period(cohort, "cohort")
    check_period(period, "period")
    check_choice(measure, "measure", ("customers", "revenue"))
    if measure == "revenue" and monetary_value_col is None:
        raise InvalidDataError(
            "measure='revenue' needs monetary_value_col= naming the amount column"
        )
    if is_engine(transactions):
        return cohort_engine(
            transactions,
            cohort=cohort,
            period=period,
            measure=measure,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
            monetary_value_col=monetary_value_col,
            assemble=retention_matrix,
        )
    frame = as_frame(transactions, what=what)
    columns = [customer_id_col, datetime_col]
    if monetary_value_col is not None and measure == "revenue":
        columns.append(monetary_value_col)
    require_columns(frame, columns, what=what)
    ns = parse_datetimes(
        frame[datetime_col], datetime_col, index=frame.index, what=what, date_format=date_format
    )
    require_present(frame[customer_id_col], customer_id_col, index=frame.index, what=what)
    codes, ids = encode_ids(frame[customer_id_col], sort=False)
    n = len(ids)

    periods = period_numbers(ns, period)
    first_ns = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_ns, codes, ns)
    first_period = period_numbers(first_ns, period)
    cohort_number = period_numbers(first_ns, cohort)
    ages = periods - first_period[codes]
    span = int(ages.max()) + 1
    c0 = int(cohort_number.min())
    cohort_code = cohort_number - c0
    n_cohorts = int(cohort_code.max()) + 1
    sizes = np.bincount(cohort_code, minlength=n_cohorts)

    if measure == "customers":
        pairs = _distinct_pairs(codes, ages, n, span)
        cells = cohort_code[pairs // span] * span + pairs % span
        totals: FloatArray = np.bincount(cells, minlength=n_cohorts * span).astype(np.float64)
    else:
        amount_col = str(monetary_value_col)
        amounts = numeric_column(frame, amount_col, what=what)
        check_nonnegative(amounts, amount_col, index=frame.index, what=what)
        cells = cohort_code[codes] * span + ages
        revenue = np.bincount(cells, weights=amounts, minlength=n_cohorts * span)
        totals = np.asarray(revenue, dtype=np.float64)
    last_first = np.full(n_cohorts, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_first, cohort_code, first_period)
    return retention_matrix(
        totals.reshape(n_cohorts, span),
        sizes,
        last_first,
        first_cohort=c0,
        end=int(periods.max()),
        measure=measure,
        cohort=cohort,
        period=period,
        monetary_value_col=monetary_value_col,
    )


def retention_matrix(
    totals: FloatArray,
    sizes: IntArray,
    last_first: IntArray,
    *,
    first_cohort: int,
    end: int,
    measure: str,
    cohort: str,
    period: str,
    monetary_value_col: str | None,
) -> pd.DataFrame:
    """The matrix from per (cohort, age) totals: active customers or revenue.

    Row ``i`` is cohort number ``first_cohort + i`` with ``sizes[i]`` customers whose
    latest first purchase is in period ``last_first[i]``; ``end`` is the last period of
    the data. Shared by the pandas and the engine paths.
    """
    what = "transactions"
    span = totals.shape[1]
    if measure == "customers":
        values = totals / np.maximum(sizes, 1)[:, None]
    else:
        base = totals[:, 0]
        empty = (base <= 0) & (sizes > 0)
        if empty.any():
            first = np.array([first_cohort + int(np.flatnonzero(empty)[0])])
            label = period_index(first, cohort)[0]
            raise InvalidDataError(
                f"{what}: cohort {str(label)!r} has no revenue in its first period "
                f"(column {monetary_value_col!r} sums to 0), so revenue retention is undefined"
            )
        values = totals / np.where(base > 0, base, 1.0)[:, None]
    # observable: latest first purchase of the cohort + age <= last period in the data
    observable = last_first[:, None] + np.arange(span)[None, :] <= end
    values = np.where(observable, values, np.nan)
    present = sizes > 0
    result = pd.DataFrame(
        values[present],
        index=period_index(np.flatnonzero(present) + first_cohort, cohort).rename("cohort"),
        columns=pd.RangeIndex(span, name="periods_since_first"),
    )
    result.attrs.update(
        {
            "cohort_size": [int(v) for v in sizes[present]],
            "measure": measure,
            "cohort": cohort,
            "period": period,
        }
    )
    return result
