"""The grammar of segment maps: score ranges, segments, their parsing and the score grid.

Private to :mod:`customer_value.segmentation`. A definition (dicts from JSON, or
:class:`Segment` objects) is parsed here into frozen :class:`Segment` boxes of
:class:`Interval` ranges, every bad entry named by its path
(``segments[2].rules.x``); :class:`~customer_value.segmentation.SegmentMap` holds the
definition as given and parses it when it validates or assigns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import BoolArray, FloatArray, check_choice
from customer_value.errors import InvalidDataError

__all__ = [
    "DIMENSIONS",
    "SCALES",
    "Box",
    "Interval",
    "Segment",
    "SegmentMapReport",
    "categorical",
    "grid_atoms",
    "parse_definition",
    "parse_name",
    "parse_segment",
    "path_error",
    "segment_to_dict",
]

DIMENSIONS = ("r", "f", "m")
SCALES: dict[str, tuple[float, float]] = {"quintile": (1.0, 5.0), "percentile": (0.0, 100.0)}
_OPERATORS = ("eq", "ge", "gt", "le", "lt", "between")


@dataclass(frozen=True)
class Interval:
    """A range of scores; each end is inclusive unless marked open.

    Parameters
    ----------
    low, high : float
        Ends of the range.
    low_closed, high_closed : bool, default True
        Whether ``low`` / ``high`` themselves belong to the range.

    Examples
    --------
    >>> Interval(80, 100).contains(np.array([79.5, 80.0]))
    array([False,  True])
    """

    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True

    def contains(self, values: FloatArray) -> BoolArray:
        """Boolean mask of the values inside the range.

        Parameters
        ----------
        values : ndarray of float
            Scores.

        Returns
        -------
        ndarray of bool

        Examples
        --------
        >>> Interval(0, 40, high_closed=False).contains(np.array([0.0, 40.0]))
        array([ True, False])
        """
        above = values >= self.low if self.low_closed else values > self.low
        below = values <= self.high if self.high_closed else values < self.high
        mask: BoolArray = above & below
        return mask

    def is_empty(self) -> bool:
        """True when no number lies in the range.

        Returns
        -------
        bool

        Examples
        --------
        >>> Interval(3, 3).is_empty(), Interval(3, 3, low_closed=False).is_empty()
        (False, True)
        """
        if self.low > self.high:
            return True
        return self.low == self.high and not (self.low_closed and self.high_closed)

    def to_spec(self, scale_low: float, scale_high: float) -> Any:
        """JSON form: ``[low, high]`` when closed, else a dict of operators.

        Parameters
        ----------
        scale_low, scale_high : float
            Ends of the score scale; an open end at the scale's edge is left out.

        Returns
        -------
        list or dict
            Accepted back as a rule condition by :class:`SegmentMap`.

        Examples
        --------
        >>> Interval(0, 40, high_closed=False).to_spec(0, 100)
        {'lt': 40}
        """
        if self.low_closed and self.high_closed:
            return [_num(self.low), _num(self.high)]
        spec: dict[str, Any] = {}
        if self.low > scale_low or not self.low_closed:
            spec["ge" if self.low_closed else "gt"] = _num(self.low)
        if self.high < scale_high or not self.high_closed:
            spec["le" if self.high_closed else "lt"] = _num(self.high)
        return spec


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


Box = tuple[tuple[str, Interval], ...]


@dataclass(frozen=True)
class Segment:
    """One named segment: a union of boxes of score ranges.

    Parameters
    ----------
    name : str
        English identifier (``"champions"``).
    label : str
        Chinese label (``"冠军客户"``).
    boxes : tuple of boxes
        Each box is a tuple of ``(dimension, Interval)`` pairs; a score triple belongs
        to the segment when it lies in every interval of at least one box. A dimension
        missing from a box is unrestricted. Empty for a fallback segment.
    description : str, optional
        Free text for reports.

    Examples
    --------
    >>> seg = Segment("new", "新客户", ((("r", Interval(5, 5)), ("f", Interval(1, 1))),))
    >>> seg.name, seg.label
    ('new', '新客户')
    """

    name: str
    label: str
    boxes: tuple[Box, ...] = ()
    description: str = ""


@dataclass(frozen=True, repr=False)
class SegmentMapReport:
    """Result of :meth:`SegmentMap.validate`.

    Parameters
    ----------
    n_cells : int
        Number of cells of the score grid that were checked.
    overlaps : tuple of (str, tuple of str)
        Cells claimed by two or more segments, with the names of those segments.
    gaps : tuple of str
        Cells no segment claims (covered by the fallback when there is one).
    has_fallback : bool
        Whether the map has a fallback segment.
    overlap_policy : str
        ``"error"`` or ``"first"``.

    Examples
    --------
    >>> from customer_value.segmentation import CLASSIC_SEGMENTS
    >>> report = CLASSIC_SEGMENTS.validate()
    >>> report.n_cells, report.ok
    (125, True)
    """

    n_cells: int
    overlaps: tuple[tuple[str, tuple[str, ...]], ...]
    gaps: tuple[str, ...]
    has_fallback: bool
    overlap_policy: str = "error"
    problems: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """True when the map sends every cell to exactly one segment."""
        return not self.problems

    def __repr__(self) -> str:
        return (
            f"SegmentMapReport(ok={self.ok}, n_cells={self.n_cells}, "
            f"overlaps={len(self.overlaps)}, gaps={len(self.gaps)}, "
            f"has_fallback={self.has_fallback})"
        )


def categorical(codes: Any, categories: Sequence[str]) -> Any:
    """Categorical from integer codes (no per-row string handling)."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), categories=pd.Index(list(categories))
    )


def path_error(path: str, message: str) -> InvalidDataError:
    return InvalidDataError(f"segment map: {path}: {message}")


def _bound(value: Any, path: str, scale: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise path_error(path, f"expected a number, got {value!r}")
    x = float(value)
    low, high = SCALES[scale]
    if not np.isfinite(x) or x < low or x > high:
        raise path_error(path, f"bound {value!r} is outside the {scale} scale [{low:g}, {high:g}]")
    if scale == "quintile" and not x.is_integer():
        raise path_error(path, f"bound {value!r} must be a whole number on the quintile scale")
    return x


def _parse_interval(spec: Any, path: str, scale: str) -> Interval:
    low, high = SCALES[scale]
    if isinstance(spec, Interval):
        spec = spec.to_spec(low, high)
    if isinstance(spec, (list, tuple)):
        if len(spec) != 2:
            raise path_error(path, f"a range needs [low, high], got {list(spec)!r}")
        spec = {"between": list(spec)}
    elif not isinstance(spec, Mapping):
        spec = {"eq": spec}
    if not spec:
        raise path_error(path, "empty condition")
    interval = Interval(low, high)
    for op, operand in spec.items():
        where = f"{path}.{op}"
        if op not in _OPERATORS:
            raise path_error(
                where, f"unknown operator {op!r}; expected one of {', '.join(_OPERATORS)}"
            )
        if op == "between":
            if not isinstance(operand, (list, tuple)) or len(operand) != 2:
                raise path_error(where, f"'between' needs [low, high], got {operand!r}")
            lo, hi = _bound(operand[0], where, scale), _bound(operand[1], where, scale)
            if lo > hi:
                raise path_error(where, f"min {operand[0]!r} > max {operand[1]!r}")
            parts = [Interval(lo, hi)]
        else:
            x = _bound(operand, where, scale)
            parts = [
                {
                    "eq": Interval(x, x),
                    "ge": Interval(x, high),
                    "gt": Interval(x, high, low_closed=False),
                    "le": Interval(low, x),
                    "lt": Interval(low, x, high_closed=False),
                }[op]
            ]
        for part in parts:
            interval = _intersect(interval, part)
    if interval.is_empty():
        raise path_error(
            path, f"the condition {dict(spec)!r} is empty (min > max): no score satisfies it"
        )
    return interval


def _intersect(a: Interval, b: Interval) -> Interval:
    if a.low > b.low:
        low, low_closed = a.low, a.low_closed
    elif b.low > a.low:
        low, low_closed = b.low, b.low_closed
    else:
        low, low_closed = a.low, a.low_closed and b.low_closed
    if a.high < b.high:
        high, high_closed = a.high, a.high_closed
    elif b.high < a.high:
        high, high_closed = b.high, b.high_closed
    else:
        high, high_closed = a.high, a.high_closed and b.high_closed
    return Interval(low, high, low_closed, high_closed)


def _parse_box(spec: Any, path: str, scale: str) -> Box:
    if not isinstance(spec, Mapping):
        raise path_error(path, f"expected a mapping of dimension to condition, got {spec!r}")
    box = []
    for dim, condition in spec.items():
        if dim not in DIMENSIONS:
            raise path_error(
                f"{path}.{dim}",
                f"unknown dimension {dim!r}; expected one of {', '.join(map(repr, DIMENSIONS))}",
            )
        box.append((str(dim), _parse_interval(condition, f"{path}.{dim}", scale)))
    return tuple(box)


def parse_name(spec: Mapping[str, Any], path: str) -> tuple[str, str]:
    name, label = spec.get("name"), spec.get("label")
    if not isinstance(name, str) or not name:
        raise path_error(f"{path}.name", f"expected a non-empty English identifier, got {name!r}")
    if not isinstance(label, str) or not label:
        raise path_error(f"{path}.label", f"expected a non-empty Chinese label, got {label!r}")
    return name, label


def parse_segment(spec: Any, path: str, scale: str) -> Segment:
    if isinstance(spec, Segment):
        spec = segment_to_dict(spec, scale)
    if not isinstance(spec, Mapping):
        raise path_error(path, f"expected a mapping with name, label and rules, got {spec!r}")
    unknown = set(spec) - {"name", "label", "rules", "description"}
    if unknown:
        raise path_error(path, f"unknown key(s) {sorted(unknown)!r}")
    name, label = parse_name(spec, path)
    rules = spec.get("rules")
    if rules is None:
        raise path_error(f"{path}.rules", "missing: give a mapping of dimension to condition")
    boxes: tuple[Box, ...]
    if isinstance(rules, Mapping):
        boxes = (_parse_box(rules, f"{path}.rules", scale),)
    elif isinstance(rules, (list, tuple)) and rules:
        boxes = tuple(_parse_box(b, f"{path}.rules[{i}]", scale) for i, b in enumerate(rules))
    else:
        raise path_error(f"{path}.rules", f"expected a mapping or a list of them, got {rules!r}")
    return Segment(name, label, boxes, str(spec.get("description", "")))


def segment_to_dict(segment: Segment, scale: str) -> dict[str, Any]:
    low, high = SCALES[scale]
    boxes = [{dim: iv.to_spec(low, high) for dim, iv in box} for box in segment.boxes]
    out: dict[str, Any] = {
        "name": segment.name,
        "label": segment.label,
        "rules": boxes[0] if len(boxes) == 1 else boxes,
    }
    if segment.description:
        out["description"] = segment.description
    return out


def grid_atoms(intervals: Sequence[Interval], scale: str) -> tuple[FloatArray, list[str]]:
    """Representative scores of every elementary piece of one dimension's scale.

    On the quintile scale these are the five scores. On the continuous 0-100 scale,
    the bounds used by any segment cut the scale into points and open gaps; each
    piece lies wholly inside or outside every interval, so checking one value per
    piece checks the whole continuum.
    """
    low, high = SCALES[scale]
    if scale == "quintile":
        values = np.arange(low, high + 1)
        return values, [f"{int(v)}" for v in values]
    cuts = sorted({low, high, *(iv.low for iv in intervals), *(iv.high for iv in intervals)})
    reps: list[float] = []
    names: list[str] = []
    for i, cut in enumerate(cuts):
        reps.append(cut)
        names.append(f"{_num(cut)}")
        if i + 1 < len(cuts):
            reps.append((cut + cuts[i + 1]) / 2.0)
            names.append(f"in ({_num(cut)}, {_num(cuts[i + 1])})")
    return np.asarray(reps), names


def parse_definition(
    segments: Any, scale: Any, fallback: Any, overlap: Any
) -> tuple[tuple[Segment, ...], Segment | None]:
    """Parse a segment map's definition: its segments and fallback, every path checked."""
    check_choice(scale, "scale", tuple(SCALES))
    check_choice(overlap, "overlap", ("error", "first"))
    if isinstance(segments, (str, Mapping)) or not isinstance(segments, Sequence):
        raise path_error("segments", f"expected a list of segments, got {segments!r}")
    if not segments:
        raise path_error("segments", "at least one segment is needed")
    parsed = tuple(parse_segment(s, f"segments[{i}]", scale) for i, s in enumerate(segments))
    fb: Segment | None = None
    if fallback is not None:
        if isinstance(fallback, Segment):
            fb = Segment(fallback.name, fallback.label, (), fallback.description)
        elif isinstance(fallback, tuple):
            fb = Segment(*parse_name({"name": fallback[0], "label": fallback[1]}, "fallback"))
        elif isinstance(fallback, Mapping):
            name, label = parse_name(fallback, "fallback")
            fb = Segment(name, label, (), str(fallback.get("description", "")))
        else:
            raise path_error("fallback", f"expected a name and label, got {fallback!r}")
    seen: dict[str, int] = {}
    for i, seg in enumerate(parsed + ((fb,) if fb is not None else ())):
        if seg.name in seen:
            where = "fallback" if i == len(parsed) else f"segments[{i}]"
            raise path_error(
                f"{where}.name", f"duplicate name {seg.name!r} (also segments[{seen[seg.name]}])"
            )
        seen[seg.name] = i
    return parsed, fb
