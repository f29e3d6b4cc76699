"""Net Promoter Score: standard error vs the multinomial variance, comparisons, nps_by."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from customer_value.errors import CustomerValueWarning, InvalidDataError
from customer_value.survey import NPSResult, compare_nps, net_promoter_score, nps_by


def multinomial_se(det: int, pas: int, pro: int) -> float:
    """SE of 100*(n+ - n-)/n from the multinomial covariance of the counts.

    Var(n+) = n p+(1-p+), Var(n-) = n p-(1-p-), Cov(n+, n-) = -n p+ p-, so
    Var(n+ - n-) = n [p+(1-p+) + p-(1-p-) + 2 p+ p-]; the score divides by n.
    """
    n = det + pas + pro
    pp, pm = pro / n, det / n
    var_diff = n * (pp * (1 - pp) + pm * (1 - pm) + 2 * pp * pm)
    return 100.0 * math.sqrt(var_diff) / n


@pytest.mark.parametrize(
    ("det", "pas", "pro"), [(20, 30, 50), (1, 1, 1), (500, 100, 400), (3, 0, 97), (0, 7, 0)]
)
def test_standard_error_matches_multinomial_variance(det: int, pas: int, pro: int) -> None:
    ratings = np.repeat([4, 8, 10], [det, pas, pro])
    r = net_promoter_score(ratings)
    assert r.score == pytest.approx(100.0 * (pro - det) / (det + pas + pro))
    assert r.standard_error == pytest.approx(multinomial_se(det, pas, pro), rel=1e-12)
    z = stats.norm.ppf(0.975)
    assert r.ci_low == pytest.approx(max(-100.0, r.score - z * r.standard_error))
    assert r.ci_high == pytest.approx(min(100.0, r.score + z * r.standard_error))
    assert (r.detractors, r.passives, r.promoters) == (det, pas, pro)
    assert r.share_promoters + r.share_passives + r.share_detractors == pytest.approx(1.0)


def test_standard_error_matches_simulated_spread() -> None:
    # sampling distribution of the score for n = 400 and p = (0.2, 0.3, 0.5)
    rng = np.random.default_rng(1)
    draws = rng.multinomial(400, [0.2, 0.3, 0.5], size=40_000)
    scores = 100.0 * (draws[:, 2] - draws[:, 0]) / 400
    r = NPSResult.from_counts(detractors=80, passives=120, promoters=200)
    assert scores.std() == pytest.approx(r.standard_error, rel=0.02)


def test_from_counts_equals_ratings() -> None:
    a = NPSResult.from_counts(detractors=12, passives=30, promoters=58, confidence=0.9)
    b = net_promoter_score(np.repeat([0, 7, 9], [12, 30, 58]), confidence=0.9)
    assert a == b


def test_category_boundaries_and_missing() -> None:
    r = net_promoter_score(pd.Series([0, 6, 7, 8, 9, 10, np.nan, None], dtype="object"))
    assert (r.detractors, r.passives, r.promoters) == (2, 2, 2)
    assert r.n == 6
    assert r.n_missing == 2


def test_weights_equal_replication_for_score() -> None:
    ratings = np.array([10, 3, 8, 9, 0])
    w = np.array([3, 1, 2, 1, 2])
    weighted = net_promoter_score(ratings, weights=w)
    replicated = net_promoter_score(np.repeat(ratings, w))
    assert weighted.score == pytest.approx(replicated.score)
    assert weighted.share_detractors == pytest.approx(replicated.share_detractors)
    # Kish effective n: (sum w)^2 / sum w^2 = 81 / 19
    assert weighted.n_effective == pytest.approx(81 / 19)
    assert weighted.n == 5


def test_degenerate_samples_collapse_without_nan() -> None:
    for ratings in ([10], [9, 10, 10], [0, 0], [7]):
        r = net_promoter_score(ratings)
        assert r.standard_error == 0.0
        assert r.ci_low == r.score == r.ci_high


def test_compare_nps_wald() -> None:
    a = NPSResult.from_counts(detractors=30, passives=30, promoters=40)
    b = NPSResult.from_counts(detractors=20, passives=30, promoters=50)
    c = compare_nps(a, b)
    se = math.sqrt(multinomial_se(30, 30, 40) ** 2 + multinomial_se(20, 30, 50) ** 2)
    assert c.difference == pytest.approx(20.0)
    assert c.standard_error == pytest.approx(se)
    assert c.z == pytest.approx(20.0 / se)
    assert c.p_value == pytest.approx(2 * (1 - stats.norm.cdf(20.0 / se)))
    assert c.ci_low < c.difference < c.ci_high
    # symmetric in the order of the waves
    d = compare_nps(b, a)
    assert d.difference == pytest.approx(-c.difference)
    assert d.p_value == pytest.approx(c.p_value)


def test_compare_nps_accepts_ratings() -> None:
    c = compare_nps([10, 9, 3, 7], [10, 10, 9, 1])
    assert c.a == net_promoter_score([10, 9, 3, 7])
    assert c.difference == pytest.approx(50.0 - 25.0)


def test_compare_degenerate_samples() -> None:
    same = compare_nps([10, 10], [9, 10, 10])
    assert (same.z, same.p_value, same.difference) == (0.0, 1.0, 0.0)
    diff = compare_nps([10] * 20, [0] * 20)
    # pooled shares 0.5 / 0.5 under the null: var = 1 - 0 = 1, se = 100 sqrt(2/20)
    assert diff.standard_error == pytest.approx(100 * math.sqrt(0.1))
    assert np.isfinite(diff.z)
    assert diff.p_value < 1e-8


def test_nps_by_matches_per_group_scores() -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "store": rng.choice(["north", "south", "east"], 500),
            "rating": rng.integers(0, 11, 500).astype(float),
            "w": rng.uniform(0.5, 2.0, 500),
        }
    )
    df.loc[::17, "rating"] = np.nan
    out = nps_by(df, "rating", "store", weights_col="w")
    assert list(out.index) == ["east", "north", "south"]
    for store, part in df.groupby("store"):
        ref = net_promoter_score(part["rating"], weights=part["w"])
        row = out.loc[store]
        for field in ("score", "standard_error", "ci_low", "ci_high", "n_effective"):
            assert row[field] == pytest.approx(getattr(ref, field)), field
        assert row["n"] == ref.n
        assert row["n_missing"] == ref.n_missing


def test_nps_by_matches_pandas_groupby() -> None:
    rng = np.random.default_rng(6)
    df = pd.DataFrame({"g": rng.integers(0, 40, 5000), "r": rng.integers(0, 11, 5000)})
    out = nps_by(df, "r", "g")
    anchor = df.groupby("g")["r"].agg(lambda s: 100 * ((s >= 9).mean() - (s <= 6).mean()))
    np.testing.assert_allclose(out["score"].to_numpy(), anchor.to_numpy())
    assert out["n"].sum() == 5000


def test_nps_by_drops_group_without_ratings() -> None:
    df = pd.DataFrame({"g": ["a", "a", "b"], "r": [10, 3, np.nan]})
    with pytest.warns(CustomerValueWarning, match="1 group"):
        out = nps_by(df, "r", "g")
    assert list(out.index) == ["a"]


@given(st.lists(st.integers(0, 10), min_size=1, max_size=300))
def test_score_bounded_and_interval_contains_it(ratings: list[int]) -> None:
    r = net_promoter_score(ratings)
    values = [r.score, r.standard_error, r.ci_low, r.ci_high]
    assert all(np.isfinite(values))
    assert -100.0 <= r.ci_low <= r.score <= r.ci_high <= 100.0


@given(
    st.integers(0, 10**12),
    st.integers(0, 10**12),
    st.integers(1, 10**12),
    st.floats(0.01, 0.999),
)
def test_from_counts_extremes(det: int, pas: int, pro: int, conf: float) -> None:
    r = NPSResult.from_counts(detractors=det, passives=pas, promoters=pro, confidence=conf)
    assert all(np.isfinite([r.score, r.standard_error, r.ci_low, r.ci_high]))
    assert -100.0 <= r.ci_low <= r.score <= r.ci_high <= 100.0


@given(
    st.lists(st.integers(0, 10), min_size=1, max_size=50),
    st.lists(st.integers(0, 10), min_size=1, max_size=50),
)
def test_compare_never_nan(a: list[int], b: list[int]) -> None:
    c = compare_nps(a, b)
    assert all(np.isfinite([c.difference, c.standard_error, c.z, c.p_value]))
    assert 0.0 <= c.p_value <= 1.0


@pytest.mark.parametrize(
    ("ratings", "match"),
    [
        ([5, 11], r"scale \[0, 10\]; row 1 has rating=11.0"),
        ([-1, 5], r"scale \[0, 10\]; row 0 has rating=-1.0"),
        ([7.5], r"whole-number answers; row 0 has rating=7.5"),
        (["9", "great"], r"must be numeric; row 1 has rating='great'"),
        ([np.inf], r"scale \[0, 10\]; row 0 has rating=inf"),
        ([np.nan, np.nan], "no valid rating among 2"),
        (pd.Series([3, 12], index=["r1", "r2"]), r"row 1 \(label 'r2'\) has rating=12.0"),
    ],
)
def test_bad_ratings(ratings: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        net_promoter_score(ratings)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": [1, -1]}, r"must be finite and >= 0; row 1 has weights=-1\.0"),
        ({"weights": [1]}, "expected 2 weights"),
        ({"weights": [0, 0]}, "all weights are zero"),
        ({"confidence": 1.5}, "confidence must be < 1"),
        ({"confidence": 0}, "confidence must be > 0"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        net_promoter_score([9, 3], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        ({"detractors": -1, "passives": 1, "promoters": 1}, "detractors must be a non-negative"),
        ({"detractors": 1, "passives": 1.5, "promoters": 1}, "passives must be a non-negative"),
        ({"detractors": 0, "passives": 0, "promoters": 0}, "at least one of"),
        ({"detractors": 1, "passives": 1, "promoters": "x"}, "promoters must be a count"),
    ],
)
def test_bad_counts(counts: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        NPSResult.from_counts(**counts)


def test_nps_by_bad_input() -> None:
    df = pd.DataFrame({"g": ["a", None, "b"], "r": [1, 2, 3]})
    with pytest.raises(InvalidDataError, match=r"'g' must not be missing; row 1 has g=(None|nan)"):
        nps_by(df, "r", "g")
    with pytest.raises(InvalidDataError, match=r"missing column.*'score'"):
        nps_by(df, "score", "g")
    bad = pd.DataFrame({"g": ["a", "b"], "r": [3, 13]})
    with pytest.raises(InvalidDataError, match=r"row 1 has r=13\.0"):
        nps_by(bad, "r", "g")


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_weights_at_extreme_scales_give_the_unit_weight_answer(scale: float) -> None:
    # shares and Kish's n do not depend on the unit of the weights; w^2 used to overflow
    # (1e200 -> inf) or underflow (1e-200 -> 0) and turned the standard error into NaN
    ratings = np.array([10, 3, 8, 9, 0])
    w = np.array([3.0, 1.0, 2.0, 1.0, 2.0])
    unit = net_promoter_score(ratings, weights=w)
    scaled = net_promoter_score(ratings, weights=w * scale)
    for field in ("score", "standard_error", "ci_low", "ci_high", "n_effective"):
        assert getattr(scaled, field) == pytest.approx(getattr(unit, field), rel=1e-12), field
    assert scaled.promoters == pytest.approx(unit.promoters * scale, rel=1e-12)
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "r": np.r_[ratings, ratings[::-1]]})
    df["w"] = np.r_[w * scale, w]  # groups on wildly different scales in one table
    out = nps_by(df, "r", "g", weights_col="w")
    assert out.loc["a", "standard_error"] == pytest.approx(unit.standard_error, rel=1e-12)
    assert out.loc["a", "n_effective"] == pytest.approx(81 / 19, rel=1e-12)
    assert out.loc["a", "promoters"] == pytest.approx(unit.promoters * scale, rel=1e-12)
    assert np.isfinite(out[["score", "standard_error", "ci_low", "ci_high"]].to_numpy()).all()


def test_weights_near_the_largest_float() -> None:
    r = net_promoter_score([10, 3, 8], weights=[1.7e308, 1.7e308, 0.85e308])
    assert (r.share_promoters, r.share_detractors) == pytest.approx((0.4, 0.4))
    assert r.n_effective == pytest.approx(25 / 9)
    assert np.isfinite([r.standard_error, r.ci_low, r.ci_high]).all()


@pytest.mark.parametrize(
    ("ratings", "match"),
    [
        (np.array([True, False]), r"not True/False; row 0 has rating=True"),
        ([[9, 10], [3, 4]], r"must be one-dimensional.*shape \(2, 2\)"),
    ],
)
def test_booleans_and_tables_are_not_ratings(ratings: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        net_promoter_score(ratings)


@pytest.mark.parametrize("n_missing", ["x", -1, 1.5, True])
def test_from_counts_bad_n_missing(n_missing: object) -> None:
    with pytest.raises(InvalidDataError, match="n_missing must be a whole number >= 0"):
        NPSResult.from_counts(detractors=1, passives=1, promoters=1, n_missing=n_missing)  # type: ignore[arg-type]
