"""Customer lifetime value with explicit time units and discounting.

Time units are pandas-style aliases (``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"``, ``"h"``,
optionally with a multiple such as ``"7D"``) or the words ``"day"``, ``"week"``,
``"month"``, ``"quarter"``, ``"year"``. They are converted through the number of units
in a year (:data:`UNITS_PER_YEAR`): a year is 1 year = 4 quarters = 12 months = 52 weeks
= 365 days (the weekly convention of Fader, Hardie & Lee, whose 15% a year is
``ln(1.15) / 52`` per week). Whoever needs another convention gives the discount period as
a number of model time units instead of a name; nothing is ever guessed.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from customer_value._engine import is_engine, score, shippable
from customer_value._validation import FloatArray, check_scalar
from customer_value.clv._dert import distinct_pairs
from customer_value.clv._frequency import FrequencyModel
from customer_value.clv._units import units_per_year
from customer_value.errors import InvalidDataError

__all__ = ["MAX_STEPS", "SpendModel", "continuous_discount_rate", "customer_lifetime_value"]


def continuous_discount_rate(rate: float, time_unit: str, *, per: str = "year") -> float:
    """Convert a discount rate stated per ``per`` into a continuous rate per ``time_unit``.

    Parameters
    ----------
    rate : float
        The effective (compound) discount rate per ``per``, >= 0 (0.15 for 15%).
    time_unit : str
        The model's time unit (for example ``model.time_unit_``, ``"W"``).
    per : str, default "year"
        The period the rate is stated for.

    Returns
    -------
    float
        ``delta = ln(1 + rate) / (units of time_unit per period)``: money at time ``t``
        (in model units) is worth ``exp(-delta t)`` today. This is the rate expected by
        ``expected_discounted_transactions``.

    Raises
    ------
    InvalidDataError
        A negative rate or an unknown unit.

    Notes
    -----
    ``(1 + rate)^(-t / P) = exp(-t ln(1 + rate) / P)`` where ``P`` is the number of model
    time units in one ``per``.

    Examples
    --------
    >>> round(continuous_discount_rate(0.15, "W"), 6)  # ln(1.15) / 52
    0.002688
    """
    r = check_scalar(rate, "rate", low=0.0)
    span = units_per_year(time_unit) / units_per_year(per)
    return math.log1p(r) / span


MAX_STEPS = 10_000
"""Most cash-flow steps :func:`customer_lifetime_value` evaluates (about 190 years weekly,
27 years daily); beyond it the horizon is refused rather than computed for minutes."""

_GRID_VALUES = 2**18  # (customer pair, step) values evaluated per vectorised call


@runtime_checkable
class SpendModel(Protocol):
    """What :func:`customer_lifetime_value` and :func:`~customer_value.churn.churn_risk`
    need from a spend model: ``expected_spend(data)`` (:class:`GammaGammaModel` has it).

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.clv import BetaGeoModel, GammaGammaModel, SpendModel
    >>> class FixedSpend:
    ...     def expected_spend(self, data=None):
    ...         return pd.Series(35.0, index=pd.DataFrame(data).index)
    >>> isinstance(FixedSpend(), SpendModel), isinstance(GammaGammaModel(), SpendModel)
    (True, True)
    >>> isinstance(BetaGeoModel(), SpendModel)
    False
    """

    def expected_spend(self, data: Any = None) -> pd.Series:
        """Expected spend per transaction per customer, indexed like ``data``."""


def _period_length(discount_period: Any, model_unit: str | None) -> float:
    """Length of the discount period in model time units."""
    if isinstance(discount_period, (int, float, np.integer, np.floating)) and not isinstance(
        discount_period, bool
    ):
        return check_scalar(discount_period, "discount_period", low=0.0, low_inclusive=False)
    if not isinstance(discount_period, str):
        raise InvalidDataError(
            "discount_period must be a unit name ('year', 'month', 'week', ...) or the length "
            f"of the period in the model's time unit, got {discount_period!r}"
        )
    period_per_year = units_per_year(discount_period)
    if model_unit is None:
        raise InvalidDataError(
            "the transaction model has no time_unit (it was fitted on data without "
            "attrs['time_unit'], as after a join or a summary computed in SQL, or built from "
            f"parameters without time_unit=...), so a discount rate per {discount_period!r} "
            "cannot be converted. Fit it with model.fit(data, time_unit='W') (the unit of "
            "recency and T), or pass discount_period as the length of the period in the "
            "model's time unit (for example 52.0 for a year of weeks)"
        )
    try:
        model_per_year = units_per_year(model_unit)
    except InvalidDataError:
        raise InvalidDataError(
            f"the transaction model's time_unit {model_unit!r} is not a unit this library can "
            "convert; pass discount_period as the length of the discount period in the "
            "model's time unit instead"
        ) from None
    return model_per_year / period_per_year


def _check_data_unit(data: Any, model_unit: str | None) -> None:
    """Refuse data whose ``attrs["time_unit"]`` differs from the model's time unit.

    ``recency``, ``T`` and ``horizon`` are read in the model's unit; a summary built in
    another unit (days for a weekly model) would be valued silently wrong.
    """
    attrs = getattr(data, "attrs", None)
    data_unit = attrs.get("time_unit") if isinstance(attrs, dict) else None
    if data_unit is None or model_unit is None or str(data_unit) == model_unit:
        return
    try:
        same = units_per_year(str(data_unit)) == units_per_year(model_unit)
    except InvalidDataError:
        same = False
    if not same:
        raise InvalidDataError(
            f"data has time_unit {str(data_unit)!r} (data.attrs['time_unit']) but the "
            f"transaction model was fitted in {model_unit!r}: recency, T and horizon must be "
            "in the model's unit; summarise the transactions again with the model's "
            "time_unit"
        )


def customer_lifetime_value(
    transaction_model: FrequencyModel,
    spend_model: SpendModel,
    data: Any,
    *,
    horizon: float,
    discount_rate: float,
    discount_period: str | float = "year",
    margin: float = 1.0,
    steps_per_unit: float = 1.0,
    customer_id_col: str = "customer_id",
) -> Any:
    """Present value of each customer's expected margin over a finite horizon.

    Parameters
    ----------
    transaction_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted purchase-frequency model; its ``time_unit`` is the unit of ``horizon``.
    spend_model : GammaGammaModel or SpendModel
        A fitted spend model (anything with ``expected_spend(data)``, see
        :class:`SpendModel`).
    data : DataFrame, mapping or engine frame
        Customers with ``frequency``, ``recency``, ``T`` and ``monetary_value``. A Polars
        (eager or lazy), DuckDB, Spark or Dask frame is valued partition by partition
        with only the two models' parameters shipped to the workers.
    horizon : float
        How far ahead to value, in the transaction model's time unit (52 with weekly
        data means one year), > 0.
    discount_rate : float
        Effective (compound) discount rate per ``discount_period``, >= 0 (0.10 = 10%).
    discount_period : str or float, default "year"
        The period ``discount_rate`` is stated for: ``"year"``, ``"quarter"``,
        ``"month"``, ``"week"``, ``"day"`` (converted with the model's ``time_unit``, see
        :data:`UNITS_PER_YEAR`), or a number: the length of that period in the model's
        time unit (``4.345`` means a period of 4.345 weeks for a weekly model).
    margin : float, default 1.0
        Share of the spend that is profit, in (0, 1] typically (> 0).
    steps_per_unit : float, default 1.0
        Cash flows per model time unit (1 with weekly data: one cash flow a week;
        ``1 / 4.345``: one every 4.345 weeks). ``horizon * steps_per_unit`` must be a
        whole number of steps.
    customer_id_col : str, default "customer_id"
        Engine frames only: the id column carried into the result.

    Returns
    -------
    Series
        Present value per customer, indexed like ``data``, named ``clv``. An engine
        frame gives a frame of the same kind with ``customer_id_col`` and ``clv``.

    Raises
    ------
    NotFittedError
        A model is not fitted.
    InvalidDataError
        Bad data; ``horizon <= 0``; a negative discount rate; a non-positive margin;
        ``horizon * steps_per_unit`` not a whole number or more than :data:`MAX_STEPS`
        steps; a transaction model that is not a purchase-frequency model or a spend model
        without ``expected_spend``; a discount period given by name
        when the model's ``time_unit`` is missing or not convertible; ``data`` whose
        ``attrs["time_unit"]`` is not the model's time unit.

    Notes
    -----
    Step by step, with ``P`` the length of the discount period in model time units
    (for a weekly model and ``discount_period="year"``, ``P = 52``):

    1. Cash-flow times: ``K = horizon * steps_per_unit`` steps of length
       ``Δ = 1 / steps_per_unit``, ``t_k = k Δ`` for ``k = 1..K``.
    2. Expected purchases in step ``k``:
       ``n_ik = E[Y_i(t_k)] - E[Y_i(t_{k-1})]`` from the transaction model, conditional on
       customer ``i``'s history (``E[Y_i(0)] = 0``).
    3. Discount factor of a cash flow at ``t_k`` (end of the step):
       ``d_k = (1 + discount_rate)^(-t_k / P)``.
    4. ``CLV_i = margin * E[Z_i] * sum_k n_ik d_k`` with ``E[Z_i]`` the spend model's
       expected average transaction value.

    lifetimes' ``customer_lifetime_value(..., time=12, discount_rate=m, freq="W")`` is
    the case ``horizon = 12 * 4.345``, ``steps_per_unit = 1 / 4.345``,
    ``discount_rate = m``, ``discount_period = 4.345`` (its month is 4.345 weeks and its
    rate is monthly).

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value
    curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.

    Examples
    --------
    One year (52 weeks) of a weekly model, 10% a year, cash flows weekly:

    >>> from customer_value.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value
    >>> from customer_value.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> bg = BetaGeoModel().fit(summary)
    >>> gg = GammaGammaModel().fit(summary)
    >>> clv = customer_lifetime_value(bg, gg, summary, horizon=52, discount_rate=0.10)
    >>> round(float(clv.sum()), -3)
    72000.0
    """
    if not isinstance(transaction_model, FrequencyModel):
        raise InvalidDataError(
            "transaction_model must be a purchase-frequency model (BetaGeoModel, "
            f"ModifiedBetaGeoModel or ParetoNBDModel), got {type(transaction_model).__name__}"
        )
    if not isinstance(spend_model, SpendModel):
        raise InvalidDataError(
            "spend_model must be a spend model with expected_spend(data), such as "
            f"GammaGammaModel; got {type(spend_model).__name__}"
            + (
                " (a purchase-frequency model: pass it as transaction_model)"
                if isinstance(spend_model, FrequencyModel)
                else ""
            )
        )
    h = check_scalar(horizon, "horizon", low=0.0, low_inclusive=False)
    rate = check_scalar(discount_rate, "discount_rate", low=0.0)
    m = check_scalar(margin, "margin", low=0.0, low_inclusive=False)
    spu = check_scalar(steps_per_unit, "steps_per_unit", low=0.0, low_inclusive=False)
    transaction_model.params_  # noqa: B018 - raises NotFittedError first
    period = _period_length(discount_period, transaction_model.time_unit_)
    n_float = h * spu
    if n_float > MAX_STEPS:
        raise InvalidDataError(
            f"horizon * steps_per_unit = {h:g} * {spu:g} = {n_float:.6g} cash-flow steps; at "
            f"most {MAX_STEPS:,} are evaluated. Use fewer steps per unit (steps_per_unit="
            f"{1 / 4.345 if spu >= 1 else spu / 10:.4g} for monthly cash flows of a weekly "
            "model) or a shorter horizon; for an unbounded horizon use the model's "
            "expected_discounted_transactions (DERT)"
        )
    n_steps = round(n_float)
    if n_steps < 1 or abs(n_float - n_steps) > 1e-9 * max(1.0, n_float):
        raise InvalidDataError(
            f"horizon * steps_per_unit must be a whole number of steps >= 1; got "
            f"{h:g} * {spu:g} = {n_float:.6g}"
        )
    if is_engine(data):
        return _clv_engine(
            transaction_model,
            spend_model,
            data,
            customer_id_col=customer_id_col,
            horizon=h,
            discount_rate=rate,
            discount_period=discount_period,
            margin=m,
            steps_per_unit=spu,
        )
    _check_data_unit(data, transaction_model.time_unit_)
    arrays, index = transaction_model._prepare(data)
    spend = spend_model.expected_spend(data).to_numpy(dtype=np.float64)
    x, tx, T = arrays["frequency"], arrays["recency"], arrays["T"]
    params = transaction_model._row_params(arrays)
    # E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) * E[Y(t) | alive at T, x, T]: the second
    # factor does not depend on t_x, so it is evaluated once per distinct (x, T) pair and
    # the cheap P(alive) once per customer; with covariates every customer has own
    # parameters and nothing is shared.
    if params.ndim == 2:
        codes, ux, uT = np.arange(x.size), x, T
    else:
        codes, (ux, uT) = distinct_pairs(x, T)
    times = np.arange(1, n_steps + 1, dtype=np.float64) / spu
    discount = np.power(1.0 + rate, -times / period)
    per_alive = np.zeros(ux.size)
    previous = np.zeros(ux.size)
    # The (pair, step) grid in blocks of steps, each block one vectorised call: the cost is
    # linear in the number of steps and memory stays bounded.
    # The blocks share the model's interpolants of E[Y(t) | alive] (BG/NBD, MBG/NBD): the
    # first block fits them over a range that covers the later ones.
    block = max(1, _GRID_VALUES // max(ux.size, 1))
    with transaction_model._shared_interpolants():
        for start in range(0, n_steps, block):
            t_block = times[start : start + block]
            k = t_block.size
            block_params = np.repeat(params, k, axis=1) if params.ndim == 2 else params
            grid = transaction_model._expected_alive(
                block_params, np.tile(t_block, ux.size), np.repeat(ux, k), np.repeat(uT, k)
            ).reshape(ux.size, k)
            steps = np.diff(grid, axis=1, prepend=previous[:, None])
            per_alive += steps @ discount[start : start + k]
            previous = grid[:, -1]
    alive = transaction_model._p_alive(params, x, tx, T)
    values: FloatArray = m * spend * alive * per_alive[codes]
    return pd.Series(values, index=index, name="clv")


def _clv_engine(
    transaction_model: FrequencyModel,
    spend_model: SpendModel,
    data: Any,
    *,
    customer_id_col: str,
    **options: Any,
) -> Any:
    """``customer_lifetime_value`` partition by partition; only parameters are shipped."""
    getattr(spend_model, "params_", None)  # a clv model raises NotFittedError here, on the driver
    tm, sm = shippable(transaction_model), shippable(spend_model)
    columns = list(
        dict.fromkeys([*transaction_model.data_columns, *getattr(spend_model, "data_columns", ())])
    )

    def value(part: pd.DataFrame) -> pd.Series:
        result: pd.Series = customer_lifetime_value(tm, sm, part, **options)
        return result

    return score(
        data, value, customer_id_col=customer_id_col, columns=columns, results={"clv": "float64"}
    )
