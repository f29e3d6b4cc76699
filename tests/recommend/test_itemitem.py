"""Item-item recommender: implicit as oracle, fallbacks, explanations, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError, NotFittedError
from customer_value.recommend import (
    RECOMMENDATION_COLUMNS,
    ItemItemRecommender,
    PopularityRecommender,
)


def _log(seed: int, n_customers: int = 300, n_items: int = 60, lines: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    item_p = rng.dirichlet(np.full(n_items, 0.7))
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, lines),
            "item": rng.choice(n_items, lines, p=item_p),
            # continuous strengths make exact score ties (and so arbitrary order) unlikely
            "weight": rng.uniform(0.5, 3.0, lines),
        }
    )


def _implicit_top(model_cls, X: sp.csr_matrix, n: int, **kwargs):  # type: ignore[no-untyped-def]
    model = model_cls(**kwargs)
    model.fit(X, show_progress=False)
    ids, scores = model.recommend(np.arange(X.shape[0]), X, N=n, filter_already_liked_items=True)
    return ids, scores


@pytest.mark.parametrize(
    ("similarity", "oracle", "extra"),
    [
        ("cosine", "CosineRecommender", {}),
        ("tfidf", "TFIDFRecommender", {}),
        ("bm25", "BM25Recommender", {"K1": 1.2, "B": 0.75}),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.filterwarnings("ignore::UserWarning")  # implicit's own CSR-conversion notice
def test_top_n_equals_implicit(similarity: str, oracle: str, extra: dict, seed: int) -> None:
    nn = pytest.importorskip("implicit.nearest_neighbours")
    log = _log(seed)
    ours = ItemItemRecommender(similarity=similarity, n_neighbours=10).fit(log, weight_col="weight")
    X = ours.ratings_
    # implicit keeps the item itself among its K neighbours: for cosine and TF-IDF it is
    # always the most similar (similarity 1), so K = ours + 1; BM25 is compared unpruned.
    k = 11 if similarity != "bm25" else X.shape[1]
    if similarity == "bm25":
        ours = ItemItemRecommender(similarity="bm25", n_neighbours=X.shape[1]).fit(
            log, weight_col="weight"
        )
    ids, scores = _implicit_top(getattr(nn, oracle), X, 10, K=k, **extra)
    recs = ours.recommend(n=10)
    recs = recs[recs["source"] == "item_item"]
    compared = 0
    for u, group in recs.groupby("customer_id", sort=False):
        row = ours.customers_.get_loc(u)
        valid = np.isfinite(scores[row]) & (scores[row] > -1e30) & (ids[row] >= 0)
        theirs_items = ids[row][valid]
        mine_items = ours.items_.get_indexer(group["item"])
        m = min(len(theirs_items), len(mine_items))
        np.testing.assert_allclose(
            group["score"].to_numpy()[:m], scores[row][valid][:m], rtol=1e-5, atol=1e-6
        )
        assert list(mine_items[:m]) == list(theirs_items[:m])
        compared += m
    assert compared > 1000


def test_shrinkage_zero_is_cosine_and_positive_damps() -> None:
    log = _log(2)
    plain_model = ItemItemRecommender().fit(log)
    shrunk = ItemItemRecommender(shrinkage=5.0).fit(log)
    a = plain_model.similarity_.toarray()
    b = shrunk.similarity_.toarray()
    both = (a > 0) & (b > 0)
    assert (b[both] < a[both]).all()


def test_no_self_neighbour_and_k_per_row() -> None:
    model = ItemItemRecommender(n_neighbours=5).fit(_log(3))
    S = model.similarity_
    assert (S.diagonal() == 0).all()
    assert np.diff(S.indptr).max() <= 5


def test_excludes_bought_and_fills_from_popularity() -> None:
    tx = {"customer_id": ["a", "a", "b", "c"], "item": ["x", "y", "x", "z"]}
    model = ItemItemRecommender().fit(tx)
    recs = model.recommend(["b"], n=3)
    assert list(recs.columns) == list(RECOMMENDATION_COLUMNS)
    assert "x" not in set(recs["item"])
    assert recs["item"].tolist() == ["y", "z"]  # catalogue runs out after two
    assert recs["source"].tolist() == ["item_item", "popularity"]
    keep = ItemItemRecommender(exclude_bought=False).fit(tx).recommend(["b"], n=3)
    assert "x" in set(keep["item"])


def test_unknown_customers_fallback_segment_or_raise() -> None:
    tx = {"customer_id": ["a", "a", "b", "c", "c"], "item": ["x", "y", "x", "z", "y"]}
    model = ItemItemRecommender().fit(tx, segments={"a": "vip", "b": "mass", "c": "vip"})
    recs = model.recommend(["new1", "new2"], n=1, segments={"new1": "vip"})
    assert recs["item"].tolist() == ["y", "x"]
    assert recs["source"].tolist() == ["segment_popularity", "popularity"]
    with pytest.raises(InvalidDataError, match="new1"):
        model.recommend(["a", "new1"], unknown="raise")


def test_explain_and_similar_items() -> None:
    tx = {
        "customer_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
        "item": ["tea", "cups", "tea", "cups", "jam", "bread", "tea", "bread"],
    }
    model = ItemItemRecommender().fit(tx)
    explained = model.explain(["d"], n=2)
    first = explained.iloc[0]
    assert first["item"] in {"cups", "jam"}
    assert set(first["because"]) <= {"tea", "bread"}
    assert 0 < first["because_share"] <= 1
    with pytest.raises(InvalidDataError, match="never occurs"):
        model.similar_items(["caviar"])


def test_category_recommendations_need_one_category_per_item() -> None:
    tx = {"customer_id": [1, 2], "item": ["x", "x"], "category": ["a", "b"]}
    with pytest.raises(InvalidDataError, match="several categories"):
        ItemItemRecommender().fit(tx, category_col="category")
    with pytest.raises(InvalidDataError, match="category_col"):
        ItemItemRecommender().fit({"customer_id": [1], "item": ["x"]}).recommend_categories()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"similarity": "jaccard"},
        {"n_neighbours": 0},
        {"shrinkage": -1.0},
        {"similarity": "bm25", "shrinkage": 1.0},
        {"bm25_b": 2.0},
    ],
)
def test_bad_options(kwargs: dict) -> None:
    with pytest.raises(InvalidDataError):
        ItemItemRecommender(**kwargs).fit({"customer_id": [1], "item": ["x"]})


def test_not_fitted_and_bad_n() -> None:
    with pytest.raises(NotFittedError):
        ItemItemRecommender().recommend()
    model = ItemItemRecommender().fit({"customer_id": [1], "item": ["x"]})
    with pytest.raises(InvalidDataError, match="n must be"):
        model.recommend(n=0)
    with pytest.raises(InvalidDataError, match=r"column .w. must be > 0; row 0"):
        ItemItemRecommender().fit({"customer_id": [1], "item": ["x"], "w": [0.0]}, weight_col="w")


def test_popularity_baseline_ranks_by_customers() -> None:
    tx = {"customer_id": [1, 1, 1, 2, 3], "item": ["a", "a", "b", "b", "c"]}
    pop = PopularityRecommender().fit(tx)
    assert pop.popularity_.index.tolist() == ["b", "a", "c"]
    recs = pop.recommend([1, 99], n=2)
    assert recs["item"].tolist() == ["c", "b", "a"]


@settings(max_examples=40, deadline=None)
@given(
    weights=st.lists(st.floats(1e-300, 1e300), min_size=6, max_size=6),
    similarity=st.sampled_from(["cosine", "tfidf", "bm25"]),
)
def test_extreme_weights_give_finite_scores(weights: list[float], similarity: str) -> None:
    tx = {"customer_id": [1, 1, 2, 2, 3, 3], "item": ["a", "b", "b", "c", "a", "c"], "w": weights}
    model = ItemItemRecommender(similarity=similarity).fit(tx, weight_col="w")
    assert np.isfinite(model.similarity_.data).all()
    if similarity == "cosine":
        assert (model.similarity_.data <= 1 + 1e-12).all()
    recs = model.recommend(n=2)
    assert np.isfinite(recs["score"]).all()


def test_get_params_rebuilds_an_unfitted_copy() -> None:
    model = ItemItemRecommender(similarity="bm25", n_neighbours=7, bm25_b=0.5)
    copy = ItemItemRecommender(**model.get_params())
    assert copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError, match="ItemItemRecommender is not fitted yet"):
        copy.similar_items(["a"])
    assert PopularityRecommender(exclude_bought=False).get_params() == {"exclude_bought": False}


@pytest.mark.parametrize(("seed", "similarity"), [(0, "cosine"), (1, "tfidf"), (2, "bm25")])
def test_explain_equals_contributions_row_by_row(seed: int, similarity: str) -> None:
    model = ItemItemRecommender(similarity=similarity, n_neighbours=5).fit(
        _log(seed, n_customers=80, n_items=25, lines=600), weight_col="weight"
    )
    out = model.explain([*model.customers_[:40], "new"], n=6, n_reasons=2)
    S = model.similarity_.toarray()
    checked = 0
    for row in out.itertuples():
        if row.source != "item_item":
            assert row.because == ()
            assert row.because_share == 0.0
            continue
        u, j = model.customers_.get_loc(row.customer_id), model.items_.get_loc(row.item)
        lo, hi = model.ratings_.indptr[u], model.ratings_.indptr[u + 1]
        past = model.ratings_.indices[lo:hi]
        contrib = model.ratings_.data[lo:hi] * S[past, j]
        ranked = sorted((-c, p) for c, p in zip(contrib, past, strict=True) if c > 0)[:2]
        assert row.because == tuple(model.items_[p] for _, p in ranked)
        total = contrib[contrib > 0].sum()
        assert row.because_share == pytest.approx(-sum(c for c, _ in ranked) / total)
        checked += 1
    assert checked > 100
