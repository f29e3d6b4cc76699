"""Demographic and geographic segments from declarative, JSON-serialisable rules."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from customer_value._estimator import (
    ParamsMixin,
    check_is_fitted,
    deprecated_eager_check,
    deprecated_view,
)
from customer_value._json import loads_strict
from customer_value._validation import (
    BoolArray,
    as_frame,
    check_choice,
    describe_row,
    first_bad,
)
from customer_value.errors import InvalidDataError
from customer_value.segmentation._segment_spec import categorical

__all__ = ["OPERATORS", "RuleSegmenter"]

OPERATORS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "between", "is_null")
"""Operators a rule condition may use."""


def _check_operand(op: str, operand: Any, path: str) -> None:
    if op in ("in", "not_in"):
        if isinstance(operand, (str, bytes, Mapping)) or not isinstance(operand, Sequence):
            raise InvalidDataError(f"rules: {path}: {op!r} needs a list of values, got {operand!r}")
        for i, item in enumerate(operand):
            # a dict or list can never equal a cell: it would silently match nothing
            if isinstance(item, (Mapping, list, tuple, set)):
                raise InvalidDataError(
                    f"rules: {path}[{i}]: {op!r} needs plain values (numbers, strings, "
                    f"booleans), got {type(item).__name__} {item!r}"
                )
    elif op == "between":
        if (
            isinstance(operand, (str, bytes, Mapping))
            or not isinstance(operand, Sequence)
            or len(operand) != 2
        ):
            raise InvalidDataError(f"rules: {path}: 'between' needs [low, high], got {operand!r}")
        try:
            reversed_bounds = bool(operand[0] > operand[1])
        except TypeError:
            raise InvalidDataError(
                f"rules: {path}: 'between' bounds cannot be compared: {operand!r}"
            ) from None
        if reversed_bounds:
            raise InvalidDataError(
                f"rules: {path}: 'between' min {operand[0]!r} > max {operand[1]!r}"
            )
    elif op == "is_null":
        if not isinstance(operand, bool):
            raise InvalidDataError(f"rules: {path}: 'is_null' needs true or false, got {operand!r}")
    elif isinstance(operand, (list, tuple, Mapping)):
        raise InvalidDataError(f"rules: {path}: {op!r} needs a single value, got {operand!r}")


def _normalise_condition(condition: Any, path: str) -> dict[str, Any]:
    if condition is None:
        return {"is_null": True}
    if not isinstance(condition, Mapping):
        if isinstance(condition, (list, tuple)):
            raise InvalidDataError(
                f"rules: {path}: a bare list is ambiguous; write {{'in': [...]}} or "
                f"{{'between': [low, high]}}"
            )
        return {"eq": condition}
    if not condition:
        raise InvalidDataError(f"rules: {path}: empty condition")
    out: dict[str, Any] = {}
    for op, operand in condition.items():
        if op not in OPERATORS:
            raise InvalidDataError(
                f"rules: {path}.{op}: unknown operator {op!r}; expected one of "
                f"{', '.join(OPERATORS)}"
            )
        _check_operand(str(op), operand, f"{path}.{op}")
        out[str(op)] = list(operand) if isinstance(operand, (list, tuple)) else operand
    return out


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _evaluate(series: pd.Series, op: str, operand: Any, path: str) -> BoolArray:
    """Vectorised condition; missing values never match except under ``is_null``."""
    missing = series.isna().to_numpy()
    try:
        if op == "is_null":
            result = missing if operand else ~missing
        elif op == "in":
            result = series.isin(operand).to_numpy() & ~missing
        elif op == "not_in":
            result = ~series.isin(operand).to_numpy() & ~missing
        elif op == "between":
            result = ((series >= operand[0]) & (series <= operand[1])).to_numpy() & ~missing
        else:
            result = _COMPARE[op](series, operand).to_numpy() & ~missing
    except TypeError as exc:
        raise InvalidDataError(
            f"rules: {path}: cannot compare column {series.name!r} "
            f"(dtype {series.dtype}) with {operand!r}: {exc}"
        ) from None
    return np.asarray(result, dtype=bool)


def _parse_default(default: Any) -> tuple[str, str]:
    """``"other"``, ``(name, label)`` or ``{"name": ..., "label": ...}`` as a pair of strings."""
    if isinstance(default, str):
        pair: tuple[Any, Any] = (default, "其他" if default == "other" else default)
    elif isinstance(default, Mapping):
        unknown = set(default) - {"name", "label"}
        if unknown:
            raise InvalidDataError(f"rules: default: unknown key(s) {sorted(unknown)!r}")
        pair = (default.get("name"), default.get("label"))
    elif isinstance(default, (list, tuple)) and len(default) == 2:
        pair = (default[0], default[1])
    else:
        raise InvalidDataError(
            "rules: default must be a name, a (name, label) pair or a mapping with name and "
            f"label, got {default!r}"
        )
    for key, value in zip(("name", "label"), pair, strict=True):
        if not isinstance(value, str) or not value:
            raise InvalidDataError(
                f"rules: default.{key}: expected a non-empty string, got {value!r}"
            )
    return str(pair[0]), str(pair[1])


def _parse_definition(
    rules: Any, default: Any, overlap: Any
) -> tuple[list[dict[str, Any]], tuple[str, str]]:
    """Validate and normalise a rule set: ``(rules, (default name, default label))``."""
    check_choice(overlap, "overlap", ("first", "error"))
    if isinstance(rules, (str, Mapping)) or not isinstance(rules, Sequence) or not rules:
        raise InvalidDataError(f"rules must be a non-empty list of rules, got {rules!r}")
    parsed: list[dict[str, Any]] = []
    for i, rule in enumerate(rules):
        path = f"rules[{i}]"
        if not isinstance(rule, Mapping):
            raise InvalidDataError(f"rules: {path}: expected a mapping, got {rule!r}")
        unknown = set(rule) - {"name", "label", "when"}
        if unknown:
            raise InvalidDataError(f"rules: {path}: unknown key(s) {sorted(unknown)!r}")
        for key in ("name", "label"):
            if not isinstance(rule.get(key), str) or not rule[key]:
                raise InvalidDataError(
                    f"rules: {path}.{key}: expected a non-empty string, got {rule.get(key)!r}"
                )
        when = rule.get("when")
        if not isinstance(when, Mapping) or not when:
            raise InvalidDataError(
                f"rules: {path}.when: expected a mapping of column to condition, got {when!r}"
            )
        parsed.append(
            {
                "name": rule["name"],
                "label": rule["label"],
                "when": {
                    str(col): _normalise_condition(cond, f"{path}.when.{col}")
                    for col, cond in when.items()
                },
            }
        )
    pair = _parse_default(default)
    names = [r["name"] for r in parsed] + [pair[0]]
    dupes = sorted({x for x in names if names.count(x) > 1})
    if dupes:
        raise InvalidDataError(f"rules: duplicate segment name(s) {dupes!r}")
    return parsed, pair


class RuleSegmenter(ParamsMixin):
    """Segments from declarative, JSON-serialisable rules (no ``eval`` of user strings).

    Parameters
    ----------
    rules : sequence of dict
        Each rule has ``name`` (English identifier), ``label`` (Chinese label) and
        ``when``, a mapping column -> condition; all conditions must hold. A
        condition is a plain value (equality), ``None`` (missing), or a dict of
        operators (all must hold): ``eq``, ``ne``, ``in``, ``not_in``, ``lt``, ``le``,
        ``gt``, ``ge``, ``between`` ([low, high], inclusive), ``is_null`` (true/false).
    default : str, (name, label) or dict, default "other"
        Segment of rows no rule catches; a plain ``"other"`` gets the label 其他.
    overlap : {"first", "error"}, default "first"
        A row caught by several rules goes to the first, or raises.

    Attributes
    ----------
    rules_ : list of dict
        The rules parsed and normalised (every condition a dict of operators).
    default_ : (str, str)
        Name and Chinese label of the default segment.
    hits_ : DataFrame
        After :meth:`assign`: per rule, ``matched`` (rows satisfying its conditions)
        and ``assigned`` (rows it received), plus the default's row.

    Raises
    ------
    InvalidDataError
        In :meth:`assign`, :meth:`to_dict` and when reading ``rules_`` (the constructor
        only stores its arguments; :meth:`from_dict` / :meth:`from_json` check the
        document they load): an unknown operator, a malformed operand, a missing name
        or label, or duplicate names, naming the path (``rules[1].when.age.bewteen``);
        in :meth:`assign` also an unknown column or an incomparable value. Until 0.2
        the constructor also raises for an invalid definition, with a
        :class:`DeprecationWarning`.

    Notes
    -----
    Missing values never satisfy a condition except ``is_null``: ``{"ne": "F"}`` does
    not catch a missing gender. Rules are evaluated column-wise with pandas, so a
    million customers cost a handful of vectorised comparisons per rule.

    References
    ----------
    Wedel, M., & Kamakura, W. A. (2000). *Market Segmentation: Conceptual and
    Methodological Foundations* (2nd ed.), ch. 1-2. Kluwer.

    Examples
    --------
    >>> people = pd.DataFrame({"age": [28, 45, 30, 61], "gender": ["F", "M", "M", "F"],
    ...                        "city_tier": [1, 3, 2, 1]})
    >>> seg = RuleSegmenter([
    ...     {"name": "young_urban_women", "label": "都市年轻女性",
    ...      "when": {"age": {"between": [25, 34]}, "gender": "F", "city_tier": {"le": 2}}},
    ...     {"name": "seniors", "label": "银发客户", "when": {"age": {"ge": 60}}},
    ... ])
    >>> seg.assign(people)["segment"].tolist()
    ['young_urban_women', 'other', 'other', 'seniors']
    >>> seg.hits_["assigned"].tolist()
    [1, 1, 2]
    """

    _param_attrs: ClassVar[Mapping[str, str]] = {"rules": "_rules", "default": "_default"}

    def __init__(
        self,
        rules: Sequence[Mapping[str, Any]],
        *,
        default: str | tuple[str, str] | Mapping[str, str] = "other",
        overlap: Literal["first", "error"] = "first",
    ) -> None:
        # Hyper-parameters only, stored as given; parsed and validated where they are used.
        self._rules = rules
        self._default = default
        self.overlap = overlap
        deprecated_eager_check(self, self._parse, action="assign(data)")

    rules = deprecated_view("rules", "rules_", "_rules")
    default = deprecated_view("default", "default_", "_default")

    def _parse(self) -> tuple[list[dict[str, Any]], tuple[str, str]]:
        return _parse_definition(self._rules, self._default, self.overlap)

    @property
    def rules_(self) -> list[dict[str, Any]]:
        """The rules parsed and normalised (a fresh copy; raises for an invalid definition)."""
        return self._parse()[0]

    @property
    def default_(self) -> tuple[str, str]:
        """Name and Chinese label of the default segment."""
        return self._parse()[1]

    def __repr__(self) -> str:
        try:
            rules, default = self._parse()
        except InvalidDataError:  # a repr never raises: show the definition as given
            return (
                f"RuleSegmenter(rules={self._rules!r}, default={self._default!r}, "
                f"overlap={self.overlap!r})"
            )
        names = ", ".join(r["name"] for r in rules)
        return f"RuleSegmenter(rules=[{names}], default={default[0]!r}, overlap={self.overlap!r})"

    @property
    def hits_(self) -> pd.DataFrame:
        """Per-rule ``matched`` and ``assigned`` counts of the last :meth:`assign`."""
        check_is_fitted(self, "_hits", action="assign(data)")
        hits: pd.DataFrame = self._hits
        return hits

    def assign(self, data: Any) -> pd.DataFrame:
        """Segment every row of ``data``.

        Parameters
        ----------
        data : DataFrame or mapping
            One row per customer with the columns the rules name.

        Returns
        -------
        DataFrame
            Indexed like ``data`` with categorical ``segment`` and ``segment_label``.

        Raises
        ------
        InvalidDataError
            The definition is invalid (naming its path), a rule names a missing
            column, a value cannot be compared with an operand, or
            (``overlap="error"``) a row is caught by two rules.

        Examples
        --------
        >>> seg = RuleSegmenter([{"name": "tier1", "label": "一线城市",
        ...                       "when": {"city_tier": 1}}])
        >>> seg.assign({"city_tier": [1, 2]})["segment_label"].tolist()
        ['一线城市', '其他']
        """
        rules, default = self._parse()
        frame = as_frame(data, what="data")
        matched = np.zeros((len(rules), len(frame)), dtype=bool)
        for i, rule in enumerate(rules):
            mask = np.ones(len(frame), dtype=bool)
            for col, condition in rule["when"].items():
                path = f"rules[{i}].when.{col}"
                if col not in frame.columns:
                    have = ", ".join(repr(str(c)) for c in list(frame.columns)[:20])
                    raise InvalidDataError(
                        f"rules: {path}: unknown column {col!r} (rule {rule['name']!r}); "
                        f"data has: {have}"
                    )
                for op, operand in condition.items():
                    mask &= _evaluate(frame[col], op, operand, f"{path}.{op}")
            matched[i] = mask
        n_hits = matched.sum(axis=0)
        if self.overlap == "error":
            pos = first_bad(n_hits > 1)
            if pos is not None:
                both = [rules[j]["name"] for j in np.flatnonzero(matched[:, pos])]
                raise InvalidDataError(
                    f"rules overlap: {describe_row(frame.index, pos)} is caught by "
                    f"{' and '.join(map(repr, both))} (overlap='error')"
                )
        codes = np.where(n_hits > 0, np.argmax(matched, axis=0), len(rules))
        names = [r["name"] for r in rules] + [default[0]]
        labels = [r["label"] for r in rules] + [default[1]]
        assigned = np.bincount(codes, minlength=len(names))
        self._hits = pd.DataFrame(
            {
                "label": labels,
                "matched": [*matched.sum(axis=1).tolist(), int(assigned[-1])],
                "assigned": assigned,
            },
            index=pd.Index(names, name="segment"),
        )
        return pd.DataFrame(
            {"segment": categorical(codes, names), "segment_label": categorical(codes, labels)},
            index=frame.index,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready definition (``rules``, ``default``, ``overlap``).

        Returns
        -------
        dict
            Accepted by :meth:`from_dict`.

        Raises
        ------
        InvalidDataError
            When the definition is invalid.

        Examples
        --------
        >>> RuleSegmenter([{"name": "f", "label": "女性", "when": {"gender": "F"}}]).to_dict()
        {'rules': [{'name': 'f', 'label': '女性', 'when': {'gender': {'eq': 'F'}}}], \
'default': {'name': 'other', 'label': '其他'}, 'overlap': 'first'}
        """
        rules, default = self._parse()  # freshly built: editing it leaves self unchanged
        return {
            "rules": rules,
            "default": {"name": default[0], "label": default[1]},
            "overlap": self.overlap,
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> RuleSegmenter:
        """Build from a dict with ``rules`` and optional ``default`` and ``overlap``.

        Parameters
        ----------
        spec : mapping
            As produced by :meth:`to_dict`.

        Returns
        -------
        RuleSegmenter

        Raises
        ------
        InvalidDataError
            For unknown keys or invalid rules.

        Examples
        --------
        >>> seg = RuleSegmenter.from_dict({"rules": [{"name": "vip", "label": "贵宾",
        ...                                           "when": {"level": {"in": [4, 5]}}}]})
        >>> seg.assign({"level": [5, 1]})["segment"].tolist()
        ['vip', 'other']
        """
        if not isinstance(spec, Mapping):
            raise InvalidDataError(f"rules: expected a mapping, got {type(spec).__name__}")
        unknown = set(spec) - {"rules", "default", "overlap"}
        if unknown:
            raise InvalidDataError(f"rules: unknown key(s) {sorted(unknown)!r}")
        rules = spec.get("rules", [])
        default = spec.get("default", "other")
        overlap = spec.get("overlap", "first")
        _parse_definition(rules, default, overlap)  # a loaded document is checked on load
        return cls(rules, default=default, overlap=overlap)

    @classmethod
    def from_json(cls, text: str | bytes) -> RuleSegmenter:
        """Build from JSON text (see :meth:`from_dict`).

        Parameters
        ----------
        text : str or bytes
            JSON document (bytes must be UTF-8).

        Returns
        -------
        RuleSegmenter

        Raises
        ------
        InvalidDataError
            When the text is not UTF-8 JSON, repeats a key in one object, is nested
            deeper than 64 levels, or the rules are invalid (the message names the path).

        Examples
        --------
        >>> RuleSegmenter.from_json('{"rules": [{"name": "a", "label": "甲", "when": {"x": 1}}]}')
        RuleSegmenter(rules=[a], default='other', overlap='first')
        """
        return cls.from_dict(loads_strict(text, what="rules"))

    def to_json(self, **kwargs: Any) -> str:
        """The definition as JSON text (Chinese kept readable).

        Parameters
        ----------
        **kwargs
            Passed to :func:`json.dumps`.

        Returns
        -------
        str

        Examples
        --------
        >>> seg = RuleSegmenter([{"name": "a", "label": "甲", "when": {"x": {"gt": 1}}}])
        >>> RuleSegmenter.from_json(seg.to_json()).to_dict() == seg.to_dict()
        True
        """
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), **kwargs)
