"""Gamma-Gamma model of average transaction value (Fader, Hardie & Lee 2005, "RFM and CLV").

A customer's transaction values are gamma(p, nu) around a customer mean ``p / nu``; across
customers ``nu`` is gamma(q, v). Only the mean spend ``zbar`` of the ``x`` repeat
transactions is modelled (Colombo & Jiang 1999).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from customer_value._engine import collect_if_engine, is_engine
from customer_value._validation import (
    FloatArray,
    as_frame,
    check_integer,
    check_nonnegative,
    check_weights,
    describe_row,
    first_bad,
    numeric_column,
    require_columns,
)
from customer_value.clv._base import Data, MLEModel
from customer_value.errors import CustomerValueWarning, InvalidDataError

__all__ = ["GammaGammaModel", "SpendCorrelation", "frequency_spend_correlation"]

GammaT = TypeVar("GammaT", bound="GammaGammaModel")


def _check_spend(x: FloatArray, m: FloatArray, index: pd.Index[Any] | None, what: str) -> None:
    """``monetary_value`` must be > 0 wherever ``frequency`` > 0."""
    bad = (x > 0) & ~(m > 0)
    pos = first_bad(bad)
    if pos is not None:
        raise InvalidDataError(
            f"{what}: column 'monetary_value' must be > 0 for customers with frequency > 0; "
            f"{int(bad.sum())} row(s) are not, the first is {describe_row(index, pos)} with "
            f"monetary_value={float(m[pos])!r}, frequency={float(x[pos])!r}"
        )


def _by_frequency(
    xs: FloatArray, p: float, q: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """gammaln(px + q), gammaln(px), digamma(px + q), digamma(px) for each row.

    Frequencies are whole numbers; when their range is small compared with the number
    of rows (always, for a compressed table of many customers), the four functions are
    tabulated on 0..max and gathered, instead of evaluated on every row.
    """
    top = float(xs.max()) if xs.size else 0.0
    if xs.size < 64 or top > 4 * xs.size or top > 10_000_000:
        px = p * xs
        return (
            special.gammaln(px + q),
            special.gammaln(px),
            special.digamma(px + q),
            special.digamma(px),
        )
    k = xs.astype(np.int64)
    grid = p * np.arange(int(top) + 1, dtype=np.float64)
    grid[0] = p  # frequency 0 never occurs here (rows with x = 0 use xs = 1)
    return (
        special.gammaln(grid + q)[k],
        special.gammaln(grid)[k],
        special.digamma(grid + q)[k],
        special.digamma(grid)[k],
    )


class GammaGammaModel(MLEModel):
    """Gamma-Gamma spend model: expected average transaction value per customer.

    Parameters are ``p`` (shape of the transaction values around a customer's mean),
    ``q`` and ``v`` (shape and rate of the gamma distribution of ``nu`` across customers);
    a customer's mean spend is ``p / nu``.

    Only customers with ``frequency > 0`` inform the fit (``monetary_value`` is the mean of
    their repeat transactions); others are ignored when fitting and predicted at the
    population mean.

    Notes
    -----
    With ``x`` repeat transactions of mean value ``zbar``, the likelihood of a customer is
    (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 3; the density of ``zbar``)

    .. math::

        f(\\bar z \\mid p, q, v, x) = \\frac{\\Gamma(px + q)}{\\Gamma(px)\\Gamma(q)}
        \\frac{v^q \\, \\bar z^{px - 1} x^{px}}{(v + x \\bar z)^{px + q}} .

    The population mean of the customers' mean spend is ``p v / (q - 1)``, defined for
    ``q > 1`` only (a :class:`~customer_value.errors.CustomerValueWarning` is issued
    otherwise). The model assumes that spend and frequency are independent: check with
    :func:`frequency_spend_correlation`.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value
    curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
    Colombo, R., & Jiang, W. (1999). A stochastic RFM model. Journal of Interactive
    Marketing, 13(3), 2-12.

    Examples
    --------
    >>> from customer_value.clv import GammaGammaModel
    >>> from customer_value.datasets import load_cdnow_summary
    >>> model = GammaGammaModel().fit(load_cdnow_summary())
    >>> model.params_.round(2).tolist()
    [6.25, 3.74, 15.45]
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    _data_columns: ClassVar[tuple[str, ...]] = ("frequency", "monetary_value")

    def _check_data(self, data: Data, index: pd.Index[Any], what: str) -> None:
        x, m = data["frequency"], data["monetary_value"]
        check_nonnegative(x, "frequency", index=index, what=what)
        check_integer(x, "frequency", index=index, what=what)
        _check_spend(x, m, index, what)

    def _check_fit_data(self, data: Data, weights: npt.NDArray[np.float64], what: str) -> None:
        used = (data["frequency"] > 0) & (weights > 0)
        if not np.any(used):
            raise InvalidDataError(
                f"{what}: column 'frequency' is 0 in every row; the Gamma-Gamma model is fitted "
                "on customers with at least one repeat transaction"
            )
        if np.unique(data["monetary_value"][used]).size < 2:
            raise InvalidDataError(
                f"{what}: column 'monetary_value' takes a single value among customers with "
                "frequency > 0; the spread of spend across customers is not identifiable"
            )

    def _start_values(self, data: Data, weights: npt.NDArray[np.float64]) -> FloatArray:
        # Moments of zbar across customers: mean p v/(q-1); start from q = 3 and a
        # moderate p so that p v/(q-1) matches the observed mean.
        used = data["frequency"] > 0
        w = weights[used]
        mean = float(np.sum(w * data["monetary_value"][used]) / np.sum(w))
        return np.array([2.0, 3.0, mean])

    def _loglik_grad(self, params: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        p, q, v = params
        x = data["frequency"]
        used = x > 0
        xs = np.where(used, x, 1.0)
        m = np.where(used, data["monetary_value"], 1.0)
        px = p * xs
        log_xm_v = np.log(xs * m + v)
        # gammaln/digamma depend on the frequency alone: evaluate them once per distinct
        # frequency (a table when frequencies are small integers) and look them up
        g_pxq, g_px, psi_pxq, psi_px = _by_frequency(xs, p, q)
        ll = (
            g_pxq
            - g_px
            - special.gammaln(q)
            + q * math.log(v)
            + (px - 1.0) * np.log(m)
            + px * np.log(xs)
            - (px + q) * log_xm_v
        )
        grad = np.empty((x.size, 3))
        grad[:, 0] = xs * (psi_pxq - psi_px + np.log(m) + np.log(xs) - log_xm_v)
        grad[:, 1] = psi_pxq - special.digamma(q) + math.log(v) - log_xm_v
        grad[:, 2] = q / v - (px + q) / (xs * m + v)
        ll = np.where(used, ll, 0.0)
        grad[~used] = 0.0
        return ll, grad

    def fit(
        self: GammaT,
        data: Any,
        *,
        weights: Any = None,
        initial_params: Any = None,
        progress: bool = False,
        time_unit: str | None = None,
    ) -> GammaT:
        """Estimate ``p``, ``q`` and ``v`` by maximum likelihood.

        Parameters
        ----------
        data : DataFrame or mapping of column name to array
            One row per customer with ``frequency`` (repeat transactions) and
            ``monetary_value`` (their mean value, > 0 where ``frequency > 0``). Rows with
            ``frequency == 0`` are ignored.
        weights : array-like or str, optional
            Customers per row, or the name of a column holding them.
        initial_params : mapping or sequence of float, optional
            Start values of the optimiser.
        progress : bool, default False
            Show the optimiser's progress on stderr.
        time_unit : str, optional
            Time unit for data without ``attrs["time_unit"]``: the unit of the summary (kept
            for the record; spend itself has no time unit). Refused when it contradicts
            the data's own.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InvalidDataError
            A missing column, negative or fractional frequency, a non-positive monetary
            value for a customer with frequency > 0 (the message gives the count and the
            first bad row), bad weights, or no customer with frequency > 0.
        ConvergenceError
            The optimiser failed.

        Warns
        -----
        CustomerValueWarning
            When the estimate of ``q`` is <= 1: the population mean spend is undefined.
        """
        frame = as_frame(collect_if_engine(data), what="data")
        require_columns(frame, self._data_columns, what="data")
        if weights is None:
            w = np.ones(len(frame))
        elif isinstance(weights, str):
            require_columns(frame, [weights], what="data")
            w = check_weights(frame[weights].to_numpy(), len(frame), index=frame.index)
        else:
            w = check_weights(weights, len(frame), index=frame.index)
        x = numeric_column(frame, "frequency", what="data")
        # Customers without a repeat transaction carry no spend information.
        w = np.where(x > 0, w, 0.0)
        if not np.any(w > 0):
            raise InvalidDataError(
                "data: column 'frequency' is 0 in every row (with positive weight); the "
                "Gamma-Gamma model is fitted on customers with at least one repeat transaction"
            )
        super().fit(
            frame, weights=w, initial_params=initial_params, progress=progress, time_unit=time_unit
        )
        self._warn_if_no_mean(stacklevel=3)
        return self

    def _warn_if_no_mean(self, *, stacklevel: int) -> bool:
        q = float(self._params_array()[1])
        if q <= 1.0:
            warnings.warn(
                f"GammaGammaModel: q={q:.4g} <= 1, so the population mean spend p*v/(q-1) is "
                "undefined (infinite); predictions for customers without repeat transactions "
                "are inf",
                CustomerValueWarning,
                stacklevel=stacklevel,
            )
            return True
        return False

    def population_mean_spend(self) -> float:
        """Mean of the customers' mean transaction value, ``E[p / nu] = p v / (q - 1)``.

        Returns
        -------
        float
            The population mean; ``inf`` when ``q <= 1`` (with a warning).

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.

        Notes
        -----
        Fader, Hardie & Lee (2005), "RFM and CLV", the mean of the prior of ``zeta = p/nu``.

        References
        ----------
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV. Journal of
        Marketing Research, 42(4), 415-430.

        Examples
        --------
        >>> from customer_value.clv import GammaGammaModel
        >>> model = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
        >>> round(model.population_mean_spend(), 2)
        35.22
        """
        p, q, v = self._params_array()
        if self._warn_if_no_mean(stacklevel=3):
            return math.inf
        return float(p * v / (q - 1.0))

    def expected_spend(self, data: Any = None, *, customer_id_col: str = "customer_id") -> Any:
        """Conditional expected average transaction value of each customer.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Customers with ``frequency`` and ``monetary_value``; defaults to the training
            data (all its rows, including those with ``frequency == 0``). Engine frames
            (Polars, DuckDB, Spark, Dask) are scored partition by partition.
        customer_id_col : str, default "customer_id"
            Engine frames only (Polars, DuckDB, Spark, Dask): the id column carried into
            the result. A pandas result is indexed like ``data`` instead.

        Returns
        -------
        Series
            ``E[Z | p, q, v, x, zbar]`` indexed like ``data``, named ``expected_spend``;
            customers with ``frequency == 0`` get the population mean.
            An engine frame gives a frame of the same kind with ``customer_id_col`` and
            this column, computed partition by partition.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad data, as in ``fit``.

        Notes
        -----
        Fader, Hardie & Lee (2005), "RFM and CLV", eq. 5: a weighted average of the
        population mean and the customer's observed mean,

        .. math::

            E(Z \\mid \\bar z, x) = \\frac{q - 1}{px + q - 1} \\frac{p v}{q - 1}
            + \\frac{px}{px + q - 1} \\bar z = \\frac{p (v + x \\bar z)}{px + q - 1}.

        It is infinite when ``px + q <= 1`` (only possible with ``q <= 1``).

        References
        ----------
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV. Journal of
        Marketing Research, 42(4), 415-430.

        Examples
        --------
        >>> from customer_value.clv import GammaGammaModel
        >>> model = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
        >>> model.expected_spend({"frequency": [0, 2, 10],
        ...                       "monetary_value": [0.0, 20.0, 20.0]}).round(2).tolist()
        [35.22, 22.74, 20.64]
        """
        if is_engine(data):
            return self._score_engine(data, "expected_spend", "expected_spend", customer_id_col)
        p, q, v = self._params_array()
        arrays, index = self._prepare(data)
        x = arrays["frequency"]
        zbar = np.where(x > 0, arrays["monetary_value"], 0.0)
        denom = p * x + q - 1.0
        if np.any(denom <= 0):
            self._warn_if_no_mean(stacklevel=2)
        with np.errstate(divide="ignore"):
            values = np.where(
                denom > 0, p * (v + x * zbar) / np.where(denom > 0, denom, 1.0), np.inf
            )
        return pd.Series(values, index=index, name="expected_spend")


@dataclass(frozen=True)
class SpendCorrelation:
    """Correlation between purchase frequency and average spend (customers with x > 0).

    Attributes
    ----------
    correlation : float
        Pearson correlation of ``frequency`` and ``monetary_value``.
    p_value : float
        Two-sided p-value of the test of zero correlation.
    n : int
        Number of customers used.

    Examples
    --------
    >>> from customer_value.clv import frequency_spend_correlation
    >>> from customer_value.datasets import load_cdnow_summary
    >>> result = frequency_spend_correlation(load_cdnow_summary())
    >>> round(result.correlation, 2), result.n
    (0.11, 946)
    """

    correlation: float
    p_value: float
    n: int


def frequency_spend_correlation(data: Any) -> SpendCorrelation:
    """Check the Gamma-Gamma independence assumption between frequency and spend.

    Parameters
    ----------
    data : DataFrame or mapping
        Customers with ``frequency`` and ``monetary_value``; only rows with
        ``frequency > 0`` are used.

    Returns
    -------
    SpendCorrelation
        Pearson correlation, its p-value and the number of customers used. A correlation
        far from 0 (Fader, Hardie & Lee report 0.11 on CDNOW) casts doubt on the model.

    Raises
    ------
    InvalidDataError
        Missing columns, bad values, fewer than 3 customers with frequency > 0, or a
        constant column among them.

    Notes
    -----
    ``r = cov(x, zbar) / (sd(x) sd(zbar))`` over customers with ``x > 0``; the p-value is
    that of :func:`scipy.stats.pearsonr`.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV. Journal of
    Marketing Research, 42(4), 415-430 (section "the spend model").

    Examples
    --------
    >>> from customer_value.clv import frequency_spend_correlation
    >>> from customer_value.datasets import load_cdnow_summary
    >>> result = frequency_spend_correlation(load_cdnow_summary())
    >>> round(result.correlation, 2), result.n
    (0.11, 946)
    """
    frame = as_frame(data, what="data")
    require_columns(frame, ["frequency", "monetary_value"], what="data")
    x = numeric_column(frame, "frequency", what="data")
    m = numeric_column(frame, "monetary_value", what="data")
    check_nonnegative(x, "frequency", index=frame.index, what="data")
    _check_spend(x, m, frame.index, "data")
    used = x > 0
    n = int(used.sum())
    if n < 3:
        raise InvalidDataError(
            f"data: at least 3 customers with frequency > 0 are needed, found {n}"
        )
    xs, ms = x[used], m[used]
    if np.all(xs == xs[0]) or np.all(ms == ms[0]):
        raise InvalidDataError(
            "data: 'frequency' or 'monetary_value' is constant among customers with "
            "frequency > 0; the correlation is undefined"
        )
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    res = stats.pearsonr(xs, ms)
    return SpendCorrelation(correlation=float(res.statistic), p_value=float(res.pvalue), n=n)
