"""Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007, 2010).

At the end of each period an active customer cancels with probability ``theta``, constant
over time for the customer and beta(alpha, beta) across customers.

Conventions: ``duration`` counts the periods a customer was observed active. A row with
``churned=True`` cancelled at the end of period ``duration`` (``T = duration``); a row
with ``churned=False`` has renewed ``duration`` times and is still active (``T >
duration``).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from customer_value._engine import collect_if_engine
from customer_value._validation import (
    FloatArray,
    as_frame,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
    check_scalar,
    describe_row,
    first_bad,
    numeric_array,
)
from customer_value.clv._base import Data, MLEModel
from customer_value.clv._covariates import Targets, refuse_without_data
from customer_value.errors import InvalidDataError

__all__ = ["ShiftedBetaGeoModel", "cohort_from_survivors"]

SBGT = TypeVar("SBGT", bound="ShiftedBetaGeoModel")


def cohort_from_survivors(survivors: Any) -> pd.DataFrame:
    """Turn a survivor curve of one cohort into the rows :class:`ShiftedBetaGeoModel` fits.

    Parameters
    ----------
    survivors : array-like or Series
        Customers still active at times ``0, 1, ..., n``; the first value is the cohort
        size. Non-increasing, non-negative (counts or percentages).

    Returns
    -------
    DataFrame
        Columns ``duration``, ``churned`` and ``weights``: for ``t = 1..n`` the
        ``survivors[t-1] - survivors[t]`` customers lost at ``t`` (``churned=True``), and
        the ``survivors[n]`` still active (``duration = n``, ``churned=False``).

    Raises
    ------
    InvalidDataError
        Fewer than two values, a negative or non-finite value, a zero cohort size, or a
        survivor count that increases (the message names the first such position).

    Examples
    --------
    >>> cohort_from_survivors([1000, 631, 468])
       duration  churned  weights
    0         1     True    369.0
    1         2     True    163.0
    2         2    False    468.0
    """
    values = numeric_array(
        np.asarray(survivors, dtype=object).reshape(-1), "survivors", what="survivors"
    )
    index = survivors.index if isinstance(survivors, pd.Series) else None
    if values.size < 2:
        raise InvalidDataError(
            f"survivors: need the cohort size and at least one later count, got {values.size}"
        )
    check_nonnegative(values, "survivors", index=index, what="survivors")
    if values[0] <= 0:
        raise InvalidDataError(
            f"survivors: the cohort size (first value) must be > 0, got {values[0]!r}"
        )
    pos = first_bad(np.diff(values) > 0)
    if pos is not None:
        raise InvalidDataError(
            f"survivors must not increase: {describe_row(index, pos + 1)} has "
            f"survivors={float(values[pos + 1])!r} after {float(values[pos])!r}"
        )
    n = values.size - 1
    lost = values[:-1] - values[1:]
    return pd.DataFrame(
        {
            "duration": np.concatenate([np.arange(1, n + 1), [n]]).astype(np.int64),
            "churned": np.concatenate([np.ones(n, dtype=np.bool_), [False]]),
            "weights": np.concatenate([lost, values[-1:]]).astype(np.float64),
        }
    )


def _as_periods(t: Any, name: str, *, low: float) -> FloatArray:
    arr = numeric_array(np.atleast_1d(np.asarray(t, dtype=object)), name, what=name)
    check_integer(arr, name, what=name)
    pos = first_bad(arr < low)
    if pos is not None:
        raise InvalidDataError(f"{name} must be >= {low:g}; position {pos} has {name}={arr[pos]!r}")
    return arr


def _hyp2f1_one(b: float, c: float, z: float) -> float:
    """``2F1(1, b; c; z) = sum_k (b)_k / (c)_k z^k`` for ``0 < b < c``, ``0 < z < 1``.

    Terms are positive and decreasing; they are summed in log space in chunks until the
    last is negligible; past 2**23 terms the rest is bounded by a geometric tail of ratio
    ``z``.
    """
    chunk = 4096
    total = 0.0
    start = 0
    log_z = np.log(z)
    base = special.gammaln(c) - special.gammaln(b)
    while True:
        k = np.arange(start, start + chunk, dtype=np.float64)
        log_terms = base + special.gammaln(b + k) - special.gammaln(c + k) + k * log_z
        terms = np.exp(log_terms)
        total += float(np.sum(terms))
        last = float(terms[-1])
        start += chunk
        if last <= 1e-17 * total:
            return total
        if start >= 2**23:
            return total + last * z / (1.0 - z)


class ShiftedBetaGeoModel(MLEModel):
    """sBG model of retention in a contractual setting (parameters ``alpha``, ``beta``).

    Notes
    -----
    Fader & Hardie (2007), eqs. 3-4 and 7:

    * ``P(T = t) = B(α + 1, β + t - 1) / B(α, β)`` (churn in period ``t``, ``t >= 1``),
    * ``S(t) = P(T > t) = B(α, β + t) / B(α, β)``,
    * retention rate ``r(t) = S(t) / S(t - 1) = (β + t - 1) / (α + β + t - 1)``,
      increasing in ``t`` (the heterogeneity sorting effect).

    The log-likelihood of a cohort sums ``log P(T = duration)`` over churned rows and
    ``log S(duration)`` over active rows (eq. 5), with an analytic gradient.

    References
    ----------
    Fader, P. S., & Hardie, B. G. S. (2007). How to project customer retention. Journal
    of Interactive Marketing, 21(1), 76-90.
    Fader, P. S., & Hardie, B. G. S. (2010). Customer-base valuation in a contractual
    setting: The perils of ignoring heterogeneity. Marketing Science, 29(1), 85-93.

    Examples
    --------
    >>> from customer_value.clv import ShiftedBetaGeoModel, cohort_from_survivors
    >>> regular = cohort_from_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> model = ShiftedBetaGeoModel().fit(regular)
    >>> model.params_.round(3).tolist()
    [0.704, 1.182]
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    _flat_hints: ClassVar[dict[frozenset[str], str]] = {
        frozenset({"alpha", "beta"}): "alpha/(alpha+beta) is the mean churn probability",
    }
    _data_columns: ClassVar[tuple[str, ...]] = ("duration", "churned")
    # The churn probability theta ~ Beta(alpha_i, beta_i) with alpha_i = alpha exp(g_a' x)
    # and beta_i = beta exp(g_b' x): the substitution Fader & Hardie (2007, note 019, p. 2)
    # make for the BG/NBD's beta-distributed dropout probability, applied to the sBG's.
    _covariate_targets: ClassVar[Targets] = {
        "dropout": ((0, 1.0, "alpha"), (1, 1.0, "beta")),
    }

    def _check_data(self, data: Data, index: pd.Index[Any], what: str) -> None:
        d, c = data["duration"], data["churned"]
        check_integer(d, "duration", index=index, what=what)
        check_positive(d, "duration", index=index, what=what)
        check_in_range(c, "churned", 0.0, 1.0, index=index, what=what)
        check_integer(c, "churned", index=index, what=what)

    def _check_fit_data(self, data: Data, weights: npt.NDArray[np.float64], what: str) -> None:
        if not np.any((data["churned"] > 0) & (weights > 0)):
            raise InvalidDataError(
                f"{what}: column 'churned' is False in every row: with no cancellation the "
                "parameters of ShiftedBetaGeoModel are not identifiable"
            )
        if not np.any((data["churned"] == 0) & (weights > 0)) and np.all(data["duration"] == 1):
            raise InvalidDataError(
                f"{what}: every customer churned in period 1; the parameters are not identifiable"
            )

    def fit(
        self: SBGT,
        data: Any,
        *,
        weights: Any = None,
        initial_params: Any = None,
        progress: bool = False,
        time_unit: str | None = None,
    ) -> SBGT:
        """Estimate ``alpha`` and ``beta`` by maximum likelihood.

        Parameters
        ----------
        data : DataFrame or mapping of column name to array
            Rows with ``duration`` (whole periods observed active, >= 1) and ``churned``
            (bool), for example from :func:`cohort_from_survivors`.
        weights : array-like or str, optional
            Customers per row, or the name of a column holding them. When omitted, the
            column ``weights`` is used if ``data`` has one, else one per row.
        initial_params : mapping or sequence of float, optional
            Start values of the optimiser.
        progress : bool, default False
            Show the optimiser's progress on stderr.
        time_unit : str, optional
            Time unit for data without ``attrs["time_unit"]``: the length of one renewal
            period (``"M"``, ``"Y"``). Refused when it contradicts the data's own.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InvalidDataError
            A missing column, a duration < 1 or fractional, ``churned`` not boolean (the
            message names the row and value), bad weights, or nobody churning.
        ConvergenceError
            The optimiser failed.
        """
        frame = as_frame(collect_if_engine(data), what="data")
        if weights is None and "weights" in frame.columns:
            weights = "weights"
        return super().fit(
            frame,
            weights=weights,
            initial_params=initial_params,
            progress=progress,
            time_unit=time_unit,
        )

    def _loglik_grad(self, params: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        alpha, beta = params
        d = data["duration"]
        churned = data["churned"] > 0
        psi = special.digamma
        base = special.betaln(alpha, beta)
        ca = psi(alpha) - psi(alpha + beta)
        cb = psi(beta) - psi(alpha + beta)
        a_term = np.where(churned, alpha + 1.0, alpha)
        b_term = np.where(churned, beta + d - 1.0, beta + d)
        ll: FloatArray = special.betaln(a_term, b_term) - base
        total = psi(a_term + b_term)
        grad = np.empty((d.size, 2))
        grad[:, 0] = psi(a_term) - total - ca
        grad[:, 1] = psi(b_term) - total - cb
        return ll, grad

    # ------------------------------------------------------------------ covariates
    def _cohort_params(self, data: Any, method: str) -> tuple[Any, Any, pd.Index[Any] | None]:
        """``alpha``, ``beta`` (scalars, or one per customer of ``data``) and the index."""
        full = self._params_array()
        if data is None:
            refuse_without_data(type(self).__name__, self._design(), method)
            return full[0], full[1], None
        cov_arrays, index = self._covariates_of(data, what="data")
        alpha, beta = self._row_params(cov_arrays)
        return np.broadcast_to(alpha, len(index)), np.broadcast_to(beta, len(index)), index

    @staticmethod
    def _by_t(values: FloatArray, times: FloatArray, index: pd.Index[Any] | None, name: str) -> Any:
        columns = pd.Index(times.astype(np.int64), name="t")
        if index is None:
            return pd.Series(values, index=columns, name=name)
        return pd.DataFrame(values, index=index, columns=columns)

    @staticmethod
    def _survival_values(alpha: Any, beta: Any, times: FloatArray) -> FloatArray:
        a, b = np.reshape(alpha, (-1, 1)), np.reshape(beta, (-1, 1))
        out: FloatArray = np.exp(special.betaln(a, b + times) - special.betaln(a, b))
        return out if np.ndim(alpha) else out[0]

    @staticmethod
    def _retention_rate_values(alpha: Any, beta: Any, times: FloatArray) -> FloatArray:
        a, b = np.reshape(alpha, (-1, 1)), np.reshape(beta, (-1, 1))
        out: FloatArray = (b + times - 1.0) / (a + b + times - 1.0)
        return out if np.ndim(alpha) else out[0]

    @staticmethod
    def _churn_probability_values(alpha: Any, beta: Any, times: FloatArray) -> FloatArray:
        a, b = np.reshape(alpha, (-1, 1)), np.reshape(beta, (-1, 1))
        out: FloatArray = np.exp(special.betaln(a + 1.0, b + times - 1.0) - special.betaln(a, b))
        return out if np.ndim(alpha) else out[0]

    # ------------------------------------------------------------------ predictions
    def survival(self, t: Any, data: Any = None) -> Any:
        """Share of a new cohort still active after ``t`` periods, ``S(t)``.

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 0.
        data : DataFrame or mapping, optional
            Customers with the model's covariate columns (required with covariates).

        Returns
        -------
        Series or DataFrame
            ``S(t) = B(α, β + t) / B(α, β)`` indexed by ``t`` (``S(0) = 1``); with
            ``data``, one row per customer (indexed like ``data``) and one column per ``t``.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Negative or fractional ``t``.

        Notes
        -----
        Fader & Hardie (2007), eq. 7.

        References
        ----------
        Fader, P. S., & Hardie, B. G. S. (2007). Journal of Interactive Marketing, 21(1).

        Examples
        --------
        >>> from customer_value.clv import ShiftedBetaGeoModel
        >>> model = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> model.survival([0, 1, 12]).round(3).tolist()
        [1.0, 0.627, 0.17]
        """
        times = _as_periods(t, "t", low=0.0)
        alpha, beta, index = self._cohort_params(data, "survival")
        values = self._survival_values(alpha, beta, times)
        return self._by_t(values, times, index, "survival")

    def retention_rate(self, t: Any, data: Any = None) -> Any:
        """Share of those active after ``t - 1`` periods who renew at ``t``, ``r(t)``.

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 1.
        data : DataFrame or mapping, optional
            Customers with the model's covariate columns (required with covariates).

        Returns
        -------
        Series or DataFrame
            ``r(t) = (β + t - 1) / (α + β + t - 1)`` indexed by ``t``; with ``data``, one
            row per customer and one column per ``t``.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            ``t < 1`` or fractional.

        Notes
        -----
        Fader & Hardie (2007), eq. 8.

        References
        ----------
        Fader, P. S., & Hardie, B. G. S. (2007). Journal of Interactive Marketing, 21(1).

        Examples
        --------
        >>> from customer_value.clv import ShiftedBetaGeoModel
        >>> model = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> model.retention_rate([1, 2, 12]).round(3).tolist()
        [0.627, 0.756, 0.945]
        """
        times = _as_periods(t, "t", low=1.0)
        alpha, beta, index = self._cohort_params(data, "retention_rate")
        values = self._retention_rate_values(alpha, beta, times)
        return self._by_t(values, times, index, "retention_rate")

    def churn_probability(self, t: Any, data: Any = None) -> Any:
        """Probability that a new customer cancels at the end of period ``t``, ``P(T = t)``.

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 1.
        data : DataFrame or mapping, optional
            Customers with the model's covariate columns (required with covariates).

        Returns
        -------
        Series or DataFrame
            ``P(T = t) = B(α + 1, β + t - 1) / B(α, β)`` indexed by ``t``; with ``data``,
            one row per customer and one column per ``t``.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            ``t < 1`` or fractional.

        Notes
        -----
        Fader & Hardie (2007), eq. 3.

        References
        ----------
        Fader, P. S., & Hardie, B. G. S. (2007). Journal of Interactive Marketing, 21(1).

        Examples
        --------
        >>> from customer_value.clv import ShiftedBetaGeoModel
        >>> model = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> model.churn_probability([1, 2]).round(3).tolist()
        [0.373, 0.153]
        """
        times = _as_periods(t, "t", low=1.0)
        alpha, beta, index = self._cohort_params(data, "churn_probability")
        values = self._churn_probability_values(alpha, beta, times)
        return self._by_t(values, times, index, "churn_probability")

    def discounted_expected_residual_lifetime(
        self, data: Any = None, *, discount_rate: float
    ) -> pd.Series:
        """Discounted expected residual lifetime (DERL) of each active customer.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Customers with ``duration`` and ``churned``; defaults to the training data.
            A customer with ``churned=False`` has renewed ``duration`` times.
        discount_rate : float
            Discrete discount rate per period ``d`` (0.10 = 10% per period), > 0.

        Returns
        -------
        Series
            Expected number of future payments, each discounted, indexed like ``data``;
            0 for churned customers. Multiply by the payment per period for a residual
            value.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad data or ``discount_rate <= 0``.

        Notes
        -----
        Fader & Hardie (2010), eq. 6. For a customer who has made ``n - 1`` renewals
        (here ``n - 1 = duration``), valued just before the next renewal decision (so the
        next payment, made if the customer renews, is undiscounted):

        .. math::

            DERL = \\sum_{t=n}^{\\infty} \\frac{S(t)}{S(n-1)} (1+d)^{-(t-n)}
                 = \\frac{B(\\alpha, \\beta+n)}{B(\\alpha, \\beta+n-1)}
                   \\, {}_2F_1\\left(1, \\beta+n; \\alpha+\\beta+n; \\tfrac{1}{1+d}\\right).

        References
        ----------
        Fader, P. S., & Hardie, B. G. S. (2010). Customer-base valuation in a contractual
        setting: The perils of ignoring heterogeneity. Marketing Science, 29(1), 85-93.

        Examples
        --------
        >>> from customer_value.clv import ShiftedBetaGeoModel
        >>> model = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> active = {"duration": [1, 7], "churned": [False, False]}
        >>> derl = model.discounted_expected_residual_lifetime(active, discount_rate=0.10)
        >>> derl.round(2).tolist()
        [4.1, 6.84]
        """
        self._params_array()
        rate = check_scalar(discount_rate, "discount_rate", low=0.0, low_inclusive=False)
        arrays, index = self._prepare(data)
        params = self._row_params(arrays)
        if params.ndim == 1:  # one distribution: once per distinct duration
            durations, inverse = np.unique(arrays["duration"], return_inverse=True)
            alpha, beta = params
        else:  # covariates: each customer with their own alpha and beta
            durations, inverse = arrays["duration"], np.arange(len(index))
            alpha, beta = params
        n = durations + 1.0
        ratio = (beta + n - 1.0) / (alpha + beta + n - 1.0)  # B(a, b+n) / B(a, b+n-1)
        z = 1.0 / (1.0 + rate)
        with np.errstate(all="ignore"):
            series = np.asarray(special.hyp2f1(1.0, beta + n, alpha + beta + n, z), dtype=float)
        # scipy's 2F1 overflows for large beta + n; sum the positive series there instead.
        bad = ~(np.isfinite(series) & (series >= 1.0) & (series <= 1.0 / (1.0 - z) * (1 + 1e-9)))
        b_n = np.broadcast_to(beta + n, n.shape)
        c_n = np.broadcast_to(alpha + beta + n, n.shape)
        for i in np.flatnonzero(bad):  # rare: large beta + n
            series[i] = _hyp2f1_one(float(b_n[i]), float(c_n[i]), z)
        values = np.where(arrays["churned"] > 0, 0.0, (ratio * series)[inverse.reshape(-1)])
        return pd.Series(values, index=index, name="derl")
