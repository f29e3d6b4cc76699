"""Discounted expected residual transactions (DERT) of the purchase-frequency models.

``DERT = E[ integral_T^inf exp(-delta (t - T)) dX(t) | x, t_x, T ]``: the present value,
at the end of observation, of each customer's future transactions counted one unit each,
with a *continuous* discount rate ``delta`` per model time unit. With weekly data and
15% a year, ``delta = ln(1.15) / 52`` (:func:`~customer_value.clv.continuous_discount_rate`).

The Pareto/NBD has a closed form (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 2); the
BG/NBD and MBG/NBD are integrated numerically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from customer_value._validation import FloatArray, check_scalar
from customer_value.clv._base import Data

__all__ = ["DiscountedTransactionsMixin", "ParetoDiscountedTransactionsMixin", "distinct_pairs"]

# Gauss-Laguerre rule for integral_0^inf exp(-u) f(u) du.
_GLAG_NODES, _GLAG_WEIGHTS = np.polynomial.laguerre.laggauss(80)


class DiscountedTransactionsMixin:
    """Adds ``expected_discounted_transactions`` to a purchase-frequency model.

    The host class provides ``_params_array()``, ``_prepare(data)`` and the array formula
    ``_expected(params, t, x, tx, T)`` of :class:`~customer_value.clv._frequency.FrequencyModel`.
    """

    if TYPE_CHECKING:  # provided by FrequencyModel

        def _params_array(self) -> FloatArray: ...

        def _row_params(self, data: Data, full: FloatArray | None = None) -> FloatArray: ...

        def _prepare(
            self, data: Any = None, *, what: str = "data"
        ) -> tuple[Data, pd.Index[Any]]: ...

        def _expected(
            self, params: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
        ) -> FloatArray: ...

        def _p_alive(
            self, params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
        ) -> FloatArray: ...

    def _dert(
        self, params: FloatArray, delta: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """``delta * integral_0^inf exp(-delta t) E[Y(t)] dt`` by Gauss-Laguerre (80 nodes).

        Integration by parts of ``integral exp(-delta t) dE[Y(t)]`` (``E[Y(0)] = 0``);
        with ``u = delta t`` it is ``integral_0^inf exp(-u) E[Y(u / delta)] du``.
        """
        # E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) E[Y(t) | alive, x, T]; the second
        # factor is integrated once per distinct (x, T), evaluated at t_x = T.
        if params.ndim == 2:  # each customer has own parameters (covariates): no sharing
            codes, ux, uT = np.arange(x.size), x, T
        else:
            codes, (ux, uT) = distinct_pairs(x, T)
        total = np.zeros(ux.size)
        for node, weight in zip(_GLAG_NODES, _GLAG_WEIGHTS, strict=True):
            total += weight * self._expected(params, np.full(ux.size, node / delta), ux, uT, uT)
        alive_pairs = self._p_alive(params, ux, uT, uT)
        per_alive = np.divide(total, alive_pairs, out=np.zeros_like(total), where=alive_pairs > 0)
        out: FloatArray = self._p_alive(params, x, tx, T) * per_alive[codes]
        return out

    def expected_discounted_transactions(
        self, data: Any = None, *, discount_rate: float
    ) -> pd.Series:
        """Discounted expected residual transactions (DERT) of each customer.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Customers with ``frequency``, ``recency`` and ``T``; defaults to the training
            data.
        discount_rate : float
            Continuous discount rate ``delta`` per model time unit, > 0: a transaction
            ``t`` units after the end of observation counts ``exp(-delta t)``. Convert an
            annual rate with ``continuous_discount_rate(0.15, model.time_unit_)``
            (``ln(1.15) / 52`` for weekly data).

        Returns
        -------
        Series
            DERT per customer, indexed like ``data``, named
            ``expected_discounted_transactions``. Multiply by the expected spend (and
            margin) for the residual lifetime value.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad data or ``discount_rate <= 0``.

        Notes
        -----
        ``DERT = integral_0^inf exp(-delta t) dE[Y(t) | x, t_x, T]
        = delta integral_0^inf exp(-delta t) E[Y(t) | x, t_x, T] dt``.
        For the Pareto/NBD, Fader, Hardie & Lee (2005, "RFM and CLV", eq. 2):

        .. math::

            DERT = \\frac{\\alpha^r \\beta^s \\delta^{s-1} \\Gamma(r+x+1)
                   \\Psi(s, s; \\delta(\\beta+T))}{\\Gamma(r) (\\alpha+T)^{r+x+1}
                   L(r, \\alpha, s, \\beta \\mid x, t_x, T)}
                 = P(\\text{alive}) \\frac{r+x}{\\alpha+T}
                   \\frac{(\\delta(\\beta+T))^s \\Psi(s, s; \\delta(\\beta+T))}{\\delta},

        with ``Psi`` the confluent hypergeometric function of the second kind
        (:func:`scipy.special.hyperu`). For the BG/NBD and MBG/NBD the integral is
        evaluated with an 80-node Gauss-Laguerre rule in ``u = delta t``.

        References
        ----------
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value
        curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.

        Examples
        --------
        >>> import math
        >>> from customer_value.clv import ParetoNBDModel
        >>> model = ParetoNBDModel.from_params(r=0.553, alpha=10.58, s=0.606, beta=11.67)
        >>> data = {"frequency": [0, 4], "recency": [0.0, 30.0], "T": [38.0, 38.0]}
        >>> dert = model.expected_discounted_transactions(
        ...     data, discount_rate=math.log(1.15) / 52)
        >>> dert.round(2).tolist()
        [0.49, 11.48]
        """
        self._params_array()
        delta = check_scalar(discount_rate, "discount_rate", low=0.0, low_inclusive=False)
        arrays, index = self._prepare(data)
        params = self._row_params(arrays)
        values = self._dert(params, delta, arrays["frequency"], arrays["recency"], arrays["T"])
        return pd.Series(values, index=index, name="expected_discounted_transactions")


class ParetoDiscountedTransactionsMixin(DiscountedTransactionsMixin):
    """DERT in closed form for the Pareto/NBD (Fader, Hardie & Lee 2005, eq. 2)."""

    def _dert(
        self, params: FloatArray, delta: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = params
        z = delta * (beta + T)
        # (z^s U(s, s, z)) / delta = E[1 / (mu + delta)] for mu ~ gamma(s, beta + T).
        with np.errstate(over="ignore", invalid="ignore"):
            log_tail = s * np.log(z) + np.log(special.hyperu(s, s, z)) - np.log(delta)
        tail = np.exp(log_tail)
        bad = ~np.isfinite(tail)
        if np.any(bad):  # hyperu failed: integrate E[1/(mu+delta)] numerically instead
            # s is common to all customers (covariates scale alpha and beta only)
            rate = np.broadcast_to(beta + T, T.shape)[bad]
            tail[bad] = _inverse_shifted_gamma_mean(float(np.ravel(s)[0]), rate, delta)
        out: FloatArray = self._p_alive(params, x, tx, T) * (r + x) / (alpha + T) * tail
        return out


def _inverse_shifted_gamma_mean(shape: float, rate: FloatArray, delta: float) -> FloatArray:
    """``E[1 / (mu + delta)]`` for ``mu ~ gamma(shape, rate)`` by generalised Gauss-Laguerre."""
    nodes, weights = special.roots_genlaguerre(80, shape - 1.0)
    weights = weights / special.gamma(shape)
    out: FloatArray = np.sum(weights[None, :] / (nodes[None, :] / rate[:, None] + delta), axis=1)
    return out


def distinct_pairs(
    x: FloatArray, T: FloatArray
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], tuple[FloatArray, FloatArray]]:
    """Codes mapping rows to distinct (x, T) pairs, and the pairs (hash-based, linear)."""
    cx, ux = pd.factorize(x)
    cT, uT = pd.factorize(T)
    key = cx.astype(np.int64) * len(uT) + cT  # < 2**62: at most n distinct values each
    codes, keys = pd.factorize(key)
    keys = np.asarray(keys, dtype=np.int64)
    return codes.astype(np.int64), (
        np.asarray(ux, dtype=np.float64)[keys // len(uT)],
        np.asarray(uT, dtype=np.float64)[keys % len(uT)],
    )
