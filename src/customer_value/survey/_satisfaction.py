"""Customer satisfaction (CSAT, Wilson interval) and customer effort (CES, t interval)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from customer_value._validation import index_of, scale_answers, z_critical
from customer_value.errors import InvalidDataError
from customer_value.survey._common import check_confidence, check_scale

__all__ = ["CESResult", "CSATResult", "ces", "csat"]


@dataclass(frozen=True)
class CSATResult:
    """Share of satisfied customers with a Wilson score interval.

    Attributes
    ----------
    score : float
        Percent of valid answers that count as satisfied (0-100).
    ci_low, ci_high : float
        Wilson score interval in percent; always inside [0, 100].
    n : int
        Number of valid (non-missing) answers.
    n_satisfied : int
        Number of satisfied answers.
    n_missing : int
        Missing (NaN) answers dropped.
    confidence : float
        Confidence level of the interval.

    Examples
    --------
    >>> csat([5, 4, 4, 3, 1, 5]).score
    66.66...
    """

    score: float
    ci_low: float
    ci_high: float
    n: int
    n_satisfied: int
    n_missing: int
    confidence: float = 0.95


def _wilson(successes: float, n: float, confidence: float) -> tuple[float, float]:
    z = z_critical(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # The exact interval always contains p (and is [0, .] at p = 0, [., 1] at p = 1);
    # clamp so that rounding in centre - half never moves a bound past p.
    low = min(p, max(0.0, float(centre - half)))
    high = max(p, min(1.0, float(centre + half)))
    return low, high


def csat(
    ratings: Any,
    *,
    scale: tuple[float, float] = (1, 5),
    satisfied: tuple[float, ...] = (4, 5),
    confidence: float = 0.95,
) -> CSATResult:
    """Customer satisfaction score: the share of "satisfied" answers, with a Wilson interval.

    Parameters
    ----------
    ratings : array-like or pandas Series
        Whole-number answers on ``scale``; NaN marks a missing answer (dropped, counted).
    scale : (low, high), default (1, 5)
        The answer scale.
    satisfied : tuple of int, default (4, 5)
        The answers that count as satisfied (the "top-2 box" on a 1-5 scale).
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    CSATResult
        Percent satisfied, Wilson interval, counts.

    Raises
    ------
    InvalidDataError
        For non-numeric, fractional or off-scale answers (row and value named), a
        ``satisfied`` value off the scale, or when no answer is present.

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z = z_{1-\\gamma/2}`, the Wilson interval is

    .. math:: \\frac{\\hat p + z^2/(2n) \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/(4n^2)}}
              {1 + z^2/n},

    which stays inside [0, 1] and has a positive width even when all or none of the
    answers are satisfied (unlike the Wald interval).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA* 22(158), 209-212. Agresti, A. & Coull, B. A. (1998). Approximate is
    better than "exact" for interval estimation of binomial proportions. *The American
    Statistician* 52(2), 119-126.

    Examples
    --------
    >>> r = csat([5, 4, 4, 3, 1, 5, 5, 2, 4, 5])
    >>> r.score, r.n_satisfied, round(r.ci_low, 1), round(r.ci_high, 1)
    (70.0, 7, 39.7, 89.2)
    """
    conf = check_confidence(confidence)
    low, high = check_scale(scale)
    try:
        sat = np.asarray(list(satisfied), dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidDataError(f"satisfied must be a tuple of answers, got {satisfied!r}") from None
    if sat.size == 0 or np.any((sat < low) | (sat > high)) or np.any(sat != np.round(sat)):
        raise InvalidDataError(
            f"satisfied must be whole-number answers on the scale [{low:g}, {high:g}], "
            f"got {satisfied!r}"
        )
    values = scale_answers(ratings, "rating", low, high, index=index_of(ratings))
    present = ~np.isnan(values)
    n = int(present.sum())
    if n == 0:
        raise InvalidDataError(f"ratings: no valid rating among {values.size} value(s)")
    n_sat = int(np.isin(values[present], sat).sum())
    lo, hi = _wilson(n_sat, n, conf)
    return CSATResult(
        score=100.0 * n_sat / n,
        ci_low=100.0 * lo,
        ci_high=100.0 * hi,
        n=n,
        n_satisfied=n_sat,
        n_missing=int(values.size - n),
        confidence=conf,
    )


@dataclass(frozen=True)
class CESResult:
    """Mean customer effort score with a t interval and its direction.

    Attributes
    ----------
    mean : float
        Mean answer.
    standard_error : float
        ``sd / sqrt(n)`` (sample standard deviation, ``ddof=1``).
    ci_low, ci_high : float
        Student-t interval, clipped to the scale.
    n : int
        Valid answers.
    n_missing : int
        Missing answers dropped.
    scale : (float, float)
        The answer scale.
    higher_is_easier : bool
        Direction of the scale.
    direction : str
        ``"higher is easier"`` or ``"higher is more effort"``.
    confidence : float
        Confidence level of the interval.

    Examples
    --------
    >>> ces([6, 7, 5, 6, 2]).direction
    'higher is easier'
    """

    mean: float
    standard_error: float
    ci_low: float
    ci_high: float
    n: int
    n_missing: int
    scale: tuple[float, float]
    higher_is_easier: bool
    direction: str
    confidence: float = 0.95


def ces(
    ratings: Any,
    *,
    scale: tuple[float, float] = (1, 7),
    higher_is_easier: bool = True,
    confidence: float = 0.95,
) -> CESResult:
    """Customer effort score: the mean answer with a Student-t interval.

    Parameters
    ----------
    ratings : array-like or pandas Series
        Whole-number answers on ``scale`` (NaN = missing, dropped and counted).
    scale : (low, high), default (1, 7)
        The answer scale (CES 2.0 uses 1-7, "the company made it easy to handle my issue",
        strongly disagree .. strongly agree).
    higher_is_easier : bool, default True
        Whether a high answer means low effort. It is recorded in the result (``direction``)
        so a score is never read the wrong way round; the mean itself is not flipped.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    CESResult
        Mean, standard error, t interval, counts and direction.

    Raises
    ------
    InvalidDataError
        For non-numeric, fractional or off-scale answers (row and value named), or fewer
        than two valid answers (a t interval needs a standard deviation).

    Notes
    -----
    :math:`\\bar x \\pm t_{1-\\gamma/2,\\,n-1}\\, s/\\sqrt n`, clipped to the scale. When all
    answers are equal, :math:`s = 0` and the interval collapses to the mean.

    References
    ----------
    Dixon, M., Freeman, K. & Toman, N. (2010). Stop trying to delight your customers.
    *Harvard Business Review* 88(7/8), 116-122. Student (1908). The probable error of a
    mean. *Biometrika* 6(1), 1-25.

    Examples
    --------
    >>> r = ces([6, 7, 5, 6, 2, 7, 6])
    >>> round(r.mean, 2), round(r.ci_low, 2), round(r.ci_high, 2), r.direction
    (5.57, 3.98, 7.0, 'higher is easier')
    """
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    conf = check_confidence(confidence)
    low, high = check_scale(scale)
    if not isinstance(higher_is_easier, (bool, np.bool_)):
        raise InvalidDataError(f"higher_is_easier must be True or False, got {higher_is_easier!r}")
    values = scale_answers(ratings, "rating", low, high, index=index_of(ratings))
    present = values[~np.isnan(values)]
    n = int(present.size)
    if n < 2:
        raise InvalidDataError(
            f"ratings: a t interval needs at least two valid answers, got {n} "
            f"(of {values.size} value(s))"
        )
    mean = float(present.mean())
    se = float(present.std(ddof=1) / np.sqrt(n))
    t = float(stats.t.ppf(0.5 + conf / 2.0, df=n - 1))
    return CESResult(
        mean=mean,
        standard_error=se,
        ci_low=float(np.clip(mean - t * se, low, high)),
        ci_high=float(np.clip(mean + t * se, low, high)),
        n=n,
        n_missing=int(values.size - n),
        scale=(low, high),
        higher_is_easier=bool(higher_is_easier),
        direction="higher is easier" if higher_is_easier else "higher is more effort",
        confidence=conf,
    )
