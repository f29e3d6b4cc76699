"""Popularity fallbacks: the vectorised top-up equals a customer-by-customer reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from customer_value.recommend import ItemItemRecommender, PopularityRecommender


def _reference(
    model: ItemItemRecommender,
    recs: pd.DataFrame,
    customers: list[Any],
    n: int,
    segments: dict[Any, Any] | None,
) -> list[tuple[Any, int, Any, float, str]]:
    """Each customer's item-item rows, then the next items of its ranking, one by one."""
    pop = model.popularity_
    fitted = pop.customer_segments_
    out: list[tuple[Any, int, Any, float, str]] = []
    by_customer = dict(list(recs.groupby("customer_id", sort=False)))
    for customer in dict.fromkeys(customers):
        mine = by_customer.get(customer, recs.iloc[:0])
        listed = mine[mine["source"] == "item_item"]
        rows = [(customer, r.item, r.score, r.source) for r in listed.itertuples()]
        known = customer in model.customers_
        segment = None
        if known and fitted is not None:
            segment = fitted.loc[customer]
        elif not known and segments is not None:
            segment = segments.get(customer)
        if segment in pop.segment_popularity_:
            ranking, source = pop.segment_popularity_[segment], "segment_popularity"
        else:
            ranking, source = pop.popularity_, "popularity"
        skip = set(listed["item"])
        if known and model.exclude_bought:
            u = model.customers_.get_loc(customer)
            bought = model.ratings_.indices[model.ratings_.indptr[u] : model.ratings_.indptr[u + 1]]
            skip |= set(model.items_[bought])
        for item, share in ranking.items():
            if len(rows) == n:
                break
            if item not in skip:
                rows.append((customer, item, share, source))
        out += [(c, rank, i, s, src) for rank, (c, i, s, src) in enumerate(rows, 1)]
    return out


@pytest.mark.parametrize("seed", range(12))
def test_fill_equals_customer_by_customer_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_customers, n_items = int(rng.integers(5, 60)), int(rng.integers(2, 30))
    lines = int(rng.integers(5, 300))
    log = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, lines),
            "item": rng.integers(0, n_items, lines),
        }
    )
    fitted_segments = None
    if seed % 3:
        members = rng.choice(n_customers, n_customers // 2, replace=False)
        fitted_segments = {int(c): str(rng.choice(["a", "b", "c"])) for c in members}
    new_segments = None
    if seed % 2 == 0:
        new_segments = {
            c: str(rng.choice(["a", "b", "zz"])) for c in range(n_customers, n_customers + 6)
        }
    model = ItemItemRecommender(
        n_neighbours=int(rng.integers(1, 4)), exclude_bought=bool(seed % 4 < 2)
    ).fit(log, segments=fitted_segments)
    # known and new customers, in no particular order
    customers = [int(c) for c in rng.permutation(n_customers + 10)[:25]]
    n = int(rng.integers(1, 12))
    recs = model.recommend(customers, n=n, segments=new_segments)
    got = list(recs.itertuples(index=False, name=None))
    want = _reference(model, recs, customers, n, new_segments)
    assert [g[:3] + g[4:] for g in got] == [w[:3] + w[4:] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=1e-12)
    assert {"popularity", "item_item"} <= set(recs["source"])


def test_popularity_recommender_skips_bought_and_uses_segments() -> None:
    tx = {
        "customer_id": [1, 1, 2, 2, 3, 3, 4],
        "item": ["a", "b", "a", "c", "b", "c", "d"],
    }
    pop = PopularityRecommender().fit(tx, segments={1: "x", 2: "x", 3: "y"})
    recs = pop.recommend([1, 4, 9], n=2, segments={9: "y"})
    # customer 1 (segment x ranks a, b, c) bought a and b: only c is left in its
    # segment's ranking; customer 4 has no segment; new customer 9 is in segment y
    assert recs["customer_id"].tolist() == [1, 4, 4, 9, 9]
    assert recs["item"].tolist() == ["c", "a", "b", "b", "c"]
    assert recs["source"].tolist() == [
        "segment_popularity",
        "popularity",
        "popularity",
        "segment_popularity",
        "segment_popularity",
    ]
    assert recs["rank"].tolist() == [1, 1, 2, 1, 2]
