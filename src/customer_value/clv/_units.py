"""Time units of the clv models: names, conversion through units per year, validation.

Time units are pandas-style aliases (``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"``, ``"h"``,
optionally with a multiple such as ``"7D"``) or the words ``"day"``, ``"week"``,
``"month"``, ``"quarter"``, ``"year"``, converted through the number of units in a year
(:data:`UNITS_PER_YEAR`). A model may also carry another pandas offset alias (``"B"``,
business days) that cannot be converted; anything else is refused.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from pandas.tseries.frequencies import to_offset

from customer_value.errors import InvalidDataError

__all__ = ["UNITS_PER_YEAR", "check_time_unit", "same_unit", "units_per_year"]

UNITS_PER_YEAR: dict[str, float] = {
    "Y": 1.0,
    "Q": 4.0,
    "M": 12.0,
    "W": 52.0,
    "D": 365.0,
    "h": 365.0 * 24,
    "min": 365.0 * 24 * 60,
    "s": 365.0 * 24 * 3600,
}
"""How many of each base unit make a year (the convention of every conversion here)."""

_ALIASES = {
    "year": "Y",
    "years": "Y",
    "y": "Y",
    "a": "Y",
    "ye": "Y",
    "ys": "Y",
    "quarter": "Q",
    "quarters": "Q",
    "q": "Q",
    "qe": "Q",
    "qs": "Q",
    "month": "M",
    "months": "M",
    "m": "M",
    "me": "M",
    "ms": "M",
    "week": "W",
    "weeks": "W",
    "w": "W",
    "day": "D",
    "days": "D",
    "d": "D",
    "hour": "h",
    "hours": "h",
    "h": "h",
    "minute": "min",
    "minutes": "min",
    "min": "min",
    "t": "min",
    "second": "s",
    "seconds": "s",
    "s": "s",
}
_UNIT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)(?:-[A-Za-z]+)?\s*$")


def units_per_year(unit: str) -> float:
    """Number of ``unit`` in one year, by the convention of :data:`UNITS_PER_YEAR`.

    Parameters
    ----------
    unit : str
        A pandas-style alias with an optional multiple (``"W"``, ``"7D"``, ``"M"``,
        ``"W-SUN"``) or a word (``"week"``, ``"month"``, ``"year"``).

    Returns
    -------
    float
        For example 52 for ``"W"``, 26 for ``"2W"``, 365 for ``"D"``.

    Raises
    ------
    InvalidDataError
        The unit is not recognised (it is never guessed).

    Examples
    --------
    >>> units_per_year("W"), units_per_year("7D"), units_per_year("month")
    (52.0, 52.142857142857146, 12.0)
    """
    match = _UNIT_RE.match(str(unit)) if isinstance(unit, str) else None
    base = None if match is None else _ALIASES.get(match.group(2).lower())
    if match is not None and base is None and match.group(2) in UNITS_PER_YEAR:
        base = match.group(2)
    if match is None or base is None:
        raise InvalidDataError(
            f"unknown time unit {unit!r}: use one of 'Y', 'Q', 'M', 'W', 'D', 'h', 'min', "
            "'s' (optionally with a multiple such as '7D') or 'year', 'quarter', 'month', "
            "'week', 'day'"
        )
    multiple = float(match.group(1)) if match.group(1) else 1.0
    if multiple <= 0:
        raise InvalidDataError(f"time unit {unit!r} has a non-positive multiple")
    return UNITS_PER_YEAR[base] / multiple


def same_unit(first: str, second: str) -> bool:
    """Whether two unit names denote the same length of time (``"W"`` and ``"week"``)."""
    if first == second:
        return True
    try:
        return units_per_year(first) == units_per_year(second)
    except InvalidDataError:
        return False


def check_time_unit(value: Any, what: str) -> str | None:
    """Validate a model's time unit: ``None``, a unit :func:`units_per_year` converts, or
    another pandas offset alias (kept, but it cannot be converted to a discount period).

    Raises
    ------
    InvalidDataError
        Not a string, or a string that is neither (``"fortnight"``, ``""``).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidDataError(
            f"{what} must be a time unit name such as 'W', 'D' or 'month', got "
            f"{type(value).__name__} {value!r}"
        )
    try:
        units_per_year(value)
        return value
    except InvalidDataError:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            to_offset(value)
    except (ValueError, TypeError):
        raise InvalidDataError(
            f"{what} {value!r} is not a time unit: use 'Y', 'Q', 'M', 'W', 'D', 'h', 'min', "
            "'s' (optionally with a multiple such as '7D'), 'year', 'quarter', 'month', "
            "'week', 'day' or another pandas offset alias"
        ) from None
    return value
