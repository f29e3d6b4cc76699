"""The value x loyalty matrix: four quadrants from two thresholds."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import FloatArray, as_frame, numeric_column, require_columns
from customer_value.errors import InvalidDataError
from customer_value.segmentation._segment_spec import categorical

__all__ = ["QUADRANTS", "value_loyalty_matrix"]

QUADRANTS: dict[str, str] = {
    "gold": "黄金客户",
    "potential": "潜力客户",
    "churn_risk": "流失风险客户",
    "low_value": "低价值客户",
}
"""Quadrant identifier -> Chinese label, in the order of the categorical output."""

_PERCENT = re.compile(r"^p(\d+(?:\.\d+)?)$")


def _threshold(spec: Any, values: FloatArray, name: str) -> float:
    """A number is used as is; ``"median"``, ``"mean"`` or ``"p75"`` are computed from data."""
    if isinstance(spec, str):
        if spec == "median":
            return float(np.median(values))
        if spec == "mean":
            # mean of values / u times u, u the largest power of two <= max |value|: a plain sum of
            # values near 1e308 overflows to inf
            biggest = float(np.max(np.abs(values)))
            u = float(np.exp2(np.floor(np.log2(biggest)))) if biggest > 0 else 1.0
            return float(np.mean(values / u) * u)
        match = _PERCENT.match(spec)
        if match and 0.0 <= float(match.group(1)) <= 100.0:
            return float(np.quantile(values, float(match.group(1)) / 100.0))
        raise InvalidDataError(
            f"{name} must be a number, 'median', 'mean' or a percentile such as 'p75'; got {spec!r}"
        )
    if isinstance(spec, bool) or not isinstance(spec, (int, float, np.integer, np.floating)):
        raise InvalidDataError(
            f"{name} must be a number or a string such as 'median'; got {spec!r}"
        )
    if not np.isfinite(float(spec)):
        raise InvalidDataError(f"{name} must be finite; got {spec!r}")
    return float(spec)


def value_loyalty_matrix(
    data: Any,
    *,
    value_col: str,
    loyalty_col: str,
    value_threshold: float | str = "median",
    loyalty_threshold: float | str = "median",
) -> pd.DataFrame:
    """Place each customer in one of four value x loyalty quadrants.

    Parameters
    ----------
    data : DataFrame or mapping
        One row per customer, for example the output of :func:`rfm_scores`.
    value_col, loyalty_col : str
        Columns measuring value (spend, CLV) and loyalty (frequency, tenure,
        retention probability).
    value_threshold, loyalty_threshold : float or str, default "median"
        A number, ``"median"``, ``"mean"`` or a percentile of the column such as
        ``"p75"``.

    Returns
    -------
    DataFrame
        Indexed like ``data``: ``value``, ``loyalty``, ``high_value``,
        ``high_loyalty`` and the categorical ``segment`` (``gold``, ``potential``,
        ``churn_risk``, ``low_value``) with its Chinese ``segment_label``.
        ``attrs`` holds the thresholds used.

    Raises
    ------
    InvalidDataError
        Missing columns, non-numeric or NaN values, an unknown threshold spec.

    Notes
    -----
    Tie rule: a customer exactly at a threshold counts as *high*, i.e. high value
    means ``value >= value_threshold``. With the median, at least half of the
    customers are therefore high; when many customers share the median value (for
    example frequency 1), the split can be far from 50/50.

    Quadrants: ``gold`` 黄金客户 (high value, high loyalty), ``potential`` 潜力客户
    (low value, high loyalty), ``churn_risk`` 流失风险客户 (high value, low loyalty),
    ``low_value`` 低价值客户 (low value, low loyalty).

    References
    ----------
    Reinartz, W., & Kumar, V. (2002). The Mismanagement of Customer Loyalty.
    *Harvard Business Review*, 80(7), 86-94 (the loyalty x profitability matrix).

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.segmentation import rfm_scores
    >>> rfm = rfm_scores(load_cdnow_transactions())
    >>> matrix = value_loyalty_matrix(
    ...     rfm, value_col="monetary", loyalty_col="frequency", loyalty_threshold=2
    ... )
    >>> matrix["segment"].value_counts(sort=False).to_dict()
    {'gold': 966, 'potential': 186, 'churn_risk': 213, 'low_value': 992}
    >>> matrix.attrs["value_threshold"]  # the median total spend
    43.06

    With the default median threshold on frequency (1 on CDNOW, where half of the
    customers bought once) every customer would count as loyal, hence the explicit 2.
    """
    frame = as_frame(data, what="data")
    require_columns(frame, [value_col, loyalty_col], what="data")
    value = numeric_column(frame, value_col, what="data")
    loyalty = numeric_column(frame, loyalty_col, what="data")
    v_cut = _threshold(value_threshold, value, "value_threshold")
    l_cut = _threshold(loyalty_threshold, loyalty, "loyalty_threshold")
    high_value = value >= v_cut
    high_loyalty = loyalty >= l_cut
    # codes follow QUADRANTS: gold 0, potential 1, churn_risk 2, low_value 3
    codes = np.where(high_loyalty, np.where(high_value, 0, 1), np.where(high_value, 2, 3))
    out = pd.DataFrame(
        {
            "value": value,
            "loyalty": loyalty,
            "high_value": high_value,
            "high_loyalty": high_loyalty,
            "segment": categorical(codes, list(QUADRANTS)),
            "segment_label": categorical(codes, list(QUADRANTS.values())),
        },
        index=frame.index,
    )
    out.attrs.update(
        value_col=value_col,
        loyalty_col=loyalty_col,
        value_threshold=v_cut,
        loyalty_threshold=l_cut,
    )
    return out
