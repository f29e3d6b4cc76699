"""Named RFM segments as score ranges, validated over the whole score grid."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from customer_value._estimator import ParamsMixin, deprecated_eager_check, deprecated_view
from customer_value._json import loads_strict
from customer_value._validation import (
    BoolArray,
    FloatArray,
    as_frame,
    describe_row,
    first_bad,
    numeric_column,
    require_columns,
)
from customer_value.errors import InvalidDataError
from customer_value.segmentation._segment_spec import (
    DIMENSIONS,
    SCALES,
    Interval,
    Segment,
    SegmentMapReport,
    categorical,
    grid_atoms,
    parse_definition,
    path_error,
    segment_to_dict,
)

__all__ = ["SegmentMap"]


class SegmentMap(ParamsMixin):
    """An ordered list of named segments over R, F and M scores, with a fallback.

    Parameters
    ----------
    segments : sequence of Segment or dict
        Each dict has ``name`` (English identifier), ``label`` (Chinese label),
        ``rules`` and optionally ``description``. ``rules`` maps a dimension
        (``"r"``, ``"f"``, ``"m"``) to a condition, or is a list of such mappings
        (the segment is their union). A condition is ``[low, high]`` (inclusive), a
        single number, or a dict of operators ``eq``, ``ge``, ``gt``, ``le``, ``lt``,
        ``between`` (all must hold). A dimension left out is unrestricted.
    scale : {"quintile", "percentile"}, default "quintile"
        Score scale of :func:`rfm_scores`: integers 1-5 or numbers in 0-100.
    fallback : Segment, dict or (name, label), optional
        Segment for cells no rule claims.
    overlap : {"error", "first"}, default "error"
        Whether a cell claimed by two segments is an error, or goes to the first.

    Raises
    ------
    InvalidDataError
        For an invalid definition, naming the path of the bad entry, for example
        ``segments[2].rules.x: unknown dimension 'x'``: unknown dimension or operator,
        min > max, a bound outside the scale, a missing name or label, duplicate names.
        Raised where the definition is used (:meth:`validate`, :meth:`assign`,
        :meth:`to_dict`, ``segments_``) or loaded (:meth:`from_dict`,
        :meth:`from_json`); the constructor only stores its arguments. Until 0.2 the
        constructor also raises, with a :class:`DeprecationWarning`.

    Attributes
    ----------
    segments_ : tuple of Segment
        The segments parsed, in order.
    fallback_ : Segment or None
        The fallback segment parsed.

    Notes
    -----
    :meth:`validate` enumerates the full score grid (the 125 codes of the quintile
    scale; on the 0-100 scale, every elementary piece the bounds cut the scale into)
    and reports the cells claimed twice and those nobody claims.

    References
    ----------
    Hughes, A. M. (1994). *Strategic Database Marketing*. Probus.

    Examples
    --------
    >>> tiers = SegmentMap.from_dict({
    ...     "scale": "quintile",
    ...     "segments": [
    ...         {"name": "best", "label": "最佳客户", "rules": {"r": [4, 5], "f": {"ge": 4}}},
    ...         {"name": "lapsed", "label": "流失客户", "rules": {"r": {"le": 2}}},
    ...     ],
    ...     "fallback": {"name": "other", "label": "其他客户"},
    ... })
    >>> tiers.validate().ok
    True
    >>> scores = pd.DataFrame({"r_score": [5, 1, 3], "f_score": [5, 2, 3], "m_score": [1, 1, 1]})
    >>> tiers.assign(scores)["segment"].tolist()
    ['best', 'lapsed', 'other']
    """

    _param_attrs: ClassVar[Mapping[str, str]] = {"segments": "_segments", "fallback": "_fallback"}

    def __init__(
        self,
        segments: Sequence[Segment | Mapping[str, Any]],
        *,
        scale: Literal["quintile", "percentile"] = "quintile",
        fallback: Segment | Mapping[str, Any] | tuple[str, str] | None = None,
        overlap: Literal["error", "first"] = "error",
    ) -> None:
        # Hyper-parameters only, stored as given; parsed and validated where they are used.
        self._segments = segments
        self.scale = scale
        self._fallback = fallback
        self.overlap = overlap
        deprecated_eager_check(self, self._parse, action="validate() or assign(scores)")

    segments = deprecated_view("segments", "segments_", "_segments")
    fallback = deprecated_view("fallback", "fallback_", "_fallback")

    def _parse(self) -> tuple[tuple[Segment, ...], Segment | None]:
        return parse_definition(self._segments, self.scale, self._fallback, self.overlap)

    @property
    def segments_(self) -> tuple[Segment, ...]:
        """The segments parsed (raises :class:`InvalidDataError` for an invalid definition)."""
        return self._parse()[0]

    @property
    def fallback_(self) -> Segment | None:
        """The fallback segment parsed, or None."""
        return self._parse()[1]

    @property
    def all_segments(self) -> tuple[Segment, ...]:
        """The segments followed by the fallback, in assignment order."""
        segments, fallback = self._parse()
        return segments + ((fallback,) if fallback is not None else ())

    @property
    def labels(self) -> dict[str, str]:
        """English identifier -> Chinese label, in order."""
        return {s.name: s.label for s in self.all_segments}

    def __repr__(self) -> str:
        try:
            segments, fallback = self._parse()
        except InvalidDataError:  # a repr never raises: show the definition as given
            return (
                f"SegmentMap({self._segments!r}, scale={self.scale!r}, "
                f"fallback={self._fallback!r}, overlap={self.overlap!r})"
            )
        names = ", ".join(s.name for s in segments)
        fb = f", fallback={fallback.name!r}" if fallback else ""
        return f"SegmentMap(scale={self.scale!r}, segments=[{names}]{fb})"

    @staticmethod
    def _claims(segments: Sequence[Segment], values: Mapping[str, FloatArray], n: int) -> BoolArray:
        """Matrix (segments x rows) of which segment claims which row."""
        claims = np.zeros((len(segments), n), dtype=bool)
        for i, seg in enumerate(segments):
            for box in seg.boxes:
                mask = np.ones(n, dtype=bool)
                for dim, iv in box:
                    mask &= iv.contains(values[dim])
                claims[i] |= mask
        return claims

    def validate(self, *, raise_on_error: bool = True) -> SegmentMapReport:
        """Check every cell of the score grid: overlaps and gaps.

        Parameters
        ----------
        raise_on_error : bool, default True
            Raise when a cell is claimed twice (with ``overlap="error"``) or claimed
            by nobody while there is no fallback.

        Returns
        -------
        SegmentMapReport
            Number of cells checked, overlapping cells, gaps, and ``ok``.

        Raises
        ------
        InvalidDataError
            When ``raise_on_error`` and the map has overlaps or uncovered gaps; the
            message gives the counts and the first cells.

        Examples
        --------
        >>> bad = SegmentMap([{"name": "a", "label": "甲", "rules": {"r": [1, 3]}},
        ...                   {"name": "b", "label": "乙", "rules": {"r": [3, 4]}}])
        >>> report = bad.validate(raise_on_error=False)
        >>> report.n_cells, len(report.overlaps), len(report.gaps)
        (125, 25, 25)
        >>> report.overlaps[0]
        ('r=3, f=1, m=1', ('a', 'b'))
        """
        segments, fallback = self._parse()
        return self._grid_report(segments, fallback, raise_on_error=raise_on_error)

    def _grid_report(
        self, segments: tuple[Segment, ...], fallback: Segment | None, *, raise_on_error: bool
    ) -> SegmentMapReport:
        all_intervals: dict[str, list[Interval]] = {d: [] for d in DIMENSIONS}
        for seg in segments:
            for box in seg.boxes:
                for dim, iv in box:
                    all_intervals[dim].append(iv)
        atoms = {d: grid_atoms(all_intervals[d], self.scale) for d in DIMENSIONS}
        grids = np.meshgrid(*(atoms[d][0] for d in DIMENSIONS), indexing="ij")
        values = {d: g.ravel() for d, g in zip(DIMENSIONS, grids, strict=True)}
        n = values["r"].shape[0]
        claims = self._claims(segments, values, n)
        counts = claims.sum(axis=0)
        names = list(itertools.product(*(atoms[d][1] for d in DIMENSIONS)))

        def cell(i: int) -> str:
            return ", ".join(f"{d}={v}" for d, v in zip(DIMENSIONS, names[i], strict=True))

        overlaps = tuple(
            (cell(int(i)), tuple(segments[j].name for j in np.flatnonzero(claims[:, i])))
            for i in np.flatnonzero(counts > 1)
        )
        gaps = tuple(cell(int(i)) for i in np.flatnonzero(counts == 0))
        problems = []
        if overlaps and self.overlap == "error":
            cell0, segs = overlaps[0]
            problems.append(
                f"{len(overlaps)} cell(s) claimed by more than one segment, first {cell0} by "
                f"{' and '.join(map(repr, segs))} (pass overlap='first' to let the earlier win)"
            )
        if gaps and fallback is None:
            problems.append(
                f"{len(gaps)} cell(s) claimed by no segment and there is no fallback, first "
                f"{gaps[0]}"
            )
        report = SegmentMapReport(
            n_cells=n,
            overlaps=overlaps,
            gaps=gaps,
            has_fallback=fallback is not None,
            overlap_policy=self.overlap,
            problems=tuple(problems),
        )
        if raise_on_error and problems:
            raise InvalidDataError("segment map failed validation: " + "; ".join(problems))
        return report

    def assign(self, scores: Any, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Add ``segment`` (English identifier) and ``segment_label`` (Chinese) columns.

        Parameters
        ----------
        scores : DataFrame or mapping
            Scores on this map's scale, for example the output of :func:`rfm_scores`.
        columns : mapping, optional
            Dimension -> column; defaults to ``r_score``, ``f_score``, ``m_score``.

        Returns
        -------
        DataFrame
            A copy of ``scores`` with two categorical columns whose categories follow
            the map's order (segments, then the fallback).

        Raises
        ------
        InvalidDataError
            When the map fails :meth:`validate`, a score column is missing, a score
            is NaN, outside the scale, or (quintile scale) not a whole number.

        Examples
        --------
        >>> from customer_value.datasets import load_cdnow_transactions
        >>> from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores
        >>> seg = CLASSIC_SEGMENTS.assign(rfm_scores(load_cdnow_transactions()))
        >>> int(seg["segment"].isna().sum()), len(seg)
        (0, 2357)
        """
        segments, fallback = self._parse()
        self._grid_report(segments, fallback, raise_on_error=True)
        frame = as_frame(scores, what="scores")
        cols = {d: f"{d}_score" for d in DIMENSIONS}
        if columns is not None:
            unknown = set(columns) - set(DIMENSIONS)
            if unknown:
                raise InvalidDataError(
                    f"columns: unknown dimension(s) {sorted(unknown)!r}; expected r, f, m"
                )
            cols.update(columns)
        used = [
            d
            for d in DIMENSIONS
            if any(d == dim for s in segments for b in s.boxes for dim, _ in b)
        ]
        require_columns(frame, [cols[d] for d in used], what="scores")
        low, high = SCALES[self.scale]
        values: dict[str, FloatArray] = {}
        for d in DIMENSIONS:
            if d not in used:
                values[d] = np.full(len(frame), low)
                continue
            v = numeric_column(frame, cols[d], what="scores")
            bad = (v < low) | (v > high)
            if self.scale == "quintile":
                bad |= v != np.round(v)
            pos = first_bad(bad)
            if pos is not None:
                raise InvalidDataError(
                    f"scores: column {cols[d]!r} must hold {self.scale} scores in "
                    f"[{low:g}, {high:g}]{' (whole numbers)' if self.scale == 'quintile' else ''}; "
                    f"{describe_row(frame.index, pos)} has {cols[d]}={float(v[pos])!r}"
                )
            values[d] = v
        n = len(frame)
        claims = self._claims(segments, values, n)
        claimed = claims.any(axis=0)
        codes = np.where(claimed, np.argmax(claims, axis=0), len(segments))
        ordered = segments + ((fallback,) if fallback is not None else ())
        names = [s.name for s in ordered]
        labels = [s.label for s in ordered]
        if fallback is None and not claimed.all():  # cannot happen after validate()
            raise InvalidDataError("segment map: a score fell outside every segment")
        out = frame.copy()
        out["segment"] = categorical(codes, names)
        out["segment_label"] = categorical(codes, labels)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready definition, the inverse of :meth:`from_dict`.

        Returns
        -------
        dict
            ``scale``, ``overlap``, ``segments`` and ``fallback``.

        Examples
        --------
        >>> from customer_value.segmentation import VALUE_TIERS
        >>> VALUE_TIERS.to_dict()["segments"][0]["rules"]
        {'r': [80, 100], 'f': [80, 100], 'm': [80, 100]}
        """
        segments, fallback = self._parse()
        fb = None
        if fallback is not None:
            fb = {"name": fallback.name, "label": fallback.label}
        return {
            "scale": self.scale,
            "overlap": self.overlap,
            "segments": [segment_to_dict(s, self.scale) for s in segments],
            "fallback": fb,
        }

    def to_json(self, **kwargs: Any) -> str:
        """The definition as JSON text (Chinese kept readable, not escaped).

        Parameters
        ----------
        **kwargs
            Passed to :func:`json.dumps` (for example ``indent=2``).

        Returns
        -------
        str
            JSON text accepted by :meth:`from_json`.

        Examples
        --------
        >>> from customer_value.segmentation import VALUE_TIERS
        >>> SegmentMap.from_json(VALUE_TIERS.to_json()).labels == VALUE_TIERS.labels
        True
        """
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> SegmentMap:
        """Build a map from a dict (``segments``; optional ``scale``, ``fallback``, ``overlap``).

        Parameters
        ----------
        spec : mapping
            As produced by :meth:`to_dict`.

        Returns
        -------
        SegmentMap

        Raises
        ------
        InvalidDataError
            For unknown keys or an invalid definition, naming the path of the bad entry.

        Examples
        --------
        >>> m = SegmentMap.from_dict({"segments": [{"name": "all", "label": "全部",
        ...                                         "rules": {"r": [1, 5]}}]})
        >>> m.validate().ok
        True
        """
        if not isinstance(spec, Mapping):
            raise path_error("<root>", f"expected a mapping, got {type(spec).__name__}")
        unknown = set(spec) - {"scale", "segments", "fallback", "overlap"}
        if unknown:
            raise path_error("<root>", f"unknown key(s) {sorted(unknown)!r}")
        if "segments" not in spec:
            raise path_error("segments", "missing")
        segments, scale = spec["segments"], spec.get("scale", "quintile")
        fallback, overlap = spec.get("fallback"), spec.get("overlap", "error")
        parse_definition(segments, scale, fallback, overlap)  # a loaded document is checked
        return cls(segments, scale=scale, fallback=fallback, overlap=overlap)

    @classmethod
    def from_json(cls, text: str | bytes) -> SegmentMap:
        """Build a map from JSON text (see :meth:`from_dict`).

        Parameters
        ----------
        text : str
            JSON document.

        Returns
        -------
        SegmentMap

        Raises
        ------
        InvalidDataError
            When the text is not UTF-8 JSON, repeats a key in one object, is nested
            deeper than 64 levels, or the definition is invalid.

        Examples
        --------
        >>> SegmentMap.from_json('{"segments": [{"name": "x", "label": "某", "rules": {"f": 1}}],'
        ...                      ' "fallback": {"name": "rest", "label": "其余"}}')
        SegmentMap(scale='quintile', segments=[x], fallback='rest')
        """
        return cls.from_dict(loads_strict(text, what="segment map"))
