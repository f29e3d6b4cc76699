"""Compress a customer summary to its sufficient statistics, inside the engine it lives in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from customer_value._engine import (
    check_supported,
    frame_kind,
    require_engine_columns,
    to_narwhals,
)
from customer_value._validation import as_frame
from customer_value.errors import InvalidDataError

__all__ = ["sufficient_statistics"]


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
    cols = list(columns)
    if not cols:
        raise InvalidDataError("columns must name at least one column")
    if count_col in cols:
        raise InvalidDataError(f"count_col={count_col!r} is also one of columns {cols!r}")
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
