"""Fitted state of a maximum-likelihood model: estimates, covariance, summary (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import check_scalar, z_critical
from customer_value.clv._core import ModelCore

__all__ = ["FittedState"]


class FittedState(ModelCore):
    """The public fitted attributes and the per-customer log-likelihood (private)."""

    @property
    def data_columns(self) -> tuple[str, ...]:
        """Columns of a customer table the model reads (besides covariates).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> BetaGeoModel().data_columns
        ('frequency', 'recency', 'T')
        """
        return tuple(self._data_columns) + tuple(self._design().columns)

    def model_data(self, data: Any = None) -> pd.DataFrame:
        """The model's columns of ``data``, validated as ``fit`` validates them.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Customers with the model's columns (:attr:`data_columns`); defaults to the
            training data.

        Returns
        -------
        DataFrame
            One float column per entry of :attr:`data_columns`, indexed like ``data``.

        Raises
        ------
        NotFittedError
            ``data`` is None before ``fit``.
        InvalidDataError
            Bad data, as in ``fit``; ``data`` is None and the model has no training data
            (built with ``from_params`` or loaded from JSON).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> from customer_value.datasets import load_cdnow_summary
        >>> model = BetaGeoModel().fit(load_cdnow_summary())
        >>> model.model_data().shape
        (2357, 3)
        """
        arrays, index = self._prepare(data)
        return pd.DataFrame({c: arrays[c] for c in self.data_columns}, index=index)

    @property
    def params_(self) -> pd.Series:
        """Fitted (or given) parameters, indexed by name."""
        return pd.Series(self._params_array(), index=list(self._names()), name="estimate")

    @property
    def log_likelihood_(self) -> float:
        """Maximised log-likelihood of the training data (weighted sum over customers)."""
        self._estimated()  # NotFittedError unless estimated (log-likelihood set with it)
        return float(self._log_likelihood or 0.0)

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
