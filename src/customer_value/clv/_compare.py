"""Side-by-side comparison of fitted purchase-frequency models on a calibration/holdout split."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import as_frame, numeric_column, require_columns
from customer_value.clv._frequency import FrequencyModel
from customer_value.errors import InvalidDataError

__all__ = ["COMPARISON_COLUMNS", "compare_models"]

COMPARISON_COLUMNS = (
    "n_params",
    "log_likelihood",
    "aic",
    "bic",
    "holdout_mae",
    "holdout_rmse",
    "predicted_holdout_total",
    "actual_holdout_total",
)
"""Columns of the table :func:`compare_models` returns, in order."""


def compare_models(
    models: Mapping[str, FrequencyModel] | Sequence[FrequencyModel],
    split: Any,
    *,
    suffix: str = "_cal",
    holdout_column: str = "frequency_holdout",
    duration_column: str = "duration_holdout",
) -> pd.DataFrame:
    """Compare fitted models on a calibration/holdout split: fit and forecast in one table.

    Parameters
    ----------
    models : mapping of name to fitted model, or sequence of fitted models
        Purchase-frequency models (BG/NBD, MBG/NBD, Pareto/NBD, with or without
        covariates) fitted on the calibration columns of ``split``. A sequence is named
        by class name.
    split : DataFrame
        One row per customer, as returned by
        :func:`~customer_value.data.calibration_holdout_split`: ``frequency_cal``,
        ``recency_cal``, ``T_cal``, the holdout purchase count and holdout length, plus
        any covariate columns the models use.
    suffix : str, default "_cal"
        Suffix of the calibration columns.
    holdout_column, duration_column : str
        Columns with the holdout purchase count and the holdout length (model time unit).

    Returns
    -------
    DataFrame
        One row per model (index ``model``) with ``n_params``, ``log_likelihood`` (of
        the calibration data), ``aic``, ``bic``, ``holdout_mae`` and ``holdout_rmse``
        (per customer, predicted vs actual holdout purchases), ``predicted_holdout_total``
        and ``actual_holdout_total``.

    Raises
    ------
    NotFittedError
        A model is not fitted.
    InvalidDataError
        Missing columns, a model that is not a purchase-frequency model, or no models.

    Notes
    -----
    ``AIC = 2K - 2 LL`` and ``BIC = K ln(n) - 2 LL`` with ``K`` the number of estimated
    parameters (covariate coefficients included) and ``n`` the number of customers; the
    log-likelihood is recomputed on ``split`` so that every model is scored on the same
    customers. The forecast is ``E[Y(d) | calibration history]`` with ``d`` each
    customer's holdout length.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284 (holdout validation on CDNOW).

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel, ParetoNBDModel, compare_models
    >>> from customer_value.data import calibration_holdout_split
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> split = calibration_holdout_split(load_cdnow_transactions(),
    ...     calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="W")
    >>> cal = split.rename(columns=lambda c: c.removesuffix("_cal"))
    >>> table = compare_models({"BG/NBD": BetaGeoModel().fit(cal),
    ...                         "Pareto/NBD": ParetoNBDModel().fit(cal)}, split)
    >>> table[["n_params", "log_likelihood", "actual_holdout_total"]].round(1)
                n_params  log_likelihood  actual_holdout_total
    model
    BG/NBD             4         -9582.4                1882.0
    Pareto/NBD         4         -9595.0                1882.0
    """
    if isinstance(models, Mapping):
        named = dict(models)
    else:
        named = {}
        for m in models:
            name = type(m).__name__
            named[name if name not in named else f"{name}_{len(named)}"] = m
    if not named:
        raise InvalidDataError("compare_models needs at least one model")
    frame = as_frame(split, what="split")
    base = ("frequency", "recency", "T")
    require_columns(
        frame, [c + suffix for c in base] + [holdout_column, duration_column], what="split"
    )
    cal = frame.rename(columns={c + suffix: c for c in base})
    actual = numeric_column(frame, holdout_column, what="split")
    duration = numeric_column(frame, duration_column, what="split")
    n = len(frame)
    rows = []
    for name, model in named.items():
        if not isinstance(model, FrequencyModel):
            raise InvalidDataError(
                f"model {name!r} is a {type(model).__name__}, not a purchase-frequency model"
            )
        ll = float(model.loglikelihood(cal).sum())
        k = len(model.params_)
        predicted = model.expected_purchases(duration, cal).to_numpy()
        error = predicted - actual
        rows.append(
            {
                "n_params": k,
                "log_likelihood": ll,
                "aic": 2 * k - 2 * ll,
                "bic": k * math.log(n) - 2 * ll,
                "holdout_mae": float(np.mean(np.abs(error))),
                "holdout_rmse": float(np.sqrt(np.mean(error**2))),
                "predicted_holdout_total": float(predicted.sum()),
                "actual_holdout_total": float(actual.sum()),
            }
        )
    return pd.DataFrame(rows, index=pd.Index(list(named), name="model"))[list(COMPARISON_COLUMNS)]
