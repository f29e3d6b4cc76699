"""Uplift per segment with a stated multiple-comparison adjustment; incremental value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import (
    as_frame,
    check_choice,
    check_scalar,
    describe_row,
    first_bad,
    numeric_column,
    plain,
    require_columns,
    require_present,
)
from customer_value.errors import InvalidDataError
from customer_value.experiment._compare import (
    MeanComparison,
    ProportionComparison,
    compare_means,
    compare_proportions,
)

__all__ = [
    "UPLIFT_COLUMNS",
    "IncrementalValue",
    "adjust_p_values",
    "incremental_value",
    "uplift_by_segment",
]

#: Columns of the table returned by :func:`uplift_by_segment`, in order.
UPLIFT_COLUMNS = (
    "n_treatment",
    "n_control",
    "treatment",
    "control",
    "uplift",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "significant",
)


def adjust_p_values(p_values: Any, *, method: str = "holm") -> np.ndarray:
    """Family-wise error adjustment of p-values (Holm 1979 or Bonferroni).

    Parameters
    ----------
    p_values : array-like of float
        Raw p-values, in [0, 1].
    method : {"holm", "bonferroni", "none"}, default "holm"
        Holm's step-down procedure (uniformly more powerful than Bonferroni, same
        family-wise guarantee), Bonferroni, or no adjustment.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, capped at 1, in the input order.

    Raises
    ------
    InvalidDataError
        Unknown method or p-values outside [0, 1].

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics* 6(2), 65-70.

    Examples
    --------
    >>> from customer_value.experiment import adjust_p_values
    >>> adjust_p_values([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    check_choice(method, "method", ("holm", "bonferroni", "none"))
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if ((p < 0) | (p > 1) | ~np.isfinite(p)).any():
        raise InvalidDataError("p_values must lie in [0, 1]")
    m = p.size
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out


def uplift_by_segment(
    results: Any,
    *,
    outcome_col: str,
    group_col: str = "group",
    segment_col: str | None = "segment",
    metric: str = "proportion",
    treatment: Any = "treatment",
    control: Any = "control",
    confidence: float = 0.95,
    adjust: str = "holm",
    n_bootstrap: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Uplift of treatment over control, overall and per segment.

    Parameters
    ----------
    results : DataFrame or mapping of column name to array
        One row per customer in the experiment: group, outcome and segment.
    outcome_col : str
        0/1 (converted, retained) for ``metric="proportion"``; an amount (revenue per
        customer) for ``metric="mean"``.
    group_col : str, default "group"
        Group column (as from :func:`assign_groups`).
    segment_col : str or None, default "segment"
        Segment column; ``None`` reports the overall row only.
    metric : {"proportion", "mean"}, default "proportion"
        Newcombe interval and pooled z test, or Welch's t.
    treatment, control : label
        Values of ``group_col``; other groups are ignored.
    confidence : float, default 0.95
        Family confidence of the segment intervals.
    adjust : {"holm", "bonferroni", "none"}, default "holm"
        Adjustment of the segment p-values; with any adjustment the segment intervals
        are Bonferroni intervals at level ``1 - (1 - confidence)/m`` for ``m`` segments,
        so that they hold simultaneously.
    n_bootstrap : int, default 0
        For ``metric="mean"``: also give percentile-bootstrap limits
        (``boot_low``, ``boot_high``) at the same level as the intervals.
    seed : int, default 0
        Bootstrap seed.

    Returns
    -------
    DataFrame
        Indexed by segment with a first row ``"overall"`` (never adjusted), columns
        :data:`UPLIFT_COLUMNS`: group sizes, the treatment and control rate (or mean),
        ``uplift`` (difference), the interval, raw and adjusted p-values, and
        ``significant`` (adjusted p < 1 - confidence). ``attrs["adjustment"]`` states
        the adjustment in words.

    Raises
    ------
    InvalidDataError
        Missing columns or values, an outcome that is not 0/1 for proportions, a
        segment with fewer than 2 customers in a group (``metric="mean"``) or with an
        empty group, unknown options.

    Examples
    --------
    >>> from customer_value.experiment import uplift_by_segment
    >>> results = {"group": ["treatment", "control"] * 6,
    ...            "converted": [1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1],
    ...            "segment": ["vip"] * 6 + ["mass"] * 6}
    >>> table = uplift_by_segment(results, outcome_col="converted")
    >>> table[["n_treatment", "n_control", "uplift"]].round(3)
             n_treatment  n_control  uplift
    overall            6          6   0.333
    mass               3          3   0.333
    vip                3          3   0.333
    >>> table.attrs["adjustment"]
    'Holm (1979) step-down p-values over 2 segments; Bonferroni intervals at 97.5%
    each (95% family-wise)'
    """
    check_choice(metric, "metric", ("proportion", "mean"))
    check_choice(adjust, "adjust", ("holm", "bonferroni", "none"))
    level = check_scalar(
        confidence, "confidence", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    frame = as_frame(results, what="results")
    cols = [group_col, outcome_col] + ([segment_col] if segment_col is not None else [])
    require_columns(frame, cols, what="results")
    for column in cols:
        require_present(frame[column], column, index=frame.index, what="results")
    y = numeric_column(frame, outcome_col, what="results")
    if metric == "proportion":
        pos = first_bad((y != 0) & (y != 1))
        if pos is not None:
            raise InvalidDataError(
                f"results: column {outcome_col!r} must be 0 or 1 for metric='proportion'; "
                f"{describe_row(frame.index, pos)} has {outcome_col}={plain(y[pos])!r}"
            )
    group = frame[group_col].to_numpy()
    is_t, is_c = group == treatment, group == control
    for label, mask in ((treatment, is_t), (control, is_c)):
        if not mask.any():
            raise InvalidDataError(
                f"results: no row has {group_col}={plain(label)!r}; groups found: "
                + ", ".join(map(repr, sorted(map(str, pd.unique(group)))))
            )
    segments = pd.Index([])
    if segment_col is not None:
        segments = pd.Index(pd.unique(frame[segment_col])).sort_values()
    m = len(segments)
    seg_level = level if adjust == "none" or m == 0 else 1 - (1 - level) / m

    def one(mask: np.ndarray, at: float, name: Any) -> dict[str, Any]:
        t, c = y[mask & is_t], y[mask & is_c]
        if t.size == 0 or c.size == 0:
            raise InvalidDataError(
                f"results: segment {plain(name)!r} has no customers in the "
                f"{'treatment' if t.size == 0 else 'control'} group"
            )
        res: ProportionComparison | MeanComparison
        if metric == "proportion":
            res = compare_proportions(int(t.sum()), t.size, int(c.sum()), c.size, confidence=at)
            rates = (res.rate_treatment, res.rate_control)
            extra: dict[str, float] = {}
        else:
            if t.size < 2 or c.size < 2:
                raise InvalidDataError(
                    f"results: segment {plain(name)!r} needs at least 2 customers per group"
                )
            res = compare_means(t, c, confidence=at, n_bootstrap=n_bootstrap, seed=seed)
            rates = (res.mean_treatment, res.mean_control)
            extra = (
                {"boot_low": res.bootstrap_low, "boot_high": res.bootstrap_high}
                if n_bootstrap
                else {}
            )
        return {
            "n_treatment": t.size,
            "n_control": c.size,
            "treatment": rates[0],
            "control": rates[1],
            "uplift": res.difference,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "p_value": res.p_value,
            **extra,
        }

    rows: dict[Any, dict[str, Any]] = {
        "overall": one(np.ones(len(frame), dtype=bool), level, "overall")
    }
    if segment_col is not None:
        seg_values = frame[segment_col].to_numpy()
        for seg in segments:
            rows[seg] = one(np.asarray(seg_values == seg, dtype=bool), seg_level, seg)
    table = pd.DataFrame.from_dict(rows, orient="index")
    raw = table["p_value"].to_numpy()
    adjusted = raw.copy()
    adjusted[1:] = adjust_p_values(raw[1:], method=adjust)
    table["p_adjusted"] = adjusted
    table["significant"] = adjusted < 1 - level
    extra_cols = [c for c in ("boot_low", "boot_high") if c in table.columns]
    table = table[list(UPLIFT_COLUMNS) + extra_cols]
    words = {
        "holm": "Holm (1979) step-down p-values",
        "bonferroni": "Bonferroni p-values",
        "none": "no adjustment of p-values",
    }[adjust]
    if adjust == "none" or m == 0:
        statement = f"{words} over {m} segments; intervals at {level:.0%} each"
    else:
        statement = (
            f"{words} over {m} segments; Bonferroni intervals at {seg_level:.1%} each "
            f"({level:.0%} family-wise)"
        )
    table.attrs.update({"adjustment": statement, "metric": metric, "confidence": level})
    return table


@dataclass(frozen=True)
class IncrementalValue:
    """Value created by a campaign: uplift x value per customer x customers treated.

    Attributes
    ----------
    estimate, ci_low, ci_high : float
        Incremental value and its interval, in the currency of ``value``.
    per_customer : float
        ``estimate / customers``.
    customers : int
        Customers the value is counted over.

    Examples
    --------
    >>> from customer_value.experiment import incremental_value
    >>> incremental_value((0.02, 0.005, 0.035), 300.0, customers=1000).per_customer
    6.0
    """

    estimate: float
    ci_low: float
    ci_high: float
    per_customer: float
    customers: int

    def __repr__(self) -> str:
        return (
            f"IncrementalValue(estimate={self.estimate:,.2f}, "
            f"CI [{self.ci_low:,.2f}, {self.ci_high:,.2f}], customers={self.customers})"
        )


def incremental_value(
    uplift: ProportionComparison | MeanComparison | tuple[float, float, float],
    value: Any,
    *,
    customers: int = 1,
) -> IncrementalValue:
    """Incremental value of a campaign: uplift x customer lifetime value, with its interval.

    Parameters
    ----------
    uplift : ProportionComparison, MeanComparison or (estimate, low, high)
        The measured uplift: extra share of customers converted or retained, or extra
        value per customer (then ``value=1``).
    value : float or array-like of float
        Value of one extra conversion, typically the CLV of a retained customer
        (from :func:`customer_value.clv.customer_lifetime_value`); an array of
        per-customer CLVs uses its mean. Must be >= 0.
    customers : int, default 1
        Customers the campaign reaches (the treated group, or the roll-out size).

    Returns
    -------
    IncrementalValue
        ``estimate = uplift x value x customers`` and the interval from the uplift's.

    Raises
    ------
    InvalidDataError
        Negative or non-finite value, ``customers < 1``, an interval with low > high.

    Notes
    -----
    The interval carries the sampling uncertainty of the uplift only: the value per
    customer is treated as known, as it is when the CLV comes from a model fitted on
    far more customers than the experiment. Multiply, do not add: a 2-point retention
    uplift on 10,000 customers whose CLV is 300 is worth 0.02 x 300 x 10,000 = 60,000.

    Examples
    --------
    >>> from customer_value.experiment import compare_proportions, incremental_value
    >>> retention = compare_proportions(560, 1000, 500, 1000)
    >>> incremental_value(retention, 300.0, customers=10_000)
    IncrementalValue(estimate=180,000.00, CI [48,758.67, 310,270.73], customers=10000)
    """
    if isinstance(uplift, (ProportionComparison, MeanComparison)):
        est, low, high = uplift.difference, uplift.ci_low, uplift.ci_high
    else:
        try:
            est, low, high = (float(v) for v in uplift)
        except (TypeError, ValueError):
            raise InvalidDataError(
                "uplift must be a comparison result or a tuple (estimate, low, high)"
            ) from None
    for name, v in (("uplift", est), ("uplift low", low), ("uplift high", high)):
        check_scalar(v, name)
    if not low <= est <= high:
        raise InvalidDataError(
            f"uplift interval must satisfy low <= estimate <= high, got "
            f"({low!r}, {est!r}, {high!r})"
        )
    values = np.asarray(value, dtype=np.float64).ravel()
    if values.size == 0 or not np.isfinite(values).all() or (values < 0).any():
        raise InvalidDataError("value must be finite and >= 0")
    v = float(values.mean())
    n = check_scalar(customers, "customers", low=1.0)
    if n != int(n):
        raise InvalidDataError(f"customers must be a whole number, got {customers!r}")
    scale = v * n
    return IncrementalValue(est * scale, low * scale, high * scale, est * v, int(n))
