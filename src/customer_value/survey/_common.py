"""Checks shared by the survey modules: option tuples and item tables.

Answers on a scale (``scale_answers``) and ``index_of`` live in :mod:`customer_value._validation`,
where the plots use them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import (
    FloatArray,
    as_frame,
    check_scalar,
    describe_row,
    first_bad,
    numeric_array,
    require_columns,
)
from customer_value.errors import InvalidDataError


def check_confidence(confidence: Any) -> float:
    """A confidence level strictly between 0 and 1."""
    return check_scalar(
        confidence, "confidence", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )


def check_scale(scale: Any, name: str = "scale") -> tuple[float, float]:
    """A ``(low, high)`` pair of finite numbers with ``low < high``."""
    try:
        low_raw, high_raw = scale
    except (TypeError, ValueError):
        raise InvalidDataError(f"{name} must be a (low, high) pair, got {scale!r}") from None
    low = check_scalar(low_raw, f"{name}[0]")
    high = check_scalar(high_raw, f"{name}[1]")
    if not low < high:
        raise InvalidDataError(f"{name} must satisfy low < high, got {scale!r}")
    return low, high


def pow2_scale(values: Any, axis: int | None = None) -> Any:
    """The largest power of two not above ``max |values|`` (ignoring NaN); 1 for 0 or NaN.

    Dividing by a power of two is exact in floating point, so statistics that are invariant
    to a common scale (alpha, correlations, shares, Kish's effective n) can be computed on
    ``values / pow2_scale(values)``, whose entries lie in (-2, 2): their squares and sums
    neither overflow for huge inputs (1e200) nor underflow to zero for tiny ones (1e-200).
    """
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    if magnitude.size == 0:
        return 1.0
    biggest = np.max(np.where(np.isnan(magnitude), 0.0, magnitude), axis=axis)
    ok = np.isfinite(biggest) & (biggest > 0)
    return np.exp2(np.floor(np.log2(np.where(ok, biggest, 1.0))))


def item_matrix(
    data: Any, items: Sequence[str] | None, *, what: str
) -> tuple[FloatArray, list[str], pd.Index[Any]]:
    """Respondents x items as a float64 matrix (NaN = no answer) with the item names."""
    frame = as_frame(data, what=what)
    if items is None:
        names = [str(c) for c in frame.columns]
        columns: list[Any] = list(frame.columns)
    else:
        if isinstance(items, str):
            raise InvalidDataError(f"{what}: items must be a list of column names, got {items!r}")
        columns = list(items)
        require_columns(frame, columns, what=what)
        names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        raise InvalidDataError(f"{what}: item names must be unique, got {names}")
    matrix = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        raw = frame[column].to_numpy()
        if raw.dtype.kind in "USV":
            raw = raw.astype(object)
        matrix[:, j] = numeric_array(raw, names[j], index=frame.index, allow_nan=True, what=what)
        pos = first_bad(np.isinf(matrix[:, j]))
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column {names[j]!r} must be finite; "
                f"{describe_row(frame.index, pos)} has {names[j]}={float(matrix[pos, j])!r}"
            )
    return matrix, names, frame.index


def case_weights(
    weights: Any, n: int, *, index: pd.Index[Any] | None = None, what: str = "weights"
) -> FloatArray:
    """Survey weights: numeric, finite, non-negative, one per row, not all zero."""
    raw = np.asarray(weights)
    if raw.dtype.kind in "USV":
        raw = raw.astype(object)
    w = numeric_array(raw, "weights", index=index, allow_nan=True, what=what)
    if w.shape[0] != n:
        raise InvalidDataError(f"{what}: expected {n} weights (one per row), got {w.shape[0]}")
    pos = first_bad(~np.isfinite(w) | (w < 0))
    if pos is not None:
        raise InvalidDataError(
            f"{what}: weights must be finite and >= 0; {describe_row(index, pos)} has "
            f"weights={float(w[pos])!r}"
        )
    if not np.any(w > 0):
        raise InvalidDataError(f"{what}: all weights are zero")
    return w
