"""``nps_by`` inside an engine: per-group category counts aggregated in place, then scored.

Only one row per (group, category) reaches the driver; the scores are computed from those
counts by the same code as the pandas path (``_nps_table.group_table``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._engine import (
    collect_small,
    raise_first_bad,
    require_engine_columns,
    to_narwhals,
)
from customer_value.errors import InvalidDataError
from customer_value.survey._nps_table import group_table

__all__ = ["nps_by_engine"]


def nps_by_engine(
    data: Any,
    rating_col: str,
    group_col: str,
    *,
    weights_col: str | None,
    conf: float,
) -> pd.DataFrame:
    """The engine path of ``nps_by`` (options already validated)."""
    import narwhals as nw

    columns = [rating_col, group_col] + ([weights_col] if weights_col is not None else [])
    require_engine_columns(data, columns, what="data")
    frame = to_narwhals(data).select(columns)
    dtype = frame.collect_schema()[rating_col]
    if not dtype.is_numeric():
        raise InvalidDataError(
            f"data: {rating_col!r} must hold numeric answers on the scale [0, 10], found {dtype}"
        )
    rating = nw.col(rating_col).cast(nw.Float64)
    present = ~(rating.is_null() | rating.is_nan())
    problems = [
        (present & ((rating < 0) | (rating > 10)), f"{rating_col!r} must lie on the scale [0, 10]"),
        (present & (rating != rating.round(0)), f"{rating_col!r} must hold whole-number answers"),
        (nw.col(group_col).is_null(), f"column {group_col!r} must not be missing"),
    ]
    also: dict[str, Any] = {}
    if weights_col is not None:
        w = nw.col(weights_col).cast(nw.Float64)
        bad = w.is_null() | w.is_nan() | (w < 0) | (w.abs() == float("inf"))
        problems.append((bad, "weights must be finite and >= 0"))
        also["positive"] = (w > 0).cast(nw.Int64).sum()
    # one pass of the engine counts every check (and the positive weights)
    found = raise_first_bad(frame, problems, columns, what="data", also=also)
    if weights_col is not None and not found.get("positive"):
        raise InvalidDataError("weights: all weights are zero")

    category = (
        nw.when(~present)
        .then(nw.lit(3))
        .otherwise((rating >= 7).cast(nw.Int64) + (rating >= 9).cast(nw.Int64))
        .alias("_cat")
    )
    aggs = [nw.len().alias("_n")]
    frame = frame.with_columns(category)
    if weights_col is not None:  # elementary aggregations only (Dask, pandas group-by)
        w = nw.col(weights_col).cast(nw.Float64)
        frame = frame.with_columns(_w=w, _w2=w * w)
        aggs += [nw.col("_w").sum(), nw.col("_w2").sum()]
    table = collect_small(frame.group_by(group_col, "_cat").agg(*aggs))  # <= 4 rows per group
    wide = table.pivot_table(
        index=group_col, columns="_cat", values=[c for c in ("_n", "_w", "_w2") if c in table],
        aggfunc="sum", fill_value=0,
    ).sort_index()  # fmt: skip
    groups = wide.index
    if pd.api.types.is_string_dtype(groups.dtype):
        groups = pd.Index(np.asarray(groups, dtype=object))  # as the pandas path labels them

    def part(name: str, cat: int) -> Any:
        key = (name, cat)
        return wide[key].to_numpy(dtype=np.float64) if key in wide else np.zeros(len(groups))

    counts = np.column_stack([part("_n", c) for c in range(4)])
    n_valid = counts[:, :3].sum(axis=1)
    if weights_col is None:
        weighted = counts[:, :3]
        n_eff = n_valid
    else:
        weighted = np.column_stack([part("_w", c) for c in range(3)])
        squares = sum(part("_w2", c) for c in range(3))
        total = weighted.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(squares > 0, total * total / np.where(squares > 0, squares, 1), 0)
    return group_table(
        pd.Index(groups, name=group_col),
        weighted,
        n_valid=n_valid,
        n_missing=counts[:, 3],
        n_effective=n_eff,
        confidence=conf,
        stacklevel=3,
    )
