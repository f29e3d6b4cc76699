"""BG/BB: beta-geometric/beta-Bernoulli model of discrete purchase opportunities.

Fader, Hardie & Shang (2010). While alive, a customer transacts at each opportunity with
probability ``p`` ~ beta(alpha, beta); after each opportunity an alive customer dies with
probability ``theta`` ~ beta(gamma, delta).
"""

from __future__ import annotations

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
    check_not_greater,
    describe_row,
    first_bad,
    numeric_array,
)
from customer_value.clv._base import Data, MLEModel
from customer_value.clv._covariates import Targets, refuse_without_data
from customer_value.errors import InvalidDataError

__all__ = ["BetaGeoBetaBinomModel"]

BGBBT = TypeVar("BGBBT", bound="BetaGeoBetaBinomModel")


def _survival_sum(gamma: float, D: FloatArray, m: FloatArray) -> FloatArray:
    """``sum_{k=1}^{m} B(gamma, D + k) / B(gamma, D)``: expected alive opportunities ahead.

    Telescoped into ``D (1 - exp(g)) / (gamma - 1)`` with
    ``g = lnG(D+m+1) - lnG(gamma+D+m) + lnG(gamma+D) - lnG(D+1)``; its limit
    ``D (psi(D+m+1) - psi(D+1))`` at ``gamma = 1``.
    """
    near_one = np.abs(np.asarray(gamma) - 1.0) < 1e-8  # element-wise (covariates)
    limit = D * (special.digamma(D + m + 1.0) - special.digamma(D + 1.0))
    g = (
        special.gammaln(D + m + 1.0)
        - special.gammaln(gamma + D + m)
        + special.gammaln(gamma + D)
        - special.gammaln(D + 1.0)
    )
    safe = np.where(near_one, 2.0, gamma)
    general = np.maximum(-D * np.expm1(g) / (safe - 1.0), 0.0)  # rounding at m = 0
    res: FloatArray = np.where(near_one, limit, general)
    return res


class BetaGeoBetaBinomModel(MLEModel):
    """BG/BB model for discrete purchase opportunities (donations, annual events).

    Parameters ``alpha, beta`` describe the transaction probability ``p`` and
    ``gamma, delta`` the dropout probability ``theta`` (both beta-distributed across
    customers). Data: ``frequency`` (transactions in the ``n_periods`` opportunities after
    the first), ``recency`` (opportunity of the last transaction, 0 when none) and
    ``n_periods``. A customer with ``n_periods = 0`` (first seen at the last opportunity)
    carries no information: the row's likelihood is 1, so it does not move the fit, and it
    is predicted like a new customer (``P(alive) = 1``).

    Notes
    -----
    Fader, Hardie & Shang (2010), eq. 5: with ``x`` transactions, the last at ``t_x``, in
    ``n`` opportunities,

    .. math::

        L = \\frac{B(\\alpha+x, \\beta+n-x)}{B(\\alpha,\\beta)}
            \\frac{B(\\gamma, \\delta+n)}{B(\\gamma,\\delta)}
          + \\sum_{i=0}^{n-t_x-1} \\frac{B(\\alpha+x, \\beta+t_x-x+i)}{B(\\alpha,\\beta)}
            \\frac{B(\\gamma+1, \\delta+t_x+i)}{B(\\gamma,\\delta)} .

    It is computed in log space (``logsumexp``) with an analytic gradient (digamma).

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Customer-base analysis in a
    discrete-time noncontractual setting. Marketing Science, 29(6), 1086-1108.

    Examples
    --------
    >>> from customer_value.clv import BetaGeoBetaBinomModel
    >>> from customer_value.datasets import load_donations
    >>> model = BetaGeoBetaBinomModel().fit(load_donations())  # uses its 'weights' column
    >>> model.params_.round(3).tolist()
    [1.204, 0.75, 0.657, 2.783]
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _flat_hints: ClassVar[dict[frozenset[str], str]] = {
        frozenset({"alpha", "beta"}): "alpha/(alpha+beta) is the mean purchase probability",
        frozenset({"gamma", "delta"}): "gamma/(gamma+delta) is the mean dropout probability",
    }
    _data_columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "n_periods")
    # Fader & Hardie (2007) note 019, p. 2, for beta-distributed probabilities:
    # alpha_i = alpha exp(g_a' x), beta_i = beta exp(g_b' x) (purchase probability p) and
    # gamma_i = gamma exp(g_g' x), delta_i = delta exp(g_d' x) (dropout probability).
    _covariate_targets: ClassVar[Targets] = {
        "purchase": ((0, 1.0, "alpha"), (1, 1.0, "beta")),
        "dropout": ((2, 1.0, "gamma"), (3, 1.0, "delta")),
    }

    def _check_data(self, data: Data, index: pd.Index[Any], what: str) -> None:
        x, tx, n = data["frequency"], data["recency"], data["n_periods"]
        for name, values in (("frequency", x), ("recency", tx), ("n_periods", n)):
            check_nonnegative(values, name, index=index, what=what)
            check_integer(values, name, index=index, what=what)
        # n_periods = 0 (first seen at the last opportunity) is valid: the row's
        # likelihood is 1 (log 0, no gradient) and it is predicted like a new customer.
        check_not_greater(x, tx, "frequency", "recency", index=index, what=what)
        check_not_greater(tx, n, "recency", "n_periods", index=index, what=what)
        pos = first_bad((x == 0) & (tx > 0))
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column 'recency' must be 0 when 'frequency' is 0; "
                f"{describe_row(index, pos)} has recency={float(tx[pos])!r}, frequency=0"
            )

    def _check_fit_data(self, data: Data, weights: npt.NDArray[np.float64], what: str) -> None:
        if not np.any((data["frequency"] > 0) & (weights > 0)):
            raise InvalidDataError(
                f"{what}: column 'frequency' is 0 in every row: with no repeat transaction the "
                "parameters of BetaGeoBetaBinomModel are not identifiable"
            )

    def fit(
        self: BGBBT,
        data: Any,
        *,
        weights: Any = None,
        initial_params: Any = None,
        progress: bool = False,
        time_unit: str | None = None,
    ) -> BGBBT:
        """Estimate ``alpha, beta, gamma, delta`` by maximum likelihood.

        Parameters
        ----------
        data : DataFrame or mapping of column name to array
            Rows with ``frequency``, ``recency`` and ``n_periods`` (whole numbers,
            ``frequency <= recency <= n_periods``), one per customer or per pattern.
        weights : array-like or str, optional
            Customers per row, or the name of a column holding them. When omitted, the
            column ``weights`` is used if ``data`` has one (as the aggregated
            :func:`~customer_value.datasets.load_donations` does), else one per row.
        initial_params : mapping or sequence of float, optional
            Start values of the optimiser.
        progress : bool, default False
            Show the optimiser's progress on stderr.
        time_unit : str, optional
            Time unit for data without ``attrs["time_unit"]``: the unit of one purchase
            opportunity (``"Y"`` for yearly draws). Refused when it contradicts the data's own.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InvalidDataError
            A missing column, an impossible row (recency > n_periods, frequency >
            recency, fractional counts) naming the column, row and value, bad weights, or
            nobody transacting.
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

    # ------------------------------------------------------------------ likelihood
    def _terms(
        self, params: FloatArray, data: Data, *, grad: bool
    ) -> tuple[FloatArray, FloatArray | None]:
        """Log of each likelihood term, shape (n, K+1) (``-inf`` where absent), and its
        gradient, shape (n, K+1, 4). Column 0 is the "alive at n" term."""
        alpha, beta, gamma, delta = params
        x, tx, n = data["frequency"], data["recency"], data["n_periods"]
        k_max = int(np.max(n - tx)) if x.size else 0

        def col(v: Any) -> Any:  # per-customer parameters (covariates) against (n, k)
            return v[:, None] if np.ndim(v) == 1 else v

        i = np.arange(k_max, dtype=np.float64)[None, :]
        valid = i < (n - tx)[:, None]
        base_ab = special.betaln(alpha, beta)
        base_gd = special.betaln(gamma, delta)
        terms = np.empty((x.size, k_max + 1))
        terms[:, 0] = (
            special.betaln(alpha + x, beta + n - x)
            - base_ab
            + special.betaln(gamma, delta + n)
            - base_gd
        )
        bx = (beta + tx - x)[:, None] + i
        dt = (delta + tx)[:, None] + i
        ax = (alpha + x)[:, None]
        with np.errstate(invalid="ignore"):
            rest = (
                special.betaln(ax, bx)
                - col(base_ab)
                + special.betaln(col(gamma) + 1.0, dt)
                - col(base_gd)
            )
        terms[:, 1:] = np.where(valid, rest, -np.inf)
        if not grad:
            return terms, None
        psi = special.digamma
        c_a = psi(alpha) - psi(alpha + beta)
        c_b = psi(beta) - psi(alpha + beta)
        c_g = psi(gamma) - psi(gamma + delta)
        c_d = psi(delta) - psi(gamma + delta)
        g = np.zeros((x.size, k_max + 1, 4))
        abn = psi(alpha + beta + n)
        gdn = psi(gamma + delta + n)
        g[:, 0, 0] = psi(alpha + x) - abn - c_a
        g[:, 0, 1] = psi(beta + n - x) - abn - c_b
        g[:, 0, 2] = psi(gamma) - gdn - c_g
        g[:, 0, 3] = psi(delta + n) - gdn - c_d
        if k_max:
            ab_i = psi(ax + bx)
            gd_i = psi(col(gamma) + 1.0 + dt)
            g[:, 1:, 0] = psi(ax) - ab_i - col(c_a)
            g[:, 1:, 1] = psi(bx) - ab_i - col(c_b)
            g[:, 1:, 2] = psi(col(gamma) + 1.0) - gd_i - col(c_g)
            g[:, 1:, 3] = psi(dt) - gd_i - col(c_d)
            g[:, 1:, :] = np.where(valid[:, :, None], g[:, 1:, :], 0.0)
        return terms, g

    def _loglik_grad(self, params: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        terms, g = self._terms(params, data, grad=True)
        ll: FloatArray = special.logsumexp(terms, axis=1)
        share = np.exp(terms - ll[:, None])
        if g is None:  # pragma: no cover - grad=True always returns it
            raise RuntimeError("gradient missing")
        grad: FloatArray = np.einsum("nk,nkj->nj", share, g)
        return ll, grad

    def _loglik(self, params: FloatArray, data: Data) -> FloatArray:
        terms, _ = self._terms(params, data, grad=False)
        out: FloatArray = special.logsumexp(terms, axis=1)
        return out

    # ------------------------------------------------------------------ predictions
    def _log_alive(self, params: FloatArray, data: Data, future: FloatArray) -> FloatArray:
        alpha, beta, gamma, delta = params
        x, n = data["frequency"], data["n_periods"]
        ll = self._loglik(params, data)
        out: FloatArray = (
            special.betaln(alpha + x, beta + n - x)
            - special.betaln(alpha, beta)
            + special.betaln(gamma, delta + n + future)
            - special.betaln(gamma, delta)
            - ll
        )
        return out

    @staticmethod
    def _periods(value: Any, name: str, size: int) -> FloatArray:
        arr = numeric_array(np.atleast_1d(np.asarray(value, dtype=object)), name, what=name)
        check_nonnegative(arr, name, what=name)
        check_integer(arr, name, what=name)
        if arr.size == 1:
            return np.full(size, arr[0])
        if arr.size != size:
            raise InvalidDataError(f"{name} must be a scalar or have one value per row ({size})")
        return arr

    def probability_alive(
        self, data: Any = None, *, future_periods: Any = 0, customer_id_col: str = "customer_id"
    ) -> Any:
        """Probability that each customer is still alive ``future_periods`` after period n.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Customers with ``frequency``, ``recency``, ``n_periods``; defaults to the
            training data.
        future_periods : int or array-like of int, default 0
            ``m >= 0``: 0 gives P(alive after the last observed opportunity n); 1 gives
            P(alive at opportunity n + 1), Fader, Hardie & Shang's eq. 11.
        customer_id_col : str, default "customer_id"
            Engine frames only (Polars, DuckDB, Spark, Dask): the id column carried into
            the result. A pandas result is indexed like ``data`` instead.

        Returns
        -------
        Series
            Probabilities in [0, 1], indexed like ``data``.
            An engine frame gives a frame of the same kind with ``customer_id_col`` and
            this column, computed partition by partition.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad data or a negative/fractional ``future_periods``.

        Notes
        -----
        ``P = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n+m)/B(γ,δ) / L(α,β,γ,δ | x, t_x, n)``
        (Fader, Hardie & Shang 2010, eq. 11 with ``m = 1``).

        References
        ----------
        Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Marketing Science, 29(6).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoBetaBinomModel
        >>> model = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750,
        ...                                           gamma=0.657, delta=2.783)
        >>> data = {"frequency": [0, 6], "recency": [0, 6], "n_periods": [6, 6]}
        >>> model.probability_alive(data, future_periods=1).round(3).tolist()
        [0.11, 0.93]
        """
        if is_engine(data):
            m0 = self._periods(future_periods, "future_periods", 1)[0]
            return self._score_engine(
                data,
                "probability_alive",
                "probability_alive",
                customer_id_col,
                future_periods=m0,
            )
        self._params_array()
        arrays, index = self._prepare(data)
        params = self._row_params(arrays)
        m = self._periods(future_periods, "future_periods", len(index))
        values = np.clip(np.exp(self._log_alive(params, arrays, m)), 0.0, 1.0)
        return pd.Series(values, index=index, name="probability_alive")

    def expected_purchases(
        self, n_future: Any, data: Any = None, *, customer_id_col: str = "customer_id"
    ) -> Any:
        """Expected transactions in the next ``n_future`` opportunities, per customer.

        Parameters
        ----------
        n_future : int or array-like of int
            Number of future opportunities ``n* >= 0`` (scalar or one per row).
        data : DataFrame, mapping or engine frame, optional
            Customers with ``frequency``, ``recency``, ``n_periods``; defaults to the
            training data.
        customer_id_col : str, default "customer_id"
            Engine frames only (Polars, DuckDB, Spark, Dask): the id column carried into
            the result. A pandas result is indexed like ``data`` instead.

        Returns
        -------
        Series
            ``E[X(n, n + n*) | x, t_x, n]`` indexed like ``data``.
            An engine frame gives a frame of the same kind with ``customer_id_col`` and
            this column, computed partition by partition.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad data or a negative/fractional ``n_future``.

        Notes
        -----
        Fader, Hardie & Shang (2010), eq. 13, written as
        ``P(alive after n) · (α+x)/(α+β+n) · sum_{k=1}^{n*} B(γ, δ+n+k)/B(γ, δ+n)``
        (the posterior mean of ``p`` times the expected number of alive opportunities),
        with the sum telescoped into closed form.

        References
        ----------
        Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Marketing Science, 29(6).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoBetaBinomModel
        >>> model = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750,
        ...                                           gamma=0.657, delta=2.783)
        >>> data = {"frequency": [6], "recency": [6], "n_periods": [6]}
        >>> round(float(model.expected_purchases(5, data).iloc[0]), 2)
        3.75
        """
        if is_engine(data):
            m0 = self._periods(n_future, "n_future", 1)[0]
            return self._score_engine(
                data, "expected_purchases", "expected_purchases", customer_id_col, m0
            )
        self._params_array()
        arrays, index = self._prepare(data)
        params = self._row_params(arrays)
        alpha, beta, gamma, delta = params
        m = self._periods(n_future, "n_future", len(index))
        x, n = arrays["frequency"], arrays["n_periods"]
        alive = np.exp(self._log_alive(params, arrays, np.zeros(len(index))))
        values = alive * (alpha + x) / (alpha + beta + n) * _survival_sum(gamma, delta + n, m)
        return pd.Series(values, index=index, name="expected_purchases")

    def expected_purchases_new_customer(self, n: Any, data: Any = None) -> pd.Series:
        """Expected transactions of a new customer in the first ``n`` opportunities.

        Parameters
        ----------
        n : int or array-like of int
            Number(s) of opportunities, >= 0 (with ``data``: a scalar or one per row).
        data : DataFrame or mapping, optional
            New customers with the model's covariate columns (required with covariates).

        Returns
        -------
        Series
            ``E[X(n)]`` indexed by ``n``; with ``data``, one value per customer indexed
            like ``data``.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Negative or fractional ``n``; covariates missing (see ``data``).

        Notes
        -----
        Fader, Hardie & Shang (2010), eq. 9:
        ``E[X(n)] = α/(α+β) · δ/(γ-1) · [1 - Γ(γ+δ)Γ(1+δ+n) / (Γ(γ+δ+n)Γ(1+δ))]``,
        evaluated as ``α/(α+β) · sum_{k=1}^{n} B(γ, δ+k)/B(γ, δ)`` (finite at γ = 1).

        References
        ----------
        Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Marketing Science, 29(6).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoBetaBinomModel
        >>> model = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750,
        ...                                           gamma=0.657, delta=2.783)
        >>> model.expected_purchases_new_customer([1, 6]).round(3).tolist()
        [0.498, 2.22]
        """
        full = self._params_array()
        counts = numeric_array(np.atleast_1d(np.asarray(n, dtype=object)), "n", what="n")
        check_nonnegative(counts, "n", what="n")
        check_integer(counts, "n", what="n")
        if data is None:
            refuse_without_data(
                type(self).__name__, self._design(), "expected_purchases_new_customer"
            )
            alpha, beta, gamma, delta = full
            values = (
                alpha / (alpha + beta) * _survival_sum(gamma, np.full(counts.size, delta), counts)
            )
            return pd.Series(
                values, index=pd.Index(counts.astype(np.int64), name="n"), name="expected_purchases"
            )
        cov_arrays, index = self._covariates_of(data, what="data")
        alpha, beta, gamma, delta = self._row_params(cov_arrays)
        m = self._periods(counts, "n", len(index))
        values = alpha / (alpha + beta) * _survival_sum(gamma, np.broadcast_to(delta, m.shape), m)
        return pd.Series(values, index=index, name="expected_purchases")
