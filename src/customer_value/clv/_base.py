"""Maximum-likelihood machinery shared by every model in :mod:`customer_value.clv`.

One private base class, :class:`MLEModel`, owns fitting, the Hessian, the summary table,
persistence and the ``repr``. A model class contributes its parameter names, its data
columns and checks, its per-row log-likelihood with an analytic gradient, and its
predictions - nothing else.

Subclass contract
-----------------
Required: two class attributes and one method.

``_param_names : tuple[str, ...]``
    Names of the parameters, in the order of every parameter vector (``("r", "alpha",
    "a", "b")``). Every parameter must be strictly positive: the optimiser works on
    ``log(param)``.
``_data_columns : tuple[str, ...]``
    Columns of the data table the likelihood uses (``("frequency", "recency", "T")``).
    Rows that agree on all of them are compressed into one row with the summed weight.
``_loglik_grad(self, params, data) -> (loglik, grad)``
    ``params`` is the natural-scale parameter vector (float64, shape ``(k,)``); ``data``
    a dict column -> 1-d float64 array (compressed, possibly augmented, see below).
    Return the per-row log-likelihood, shape ``(n,)``, and its gradient with respect to
    the natural parameters, shape ``(n, k)`` (a transposed ``(k, n)`` array is fine).
    Both must be finite for every valid row and every positive parameter vector.

Optional hooks (defaults in brackets):

``_check_data(self, data, index, what) -> None`` [no further checks]
    Model-specific validation of the arrays (already numeric and finite). Raise
    :class:`~customer_value.errors.InvalidDataError` naming the column, the first bad row
    (:func:`customer_value._validation.describe_row` with ``index``) and its value.
    Runs in ``fit`` and in every prediction through ``_prepare``.
``_check_fit_data(self, data, weights, what) -> None`` [none]
    Checks that only apply when fitting, such as identifiability.
``_loglik(self, params, data) -> loglik`` [first element of ``_loglik_grad``]
    Per-row log-likelihood alone, used by ``loglikelihood``; must also work on
    un-augmented data.
``_start_values(self, data, weights) -> params`` [all ones]
    Natural-scale start values for the optimiser.
``_augment(self, data) -> data`` [unchanged]
    Called on the compressed training arrays (and on the subset used for the warm
    start) before optimisation; may add derived float64 arrays under keys starting with
    ``"_"`` (for example distinct frequencies and an index into them, stored as float)
    that ``_loglik_grad`` uses when present and recomputes when absent.
``_config(self) -> dict`` [empty]
    Keyword arguments of ``__init__`` to persist in JSON; ``from_json`` passes them
    back to the constructor, so ``__init__`` must accept them (and nothing else
    positional).

What ``fit(data, *, weights=None, initial_params=None, progress=False)`` does:
validate (``as_frame``, required columns, numeric and finite, ``_check_data``);
weights (array or a column name; non-negative, not all zero); ``_check_fit_data``;
compress duplicate rows and drop zero-weight rows; ``_augment``; on more than 100,000
distinct rows, a warm start from a fit to a fixed 20,000-row subset whose Hessian
whitens the coordinates; L-BFGS-B on ``log(params)`` with the weighted mean negative
log-likelihood and its analytic gradient; :class:`~customer_value.errors.ConvergenceError`
(``result=`` the optimiser's result) when the optimiser fails with a non-negligible
gradient, ends at a non-finite point, a parameter passes ``exp(±20)``, the Hessian
(forward differences of the analytic gradient in natural parameters) is not positive
definite, or the log-likelihood is still rising (or flat) towards the edge of the
parameter space along its flattest direction (a boundary fit; ``MLEModel._check_identified``);
a :class:`~customer_value.errors.CustomerValueWarning` when the maximum is interior but
the 95% likelihood-ratio region along that direction spans a factor of 100 (the optional
``_flat_hints`` class attribute, frozenset of parameter names -> text, says what such a
pair means); ``covariance_`` is the inverse of the Hessian. ``time_unit`` comes from
``data.attrs["time_unit"]``.

Covariates: a model that lists ``_covariate_targets`` (process -> ``(parameter index,
sign, label)``) accepts ``purchase_covariates``, ``dropout_covariates``,
``shared_covariates``, ``l2_purchase`` and ``l2_dropout`` in the constructor (see
:mod:`customer_value.clv._covariates`). Its ``_loglik_grad`` and array formulas then
also receive ``params`` of shape ``(k, n)`` - one parameter vector per row - and must
broadcast over it (a ``(k,)`` vector is the plain model); the base class applies the
chain rule to the coefficients and ``self._row_params(arrays)`` gives predictions the
per-customer parameters.

Everything else - ``params_``, ``log_likelihood_``, ``n_``, ``covariance_``,
``standard_errors_``, ``summary_``, ``confidence_intervals``, ``from_params``,
``loglikelihood``, ``to_json``/``from_json``/``save``/``load`` and ``repr`` - is inherited.
Predictions obtain validated (un-augmented) arrays and the output index with
``self._prepare(data)`` (``data=None`` means the training data) and the natural-scale
parameters with ``self._params_array()`` (raises ``NotFittedError`` before fit).
"""

from __future__ import annotations

import inspect
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

import numpy as np
import pandas as pd
from scipy import special

from customer_value._engine import collect_if_engine, score, shippable
from customer_value._json import (
    check_keys,
    expect_list,
    expect_number,
    expect_object,
    expect_string,
    loads_strict,
)
from customer_value._progress import Progress, get_logger
from customer_value._validation import (
    FloatArray,
    as_frame,
    check_scalar,
    check_weights,
    numeric_column,
    require_columns,
    z_critical,
)
from customer_value._version import __version__
from customer_value.clv._covariates import (
    CovariateDesign,
    Targets,
    build_design,
    check_identifiable,
    covariate_arrays,
    covariate_matrix,
)
from customer_value.clv._units import check_time_unit, same_unit
from customer_value.errors import (
    ConvergenceError,
    CustomerValueWarning,
    InvalidDataError,
    NotFittedError,
)

if TYPE_CHECKING:  # scipy.optimize and scipy.stats are imported where used (issue 20)
    from scipy import optimize

__all__ = ["JSON_FORMAT", "MLEModel"]

JSON_FORMAT = "customer_value.clv/1"
"""Identifier written into every saved model; bumped when the layout changes."""

_LOG_BOUND = 30.0  # |log(param)| beyond this means a parameter ran off to 0 or infinity
_RAN_OFF = 20.0  # a parameter beyond exp(±20) is treated as having run off
_FLAT_FACTOR = math.log(100.0)  # probe: move the most-moved parameter by a factor of 100
_FLAT_RISING = 0.05  # log-likelihood lost over that move: below it, still rising (boundary)
# 1.92 = chi2(1).ppf(0.95) / 2 (scipy.special, not scipy.stats: import time): below it,
# inside the 95% LR region
_FLAT_LR = 0.5 * float(special.chdtri(1, 0.05))
_FLAT_CURVATURE = 1.0  # smallest log-scale Hessian eigenvalue below which the probe runs
_WARM_START_ROWS = 100_000  # distinct rows above which a subset fit provides start values
_WARM_START_SAMPLE = 20_000
_logger = get_logger("clv")

ModelT = TypeVar("ModelT", bound="MLEModel")
Data = dict[str, FloatArray]


def _compress(data: Data, weights: FloatArray, columns: tuple[str, ...]) -> tuple[Data, FloatArray]:
    """Merge rows equal on ``columns`` into one row carrying the summed weight.

    Each column is factorised by hashing (``pd.factorize``, linear time), the codes are
    combined into one integer key and the key is factorised again: several times faster
    than ``np.unique(axis=0)`` or a lexicographic sort on millions of rows.
    """
    keep = weights > 0
    cols = [data[c][keep] for c in columns]
    w = weights[keep]
    if w.size == 0:
        return {c: cols[i] for i, c in enumerate(columns)}, w
    codes, uniques = [], []
    for col in cols:
        code, unique = pd.factorize(col)
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
    """:func:`_compress` through a lexicographic sort (for very many distinct values)."""
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


def _wsum(weights: FloatArray, values: FloatArray) -> float:
    """Weighted sum without BLAS: multi-threaded BLAS spins badly on a busy machine."""
    return float(np.sum(weights * values))


def _wsum_rows(weights: FloatArray, values: FloatArray) -> FloatArray:
    """Weighted column sums of an (n, k) array, without BLAS (see :func:`_wsum`)."""
    out: FloatArray = np.einsum("i,ij->j", weights, values)
    return out


class MLEModel:
    """Base class of the maximum-likelihood customer-base models (private).

    See the module docstring for the contract a subclass fulfils.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _data_columns: ClassVar[tuple[str, ...]] = ()
    _flat_hints: ClassVar[dict[frozenset[str], str]] = {}
    _covariate_targets: ClassVar[Targets] = {}
    _registry: ClassVar[dict[str, type[MLEModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MLEModel._registry[cls.__name__] = cls

    def __init__(
        self,
        *,
        purchase_covariates: Sequence[str] = (),
        dropout_covariates: Sequence[str] = (),
        shared_covariates: Sequence[str] = (),
        l2_purchase: float = 0.0,
        l2_dropout: float = 0.0,
    ) -> None:
        self.purchase_covariates = purchase_covariates
        self.dropout_covariates = dropout_covariates
        self.shared_covariates = shared_covariates
        self.l2_purchase = l2_purchase
        self.l2_dropout = l2_dropout
        self._design_cache: tuple[Any, CovariateDesign] | None = None
        self._params: FloatArray | None = None
        self._covariance: FloatArray | None = None
        self._log_likelihood: float | None = None
        self._n: int | None = None
        self._train: Data | None = None
        self._train_index: pd.Index[Any] | None = None
        self.time_unit: str | None = None
        self.optimizer_result_: Any = None

    # ------------------------------------------------------------------ hooks
    def _check_data(self, data: Data, index: pd.Index[Any], what: str) -> None:
        """Model-specific checks of validated arrays (override)."""

    def _check_fit_data(self, data: Data, weights: FloatArray, what: str) -> None:
        """Checks that only apply when fitting, such as identifiability (override)."""

    def _loglik_grad(self, params: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and its gradient in natural parameters (override)."""
        raise NotImplementedError

    def _loglik(self, params: FloatArray, data: Data) -> FloatArray:
        """Per-row log-likelihood (override when cheaper than the gradient)."""
        return self._loglik_grad(params, data)[0]

    def _start_values(self, data: Data, weights: FloatArray) -> FloatArray:
        """Natural-scale start values of the optimiser (override)."""
        return np.ones(len(self._param_names))

    def _augment(self, data: Data) -> Data:
        """Add derived arrays (keys starting with "_") to compressed data (override)."""
        return data

    def _config(self) -> dict[str, Any]:
        """Constructor keyword arguments to persist (extend when ``__init__`` has more)."""
        out: dict[str, Any] = {}
        for key in ("purchase_covariates", "dropout_covariates", "shared_covariates"):
            value = getattr(self, key, ())
            names = [value] if isinstance(value, str) else list(value)
            if names:
                out[key] = names
        for key in ("l2_purchase", "l2_dropout"):
            if getattr(self, key, 0.0):
                out[key] = float(getattr(self, key))
        return out

    # ------------------------------------------------------------------ covariates
    def _design(self) -> CovariateDesign:
        """The coefficient layout of the covariates named in the constructor."""
        key = (
            self.purchase_covariates,
            self.dropout_covariates,
            self.shared_covariates,
            self.l2_purchase,
            self.l2_dropout,
        )
        if self._design_cache is None or self._design_cache[0] != key:
            design = build_design(
                type(self).__name__,
                self._param_names,
                self._covariate_targets,
                purchase=self.purchase_covariates,
                dropout=self.dropout_covariates,
                shared=self.shared_covariates,
                l2_purchase=self.l2_purchase,
                l2_dropout=self.l2_dropout,
            )
            self._design_cache = (key, design)
        return self._design_cache[1]

    def _names(self) -> tuple[str, ...]:
        """Names of the full parameter vector: the model's, then the coefficients."""
        return self._param_names + self._design().coef_names

    def _natural(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Full natural parameters from optimiser coordinates, and d natural / d theta."""
        k = len(self._param_names)
        full = theta.copy()
        full[:k] = np.exp(theta[:k])
        jac = np.ones_like(theta)
        jac[:k] = full[:k]
        return full, jac

    def _full_loglik_grad(self, full: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and gradient in the full vector (covariates applied)."""
        design = self._design()
        if design.empty:
            return self._loglik_grad(full, data)
        X = covariate_matrix(design, data)
        P = design.row_params(full, X)
        ll, g = self._loglik_grad(P, data)
        g = np.asarray(g, dtype=np.float64)
        if g.shape[0] != ll.shape[0]:
            g = g.T
        return ll, design.chain_rule(full, P, X, g)

    def _full_loglik(self, full: FloatArray, data: Data) -> FloatArray:
        """Per-row log-likelihood at the full vector (covariates applied)."""
        return self._loglik(self._row_params(data, full), data)

    def _row_params(self, data: Data, full: FloatArray | None = None) -> FloatArray:
        """Natural parameters for the rows of ``data``: the ``(k,)`` vector without
        covariates, each customer's ``(k, n)`` parameters with them."""
        if full is None:
            full = self._params_array()
        design = self._design()
        if design.empty:
            return full
        return design.row_params(full, covariate_matrix(design, data))

    def _covariates_of(self, data: Any, *, what: str = "covariates") -> tuple[Data, pd.Index[Any]]:
        """Validated covariate arrays of ``data`` (no model columns needed) and its index."""
        frame = as_frame(data, what=what)
        return covariate_arrays(frame, self._design().columns, what=what), frame.index

    def _base_params(self) -> FloatArray:
        """The model's own parameters (for a customer whose covariates are all zero)."""
        return self._params_array()[: len(self._param_names)]

    # ------------------------------------------------------------------ data
    def _validate(self, data: Any, *, what: str = "data") -> tuple[Data, pd.Index[Any]]:
        frame = as_frame(data, what=what)
        require_columns(frame, self._data_columns, what=what)
        arrays = {c: numeric_column(frame, c, what=what) for c in self._data_columns}
        self._check_data(arrays, frame.index, what)
        arrays.update(covariate_arrays(frame, self._design().columns, what=what))
        return arrays, frame.index

    def _prepare(self, data: Any = None, *, what: str = "data") -> tuple[Data, pd.Index[Any]]:
        """Validated arrays and index of ``data``, or of the training data when None."""
        if data is not None:
            return self._validate(data, what=what)
        if self._train is None or self._train_index is None:
            if self._params is None:
                self._raise_not_fitted()
            raise InvalidDataError(
                f"{type(self).__name__} has no training data (it was built from parameters "
                "or loaded from JSON): pass data with columns "
                + ", ".join(repr(c) for c in self._data_columns)
            )
        return self._train, self._train_index

    def _score_engine(
        self,
        data: Any,
        method: str,
        name: str,
        customer_id_col: str,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Run prediction ``method`` partition by partition on an engine frame.

        Only a parameters-only copy of the model travels to the workers.
        """
        self._params_array()  # NotFittedError on the driver, not in a worker
        model = shippable(self)

        def predict(part: pd.DataFrame) -> pd.Series:
            result: pd.Series = getattr(model, method)(*args, data=part, **kwargs)
            return result

        return score(
            data,
            predict,
            customer_id_col=customer_id_col,
            columns=self._data_columns,
            results={name: "float64"},
        )

    # ------------------------------------------------------------------ fitting
    def _objective(
        self, theta: FloatArray, data: Data, weights: FloatArray, scale: float
    ) -> tuple[float, FloatArray]:
        """Weighted mean negative log-likelihood and its gradient in log parameters."""
        params, jac = self._natural(theta)
        ll, grad = self._full_loglik_grad(params, data)
        value = -_wsum(weights, ll) / scale
        g = -_wsum_rows(weights, grad) * jac / scale
        design = self._design()
        if not design.empty:
            pen, dpen = design.penalty_value(params[len(self._param_names) :])
            value += pen
            g[len(self._param_names) :] += dpen
        if not (np.isfinite(value) and np.all(np.isfinite(g))):
            return math.inf, np.zeros_like(theta)
        return value, np.asarray(g, dtype=np.float64)

    def fit(
        self: ModelT,
        data: Any,
        *,
        weights: Any = None,
        initial_params: Any = None,
        progress: bool = False,
        time_unit: str | None = None,
    ) -> ModelT:
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
        distinct, cw = _compress(arrays, w, self._data_columns + design.keys())
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
        if initial_params is None and cw.size > _WARM_START_ROWS:
            shift, transform = self._warm_start(distinct, cw, theta0, bounds, transform)
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
                value, grad = self._objective(shift + transform @ y, compressed, cw, scale)
                return value, transform.T @ grad

            result = optimize.minimize(
                objective,
                np.zeros(k),
                jac=True,
                method="L-BFGS-B",
                bounds=box,
                callback=callback,
                options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
            )
            result.x = shift + transform @ np.asarray(result.x, dtype=np.float64)
        self._check_result(result, compressed, cw, scale)
        params = self._natural(np.asarray(result.x, dtype=np.float64))[0]
        self._params = params
        self._log_likelihood = _wsum(cw, self._full_loglik_grad(params, compressed)[0])
        self._covariance = self._inverse_hessian(params, compressed, cw, result)
        self._n = round(scale)
        self._train, self._train_index = arrays, index
        self.time_unit = unit
        self.optimizer_result_ = result
        _logger.info("%s fitted: %s", type(self).__name__, self._describe_params())
        return self

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
        hess = np.empty((x.size, x.size))
        for i in range(x.size):
            step = np.zeros(x.size)
            step[i] = 1e-5
            hess[i] = (objective(y + step)[1] - objective(y - step)[1]) / 2e-5
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
                raise ConvergenceError(
                    f"{name}.fit: the optimiser did not converge ({result.message}); "
                    f"largest gradient {float(np.max(np.abs(g))):.3g}",
                    result=result,
                )

    def _grad_natural(self, params: FloatArray, data: Data, weights: FloatArray) -> FloatArray:
        """Gradient of the weighted negative log-likelihood in natural parameters."""
        _, grad = self._full_loglik_grad(params, data)
        out = -_wsum_rows(weights, grad)
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

    def _inverse_hessian(
        self,
        params: FloatArray,
        data: Data,
        weights: FloatArray,
        result: optimize.OptimizeResult | None = None,
    ) -> FloatArray:
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

    def _check_identified(
        self,
        params: FloatArray,
        hess: FloatArray,
        data: Data,
        weights: FloatArray,
        result: optimize.OptimizeResult | None,
    ) -> None:
        """Raise or warn when the likelihood is flat along some direction of ``log(params)``.

        The flattest direction ``v`` is the eigenvector of the smallest eigenvalue of the
        Hessian in log parameters (``D H D``, ``D = diag(params)``); when that eigenvalue
        is below 1 (a quadratic drop of less than 10 over the probe), the log-likelihood
        is evaluated where the most-moved parameter has changed by a factor of 100 along
        ``±v`` (and along ``v`` with its small components set to 0, which is the exact
        ridge when the eigenvector is blurred by rounding). With the other parameters
        held fixed this bounds the profile likelihood from below, so a small loss proves
        the data cannot tell the estimate from values 100 times larger or smaller:

        * a loss below 0.05 - the likelihood is flat or still rising towards the edge of
          the parameter space (a boundary fit, such as BG/NBD's ``a, b -> inf`` with
          ``a/(a+b)`` fixed): :class:`~customer_value.errors.ConvergenceError`;
        * a loss below 1.92 (half the 95% chi-square(1) quantile): the 95% likelihood-ratio
          region spans two orders of magnitude, the Wald intervals are meaningless:
          :class:`~customer_value.errors.CustomerValueWarning`.

        Both messages name the parameters involved and what the data do identify. With
        covariates the check runs on the model's own parameters, coefficients held fixed.
        """
        full = params
        k = len(self._param_names)
        params, hess = full[:k], hess[:k, :k]
        scaled = hess * np.outer(params, params)
        try:
            eig, vec = np.linalg.eigh(scaled)
        except np.linalg.LinAlgError:  # pragma: no cover - checked positive definite above
            return
        if not (np.isfinite(eig[0]) and eig[0] < _FLAT_CURVATURE):
            return
        v = vec[:, 0] / np.max(np.abs(vec[:, 0]))
        candidates = [v, np.where(np.abs(v) >= 0.25, np.sign(v), 0.0)]
        # At a boundary fit the Hessian is mostly rounding error: also probe the direction
        # in which the parameters that are already far out keep going.
        far = np.abs(np.log(params)) > math.log(1e3)
        if far.any():
            candidates.append(np.where(far, np.sign(np.log(params)), 0.0))
        theta = np.log(params)
        base = _wsum(weights, self._full_loglik(full, data))
        worst: tuple[float, float, FloatArray] | None = None  # (loss, sign, direction)
        for direction in candidates:
            for sign in (1.0, -1.0):
                moved = np.exp(theta + sign * _FLAT_FACTOR * direction)
                with np.errstate(all="ignore"):
                    value = _wsum(weights, self._full_loglik(np.r_[moved, full[k:]], data))
                loss = base - value if np.isfinite(value) else math.inf
                if worst is None or loss < worst[0]:
                    worst = (loss, sign, direction)
        if worst is None or worst[0] >= _FLAT_LR:
            return
        loss, sign, direction = worst
        name = type(self).__name__
        moves, identified = self._describe_flat(params, direction, sign)
        if loss < _FLAT_RISING:
            raise ConvergenceError(
                f"{name}.fit: the log-likelihood is still rising (or flat) towards the edge of "
                f"the parameter space: {moves} changes it by only {loss:.2g}, so the estimate "
                f"({self._describe_params_of(full)}) is a boundary fit, not a maximum; "
                f"{identified}. More customers, a longer observation period or more repeat "
                "purchases can identify the model",
                result=result,
            )
        warnings.warn(
            f"{name}.fit: the data barely identify the parameters: {moves} changes the "
            f"log-likelihood by only {loss:.2g} (< 1.92, the 95% likelihood-ratio cutoff), so "
            f"the standard errors and confidence intervals of those parameters are not "
            f"reliable; {identified}",
            CustomerValueWarning,
            stacklevel=4,
        )

    def _describe_flat(
        self, params: FloatArray, direction: FloatArray, sign: float
    ) -> tuple[str, str]:
        """Words for "moving along ``sign * direction``" and for what the data identify."""
        names = self._param_names
        moving = [i for i in range(len(names)) if abs(direction[i]) >= 0.25]
        verbs = [
            f"{'multiplying' if sign * direction[i] > 0 else 'dividing'} {names[i]!r}"
            for i in moving
        ]
        moves = " and ".join(verbs) + " by up to 100"
        same_sign = len({bool(direction[i] > 0) for i in moving}) == 1
        if len(moving) == 1:
            identified = f"{names[moving[0]]!r} is not identified by these data"
        elif len(moving) == 2:
            i, j = moving
            if same_sign:
                value = float(params[i] / params[j])
                identified = f"only the ratio {names[i]}/{names[j]} = {value:.4g} is identified"
            else:
                value = float(params[i] * params[j])
                identified = f"only the product {names[i]}*{names[j]} = {value:.4g} is identified"
        else:
            identified = "only combinations across that direction are identified"
        hint = self._flat_hints.get(frozenset(names[i] for i in moving))
        if hint is not None and same_sign:
            identified += f" ({hint})"
        return moves, identified

    def _describe_params_of(self, params: FloatArray) -> str:
        return ", ".join(f"{n}={v:.4g}" for n, v in zip(self._names(), params, strict=True))

    # ------------------------------------------------------------------ construction
    def _params_from_user(self, values: Any, *, what: str) -> FloatArray:
        names = self._names()
        n_base = len(self._param_names)
        if isinstance(values, (dict, pd.Series)):
            mapping = dict(values.items())
            missing = [n for n in names if n not in mapping]
            extra = [str(n) for n in mapping if n not in names]
            if missing or extra:
                raise InvalidDataError(
                    f"{what} must have exactly the parameters {', '.join(names)}; "
                    f"missing {missing or 'none'}, unknown {extra or 'none'}"
                )
            raw = [mapping[n] for n in names]
        else:
            raw = list(values)
            if len(raw) != len(names):
                raise InvalidDataError(
                    f"{what} needs {len(names)} values ({', '.join(names)}), got {len(raw)}"
                )
        return np.array(
            [
                check_scalar(v, f"{what}: parameter {n!r}", low=0.0, low_inclusive=False)
                if i < n_base
                else check_scalar(v, f"{what}: coefficient {n!r}")
                for i, (n, v) in enumerate(zip(names, raw, strict=True))
            ],
            dtype=np.float64,
        )

    @classmethod
    def from_params(
        cls: type[ModelT],
        *,
        time_unit: str | None = None,
        purchase_covariates: Sequence[str] = (),
        dropout_covariates: Sequence[str] = (),
        shared_covariates: Sequence[str] = (),
        **params: float,
    ) -> ModelT:
        """Build a model from known parameters (scenario work, simulation).

        Parameters
        ----------
        time_unit : str, optional
            Unit of time the parameters refer to (for example ``"W"``).
        purchase_covariates, dropout_covariates, shared_covariates : sequence of str
            Covariate columns, as in the constructor (models that take covariates).
        **params : float
            Every parameter of the model by name, each > 0, and every covariate
            coefficient by its name in ``params_`` (``**{"purchase.channel": 0.4}``).

        Returns
        -------
        model
            A model ready to predict; it has no standard errors and no training data.

        Raises
        ------
        InvalidDataError
            A parameter is missing, unknown, not a number or not positive; ``time_unit``
            is not a time unit.

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        BetaGeoModel(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit='W')
        """
        model = cls()
        if purchase_covariates or dropout_covariates or shared_covariates:
            model = cls(
                purchase_covariates=purchase_covariates,
                dropout_covariates=dropout_covariates,
                shared_covariates=shared_covariates,
            )
        model._params = model._params_from_user(params, what=f"{cls.__name__}.from_params")
        model.time_unit = check_time_unit(time_unit, "time_unit")
        return model

    # ------------------------------------------------------------------ fitted state
    def _raise_not_fitted(self) -> NoReturn:
        raise NotFittedError(
            f"{type(self).__name__} is not fitted: call fit(data) or build it with "
            f"{type(self).__name__}.from_params(...)"
        )

    def _params_array(self) -> FloatArray:
        if self._params is None:
            self._raise_not_fitted()
        return self._params

    def _estimated(self) -> FloatArray:
        """Covariance matrix, or NotFittedError when the model was not estimated."""
        self._params_array()
        if self._covariance is None:
            raise NotFittedError(
                f"{type(self).__name__} was built from parameters, not estimated: it has no "
                "covariance, standard errors or log-likelihood"
            )
        return self._covariance

    @property
    def params_(self) -> pd.Series:
        """Fitted (or given) parameters, indexed by name."""
        return pd.Series(self._params_array(), index=list(self._names()), name="estimate")

    @property
    def log_likelihood_(self) -> float:
        """Maximised log-likelihood of the training data (weighted sum over customers)."""
        self._estimated()
        if self._log_likelihood is None:  # pragma: no cover - set together with covariance
            self._raise_not_fitted()
        return float(self._log_likelihood)

    @property
    def n_(self) -> int:
        """Number of customers (sum of the weights) the model was fitted on."""
        self._estimated()
        return int(self._n or 0)

    @property
    def covariance_(self) -> pd.DataFrame:
        """Inverse Hessian of the negative log-likelihood at the optimum (natural scale)."""
        cov = self._estimated()
        names = list(self._names())
        return pd.DataFrame(cov, index=names, columns=names)

    @property
    def standard_errors_(self) -> pd.Series:
        """Square roots of the diagonal of ``covariance_``."""
        cov = self._estimated()
        se = np.sqrt(np.diag(cov))
        return pd.Series(se, index=list(self._names()), name="std_error")

    def confidence_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Wald confidence intervals of the parameters, computed on the log scale.

        Parameters
        ----------
        level : float, default 0.95
            Coverage, strictly between 0 and 1.

        Returns
        -------
        DataFrame
            Indexed by parameter, columns ``ci_lower`` and ``ci_upper``.

        Raises
        ------
        NotFittedError
            The model was not estimated.
        InvalidDataError
            ``level`` outside (0, 1).

        Notes
        -----
        Every parameter is positive, so the interval is built for ``log(p)`` with the
        delta-method standard error ``se / p`` and transformed back:
        ``p * exp(± z * se / p)``. It never leaves the parameter space, unlike
        ``p ± z * se``.

        References
        ----------
        Casella, G. & Berger, R. L. (2002). *Statistical Inference*, 2nd ed., section
        10.4 (Wald intervals) and 5.5.4 (delta method).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> from customer_value.datasets import load_cdnow_summary
        >>> model = BetaGeoModel().fit(load_cdnow_summary())
        >>> model.confidence_intervals(0.95).round(3).loc["r"].tolist()
        [0.219, 0.268]
        """
        lvl = check_scalar(
            level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        p = self._params_array()
        se = self.standard_errors_.to_numpy()
        z = z_critical(lvl)
        k = len(self._param_names)
        spread = np.exp(z * se[:k] / p[:k])
        lower = np.concatenate([p[:k] / spread, p[k:] - z * se[k:]])
        upper = np.concatenate([p[:k] * spread, p[k:] + z * se[k:]])
        return pd.DataFrame({"ci_lower": lower, "ci_upper": upper}, index=list(self._names()))

    @property
    def summary_(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% confidence intervals, one row per parameter."""
        ci = self.confidence_intervals(0.95)
        return pd.DataFrame(
            {
                "estimate": self._params_array(),
                "std_error": self.standard_errors_.to_numpy(),
                "ci_lower": ci["ci_lower"].to_numpy(),
                "ci_upper": ci["ci_upper"].to_numpy(),
            },
            index=pd.Index(list(self._names()), name="parameter"),
        )

    def loglikelihood(self, data: Any = None) -> pd.Series:
        """Log-likelihood of each customer's history under the fitted parameters.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Customers to score (the model's columns); defaults to the training data.

        Returns
        -------
        Series
            One value per row, indexed like ``data``.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        InvalidDataError
            Bad data, as in ``fit``.

        Notes
        -----
        The terms whose sum ``fit`` maximises (see the model's class docstring for the
        formula and its reference).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> from customer_value.datasets import load_cdnow_summary
        >>> model = BetaGeoModel().fit(load_cdnow_summary())
        >>> round(float(model.loglikelihood().sum()), 2)
        -9582.43
        """
        self._params_array()
        arrays, index = self._prepare(data)
        values = self._loglik(self._row_params(arrays), arrays)
        return pd.Series(values, index=index, name="loglikelihood")

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> str:
        """Serialise the model (class, library version, time unit, parameters, covariance,
        log-likelihood, n) to a JSON string. Training data is not stored.

        Returns
        -------
        str
            A JSON document readable by :meth:`from_json`.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.

        Examples
        --------
        >>> import json
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> json.loads(model.to_json())["params"]
        {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
        """
        params = self._params_array()
        cov = self._covariance
        doc = {
            "format": JSON_FORMAT,
            "class": type(self).__name__,
            "version": __version__,
            "time_unit": self.time_unit,
            "config": self._config(),
            "params": {n: float(v) for n, v in zip(self._names(), params, strict=True)},
            "covariance": None
            if cov is None
            else [[None if not np.isfinite(v) else float(v) for v in row] for row in cov],
            "log_likelihood": self._log_likelihood,
            "n": self._n,
        }
        return json.dumps(doc, indent=2)

    @classmethod
    def from_json(cls: type[ModelT], text: str | bytes) -> ModelT:
        """Rebuild a model saved with :meth:`to_json`.

        Parameters
        ----------
        text : str or bytes
            The JSON document (bytes must be UTF-8).

        Returns
        -------
        model
            A model that predicts exactly like the saved one (without training data).

        Raises
        ------
        InvalidDataError
            Not a customer_value model document, a document of another class, or one
            that breaks its schema: not UTF-8, duplicate keys, too deep, a missing or
            unknown key, a parameter that is not a positive number, a covariance that is
            not k x k with a non-negative diagonal, ``n`` not a whole number >= 1, a
            non-finite log-likelihood, an unknown time unit. The message names the JSON
            path (``$.params.r``).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> BetaGeoModel.from_json(model.to_json())
        BetaGeoModel(r=0.243, alpha=4.414, a=0.793, b=2.426)
        """
        what = "model document"
        doc = expect_object(loads_strict(text, what=what), "$", what=what)
        if doc.get("format") != JSON_FORMAT:
            raise InvalidDataError(
                f"not a customer_value model document (expected format {JSON_FORMAT!r})"
            )
        check_keys(
            doc,
            "$",
            what=what,
            required=("format", "class", "params"),
            optional=("version", "time_unit", "config", "covariance", "log_likelihood", "n"),
        )
        name = expect_string(doc["class"], "$.class", what=what)
        target = MLEModel._registry.get(name)
        if target is None or not issubclass(target, cls):
            raise InvalidDataError(f"the document holds a {name!r}, which is not a {cls.__name__}")
        if doc.get("version") is not None:
            expect_string(doc["version"], "$.version", what=what)
        config = doc.get("config")
        config = {} if config is None else expect_object(config, "$.config", what=what)
        accepted = [
            p.name
            for p in inspect.signature(target.__init__).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        check_keys(config, "$.config", what=what, optional=accepted)
        model = target(**config)
        names = model._names()  # validates the covariate configuration
        n_base = len(model._param_names)
        params = expect_object(doc["params"], "$.params", what=what)
        check_keys(params, "$.params", what=what, required=names)
        model._params = np.array(
            [
                expect_number(params[n], f"$.params.{n}", what=what, low=0.0, low_inclusive=False)
                if i < n_base
                else expect_number(params[n], f"$.params.{n}", what=what)
                for i, n in enumerate(names)
            ],
            dtype=np.float64,
        )
        if doc.get("covariance") is not None:
            model._covariance = _covariance_from_json(doc["covariance"], len(names), what)
        if doc.get("log_likelihood") is not None:
            model._log_likelihood = expect_number(
                doc["log_likelihood"], "$.log_likelihood", what=what
            )
        if doc.get("n") is not None:
            model._n = int(expect_number(doc["n"], "$.n", what=what, low=1.0, integer=True))
        try:
            model.time_unit = check_time_unit(doc.get("time_unit"), "$.time_unit")
        except InvalidDataError as exc:
            raise InvalidDataError(f"{what}: {exc}") from None
        return model

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (UTF-8).

        Parameters
        ----------
        path : str or Path
            Destination file.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "bgnbd.json"
        >>> model.save(path)
        >>> BetaGeoModel.load(path).params_.tolist()
        [0.243, 4.414, 0.793, 2.426]
        """
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls: type[ModelT], path: str | Path) -> ModelT:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            The file.

        Returns
        -------
        model
            The rebuilt model.

        Raises
        ------
        InvalidDataError
            Not a model document of this class.

        Examples
        --------
        See :meth:`save`.
        """
        return cls.from_json(Path(path).read_bytes())

    # ------------------------------------------------------------------ repr
    def _describe_params(self) -> str:
        if self._params is None:
            return ""
        return self._describe_params_of(self._params)

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self._config().items()]
        if self._params is not None:
            parts.append(self._describe_params())
            if self._n is not None:
                parts.append(f"n={self._n}")
            if self.time_unit is not None:
                parts.append(f"time_unit={self.time_unit!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _covariance_from_json(value: Any, k: int, what: str) -> FloatArray:
    """A k x k covariance from JSON (``null`` for a non-finite entry), diagonal >= 0."""
    rows = expect_list(value, "$.covariance", what=what)
    if len(rows) != k:
        raise InvalidDataError(f"{what}: $.covariance must have {k} rows, got {len(rows)}")
    out = np.empty((k, k))
    for i, row in enumerate(rows):
        cells = expect_list(row, f"$.covariance[{i}]", what=what)
        if len(cells) != k:
            raise InvalidDataError(
                f"{what}: $.covariance[{i}] must have {k} values, got {len(cells)}"
            )
        for j, cell in enumerate(cells):
            path = f"$.covariance[{i}][{j}]"
            out[i, j] = np.nan if cell is None else expect_number(cell, path, what=what)
    diagonal = np.diag(out)
    bad = np.flatnonzero(diagonal < 0)
    if bad.size:
        i = int(bad[0])
        raise InvalidDataError(
            f"{what}: $.covariance[{i}][{i}] is a variance and must be >= 0, got {diagonal[i]!r}"
        )
    return out


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
