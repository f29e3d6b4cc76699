"""Maximum-likelihood fitting: compression, the optimiser, the Hessian (private).

:class:`Fitting` adds ``fit`` to a model: validation, weights, compression of duplicate
rows, a warm start on large tables, L-BFGS-B on ``log(params)`` with the analytic
gradient, the convergence checks and the covariance (see the contract in
:mod:`customer_value.clv._base`).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from customer_value._engine import collect_if_engine
from customer_value._progress import Progress, get_logger
from customer_value._validation import FloatArray, as_frame, check_weights, require_columns
from customer_value.clv._core import Data
from customer_value.clv._covariates import (
    check_identifiable,
    covariate_matrix,
    hessian_natural,
)
from customer_value.clv._identification import IdentificationChecks
from customer_value.clv._units import check_time_unit, same_unit
from customer_value.errors import ConvergenceError, InvalidDataError

if TYPE_CHECKING:  # scipy.optimize is imported where used (issue 20)
    from scipy import optimize

__all__ = ["Fitting", "compress"]

FittingT = TypeVar("FittingT", bound="Fitting")

_LOG_BOUND = 30.0  # |log(param)| beyond this means a parameter ran off to 0 or infinity
_RAN_OFF = 20.0  # a parameter beyond exp(±20) is treated as having run off
_WARM_START_ROWS = 100_000  # distinct rows above which a subset fit provides start values
_WARM_START_SAMPLE = 20_000
_ALL_DISTINCT = 0.9  # a column with more distinct values than this share of rows: no merging
_logger = get_logger("clv")


def compress(data: Data, weights: FloatArray, columns: tuple[str, ...]) -> tuple[Data, FloatArray]:
    """Merge rows equal on ``columns`` into one row carrying the summed weight.

    Each column is factorised by hashing (``pd.factorize``, linear time), the codes are
    combined into one integer key and the key is factorised again: several times faster
    than ``np.unique(axis=0)`` or a lexicographic sort on millions of rows. Rows are
    returned as they are (zero weights dropped) when one column alone has more than 90%
    distinct values (a continuous covariate): merging could not shrink the table much.
    """
    keep = weights > 0
    cols = [data[c][keep] for c in columns]
    w = weights[keep]
    if w.size == 0:
        return {c: cols[i] for i, c in enumerate(columns)}, w
    codes, uniques = [], []
    for col in cols:
        code, unique = pd.factorize(col)
        if unique.size > _ALL_DISTINCT * w.size:
            # this column alone is (nearly) distinct per row, e.g. a continuous covariate:
            # merging could save at most a tenth of the rows, sorting them costs more
            return {c: cols[i] for i, c in enumerate(columns)}, w
        codes.append(code.astype(np.int64))
        uniques.append(np.asarray(unique, dtype=np.float64))
    sizes = [u.size for u in uniques]
    if math.prod(sizes) >= 2**62:  # the mixed-radix key would overflow: sort instead
        return _compress_sorted(cols, w, columns)
    key = codes[0]
    for code, size in zip(codes[1:], sizes[1:], strict=True):
        key = key * size + code
    group, distinct = pd.factorize(key)
    summed = np.bincount(group, weights=w, minlength=distinct.size).astype(np.float64)
    out: Data = {}
    rest = np.asarray(distinct, dtype=np.int64)
    for i in range(len(columns) - 1, -1, -1):
        out[columns[i]] = uniques[i][rest % sizes[i]]
        rest = rest // sizes[i]
    # Distinct rows come in order of first appearance (sorting them buys nothing).
    return {c: out[c] for c in columns}, summed


def _compress_sorted(
    cols: list[FloatArray], w: FloatArray, columns: tuple[str, ...]
) -> tuple[Data, FloatArray]:
    """:func:`compress` through a lexicographic sort (for very many distinct values)."""
    order = np.lexsort(cols[::-1])
    sorted_cols = [c[order] for c in cols]
    new = np.zeros(w.size, dtype=np.bool_)
    new[0] = True
    for c in sorted_cols:
        new[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    summed = np.bincount(group, weights=w[order], minlength=starts.size).astype(np.float64)
    return {c: sorted_cols[i][starts] for i, c in enumerate(columns)}, summed


class Fitting(IdentificationChecks):
    """``fit`` and the numerical machinery behind it (private)."""

    # ------------------------------------------------------------------ fitting
    def _objective(
        self,
        theta: FloatArray,
        data: Data,
        weights: FloatArray,
        scale: float,
        seen: dict[bytes, tuple[float, FloatArray]] | None = None,
    ) -> tuple[float, FloatArray]:
        """Weighted mean negative log-likelihood and its gradient in log parameters.

        ``seen``, when given, records at every ``theta`` evaluated (keyed by its bytes)
        the log-likelihood and the gradient of the penalised negative log-likelihood in
        natural parameters, so the fit need not evaluate them again at the optimum.
        """
        params, jac = self._natural(theta)
        ll, grad = self._weighted_loglik_grad(params, data, weights)
        value = -ll / scale
        g = -grad * jac / scale
        total = -grad  # gradient of the penalised negative log-likelihood, natural scale
        design = self._design()
        if not design.empty:
            pen, dpen = design.penalty_value(params[len(self._param_names) :])
            value += pen
            g[len(self._param_names) :] += dpen
            total[len(self._param_names) :] += scale * dpen
        if seen is not None:
            seen[theta.tobytes()] = (ll, total)
        if not (np.isfinite(value) and np.all(np.isfinite(g))):
            return math.inf, np.zeros_like(theta)
        return value, np.asarray(g, dtype=np.float64)

    def fit(
        self: FittingT,
        data: Any,
        *,
        weights: Any = None,
        initial_params: Any = None,
        progress: bool = False,
        time_unit: str | None = None,
    ) -> FittingT:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        data : DataFrame or mapping of column name to array
            One row per customer with the model's columns (for the purchase-frequency
            models ``frequency``, ``recency`` and ``T``, the output of
            :func:`~customer_value.data.summarize_transactions`). ``data.attrs["time_unit"]``
            is remembered as ``time_unit``.
        weights : array-like or str, optional
            Number of customers each row stands for (non-negative), or the name of a
            column of ``data`` holding them. Defaults to one per row.
        initial_params : mapping or sequence of float, optional
            Start values of the optimiser; defaults to the model's own.
        progress : bool, default False
            Show the optimiser's progress on stderr (it is always logged at DEBUG level
            under ``customer_value.clv``).
        time_unit : str, optional
            The unit ``recency`` and ``T`` are measured in (``"W"``, ``"D"``, ``"month"``,
            see :func:`~customer_value.clv.units_per_year`), for data that does not carry
            ``attrs["time_unit"]``: a summary computed in SQL, or one whose ``attrs`` a
            join dropped. It is a fact about the data, so it is given here rather than to
            the constructor. When the data carry a different unit the fit is refused.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InvalidDataError
            A missing column, a value out of range (the message names the column, the
            first bad row and its value), bad weights, data that cannot identify the
            parameters, an unknown ``time_unit`` or one that contradicts
            ``data.attrs["time_unit"]``.
        ConvergenceError
            The optimiser failed, a parameter ran off to zero or infinity, or the
            log-likelihood is still rising (or flat) towards the edge of the parameter
            space (moving the parameters by a factor of 100 along its flattest direction
            loses less than 0.05): a boundary fit. The message names the parameters and
            what the data do identify (for BG/NBD often only ``a/(a+b)``); the optimiser's
            result is attached as ``error.result``.

        Warns
        -----
        CustomerValueWarning
            The maximum is interior but barely identified: a factor of 100 along the
            flattest direction loses less than 1.92 (the 95% likelihood-ratio cutoff), so
            the standard errors and intervals of the parameters involved are not reliable.

        Notes
        -----
        Maximises ``sum_i w_i log L(params | row_i)`` over ``log(params)`` with L-BFGS-B
        and the model's analytic gradient, on the distinct rows (duplicates carry summed
        weights). On tables with more than 100,000 distinct rows a fit to a fixed subset
        supplies the start point and a Hessian-whitened coordinate system first. The
        covariance is the inverse of the Hessian of the negative log-likelihood in the
        natural parameters (forward differences of the analytic gradient).

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
        easy way. *Marketing Science* 24(2), 275-284.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> from customer_value.datasets import load_cdnow_summary
        >>> model = BetaGeoModel().fit(load_cdnow_summary())
        >>> model
        BetaGeoModel(r=0.2426, alpha=4.414, a=0.7929, b=2.426, n=2357, time_unit='W')
        """
        what = "data"
        frame = as_frame(collect_if_engine(data), what=what)
        unit = _fit_time_unit(frame, time_unit)
        arrays, index = self._validate(frame, what=what)
        if weights is None:
            w = np.ones(len(frame))
        elif isinstance(weights, str):
            require_columns(frame, [weights], what=what)
            w = check_weights(frame[weights].to_numpy(), len(frame), index=index)
        else:
            w = check_weights(weights, len(frame), index=index)
        self._check_fit_data(arrays, w, what)
        design = self._design()
        if not design.empty:
            check_identifiable(design, covariate_matrix(design, arrays), w, what=what)
        distinct, cw = compress(arrays, w, self._data_columns + design.keys())
        compressed = self._augment_all(distinct)
        scale = float(cw.sum())
        k = len(self._names())
        n_base = len(self._param_names)
        if initial_params is None:
            start = np.zeros(k)
            start[:n_base] = self._start_values(compressed, cw)
        else:
            start = self._params_from_user(initial_params, what="initial_params")
        _logger.debug(
            "%s: fitting %d rows compressed to %d distinct rows",
            type(self).__name__,
            len(frame),
            cw.size,
        )
        theta0 = start.copy()
        theta0[:n_base] = np.log(np.clip(start[:n_base], 1e-8, 1e8))
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * k
        # With covariates, optimise in coordinates where each covariate is standardised
        # (the same likelihood; see _covariates.CovariateDesign.standardising_transform).
        shift, transform = theta0, np.eye(k)
        if not design.empty:
            transform, _ = design.standardising_transform(covariate_matrix(design, compressed), cw)
        # On large tables: start from a fit to a subset, in coordinates whitened by the
        # subset's Hessian, so that the full-data optimisation takes a few iterations.
        first: tuple[float, FloatArray] | None = None
        seen: dict[bytes, tuple[float, FloatArray]] = {}  # every point the optimiser tried
        gtol = 1e-10
        if initial_params is None and cw.size > _WARM_START_ROWS:
            shift, transform = self._warm_start(distinct, cw, theta0, bounds, transform)
            # L-BFGS-B's first trial step has unit length; in the whitened coordinates the
            # Newton step has length |g|, so scale them by it: the first trial is then the
            # Newton step instead of a far probe the line search has to walk back from.
            value0, grad0 = self._objective(shift, compressed, cw, scale, seen)
            norm = float(np.linalg.norm(transform.T @ grad0))
            if math.isfinite(value0) and norm > 1e-12:
                transform = transform * norm
                first = (value0, grad0)
                # whitened error below 1e-6 (the gradient in y is norm x the error), then
                # one Newton step with the Hessian the covariance needs (_polish)
                gtol = 1e-6 * norm
        from scipy import optimize  # deferred: keeps `import customer_value.clv` light

        box: list[tuple[float, float]] | None = bounds
        if not np.array_equal(transform, np.eye(k)):
            box = None  # box bounds do not survive the change of coordinates
        with Progress(f"{type(self).__name__}.fit", enabled=progress) as bar:

            def callback(intermediate_result: optimize.OptimizeResult) -> None:
                bar.update(note=f"-LL/n={float(intermediate_result.fun):.6g}")
                _logger.debug(
                    "%s: iteration %d, -LL/n=%.10g, params=%s",
                    type(self).__name__,
                    bar.count,
                    float(intermediate_result.fun),
                    self._natural(shift + transform @ intermediate_result.x)[0],
                )

            def objective(y: FloatArray) -> tuple[float, FloatArray]:
                if first is not None and not np.any(y):  # the start, evaluated above
                    return first[0], transform.T @ first[1]
                value, grad = self._objective(shift + transform @ y, compressed, cw, scale, seen)
                return value, transform.T @ grad

            y0 = np.zeros(k)
            hess: FloatArray | None = None
            for tolerance in dict.fromkeys((gtol, 1e-10)):
                result = optimize.minimize(
                    objective,
                    y0,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=box,
                    callback=callback,
                    options={"maxiter": 5000, "ftol": 1e-15, "gtol": tolerance, "maxcor": 20},
                )
                y0 = np.asarray(result.x, dtype=np.float64)
                result.x = shift + transform @ y0
                if tolerance == 1e-10:
                    break
                hess = self._polish(result, compressed, cw, scale, seen)
                if hess is not None:
                    break
        try:
            self._check_result(result, compressed, cw, scale)
            x_final = np.asarray(result.x, dtype=np.float64)
            params = self._natural(x_final)[0]
            self._params = params
            known = seen.get(x_final.tobytes())
            if known is None:
                known = self._weighted_loglik_grad(params, compressed, cw)
            self._log_likelihood = known[0]
            self._covariance = self._inverse_hessian(params, compressed, cw, result, hess=hess)
        finally:
            self._rows_cache = None
        self._n = round(scale)
        self._train, self._train_index = arrays, index
        self.time_unit_ = unit
        self.optimizer_result_ = result
        _logger.info("%s fitted: %s", type(self).__name__, self._describe_params())
        return self

    def _polish(
        self,
        result: optimize.OptimizeResult,
        data: Data,
        weights: FloatArray,
        scale: float,
        seen: dict[bytes, tuple[float, FloatArray]],
    ) -> FloatArray | None:
        """One Newton step from a nearly converged large-table fit (``result`` is moved
        to the new point); returns the Hessian at the old one.

        Near the maximum the error after a Newton step is of the order of the squared
        error before it, so a fit stopped at a whitened error of 1e-6 lands at rounding
        level with the Hessian that the covariance needs anyway (one evaluation of the
        log-likelihood instead of several optimiser iterations). The covariance uses
        that Hessian, one step (about 1e-6 standard errors) from the estimate. Returns
        None when the step is not an improvement (the caller then iterates on).
        """
        x0 = np.asarray(result.x, dtype=np.float64)
        known = seen.get(x0.tobytes())
        if known is None or not result.success:
            return None
        params0 = self._natural(x0)[0]
        hess = self._hessian(params0, data, weights)
        try:
            step = np.linalg.solve(hess, -known[1])
        except np.linalg.LinAlgError:
            return None
        params1 = params0 + step
        n_base = len(self._param_names)
        if not (np.all(np.isfinite(params1)) and np.all(params1[:n_base] > 0)):
            return None
        ll1 = float(np.sum(weights * self._full_loglik(params1, data)))
        design = self._design()
        penalty = [0.0, 0.0]
        if not design.empty:
            penalty = [scale * design.penalty_value(p[n_base:])[0] for p in (params0, params1)]
        before, after = -known[0] + penalty[0], -ll1 + penalty[1]
        if not (math.isfinite(after) and after <= before + 1e-13 * abs(before)):
            return None
        x1 = params1.copy()
        x1[:n_base] = np.log(params1[:n_base])
        result["x"], result["fun"] = x1, after / scale  # OptimizeResult is a dict
        seen[x1.tobytes()] = (ll1, np.zeros_like(x1))
        return hess

    def _augment_all(self, data: Data) -> Data:
        """The model's ``_augment`` plus the cached covariate matrix ``"_X"``."""
        out = self._augment(data)
        design = self._design()
        if not design.empty:
            out = {**out, "_X": covariate_matrix(design, data)}
        return out

    def _warm_start(
        self,
        distinct: Data,
        weights: FloatArray,
        theta0: FloatArray,
        bounds: list[Any],
        transform0: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """Start point and whitening transform from a quick fit to a subset of rows.

        On large tables most optimiser iterations are spent far from the optimum and
        learning the curvature; doing that on a fixed random subset of the distinct rows
        leaves a few full-data iterations. Returns ``(theta_start, M)`` with
        ``M = L^-T`` for the Cholesky factor ``L`` of the subset's Hessian in log
        parameters (the full-data problem in ``y`` with ``theta = theta_start + M y`` is
        then well conditioned), or ``(theta0, I)`` when the subset fit is unusable. The
        subset only changes where the optimiser starts and its coordinates: the estimate
        is the maximum of the full likelihood.
        """
        from scipy import optimize

        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(weights.size, _WARM_START_SAMPLE, replace=False))
        sample = self._augment_all({c: v[rows] for c, v in distinct.items()})
        sw = weights[rows]
        A = np.eye(theta0.size) if transform0 is None else transform0
        scale = float(sw.sum())

        def objective(y: FloatArray) -> tuple[float, FloatArray]:
            value, grad = self._objective(theta0 + A @ y, sample, sw, scale)
            return value, A.T @ grad

        plain = transform0 is None or np.array_equal(A, np.eye(theta0.size))
        result = optimize.minimize(
            objective,
            np.zeros(theta0.size),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds if plain else None,
            options={"maxiter": 500, "ftol": 1e-10, "gtol": 1e-6},
        )
        y = np.asarray(result.x, dtype=np.float64)
        x = theta0 + A @ y
        if not (np.all(np.isfinite(x)) and np.all(np.abs(x) < _LOG_BOUND - 1)):
            return theta0, A
        # Hessian in y from the one in natural parameters (for covariate models k + 1
        # per-row gradient evaluations, however many coefficients): with n = nat(theta),
        # d2F/dtheta2 = J H J + diag(dF/dn * d2n/dtheta2), J = dn/dtheta
        params, jac = self._natural(x)
        h_nat = self._hessian(params, sample, sw) / scale
        g_nat = self._grad_natural(params, sample, sw) / scale
        curvature = np.zeros(x.size)
        n_base = len(self._param_names)
        curvature[:n_base] = g_nat[:n_base] * jac[:n_base]  # d2 exp(t)/dt2 = exp(t)
        hess = A.T @ (jac[:, None] * h_nat * jac[None, :] + np.diag(curvature)) @ A
        try:
            chol = np.linalg.cholesky((hess + hess.T) / 2)
        except np.linalg.LinAlgError:
            return x, A
        _logger.debug("%s: warm start from a subset: %s", type(self).__name__, x)
        return x, np.asarray(A @ np.linalg.inv(chol.T), dtype=np.float64)

    def _check_result(
        self, result: optimize.OptimizeResult, data: Data, weights: FloatArray, scale: float
    ) -> None:
        x = np.asarray(result.x, dtype=np.float64)
        name = type(self).__name__
        if not (np.all(np.isfinite(x)) and np.isfinite(result.fun)):
            raise ConvergenceError(
                f"{name}.fit: the optimiser ended at a non-finite point ({result.message}); "
                "check the data or pass initial_params",
                result=result,
            )
        at_bound = np.flatnonzero(np.abs(x[: len(self._param_names)]) >= _RAN_OFF)
        if at_bound.size:
            p = self._param_names[int(at_bound[0])]
            raise ConvergenceError(
                f"{name}.fit: parameter {p!r} ran off to {math.exp(x[at_bound[0]]):.3g}; the "
                "data cannot identify the model (too few repeat purchases, or a pattern the "
                "model does not describe)",
                result=result,
            )
        if not result.success:
            # L-BFGS-B sometimes stops on a line-search failure at the optimum itself:
            # accept only when the gradient is negligible there.
            _, g = self._objective(x, data, weights, scale)
            if not np.all(np.abs(g) < 1e-5):
                # a start far out on a flat ridge (say BG/NBD's a, b -> inf) stalls there:
                # name the boundary fit rather than only the optimiser's message
                self._diagnose_boundary(x, data, weights, result)
                raise ConvergenceError(
                    f"{name}.fit: the optimiser did not converge ({result.message}); "
                    f"largest gradient {float(np.max(np.abs(g))):.3g}",
                    result=result,
                )

    def _diagnose_boundary(
        self, x: FloatArray, data: Data, weights: FloatArray, result: optimize.OptimizeResult
    ) -> None:
        """Raise the boundary-fit :class:`ConvergenceError` of ``_check_identified`` when
        the optimiser stalled on a flat ridge; return quietly otherwise."""
        params = self._natural(x)[0]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a "barely identified" warning: not the point here
            hess = self._hessian(params, data, weights)
            if np.all(np.isfinite(hess)):
                self._check_identified(params, hess, data, weights, result)

    def _grad_natural(self, params: FloatArray, data: Data, weights: FloatArray) -> FloatArray:
        """Gradient of the weighted negative log-likelihood in natural parameters."""
        out = -self._weighted_loglik_grad(params, data, weights)[1]
        design = self._design()
        if not design.empty:
            # the penalty is on the mean log-likelihood scale (as in the objective)
            out[len(self._param_names) :] += (
                float(weights.sum()) * design.penalty_value(params[len(self._param_names) :])[1]
            )
        return out

    def _hessian(self, params: FloatArray, data: Data, weights: FloatArray) -> FloatArray:
        """Hessian of the negative log-likelihood in natural parameters.

        Forward differences of the analytic gradient with relative steps of 1e-6 (error
        of order 1e-6 relative, far below the sampling error it describes), symmetrised.
        """
        design = self._design()
        if not design.empty:
            return self._covariate_hessian(params, data, weights)
        k = params.size
        hess = np.empty((k, k))
        base = self._grad_natural(params, data, weights)
        n_base = len(self._param_names)
        for i in range(k):
            h = 1e-6 * params[i] if i < n_base else 1e-6 * max(1.0, abs(float(params[i])))
            up = params.copy()
            up[i] += h
            hess[i] = (self._grad_natural(up, data, weights) - base) / h
        return np.asarray((hess + hess.T) / 2, dtype=np.float64)

    def _covariate_hessian(self, params: FloatArray, data: Data, weights: FloatArray) -> FloatArray:
        """:meth:`_hessian` with covariates: ``k + 1`` per-row gradient evaluations
        (:func:`~customer_value.clv._covariates.hessian_natural`) plus the penalty."""
        design = self._design()

        def row_grad(P: FloatArray) -> tuple[FloatArray, FloatArray]:
            ll, g = self._loglik_grad(P, data)
            g = np.asarray(g, dtype=np.float64)
            return ll, g.T if g.shape[0] != ll.shape[0] else g

        X = covariate_matrix(design, data)
        cached, self._rows_cache = self._rows_cache, None
        base = None
        if cached is not None and cached[0] == params.tobytes() and cached[1] == id(data):
            base = cached[2]  # the optimiser's last evaluation was at these parameters
        hess = hessian_natural(design, params, X, weights, row_grad, base=base)
        k = len(self._param_names)
        lam = np.asarray(design.penalty, dtype=np.float64)
        hess[k:, k:] += np.diag(2.0 * float(weights.sum()) * lam)
        return hess

    def _inverse_hessian(
        self,
        params: FloatArray,
        data: Data,
        weights: FloatArray,
        result: optimize.OptimizeResult | None = None,
        *,
        hess: FloatArray | None = None,
    ) -> FloatArray:
        if hess is None:
            hess = self._hessian(params, data, weights)
        try:
            eig = np.linalg.eigvalsh(hess)
            positive = bool(np.all(np.isfinite(eig)) and eig.min() > 0)
        except np.linalg.LinAlgError:
            positive = False
        if not positive:
            raise ConvergenceError(
                f"{type(self).__name__}.fit: the Hessian of the negative log-likelihood is not "
                "positive definite at the point the optimiser returned, so it is not a proper "
                "maximum (the data do not identify the parameters)",
                result=result,
            )
        self._check_identified(params, hess, data, weights, result)
        return np.asarray(np.linalg.inv(hess), dtype=np.float64)


def _time_unit_of(frame: pd.DataFrame) -> str | None:
    unit = frame.attrs.get("time_unit") if hasattr(frame, "attrs") else None
    return None if unit is None else str(unit)


def _fit_time_unit(frame: pd.DataFrame, given: Any) -> str | None:
    """The unit of a fit: ``time_unit=`` when given (checked against the data's attrs)."""
    recorded = _time_unit_of(frame)
    unit = check_time_unit(given, "time_unit")
    if unit is None:
        return recorded
    if recorded is not None and not same_unit(recorded, unit):
        raise InvalidDataError(
            f"time_unit={unit!r} contradicts the data, whose attrs['time_unit'] is "
            f"{recorded!r}: recency and T are measured in one unit; drop time_unit= or "
            "summarise the transactions again in the unit you mean"
        )
    return unit
