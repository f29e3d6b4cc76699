"""Net Promoter Score with its sampling uncertainty, comparisons and per-group tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from customer_value._engine import is_engine
from customer_value._validation import (
    FloatArray,
    as_frame,
    index_of,
    require_columns,
    require_present,
    scale_answers,
    z_critical,
)
from customer_value.errors import InvalidDataError
from customer_value.survey._common import case_weights, check_confidence, pow2_scale
from customer_value.survey._nps_engine import nps_by_engine
from customer_value.survey._nps_table import group_table, nps_arrays

__all__ = ["NPSComparison", "NPSResult", "compare_nps", "net_promoter_score", "nps_by"]


@dataclass(frozen=True)
class NPSResult:
    """A Net Promoter Score with its standard error and confidence interval.

    Attributes
    ----------
    score : float
        Net Promoter Score on the -100..100 scale: percent promoters minus percent detractors.
    standard_error : float
        Standard error of ``score`` (same scale). Zero when every answer falls in one
        category (all promoters, a single respondent, ...): the plug-in variance is then
        zero and the interval collapses to the score.
    ci_low, ci_high : float
        Wald confidence interval, clipped to [-100, 100].
    n : int
        Number of valid (non-missing) ratings.
    n_missing : int
        Number of missing (NaN) ratings that were dropped.
    n_effective : float
        Sample size used for the standard error: ``n`` without weights, Kish's effective
        sample size ``(sum w)^2 / sum w^2`` with weights.
    detractors, passives, promoters : float
        (Weighted) counts of ratings 0-6, 7-8 and 9-10.
    share_detractors, share_passives, share_promoters : float
        The same as shares of the total.
    confidence : float
        Confidence level of the interval.

    Examples
    --------
    >>> r = NPSResult.from_counts(detractors=20, passives=30, promoters=50)
    >>> r.score, round(r.standard_error, 2)
    (30.0, 7.81)
    """

    score: float
    standard_error: float
    ci_low: float
    ci_high: float
    n: int
    n_missing: int
    n_effective: float
    detractors: float
    passives: float
    promoters: float
    share_detractors: float
    share_passives: float
    share_promoters: float
    confidence: float = 0.95

    @classmethod
    def from_counts(
        cls,
        *,
        detractors: float,
        passives: float,
        promoters: float,
        confidence: float = 0.95,
        n_missing: int = 0,
    ) -> NPSResult:
        """Build the result from the counts of detractors, passives and promoters.

        Parameters
        ----------
        detractors, passives, promoters : int
            Number of respondents answering 0-6, 7-8 and 9-10. Non-negative whole
            numbers, not all zero.
        confidence : float, default 0.95
            Confidence level of the Wald interval.
        n_missing : int, default 0
            Missing answers to record in the result.

        Returns
        -------
        NPSResult

        Raises
        ------
        InvalidDataError
            For negative, fractional or non-finite counts, or when all counts are zero.

        Notes
        -----
        With shares :math:`p_+, p_0, p_-` the score is :math:`100(p_+ - p_-)` and its
        multinomial variance is :math:`100^2\\,[p_+ + p_- - (p_+ - p_-)^2] / n`.

        References
        ----------
        Reichheld, F. F. (2003). The one number you need to grow. *Harvard Business
        Review* 81(12), 46-54.

        Examples
        --------
        >>> r = NPSResult.from_counts(detractors=10, passives=20, promoters=70)
        >>> r.score, r.n, round(r.ci_low, 1), round(r.ci_high, 1)
        (60.0, 100, 47.0, 73.0)
        """
        conf = check_confidence(confidence)
        counts = {"detractors": detractors, "passives": passives, "promoters": promoters}
        values: dict[str, float] = {}
        for name, value in counts.items():
            try:
                x = float(value)
            except (TypeError, ValueError):
                raise InvalidDataError(f"{name} must be a count, got {value!r}") from None
            if not np.isfinite(x) or x < 0 or x != round(x):
                raise InvalidDataError(f"{name} must be a non-negative whole number, got {value!r}")
            values[name] = x
        n = values["detractors"] + values["passives"] + values["promoters"]
        if n == 0:
            raise InvalidDataError("at least one of detractors, passives, promoters must be > 0")
        if (
            isinstance(n_missing, bool)
            or not isinstance(n_missing, (int, np.integer))
            or n_missing < 0
        ):
            raise InvalidDataError(f"n_missing must be a whole number >= 0, got {n_missing!r}")
        return _result(
            values["detractors"],
            values["passives"],
            values["promoters"],
            n=int(n),
            n_missing=int(n_missing),
            n_effective=n,
            confidence=conf,
        )


def _result(
    detractors: float,
    passives: float,
    promoters: float,
    *,
    n: int,
    n_missing: int,
    n_effective: float,
    confidence: float,
    count_scale: float = 1.0,
) -> NPSResult:
    """The result from (scaled) counts; reported counts are the given ones times ``count_scale``.

    Shares come from the scaled counts, so weights as large as 1e300 give finite shares.
    """
    arr = nps_arrays(
        np.array([detractors]),
        np.array([passives]),
        np.array([promoters]),
        np.array([n_effective]),
        confidence,
    )
    return NPSResult(
        score=float(arr["score"][0]),
        standard_error=float(arr["standard_error"][0]),
        ci_low=float(arr["ci_low"][0]),
        ci_high=float(arr["ci_high"][0]),
        n=n,
        n_missing=n_missing,
        n_effective=float(n_effective),
        detractors=float(detractors) * count_scale,
        passives=float(passives) * count_scale,
        promoters=float(promoters) * count_scale,
        share_detractors=float(arr["share_detractors"][0]),
        share_passives=float(arr["share_passives"][0]),
        share_promoters=float(arr["share_promoters"][0]),
        confidence=confidence,
    )


def _categories(ratings: FloatArray) -> Any:
    """0 = detractor (0-6), 1 = passive (7-8), 2 = promoter (9-10) for valid ratings."""
    return (ratings >= 7).astype(np.int64) + (ratings >= 9)


def net_promoter_score(ratings: Any, *, weights: Any = None, confidence: float = 0.95) -> NPSResult:
    """Net Promoter Score of 0-10 likelihood-to-recommend ratings, with uncertainty.

    Parameters
    ----------
    ratings : array-like or pandas Series
        Answers to "How likely are you to recommend us?" as whole numbers 0-10. NaN marks
        a missing answer: it is dropped and counted in ``n_missing``.
    weights : array-like, optional
        Non-negative survey (case) weights, one per rating.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    NPSResult
        Score on the -100..100 scale, counts and shares, standard error and interval.

    Raises
    ------
    InvalidDataError
        For a non-numeric rating, a rating off the 0-10 scale or not a whole number (the
        message names the row and value), bad weights, or when no rating is present.

    Notes
    -----
    Promoters answer 9-10, passives 7-8, detractors 0-6. With the indicator
    :math:`D_i = 1` (promoter), :math:`-1` (detractor), :math:`0` (passive), the score is
    :math:`100\\,\\bar D` and, the counts being multinomial,

    .. math:: \\operatorname{Var}(\\mathrm{NPS}) = 100^2\\,\\frac{p_+ + p_- - (p_+ - p_-)^2}{n}.

    The interval is Wald's, :math:`\\mathrm{NPS} \\pm z_{1-\\gamma/2}\\,\\mathrm{SE}`, clipped
    to [-100, 100]. With weights the shares are weighted and :math:`n` is Kish's effective
    sample size. When every answer lies in one category the plug-in variance is zero: the
    standard error is 0 and the interval collapses to the score (report ``n`` alongside).

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. *Harvard Business Review*
    81(12), 46-54. Rocks, B. (2016). Interval estimation for the "net promoter score".
    *The American Statistician* 70(4), 365-372 (the multinomial variance above and the
    Wald interval).

    Examples
    --------
    >>> r = net_promoter_score([10, 9, 9, 8, 7, 6, 3, 10, 9, float("nan")])
    >>> r.score, r.n, r.n_missing
    (33.33..., 9, 1)
    >>> r.promoters, r.passives, r.detractors
    (5.0, 2.0, 2.0)
    """
    conf = check_confidence(confidence)
    values = scale_answers(ratings, "rating", 0, 10, index=index_of(ratings))
    index = index_of(ratings)
    present = ~np.isnan(values)
    n_missing = int(values.size - present.sum())
    if not present.any():
        raise InvalidDataError(f"ratings: no valid rating among {values.size} value(s)")
    cats = _categories(values[present])
    scale = 1.0
    if weights is None:
        counts = np.bincount(cats, minlength=3).astype(np.float64)
        n_eff = float(present.sum())
    else:
        w = case_weights(weights, values.size, index=index)[present]
        if not np.any(w > 0):
            raise InvalidDataError("weights: all weights of non-missing ratings are zero")
        # Shares and Kish's n are scale-free: compute them on weights divided by a power of
        # two near the largest one, so huge (1e300) or tiny (1e-300) weights stay finite.
        scale = float(pow2_scale(w))
        w = w / scale
        counts = np.bincount(cats, weights=w, minlength=3).astype(np.float64)
        share = w / w.sum()
        n_eff = float(1.0 / np.sum(share * share))
    return _result(
        counts[0],
        counts[1],
        counts[2],
        n=int(present.sum()),
        n_missing=n_missing,
        n_effective=n_eff,
        confidence=conf,
        count_scale=scale,
    )


@dataclass(frozen=True)
class NPSComparison:
    """Difference between two independent Net Promoter Scores (Wald test).

    Attributes
    ----------
    difference : float
        ``b.score - a.score`` (the change from survey ``a`` to survey ``b``).
    standard_error : float
        Standard error of the difference.
    z : float
        Wald statistic ``difference / standard_error``.
    p_value : float
        Two-sided p-value.
    ci_low, ci_high : float
        Confidence interval of the difference, clipped to [-200, 200].
    a, b : NPSResult
        The two scores compared.
    confidence : float
        Confidence level of the interval.

    Examples
    --------
    >>> c = compare_nps(NPSResult.from_counts(detractors=30, passives=30, promoters=40),
    ...                 NPSResult.from_counts(detractors=20, passives=30, promoters=50))
    >>> round(c.difference, 6), round(c.p_value, 3)
    (20.0, 0.079)
    """

    difference: float
    standard_error: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    a: NPSResult
    b: NPSResult
    confidence: float = 0.95


def compare_nps(a: Any, b: Any, *, confidence: float = 0.95) -> NPSComparison:
    """Test whether two independent Net Promoter Scores differ (two survey waves).

    Parameters
    ----------
    a, b : NPSResult or array-like of ratings
        The earlier and the later survey (or any two independent samples). Ratings are
        scored with :func:`net_promoter_score`.
    confidence : float, default 0.95
        Confidence level of the interval for the difference.

    Returns
    -------
    NPSComparison
        ``difference = b.score - a.score``, its standard error, ``z``, the two-sided
        p-value and a confidence interval.

    Raises
    ------
    InvalidDataError
        When ratings are invalid (see :func:`net_promoter_score`).

    Notes
    -----
    Independent samples, Wald test:
    :math:`\\mathrm{SE} = \\sqrt{\\mathrm{SE}_a^2 + \\mathrm{SE}_b^2}`,
    :math:`z = (\\mathrm{NPS}_b - \\mathrm{NPS}_a) / \\mathrm{SE}`,
    :math:`p = 2\\,\\Phi(-|z|)`. When both samples are degenerate (each has all its answers
    in one category, so both standard errors are 0) the variance is estimated under the
    null hypothesis from the pooled shares,
    :math:`100^2 [\\bar p_+ + \\bar p_- - (\\bar p_+ - \\bar p_-)^2](1/n_a + 1/n_b)`, which
    is positive whenever the two samples differ; identical degenerate samples give
    ``z = 0, p = 1``.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "net promoter score". *The American
    Statistician* 70(4), 365-372.

    Examples
    --------
    >>> import numpy as np
    >>> wave1 = np.repeat([3, 7, 9], [30, 30, 40])
    >>> wave2 = np.repeat([3, 7, 9], [20, 30, 50])
    >>> c = compare_nps(wave1, wave2)
    >>> round(c.difference, 6), round(c.standard_error, 2), round(c.z, 2)
    (20.0, 11.4, 1.75)
    """
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    conf = check_confidence(confidence)
    ra = a if isinstance(a, NPSResult) else net_promoter_score(a, confidence=conf)
    rb = b if isinstance(b, NPSResult) else net_promoter_score(b, confidence=conf)
    diff = rb.score - ra.score
    se = float(np.hypot(ra.standard_error, rb.standard_error))
    if se == 0.0:
        tot_a = ra.detractors + ra.passives + ra.promoters
        tot_b = rb.detractors + rb.passives + rb.promoters
        p_pro = (ra.promoters + rb.promoters) / (tot_a + tot_b)
        p_det = (ra.detractors + rb.detractors) / (tot_a + tot_b)
        var = max(p_pro + p_det - (p_pro - p_det) ** 2, 0.0)
        se = 100.0 * float(np.sqrt(var * (1.0 / ra.n_effective + 1.0 / rb.n_effective)))
    # both samples identical and degenerate: no evidence of a difference
    z = 0.0 if se == 0.0 else diff / se
    p_value = float(2.0 * stats.norm.sf(abs(z)))
    crit = z_critical(conf)
    return NPSComparison(
        difference=diff,
        standard_error=se,
        z=z,
        p_value=p_value,
        ci_low=float(np.clip(diff - crit * se, -200.0, 200.0)),
        ci_high=float(np.clip(diff + crit * se, -200.0, 200.0)),
        a=ra,
        b=rb,
        confidence=conf,
    )


def nps_by(
    data: Any,
    rating_col: str,
    group_col: str,
    *,
    weights_col: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Net Promoter Score per group (store, segment, survey wave), vectorised.

    Parameters
    ----------
    data : DataFrame, mapping of column name to array, or engine frame
        One row per response. A Polars (eager or lazy), DuckDB, Spark or Dask frame is
        counted inside its engine (one row per group and category reaches the driver);
        the result, one row per group, is a pandas DataFrame.
    rating_col : str
        Column of 0-10 ratings (NaN = missing, dropped and counted).
    group_col : str
        Column naming each response's group. Missing group labels raise.
    weights_col : str, optional
        Column of non-negative survey weights.
    confidence : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per group (sorted by group), with the fields of :class:`NPSResult`:
        ``score, standard_error, ci_low, ci_high, n, n_missing, n_effective, detractors,
        passives, promoters, share_detractors, share_passives, share_promoters``. Groups
        without a single valid rating are left out with a
        :class:`~customer_value.errors.CustomerValueWarning`.

    Raises
    ------
    InvalidDataError
        For a missing column, a bad rating or weight, or a missing group label (the message
        names the row and the value).

    Notes
    -----
    Same formulas as :func:`net_promoter_score`, computed for all groups at once: groups
    are turned into integer codes and the (weighted) counts of the three categories come
    from one ``numpy.bincount`` over ``3 * code + category``, so the cost is linear in the
    number of responses.

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. *Harvard Business Review*
    81(12), 46-54.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"store": ["A", "A", "A", "B", "B", "B", "B"],
    ...                    "rating": [10, 9, 3, 7, 8, 10, 0]})
    >>> out = nps_by(df, "rating", "store")
    >>> out[["score", "n", "promoters"]].round(1)
           score  n  promoters
    store
    A       33.3  3        2.0
    B        0.0  4        1.0
    """
    conf = check_confidence(confidence)
    if is_engine(data):
        return nps_by_engine(data, rating_col, group_col, weights_col=weights_col, conf=conf)
    what = "data"
    frame = as_frame(data, what=what)
    columns = [rating_col, group_col] + ([weights_col] if weights_col is not None else [])
    require_columns(frame, columns, what=what)
    ratings = scale_answers(
        frame[rating_col].to_numpy(), rating_col, 0, 10, index=frame.index, what=what
    )
    groups = frame[group_col]
    require_present(groups, group_col, index=frame.index, what=what)
    codes, uniques = pd.factorize(groups, sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    n_groups = len(uniques)
    present = ~np.isnan(ratings)
    all_present = bool(present.all())
    # NaN ratings go to a fourth bin so that one bincount also counts the missing answers
    cats = np.where(present, _categories(np.where(present, ratings, 0.0)), 3)
    keys = codes * 4 + cats
    counts = np.bincount(keys, minlength=4 * n_groups).reshape(n_groups, 4).astype(np.float64)
    n_valid = counts[:, :3].sum(axis=1)
    n_missing = counts[:, 3]
    scale: Any = 1.0
    if weights_col is None:
        weighted = counts[:, :3]
        n_eff = n_valid
    else:
        w = case_weights(frame[weights_col].to_numpy(), len(frame), index=frame.index)
        wk = w if all_present else np.where(present, w, 0.0)
        # Shares and Kish's n are scale-free: compute them on each group's weights divided
        # by a power of two near the group's largest weight, so that neither huge (1e300)
        # nor tiny (1e-300) weights overflow or underflow, whatever the other groups hold.
        group_max = pd.Series(wk).groupby(codes).max().reindex(range(n_groups), fill_value=0)
        scale = np.asarray(pow2_scale(group_max.to_numpy()[:, None], axis=1), dtype=np.float64)
        wk = wk / scale[codes]
        wbins = np.bincount(keys, weights=wk, minlength=4 * n_groups).astype(np.float64)
        weighted = wbins.reshape(n_groups, 4)[:, :3]
        wsum = weighted.sum(axis=1)
        # Kish's n = 1 / sum(s^2) with s = w / (group's sum of w): no overflow or underflow
        share = wk / np.where(wsum > 0, wsum, 1.0)[codes]
        s2 = np.bincount(keys, weights=share * share, minlength=4 * n_groups).reshape(n_groups, 4)
        s2sum = s2[:, :3].sum(axis=1)
        with np.errstate(divide="ignore"):
            n_eff = np.where(s2sum > 0, 1.0 / np.where(s2sum > 0, s2sum, 1.0), 0.0)
    return group_table(
        pd.Index(np.asarray(uniques), name=group_col),
        weighted,
        n_valid=n_valid,
        n_missing=n_missing,
        n_effective=n_eff,
        confidence=conf,
        count_scale=scale,
        stacklevel=2,
    )
