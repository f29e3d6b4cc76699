"""The state and plumbing every maximum-likelihood model shares (private).

:class:`ModelCore` holds the constructor, the subclass hooks with their defaults, the
covariate layout, validation of data tables, the fitted-state accessors and the parsing of
user-given parameters. The layers built on it (:mod:`._identification`, :mod:`._fitting`,
:mod:`._fitted`, :mod:`._persistence`) and :class:`customer_value.clv._base.MLEModel`,
which joins them, are described in the contract of :mod:`customer_value.clv._base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar, cast

import numpy as np
import pandas as pd

from customer_value._deprecation import warn_deprecated
from customer_value._engine import score, shippable
from customer_value._estimator import check_is_fitted
from customer_value._validation import (
    FloatArray,
    as_frame,
    check_scalar,
    numeric_column,
    require_columns,
)
from customer_value.clv._covariates import (
    CovariateDesign,
    Targets,
    build_design,
    covariate_arrays,
    covariate_matrix,
)
from customer_value.errors import InvalidDataError, NotFittedError

__all__ = ["Data", "ModelCore", "ModelT"]

ModelT = TypeVar("ModelT", bound="ModelCore")
Data = dict[str, FloatArray]


class ModelCore:
    """State, hooks, covariates, data validation and fitted-state access (private).

    See :mod:`customer_value.clv._base` for the contract a model class fulfils.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _data_columns: ClassVar[tuple[str, ...]] = ()
    _flat_hints: ClassVar[dict[frozenset[str], str]] = {}
    _covariate_targets: ClassVar[Targets] = {}
    _registry: ClassVar[dict[str, type[ModelCore]]] = {}
    # (parameters, id of the data, per-row gradient) of the last covariate evaluation
    # while fitting: the Hessian at the optimiser's last point starts from it
    _rows_cache: tuple[bytes, int, FloatArray] | None = None

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
        self.time_unit_: str | None = None
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

    def _weighted_loglik_grad(
        self, full: FloatArray, data: Data, weights: FloatArray
    ) -> tuple[float, FloatArray]:
        """``sum_i w_i ll_i`` and its gradient in the full vector (covariates applied).

        With covariates the chain rule is applied to the weighted sums (a few
        ``(n, m)`` products) rather than row by row: the per-row gradient in the
        coefficients is never formed.
        """
        design = self._design()
        if design.empty:
            ll, g = self._loglik_grad(full, data)
            g = np.asarray(g, dtype=np.float64)
            if g.shape[0] != ll.shape[0]:
                g = g.T
            return float(np.sum(weights * ll)), np.einsum("i,ij->j", weights, g)
        X = covariate_matrix(design, data)
        P = design.row_params(full, X)
        ll, g = self._loglik_grad(P, data)
        g = np.asarray(g, dtype=np.float64)
        if g.shape[0] != ll.shape[0]:
            g = g.T
        self._rows_cache = (full.tobytes(), id(data), g)
        return float(np.sum(weights * ll)), design.chain_rule_sum(full, P, X, g, weights)

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

    @property
    def _columns(self) -> tuple[str, ...]:
        """Columns a prediction reads: the model's own, then its covariates (what an
        engine frame must ship to the workers)."""
        return tuple(dict.fromkeys(self._data_columns + self._design().columns))

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
            self._params_array()  # NotFittedError first
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
            columns=list(self._columns),
            results={name: "float64"},
        )

    # ------------------------------------------------------------------ fitted state
    def _params_array(self) -> FloatArray:
        """The natural-scale parameters; :class:`NotFittedError` before fit (the one shared
        :func:`~customer_value._estimator.check_is_fitted`)."""
        check_is_fitted(
            self, "_params", action=f"fit(data) or {type(self).__name__}.from_params(...)"
        )
        return cast("FloatArray", self._params)

    @property
    def time_unit(self) -> str | None:
        """Deprecated alias of ``time_unit_`` (fitted state ends in an underscore)."""
        warn_deprecated(
            f"{type(self).__name__}.time_unit", since="0.1", removal="0.2", instead="time_unit_"
        )
        return self.time_unit_

    @time_unit.setter
    def time_unit(self, value: str | None) -> None:
        warn_deprecated(
            f"{type(self).__name__}.time_unit", since="0.1", removal="0.2", instead="time_unit_"
        )
        self.time_unit_ = value

    def _estimated(self) -> FloatArray:
        """Covariance matrix, or NotFittedError when the model was not estimated."""
        self._params_array()
        if self._covariance is None:
            raise NotFittedError(
                f"{type(self).__name__} was built from parameters, not estimated: it has no "
                "covariance, standard errors or log-likelihood"
            )
        return self._covariance

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
            if self.time_unit_ is not None:
                parts.append(f"time_unit={self.time_unit_!r}")
        return f"{type(self).__name__}({', '.join(parts)})"
