"""How good is a churn score? AUC, Brier score, log loss, lift/gain and calibration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import (
    BoolArray,
    FloatArray,
    check_in_range,
    check_scalar,
    describe_row,
    first_bad,
    numeric_array,
)
from customer_value.errors import InvalidDataError

__all__ = ["ChurnEvaluation", "as_boolean", "evaluate_churn"]

_EPS = 1e-15


def as_boolean(values: Any, name: str, *, index: pd.Index[Any] | None = None) -> BoolArray:
    """Booleans, or numbers that are exactly 0/1; anything else raises naming the value."""
    raw = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else np.asarray(values)
    raw = raw.reshape(-1)
    if raw.dtype == np.bool_:
        return raw
    if raw.dtype.kind in "iuf":
        bad = ~np.isin(raw, (0, 1))
    elif raw.dtype.kind == "O":
        bad = np.array(
            [
                not (isinstance(v, (bool, np.bool_)) or (type(v) in (int, float) and v in (0, 1)))
                for v in raw
            ],
            dtype=np.bool_,
        )
    else:
        bad = np.ones(raw.shape, dtype=np.bool_)
    pos = first_bad(bad)
    if pos is not None:
        value = raw[pos].item() if isinstance(raw[pos], np.generic) else raw[pos]
        raise InvalidDataError(
            f"{name} must be boolean (True/False or 0/1); {describe_row(index, pos)} has "
            f"{name}={value!r}"
        )
    return raw.astype(np.bool_)


@dataclass(frozen=True, eq=False)
class ChurnEvaluation:
    """Scores of a churn prediction (returned by :func:`evaluate_churn`).

    Attributes
    ----------
    auc : float
        Area under the ROC curve (probability that a churner scores above a stayer).
    brier : float
        Mean squared error of the scores as probabilities.
    log_loss : float
        Mean negative log-likelihood of the outcomes under the scores.
    n : int
        Number of customers.
    n_churned : int
        Number of churners.
    base_rate : float
        ``n_churned / n``.
    lift : DataFrame
        Decile lift and cumulative gain table (highest scores first).
    calibration : DataFrame
        Mean predicted score against observed churn rate per score bin.

    Examples
    --------
    >>> from customer_value.churn import evaluate_churn
    >>> ev = evaluate_churn([True, False, True, False], [0.9, 0.2, 0.6, 0.4])
    >>> ev.auc
    1.0
    """

    auc: float
    brier: float
    log_loss: float
    n: int
    n_churned: int
    base_rate: float
    lift: pd.DataFrame = field(repr=False)
    calibration: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"ChurnEvaluation(auc={self.auc:.4f}, brier={self.brier:.4f}, "
            f"log_loss={self.log_loss:.4f}, n={self.n}, n_churned={self.n_churned}, "
            f"base_rate={self.base_rate:.4f})"
        )


def _auc(y: BoolArray, s: FloatArray) -> float:
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    ranks = stats.rankdata(s)  # average ranks: ties count one half
    n1 = int(y.sum())
    n0 = y.size - n1
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _lift_table(y: BoolArray, s: FloatArray, n_bins: int) -> pd.DataFrame:
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    n = y.size
    # rank from the top, ties sharing their lowest position: equal scores share a bin
    top_rank = stats.rankdata(-s, method="max")
    group = np.ceil(n_bins * top_rank / n).astype(np.int64)
    group = np.clip(group, 1, n_bins)
    count = np.bincount(group, minlength=n_bins + 1)[1:]
    churned = np.bincount(group, weights=y.astype(np.float64), minlength=n_bins + 1)[1:]
    keep = count > 0
    count, churned = count[keep], churned[keep]
    bins = np.arange(1, n_bins + 1)[keep]
    s_min = pd.Series(s).groupby(group).min().to_numpy()
    s_max = pd.Series(s).groupby(group).max().to_numpy()
    base = y.mean()
    rate = churned / count
    cum_n = np.cumsum(count)
    cum_churned = np.cumsum(churned)
    return pd.DataFrame(
        {
            "n": count,
            "n_churned": churned.astype(np.int64),
            "churn_rate": rate,
            "min_score": s_min,
            "max_score": s_max,
            "lift": rate / base,
            "cumulative_share": cum_n / n,
            "cumulative_gain": cum_churned / y.sum(),
            "cumulative_lift": (cum_churned / cum_n) / base,
        },
        index=pd.Index(bins, name="decile" if n_bins == 10 else "bin"),
    )


def _calibration_table(y: BoolArray, s: FloatArray, n_bins: int) -> pd.DataFrame:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    group = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(group, minlength=n_bins)
    keep = count > 0
    pred = np.bincount(group, weights=s, minlength=n_bins)[keep] / count[keep]
    obs = np.bincount(group, weights=y.astype(np.float64), minlength=n_bins)[keep] / count[keep]
    return pd.DataFrame(
        {
            "bin_low": edges[:-1][keep],
            "bin_high": edges[1:][keep],
            "n": count[keep],
            "mean_predicted": pred,
            "observed_rate": obs,
        },
        index=pd.RangeIndex(int(keep.sum()), name="bin"),
    )


def evaluate_churn(y_true: Any, scores: Any, *, n_bins: int = 10) -> ChurnEvaluation:
    """Evaluate churn scores against observed churn.

    Parameters
    ----------
    y_true : array-like of bool
        True where the customer churned (booleans or 0/1).
    scores : array-like of float
        Predicted churn probabilities in [0, 1] (for example ``churn_probability`` from
        :func:`churn_risk` or ``risk_score`` from :func:`recency_risk`). When both
        inputs are Series they are aligned on their index (customer id).
    n_bins : int, default 10
        Number of groups for the lift table (deciles) and of equal-width bins for the
        calibration table.

    Returns
    -------
    ChurnEvaluation
        ``auc``, ``brier``, ``log_loss``, counts, and the ``lift`` and ``calibration``
        tables.

    Raises
    ------
    InvalidDataError
        ``y_true`` not boolean, scores outside [0, 1] or not finite, different lengths,
        Series whose indexes do not match, or only one class present (AUC is then
        undefined).

    Notes
    -----
    With ``n_1`` churners, ``n_0`` stayers and ``R_1`` the sum of the churners' ranks
    among all scores (ties get average ranks),

    .. math::

        \\mathrm{AUC} = \\frac{R_1 - n_1 (n_1 + 1) / 2}{n_1 n_0},\\qquad
        \\mathrm{Brier} = \\frac{1}{n}\\sum_i (s_i - y_i)^2,\\qquad
        \\mathrm{LL} = -\\frac{1}{n}\\sum_i y_i \\log s_i + (1 - y_i)\\log(1 - s_i),

    the AUC being the Mann-Whitney statistic (Hanley & McNeil 1982) and the
    log loss using scores clipped to ``[1e-15, 1 - 1e-15]``. Lift table: customers are
    sorted by score, highest first, and cut into ``n_bins`` groups of (nearly) equal
    size; customers with equal scores always share a group, so groups can differ in
    size. ``lift`` is a group's churn rate over the base rate, ``cumulative_gain`` the
    share of all churners found in the top groups so far.

    References
    ----------
    Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a
    receiver operating characteristic (ROC) curve. *Radiology* 143(1), 29-36.

    Brier, G. W. (1950). Verification of forecasts expressed in terms of probability.
    *Monthly Weather Review* 78(1), 1-3.

    Examples
    --------
    >>> from customer_value.churn import evaluate_churn
    >>> ev = evaluate_churn([1, 0, 1, 0, 0], [0.8, 0.3, 0.4, 0.5, 0.1], n_bins=5)
    >>> round(ev.auc, 4), round(ev.brier, 3)
    (0.8333, 0.15)
    >>> ev.lift["cumulative_gain"].round(2).tolist()
    [0.5, 0.5, 1.0, 1.0, 1.0]
    """
    bins = int(check_scalar(n_bins, "n_bins", low=1.0))
    if bins != n_bins:
        raise InvalidDataError(f"n_bins must be a whole number, got {n_bins!r}")
    index = y_true.index if isinstance(y_true, pd.Series) else None
    if index is not None and isinstance(scores, pd.Series) and not scores.index.equals(index):
        if not (index.is_unique and scores.index.is_unique) or len(index) != len(scores):
            raise InvalidDataError(
                "y_true and scores are Series with different indexes: pass them aligned"
            )
        missing = index.difference(scores.index)
        if len(missing):
            raise InvalidDataError(
                f"scores has no value for customer {missing.tolist()[0]!r} of y_true"
            )
        scores = scores.reindex(index)  # align by customer, not by position
    y = as_boolean(y_true, "y_true", index=index)
    s = numeric_array(scores, "scores", what="scores")
    if s.size != y.size:
        raise InvalidDataError(
            f"y_true and scores must have the same length, got {y.size} and {s.size}"
        )
    check_in_range(s, "scores", 0.0, 1.0, what="scores")
    n1 = int(y.sum())
    if n1 == 0 or n1 == y.size:
        raise InvalidDataError(
            f"y_true holds only {'churners' if n1 else 'stayers'} ({y.size} rows): AUC, lift "
            "and calibration need both classes"
        )
    yf = y.astype(np.float64)
    clipped = np.clip(s, _EPS, 1.0 - _EPS)
    log_loss = -float(np.mean(yf * np.log(clipped) + (1.0 - yf) * np.log1p(-clipped)))
    return ChurnEvaluation(
        auc=_auc(y, s),
        brier=float(np.mean((s - yf) ** 2)),
        log_loss=log_loss,
        n=int(y.size),
        n_churned=n1,
        base_rate=n1 / y.size,
        lift=_lift_table(y, s, bins),
        calibration=_calibration_table(y, s, bins),
    )
