"""Churn risk from a fitted customer-base model, value at risk, and the recency rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from customer_value._engine import is_engine, score, shippable, totals
from customer_value._validation import (
    FloatArray,
    as_frame,
    check_in_range,
    check_nonnegative,
    check_not_greater,
    check_scalar,
    numeric_array,
    numeric_column,
    require_columns,
)
from customer_value.clv import SpendModel
from customer_value.errors import InvalidDataError

__all__ = [
    "RISK_LABELS_ZH",
    "AliveModel",
    "SpendModel",
    "churn_risk",
    "recency_risk",
]

#: Chinese labels of the risk levels.
RISK_LABELS_ZH: dict[str, str] = {"low": "低风险", "medium": "中风险", "high": "高风险"}
_LEVELS = ("low", "medium", "high")


@runtime_checkable
class AliveModel(Protocol):
    """What :func:`churn_risk` needs from a customer-base model.

    ``customer_value.clv.BetaGeoModel``, ``ModifiedBetaGeoModel`` and ``ParetoNBDModel``
    fulfil it; any object with these two methods does.

    Examples
    --------
    >>> from customer_value.churn import AliveModel
    >>> from customer_value.clv import BetaGeoModel
    >>> isinstance(BetaGeoModel(), AliveModel)
    True
    """

    def probability_alive(self, data: Any = None) -> pd.Series:
        """``P(alive)`` per customer, indexed like ``data`` (training data when None)."""

    def expected_purchases(self, t: Any, data: Any = None) -> pd.Series:
        """Expected purchases in the next ``t`` time units per customer."""


def _time_unit_of(model: Any) -> str | None:
    """The model's time unit: ``time_unit_`` (clv models), else a ``time_unit`` attribute."""
    if hasattr(model, "time_unit_"):
        return model.time_unit_  # type: ignore[no-any-return]
    unit = getattr(model, "time_unit", None)
    return None if unit is None else str(unit)


def _check_levels(levels: Mapping[str, float]) -> tuple[float, float]:
    if not isinstance(levels, Mapping) or set(levels) != {"low", "medium"}:
        raise InvalidDataError(
            "levels must be a mapping with exactly the keys 'low' and 'medium' (upper bounds "
            f"of the churn probability for those levels), got {levels!r}"
        )
    low = check_scalar(levels["low"], "levels['low']", low=0.0, high=1.0)
    medium = check_scalar(levels["medium"], "levels['medium']", low=0.0, high=1.0)
    if low > medium:
        raise InvalidDataError(
            f"levels['low'] must not exceed levels['medium'], got low={low!r}, medium={medium!r}"
        )
    return low, medium


def _model_series(result: Any, name: str, index: pd.Index[Any] | None) -> pd.Series:
    """Check what a model returned: a Series of finite numbers, aligned to ``index``."""
    if not isinstance(result, pd.Series):
        result = pd.Series(np.asarray(result, dtype=np.float64).reshape(-1), index=index)
    if index is not None and not result.index.equals(index):
        if not result.index.is_unique:
            raise InvalidDataError(f"{name} returned duplicate customer ids")
        missing = index.difference(result.index)
        if len(missing):
            raise InvalidDataError(
                f"{name} has no value for customer {missing.tolist()[0]!r} "
                f"({len(missing)} customer(s) missing): pass data= covering the same "
                "customers to both models"
            )
        result = result.reindex(index)
    values = numeric_array(result.to_numpy(), name, index=result.index, what=name)
    return pd.Series(values, index=result.index, name=name)


def _risk_levels(churn: FloatArray, low: float, medium: float) -> tuple[Any, Any]:
    codes = np.where(churn < low, 0, np.where(churn < medium, 1, 2))
    return _ordered(codes, list(_LEVELS)), _ordered(codes, [RISK_LABELS_ZH[k] for k in _LEVELS])


def _ordered(codes: Any, categories: list[str]) -> Any:
    """Ordered categorical from integer codes."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), categories=pd.Index(categories), ordered=True
    )


def churn_risk(
    model: AliveModel,
    data: Any = None,
    *,
    spend_model: SpendModel | None = None,
    horizon: float | None = None,
    levels: Mapping[str, float] | None = None,
    customer_id_col: str = "customer_id",
) -> Any:
    """Churn probability, risk level and value at risk per customer.

    Parameters
    ----------
    model : fitted customer-base model
        Anything with ``probability_alive(data)`` and ``expected_purchases(t, data)``
        (:class:`AliveModel`), such as ``customer_value.clv.BetaGeoModel``.
    data : DataFrame, mapping or engine frame, optional
        The customers (``frequency``, ``recency``, ``T`` and whatever the spend model
        needs); defaults to the models' training data. A Polars (eager or lazy), DuckDB,
        Spark or Dask frame is scored partition by partition, with only the models'
        parameters shipped to the workers.
    spend_model : fitted spend model, optional
        Anything with ``expected_spend(data)`` (:class:`SpendModel`), such as
        ``customer_value.clv.GammaGammaModel``. Needs ``horizon``.
    horizon : float, optional
        Forecast horizon in the model's time unit (``model.time_unit_``). With it,
        ``expected_purchases`` is returned; with a spend model also the values.
    levels : mapping, default ``{"low": 0.3, "medium": 0.6}``
        Upper bounds (exclusive) of the churn probability for the levels ``low`` and
        ``medium``; anything at or above ``levels["medium"]`` is ``high``.
    customer_id_col : str, default "customer_id"
        Engine frames only: the id column carried into the result.

    Returns
    -------
    DataFrame
        Indexed like ``data``: ``p_alive``, ``churn_probability`` (= 1 - ``p_alive``),
        ``risk_level`` (ordered categorical low < medium < high), ``risk_level_zh``
        (低风险 / 中风险 / 高风险); with ``horizon``: ``expected_purchases``; with a spend
        model also ``expected_spend``, ``expected_value`` and ``value_at_risk``.
        ``attrs["time_unit"]`` and ``attrs["horizon"]`` record the units. An engine
        frame gives a frame of the same kind with ``customer_id_col`` first and the
        risk levels as strings.

    Raises
    ------
    NotFittedError
        When ``model`` or ``spend_model`` is not fitted.
    InvalidDataError
        Bad ``levels`` or ``horizon``, a spend model without a horizon, an object that
        is not a model, or model outputs that are not finite or not in [0, 1].

    Notes
    -----
    A customer who has churned makes no more purchases, so for the BTYD models
    ``E[Y(t)] = P(alive) E[Y(t) | alive]``. The value that is lost if the customer has
    churned, over the horizon ``t``, is therefore

    .. math::

        \\mathrm{VaR} = (1 - P(\\text{alive}))\\, E[Y(t) \\mid \\text{alive}]\\, E[M]
        = \\frac{1 - P(\\text{alive})}{P(\\text{alive})}\\, E[Y(t)]\\, E[M],

    with ``E[M]`` the expected spend per transaction (Fader, Hardie & Lee 2005b, eq. 5).
    ``expected_value = E[Y(t)] E[M]`` is the undiscounted value expected over the
    horizon. A customer whose ``P(alive)`` underflows to 0 also has ``E[Y(t)] = 0`` and
    gets a value at risk of 0: the model sees nothing left to recover.

    Prefer Pareto/NBD or MBG/NBD for churn risk. BG/NBD lets customers drop out only
    after a repeat purchase, so every one-time buyer gets ``P(alive) = 1`` and a churn
    probability of 0 (on the CDNOW holdout study its AUC is 0.316, worse than chance;
    see the user guide "Keeping customers").

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way: An alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284
    (conditional expectation, eq. 10).

    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) using the
    BG/NBD model. Technical note, brucehardie.com.

    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: Using iso-value
    curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.

    Examples
    --------
    >>> from customer_value.churn import churn_risk
    >>> from customer_value.clv import BetaGeoModel
    >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> customers = {"frequency": [0, 2, 2], "recency": [0.0, 30.43, 5.0],
    ...              "T": [38.86, 38.86, 38.86]}
    >>> risk = churn_risk(model, customers)
    >>> risk["churn_probability"].round(2).tolist()
    [0.0, 0.27, 0.88]
    >>> risk["risk_level"].tolist(), risk["risk_level_zh"].tolist()
    (['low', 'low', 'high'], ['低风险', '低风险', '高风险'])

    With a spend model, the value at risk over the next 52 weeks:

    >>> from customer_value.clv import GammaGammaModel
    >>> spend = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    >>> customers["monetary_value"] = [0.0, 20.0, 20.0]
    >>> risk = churn_risk(model, customers, spend_model=spend, horizon=52)
    >>> risk["value_at_risk"].round(1).tolist()
    [0.0, 13.3, 42.7]
    """
    if not isinstance(model, AliveModel):
        raise InvalidDataError(
            f"model must have probability_alive(data) and expected_purchases(t, data), got "
            f"{type(model).__name__}"
        )
    low, medium = _check_levels({"low": 0.3, "medium": 0.6} if levels is None else levels)
    if spend_model is not None and not isinstance(spend_model, SpendModel):
        raise InvalidDataError(
            f"spend_model must have expected_spend(data), got {type(spend_model).__name__}"
        )
    if spend_model is not None and horizon is None:
        raise InvalidDataError("value at risk needs a horizon: pass horizon= with spend_model")
    t = None if horizon is None else check_scalar(horizon, "horizon", low=0.0)
    if is_engine(data):
        return _churn_risk_engine(
            model, data, spend_model, t, {"low": low, "medium": medium}, customer_id_col
        )

    # A clv frequency model gives both in one pass (data validated and P(alive) computed
    # once); any other AliveModel through its two methods.
    both = getattr(model, "alive_and_expected_purchases", None) if t is not None else None
    if both is not None:
        frame = both(t, data)
        p_alive = _model_series(frame["p_alive"], "p_alive", None)
    else:
        p_alive = _model_series(model.probability_alive(data), "p_alive", None)
    index = p_alive.index
    p = p_alive.to_numpy()
    check_in_range(p, "p_alive", 0.0, 1.0, index=index, what="model.probability_alive")
    churn = 1.0 - p
    level, level_zh = _risk_levels(churn, low, medium)
    out: dict[str, Any] = {
        "p_alive": p,
        "churn_probability": churn,
        "risk_level": level,
        "risk_level_zh": level_zh,
    }
    if t is not None:
        expected = _model_series(
            frame["expected_purchases"] if both is not None else model.expected_purchases(t, data),
            "expected_purchases",
            index,
        )
        e = expected.to_numpy()
        check_nonnegative(e, "expected_purchases", index=index, what="model.expected_purchases")
        out["expected_purchases"] = e
        if spend_model is not None:
            spend = _model_series(spend_model.expected_spend(data), "expected_spend", index)
            m = spend.to_numpy()
            check_nonnegative(m, "expected_spend", index=index, what="spend_model.expected_spend")
            value = e * m
            # E[Y | alive] = E[Y] / P(alive); 0/0 where P(alive) underflowed (see Notes)
            per_alive = np.divide(value, p, out=np.zeros_like(value), where=p > 0)
            out["expected_spend"] = m
            out["expected_value"] = value
            out["value_at_risk"] = churn * per_alive
    result = pd.DataFrame(out, index=index, copy=False)  # fresh arrays: no copy needed
    result.attrs["time_unit"] = _time_unit_of(model)
    result.attrs["horizon"] = t
    return result


def recency_risk(
    summary: Any,
    *,
    factor: float = 2.0,
) -> pd.DataFrame:
    """Rule-based churn risk: is the time since the last purchase unusually long?

    Parameters
    ----------
    summary : DataFrame or mapping
        Customer summary with ``frequency`` (repeat purchases), ``recency`` and ``T``
        (as from :func:`customer_value.data.summarize_transactions`).
    factor : float, default 2.0
        A customer is *late* when the time since the last purchase exceeds ``factor``
        times their typical gap between purchases.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``time_since_last`` (``T - recency``), ``typical_gap``,
        ``gap_source`` (``"own"`` or ``"population"``), ``lateness``
        (``time_since_last / typical_gap``), ``late`` (bool) and ``risk_score`` in [0, 1]
        (above 0.5 exactly when late), usable wherever a churn score is expected.

    Raises
    ------
    InvalidDataError
        Missing columns, negative or non-finite values, ``recency > T``, a factor that is
        not > 0, or no repeat buyer at all (the population gap is then undefined).

    Notes
    -----
    A repeat buyer's typical gap is ``recency / frequency`` (mean time between their
    purchases). One-time buyers have no gap of their own and get the population gap
    ``sum(recency) / sum(frequency)`` over repeat buyers. With
    ``lateness = (T - recency) / gap`` the score is

    .. math:: \\text{risk\\_score} = \\frac{\\text{lateness}}{\\text{lateness} + \\text{factor}},

    a monotone map to [0, 1] that crosses 0.5 where the rule flags the customer.
    This is the "hiatus" heuristic that Wübben & von Wangenheim (2008) found hard to
    beat by the stochastic models for managerial classification.

    References
    ----------
    Wübben, M. & von Wangenheim, F. (2008). Instant customer base analysis: Managerial
    heuristics often "get it right". *Journal of Marketing* 72(3), 82-93.

    Examples
    --------
    >>> from customer_value.churn import recency_risk
    >>> summary = {"frequency": [4, 0, 1], "recency": [20.0, 0.0, 10.0],
    ...            "T": [30.0, 8.0, 40.0]}
    >>> out = recency_risk(summary)
    >>> out["typical_gap"].tolist(), out["late"].tolist()
    ([5.0, 6.0, 10.0], [False, False, True])
    >>> out["risk_score"].round(2).tolist()
    [0.5, 0.4, 0.6]
    """
    return _recency_risk(summary, factor=factor)


def population_gap_of(data: Any) -> float:
    """``sum(recency) / sum(frequency)`` over repeat buyers, aggregated inside the engine."""
    import narwhals as nw

    own = (nw.col("frequency") > 0) & (nw.col("recency") > 0)
    sums = totals(
        data,
        {
            "recency": nw.when(own).then(nw.col("recency")).otherwise(0.0).sum(),
            "frequency": nw.when(own).then(nw.col("frequency")).otherwise(0.0).sum(),
        },
    )
    x, tx = float(sums["frequency"] or 0.0), float(sums["recency"] or 0.0)
    return tx / x if x > 0 else 0.0


def _recency_risk(
    summary: Any, *, factor: float, population_gap: float | None = None
) -> pd.DataFrame:
    """:func:`recency_risk`, with the population gap given (engine partitions) or computed."""
    what = "summary"
    frame = as_frame(summary, what=what)
    require_columns(frame, ("frequency", "recency", "T"), what=what)
    k = check_scalar(factor, "factor", low=0.0, low_inclusive=False)
    x = numeric_column(frame, "frequency", what=what)
    tx = numeric_column(frame, "recency", what=what)
    T = numeric_column(frame, "T", what=what)
    for name, arr in (("frequency", x), ("recency", tx), ("T", T)):
        check_nonnegative(arr, name, index=frame.index, what=what)
    check_not_greater(tx, T, "recency", "T", index=frame.index, what=what)
    with np.errstate(divide="ignore", invalid="ignore"):
        own_gap = np.where(x > 0, tx / np.where(x > 0, x, 1.0), 0.0)
    own = own_gap > 0  # a gap that underflows to 0 counts as no gap of one's own
    if population_gap is None:
        population_gap = float(tx[own].sum() / x[own].sum()) if own.any() else 0.0
    if population_gap <= 0:
        raise InvalidDataError(
            f"{what}: no customer has a repeat purchase (frequency > 0 with recency > 0), so "
            "the population gap between purchases is undefined"
        )
    gap = np.where(own, own_gap, population_gap)
    since = T - tx
    # a denormal own gap would overflow: cap at the largest float (valid input stays finite)
    with np.errstate(over="ignore"):
        lateness = np.minimum(since / gap, np.finfo(np.float64).max)
    return pd.DataFrame(
        {
            "time_since_last": since,
            "typical_gap": gap,
            "gap_source": np.where(own, "own", "population"),
            "lateness": lateness,
            "late": lateness > k,
            "risk_score": np.divide(
                since, since + k * gap, out=np.zeros_like(since), where=since > 0
            ),
        },
        index=frame.index,
    )


def _churn_risk_engine(
    model: AliveModel,
    data: Any,
    spend_model: SpendModel | None,
    t: float | None,
    levels: dict[str, float],
    customer_id_col: str,
) -> Any:
    """:func:`churn_risk` partition by partition; only the models' parameters travel."""
    for m in (model, spend_model):
        getattr(m, "params_", None)  # a clv model raises NotFittedError here, on the driver
    alive, spend = shippable(model), shippable(spend_model)
    columns = list(getattr(model, "data_columns", ("frequency", "recency", "T")))
    results: dict[str, Any] = {
        "p_alive": "float64",
        "churn_probability": "float64",
        "risk_level": "string",
        "risk_level_zh": "string",
    }
    if t is not None:
        results["expected_purchases"] = "float64"
    if spend_model is not None:
        columns += [c for c in getattr(spend_model, "data_columns", ()) if c not in columns]
        results.update(
            {"expected_spend": "float64", "expected_value": "float64", "value_at_risk": "float64"}
        )

    def risk(part: pd.DataFrame) -> pd.DataFrame:
        return churn_risk(alive, part, spend_model=spend, horizon=t, levels=levels)  # type: ignore[no-any-return]

    return score(data, risk, customer_id_col=customer_id_col, columns=columns, results=results)
