"""Calendar periods for the churn tools: alias validation and fast period numbers."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import IntArray, describe_row, first_bad
from customer_value.data._summary import _parse_dates
from customer_value.errors import InvalidDataError

_NS_PER_DAY = 86_400 * 10**9
# 1970-01-01 was a Thursday; pandas' weekly period "W" (= "W-SUN") runs Monday to Sunday.
_WEEK_ORIGIN_NS = -3 * _NS_PER_DAY


def check_period(alias: Any, name: str = "period") -> str:
    """Return ``alias`` when pandas knows it as a period frequency, else raise naming it."""
    if not isinstance(alias, str) or not alias:
        raise InvalidDataError(f"{name} must be a pandas period alias such as 'M', got {alias!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dtype = pd.PeriodDtype(alias)
    except (ValueError, TypeError, AttributeError):
        raise InvalidDataError(
            f"unknown {name} {alias!r}: use a pandas period alias such as 'D', 'W', 'M', 'Q' or 'Y'"
        ) from None
    if dtype.freq.n != 1:
        # pandas numbers "2M" periods by month, so a multiple would silently act as "M"
        raise InvalidDataError(
            f"{name} {alias!r} is a multiple of a period; use a single calendar period "
            "such as 'D', 'W', 'M', 'Q' or 'Y'"
        )
    return alias


def _dtype(alias: str) -> pd.PeriodDtype:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.PeriodDtype(alias)


def period_numbers(ns: IntArray, alias: str) -> IntArray:
    """Integer period ordinal of each timestamp (ns since the epoch), as pandas counts them.

    Fast paths for day, week, month, quarter and year; other aliases go through pandas.
    The ordinals equal ``DatetimeIndex.to_period(alias).asi8``.
    """
    key = alias.upper()
    if key == "D":
        return np.floor_divide(ns, _NS_PER_DAY)
    if key in {"W", "W-SUN"}:
        # pandas numbers the week of 1969-12-29 .. 1970-01-04 as 1, not 0
        return np.floor_divide(ns - _WEEK_ORIGIN_NS, 7 * _NS_PER_DAY) + 1
    if key in {"M", "Q", "Y", "A", "Y-DEC", "A-DEC", "Q-DEC"}:
        months = ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        if key == "M":
            return months
        if key.startswith("Q"):
            return np.floor_divide(months, 3)
        return np.floor_divide(months, 12)
    index = pd.DatetimeIndex(ns.view("datetime64[ns]")).to_period(alias)
    return np.asarray(index.asi8, dtype=np.int64)


def period_index(ordinals: IntArray, alias: str) -> pd.PeriodIndex:
    """PeriodIndex from ordinals produced by :func:`period_numbers`."""
    return pd.PeriodIndex(
        pd.arrays.PeriodArray(np.asarray(ordinals, dtype=np.int64), dtype=_dtype(alias))
    )


def period_ordinal(value: Any, alias: str, name: str) -> int:
    """Ordinal of one period label (``"2024-03"``, a date or a ``pd.Period``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(value, pd.Period):
                value = value.start_time
            p = pd.Period(value, freq=alias)
    except (ValueError, TypeError):
        raise InvalidDataError(
            f"{name}: could not read {value!r} as a period of {alias!r}"
        ) from None
    if not isinstance(p, pd.Period):
        raise InvalidDataError(f"{name}: missing period {value!r}")
    return int(p.ordinal)


def timestamps_ns(frame: pd.DataFrame, column: str, *, what: str) -> IntArray:
    """A date column as int64 nanoseconds (tz-naive); missing or unparsable dates raise."""
    values = _parse_dates(frame, column, what=what).to_numpy(dtype="datetime64[ns]")
    out: IntArray = values.view(np.int64)
    return out


def customer_codes(
    frame: pd.DataFrame, column: str, *, what: str
) -> tuple[IntArray, pd.Index[Any]]:
    """Integer code per row and the unique ids; missing ids raise."""
    ids = frame[column]
    pos = first_bad(ids.isna().to_numpy())
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column {column!r} must not be missing; {describe_row(frame.index, pos)} "
            f"has {column}={ids.iloc[pos]!r}"
        )
    codes, uniques = pd.factorize(ids, sort=False)
    return codes.astype(np.int64, copy=False), pd.Index(uniques)
