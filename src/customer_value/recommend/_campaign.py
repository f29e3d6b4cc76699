"""Campaign plans: stage, segment, playbook action, items or offer, ranked, then capped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from customer_value._time import parse_timestamp
from customer_value._validation import (
    as_frame,
    check_scalar,
    numeric_column,
    plain,
    require_columns,
)
from customer_value.churn import ContactPlan, cap_contacts, playbook
from customer_value.errors import InvalidDataError
from customer_value.recommend._popularity import check_n

__all__ = ["OFFERS", "PLAN_COLUMNS", "campaign_plan"]

#: Offer types of a campaign plan: English id -> Chinese label.
OFFERS = {
    "comeback_coupon": "回归优惠券",
    "time_limited_discount": "限时折扣",
    "product_recommendation": "商品推荐",
    "loyalty_reward": "会员权益",
}

#: Columns of the plan a CRM system imports, in order.
PLAN_COLUMNS = (
    "customer_id",
    "channel",
    "date",
    "action",
    "action_zh",
    "offer",
    "offer_zh",
    "items",
    "reason",
    "reason_zh",
    "stage",
    "segment",
    "expected_value",
    "priority_rank",
)

_STAGES = ("acquire", "nurture", "retain", "win_back", "lost")


def _offer(stage: str, sensitive: bool, has_items: bool) -> str:
    if stage in ("win_back", "lost"):
        return "comeback_coupon"
    if sensitive:
        return "time_limited_discount"
    if has_items:
        return "product_recommendation"
    return "loyalty_reward"


def campaign_plan(
    customers: Any,
    *,
    date: Any,
    recommendations: pd.DataFrame | None = None,
    n_items: int = 3,
    channel: Any = "email",
    stage_col: str = "stage",
    segment_col: str | None = None,
    value_col: str = "expected_value",
    price_col: str | None = None,
    price_sensitive_above: float = 0.3,
    skip_stages: Iterable[str] = (),
    existing_contacts: Any = None,
    max_per_period: int = 2,
    period: str = "M",
    exempt_periods: Iterable[Any] = (),
) -> ContactPlan:
    """Turn stages, segments, values and recommendations into a capped contact plan.

    Parameters
    ----------
    customers : DataFrame or mapping of column name to array
        One row per customer, indexed by customer id (or with a ``customer_id``
        column): the lifecycle ``stage`` (from
        :func:`customer_value.churn.lifecycle_stage`), the expected value used for
        ranking (CLV or value at risk), optionally a value segment
        (``high_value``/``potential``/``churn_risk`` or any label) and a price
        sensitivity (``discount_share`` from
        :func:`customer_value.segmentation.behavioural_features`).
    date : date-like
        Send date of the campaign.
    recommendations : DataFrame, optional
        From ``ItemItemRecommender.recommend`` (``customer_id``, ``rank``, ``item``);
        the first ``n_items`` become the ``items`` column.
    n_items : int, default 3
        Items per contact.
    channel : str or Series, default "email"
        One channel for everybody, or a Series of each customer's preferred channel.
    stage_col, segment_col, value_col, price_col : str
        Columns of ``customers``.
    price_sensitive_above : float, default 0.3
        A customer whose ``price_col`` value is at least this is price-sensitive and
        gets a time-limited discount instead of a full-price recommendation.
    skip_stages : iterable of str, default ()
        Stages not contacted at all (for example ``["lost"]``).
    existing_contacts : DataFrame, optional
        Contacts already planned (``customer_id``, ``timestamp``); they count towards
        the cap, outrank this campaign and are not repeated in the output.
    max_per_period, period, exempt_periods
        Passed to :func:`customer_value.churn.cap_contacts`.

    Returns
    -------
    ContactPlan
        ``kept``: the plan to import, columns :data:`PLAN_COLUMNS` (plus ``timestamp``
        for the cap), highest expected value first; ``dropped``: contacts over the cap
        with the reason; ``report``: per period counts.

    Raises
    ------
    InvalidDataError
        Missing columns, unknown stages, non-numeric or negative values, options out of
        range, duplicate customers.

    Notes
    -----
    Per customer, in order: the playbook entry of the value segment when it has one
    (:func:`customer_value.churn.playbook`), else of the lifecycle stage, gives the
    action (its first recommended action, English and Chinese). The offer is a
    come-back coupon for ``win_back``/``lost``, else a time-limited discount for
    price-sensitive customers, else the recommended items, else a loyalty reward
    (:data:`OFFERS`). Contacts are ranked by expected value and passed, together with
    ``existing_contacts``, through :func:`~customer_value.churn.cap_contacts` with the
    expected value as priority, so the cap removes the least valuable contacts first.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.recommend import campaign_plan
    >>> customers = pd.DataFrame({"stage": ["retain", "win_back", "nurture"],
    ...                           "expected_value": [120.0, 80.0, 30.0],
    ...                           "discount_share": [0.1, 0.0, 0.6]},
    ...                          index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> recs = pd.DataFrame({"customer_id": ["a", "a", "c"], "rank": [1, 2, 1],
    ...                      "item": ["tea", "cups", "jam"]})
    >>> plan = campaign_plan(customers, date="2025-03-01", recommendations=recs,
    ...                      price_col="discount_share")
    >>> plan.kept[["customer_id", "offer", "offer_zh", "items"]]
      customer_id                  offer offer_zh     items
    0           a  product_recommendation     商品推荐  tea|cups
    1           b         comeback_coupon    回归优惠券
    2           c  time_limited_discount     限时折扣       jam
    """
    frame = as_frame(customers, what="customers").copy()
    if "customer_id" in frame.columns:
        frame = frame.set_index("customer_id")
    frame.index = frame.index.rename("customer_id")
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise InvalidDataError(f"customers: customer {plain(dup)!r} appears more than once")
    needed = [stage_col, value_col] + [c for c in (segment_col, price_col) if c is not None]
    require_columns(frame, needed, what="customers")
    stage = frame[stage_col].astype(object).to_numpy()
    bad = ~np.isin(stage, _STAGES)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidDataError(
            f"customers: column {stage_col!r} must be one of {', '.join(_STAGES)}; "
            f"row {first} (customer {plain(frame.index[first])!r}) has {stage[first]!r}"
        )
    value = numeric_column(frame, value_col, what="customers")
    when = parse_timestamp(date, "date")
    size = check_n(n_items, "n_items")
    threshold = check_scalar(price_sensitive_above, "price_sensitive_above", low=0.0)
    skip = set(skip_stages)
    unknown = skip - set(_STAGES)
    if unknown:
        raise InvalidDataError(f"skip_stages has unknown stage(s): {sorted(unknown)}")

    sensitive = np.zeros(len(frame), dtype=bool)
    if price_col is not None:
        share = numeric_column(frame, price_col, allow_nan=True, what="customers")
        sensitive = np.nan_to_num(share, nan=0.0) >= threshold
    segment = (
        frame[segment_col].astype(object).to_numpy()
        if segment_col is not None
        else np.full(len(frame), None, dtype=object)
    )
    items = pd.Series("", index=frame.index, dtype=object)
    if recommendations is not None:
        require_columns(recommendations, ["customer_id", "rank", "item"], what="recommendations")
        top = recommendations.loc[recommendations["rank"] <= size]
        top = top.sort_values(["customer_id", "rank"], kind="stable")
        joined = top.groupby("customer_id", sort=False)["item"].agg(lambda s: "|".join(map(str, s)))
        items = joined.reindex(frame.index).fillna("").astype(object)
    book = playbook()
    stage_names = {s: book[s]["name"] for s in _STAGES}
    rows = []
    for k, cid in enumerate(frame.index):
        st = stage[k]
        if st in skip:
            continue
        seg = segment[k]
        entry = book[seg] if seg in book and book[seg]["kind"] == "segment" else book[st]
        action = entry["actions"][0]
        has_items = bool(items.iloc[k])
        offer = _offer(st, bool(sensitive[k]), has_items)
        reason = [f"stage: {stage_names[st]['en']}"]
        reason_zh = [f"阶段：{stage_names[st]['zh']}"]
        if seg is not None and not pd.isna(seg):
            label = book[seg]["name"] if seg in book else {"en": str(seg), "zh": str(seg)}
            reason.append(f"segment: {label['en']}")
            reason_zh.append(f"分群：{label['zh']}")
        if sensitive[k]:
            reason.append("price-sensitive")
            reason_zh.append("价格敏感")
        if offer == "product_recommendation" or (offer == "time_limited_discount" and has_items):
            reason.append("items from past purchases")
            reason_zh.append("基于历史购买推荐")
        rows.append(
            {
                "customer_id": cid,
                "action": action["en"],
                "action_zh": action["zh"],
                "offer": offer,
                "offer_zh": OFFERS[offer],
                "items": items.iloc[k] if offer != "comeback_coupon" else "",
                "reason": "; ".join(reason),
                "reason_zh": "；".join(reason_zh),
                "stage": st,
                "segment": seg,
                "expected_value": value[k],
            }
        )
    plan = pd.DataFrame(
        rows, columns=[c for c in PLAN_COLUMNS if c not in ("channel", "date", "priority_rank")]
    )
    if isinstance(channel, pd.Series):
        plan["channel"] = channel.reindex(plan["customer_id"]).to_numpy()
        if plan["channel"].isna().any():
            first = int(np.flatnonzero(plan["channel"].isna().to_numpy())[0])
            raise InvalidDataError(
                f"channel: no channel for customer {plain(plan['customer_id'].iloc[first])!r}"
            )
    else:
        plan["channel"] = str(channel)
    plan["date"] = when
    plan = plan.sort_values(
        ["expected_value", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    plan["priority_rank"] = np.arange(1, len(plan) + 1)
    plan = plan[list(PLAN_COLUMNS)]
    plan["timestamp"] = plan["date"]
    plan["_campaign"] = True

    combined = plan
    if existing_contacts is not None:
        other = as_frame(existing_contacts, what="existing_contacts")
        require_columns(other, ["customer_id", "timestamp"], what="existing_contacts")
        other = other[["customer_id", "timestamp"]].copy()
        other["expected_value"] = (float(value.max()) if value.size else 0.0) + 1.0
        other["_campaign"] = False
        combined = pd.concat([plan, other], ignore_index=True)
    capped = cap_contacts(
        combined,
        max_per_period=max_per_period,
        period=period,
        exempt_periods=exempt_periods,
        priority_col="expected_value",
    )
    kept = capped.kept.loc[capped.kept["_campaign"].astype(bool)].drop(columns="_campaign")
    dropped = capped.dropped.loc[capped.dropped["_campaign"].astype(bool)].drop(columns="_campaign")
    return ContactPlan(
        kept=kept.reset_index(drop=True),
        dropped=dropped.reset_index(drop=True),
        report=capped.report,
        max_per_period=capped.max_per_period,
    )
