"""Campaign plans: offers, ranking, caps with existing contacts, labels, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from customer_value.churn import playbook
from customer_value.errors import InvalidDataError
from customer_value.recommend import OFFERS, PLAN_COLUMNS, campaign_plan


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": ["retain", "win_back", "nurture", "lost", "acquire"],
            "segment": ["high_value", None, "potential", None, None],
            "expected_value": [300.0, 80.0, 40.0, 5.0, 20.0],
            "discount_share": [0.0, 0.5, 0.6, 0.0, 0.1],
        },
        index=pd.Index(["a", "b", "c", "d", "e"], name="customer_id"),
    )


def test_plan_columns_offers_and_actions() -> None:
    recs = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "c", "e"],
            "rank": [1, 2, 3, 4, 1, 1],
            "item": ["t1", "t2", "t3", "t4", "j", "k"],
        }
    )
    plan = campaign_plan(
        _customers(),
        date="2025-03-03",
        recommendations=recs,
        segment_col="segment",
        price_col="discount_share",
        skip_stages=["lost"],
        channel="sms",
    )
    kept = plan.kept.set_index("customer_id")
    assert list(plan.kept.columns[: len(PLAN_COLUMNS)]) == list(PLAN_COLUMNS)
    assert "d" not in kept.index
    assert kept.loc["a", "items"] == "t1|t2|t3"
    assert kept.loc["a", "offer"] == "product_recommendation"
    assert kept.loc["a", "action"] == playbook("high_value")["actions"][0]["en"]
    assert kept.loc["b", "offer"] == "comeback_coupon"
    assert kept.loc["c", "offer"] == "time_limited_discount"
    assert kept.loc["c", "action_zh"] == playbook("potential")["actions"][0]["zh"]
    assert kept.loc["e", "action"] == playbook("acquire")["actions"][0]["en"]
    assert set(kept["offer_zh"]) <= set(OFFERS.values())
    assert plan.kept["expected_value"].is_monotonic_decreasing
    assert (kept["channel"] == "sms").all()
    assert "价格敏感" in kept.loc["c", "reason_zh"]


def test_existing_contacts_count_towards_the_cap() -> None:
    existing = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "timestamp": ["2025-03-10", "2025-03-20", "2025-03-15"]}
    )
    plan = campaign_plan(
        _customers(), date="2025-03-03", existing_contacts=existing, max_per_period=2
    )
    assert "a" not in set(plan.kept["customer_id"])
    assert plan.dropped["customer_id"].tolist() == ["a"]
    assert "b" in set(plan.kept["customer_id"])


def test_channel_per_customer() -> None:
    channels = pd.Series({"a": "app", "b": "sms", "c": "email", "d": "sms", "e": "app"})
    plan = campaign_plan(_customers(), date="2025-03-03", channel=channels)
    assert plan.kept.set_index("customer_id")["channel"].to_dict() == channels.to_dict()
    with pytest.raises(InvalidDataError, match="no channel"):
        campaign_plan(_customers(), date="2025-03-03", channel=channels.drop("e"))


def test_bad_input() -> None:
    bad = _customers()
    bad.loc["b", "stage"] = "sleeping"
    with pytest.raises(InvalidDataError, match=r"'stage'.*customer 'b'.*sleeping"):
        campaign_plan(bad, date="2025-03-03")
    with pytest.raises(InvalidDataError, match="skip_stages"):
        campaign_plan(_customers(), date="2025-03-03", skip_stages=["gone"])
    with pytest.raises(InvalidDataError, match="expected_value"):
        campaign_plan(_customers().drop(columns="expected_value"), date="2025-03-03")
    with pytest.raises(InvalidDataError, match="n_items"):
        campaign_plan(_customers(), date="2025-03-03", n_items=0)
