"""Compress a customer summary to its sufficient statistics, inside the engine it lives in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from customer_value._engine import (
    check_supported,
    collect_pandas,
    frame_kind,
    require_engine_columns,
    to_narwhals,
)
from customer_value._validation import as_frame
from customer_value.errors import InvalidDataError

__all__ = ["collect_sufficient_statistics", "sufficient_statistics"]

PURCHASES_AND_SPEND = (("frequency", "recency", "T"), ("frequency", "monetary_value"))
"""The tables of a BG/NBD-type model and of the Gamma-Gamma model."""
_INTEGRAL = {"tinyint": "int8", "smallint": "int16", "int": "int32", "bigint": "int64"}


def sufficient_statistics(
    summary: Any,
    *,
    columns: Sequence[str] = ("frequency", "recency", "T"),
    count_col: str = "n_customers",
) -> Any:
    """Distinct rows of a customer summary with the number of customers in each.

    The likelihoods of the BTYD models depend on a customer only through
    ``(frequency, recency, T)``, so the distinct rows with a count are sufficient
    statistics: fitting on them with ``weights=count_col`` gives the same parameters
    as fitting on every customer. On a Polars, DuckDB, Spark or Dask frame the grouping
    runs inside the engine and only the compressed table needs to reach the driver
    (``model.fit`` collects it).

    Parameters
    ----------
    summary : DataFrame, mapping or engine frame
        One row per customer (pandas, Polars eager or lazy, DuckDB relation, Spark or
        Dask DataFrame), for example from :func:`summarize_transactions`.
    columns : sequence of str, default ("frequency", "recency", "T")
        The columns the model's likelihood uses (``("frequency", "monetary_value")``
        for the Gamma-Gamma model, ``("frequency", "recency", "n_periods")`` for BG/BB).
    count_col : str, default "n_customers"
        Name of the count column; pass it to ``fit(..., weights=count_col)``.

    Returns
    -------
    DataFrame or engine frame of the same kind
        ``columns`` and ``count_col`` (int64), one row per distinct combination; lazy
        inputs stay lazy. A pandas result is sorted by ``columns`` and keeps
        ``attrs["time_unit"]``.

    Raises
    ------
    InvalidDataError
        A missing column, ``count_col`` clashing with a column, or an unsupported frame
        type (the message lists the supported ones).

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.data import sufficient_statistics
    >>> from customer_value.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> stats = sufficient_statistics(summary)
    >>> len(summary), len(stats), int(stats["n_customers"].sum())
    (2357, 1016, 2357)
    >>> BetaGeoModel().fit(stats, weights="n_customers")
    BetaGeoModel(r=0.2426, alpha=4.414, a=0.7929, b=2.426, n=2357, time_unit='W')
    """
    check_supported(summary, what="summary")
    cols = _checked(columns, count_col)
    import narwhals as nw

    if frame_kind(summary) == "pandas" or frame_kind(summary) is None:
        frame = as_frame(summary, what="summary")
        require_engine_columns(frame, cols, what="summary")
        out = (
            nw.from_native(frame.loc[:, cols].reset_index(drop=True))
            .group_by(cols)
            .agg(nw.len().alias(count_col))
            .with_columns(nw.col(count_col).cast(nw.Int64))
            .sort(cols)
            .to_native()
        )
        result = pd.DataFrame(out).reset_index(drop=True)
        result.attrs.update(frame.attrs)
        return result
    require_engine_columns(summary, cols, what="summary")
    grouped = (
        to_narwhals(summary)
        .select(cols)
        .group_by(cols)
        .agg(nw.len().alias(count_col))
        .with_columns(nw.col(count_col).cast(nw.Int64))
    )
    return grouped.to_native()


def _checked(columns: Sequence[str], count_col: str) -> list[str]:
    cols = list(columns)
    if not cols:
        raise InvalidDataError("columns must name at least one column")
    if count_col in cols:
        raise InvalidDataError(f"count_col={count_col!r} is also one of columns {cols!r}")
    return cols


def collect_sufficient_statistics(
    summary: Any,
    *,
    tables: Sequence[Sequence[str]] = PURCHASES_AND_SPEND,
    count_col: str = "n_customers",
) -> list[pd.DataFrame]:
    """Several tables of sufficient statistics of one summary, brought to the driver together.

    Each table is :func:`sufficient_statistics` of ``summary`` for one set of columns,
    as pandas. On Spark all of them come from one job (one ``GROUP BY GROUPING SETS``
    aggregation on Spark 4) instead of one job per table; the other engines compute
    them one after the other.

    Parameters
    ----------
    summary : DataFrame, mapping or engine frame
        One row per customer (pandas, Polars eager or lazy, DuckDB relation, Spark or
        Dask DataFrame), for example from :func:`summarize_transactions`.
    tables : sequence of sequences of str, default the BG/NBD and Gamma-Gamma tables
        The columns of each table: by default ``("frequency", "recency", "T")`` for the
        frequency models and ``("frequency", "monetary_value")`` for the Gamma-Gamma
        model (whose fit ignores the row of the customers with ``frequency == 0``).
    count_col : str, default "n_customers"
        Name of the count column; pass it to ``fit(..., weights=count_col)``.

    Returns
    -------
    list of DataFrame
        One pandas table per entry of ``tables``: its columns and ``count_col``
        (int64), one row per distinct combination, sorted by the columns.

    Raises
    ------
    InvalidDataError
        A missing column, ``count_col`` clashing with a column, no table, or an
        unsupported frame type (the message lists the supported ones).

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel, GammaGammaModel
    >>> from customer_value.data import collect_sufficient_statistics
    >>> from customer_value.datasets import load_cdnow_summary
    >>> stats, spend = collect_sufficient_statistics(load_cdnow_summary())
    >>> len(stats), len(spend), int(spend["n_customers"].sum())
    (1016, 754, 2357)
    >>> BetaGeoModel().fit(stats, weights="n_customers")
    BetaGeoModel(r=0.2426, alpha=4.414, a=0.7929, b=2.426, n=2357, time_unit='W')
    >>> GammaGammaModel().fit(spend, weights="n_customers")
    GammaGammaModel(p=6.249, q=3.745, v=15.45, n=946, time_unit='W')
    """
    check_supported(summary, what="summary")
    sets = [_checked(columns, count_col) for columns in tables]
    if not sets:
        raise InvalidDataError("tables must name at least one set of columns")
    if frame_kind(summary) != "spark":
        return [
            _tidy(
                collect_pandas(sufficient_statistics(summary, columns=c, count_col=count_col)),
                c,
                count_col,
            )
            for c in sets
        ]
    return _spark_tables(to_narwhals(summary).to_native(), sets, count_col)


def _tidy(table: pd.DataFrame, columns: list[str], count_col: str) -> pd.DataFrame:
    """A table sorted by ``columns`` with a default index and int64 counts."""
    out = table.loc[:, [*columns, count_col]].sort_values(columns, kind="stable")
    out = out.astype({count_col: "int64"}).reset_index(drop=True)
    out.attrs.update(table.attrs)
    return out


def _spark_tables(native: Any, sets: list[list[str]], count_col: str) -> list[pd.DataFrame]:
    """All tables in one Spark job, told apart by their grouping id.

    Spark 4 runs one ``GROUP BY GROUPING SETS`` aggregation (one scan of the summary);
    Spark 3.5, which has no ``groupingSets`` in its DataFrame API, a union of group-bys.
    The DataFrame API keeps the summary's cache: a SQL query on a temporary view would
    drop it with the view.
    """
    from functools import reduce

    from pyspark.sql import functions as sf

    every = list(dict.fromkeys(c for columns in sets for c in columns))
    require_engine_columns(native, every, what="summary")
    distinct = list(dict.fromkeys(tuple(columns) for columns in sets))

    def code(columns: Sequence[str]) -> int:  # GROUPING_ID: bit n-1-j for column j left out
        return sum(1 << (len(every) - 1 - j) for j, c in enumerate(every) if c not in columns)

    tag = "__grouping_set"
    count = sf.count(sf.lit(1)).alias(count_col)
    if hasattr(native, "groupingSets"):
        grouped = native.groupingSets([list(c) for c in distinct], *every).agg(
            count, sf.grouping_id(*every).alias(tag)
        )
    else:  # Spark 3.5 (the tests take this path too, hiding groupingSets)
        parts = [
            native.groupBy(*c).agg(count).withColumn(tag, sf.lit(code(c)).cast("long"))
            for c in distinct
        ]
        grouped = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), parts)
    local = grouped.toPandas()
    types = dict(native.select(*every).dtypes)
    tables = []
    for columns in sets:
        part = local.loc[local[tag] == code(columns)]
        part = part.astype({c: _INTEGRAL[types[c]] for c in columns if types[c] in _INTEGRAL})
        tables.append(_tidy(part, columns, count_col))
    return tables
