"""The one place where timestamps are read, customer ids encoded and periods numbered.

Every subpackage that reads dates goes through :func:`parse_datetimes` (a column) or
:func:`parse_timestamp` (one option such as ``observation_end``), so the same input means
the same instant everywhere, on pandas 2 and 3 alike. The rules:

* **Datetime columns** (``datetime64`` of any resolution) are taken as they are.
* **Time zones.** A zone-aware column, or strings/objects that all carry *one* UTC offset
  or zone (``"2024-01-01T10:00:00Z"``, ``"...-05:00"``), are read in their own wall-clock
  time: the zone is dropped, not converted, so calendar days and periods are those of the
  data's zone. Different offsets in one column (or offsets next to naive values) are
  refused: convert first, for example
  ``pd.to_datetime(col, utc=True).dt.tz_convert("America/New_York")`` (a zone-aware column
  keeps its local wall-clock time across daylight-saving changes).
* **Numbers are not dates.** Integers or floats (``20240101``, epoch seconds) are refused
  unless ``date_format`` says how to read them (``date_format="%Y%m%d"``).
* **Strings** are read as ISO 8601 (``YYYY-MM-DD[Thh:mm[:ss[.f]]][Z|±hh:mm]``). Other
  formats are inferred once per column from the first such string, and only when the day
  and month cannot be swapped (``"5 Jan 2024"``); purely numeric day/month orders
  (``"05/01/2024"``) need an explicit ``date_format`` such as ``"%d/%m/%Y"``. A column is
  never read with two orders.
* **Range.** Instants are int64 nanoseconds, so dates outside 1677-09-21 .. 2262-04-11 are
  refused with the row that holds them.

Errors are :class:`~customer_value.errors.InvalidDataError` naming the column, the first
offending row and its value.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format
from pandas.tseries.frequencies import to_offset

from customer_value._validation import IntArray, describe_row, first_bad, plain, require_present
from customer_value.errors import InvalidDataError

__all__ = [
    "NS_PER_DAY",
    "check_period",
    "check_period_label",
    "encode_ids",
    "fixed_length_ns",
    "parse_datetimes",
    "parse_timestamp",
    "period_index",
    "period_numbers",
    "period_ordinal",
]

NS_PER_DAY = 86_400 * 10**9
# 1970-01-01 was a Thursday; pandas' weekly period "W" (= "W-SUN") runs Monday to Sunday.
_WEEK_ORIGIN_NS = -3 * NS_PER_DAY
_NS_MIN = int(np.iinfo(np.int64).min) + 1  # int64 min is NaT
_NS_MAX = int(np.iinfo(np.int64).max)
_RANGE = "1677-09-21 .. 2262-04-11"
_UNIT_NS = {
    "W": 7 * NS_PER_DAY,
    "D": NS_PER_DAY,
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}
_CALENDAR_UNITS = ("M", "MS", "ME", "Q", "QS", "QE", "Y", "YS", "YE", "A", "AS")


# --------------------------------------------------------------------------- ids


def encode_ids(ids: pd.Series, *, sort: bool = True) -> tuple[IntArray, pd.Index[Any]]:
    """Integer codes 0..n-1 for customer ids and the distinct ids they stand for.

    With ``sort`` the ids come in sorted order when they are sortable (first-seen order
    otherwise); integer ids of moderate range take a counting path (no hashing), several
    times faster than ``pd.factorize`` on tens of millions of rows. Missing ids are the
    caller's to refuse first (:func:`require_present`).
    """
    if not sort:
        codes, uniques = pd.factorize(ids, sort=False)
        return codes.astype(np.int64, copy=False), pd.Index(uniques)
    values = ids.to_numpy()
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * values.size + 1_000_000:
            offset = values.astype(np.int64) - low
            present = np.bincount(offset, minlength=high - low + 1) > 0
            remap = np.cumsum(present) - 1
            present_ids = np.flatnonzero(present) + low
            return remap[offset], pd.Index(present_ids.astype(values.dtype))
    codes, uniques = pd.factorize(ids, sort=False)
    try:
        order = np.argsort(np.asarray(uniques), kind="stable")
    except TypeError:  # ids of mixed, unorderable types: keep first-seen order
        return codes.astype(np.int64), pd.Index(uniques)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[codes].astype(np.int64), pd.Index(np.asarray(uniques)[order])


# --------------------------------------------------------------------------- timestamps


class _BadValueError(Exception):
    """Internal: the first offending element (position, value) and what is wrong with it."""

    def __init__(self, position: int, value: Any, problem: str) -> None:
        super().__init__(problem)
        self.position = position
        self.value = value
        self.problem = problem


def _to_ns(values: np.ndarray[Any, Any]) -> IntArray:
    """datetime64 of any resolution → int64 ns; out-of-range rows raise :class:`_BadValueError`."""
    unit, count = np.datetime_data(values.dtype)
    if unit not in _UNIT_NS:  # calendar units (Y, M) or generic: go through seconds
        return _to_ns(values.astype("datetime64[s]"))
    raw = values.view(np.int64)
    nat = raw == np.iinfo(np.int64).min
    per = _UNIT_NS[unit] * int(count)
    if per == 1:
        out: IntArray = raw.copy()
    else:
        low, high = -(-_NS_MIN // per), _NS_MAX // per
        pos = first_bad(~nat & ((raw < low) | (raw > high)))
        if pos is not None:
            raise _BadValueError(pos, str(values[pos]), f"is outside the supported range {_RANGE}")
        out = np.where(nat, np.iinfo(np.int64).min, raw * per)
    return out


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _offset(x: Any) -> Any:
    """The UTC offset an element carries (None when naive), for spotting mixed zones."""
    if isinstance(x, str):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ts = pd.Timestamp(x)
        except (ValueError, TypeError, OverflowError):
            return None
        return None if pd.isna(ts) or ts.tzinfo is None else ts.utcoffset()
    if isinstance(x, _dt.datetime) and x.tzinfo is not None:
        return x.utcoffset()
    return None


def _mixed_zone_position(raw: np.ndarray[Any, Any]) -> int:
    """First position whose UTC offset differs from the first present element's."""
    reference: Any = ...
    for pos, x in enumerate(raw):
        if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NaT:
            continue
        off = _offset(x)
        if reference is ...:
            reference = off
        elif off != reference:
            return pos
    return 0


def _one_format(raw: np.ndarray[Any, Any], fmt: str) -> pd.Series:
    """``pd.to_datetime`` with one format; mixed zones raise :class:`_BadValueError`."""
    try:
        with warnings.catch_warnings():
            # pandas 2 warns on mixed offsets where pandas 3 raises: treat both as mixed
            warnings.simplefilter("error", FutureWarning)
            parsed = pd.to_datetime(pd.Series(raw, dtype=object), format=fmt, errors="coerce")
    except (ValueError, FutureWarning, TypeError) as exc:
        text = str(exc).lower()
        if "time zone" in text or "timezone" in text or "tz-aware" in text or "utc" in text:
            pos = _mixed_zone_position(raw)
            raise _BadValueError(pos, raw[pos], "mixes UTC offsets (time zones)") from None
        raise
    if parsed.dtype == object:  # pragma: no cover - older pandas fall back to objects
        pos = _mixed_zone_position(raw)
        raise _BadValueError(pos, raw[pos], "mixes UTC offsets (time zones)")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        # aware objects of another zone come back NaT instead of raising: spot them
        if pd.api.types.infer_dtype(raw, skipna=True) != "string":
            stamps = [x for x in raw if isinstance(x, _dt.datetime)]
            zones = {str(x.tzinfo) for x in stamps}
            if len(zones) > 1:
                pos = _mixed_zone_position(raw)
                raise _BadValueError(pos, raw[pos], "mixes UTC offsets (time zones)")
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _ambiguity(text: str) -> str | None:
    """The format inferred for a non-ISO string, or raise when day and month could swap."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        month_first = guess_datetime_format(text)
        day_first = guess_datetime_format(text, dayfirst=True)
    if month_first is None and day_first is None:
        return None
    fmt = month_first or day_first
    if "%d" in str(fmt) and "%m" in str(fmt):
        options = sorted({f for f in (day_first, month_first) if f})
        if len(options) == 1:  # one order fits this string; other rows may fit the other
            swapped = options[0].replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
            options.append(swapped)
        raise _BadValueError(
            -1,
            text,
            "has a numeric day and month whose order is ambiguous; pass date_format="
            + " or ".join(repr(f) for f in options),
        )
    return fmt


def _parse_objects(raw: np.ndarray[Any, Any], date_format: str | None) -> IntArray:
    """Strings and date/datetime objects → int64 ns (NaT for missing), or raise _BadValueError."""
    missing = pd.isna(pd.Series(raw, dtype=object)).to_numpy()
    inferred = pd.api.types.infer_dtype(raw, skipna=True)
    if inferred not in _DATE_LIKE:
        numbers = np.fromiter((_is_number(x) for x in raw), dtype=np.bool_, count=raw.size)
        pos = first_bad(numbers & ~missing)
        if pos is not None:
            if date_format is None:
                raise _BadValueError(pos, raw[pos], _NUMBER_PROBLEM)
            raw = raw.copy()
            for i in np.flatnonzero(numbers & ~missing):
                if not float(raw[i]).is_integer():
                    raise _BadValueError(
                        int(i), raw[i], "holds a number that is not a whole number"
                    )
                raw[i] = str(int(raw[i]))
    if date_format is not None:
        parsed = _one_format(raw, date_format)
        fmt_hint = f" with date_format={date_format!r}"
    else:
        parsed = _one_format(raw, "ISO8601")
        fmt_hint = " as a date (expected ISO 8601: YYYY-MM-DD[Thh:mm[:ss]])"
        failed = parsed.isna().to_numpy() & ~missing
        pos = first_bad(failed)
        if pos is not None and isinstance(raw[pos], str):
            try:
                fmt = _ambiguity(raw[pos])
            except _BadValueError as bad:
                raise _BadValueError(pos, raw[pos], bad.problem) from None
            if fmt is not None:
                other = _one_format(raw[failed], fmt)
                parsed = parsed.copy()
                parsed[failed] = other.to_numpy()
                fmt_hint = f" (as ISO 8601 or as {fmt!r}, the format of row {pos})"
    try:
        ns = _to_ns(np.asarray(parsed.to_numpy()))
    except _BadValueError as bad:
        raise _BadValueError(bad.position, raw[bad.position], bad.problem) from None
    pos = first_bad((ns == np.iinfo(np.int64).min) & ~missing)
    if pos is not None:
        raise _BadValueError(pos, raw[pos], _why_not(raw[pos], date_format, fmt_hint))
    return ns


_DATE_LIKE = ("string", "datetime", "datetime64", "date", "empty")
_NUMBER_PROBLEM = (
    "holds a number, which is not read as a date; pass date_format (for example "
    "date_format='%Y%m%d' for 20240131) or convert the column first (for example "
    "pd.to_datetime(col, unit='s') for epoch seconds)"
)


def _why_not(value: Any, date_format: str | None, fmt_hint: str) -> str:
    """Explain why one element did not parse: out of range, or not a date at all."""
    if isinstance(value, (str, _dt.date)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                single = pd.to_datetime(
                    pd.Series([value], dtype=object), format=date_format or "ISO8601"
                )
            _to_ns(np.asarray(single.to_numpy()))
        except _BadValueError as bad:
            return bad.problem
        except (pd.errors.OutOfBoundsDatetime, OverflowError):
            return f"is outside the supported range {_RANGE}"
        except (ValueError, TypeError):
            pass
    return f"could not be parsed{fmt_hint}"


def _parse_core(values: Any, date_format: str | None) -> IntArray:
    """Any 1-d input → int64 ns (int64-min where missing); :class:`_BadValueError` if bad."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
        dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if pd.api.types.is_datetime64_dtype(dtype):
        return _to_ns(np.asarray(series.to_numpy()))
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise _BadValueError(0, series.iloc[0], "holds durations or booleans, not dates")
    raw = series.to_numpy(dtype=object)
    if pd.api.types.is_numeric_dtype(dtype) and date_format is None:
        present = first_bad(~pd.isna(series).to_numpy())
        pos = 0 if present is None else present
        raise _BadValueError(pos, raw[pos], _NUMBER_PROBLEM)
    return _parse_objects(raw, date_format)


def parse_datetimes(
    values: Any,
    column: str,
    *,
    index: pd.Index[Any] | None = None,
    what: str = "data",
    date_format: str | None = None,
    allow_missing: bool = False,
) -> IntArray:
    """A column of dates as int64 nanoseconds since the epoch (tz-naive wall-clock time).

    Parameters
    ----------
    values : array-like or Series
        The column: datetime64 (any resolution, naive or zone-aware), strings or
        date/datetime objects; numbers only with ``date_format``.
    column : str
        The column's name, for messages.
    index : Index, optional
        Row labels, for messages.
    what : str
        What the table is ("transactions"), for messages.
    date_format : str, optional
        A ``strftime`` format every string (and number) must follow.
    allow_missing : bool, default False
        Return int64-min (NaT) for missing values instead of raising.

    Raises
    ------
    InvalidDataError
        Missing (unless allowed), unparsable, numeric, ambiguous day/month, mixed time
        zones or out-of-range values, naming the column, the first such row and its value.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if not allow_missing:
        require_present(series, column, index=index, what=what)
    try:
        ns = _parse_core(series.reset_index(drop=True), date_format)
    except _BadValueError as bad:
        raise InvalidDataError(
            f"{what}: column {column!r} {bad.problem}; {describe_row(index, bad.position)} has "
            f"{column}={plain(bad.value)!r}"
        ) from None
    return ns


def parse_timestamp(
    value: Any, name: str, *, kind: str = "date", date_format: str | None = None
) -> pd.Timestamp:
    """One date-like option (``observation_end``, ``at``) as a naive nanosecond Timestamp.

    The rules of :func:`parse_datetimes` apply (a zone-aware value keeps its wall-clock
    time, numbers are refused, range 1677-2262); an ISO 8601 string is always accepted,
    other strings need ``date_format`` when day and month could swap.

    Raises
    ------
    InvalidDataError
        Naming ``name`` and the value; ``kind`` words the message ("date", "timestamp").
    """
    if (isinstance(value, pd.Timestamp) and pd.isna(value)) or value is None:
        raise InvalidDataError(f"{name} must be a {kind}, got {value!r}")
    raw = np.array([value]) if isinstance(value, np.datetime64) else np.array([value], dtype=object)
    try:
        try:
            ns = _parse_core(raw, None)
        except _BadValueError:
            if date_format is None or not isinstance(value, (str, int, np.integer)):
                raise
            ns = _parse_core(raw, date_format)
    except _BadValueError as bad:
        problem = bad.problem.replace("holds a number", "is a number")
        problem = problem.replace("parsed as a date", f"parsed as a {kind}")
        raise InvalidDataError(f"{name} {problem}; got {plain(value)!r}") from None
    if ns[0] == np.iinfo(np.int64).min:
        raise InvalidDataError(f"{name} must be a {kind}, got {value!r}")
    return pd.Timestamp(int(ns[0]), unit="ns")


# --------------------------------------------------------------------------- periods


def fixed_length_ns(alias: str) -> int | None:
    """Length of a fixed-length pandas alias in nanoseconds, or None for calendar aliases."""
    if alias.upper() in {"W", "1W", "W-SUN"}:
        return 7 * NS_PER_DAY
    if alias.split("-", 1)[0] in _CALENDAR_UNITS:
        # months, quarters and years, anchored or not ("Q-JAN", "Y-JUN"): pandas 3 no
        # longer reads these as offsets, only as periods
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            offset = to_offset(alias)
    except ValueError:
        raise InvalidDataError(f"unknown pandas frequency alias {alias!r}") from None
    if isinstance(offset, pd.offsets.Day):  # a Tick in pandas 2, a calendar day in pandas 3
        return int(offset.n) * NS_PER_DAY
    if isinstance(offset, pd.offsets.Tick):
        return int(offset.nanos)
    if isinstance(offset, pd.offsets.Week) and getattr(offset, "weekday", 0) is None:
        return int(offset.n) * 7 * NS_PER_DAY
    return None


def check_period(alias: Any, name: str = "period") -> str:
    """Return ``alias`` when pandas knows it as a single calendar period, else raise."""
    if not isinstance(alias, str) or not alias:
        raise InvalidDataError(f"{name} must be a pandas period alias such as 'M', got {alias!r}")
    try:
        dtype = _dtype(alias)
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
    """Integer period number of each timestamp (int64 ns since the epoch).

    For single periods the numbers are pandas' ordinals (``to_period(alias).asi8``), so
    :func:`period_index` turns them back into labels; a fixed-length multiple such as
    ``"2D"`` or ``"12h"`` is numbered in blocks of its length from the epoch. Fast paths
    for fixed lengths, week, month, quarter and year; other aliases go through pandas.
    """
    key = alias.upper()
    if key in {"W", "1W", "W-SUN"}:
        # pandas numbers the week of 1969-12-29 .. 1970-01-04 as 1, not 0
        return np.floor_divide(ns - _WEEK_ORIGIN_NS, 7 * NS_PER_DAY) + 1
    if key in {"M", "Q", "Y", "A", "Y-DEC", "A-DEC", "Q-DEC"}:
        months = ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        if key == "M":
            return months
        if key.startswith("Q"):
            return np.floor_divide(months, 3)
        return np.floor_divide(months, 12)
    length = fixed_length_ns(alias)
    if length is not None and not key.startswith("W"):
        return np.floor_divide(ns, length)
    index = pd.DatetimeIndex(ns.view("datetime64[ns]")).to_period(alias)
    return np.asarray(index.asi8, dtype=np.int64)


def period_index(ordinals: IntArray, alias: str) -> pd.PeriodIndex:
    """PeriodIndex from ordinals produced by :func:`period_numbers` (single periods)."""
    return pd.PeriodIndex(
        pd.arrays.PeriodArray(np.asarray(ordinals, dtype=np.int64), dtype=_dtype(alias))
    )


def check_period_label(value: Any, name: str) -> Any:
    """Refuse period labels that the date rules refuse: numbers, ambiguous day/month.

    ``"2024-11"``, ``"2024Q4"``, dates and ``pd.Period`` objects pass unchanged;
    ``202411`` (a number) and ``"05/11/2024"`` (5 November or 11 May) raise.
    """
    if _is_number(value) or isinstance(value, (bool, np.bool_)):
        raise InvalidDataError(
            f"{name}: {plain(value)!r} is a number, not a period label; write it as a "
            "string such as '2024-11' or pass a date"
        )
    if isinstance(value, str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iso = pd.to_datetime(pd.Series([value]), format="ISO8601", errors="coerce")
        if iso.isna().iloc[0]:
            try:
                _ambiguity(value)
            except _BadValueError:
                raise InvalidDataError(
                    f"{name}: {value!r} has a numeric day and month whose order is "
                    "ambiguous; write the date as ISO 8601 (YYYY-MM-DD) or the period as "
                    "'2024-11'"
                ) from None
    return value


def period_ordinal(value: Any, alias: str, name: str) -> int:
    """Ordinal of one period label (``"2024-03"``, a date or a ``pd.Period``)."""
    check_period_label(value, name)
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
