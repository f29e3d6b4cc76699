"""Column boundaries of the vectorised engine: money and timestamps as exact int64 arrays.

Validate once, at the boundary, naming the first bad row; the kernels that follow
work on clean integer arrays (minor units, nanoseconds).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from customer_value._time import parse_datetimes, parse_timestamp
from customer_value._validation import describe_row, first_bad
from customer_value.errors import InvalidDataError
from customer_value.loyalty._policies import MAX_MONEY_MINOR

__all__ = ["money_minor", "show", "signed_minor", "timestamp", "timestamp_ns", "timestamps_ns"]

_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)
_MIN_NS = int(pd.Timestamp.min.value)
_MAX_NS = int(pd.Timestamp.max.value)


def timestamp(value: Any, name: str) -> pd.Timestamp:
    """One timestamp argument, read by the library's one parser (:mod:`customer_value._time`).

    A zone-aware value keeps its wall-clock time; numbers and instants outside
    1677-09-21 .. 2262-04-11 are refused with :class:`InvalidDataError`. Values that
    already are instants (``datetime``, ``pandas.Timestamp``) take a fast path with the
    same rules: the single-write paths of the engine and the ledger call this often.
    """
    if isinstance(value, dt.datetime) and not (isinstance(value, pd.Timestamp) and pd.isna(value)):
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        if ts.unit == "ns":
            return ts
        try:
            return ts.as_unit("ns")
        except (OverflowError, ValueError):
            pass  # out of range: the shared parser words the error
    return parse_timestamp(value, name, kind="timestamp")


def timestamp_ns(value: Any, name: str) -> int:
    """``int(timestamp(value, name).value)``: the instant as integer nanoseconds.

    The common values of single writes (a naive ``datetime`` or ``pandas.Timestamp``)
    are read without building a pandas object, to the same integer; everything else,
    and every error, goes through :func:`timestamp`.
    """
    kind = type(value)
    if kind is dt.datetime:
        if value.tzinfo is None:
            ns: int = (value - _EPOCH) // _MICROSECOND * 1000
            if _MIN_NS <= ns <= _MAX_NS:
                return ns
    elif kind is pd.Timestamp and value.tzinfo is None:
        try:
            return int(value.value)  # nanoseconds whatever the unit, or OverflowError
        except (OverflowError, ValueError):
            pass  # out of range: the shared parser words the error
    return int(timestamp(value, name).value)


def money_minor(
    frame: pd.DataFrame, column: str, decimals: int, *, in_minor: bool
) -> npt.NDArray[np.int64]:
    """A money column as int64 minor units, exactly; raise naming the first bad row.

    Amounts must be >= 0 and at most ``MAX_MONEY_MINOR`` minor units, checked
    before any scaling so that nothing wraps around in 64-bit arithmetic.
    """
    raw = frame[column]
    values = raw.to_numpy()
    scale = 10**decimals
    what = "transactions"
    unit = "minor units" if in_minor else "currency units"
    limit = MAX_MONEY_MINOR if in_minor else MAX_MONEY_MINOR // scale

    def refuse(mask: npt.NDArray[np.bool_], rule: str) -> None:
        pos = first_bad(mask)
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column {column!r} must {rule}; "
                f"{describe_row(frame.index, pos)} has {column}={show(values[pos])}"
            )

    if values.dtype.kind == "b":
        raise InvalidDataError(f"{what}: column {column!r} must be money, found booleans")
    if values.dtype.kind in "iu":
        refuse(values < 0, "be >= 0")
        refuse(values > limit, f"be at most {limit} ({unit})")
        out = values.astype(np.int64)
        if not in_minor:
            out = out * scale
        return out
    if values.dtype.kind == "f":
        x = values.astype(np.float64)
        refuse(~np.isfinite(x), "be finite")
        refuse(x < 0, "be >= 0")
        refuse(x > limit, f"be at most {limit} ({unit})")
        x = x * (1 if in_minor else scale)
        r = np.round(x)
        refuse(
            ~np.isclose(x, r, rtol=1e-12, atol=1e-6),
            f"hold whole minor units ({decimals} decimal place(s))",
        )
        return r.astype(np.int64)
    # Decimal / str / int objects: exact conversion at the boundary
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        try:
            if isinstance(v, float) or v is None or (isinstance(v, str) and not v.strip()):
                raise ValueError
            d = v if isinstance(v, Decimal) else Decimal(v)
            if not d.is_finite():
                raise ValueError
            minor = d if in_minor else d.scaleb(decimals)
            if minor != minor.to_integral_value():
                raise ValueError
        except (ArithmeticError, ValueError, TypeError):
            raise InvalidDataError(
                f"{what}: column {column!r} must hold money as Decimal, int or decimal "
                f"strings in whole minor units ({decimals} decimal place(s)); "
                f"{describe_row(frame.index, i)} has {column}={v!r}"
            ) from None
        if minor < 0:
            refuse(np.arange(len(values)) == i, "be >= 0")
        if minor > MAX_MONEY_MINOR:
            refuse(np.arange(len(values)) == i, f"be at most {limit} ({unit})")
        out[i] = int(minor)
    return out


def show(value: Any) -> str:
    """repr of a value with numpy scalars shown as plain Python values."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def timestamps_ns(
    frame: pd.DataFrame, column: str, *, what: str = "transactions"
) -> npt.NDArray[np.int64]:
    """A timestamp column as int64 nanoseconds, read by the library's one parser.

    :func:`customer_value._time.parse_datetimes` decides for every subpackage: ISO 8601
    strings, datetime columns (a zone keeps its wall-clock time), a non-ISO format only
    when day and month cannot swap; numbers, mixed UTC offsets and ambiguous day/month
    orders are refused with :class:`InvalidDataError` naming the column, row and value.
    """
    return parse_datetimes(frame[column], column, index=frame.index, what=what)


def signed_minor(frame: pd.DataFrame, column: str, decimals: int) -> npt.NDArray[np.int64]:
    """Like :func:`money_minor` but negative values (refunds) are allowed."""
    if len(frame) == 0:
        return np.zeros(0, dtype=np.int64)
    values = frame[column]
    negative = np.zeros(len(frame), dtype=bool)
    if values.dtype.kind in "iuf":
        negative = values.to_numpy() < 0
        flipped = frame.assign(**{column: np.abs(values.to_numpy())})
    else:
        objs = values.to_numpy(dtype=object)
        negative = np.array([isinstance(v, (int, Decimal)) and v < 0 for v in objs], dtype=bool)
        fixed = np.array(
            [-v if neg else v for v, neg in zip(objs, negative, strict=True)], dtype=object
        )
        flipped = frame.assign(**{column: fixed})
    out = money_minor(flipped, column, decimals, in_minor=False)
    return np.where(negative, -out, out)
