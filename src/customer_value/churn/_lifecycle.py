"""Lifecycle stages (acquire, nurture, retain, win back, lost) and a bilingual playbook."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from customer_value._engine import is_engine, score, shippable
from customer_value._validation import (
    as_frame,
    check_in_range,
    check_scalar,
)
from customer_value.churn._risk import (
    AliveModel,
    _model_series,
    _ordered,
    _recency_risk,
    population_gap_of,
)
from customer_value.errors import InvalidDataError

__all__ = ["STAGES", "lifecycle_stage", "playbook"]

#: Lifecycle stages in order, with their Chinese names.
STAGES: dict[str, str] = {
    "acquire": "获取",
    "nurture": "培养",
    "retain": "保留",
    "win_back": "召回",
    "lost": "流失",
}


def lifecycle_stage(
    summary: Any,
    *,
    model: AliveModel | None = None,
    new_within: float | None = None,
    repeat_threshold: int = 1,
    late_factor: float = 2.0,
    lost_factor: float = 4.0,
    win_back_below: float = 0.5,
    lost_below: float = 0.1,
    customer_id_col: str = "customer_id",
) -> Any:
    """Assign each customer a lifecycle stage: acquire, nurture, retain, win back or lost.

    Parameters
    ----------
    summary : DataFrame, mapping or engine frame
        Customer summary with ``frequency`` (repeat purchases), ``recency`` and ``T``
        (as from :func:`customer_value.data.summarize_transactions`). A Polars (eager or
        lazy), DuckDB, Spark or Dask frame is staged partition by partition; the
        population gap is aggregated in the engine first (one number to the driver).
    model : fitted customer-base model, optional
        With a model (anything with ``probability_alive``), lapse is judged on
        ``P(alive)``; without one, on the recency rule of :func:`recency_risk`.
    new_within : float, optional
        A customer whose first purchase is at most this long ago (``T <= new_within``, in
        the summary's time unit) is new. Defaults to the population's typical gap between
        purchases (``sum(recency) / sum(frequency)`` over repeat buyers).
    repeat_threshold : int, default 1
        Repeat purchases (``frequency``) that make an active customer a repeat customer
        (``retain``); below it the customer is still developing (``nurture``).
    late_factor, lost_factor : float, default 2.0 and 4.0
        Recency rule (no model): ``win_back`` when the time since the last purchase
        exceeds ``late_factor`` typical gaps, ``lost`` beyond ``lost_factor`` gaps.
    win_back_below, lost_below : float, default 0.5 and 0.1
        Model rule: ``win_back`` when ``P(alive) < win_back_below``, ``lost`` when
        ``P(alive) < lost_below``.
    customer_id_col : str, default "customer_id"
        Engine frames only: the id column carried into the result.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``stage`` (ordered categorical acquire < nurture <
        retain < win_back < lost), ``stage_zh`` (获取 / 培养 / 保留 / 召回 / 流失),
        ``lateness`` (from :func:`recency_risk`) and, with a model, ``p_alive``.
        ``attrs`` records the thresholds used. An engine frame gives a frame of the
        same kind with ``customer_id_col`` first and the stages as strings.

    Raises
    ------
    InvalidDataError
        Bad summary (see :func:`recency_risk`), thresholds out of range or out of order
        (``lost_factor < late_factor``, ``lost_below > win_back_below``).
    NotFittedError
        When ``model`` is not fitted.

    Notes
    -----
    The rules are applied in order, the first that matches wins:

    1. ``acquire`` 获取: ``T <= new_within``.
    2. ``lost`` 流失: ``P(alive) < lost_below`` (model), or
       ``(T - recency) / gap > lost_factor`` (recency rule).
    3. ``win_back`` 召回: ``P(alive) < win_back_below``, or ``lateness > late_factor``.
    4. ``retain`` 保留: ``frequency >= repeat_threshold``.
    5. ``nurture`` 培养: everybody else (active, not yet a repeat customer).

    Use a model whose ``P(alive)`` can fall for one-time buyers (Pareto/NBD,
    MBG/NBD). BG/NBD gives every customer with ``frequency == 0`` ``P(alive) = 1``, so
    with it no one-time buyer is ever ``win_back`` or ``lost``.

    This is the customer lifecycle of Reinartz, Thomas & Kumar (2005): acquisition,
    retention (with development of the relationship) and win-back of lapsed customers.

    References
    ----------
    Reinartz, W., Thomas, J. S. & Kumar, V. (2005). Balancing acquisition and retention
    resources to maximize customer profitability. *Journal of Marketing* 69(1), 63-79.

    Examples
    --------
    >>> from customer_value.churn import lifecycle_stage
    >>> summary = {"frequency": [0, 0, 3, 1, 2], "recency": [0.0, 0.0, 30.0, 10.0, 4.0],
    ...            "T": [2.0, 12.0, 33.0, 40.0, 38.0]}
    >>> stages = lifecycle_stage(summary, new_within=4)
    >>> stages["stage"].tolist()
    ['acquire', 'nurture', 'retain', 'win_back', 'lost']
    >>> stages["stage_zh"].tolist()
    ['获取', '培养', '保留', '召回', '流失']
    """
    options: dict[str, Any] = {
        "model": model,
        "new_within": new_within,
        "repeat_threshold": repeat_threshold,
        "late_factor": late_factor,
        "lost_factor": lost_factor,
        "win_back_below": win_back_below,
        "lost_below": lost_below,
    }
    if is_engine(summary):
        return _lifecycle_engine(summary, options, customer_id_col)
    return _lifecycle_stage(summary, **options)


def _lifecycle_engine(summary: Any, options: dict[str, Any], customer_id_col: str) -> Any:
    """:func:`lifecycle_stage` partition by partition, with the population gap fixed first."""
    model = options["model"]
    getattr(model, "params_", None)  # a clv model raises NotFittedError here, on the driver
    gap = population_gap_of(summary)
    options = {**options, "model": shippable(model), "population_gap": gap}
    if options["new_within"] is None:
        options["new_within"] = gap
    results: dict[str, Any] = {"stage": "string", "stage_zh": "string", "lateness": "float64"}
    if model is not None:
        results["p_alive"] = "float64"
    columns = list(getattr(model, "data_columns", ()))
    columns += [c for c in ("frequency", "recency", "T") if c not in columns]

    def stage(part: pd.DataFrame) -> pd.DataFrame:
        return _lifecycle_stage(part, **options)

    return score(summary, stage, customer_id_col=customer_id_col, columns=columns, results=results)


def _lifecycle_stage(
    summary: Any,
    *,
    model: AliveModel | None,
    new_within: float | None,
    repeat_threshold: int,
    late_factor: float,
    lost_factor: float,
    win_back_below: float,
    lost_below: float,
    population_gap: float | None = None,
) -> pd.DataFrame:
    frame = as_frame(summary, what="summary")
    rule = _recency_risk(frame, factor=1.0, population_gap=population_gap)
    late = check_scalar(late_factor, "late_factor", low=0.0, low_inclusive=False)
    very_late = check_scalar(lost_factor, "lost_factor", low=0.0, low_inclusive=False)
    if very_late < late:
        raise InvalidDataError(
            f"lost_factor ({lost_factor!r}) must not be below late_factor ({late_factor!r})"
        )
    repeat = check_scalar(repeat_threshold, "repeat_threshold", low=0.0)
    x = frame["frequency"].to_numpy(dtype=np.float64)
    T = frame["T"].to_numpy(dtype=np.float64)
    tx = frame["recency"].to_numpy(dtype=np.float64)
    if new_within is None:
        own = (x > 0) & (tx > 0)
        window = float(tx[own].sum() / x[own].sum())
    else:
        window = check_scalar(new_within, "new_within", low=0.0)
    lateness = rule["lateness"].to_numpy()
    out: dict[str, Any] = {}
    attrs: dict[str, Any] = {"new_within": window, "repeat_threshold": repeat}
    if model is None:
        is_lost = lateness > very_late
        is_lapsed = lateness > late
        attrs.update({"late_factor": late, "lost_factor": very_late})
    else:
        upper = check_scalar(win_back_below, "win_back_below", low=0.0, high=1.0)
        lower = check_scalar(lost_below, "lost_below", low=0.0, high=1.0)
        if lower > upper:
            raise InvalidDataError(
                f"lost_below ({lost_below!r}) must not exceed win_back_below ({win_back_below!r})"
            )
        if not isinstance(model, AliveModel):
            raise InvalidDataError(
                f"model must have probability_alive(data), got {type(model).__name__}"
            )
        p = _model_series(model.probability_alive(frame), "p_alive", frame.index).to_numpy()
        check_in_range(p, "p_alive", 0.0, 1.0, index=frame.index, what="model")
        is_lost = p < lower
        is_lapsed = p < upper
        out["p_alive"] = p
        attrs.update({"win_back_below": upper, "lost_below": lower})
    codes = np.select(
        [window >= T, is_lost, is_lapsed, x >= repeat],
        [0, 4, 3, 2],
        default=1,
    )
    names = list(STAGES)
    result = pd.DataFrame(
        {
            "stage": _ordered(codes, names),
            "stage_zh": _ordered(codes, [STAGES[k] for k in names]),
            "lateness": lateness,
            **out,
        },
        index=frame.index,
    )
    result.attrs.update(attrs)
    return result


_PLAYBOOK: dict[str, dict[str, Any]] = {
    "acquire": {
        "kind": "stage",
        "name": {"en": "New customers", "zh": "新客户"},
        "goal": {"en": "Turn the first purchase into a second one", "zh": "促成第二次购买"},
        "actions": [
            {"en": "Welcome message and onboarding guide", "zh": "欢迎信息与新手指南"},
            {"en": "Second-purchase incentive", "zh": "二次购买激励"},
            {"en": "Invite to join the membership programme", "zh": "邀请加入会员计划"},
        ],
    },
    "nurture": {
        "kind": "stage",
        "name": {"en": "Developing customers", "zh": "成长期客户"},
        "goal": {"en": "Build the buying habit", "zh": "培养购买习惯"},
        "actions": [
            {"en": "Personalised recommendations", "zh": "个性化推荐"},
            {"en": "Cross-sell related categories", "zh": "关联品类交叉销售"},
            {"en": "Points and tier progress reminders", "zh": "积分与等级进度提醒"},
        ],
    },
    "retain": {
        "kind": "stage",
        "name": {"en": "Active repeat customers", "zh": "活跃复购客户"},
        "goal": {"en": "Keep them and grow their value", "zh": "维系并提升价值"},
        "actions": [
            {"en": "Loyalty rewards and member-only benefits", "zh": "忠诚度奖励与会员专属权益"},
            {"en": "Early access to new products", "zh": "新品抢先体验"},
            {"en": "Ask for reviews and referrals", "zh": "邀请评价与推荐"},
        ],
    },
    "win_back": {
        "kind": "stage",
        "name": {"en": "Lapsing customers", "zh": "沉睡客户"},
        "goal": {"en": "Bring them back before they are lost", "zh": "在流失前召回"},
        "actions": [
            {"en": "Come-back coupon", "zh": "回归优惠券"},
            {"en": "Survey on why they stopped buying", "zh": "调研停止购买的原因"},
            {"en": "Reminder of points about to expire", "zh": "积分即将过期提醒"},
        ],
    },
    "lost": {
        "kind": "stage",
        "name": {"en": "Lost customers", "zh": "流失客户"},
        "goal": {"en": "Low-cost reactivation only", "zh": "仅做低成本激活"},
        "actions": [
            {"en": "Occasional low-cost reactivation campaign", "zh": "偶尔的低成本激活活动"},
            {"en": "Stop costly contacts", "zh": "停止高成本触达"},
            {"en": "Learn from exit reasons", "zh": "分析流失原因"},
        ],
    },
    "high_value": {
        "kind": "segment",
        "name": {"en": "High-value customers", "zh": "高价值客户"},
        "goal": {"en": "Protect and deepen the relationship", "zh": "保护并深化关系"},
        "actions": [
            {"en": "Dedicated account manager", "zh": "专属客户经理"},
            {"en": "Tailored offers", "zh": "定制化优惠"},
            {"en": "Priority service", "zh": "优先服务"},
        ],
    },
    "potential": {
        "kind": "segment",
        "name": {"en": "Potential customers", "zh": "潜力客户"},
        "goal": {"en": "Grow them into high-value customers", "zh": "培养成高价值客户"},
        "actions": [
            {"en": "Welcome pack", "zh": "新人礼包"},
            {"en": "Product trials", "zh": "产品试用"},
            {"en": "Member growth plan", "zh": "会员成长计划"},
        ],
    },
    "churn_risk": {
        "kind": "segment",
        "name": {"en": "Customers at risk of churning", "zh": "流失风险客户"},
        "goal": {"en": "Find out what went wrong and fix it", "zh": "找出问题并解决"},
        "actions": [
            {"en": "Come-back coupon", "zh": "回归优惠券"},
            {"en": "Follow-up on open issues", "zh": "问题跟进"},
            {"en": "Personal care call", "zh": "专人关怀"},
        ],
    },
}


def playbook(stage_or_segment: str | None = None) -> dict[str, Any]:
    """Default recommended actions per lifecycle stage and value segment, in English and Chinese.

    Parameters
    ----------
    stage_or_segment : str, optional
        A stage (``"acquire"``, ``"nurture"``, ``"retain"``, ``"win_back"``, ``"lost"``)
        or a value segment (``"high_value"``, ``"potential"``, ``"churn_risk"``). None
        returns every entry, keyed by name.

    Returns
    -------
    dict
        A fresh copy that can be edited freely: ``kind`` ("stage" or "segment"),
        ``name``, ``goal`` (each ``{"en": ..., "zh": ...}``) and ``actions`` (a list of
        ``{"en": ..., "zh": ...}``). With no argument, a dict of such entries. Plain
        JSON-serialisable data, so a team can keep its own version in a file.

    Raises
    ------
    InvalidDataError
        An unknown stage or segment name (the message lists the known ones).

    Notes
    -----
    The defaults are starting points drawn from common CRM practice for each stage of
    the lifecycle (Reinartz, Thomas & Kumar 2005) and for value tiers (Zeithaml, Rust &
    Lemon 2001, the "customer pyramid"); nothing is computed.

    References
    ----------
    Zeithaml, V. A., Rust, R. T. & Lemon, K. N. (2001). The customer pyramid: Creating
    and serving profitable customers. *California Management Review* 43(4), 118-142.

    Examples
    --------
    >>> from customer_value.churn import playbook
    >>> entry = playbook("high_value")
    >>> [a["en"] for a in entry["actions"]]
    ['Dedicated account manager', 'Tailored offers', 'Priority service']
    >>> [a["zh"] for a in entry["actions"]]
    ['专属客户经理', '定制化优惠', '优先服务']
    >>> entry["actions"].append({"en": "Birthday gift", "zh": "生日礼物"})  # edit the copy
    >>> len(playbook("high_value")["actions"])  # the defaults are unchanged
    3
    """
    if stage_or_segment is None:
        return copy.deepcopy(_PLAYBOOK)
    if stage_or_segment not in _PLAYBOOK:
        raise InvalidDataError(
            f"unknown stage or segment {stage_or_segment!r}; known: "
            + ", ".join(repr(k) for k in _PLAYBOOK)
        )
    return copy.deepcopy(_PLAYBOOK[stage_or_segment])
