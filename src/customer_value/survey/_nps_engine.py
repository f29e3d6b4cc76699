"""``nps_by`` inside an engine: per-group category counts aggregated in place, then scored.

Only one row per (group, category) reaches the driver; the scores are computed from those
counts with the same formulas as the pandas path (:func:`_nps_arrays`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from customer_value._engine import require_engine_columns, to_narwhals
from customer_value.errors import CustomerValueWarning, InvalidDataError

__all__ = ["nps_by_engine"]


def _collect(frame: Any) -> pd.DataFrame:
    if hasattr(frame, "collect"):
        frame = frame.collect(backend="pandas")
    return pd.DataFrame(frame.to_pandas())


def _raise_example(frame: Any, mask: Any, count: int, columns: list[str], message: str) -> None:
    example = _collect(frame.filter(mask).select(columns).head(1)).iloc[0].to_dict()
    values = ", ".join(f"{c}={v!r}" for c, v in example.items())
    raise InvalidDataError(f"data: {message}; {count} row(s), for example the row with {values}")


def nps_by_engine(
    data: Any,
    rating_col: str,
    group_col: str,
    *,
    weights_col: str | None,
    conf: float,
    arrays: Any,
) -> pd.DataFrame:
    """The engine path of ``nps_by``; ``arrays`` is ``_nps_arrays``."""
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
    checks: dict[str, Any] = {
        "off": (present & ((rating < 0) | (rating > 10))).cast(nw.Int64).sum(),
        "fraction": (present & (rating != rating.round(0))).cast(nw.Int64).sum(),
        "group": nw.col(group_col).is_null().cast(nw.Int64).sum(),
    }
    if weights_col is not None:
        w = nw.col(weights_col).cast(nw.Float64)
        checks["weight"] = w.is_null() | w.is_nan() | (w < 0) | (w.abs() == float("inf"))
        checks["weight"] = checks["weight"].cast(nw.Int64).sum()
        checks["positive"] = (w > 0).cast(nw.Int64).sum()
    found = _collect(frame.select(**checks)).iloc[0].to_dict()
    problems = [
        ("off", present & ((rating < 0) | (rating > 10)), f"{rating_col!r} must lie on the "
         "scale [0, 10]"),
        ("fraction", present & (rating != rating.round(0)), f"{rating_col!r} must hold "
         "whole-number answers"),
        ("group", nw.col(group_col).is_null(), f"column {group_col!r} must not be missing"),
    ]  # fmt: skip
    if weights_col is not None:
        w = nw.col(weights_col).cast(nw.Float64)
        bad = w.is_null() | w.is_nan() | (w < 0) | (w.abs() == float("inf"))
        problems.append(("weight", bad, "weights must be finite and >= 0"))
    for key, mask, message in problems:
        if found.get(key):
            _raise_example(frame, mask, int(found[key]), columns, message)
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
    table = _collect(frame.group_by(group_col, "_cat").agg(*aggs))  # <= 4 rows per group
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
    keep = weighted.sum(axis=1) > 0
    if not keep.all():
        dropped = list(groups[~keep][:5])
        warnings.warn(
            f"nps_by: {int((~keep).sum())} group(s) without a valid (or positively weighted) "
            f"rating were left out, e.g. {dropped}",
            CustomerValueWarning,
            stacklevel=3,
        )
    weighted, n_eff = weighted[keep], np.asarray(n_eff, dtype=np.float64)[keep]
    arr = arrays(weighted[:, 0], weighted[:, 1], weighted[:, 2], n_eff, conf)
    out = pd.DataFrame(
        {
            "score": arr["score"],
            "standard_error": arr["standard_error"],
            "ci_low": arr["ci_low"],
            "ci_high": arr["ci_high"],
            "n": n_valid[keep].astype(np.int64),
            "n_missing": counts[keep, 3].astype(np.int64),
            "n_effective": n_eff,
            "detractors": weighted[:, 0],
            "passives": weighted[:, 1],
            "promoters": weighted[:, 2],
            "share_detractors": arr["share_detractors"],
            "share_passives": arr["share_passives"],
            "share_promoters": arr["share_promoters"],
        },
        index=pd.Index(groups[keep], name=group_col),
    )
    out.attrs["confidence"] = conf
    return out
