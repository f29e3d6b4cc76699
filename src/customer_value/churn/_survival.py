"""Kaplan-Meier survival curves with Greenwood variance and log-log intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import (
    check_nonnegative,
    check_scalar,
    check_weights,
    numeric_array,
    z_critical,
)
from customer_value.churn._evaluation import as_boolean
from customer_value.errors import InvalidDataError

__all__ = ["kaplan_meier"]


def kaplan_meier(
    durations: Any,
    observed: Any,
    *,
    weights: Any = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Kaplan-Meier estimate of the survival (retention) curve.

    Parameters
    ----------
    durations : array-like of float
        Time from the start (for example the first purchase) to churn or to censoring,
        >= 0, in any unit.
    observed : array-like of bool
        True when churn was observed at that time, False when the customer was still
        active (right-censored).
    weights : array-like of float, optional
        Case weights (for example the number of customers sharing a row), >= 0.
    confidence : float, default 0.95
        Level of the pointwise confidence interval, in (0, 1).

    Returns
    -------
    DataFrame
        Indexed by ``time`` (0 and every distinct duration), with ``at_risk``,
        ``events``, ``censored`` (weighted counts), ``survival``, ``std_error``
        (Greenwood) and ``lower``/``upper`` (log-log interval).

    Raises
    ------
    InvalidDataError
        Negative or non-finite durations, ``observed`` not boolean, different lengths,
        bad weights or a confidence level outside (0, 1).

    Notes
    -----
    With ``d_j`` events and ``n_j`` at risk at the distinct times ``t_j``,

    .. math::

        \\hat S(t) = \\prod_{t_j \\le t} \\Big(1 - \\frac{d_j}{n_j}\\Big),\\qquad
        \\widehat{\\mathrm{Var}}\\,\\hat S(t) = \\hat S(t)^2 \\sum_{t_j \\le t}
        \\frac{d_j}{n_j (n_j - d_j)}

    (Kaplan & Meier 1958; Greenwood's formula). The interval is computed on
    ``log(-log S)`` (Kalbfleisch & Prentice 2002, ch. 1):
    ``S^exp(±z σ / log S)`` with ``σ²`` the Greenwood sum, which keeps it inside [0, 1].
    The same choice as R ``survival`` (``conf.type="log-log"``), lifelines and
    ``scipy.stats.ecdf(...).sf.confidence_interval(method="log-log")``; unlike scipy, this
    function takes case weights. Where
    ``S`` is 1 the interval is [1, 1]; where ``S`` reaches 0 it is [0, 0].

    References
    ----------
    Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete
    observations. *Journal of the American Statistical Association* 53(282), 457-481.

    Kalbfleisch, J. D. & Prentice, R. L. (2002). *The Statistical Analysis of Failure
    Time Data*, 2nd ed. Wiley.

    Examples
    --------
    >>> from customer_value.churn import kaplan_meier
    >>> km = kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False])
    >>> km["survival"].round(3).tolist()
    [1.0, 0.8, 0.6, 0.3, 0.3]
    >>> km.loc[3.0, ["lower", "upper"]].round(3).tolist()
    [0.012, 0.719]
    """
    level = check_scalar(
        confidence,
        "confidence",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )

    def labels(values: Any) -> pd.Index[Any] | None:
        # name the customer (Series label) in error messages, not only the position
        return values.index if isinstance(values, pd.Series) else None

    t_index = labels(durations)
    t = numeric_array(durations, "durations", index=t_index, what="durations")
    check_nonnegative(t, "durations", index=t_index, what="durations")
    d = as_boolean(observed, "observed", index=labels(observed))
    if d.size != t.size:
        raise InvalidDataError(
            f"durations and observed must have the same length, got {t.size} and {d.size}"
        )
    if t.size == 0:
        raise InvalidDataError("durations is empty: at least one customer is needed")
    w = (
        np.ones(t.size)
        if weights is None
        else check_weights(weights, t.size, index=labels(weights))
    )

    times, inverse = np.unique(t, return_inverse=True)
    inverse = inverse.reshape(-1)
    events = np.bincount(inverse, weights=w * d, minlength=times.size)
    leaving = np.bincount(inverse, weights=w, minlength=times.size)
    if times[0] > 0:  # the curve starts at S(0) = 1 with everybody at risk
        times = np.concatenate(([0.0], times))
        events = np.concatenate(([0.0], events))
        leaving = np.concatenate(([0.0], leaving))
    at_risk = leaving[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_risk > 0, events / at_risk, 0.0)
        survival = np.cumprod(1.0 - hazard)
        remaining = at_risk - events
        greenwood_terms = np.where(remaining > 0, events / (at_risk * remaining), np.inf)
        greenwood_terms = np.where(events > 0, greenwood_terms, 0.0)
    greenwood = np.cumsum(greenwood_terms)
    dead = survival <= 0
    survival = np.where(dead, 0.0, survival)
    std_error = np.where(dead, 0.0, survival * np.sqrt(np.where(dead, 0.0, greenwood)))
    z = z_critical(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(survival)
        spread = np.where(log_s < 0, z * np.sqrt(greenwood) / log_s, 0.0)
        lower = np.where(dead, 0.0, survival ** np.exp(-spread))
        upper = np.where(dead, 0.0, survival ** np.exp(spread))
    return pd.DataFrame(
        {
            "at_risk": at_risk,
            "events": events,
            "censored": leaving - events,
            "survival": survival,
            "std_error": std_error,
            "lower": np.minimum(lower, upper),
            "upper": np.maximum(lower, upper),
        },
        index=pd.Index(times, name="time"),
    )
