"""Maximum-likelihood machinery shared by every model in :mod:`customer_value.clv`.

One private base class, :class:`MLEModel`, owns fitting, the Hessian, the summary table,
persistence and the ``repr``. It is assembled from layers, one module each, over
:class:`~customer_value.clv._core.ModelCore` (constructor, hooks, covariates, data
validation, fitted-state access, ``repr``): :mod:`~customer_value.clv._fitting` (``fit``,
compression, Hessian) with :mod:`~customer_value.clv._identification` (boundary checks),
:mod:`~customer_value.clv._fitted` (``params_``, ``summary_``, intervals) and
:mod:`~customer_value.clv._persistence` (JSON). A model class contributes its
parameter names, its data columns and checks, its per-row log-likelihood with an
analytic gradient, and its predictions - nothing else.

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

from collections.abc import Sequence
from typing import Any

from customer_value.clv._core import Data, ModelCore, ModelT
from customer_value.clv._fitted import FittedState
from customer_value.clv._fitting import Fitting, compress
from customer_value.clv._persistence import JSON_FORMAT, Persistence
from customer_value.clv._units import check_time_unit

__all__ = ["JSON_FORMAT", "Data", "MLEModel"]

_compress = compress  # the name the estimation-contract tests use


class MLEModel(Fitting, FittedState, Persistence):
    """Base class of the maximum-likelihood customer-base models (private).

    See the module docstring for the contract a subclass fulfils. The machinery lives in
    layers over :class:`~customer_value.clv._core.ModelCore`: fitting
    (:mod:`._fitting`, with the boundary checks of :mod:`._identification`), fitted state
    (:mod:`._fitted`) and JSON persistence (:mod:`._persistence`).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ModelCore._registry[cls.__name__] = cls

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
        model.time_unit_ = check_time_unit(time_unit, "time_unit")
        return model
