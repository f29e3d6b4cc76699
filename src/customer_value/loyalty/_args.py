"""Arguments of ledger calls checked at the boundary: instants, points, member ids, money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.loyalty._columns import timestamp, timestamp_ns
from customer_value.loyalty._policies import MAX_POINTS

__all__ = ["member_arg", "parse_at", "points_arg", "recorded_arg", "text_arg", "to_minor"]


def parse_at(value: Any, name: str) -> int:
    """An instant of the ledger as integer nanoseconds (``None`` is now).

    The ledger keeps programme-local wall-clock time without a zone. A
    zone-aware value is refused rather than silently stripped of its offset
    (which one is "local" is the caller's knowledge, not the ledger's); so are
    instants outside 1677-09-22 .. 2262-04-11.
    """
    if value is None:
        return int(pd.Timestamp.now().value)
    if (type(value) is dt.datetime or type(value) is pd.Timestamp) and value.tzinfo is None:
        return timestamp_ns(value, name)  # the common case, without the checks below
    if isinstance(value, dt.datetime):
        raw: Any = value
    else:
        try:
            raw = pd.Timestamp(value)
        except (TypeError, ValueError):
            raw = None
    if raw is not None and not pd.isna(raw) and raw.tzinfo is not None:
        raise InvalidDataError(
            f"{name} must be a naive timestamp in the programme's local time, got {value!r} "
            f"with time zone {raw.tzinfo}; convert it first, e.g. "
            "ts.tz_convert('Europe/Paris').tz_localize(None)"
        )
    return int(timestamp(value, name).value)


def recorded_arg(value: Any, name: str = "recorded_at") -> int:
    """A recording instant (the stores' clock) as integer nanoseconds UTC.

    Unlike the ledger's effective times, recording times are real instants: a
    zone-aware value is converted to UTC, a naive one is taken as UTC.
    """
    raw: Any = None
    if not isinstance(value, (int, float, np.number)):
        try:
            raw = pd.Timestamp(value)
        except (TypeError, ValueError):
            raw = None
    if raw is not None and not pd.isna(raw) and raw.tzinfo is not None:
        value = raw.tz_convert("UTC").tz_localize(None)
    return int(timestamp(value, name).value)


def points_arg(points: Any, name: str, *, allow_negative: bool = False) -> int:
    """A whole, non-zero number of points (> 0 unless ``allow_negative``), at most MAX_POINTS.

    With this limit every store (SQLite's and PostgreSQL's 64-bit integers, Python's
    ints) holds the same values and sums.
    """
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)):
        raise InvalidDataError(f"{name} must be a whole number of points, got {points!r}")
    value = int(points)
    if abs(value) > MAX_POINTS:
        raise InvalidDataError(f"{name} must be at most {MAX_POINTS:,} in size, got {value}")
    if allow_negative:
        if value == 0:
            raise InvalidDataError(f"{name} must not be 0")
    elif value <= 0:
        raise InvalidDataError(f"{name} must be > 0, got {value}")
    return value


def member_arg(member_id: Any) -> str:
    """A member id (a non-empty string)."""
    if not isinstance(member_id, str) or not member_id or "\x00" in member_id:
        raise InvalidDataError(
            f"member_id must be a non-empty string without NUL characters, got {member_id!r}"
        )
    return member_id


def text_arg(value: Any, name: str) -> str | None:
    """A free-text note or reason: None or a string every store can hold (no NUL)."""
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidDataError(
            f"{name} must be a string without NUL characters or None, got {value!r}"
        )
    return value


def to_minor(amount: Decimal, decimals: int) -> int:
    """A money amount in integer minor units."""
    return int(amount.scaleb(decimals))
