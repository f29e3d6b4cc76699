"""Shared input checks.

Validate once, at the boundary: each helper converts, checks, and returns clean
numpy arrays, or raises :class:`~customer_value.errors.InvalidDataError` whose
message names the column, the first offending row (position and index label)
and its value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from customer_value.errors import InvalidDataError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def plain(value: Any) -> Any:
    """``value`` as a plain Python object, so messages read ``11.0`` not ``np.float64(11.0)``."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def describe_row(index: pd.Index[Any] | Sequence[Any] | None, position: int) -> str:
    """Return ``"row 17 (label 'C042')"`` for the row at ``position``."""
    if index is None:
        return f"row {position}"
    label = index[position]
    if isinstance(label, (int, np.integer)) and label == position:
        return f"row {position}"
    return f"row {position} (label {plain(label)!r})"


def first_bad(mask: npt.NDArray[np.bool_]) -> int | None:
    """Position of the first ``True`` in ``mask``, or ``None``."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def as_frame(data: Any, *, what: str = "data") -> pd.DataFrame:
    """Accept a DataFrame or a mapping of column name to array; return a DataFrame.

    Raises
    ------
    InvalidDataError
        When ``data`` is neither, or is empty.
    """
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, Mapping):
        try:
            frame = pd.DataFrame(dict(data))
        except ValueError as exc:
            raise InvalidDataError(
                f"{what}: could not build a table from the mapping: {exc}"
            ) from exc
    else:
        raise InvalidDataError(
            f"{what} must be a pandas DataFrame or a mapping of column name to array, "
            f"got {type(data).__name__}"
        )
    if len(frame) == 0:
        raise InvalidDataError(f"{what} is empty: at least one row is needed")
    if frame.columns.has_duplicates:
        repeated = frame.columns[frame.columns.duplicated()][0]
        where = ", ".join(str(i) for i in np.flatnonzero(frame.columns == repeated))
        raise InvalidDataError(
            f"{what}: column names must be unique, but {plain(repeated)!r} names the "
            f"columns at positions {where}; rename or drop all but one"
        )
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str = "data") -> None:
    """Raise if any of ``columns`` is missing from ``frame``, naming all of them."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(repr(str(c)) for c in list(frame.columns)[:20])
        raise InvalidDataError(
            f"{what} is missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"it has: {have or 'no columns'}"
        )


def numeric_column(
    frame: pd.DataFrame,
    column: str,
    *,
    allow_nan: bool = False,
    what: str = "data",
) -> FloatArray:
    """Column ``column`` as a float64 array; non-numeric values or NaN raise.

    The error names the first offending row and its value.
    """
    series = frame[column]
    return numeric_array(
        series.to_numpy(), column, index=frame.index, allow_nan=allow_nan, what=what
    )


def numeric_array(
    values: Any,
    name: str,
    *,
    index: pd.Index[Any] | None = None,
    allow_nan: bool = False,
    what: str = "data",
) -> FloatArray:
    """Convert ``values`` to a 1-d float64 array, or raise naming the first bad entry."""
    raw = np.asarray(values)
    if raw.ndim != 1:
        raw = raw.reshape(-1)
    if raw.dtype.kind in "biuf":
        out = raw.astype(np.float64, copy=False)
    elif raw.dtype.kind == "O" or raw.dtype.kind in "USV":
        coerced = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(coerced) & ~pd.isna(pd.Series(raw)).to_numpy()
        pos = first_bad(bad)
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column {name!r} must be numeric; {describe_row(index, pos)} "
                f"has {name}={plain(raw[pos])!r}"
            )
        out = coerced
    elif raw.dtype.kind == "m":
        raise InvalidDataError(
            f"{what}: column {name!r} must be numeric, found durations ({raw.dtype}); state "
            f"the unit by converting them, for example {name} / pd.Timedelta(days=1)"
        )
    elif raw.dtype.kind == "M":
        raise InvalidDataError(
            f"{what}: column {name!r} must be numeric, found dates ({raw.dtype}); compute "
            "elapsed times first, for example (end - start) / pd.Timedelta(days=1)"
        )
    else:
        raise InvalidDataError(f"{what}: column {name!r} must be numeric, found dtype {raw.dtype}")
    if not allow_nan:
        pos = first_bad(~np.isfinite(out))
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column {name!r} must be finite (no NaN or inf); "
                f"{describe_row(index, pos)} has {name}={plain(out[pos])!r}"
            )
    return out


def require_present(
    values: Any, column: str, *, index: pd.Index[Any] | None = None, what: str = "data"
) -> None:
    """Raise naming the first row where ``values`` is missing (None, NaN, NaT, pd.NA)."""
    series = (
        values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    )
    pos = first_bad(series.isna().to_numpy())
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column {column!r} must not be missing; {describe_row(index, pos)} has "
            f"{column}={plain(series.iloc[pos])!r}"
        )


def money_column(
    frame: pd.DataFrame,
    column: str,
    *,
    allow_negative: bool = False,
    negative_hint: str = "",
    what: str = "data",
) -> FloatArray:
    """An amount column as float64: numeric, finite, >= 0 (unless allowed), summable.

    Amounts whose absolute total overflows float64 (values near 1e308) are refused, so
    every per-customer or per-period sum and mean computed from them stays finite.
    """
    amounts = numeric_column(frame, column, what=what)
    if not allow_negative:
        pos = first_bad(amounts < 0)
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column {column!r} must be >= 0{negative_hint}; "
                f"{describe_row(frame.index, pos)} has {column}={plain(amounts[pos])!r}"
            )
    with np.errstate(over="ignore"):
        if not np.isfinite(np.sum(np.abs(amounts))):
            pos = first_bad(~np.isfinite(np.cumsum(np.abs(amounts)))) or 0
            raise InvalidDataError(
                f"{what}: column {column!r} is too large to add up in float64 (the total "
                f"of its absolute values passes {np.finfo(np.float64).max:.3g}); the "
                f"running total overflows at {describe_row(frame.index, pos)}, which has "
                f"{column}={plain(amounts[pos])!r}"
            )
    return amounts


def check_nonnegative(
    values: FloatArray, name: str, *, index: pd.Index[Any] | None = None, what: str = "data"
) -> None:
    """Raise if any value is negative."""
    pos = first_bad(values < 0)
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column {name!r} must be >= 0; {describe_row(index, pos)} has "
            f"{name}={plain(values[pos])!r}"
        )


def check_positive(
    values: FloatArray, name: str, *, index: pd.Index[Any] | None = None, what: str = "data"
) -> None:
    """Raise if any value is zero or negative."""
    pos = first_bad(values <= 0)
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column {name!r} must be > 0; {describe_row(index, pos)} has "
            f"{name}={plain(values[pos])!r}"
        )


def check_integer(
    values: FloatArray, name: str, *, index: pd.Index[Any] | None = None, what: str = "data"
) -> None:
    """Raise if any value is not a whole number."""
    pos = first_bad(values != np.round(values))
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column {name!r} must hold whole numbers; {describe_row(index, pos)} has "
            f"{name}={plain(values[pos])!r}"
        )


def check_in_range(
    values: FloatArray,
    name: str,
    low: float,
    high: float,
    *,
    index: pd.Index[Any] | None = None,
    what: str = "data",
) -> None:
    """Raise if any value lies outside ``[low, high]``."""
    pos = first_bad((values < low) | (values > high))
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column {name!r} must lie in [{low:g}, {high:g}]; "
            f"{describe_row(index, pos)} has {name}={plain(values[pos])!r}"
        )


def check_not_greater(
    left: FloatArray,
    right: FloatArray,
    left_name: str,
    right_name: str,
    *,
    index: pd.Index[Any] | None = None,
    what: str = "data",
) -> None:
    """Raise if ``left > right`` in any row (for example recency > T)."""
    pos = first_bad(left > right)
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column {left_name!r} must not exceed {right_name!r}; "
            f"{describe_row(index, pos)} has {left_name}={plain(left[pos])!r}, "
            f"{right_name}={plain(right[pos])!r}"
        )


def check_weights(
    weights: Any, n: int, *, index: pd.Index[Any] | None = None, what: str = "weights"
) -> FloatArray:
    """Validate optional case weights: finite, non-negative, length ``n``, not all zero."""
    w = numeric_array(weights, "weights", index=index, what=what)
    if w.shape[0] != n:
        raise InvalidDataError(f"{what}: expected {n} weights (one per row), got {w.shape[0]}")
    check_nonnegative(w, "weights", index=index, what=what)
    if not np.any(w > 0):
        raise InvalidDataError(f"{what}: all weights are zero")
    return w


def check_scalar(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Validate a finite scalar option within optional bounds and return it as float."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidDataError(f"{name} must be a number, got {plain(value)!r}") from None
    if not np.isfinite(x):
        raise InvalidDataError(f"{name} must be finite, got {plain(value)!r}")
    if low is not None and (x < low or (x == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise InvalidDataError(f"{name} must be {op} {low:g}, got {plain(value)!r}")
    if high is not None and (x > high or (x == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise InvalidDataError(f"{name} must be {op} {high:g}, got {plain(value)!r}")
    return x


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InvalidDataError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {plain(value)!r}"
        )
    return value


def index_of(values: Any) -> pd.Index[Any] | None:
    """The index of a pandas object (used to name bad rows), else None."""
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return values.index
    return None


def scale_answers(
    values: Any,
    name: str,
    low: float,
    high: float,
    *,
    index: pd.Index[Any] | None = None,
    integer: bool = True,
    what: str = "ratings",
) -> FloatArray:
    """Answers as float64 with NaN kept; non-numeric, off-scale or fractional answers raise.

    The error names the first offending row (position and index label) and its value.
    """
    raw = np.asarray(values)
    if raw.ndim > 1:
        raise InvalidDataError(
            f"{what}: {name!r} must be one-dimensional (one answer per respondent), got an "
            f"array of shape {raw.shape}"
        )
    if raw.dtype.kind == "b":
        pos = 0 if raw.size else None
        shown = f"; {describe_row(index, 0)} has {name}={bool(raw[0])!r}" if pos is not None else ""
        raise InvalidDataError(
            f"{what}: {name!r} must hold numeric answers on the scale [{low:g}, {high:g}], "
            f"not True/False{shown}"
        )
    if raw.dtype.kind in "USV":  # object dtype so that messages show 'x', not np.str_('x')
        raw = raw.astype(object)
    out = numeric_array(raw, name, index=index, allow_nan=True, what=what)
    present = ~np.isnan(out)
    with np.errstate(invalid="ignore"):
        off = present & ((out < low) | (out > high))
    pos = first_bad(off)
    if pos is not None:
        raise InvalidDataError(
            f"{what}: {name!r} must lie on the scale [{low:g}, {high:g}]; "
            f"{describe_row(index, pos)} has {name}={float(out[pos])!r}"
        )
    if integer:
        pos = first_bad(present & (out != np.round(out)))
        if pos is not None:
            raise InvalidDataError(
                f"{what}: {name!r} must hold whole-number answers; "
                f"{describe_row(index, pos)} has {name}={float(out[pos])!r}"
            )
    return out


def z_critical(confidence: float) -> float:
    """Two-sided standard normal critical value: ``Φ⁻¹(0.5 + confidence / 2)`` (1.96 at 0.95)."""
    from scipy import special  # deferred: keeps the ledger's import light (issue 20)

    return float(special.ndtri(0.5 + confidence / 2.0))
