"""Internal-consistency reliability: Cronbach's alpha with Feldt's interval, item analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from customer_value._validation import FloatArray, check_choice
from customer_value.errors import InvalidDataError
from customer_value.survey._common import check_confidence, item_matrix, pow2_scale

__all__ = ["AlphaResult", "cronbach_alpha", "item_analysis"]

NanPolicy = Literal["pairwise", "listwise"]


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha with Feldt's confidence interval.

    Attributes
    ----------
    alpha : float
        Raw coefficient alpha (from the item covariance matrix); at most 1.
    ci_low, ci_high : float
        Feldt, Woodruff & Salih (1987) interval.
    n_respondents : int
        Respondents used: rows with at least one answer (pairwise) or complete rows
        (listwise). Feldt's interval uses this ``n``.
    n_items : int
        Number of items.
    standardized_alpha : float
        Alpha from the item correlation matrix (psych's ``std.alpha``).
    average_r : float
        Mean inter-item correlation.
    nan_policy : str
        ``"pairwise"`` or ``"listwise"``.
    confidence : float
        Confidence level of the interval.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> round(cronbach_alpha(df).alpha, 3)
    0.954
    """

    alpha: float
    ci_low: float
    ci_high: float
    n_respondents: int
    n_items: int
    standardized_alpha: float
    average_r: float
    nan_policy: str
    confidence: float = 0.95


def _covariance(
    matrix: FloatArray, names: list[str], nan_policy: str, *, what: str
) -> tuple[FloatArray, int, FloatArray, float]:
    """Item covariance matrix (ddof=1) under the NaN policy, respondents used, the data and
    the scale.

    The covariance is that of ``data / scale``, a power of two near the largest answer:
    alpha and the correlations do not depend on a common unit, and squares of answers as
    large as 1e200 or as small as 1e-200 then neither overflow nor underflow. Multiply by
    ``scale**2`` for the covariance in the data's unit.
    """
    k = matrix.shape[1]
    if k < 2:
        raise InvalidDataError(
            f"{what}: reliability needs at least two items, got {k} ({', '.join(names)})"
        )
    scale = float(pow2_scale(matrix))
    if nan_policy == "listwise":
        matrix = matrix[~np.isnan(matrix).any(axis=1)]
        n = matrix.shape[0]
        if n < 2:
            raise InvalidDataError(
                f"{what}: at least two respondents with complete answers are needed, got {n}"
            )
        cov = np.cov(matrix / scale, rowvar=False, ddof=1)
    else:
        n = int((~np.isnan(matrix)).any(axis=1).sum())
        if n < 2:
            raise InvalidDataError(f"{what}: at least two respondents are needed, got {n}")
        # pandas computes each covariance over the rows where both items are answered,
        # with each pair's own means, as R's cov(use = "pairwise.complete.obs") does
        cov = pd.DataFrame(matrix / scale).cov(min_periods=2).to_numpy(dtype=np.float64)
        bad = np.argwhere(np.isnan(cov))
        if bad.size:
            i, j = bad[0]
            raise InvalidDataError(
                f"{what}: items {names[i]!r} and {names[j]!r} are answered together by fewer "
                "than two respondents; their covariance is undefined (use fewer items)"
            )
    # An item is constant when all its answers are equal; test that exactly, since the
    # floating-point variance of, say, seven answers 0.1 is 2e-34, not 0.
    answered = ~np.isnan(matrix)
    with np.errstate(invalid="ignore"):
        top = np.where(answered, matrix, -np.inf).max(axis=0)
        bottom = np.where(answered, matrix, np.inf).min(axis=0)
    variances = np.diag(cov)
    zero = np.flatnonzero((top == bottom) | ~(variances > 0))
    if zero.size:
        raise InvalidDataError(
            f"{what}: item {names[zero[0]]!r} has zero variance (every respondent gave the "
            "same answer); drop it before computing reliability"
        )
    return np.asarray(cov, dtype=np.float64), n, matrix, scale


def _alpha_from_cov(cov: FloatArray) -> float:
    k = cov.shape[0]
    total = float(cov.sum())
    return float(k / (k - 1) * (1.0 - float(np.trace(cov)) / total))


def _feldt(alpha: float, n: int, k: int, confidence: float) -> tuple[float, float]:
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    gamma = 1.0 - confidence
    df1 = n - 1
    df2 = (n - 1) * (k - 1)
    f_hi = float(stats.f.ppf(1.0 - gamma / 2.0, df1, df2))
    f_lo = float(stats.f.ppf(gamma / 2.0, df1, df2))
    return 1.0 - (1.0 - alpha) * f_hi, 1.0 - (1.0 - alpha) * f_lo


def cronbach_alpha(
    data: Any,
    *,
    items: Sequence[str] | None = None,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "pairwise",
) -> AlphaResult:
    """Cronbach's coefficient alpha of a multi-item scale, with Feldt's confidence interval.

    Parameters
    ----------
    data : DataFrame or mapping of column name to array
        Respondents x items; NaN marks an unanswered item.
    items : list of str, optional
        The item columns (default: every column).
    confidence : float, default 0.95
        Confidence level of the interval.
    nan_policy : {"pairwise", "listwise"}, default "pairwise"
        ``"pairwise"``: each covariance uses the respondents who answered both items
        (R psych's default ``use = "pairwise"``). ``"listwise"``: only respondents who
        answered every item.

    Returns
    -------
    AlphaResult
        Alpha, its interval, counts, standardised alpha and the mean inter-item correlation.

    Raises
    ------
    InvalidDataError
        Fewer than two items, fewer than two respondents, non-numeric or infinite answers
        (row and value named), an item without variance, a pair of items never answered
        together, or a total-score variance that is not positive.

    Notes
    -----
    With item covariance matrix :math:`C` (:math:`k` items),

    .. math:: \\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\operatorname{tr} C}{\\mathbf 1^\\top C
              \\mathbf 1}\\right)

    (Cronbach 1951); the standardised alpha uses the correlation matrix, which
    equals the Spearman-Brown form :math:`k\\bar r / (1 + (k-1)\\bar r)`. Since
    :math:`\\operatorname{tr} C > 0`, :math:`\\alpha < 1` always. Feldt's interval
    (Feldt, Woodruff & Salih 1987, p. 95, eq. 6) treats :math:`(1-\\alpha)/(1-\\hat\\alpha)` as
    :math:`F(n-1, (n-1)(k-1))`:

    .. math:: [\\,1 - (1-\\hat\\alpha)F_{1-\\gamma/2},\\; 1 - (1-\\hat\\alpha)F_{\\gamma/2}\\,].

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika* 16(3), 297-334. Feldt, L. S., Woodruff, D. J. & Salih, F. A. (1987).
    Statistical inference for coefficient alpha. *Applied Psychological Measurement*
    11(1), 93-103. Revelle, W. psych: ``alpha`` (R package).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [4, 5, 3, 4, 2, 5], "q2": [4, 4, 3, 5, 2, 5],
    ...                    "q3": [3, 5, 2, 4, 1, 4]})
    >>> r = cronbach_alpha(df)
    >>> round(r.alpha, 3), r.n_respondents, r.n_items
    (0.95, 6, 3)
    >>> round(r.ci_low, 3), round(r.ci_high, 3)
    (0.789, 0.992)
    """
    conf = check_confidence(confidence)
    check_choice(nan_policy, "nan_policy", ("pairwise", "listwise"))
    what = "data"
    matrix, names, _ = item_matrix(data, items, what=what)
    cov, n, _, scale = _covariance(matrix, names, nan_policy, what=what)
    if not float(cov.sum()) > 0:
        raise InvalidDataError(
            f"{what}: the variance of the total score is not positive "
            f"({float(cov.sum()) * scale * scale:.3g}); alpha is undefined (check for "
            "reverse-worded items)"
        )
    k = cov.shape[0]
    alpha = _alpha_from_cov(cov)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    if not float(corr.sum()) > 1e-9 * k * k:
        # sum(corr) = k (1 + (k - 1) r_bar): zero when the items cancel out exactly
        # (for two items, r = -1), where the standardised alpha diverges.
        raise InvalidDataError(
            f"{what}: the items cancel out (average inter-item correlation "
            f"{float((corr.sum() - k) / (k * (k - 1))):.3g}); the standardised alpha is "
            "undefined (check for reverse-worded items)"
        )
    std_alpha = _alpha_from_cov(corr)
    average_r = float((corr.sum() - k) / (k * (k - 1)))
    lo, hi = _feldt(alpha, n, k, conf)
    return AlphaResult(
        alpha=alpha,
        ci_low=lo,
        ci_high=hi,
        n_respondents=n,
        n_items=k,
        standardized_alpha=std_alpha,
        average_r=average_r,
        nan_policy=nan_policy,
        confidence=conf,
    )


def item_analysis(
    data: Any, *, items: Sequence[str] | None = None, nan_policy: NanPolicy = "pairwise"
) -> pd.DataFrame:
    """Per-item statistics of a scale: mean, item-rest correlation, alpha if item deleted.

    Parameters
    ----------
    data : DataFrame or mapping of column name to array
        Respondents x items; NaN marks an unanswered item.
    items : list of str, optional
        The item columns (default: every column).
    nan_policy : {"pairwise", "listwise"}, default "pairwise"
        As in :func:`cronbach_alpha`.

    Returns
    -------
    DataFrame
        Indexed by item: ``n`` (answers), ``mean``, ``sd``, ``item_rest_correlation``
        (psych's ``r.drop``) and ``alpha_if_deleted`` (psych's ``raw_alpha`` under
        "Reliability if an item is dropped").

    Raises
    ------
    InvalidDataError
        Fewer than three items (alpha of the remaining items needs two), fewer than two
        respondents, non-numeric answers, or an item without variance.

    Notes
    -----
    From the covariance matrix :math:`C`: the item-rest correlation of item :math:`i` is
    :math:`\\sum_{j\\ne i} C_{ij} / \\sqrt{C_{ii} \\sum_{j,l \\ne i} C_{jl}}`, the
    correlation of the item with the sum of the other items; alpha if deleted is
    Cronbach's alpha of :math:`C` without row and column :math:`i`.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika* 16(3), 297-334. Revelle, W. psych: ``alpha`` (R package).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [4, 5, 3, 4, 2, 5], "q2": [4, 4, 3, 5, 2, 5],
    ...                    "q3": [3, 5, 2, 4, 1, 4]})
    >>> item_analysis(df).round(2)
          n  mean    sd  item_rest_correlation  alpha_if_deleted
    item
    q1    6  3.83  1.17                   0.95              0.90
    q2    6  3.83  1.17                   0.85              0.96
    q3    6  3.17  1.47                   0.93              0.92
    """
    check_choice(nan_policy, "nan_policy", ("pairwise", "listwise"))
    what = "data"
    matrix, names, _ = item_matrix(data, items, what=what)
    k = matrix.shape[1]
    if k < 3:
        raise InvalidDataError(
            f"{what}: item analysis needs at least three items (alpha if an item is deleted "
            f"needs two left), got {k}"
        )
    cov, _, used, scale = _covariance(matrix, names, nan_policy, what=what)
    row_sums = cov.sum(axis=1)
    total = float(cov.sum())
    diag = np.diag(cov)
    rest_var = total - 2.0 * row_sums + diag
    cov_rest = row_sums - diag
    with np.errstate(invalid="ignore", divide="ignore"):
        r_rest = np.where(rest_var > 0, cov_rest / np.sqrt(diag * np.abs(rest_var)), 0.0)
    alpha_del = np.empty(k)
    for i in range(k):  # k items, not respondents: a short loop
        keep = np.arange(k) != i
        sub = cov[np.ix_(keep, keep)]
        s = float(sub.sum())
        if not s > 0:
            raise InvalidDataError(
                f"{what}: without item {names[i]!r} the total-score variance is not positive"
            )
        alpha_del[i] = _alpha_from_cov(sub)
    counts = np.sum(~np.isnan(used), axis=0)
    return pd.DataFrame(
        {
            "n": counts.astype(np.int64),
            "mean": np.nanmean(used / scale, axis=0) * scale,
            "sd": np.sqrt(diag) * scale,
            "item_rest_correlation": r_rest,
            "alpha_if_deleted": alpha_del,
        },
        index=pd.Index(names, name="item"),
    )
