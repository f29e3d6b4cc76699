"""Demographic and geographic segments: a numeric column cut into named bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import (
    as_frame,
    describe_row,
    first_bad,
    numeric_array,
    numeric_column,
    require_columns,
)
from customer_value.errors import InvalidDataError
from customer_value.segmentation._segment_spec import categorical

__all__ = ["bin_segments"]


def _names_and_labels(labels: Any, n: int, what: str) -> tuple[list[str], list[str]]:
    """Accept ``{"name": "中文"}``, ``[("name", "中文"), ...]`` or plain names."""
    if isinstance(labels, Mapping):
        items = [(str(k), str(v)) for k, v in labels.items()]
    elif isinstance(labels, Sequence) and not isinstance(labels, str):
        items = []
        for i, entry in enumerate(labels):
            if isinstance(entry, str):
                items.append((entry, entry))
            elif isinstance(entry, Sequence) and len(entry) == 2:
                items.append((str(entry[0]), str(entry[1])))
            else:
                raise InvalidDataError(
                    f"{what}[{i}]: expected a name or a (name, Chinese label) pair, got {entry!r}"
                )
    else:
        raise InvalidDataError(f"{what} must be a sequence or mapping of labels, got {labels!r}")
    if len(items) != n:
        raise InvalidDataError(f"{what}: expected {n} labels, got {len(items)}")
    names = [name for name, _ in items]
    dupes = sorted({x for x in names if names.count(x) > 1})
    if dupes:
        raise InvalidDataError(f"{what}: duplicate name(s) {dupes!r}")
    return names, [label for _, label in items]


def bin_segments(
    data: Any,
    column: str,
    *,
    edges: Sequence[float],
    labels: Sequence[str | tuple[str, str]] | Mapping[str, str],
    right: bool = False,
) -> pd.DataFrame:
    """Cut a numeric column into named bands (age, income, city tier).

    Parameters
    ----------
    data : DataFrame or mapping
        One row per customer.
    column : str
        Numeric column to cut.
    edges : sequence of float
        Strictly increasing band edges; ``-inf`` / ``inf`` are allowed.
    labels : sequence or mapping
        One entry per band: ``(name, Chinese label)`` pairs, a mapping name -> label,
        or plain names (used as both).
    right : bool, default False
        ``False``: bands ``[e0, e1), [e1, e2), ..., [e(n-1), en]``; ``True``:
        ``[e0, e1], (e1, e2], ..., (e(n-1), en]``.

    Returns
    -------
    DataFrame
        Indexed like ``data`` with categorical ``segment`` and ``segment_label``.

    Raises
    ------
    InvalidDataError
        Missing column, NaN or non-numeric value, a value outside the edges, edges
        not strictly increasing, wrong number of labels.

    Notes
    -----
    The band of value *x* is the *i* with :math:`e_i \\le x < e_{i+1}` (or
    :math:`e_i < x \\le e_{i+1}` with ``right=True``); the outermost edges are
    inclusive so that ``edges[0]`` and ``edges[-1]`` themselves are kept.

    References
    ----------
    Kotler, P., & Keller, K. L. (2016). *Marketing Management* (15th ed.), ch. 9:
    demographic and geographic segmentation bases.

    Examples
    --------
    >>> people = pd.DataFrame({"age": [19, 25, 34, 35, 70]})
    >>> bands = bin_segments(
    ...     people, "age", edges=[18, 25, 35, 120],
    ...     labels=[("18-24", "18-24岁"), ("25-34", "25-34岁"), ("35+", "35岁以上")],
    ... )
    >>> bands["segment"].tolist()
    ['18-24', '25-34', '25-34', '35+', '35+']
    >>> bands["segment_label"].tolist()[0]
    '18-24岁'
    """
    frame = as_frame(data, what="data")
    require_columns(frame, [column], what="data")
    cuts = numeric_array(edges, "edges", allow_nan=True, what="edges")
    if cuts.shape[0] < 2 or np.isnan(cuts).any() or np.any(np.diff(cuts) <= 0):
        raise InvalidDataError(
            f"edges must be at least two strictly increasing numbers, got {list(edges)!r}"
        )
    names, chinese = _names_and_labels(labels, cuts.shape[0] - 1, "labels")
    values = numeric_column(frame, column, what="data")
    pos = first_bad((values < cuts[0]) | (values > cuts[-1]))
    if pos is not None:
        raise InvalidDataError(
            f"data: column {column!r} must lie within the edges [{cuts[0]:g}, {cuts[-1]:g}]; "
            f"{describe_row(frame.index, pos)} has {column}={float(values[pos])!r}"
        )
    n_bins = cuts.shape[0] - 1
    if right:
        codes = np.searchsorted(cuts, values, side="left") - 1
        codes[values == cuts[0]] = 0
    else:
        codes = np.searchsorted(cuts, values, side="right") - 1
        codes[values == cuts[-1]] = n_bins - 1
    return pd.DataFrame(
        {"segment": categorical(codes, names), "segment_label": categorical(codes, chinese)},
        index=frame.index,
    )
