"""Strict JSON reading shared by every loader of user documents (private).

Saved models (:meth:`customer_value.clv.BetaGeoModel.from_json` and siblings), rule
files (:meth:`customer_value.segmentation.RuleSegmenter.from_json`) and any later JSON
grammar read documents through :func:`loads_strict`, then check their shape with the
small schema helpers below, so that a tampered or corrupt document raises
:class:`~customer_value.errors.InvalidDataError` naming the JSON path of the first
problem (``$.params.r``, ``$.covariance[1]``) instead of a ``KeyError``, a
``RecursionError`` or a silently wrong object.

What :func:`loads_strict` refuses, beyond :func:`json.loads`:

* bytes that are not UTF-8 (a UTF-16 file, a Latin-1 file), with the byte offset;
* ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON;
* an object with the same key twice (``json.loads`` keeps the last silently);
* nesting deeper than ``max_depth`` (default 64), before Python's recursion limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from customer_value.errors import InvalidDataError

__all__ = [
    "MAX_DEPTH",
    "check_keys",
    "expect_list",
    "expect_number",
    "expect_object",
    "expect_string",
    "loads_strict",
]

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a document may have."""


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")


def _depth_exceeded(text: str, max_depth: int) -> int | None:
    """Character offset where nesting first exceeds ``max_depth``, ignoring strings."""
    depth = 0
    in_string = False
    escaped = False
    for pos, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return pos
        elif ch in "]}":
            depth -= 1
    return None


def loads_strict(
    text: Any,
    *,
    what: str,
    max_depth: int = MAX_DEPTH,
    parse_float: Callable[[str], Any] | None = None,
) -> Any:
    """Parse a JSON document strictly (see the module docstring).

    Parameters
    ----------
    text : str, bytes or bytearray
        The document; bytes must be UTF-8 (a leading byte-order mark is allowed).
    what : str
        Name of the document in messages (``"model document"``, ``"rules"``).
    max_depth : int, default 64
        Deepest nesting allowed.
    parse_float : callable, optional
        Passed to :func:`json.loads` (``decimal.Decimal`` keeps numbers exact).

    Returns
    -------
    object
        The parsed value (dicts, lists, str, int, float, bool, None).

    Raises
    ------
    InvalidDataError
        Not text, not UTF-8, not JSON, a non-finite number, a duplicate key or too
        deep a nesting; the message says where.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = bytes(text)[exc.start : exc.start + 1]
            raise InvalidDataError(
                f"{what}: not UTF-8 text (byte {exc.start} is {bad!r}); save the document as UTF-8"
            ) from None
    if not isinstance(text, str):
        raise InvalidDataError(
            f"{what}: expected JSON text (str or UTF-8 bytes), got {type(text).__name__}"
        )
    if "\x00" in text[:4]:
        raise InvalidDataError(f"{what}: not UTF-8 text (it looks like UTF-16); save it as UTF-8")
    if max_depth > 0 and text.count("[") + text.count("{") > max_depth:
        pos = _depth_exceeded(text, max_depth)
        if pos is not None:
            raise InvalidDataError(
                f"{what}: nested deeper than {max_depth} levels (at character {pos})"
            )
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs_hook,
            parse_constant=_refuse_constant,
            parse_float=parse_float,
        )
    except _DuplicateKeyError as exc:
        raise InvalidDataError(
            f"{what}: duplicate key {exc.key!r} in one object (JSON readers disagree on "
            "which value wins; keep one)"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidDataError(f"{what}: not valid JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidDataError(f"{what}: not valid JSON: {exc}") from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def expect_object(value: Any, path: str, *, what: str) -> dict[str, Any]:
    """``value`` as a JSON object, or InvalidDataError naming ``path``."""
    if not isinstance(value, dict):
        raise InvalidDataError(f"{what}: {path} must be an object, got {_kind(value)}")
    return value


def check_keys(
    obj: Mapping[str, Any],
    path: str,
    *,
    what: str,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> None:
    """Refuse missing required keys and keys that are neither required nor optional."""
    missing = [k for k in required if k not in obj]
    if missing:
        raise InvalidDataError(f"{what}: {path}.{missing[0]} is missing")
    allowed = set(required) | set(optional)
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise InvalidDataError(
            f"{what}: {path}.{unknown[0]} is not a known key; expected "
            + ", ".join(repr(k) for k in [*required, *optional])
        )


def expect_list(value: Any, path: str, *, what: str) -> list[Any]:
    """``value`` as a JSON array, or InvalidDataError naming ``path``."""
    if not isinstance(value, list):
        raise InvalidDataError(f"{what}: {path} must be an array, got {_kind(value)}")
    return value


def expect_string(
    value: Any, path: str, *, what: str, check: Callable[[str], bool] | None = None
) -> str:
    """``value`` as a non-empty string (optionally passing ``check``)."""
    if not isinstance(value, str) or not value:
        raise InvalidDataError(
            f"{what}: {path} must be a non-empty string, got {_kind(value)} {_shown(value)}"
        )
    if check is not None and not check(value):
        raise InvalidDataError(f"{what}: {path} has an invalid value {_shown(value)}")
    return value


def expect_number(
    value: Any,
    path: str,
    *,
    what: str,
    low: float | None = None,
    low_inclusive: bool = True,
    integer: bool = False,
) -> float:
    """``value`` as a finite JSON number (not a boolean), optionally an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidDataError(
            f"{what}: {path} must be a number, got {_kind(value)} {_shown(value)}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise InvalidDataError(f"{what}: {path} must be finite, got {value!r}")
    if integer and number != math.floor(number):
        raise InvalidDataError(f"{what}: {path} must be a whole number, got {value!r}")
    if low is not None and (number < low or (not low_inclusive and number == low)):
        sign = ">=" if low_inclusive else ">"
        raise InvalidDataError(f"{what}: {path} must be {sign} {low:g}, got {value!r}")
    return number
