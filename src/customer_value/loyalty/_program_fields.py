"""Readers of configuration fields that collect every problem with its path.

The building blocks of the programme grammar: each reader takes a mapping, a key
and the path so far, returns the value (or ``None``) and records a problem such
as ``"earn_rules[2].multiplier: must be > 0, got -1"`` instead of raising.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

_T = TypeVar("_T")
#: Decimal numbers are refused beyond 1e±this, before any arithmetic on them.
_MAX_EXPONENT = 30
_MISSING = object()


class _Problems:
    """Collects validation problems with their configuration paths."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path or '<root>'}: {message}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _fmt(value: Any) -> str:
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def _check_keys(
    obj: Mapping[str, Any], allowed: Sequence[str], path: str, problems: _Problems
) -> None:
    for key in obj:
        if key not in allowed:
            problems.add(
                _join(path, str(key)),
                f"unknown key; expected one of {', '.join(repr(a) for a in allowed)}",
            )


def _get_mapping(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> Mapping[str, Any] | None:
    value = obj.get(key, None)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add(_join(path, key), f"must be a mapping, got {type(value).__name__}")
        return None
    return value


def _decimal(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    *,
    default: Any = _MISSING,
    positive: bool = False,
    nonnegative: bool = False,
    max_decimals: int | None = None,
    maximum: Decimal | int | None = None,
) -> Decimal | None:
    where = _join(path, key)
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        if default is _MISSING:
            problems.add(where, "is required")
            return None
        return Decimal(default)
    if isinstance(raw, bool):
        problems.add(where, f"must be a number, got {raw!r}")
        return None
    if isinstance(raw, float):
        problems.add(
            where,
            f"must be a decimal string, int or Decimal, not float {raw!r} (floats are inexact)",
        )
        return None
    if isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            problems.add(where, f"must be a number, got {raw!r}")
            return None
    else:
        problems.add(where, f"must be a number, got {type(raw).__name__} {raw!r}")
        return None
    if not value.is_finite():
        problems.add(where, f"must be finite, got {_fmt(raw)}")
        return None
    if value and not -_MAX_EXPONENT <= value.adjusted() <= _MAX_EXPONENT:
        # before any arithmetic: 1e999999999 overflows the decimal context
        problems.add(
            where, f"must be between 1e-{_MAX_EXPONENT} and 1e{_MAX_EXPONENT}, got {value}"
        )
        return None
    ok = True
    if positive and value <= 0:
        problems.add(where, f"must be > 0, got {value}")
        ok = False
    elif nonnegative and value < 0:
        problems.add(where, f"must be >= 0, got {value}")
        ok = False
    exponent = value.normalize().as_tuple().exponent
    if max_decimals is not None and isinstance(exponent, int) and -exponent > max_decimals:
        problems.add(where, f"must have at most {max_decimals} decimal place(s), got {value}")
        ok = False
    if ok and maximum is not None and value > maximum:
        problems.add(where, f"must be <= {maximum}, got {value}")
        ok = False
    if not ok:
        return None
    return value


def _integer(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    *,
    default: Any = _MISSING,
    minimum: int | None = None,
    maximum: int | None = None,
    optional: bool = False,
) -> int | None:
    where = _join(path, key)
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        if optional:
            return None
        if default is _MISSING:
            problems.add(where, "is required")
            return None
        return int(default)
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif (
        isinstance(raw, Decimal)
        and raw.is_finite()
        and raw.adjusted() <= _MAX_EXPONENT
        and raw == raw.to_integral_value()
    ):
        value = int(raw)
    elif isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
    if value is None:
        problems.add(where, f"must be a whole number, got {raw!r}")
        return None
    if minimum is not None and value < minimum:
        problems.add(where, f"must be >= {minimum}, got {value}")
        return None
    if maximum is not None and value > maximum:
        problems.add(where, f"must be <= {maximum}, got {value}")
        return None
    return value


def _boolean(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems, *, default: bool
) -> bool:
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        return default
    if not isinstance(raw, bool):
        problems.add(_join(path, key), f"must be true or false, got {raw!r}")
        return default
    return raw


def _choice(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    choices: Sequence[str],
    *,
    default: str,
) -> str:
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        return default
    if raw not in choices:
        problems.add(
            _join(path, key),
            f"must be one of {', '.join(repr(c) for c in choices)}, got {raw!r}",
        )
        return default
    return str(raw)


def _string(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    *,
    default: str | None = None,
) -> str | None:
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        if default is None:
            problems.add(_join(path, key), "is required")
        return default
    if not isinstance(raw, str) or not raw.strip():
        problems.add(_join(path, key), f"must be a non-empty string, got {raw!r}")
        return None
    return raw


def _date(obj: Mapping[str, Any], key: str, path: str, problems: _Problems) -> dt.date | None:
    where = _join(path, key)
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        problems.add(where, "is required")
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    problems.add(where, f"must be a date 'YYYY-MM-DD', got {raw!r}")
    return None


def _string_list(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> tuple[str, ...] | None:
    raw = obj.get(key, None)
    if raw is None:
        return None
    where = _join(path, key)
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        problems.add(where, f"must be a list of strings, got {type(raw).__name__}")
        return None
    out: list[str] = []
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item:
            problems.add(f"{where}[{i}]", f"must be a non-empty string, got {item!r}")
        else:
            out.append(item)
    return tuple(out)


def _list(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> list[tuple[str, Mapping[str, Any]]]:
    """Items of a list of mappings with their paths (bad items reported and skipped)."""
    raw = obj.get(key, None)
    if raw is None:
        return []
    where = _join(path, key)
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        problems.add(where, f"must be a list, got {type(raw).__name__}")
        return []
    out: list[tuple[str, Mapping[str, Any]]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.add(f"{where}[{i}]", f"must be a mapping, got {type(item).__name__}")
        else:
            out.append((f"{where}[{i}]", item))
    return out


def _whole_money(value: Decimal | None, decimals: int | None) -> bool:
    if value is None or decimals is None:
        return True
    return value == value.quantize(Decimal(1).scaleb(-decimals)) if decimals >= 0 else True


def _or(value: _T | None, fallback: _T) -> _T:
    return fallback if value is None else value
