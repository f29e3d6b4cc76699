"""Association rules: mlxtend as oracle, hand-counted values, ordering, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError
from customer_value.recommend import RULE_COLUMNS, association_rules, frequent_itemsets


def _random_baskets(seed: int, n_baskets: int = 400, n_items: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    popularity = rng.dirichlet(np.ones(n_items)) * 3
    for b in range(n_baskets):
        chosen = np.flatnonzero(rng.random(n_items) < np.clip(popularity, 0.05, 0.7))
        if 0 in chosen and rng.random() < 0.6:
            chosen = np.union1d(chosen, [1, 2])
        rows.extend((b, f"item{j:02d}") for j in chosen)
    return pd.DataFrame(rows, columns=["order_id", "item"])


def _one_hot(baskets: pd.DataFrame) -> pd.DataFrame:
    return pd.crosstab(baskets["order_id"], baskets["item"]).astype(bool)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_len", [2, 3, 4])
def test_frequent_itemsets_match_mlxtend_apriori(seed: int, max_len: int) -> None:
    mlx = pytest.importorskip("mlxtend.frequent_patterns")
    baskets = _random_baskets(seed)
    ours = frequent_itemsets(baskets, min_support=0.05, max_len=max_len)
    theirs = mlx.apriori(_one_hot(baskets), min_support=0.05, use_colnames=True, max_len=max_len)
    got = dict(zip(map(frozenset, ours["itemsets"]), ours["support"], strict=True))
    want = dict(zip(theirs["itemsets"], theirs["support"], strict=True))
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("max_consequent_len", [1, 2])
def test_rules_match_mlxtend_association_rules(seed: int, max_consequent_len: int) -> None:
    mlx = pytest.importorskip("mlxtend.frequent_patterns")
    baskets = _random_baskets(seed)
    onehot = _one_hot(baskets)
    sets = mlx.apriori(onehot, min_support=0.04, use_colnames=True, max_len=3)
    theirs = mlx.association_rules(sets, len(onehot), metric="confidence", min_threshold=0.3)
    theirs = theirs[theirs["consequents"].map(len) <= max_consequent_len]
    theirs = theirs.rename(columns=lambda c: c.replace(" ", "_"))
    ours = association_rules(
        baskets,
        min_support=0.04,
        min_confidence=0.3,
        max_len=3,
        max_consequent_len=max_consequent_len,
    )
    assert len(ours) == len(theirs) > 10
    key = lambda a, c: (frozenset(a), frozenset(c))  # noqa: E731
    want = {
        key(a, c): row
        for a, c, row in zip(
            theirs["antecedents"], theirs["consequents"], theirs.itertuples(), strict=True
        )
    }
    for row in ours.itertuples():
        other = want[key(row.antecedents, row.consequents)]
        for metric in (
            "support",
            "confidence",
            "lift",
            "leverage",
            "antecedent_support",
            "consequent_support",
        ):
            assert getattr(row, metric) == pytest.approx(getattr(other, metric), rel=1e-12)
        if np.isfinite(other.conviction):
            assert row.conviction == pytest.approx(other.conviction, rel=1e-9)
        else:
            assert row.conviction == np.inf


def test_hand_counted_rule() -> None:
    # 5 baskets: {a,b}, {a,b,c}, {a,c}, {b}, {a,b} -> s(a)=.8, s(b)=.8, s(ab)=.6
    baskets = {"order_id": [1, 1, 2, 2, 2, 3, 3, 4, 5, 5], "item": list("ababcacbab")}
    rules = association_rules(baskets, min_support=0.5, min_confidence=0.0)
    row = rules[rules["antecedents"] == ("a",)].iloc[0]
    assert row["consequents"] == ("b",)
    assert row["support"] == pytest.approx(0.6)
    assert row["confidence"] == pytest.approx(0.75)
    assert row["lift"] == pytest.approx(0.75 / 0.8)
    assert row["leverage"] == pytest.approx(0.6 - 0.64)
    assert row["conviction"] == pytest.approx(0.2 / 0.25)
    assert row["count"] == 3
    assert tuple(rules.columns) == RULE_COLUMNS


def test_order_does_not_depend_on_row_order() -> None:
    baskets = _random_baskets(5)
    a = association_rules(baskets, min_support=0.04, min_confidence=0.2)
    b = association_rules(
        baskets.sample(frac=1.0, random_state=1), min_support=0.04, min_confidence=0.2
    )
    pd.testing.assert_frame_equal(a, b)
    assert a["lift"].is_monotonic_decreasing


def test_duplicate_items_count_once_and_empty_baskets_via_n_baskets() -> None:
    baskets = {"order_id": [1, 1, 1, 2, 2], "item": ["a", "a", "b", "a", "b"]}
    sets = frequent_itemsets(baskets, min_support=0.1)
    assert sets.loc[sets["itemsets"] == ("a",), "count"].item() == 2
    with_empty = frequent_itemsets(baskets, min_support=0.1, n_baskets=4)
    assert with_empty.loc[with_empty["itemsets"] == ("a", "b"), "support"].item() == 0.5
    with pytest.raises(InvalidDataError, match="n_baskets"):
        frequent_itemsets(baskets, n_baskets=1)


def test_customer_period_baskets() -> None:
    tx = {
        "customer_id": [1, 1, 1, 2],
        "month": ["01", "01", "02", "01"],
        "item": ["a", "b", "a", "b"],
    }
    sets = frequent_itemsets(tx, basket_col=["customer_id", "month"], min_support=0.1)
    assert sets.attrs["n_baskets"] == 3
    assert sets.loc[sets["itemsets"] == ("a", "b"), "count"].item() == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_support": 0.0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_confidence": -0.1}, "min_confidence"),
        ({"min_confidence": 1.01}, "min_confidence"),
        ({"max_len": 1}, "max_len"),
        ({"max_consequent_len": 0}, "max_consequent_len"),
        ({"min_lift": -1.0}, "min_lift"),
    ],
)
def test_thresholds_out_of_range(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        association_rules({"order_id": [1], "item": ["a"]}, **kwargs)


def test_missing_item_names_row() -> None:
    with pytest.raises(InvalidDataError, match=r"'item'.*row 1"):
        association_rules({"order_id": [1, 2], "item": ["a", None]})


def test_nothing_frequent_gives_empty_table() -> None:
    rules = association_rules({"order_id": [1, 2], "item": ["a", "b"]}, min_support=0.9)
    assert list(rules.columns) == list(RULE_COLUMNS)
    assert rules.empty


@settings(max_examples=60, deadline=None)
@given(
    baskets=st.lists(st.sets(st.sampled_from("abcdef"), max_size=5), min_size=1, max_size=40),
    support=st.sampled_from([0.01, 0.1, 0.3]),
)
def test_rules_equal_brute_force_counts(baskets: list[set[str]], support: float) -> None:
    rows = [(k, item) for k, basket in enumerate(baskets) for item in basket]
    if not rows:
        return
    frame = pd.DataFrame(rows, columns=["order_id", "item"])
    n = len(baskets)  # empty baskets count through n_baskets
    rules = association_rules(
        frame, min_support=support, min_confidence=0.0, max_len=3, n_baskets=n
    )

    def count(items: tuple[str, ...]) -> int:
        return sum(1 for b in baskets if set(items) <= b)

    for row in rules.itertuples():
        both = count(row.antecedents + row.consequents)
        assert row.count == both
        assert row.support == pytest.approx(both / n)
        assert row.confidence == pytest.approx(both / count(row.antecedents))
        assert np.isfinite([row.support, row.confidence, row.lift, row.leverage]).all()
        assert row.conviction > 0
    expected = {
        (tuple(sorted(set(s) - {c})), (c,))
        for size in (2, 3)
        for s in itertools.combinations("abcdef", size)
        for c in s
        if count(s) / n >= support
    }
    got = set(zip(rules["antecedents"], rules["consequents"], strict=True))
    assert got == expected
