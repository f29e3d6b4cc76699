"""Per-customer intervals from the parameter uncertainty of a fitted model.

Both methods work on the *fitting scale* - ``log`` of every positive model parameter,
the covariate coefficients as they are - where the maximum-likelihood estimate is
asymptotically normal with covariance ``J^-1 Sigma J^-1`` (``Sigma`` = ``covariance_``
in natural parameters, ``J`` = diag(d natural / d fitting scale)).

* ``method="delta"``: the gradient of each customer's value on the fitting scale by
  central differences, its variance ``g' V g``, and a normal interval on the log scale
  (on the logit scale for probabilities), transformed back: it stays inside the range
  of the quantity.
* ``method="bootstrap"``: a parametric bootstrap - ``n_draws`` parameter vectors from
  the asymptotic normal, the value of every customer under every draw (vectorised over
  customers x draws, in chunks of bounded memory), and the percentile interval.

Both describe the uncertainty of the *expected* value caused by estimating the
parameters from finite data, not the spread of a customer's random future purchases.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from customer_value._validation import FloatArray, check_choice, check_scalar, z_critical
from customer_value.clv._accelerate import accelerated, compiled
from customer_value.clv._base import Data, MLEModel
from customer_value.clv._covariates import covariate_matrix
from customer_value.clv._frequency import FrequencyModel
from customer_value.clv._gamma_gamma import GammaGammaModel
from customer_value.errors import InvalidDataError

__all__ = ["clv_intervals", "prediction_intervals", "purchase_count_intervals"]

_QUANTITIES = (
    "expected_purchases",
    "probability_alive",
    "expected_discounted_transactions",
    "expected_spend",
)
_ROWS_PER_CHUNK = 4_000_000  # customer x draw rows evaluated at once (bounded memory: 32 MB)
_STEP = 1e-4  # central-difference step on the fitting scale


def _fitting_scale(model: MLEModel) -> tuple[FloatArray, FloatArray]:
    """Estimate and covariance on the fitting scale (log of the positive parameters)."""
    cov = model._estimated()  # NotFittedError before fit
    full = model._params_array()
    k = len(model._param_names)
    theta = full.copy()
    theta[:k] = np.log(full[:k])
    jac = np.ones_like(full)
    jac[:k] = full[:k]
    return theta, cov / np.outer(jac, jac)


def _natural(model: MLEModel, thetas: FloatArray) -> FloatArray:
    k = len(model._param_names)
    out = thetas.copy()
    out[:, :k] = np.exp(thetas[:, :k])
    return out


def _values(
    model: MLEModel, quantity: str, fulls: FloatArray, arrays: Data, options: dict[str, float]
) -> FloatArray:
    """Values of ``quantity`` for every customer under every full parameter vector.

    Each vector is one call of the model's array formula: without covariates it shares
    work between customers with equal histories; with covariates every customer has
    their own parameters, but the shape parameters of one vector are common to all
    customers, which the Pareto/NBD kernel exploits (customers of one frequency share
    the hypergeometric series, :func:`~customer_value.clv._pareto_kernel._series_by_group`).
    Stacking the vectors into one call would mix shape parameters and lose that.
    Returns shape ``(len(fulls), n)``.
    """
    k = len(model._param_names)
    if model._design().empty:
        return np.vstack([_formula(model, quantity, full[:k], arrays, options) for full in fulls])
    # the covariate matrix once for all vectors
    prepared = {**arrays, "_X": covariate_matrix(model._design(), arrays)}
    if isinstance(model, FrequencyModel):
        compiled = model._draw_values(quantity, fulls, prepared, options)
        if compiled is not None:  # all vectors in one compiled pass (Pareto/NBD, numba)
            return compiled
    return np.vstack(
        [
            _formula(model, quantity, model._row_params(prepared, full), prepared, options)
            for full in fulls
        ]
    )


def _formula(
    model: MLEModel, quantity: str, params: FloatArray, arrays: Data, options: dict[str, float]
) -> FloatArray:
    """The model's array formula for ``quantity`` (``(k,)`` or per-row ``(k, n)`` params)."""
    if quantity == "expected_spend":
        p, q, v = params
        x = arrays["frequency"]
        zbar = np.where(x > 0, arrays["monetary_value"], 0.0)
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(denom > 0, p * (v + x * zbar) / np.where(denom > 0, denom, 1), np.inf)
        return np.asarray(values, dtype=np.float64)
    if not isinstance(model, FrequencyModel):  # pragma: no cover - checked by the caller
        raise InvalidDataError(f"{quantity} needs a purchase-frequency model")
    x, tx, T = arrays["frequency"], arrays["recency"], arrays["T"]
    if quantity == "expected_purchases":
        values = model._expected(params, np.full(x.size, options["t"]), x, tx, T)
    elif quantity == "probability_alive":
        values = np.clip(model._p_alive(params, x, tx, T), 0.0, 1.0)
    else:
        values = model._dert(params, options["discount_rate"], x, tx, T)  # type: ignore[attr-defined]
    return np.asarray(values, dtype=np.float64)


def _distinct(arrays: Data) -> tuple[Data, Any]:
    """The distinct rows of the 1-D ``arrays`` and each row's index into them.

    Each column is factorised by hashing and the codes combined into one integer key
    (as :func:`customer_value.clv._base._compress`); with too many distinct values for
    one 64-bit key every row is kept.
    """
    keys = [k for k, v in arrays.items() if v.ndim == 1]
    n = arrays[keys[0]].size if keys else 0
    if n == 0:
        return arrays, np.arange(n)
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for k in keys:
        code, unique = pd.factorize(arrays[k])
        radix *= max(len(unique), 1)
        if radix >= 2**62:
            return arrays, np.arange(n)
        key = key * len(unique) + code
    inverse, distinct = pd.factorize(key)
    if len(distinct) > 0.9 * n:
        return arrays, np.arange(n)
    first = np.zeros(len(distinct), dtype=np.intp)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)  # first row of each distinct key
    return {k: v[first] if v.ndim == 1 else v for k, v in arrays.items()}, inverse


def _interval_from_draws(
    values: FloatArray, point: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    """numpy's "linear" quantiles of each column: order statistics from one compiled pass
    keeping the tails, or (no numba, NaN values) a partition along the contiguous axis."""
    n = values.shape[0]
    positions = ((n - 1) * (1.0 - level) / 2.0, (n - 1) * (1.0 + level) / 2.0)
    low, high = int(positions[0]), int(positions[1])
    stats = compiled().order_statistics(values, low, high) if accelerated() else None
    if stats is None or np.isnan(stats).any():
        needed = sorted({int(f(p)) for p in positions for f in (np.floor, np.ceil)})
        part = np.partition(np.ascontiguousarray(values.T), needed, axis=1)
        stats = part[:, [low, min(low + 1, n - 1), high, min(high + 1, n - 1)]].T
    lower, upper = (
        stats[j] if pos == int(pos) else stats[j] + (stats[j + 1] - stats[j]) * (pos - int(pos))
        for j, pos in ((0, positions[0]), (2, positions[1]))
    )
    return np.minimum(lower, point), np.maximum(upper, point)


def _interval_delta(
    point: FloatArray, grads: FloatArray, V: FloatArray, level: float, probability: bool
) -> tuple[FloatArray, FloatArray]:
    """Normal interval of ``g(value)`` (log, or logit for a probability), mapped back."""
    z = z_critical(level)
    var = np.einsum("in,ij,jn->n", grads, V, grads)
    se = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        if probability:
            inside = (point > 0) & (point < 1)
            scale = np.where(inside, point * (1.0 - point), 1.0)
            centre = special.logit(np.where(inside, point, 0.5))
            half = z * se / scale
            lower = np.where(inside, special.expit(centre - half), point)
            upper = np.where(inside, special.expit(centre + half), point)
        else:
            positive = (point > 0) & np.isfinite(point)
            half = z * se / np.where(positive, point, 1.0)
            lower = np.where(positive, point * np.exp(-half), point)
            upper = np.where(positive, point * np.exp(half), point)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def _run(
    evaluate: Callable[[FloatArray, slice], FloatArray],
    n: int,
    theta: FloatArray,
    V: FloatArray,
    *,
    method: str,
    level: float,
    n_draws: int,
    random_state: Any,
    probability: bool,
    chunk_rows: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Point values and intervals, evaluating customers in chunks of bounded size."""
    K = theta.size
    if method == "delta":
        steps = np.eye(K) * _STEP
        thetas = np.vstack([theta[None, :], theta + steps, theta - steps])
    else:
        rng = np.random.default_rng(random_state)
        draws = rng.multivariate_normal(theta, V, size=n_draws, method="eigh")
        thetas = np.vstack([theta[None, :], draws])
    per_chunk = max(1, chunk_rows // thetas.shape[0])
    point = np.empty(n)
    lower = np.empty(n)
    upper = np.empty(n)
    for start in range(0, n, per_chunk):
        rows = slice(start, min(n, start + per_chunk))
        values = evaluate(thetas, rows)
        point[rows] = values[0]
        if method == "delta":
            grads = (values[1 : K + 1] - values[K + 1 :]) / (2 * _STEP)
            grads = np.where(np.isfinite(grads), grads, 0.0)
            lower[rows], upper[rows] = _interval_delta(values[0], grads, V, level, probability)
        else:
            lower[rows], upper[rows] = _interval_from_draws(values[1:], values[0], level)
    return point, lower, upper


def _check_options(level: float, method: str, n_draws: int) -> tuple[float, str, int]:
    lvl = check_scalar(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_choice(method, "method", ("delta", "bootstrap"))
    draws = check_scalar(n_draws, "n_draws", low=2.0)
    if draws != int(draws):
        raise InvalidDataError(f"n_draws must be a whole number, got {n_draws!r}")
    return lvl, method, int(draws)


def prediction_intervals(
    model: MLEModel,
    data: Any = None,
    *,
    quantity: str = "expected_purchases",
    t: float | None = None,
    discount_rate: float | None = None,
    level: float = 0.90,
    method: str = "delta",
    n_draws: int = 200,
    random_state: int | np.random.Generator | None = None,
    chunk_rows: int = _ROWS_PER_CHUNK,
) -> pd.DataFrame:
    """Per-customer prediction with an interval from the parameters' uncertainty.

    Parameters
    ----------
    model : fitted model
        A purchase-frequency model (``BetaGeoModel``, ``ModifiedBetaGeoModel``,
        ``ParetoNBDModel``, with or without covariates) or a ``GammaGammaModel``
        (for ``quantity="expected_spend"``); it must have been estimated (``fit``), not
        built with ``from_params``.
    data : DataFrame or mapping, optional
        Customers (the model's columns and covariates); defaults to the training data.
    quantity : {"expected_purchases", "probability_alive", \
"expected_discounted_transactions", "expected_spend"}
        What to predict.
    t : float
        Horizon for ``expected_purchases``, in the model's time unit.
    discount_rate : float
        Continuous discount rate per time unit for ``expected_discounted_transactions``.
    level : float, default 0.90
        Coverage of the interval, in (0, 1).
    method : {"delta", "bootstrap"}, default "delta"
        Delta method (fast: ``2K + 1`` evaluations for ``K`` parameters) or parametric
        bootstrap with ``n_draws`` draws.
    n_draws : int, default 200
        Bootstrap draws.
    random_state : int or numpy Generator, optional
        Seed of the bootstrap draws.
    chunk_rows : int, default 4,000,000
        Customers x evaluations computed at once; bounds the memory.

    Returns
    -------
    DataFrame
        Indexed like ``data``, columns ``estimate``, ``lower`` and ``upper``.

    Raises
    ------
    NotFittedError
        The model was not estimated (no covariance).
    InvalidDataError
        Unknown ``quantity`` or ``method``, a missing ``t``/``discount_rate``, a
        quantity the model does not predict, or bad data.

    Notes
    -----
    The interval covers the *expected* value ``E[Y(t) | history, parameters]`` (or
    P(alive), DERT, expected spend) when the parameters are uncertain; it does not
    contain a customer's actual future count, which varies around that expectation even
    with known parameters (see :meth:`probability_of_purchases` for the count
    distribution of a new customer). Estimates are asymptotically normal on the fitting
    scale (log parameters, raw coefficients). The delta method gives
    ``se(f) = sqrt(g' V g)`` with ``g`` the gradient by central differences (step 1e-4)
    and a normal interval for ``log f`` (``logit f`` for P(alive)); the bootstrap takes
    percentiles of ``f`` over draws from ``N(theta_hat, V)``.

    References
    ----------
    Casella, G. & Berger, R. L. (2002). *Statistical Inference*, 2nd ed., 5.5.4 (delta
    method). Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*,
    ch. 6 (parametric bootstrap) and 13 (percentile intervals).

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel, prediction_intervals
    >>> from customer_value.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> model = BetaGeoModel().fit(summary)
    >>> out = prediction_intervals(model, summary.head(3), t=39, level=0.9)
    >>> list(out.columns)
    ['estimate', 'lower', 'upper']
    >>> bool(((out["lower"] <= out["estimate"]) & (out["estimate"] <= out["upper"])).all())
    True
    """
    lvl, meth, draws = _check_options(level, method, n_draws)
    check_choice(quantity, "quantity", _QUANTITIES)
    spend = quantity == "expected_spend"
    if spend != isinstance(model, GammaGammaModel) or not (
        spend or isinstance(model, FrequencyModel)
    ):
        raise InvalidDataError(
            f"quantity {quantity!r} is not predicted by a {type(model).__name__}"
        )
    options: dict[str, float] = {}
    if quantity == "expected_purchases":
        if t is None:
            raise InvalidDataError("quantity 'expected_purchases' needs the horizon t")
        options["t"] = check_scalar(t, "t", low=0.0)
    if quantity == "expected_discounted_transactions":
        if discount_rate is None:
            raise InvalidDataError(
                "quantity 'expected_discounted_transactions' needs discount_rate"
            )
        options["discount_rate"] = check_scalar(
            discount_rate, "discount_rate", low=0.0, low_inclusive=False
        )
    theta, V = _fitting_scale(model)
    all_arrays, index = model._prepare(data)
    # customers with equal histories (and covariates) share every value: evaluate each
    # distinct row once
    arrays, inverse = _distinct(all_arrays)
    n = next(iter(arrays.values())).size if arrays else 0

    def evaluate(thetas: FloatArray, rows: slice) -> FloatArray:
        chunk = {k: v[rows] for k, v in arrays.items()}
        return _values(model, quantity, _natural(model, thetas), chunk, options)

    point, lower, upper = _run(
        evaluate,
        n,
        theta,
        V,
        method=meth,
        level=lvl,
        n_draws=draws,
        random_state=random_state,
        probability=quantity == "probability_alive",
        chunk_rows=int(check_scalar(chunk_rows, "chunk_rows", low=1.0)),
    )
    return pd.DataFrame(
        {"estimate": point[inverse], "lower": lower[inverse], "upper": upper[inverse]},
        index=index,
    )


def clv_intervals(
    transaction_model: FrequencyModel,
    spend_model: GammaGammaModel,
    data: Any,
    *,
    level: float = 0.90,
    method: str = "delta",
    n_draws: int = 200,
    random_state: int | np.random.Generator | None = None,
    **clv_options: Any,
) -> pd.DataFrame:
    """Customer lifetime value with an interval from both models' parameter uncertainty.

    Parameters
    ----------
    transaction_model : fitted purchase-frequency model
        As for :func:`customer_lifetime_value` (estimated, with a covariance).
    spend_model : fitted GammaGammaModel
        Estimated spend model.
    data : DataFrame
        Customers, as for :func:`customer_lifetime_value`.
    level : float, default 0.90
        Coverage, in (0, 1).
    method : {"delta", "bootstrap"}, default "delta"
        As in :func:`prediction_intervals`.
    n_draws : int, default 200
        Bootstrap draws.
    random_state : int or numpy Generator, optional
        Seed of the bootstrap.
    **clv_options
        Passed to :func:`customer_lifetime_value` (``horizon``, ``discount_rate``, ...).

    Returns
    -------
    DataFrame
        Indexed like ``data``: ``estimate``, ``lower``, ``upper``.

    Raises
    ------
    NotFittedError
        A model was not estimated.
    InvalidDataError
        Bad options or data, as :func:`customer_lifetime_value`.

    Notes
    -----
    The two models are estimated separately, so their estimates are treated as
    independent (block-diagonal covariance on the fitting scale). Each evaluation calls
    :func:`customer_lifetime_value` with perturbed or drawn parameters (a loop over the
    ``2K + 1`` or ``n_draws`` parameter vectors, vectorised over customers).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel, GammaGammaModel, clv_intervals
    >>> from customer_value.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary().head(300)
    >>> bg, gg = BetaGeoModel().fit(summary), GammaGammaModel().fit(summary)
    >>> out = clv_intervals(bg, gg, summary.head(2), horizon=52, discount_rate=0.1)
    >>> bool((out["lower"] <= out["upper"]).all())
    True
    """
    from customer_value.clv._clv import customer_lifetime_value

    lvl, meth, draws = _check_options(level, method, n_draws)
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError("clv_intervals needs data as a pandas DataFrame")
    theta1, V1 = _fitting_scale(transaction_model)
    theta2, V2 = _fitting_scale(spend_model)
    k1 = theta1.size
    theta = np.concatenate([theta1, theta2])
    V = np.zeros((theta.size, theta.size))
    V[:k1, :k1], V[k1:, k1:] = V1, V2
    point_series = customer_lifetime_value(transaction_model, spend_model, data, **clv_options)
    index = point_series.index

    def evaluate(thetas: FloatArray, rows: slice) -> FloatArray:
        tm = copy.copy(transaction_model)
        sm = copy.copy(spend_model)
        sub = data.iloc[rows]
        out = np.empty((thetas.shape[0], len(index[rows])))
        for i, th in enumerate(thetas):
            tm._params = _natural(transaction_model, th[None, :k1])[0]
            sm._params = _natural(spend_model, th[None, k1:])[0]
            out[i] = customer_lifetime_value(tm, sm, sub, **clv_options).to_numpy()
        return out

    _, lower, upper = _run(
        evaluate,
        len(index),
        theta,
        V,
        method=meth,
        level=lvl,
        n_draws=draws,
        random_state=random_state,
        probability=False,
        chunk_rows=10**12,
    )
    return pd.DataFrame(
        {"estimate": point_series.to_numpy(), "lower": lower, "upper": upper}, index=index
    )


_COUNT_BLOCK = 64  # counts added per round while a customer's upper quantile is not reached
_MAX_COUNT = 100_000


def purchase_count_intervals(
    model: FrequencyModel, t: float, data: Any = None, *, level: float = 0.90
) -> pd.DataFrame:
    """Interval for the number of purchases a *new* customer will make in ``(0, t]``.

    Unlike :func:`prediction_intervals` (the uncertainty of an expectation), this is a
    range for the random count itself: the equal-tailed quantiles of the count
    distribution :meth:`probability_of_purchases` at the estimated parameters.

    Parameters
    ----------
    model : fitted purchase-frequency model
        ``BetaGeoModel``, ``ModifiedBetaGeoModel`` or ``ParetoNBDModel`` (fitted or
        from ``from_params``), with or without covariates.
    t : float
        Horizon in the model's time unit, >= 0.
    data : DataFrame or mapping, optional
        New customers with the model's covariate columns (required with covariates);
        without it the result has one row, for a customer of the plain model.
    level : float, default 0.90
        Probability that the count falls inside ``[lower, upper]`` (at least this much:
        counts are whole numbers).

    Returns
    -------
    DataFrame
        ``expected`` (``E[X(t)]``), ``lower`` and ``upper`` (whole numbers), indexed like
        ``data`` (or by ``t``).

    Raises
    ------
    NotFittedError
        Before ``fit`` or ``from_params``.
    InvalidDataError
        Bad ``t`` or ``level``, a model that is not a purchase-frequency model, or bad
        covariates.

    Notes
    -----
    ``lower`` is the smallest ``n`` with ``P(X(t) <= n) >= (1 - level) / 2`` and
    ``upper`` the smallest with ``P(X(t) <= n) >= (1 + level) / 2``. The distribution
    is evaluated once per distinct covariate row, for counts in blocks of 64 until the
    upper quantile is reached (at most 100,000): cheap for a plain model or a few
    distinct attribute combinations, costlier for many continuous covariate values (the
    Pareto/NBD count distribution is a 96-point quadrature per count). Parameter
    uncertainty is not included; for existing customers the count given their history
    is not covered.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284 (eq. 8, the count distribution).

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel, purchase_count_intervals
    >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> purchase_count_intervals(model, 39, level=0.8).round(3)
          expected  lower  upper
    t
    39.0     1.197      0      3
    """
    if not isinstance(model, FrequencyModel):
        raise InvalidDataError(
            f"purchase_count_intervals needs a purchase-frequency model, got {type(model).__name__}"
        )
    lvl = check_scalar(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    horizon = check_scalar(t, "t", low=0.0)
    if data is None:
        params = model._new_customer_params("purchase_count_intervals")[:, None]
        index: pd.Index[Any] = pd.Index([horizon], name="t")
        inverse = np.zeros(1, dtype=np.intp)
    else:
        model._params_array()
        cov_arrays, index = model._covariates_of(data, what="data")
        distinct, inverse = (
            _distinct(cov_arrays) if cov_arrays else ({}, np.zeros(len(index), dtype=np.intp))
        )
        params = model._row_params(distinct) if cov_arrays else model._base_params()[:, None]
    n_rows = params.shape[1]
    tail = (1.0 - lvl) / 2.0
    lower = np.full(n_rows, -1, dtype=np.int64)
    upper = np.full(n_rows, -1, dtype=np.int64)
    cdf = np.zeros(n_rows)
    todo = np.arange(n_rows)
    start = 0
    while todo.size and start < _MAX_COUNT:
        counts = np.arange(start, start + _COUNT_BLOCK, dtype=np.float64)
        table = model._pmf_table(params[:, todo], counts, horizon, todo.size)
        cum = cdf[todo, None] + np.cumsum(table, axis=1)
        for bound, q in ((lower, tail), (upper, 1.0 - tail)):
            open_rows = bound[todo] < 0
            reached = open_rows & (cum[:, -1] >= q)
            first = np.argmax(cum >= q, axis=1)
            bound[todo[reached]] = start + first[reached]
        cdf[todo] = cum[:, -1]
        todo = todo[upper[todo] < 0]
        start += _COUNT_BLOCK
    upper = np.where(upper < 0, _MAX_COUNT, upper)
    lower = np.where(lower < 0, _MAX_COUNT, lower)
    new_params = params[:, inverse] if params.shape[1] > 1 or data is not None else params
    expected = model._expected_new(new_params, np.full(new_params.shape[1], horizon))
    return pd.DataFrame(
        {"expected": expected, "lower": lower[inverse], "upper": upper[inverse]}, index=index
    )
