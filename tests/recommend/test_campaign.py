"""Campaign plans: offers, ranking, caps with existing contacts, labels, bad input."""

from __future__ import annotations

import numpy as np
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


def _rules_row_by_row(customers: pd.DataFrame, recs: pd.DataFrame, n_items: int) -> pd.DataFrame:
    """The documented rules written plainly, one customer at a time (the oracle)."""
    book = playbook()
    rows = []
    for cid, row in customers.iterrows():
        stage, segment, share = row["stage"], row["segment"], row["discount_share"]
        mine = recs[(recs["customer_id"] == cid) & (recs["rank"] <= n_items)]
        items = "|".join(map(str, mine.sort_values("rank", kind="stable")["item"]))
        known = segment in book and book[segment]["kind"] == "segment"
        action = book[segment if known else stage]["actions"][0]
        sensitive = bool(share >= 0.3)
        if stage in ("win_back", "lost"):
            offer = "comeback_coupon"
        elif sensitive:
            offer = "time_limited_discount"
        else:
            offer = "product_recommendation" if items else "loyalty_reward"
        reason = [f"stage: {book[stage]['name']['en']}"]
        reason_zh = [f"阶段：{book[stage]['name']['zh']}"]
        if not pd.isna(segment):
            name = book[segment]["name"] if segment in book else {"en": segment, "zh": segment}
            reason.append(f"segment: {name['en']}")
            reason_zh.append(f"分群：{name['zh']}")
        if sensitive:
            reason.append("price-sensitive")
            reason_zh.append("价格敏感")
        if offer == "product_recommendation" or (offer == "time_limited_discount" and items):
            reason.append("items from past purchases")
            reason_zh.append("基于历史购买推荐")
        rows.append(
            {
                "customer_id": cid,
                "action": action["en"],
                "action_zh": action["zh"],
                "offer": offer,
                "items": "" if offer == "comeback_coupon" else items,
                "reason": "; ".join(reason),
                "reason_zh": "；".join(reason_zh),
            }
        )
    return pd.DataFrame(rows).set_index("customer_id").sort_index()


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_plan_equals_the_rules_row_by_row(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 200
    segments = np.array(["high_value", "potential", "churn_risk", None, "vip", "retain"], object)
    customers = pd.DataFrame(
        {
            "stage": rng.choice(["acquire", "nurture", "retain", "win_back", "lost"], n),
            "segment": segments[rng.integers(0, segments.size, n)],
            "expected_value": rng.gamma(1.0, 100.0, n),
            "discount_share": rng.random(n),
        },
        index=pd.Index([f"c{i:03d}" for i in rng.permutation(n)], name="customer_id"),
    )
    m = 3 * n
    recs = pd.DataFrame(
        {
            "customer_id": rng.choice(customers.index, m),
            "rank": rng.integers(1, 6, m),
            "item": rng.choice(["tea", "jam", 3], m),
        }
    ).drop_duplicates(["customer_id", "rank"])
    plan = campaign_plan(
        customers,
        date="2025-03-03",
        recommendations=recs,
        n_items=3,
        segment_col="segment",
        price_col="discount_share",
        max_per_period=5,
    )
    ours = plan.kept.set_index("customer_id").sort_index()
    expected = _rules_row_by_row(customers, recs, 3)
    pd.testing.assert_frame_equal(ours[expected.columns], expected)
