"""Holdout evaluation: hand-computed metrics, baseline row, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value.datasets import make_basket_transactions
from customer_value.errors import InvalidDataError
from customer_value.recommend import (
    METRIC_COLUMNS,
    ItemItemRecommender,
    evaluate_recommender,
    ranking_metrics,
    time_split,
)


def test_metrics_by_hand() -> None:
    recs = pd.DataFrame({"customer_id": ["u"] * 3, "rank": [1, 2, 3], "item": ["a", "b", "c"]})
    truth = {"customer_id": ["u", "u"], "item": ["b", "z"]}
    m = ranking_metrics(recs, truth, k=3, catalogue_size=10)
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["map"] == pytest.approx((1 / 2) / 2)
    ideal = 1 + 1 / np.log2(3)
    assert m["ndcg"] == pytest.approx((1 / np.log2(3)) / ideal)
    assert m["hit_rate"] == 1.0
    assert m["coverage"] == pytest.approx(0.3)
    assert list(m.index) == list(METRIC_COLUMNS)


def test_perfect_ranking_scores_one() -> None:
    recs = pd.DataFrame({"customer_id": [1, 1], "rank": [1, 2], "item": ["a", "b"]})
    m = ranking_metrics(recs, {"customer_id": [1, 1], "item": ["b", "a"]}, k=2)
    assert m[["precision", "recall", "map", "ndcg", "hit_rate"]].tolist() == [1.0] * 5


def test_item_item_beats_popularity_on_generated_baskets() -> None:
    tx = make_basket_transactions(n_customers=600, seed=2)
    train, holdout = time_split(tx, cutoff="2024-10-01")
    table = evaluate_recommender(ItemItemRecommender(), train, holdout, k=10)
    assert table.index.tolist() == ["model", "popularity"]
    assert table.loc["model", "ndcg"] > table.loc["popularity", "ndcg"]
    assert table.loc["model", "coverage"] > table.loc["popularity", "coverage"]
    assert table["n_customers"].nunique() == 1


def test_time_split_bad_input() -> None:
    tx = {"customer_id": [1, 2], "item": ["a", "b"], "date": ["2024-01-01", "nope"]}
    with pytest.raises(InvalidDataError, match="row 1"):
        time_split(tx, cutoff="2024-01-02")
    ok = {"customer_id": [1], "item": ["a"], "date": ["2024-01-01"]}
    with pytest.raises(InvalidDataError, match="empty"):
        time_split(ok, cutoff="2025-01-01")
    recs = pd.DataFrame({"customer_id": [1], "rank": [1], "item": ["a"]})
    with pytest.raises(InvalidDataError, match="k must"):
        ranking_metrics(recs, ok, k=0)


def test_generator_is_reproducible_and_documented() -> None:
    a = make_basket_transactions(n_customers=40, seed=9)
    b = make_basket_transactions(n_customers=40, seed=9)
    pd.testing.assert_frame_equal(a, b)
    assert (a["amount"] >= 0).all()
    assert (a["discount"] >= 0).all()
    assert a.groupby("item")["category"].nunique().max() == 1
    with pytest.raises(InvalidDataError, match="after start"):
        make_basket_transactions(start="2024-02-01", end="2024-01-01")
