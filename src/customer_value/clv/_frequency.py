"""Shared front end of the purchase-frequency models (BG/NBD, MBG/NBD, Pareto/NBD).

:class:`FrequencyModel` validates ``frequency``/``recency``/``T`` tables and turns the
array-level formulas of a concrete model into pandas-returning predictions. A model
implements the array methods ``_expected``, ``_p_alive``, ``_expected_new``, ``_pmf`` and
``_simulate_arrays`` (natural-scale parameters, 1-d float arrays) plus the
:mod:`customer_value.clv._base` contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from customer_value._engine import is_engine
from customer_value._validation import (
    FloatArray,
    check_integer,
    check_nonnegative,
    check_not_greater,
    check_positive,
    check_scalar,
    describe_row,
    first_bad,
    numeric_array,
)
from customer_value.clv._base import Data, MLEModel
from customer_value.clv._dert import distinct_pairs
from customer_value.errors import InvalidDataError

__all__ = ["FrequencyModel"]


_PMF_CHUNK = 200_000  # customer x count cells per evaluation of the count distribution


def _as_times(t: Any, name: str = "t") -> FloatArray:
    """Non-negative finite scalar or 1-d array of horizons."""
    arr = numeric_array(np.atleast_1d(np.asarray(t, dtype=object)), name, what=name)
    check_nonnegative(arr, name, what=name)
    return arr


class FrequencyModel(MLEModel):
    """Base of the models of repeat-purchase counts and dropout (private).

    Subclasses provide the likelihood (see :mod:`customer_value.clv._base`) and the array
    formulas named in this module's docstring.
    """

    _data_columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")
    _p_alive_at_zero_is_one: ClassVar[bool] = False
    # interpolants of E[Y | alive] shared between calls, only inside _shared_interpolants
    _kappa_fits: dict[Any, Any] | None = None

    @contextmanager
    def _shared_interpolants(self) -> Iterator[None]:
        """Let the calls inside reuse the interpolants of ``E[Y(t) | alive]`` that a model
        builds for many rows (the blocks of one CLV horizon), instead of each its own."""
        previous, self._kappa_fits = self._kappa_fits, {}
        try:
            yield
        finally:
            self._kappa_fits = previous

    # ------------------------------------------------------------------ validation
    def _check_data(self, data: Data, index: pd.Index[Any], what: str) -> None:
        x, tx, T = data["frequency"], data["recency"], data["T"]
        check_nonnegative(x, "frequency", index=index, what=what)
        check_integer(x, "frequency", index=index, what=what)
        check_nonnegative(tx, "recency", index=index, what=what)
        check_nonnegative(T, "T", index=index, what=what)
        check_not_greater(tx, T, "recency", "T", index=index, what=what)
        # T = 0: first seen at the end of observation. The history is certain (no time
        # to buy again), so the row's likelihood is 1 and its log 0 in every model here;
        # predictions are those of a customer who has just made the first purchase.
        pos = first_bad((T == 0) & (x > 0))
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column 'frequency' must be 0 when 'T' is 0 (a customer first seen "
                f"at the end of observation has had no time to buy again); "
                f"{describe_row(index, pos)} has frequency={float(x[pos])!r}, T=0"
            )
        pos = first_bad((x == 0) & (tx > 0))
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column 'recency' must be 0 when 'frequency' is 0 (recency is the "
                f"time of the last repeat purchase); {describe_row(index, pos)} has "
                f"recency={float(tx[pos])!r}, frequency=0"
            )

    def _check_fit_data(self, data: Data, weights: npt.NDArray[np.float64], what: str) -> None:
        if not np.any((data["frequency"] > 0) & (weights > 0)):
            raise InvalidDataError(
                f"{what}: column 'frequency' is 0 in every row: with no repeat purchase the "
                f"parameters of {type(self).__name__} are not identifiable"
            )

    def _start_values(self, data: Data, weights: npt.NDArray[np.float64]) -> FloatArray:
        # Method-of-moments flavour: purchase rate r/alpha near the observed repeat rate.
        rate = float(np.sum(weights * data["frequency"]) / np.sum(weights * data["T"]))
        start = np.ones(len(self._param_names))
        start[1] = 1.0 / max(rate, 1e-6)
        return start

    # ------------------------------------------------------------------ array formulas
    def _expected(
        self, params: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """``E[Y(t) | x, t_x, T] = E[Y(t) | alive at T] P(alive at T)``."""
        out: FloatArray = self._expected_alive(params, t, x, T) * self._p_alive(params, x, tx, T)
        return out

    def _p_alive(
        self, params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        raise NotImplementedError

    def _draw_values(
        self, quantity: str, fulls: FloatArray, data: Data, options: dict[str, float]
    ) -> FloatArray | None:
        """``quantity`` for every row under every full parameter vector, shape ``(D, n)``,
        when the model has a faster way than one call per vector; else None."""
        return None

    def _expected_alive(
        self, params: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """``E[Y(t) | alive at T, x, T]``; it does not depend on the recency."""
        raise NotImplementedError

    def _expected_new(self, params: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _pmf(self, params: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _simulate_arrays(
        self, params: FloatArray, T: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Return (frequency, recency, T, dropout time) for ``T.size`` new customers."""
        raise NotImplementedError

    # ------------------------------------------------------------------ predictions
    def expected_purchases(
        self, t: Any, data: Any = None, *, customer_id_col: str = "customer_id"
    ) -> Any:
        """Expected number of repeat purchases in the next ``t`` time units, per customer.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) in the model's time unit, >= 0; an array gives one horizon per row
            (a scalar for engine frames).
        data : DataFrame, mapping or engine frame, optional
            Customers with ``frequency``, ``recency`` and ``T``; defaults to the training data.
        customer_id_col : str, default "customer_id"
            Engine frames only (Polars, DuckDB, Spark, Dask): the id column carried into
            the result. A pandas result is indexed like ``data`` instead.

        Returns
        -------
        Series
            ``E[Y(t) | frequency, recency, T]`` indexed like ``data``.
            An engine frame gives a frame of the same kind with ``customer_id_col`` and
            this column, computed partition by partition.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad ``t`` or bad data.

        Notes
        -----
        BG/NBD: FHL (2005) eq. 10; MBG/NBD: Batislam et al. (2007); Pareto/NBD:
        Schmittlein et al. (1987), in the form of Fader & Hardie's (2005) note. It is
        ``P(alive)`` times the expected purchases of an active customer whose rate and
        dropout follow the posterior given the history.

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
        easy way. *Marketing Science* 24(2), 275-284.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> from customer_value.datasets import load_cdnow_summary
        >>> model = BetaGeoModel().fit(load_cdnow_summary())
        >>> round(float(model.expected_purchases(39).sum()))
        1653
        """
        if is_engine(data):
            t = check_scalar(t, "t", low=0.0)
            return self._score_engine(
                data, "expected_purchases", "expected_purchases", customer_id_col, t
            )
        alive, values, index = self._alive_and_expected(t, data)
        return pd.Series(alive * values, index=index, name="expected_purchases")

    def _alive_and_expected(self, t: Any, data: Any) -> tuple[FloatArray, FloatArray, Any]:
        """``P(alive)`` and ``E[Y(t) | alive]`` per row (their product is ``E[Y(t)]``)."""
        self._params_array()
        arrays, index = self._prepare(data)
        params = self._row_params(arrays)
        times = self._broadcast_t(t, len(index))
        x, tx, T = arrays["frequency"], arrays["recency"], arrays["T"]
        alive = self._p_alive(params, x, tx, T)
        # E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) E[Y(t) | alive, x, T]: the costly
        # second factor once per distinct (x, T) pair when T takes few values (when T is
        # continuous, nearly every pair is distinct and the grouping is skipped).
        same_t = bool(times.size) and bool(np.all(times == times[0]))
        shared = params.ndim == 1  # with covariates each customer has own parameters
        if (
            shared
            and same_t
            and pd.unique(T[: min(T.size, 10_000)]).size * 2 <= min(T.size, 10_000)
        ):
            codes, (ux, uT) = distinct_pairs(x, T)
            per_alive = self._expected_alive(params, np.full(ux.size, times[0]), ux, uT)[codes]
        else:
            per_alive = self._expected_alive(params, times, x, T)
        return alive, per_alive, index

    def alive_and_expected_purchases(self, t: Any, data: Any = None) -> pd.DataFrame:
        """``P(alive)`` and the expected purchases in the next ``t``, in one pass.

        What :meth:`probability_alive` and :meth:`expected_purchases` return, with the
        data validated and ``P(alive)`` computed once (``E[Y(t)] = P(alive) E[Y(t) |
        alive]``): the route for scoring many customers, as
        :func:`customer_value.churn.churn_risk` does.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) in the model's time unit, >= 0 (one per row, or a scalar).
        data : DataFrame or mapping, optional
            Customers with ``frequency``, ``recency`` and ``T``; defaults to the training data.

        Returns
        -------
        DataFrame
            Indexed like ``data``: ``p_alive`` and ``expected_purchases``, equal to the
            outputs of the two methods.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad ``t`` or bad data.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> both = model.alive_and_expected_purchases(
        ...     39, {"frequency": [0, 2], "recency": [0, 30.43], "T": [38.86, 38.86]})
        >>> both.round(3).to_dict("list")
        {'p_alive': [1.0, 0.727], 'expected_purchases': [0.195, 1.226]}
        """
        alive, per_alive, index = self._alive_and_expected(t, data)
        return pd.DataFrame(
            {"p_alive": np.clip(alive, 0.0, 1.0), "expected_purchases": alive * per_alive},
            index=index,
        )

    def probability_alive(self, data: Any = None, *, customer_id_col: str = "customer_id") -> Any:
        """Probability that each customer is still active at the end of observation.

        Parameters
        ----------
        data : DataFrame, mapping or engine frame, optional
            Customers with ``frequency``, ``recency`` and ``T``; defaults to the training data.
        customer_id_col : str, default "customer_id"
            Engine frames only (Polars, DuckDB, Spark, Dask): the id column carried into
            the result. A pandas result is indexed like ``data`` instead.

        Returns
        -------
        Series
            ``P(alive | frequency, recency, T)`` in [0, 1], indexed like ``data``.
            An engine frame gives a frame of the same kind with ``customer_id_col`` and
            this column, computed partition by partition.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Bad data.

        Notes
        -----
        BG/NBD: ``1 / (1 + a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))`` for
        ``x > 0`` and 1 otherwise (Fader, Hardie & Lee, note "Computing P(alive) using
        the BG/NBD model"); MBG/NBD without the ``x > 0`` condition; Pareto/NBD: the
        share of the likelihood from "alive at T" (Fader & Hardie 2005 note).

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
        easy way. *Marketing Science* 24(2), 275-284.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> model.probability_alive({"frequency": [0, 2], "recency": [0, 30.43],
        ...                          "T": [38.86, 38.86]}).round(3).tolist()
        [1.0, 0.727]
        """
        if is_engine(data):
            return self._score_engine(
                data, "probability_alive", "probability_alive", customer_id_col
            )
        self._params_array()
        arrays, index = self._prepare(data)
        params = self._row_params(arrays)
        values = self._p_alive(params, arrays["frequency"], arrays["recency"], arrays["T"])
        return pd.Series(np.clip(values, 0.0, 1.0), index=index, name="probability_alive")

    def expected_purchases_new_customer(self, t: Any, data: Any = None) -> pd.Series:
        """Expected repeat purchases of a new customer in ``(0, t]``: ``E[X(t)]``.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) in the model's time unit, >= 0. With ``data``: a scalar or one
            horizon per row.
        data : DataFrame or mapping, optional
            New customers, one row each with the model's covariate columns (required for
            a model with covariates: each customer is predicted with their own rates).

        Returns
        -------
        Series
            Without ``data``: one value per horizon, indexed by ``t``. With ``data``: one
            value per customer, indexed like ``data``.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Negative or non-finite ``t``; a model with covariates called without
            ``data``, or ``data`` missing a covariate column or with a bad value.

        Notes
        -----
        BG/NBD: FHL (2005) eq. 7; MBG/NBD: Batislam et al. (2007); Pareto/NBD:
        ``r beta / (alpha (s-1)) [1 - (beta / (beta + t))^(s-1)]`` (Schmittlein et al.
        1987).

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
        easy way. *Marketing Science* 24(2), 275-284.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> model.expected_purchases_new_customer([39, 78]).round(3).tolist()
        [1.197, 1.861]

        With covariates, per new customer:

        >>> cov = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426,
        ...     purchase_covariates=["app"], **{"purchase.app": 0.5})
        >>> cov.expected_purchases_new_customer(39, {"app": [0, 1]}).round(3).tolist()
        [1.197, 1.654]
        """
        if data is None:
            params = self._new_customer_params("expected_purchases_new_customer")
            times = _as_times(t)
            values = self._expected_new(params, times)
            return pd.Series(values, index=pd.Index(times, name="t"), name="expected_purchases")
        self._params_array()
        cov_arrays, index = self._covariates_of(data, what="data")
        params = self._row_params(cov_arrays)
        values = self._expected_new(params, self._broadcast_t(t, len(index)))
        return pd.Series(values, index=index, name="expected_purchases")

    def _new_customer_params(self, method: str) -> FloatArray:
        """The model's parameters for a new customer; a covariate model needs their data."""
        params = self._base_params()
        columns = self._design().columns
        if columns:
            raise InvalidDataError(
                f"{type(self).__name__}.{method}: the model has covariates "
                f"({', '.join(repr(c) for c in columns)}), so a new customer's purchases "
                "depend on them: pass data with one row per new customer and those columns"
            )
        return params

    def probability_of_purchases(self, n: Any, t: Any, data: Any = None) -> Any:
        """Probability that a new customer makes exactly ``n`` repeat purchases in ``(0, t]``.

        Parameters
        ----------
        n : int or array-like of int
            Number(s) of purchases, >= 0.
        t : float
            Horizon in the model's time unit, >= 0.
        data : DataFrame or mapping, optional
            New customers, one row each with the model's covariate columns (required for
            a model with covariates).

        Returns
        -------
        Series or DataFrame
            Without ``data``: ``P(X(t) = n)`` indexed by ``n``. With ``data``: one row per
            customer (indexed like ``data``), one column per ``n``.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            Negative or fractional ``n``, bad ``t``; a model with covariates called
            without ``data``, or bad covariates.

        Notes
        -----
        BG/NBD: FHL (2005) eq. 8; MBG/NBD: the same mixture with dropout possible at
        time 0; Pareto/NBD: the negative binomial count mixed over the Pareto lifetime
        (64-point Gauss-Legendre rule in the lifetime's CDF).

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
        easy way. *Marketing Science* 24(2), 275-284.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> round(float(model.probability_of_purchases(range(200), 39).sum()), 6)
        1.0
        """
        if data is None:
            params = self._new_customer_params("probability_of_purchases")
        counts = numeric_array(np.atleast_1d(np.asarray(n, dtype=object)), "n", what="n")
        check_nonnegative(counts, "n", what="n")
        check_integer(counts, "n", what="n")
        horizon = check_scalar(t, "t", low=0.0)
        if data is None:
            values = self._pmf(params, counts, np.full(counts.shape, horizon))
            return pd.Series(
                np.clip(values, 0.0, 1.0),
                index=pd.Index(counts.astype(np.int64), name="n"),
                name="probability",
            )
        self._params_array()
        cov_arrays, index = self._covariates_of(data, what="data")
        table = self._pmf_table(self._row_params(cov_arrays), counts, horizon, len(index))
        return pd.DataFrame(table, index=index, columns=pd.Index(counts.astype(np.int64), name="n"))

    def _pmf_table(
        self, params: FloatArray, counts: FloatArray, horizon: float, n_rows: int
    ) -> FloatArray:
        """``P(X(t) = n)`` for every customer (rows) and count (columns), in chunks."""
        out = np.empty((n_rows, counts.size))
        if params.ndim == 1:  # no covariates: one distribution for everyone
            out[:] = np.clip(self._pmf(params, counts, np.full(counts.shape, horizon)), 0, 1)
            return out
        per_chunk = max(1, _PMF_CHUNK // max(counts.size, 1))
        for lo in range(0, n_rows, per_chunk):
            rows = slice(lo, min(n_rows, lo + per_chunk))
            m = rows.stop - rows.start
            rep = np.repeat(params[:, rows], counts.size, axis=1)
            flat = self._pmf(rep, np.tile(counts, m), np.full(m * counts.size, horizon))
            out[rows] = np.clip(flat.reshape(m, counts.size), 0.0, 1.0)
        return out

    def simulate(
        self,
        n_customers: int,
        T: Any,
        *,
        random_state: int | np.random.Generator | None = None,
        return_times: bool = False,
        covariates: Any = None,
    ) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
        """Simulate new customers from the model (vectorised, no per-customer loop).

        Parameters
        ----------
        n_customers : int
            Number of customers, >= 1.
        T : float or array-like
            Observation length per customer (scalar or ``n_customers`` values, > 0).
        random_state : int or numpy Generator, optional
            Seed or generator, for reproducible draws.
        return_times : bool, default False
            Also return the repeat-purchase times as a long table.
        covariates : DataFrame or mapping, optional
            For a model with covariates: one row per customer with its covariate columns
            (``n_customers`` rows); each customer is simulated with their own
            parameters. Without it such a model simulates customers whose covariates
            are all zero.

        Returns
        -------
        DataFrame or (DataFrame, DataFrame)
            A summary with ``frequency``, ``recency``, ``T`` (what ``fit`` takes) and the
            latent ``dropout_time`` (``inf`` when the customer never drops out), indexed by
            customer number ``0..n-1``; with ``return_times``, also a table of
            ``customer_id`` and ``time`` for every repeat purchase.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.
        InvalidDataError
            ``n_customers`` not a whole number >= 1, or bad ``T``.

        Notes
        -----
        Draws each customer's latent rate and dropout process from the mixing
        distributions, the number of purchases made while active, and the time of the
        last one from its order-statistic distribution (``T Beta(x, N - x + 1)``), all as
        array operations.

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
        easy way. *Marketing Science* 24(2), 275-284.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> sim = model.simulate(1000, 39.0, random_state=1)
        >>> sim.shape, bool((sim["recency"] <= sim["T"]).all())
        ((1000, 4), True)
        """
        params = self._base_params()
        n_float = check_scalar(n_customers, "n_customers", low=1.0)
        if n_float != int(n_float):
            raise InvalidDataError(
                f"n_customers must be a whole number of customers, got {n_customers!r}"
            )
        n = int(n_float)
        times = _as_times(T, "T")
        check_positive(times, "T", what="T")
        if times.size == 1:
            times = np.full(n, times[0])
        elif times.size != n:
            raise InvalidDataError(f"T must be a scalar or have n_customers={n} values")
        if covariates is not None:
            cov_arrays, cov_index = self._covariates_of(covariates)
            if len(cov_index) != n:
                raise InvalidDataError(
                    f"covariates must have n_customers={n} rows, got {len(cov_index)}"
                )
            params = self._row_params(cov_arrays)
        rng = np.random.default_rng(random_state)
        x, tx, TT, death = self._simulate_arrays(params, times, rng)
        summary = pd.DataFrame(
            {"frequency": x, "recency": tx, "T": TT, "dropout_time": death},
            index=pd.RangeIndex(n, name="customer_id"),
        )
        summary.attrs["time_unit"] = self.time_unit_
        if not return_times:
            return summary
        # Given x purchases with the last at t_x, the first x - 1 are uniform on (0, t_x).
        counts = x.astype(np.int64)
        owner = np.repeat(np.arange(n), counts)
        ends = np.cumsum(counts) - 1
        owner_last = np.zeros(owner.size, dtype=np.bool_)
        owner_last[ends[counts > 0]] = True
        u = rng.random(owner.size) * tx[owner]
        u[owner_last] = tx[owner][owner_last]
        order = np.lexsort((u, owner))
        purchases = pd.DataFrame({"customer_id": owner[order], "time": u[order]})
        return summary, purchases

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _broadcast_t(t: Any, n: int) -> FloatArray:
        times = _as_times(t)
        if times.size == 1:
            return np.full(n, times[0])
        if times.size != n:
            raise InvalidDataError(f"t must be a scalar or have one value per row ({n})")
        return times
