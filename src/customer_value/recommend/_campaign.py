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


def _joined_items(recommendations: pd.DataFrame, index: pd.Index, size: int) -> Any:
    """The first ``size`` items of each customer joined with ``|`` ("" for none)."""
    top = recommendations.loc[recommendations["rank"] <= size, ["customer_id", "rank", "item"]]
    top = top.sort_values(["customer_id", "rank"], kind="stable")
    where = index.get_indexer(pd.Index(top["customer_id"]))
    top = top.loc[where >= 0]
    where = where[where >= 0]
    names = top["item"].map(str).to_numpy(dtype=object)
    place = top.groupby("customer_id", sort=False).cumcount().to_numpy()
    joined = np.full(len(index), "", dtype=object)
    # a few positions (size, unless ranks repeat), each vectorised over customers
    for k in range(int(place.max()) + 1 if place.size else 0):
        at = place == k
        glue = "" if k == 0 else "|"
        joined[where[at]] = joined[where[at]] + glue + names[at]
    return joined


def _labels(values: Any, pick: Any) -> Any:
    """``pick(value)`` for each distinct value, spread back over ``values`` (object)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    table = np.empty(len(uniques), dtype=object)
    table[:] = [pick(u) for u in uniques]
    return table[codes]


def _plan_rows(
    customer_id: pd.Index,
    stage: Any,
    segment: Any,
    sensitive: Any,
    items: Any,
    value: Any,
    skip: set[str],
) -> pd.DataFrame:
    """One plan row per contacted customer (stages in ``skip`` left out), vectorised."""
    book = playbook()
    take = ~np.isin(stage, list(skip))
    stage, segment, sensitive = stage[take], segment[take], sensitive[take]
    items, value = items[take], value[take]
    missing = pd.isna(pd.Series(segment, dtype=object)).to_numpy()
    # the playbook entry of the value segment when it has one, else of the stage
    own_entry = _labels(segment, lambda g: g in book and book[g]["kind"] == "segment")
    entry_key = np.where(own_entry.astype(bool), segment, stage)
    has_items = items != ""
    offer = np.select(
        [np.isin(stage, ["win_back", "lost"]), sensitive, has_items],
        ["comeback_coupon", "time_limited_discount", "product_recommendation"],
        "loyalty_reward",
    ).astype(object)
    from_items = (offer == "product_recommendation") | (
        (offer == "time_limited_discount") & has_items
    )
    reason = {}
    for lang, word, glue, extras in (
        ("en", "stage: ", "; ", ("segment: ", "price-sensitive", "items from past purchases")),
        ("zh", "阶段：", "；", ("分群：", "价格敏感", "基于历史购买推荐")),
    ):
        text = word + _labels(stage, lambda st, lang=lang: book[st]["name"][lang])
        names = _labels(
            segment, lambda g, lang=lang: book[g]["name"][lang] if g in book else str(g)
        )
        text = np.where(missing, text, text + glue + extras[0] + names)
        text = np.where(sensitive, text + glue + extras[1], text)
        reason[lang] = np.where(from_items, text + glue + extras[2], text)
    return pd.DataFrame(
        {
            "customer_id": customer_id[take],
            "action": _labels(entry_key, lambda key: book[key]["actions"][0]["en"]),
            "action_zh": _labels(entry_key, lambda key: book[key]["actions"][0]["zh"]),
            "offer": offer,
            "offer_zh": _labels(offer, OFFERS.__getitem__),
            "items": np.where(offer != "comeback_coupon", items, "").astype(object),
            "reason": reason["en"].astype(object),
            "reason_zh": reason["zh"].astype(object),
            "stage": stage,
            "segment": segment,
            "expected_value": value,
        }
    )


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
    items = np.full(len(frame), "", dtype=object)
    if recommendations is not None:
        require_columns(recommendations, ["customer_id", "rank", "item"], what="recommendations")
        items = _joined_items(recommendations, frame.index, size)
    plan = _plan_rows(frame.index, stage, segment, sensitive, items, value, skip)
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
