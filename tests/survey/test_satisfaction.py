"""CSAT (Wilson interval) and CES (t interval)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from customer_value.errors import InvalidDataError
from customer_value.survey import ces, csat


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17, 857-872, Table I, method 3 (Wilson score
    # interval without continuity correction), published to four decimals
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_wilson_matches_newcombe_table(x: int, n: int, low: float, high: float) -> None:
    ratings = np.repeat([5, 2], [x, n - x])
    r = csat(ratings)
    assert r.n == n
    assert r.n_satisfied == x
    assert r.ci_low / 100 == pytest.approx(low, abs=6e-5)
    assert r.ci_high / 100 == pytest.approx(high, abs=6e-5)


@pytest.mark.parametrize("conf", [0.8, 0.9, 0.99])
def test_wilson_matches_scipy(conf: float) -> None:
    ratings = [1, 2, 3, 4, 4, 5, 5, 5, 3, 4, 4, np.nan]
    r = csat(ratings, confidence=conf)
    ref = stats.binomtest(7, 11).proportion_ci(confidence_level=conf, method="wilson")
    assert r.ci_low == pytest.approx(100 * ref.low)
    assert r.ci_high == pytest.approx(100 * ref.high)
    assert r.score == pytest.approx(700 / 11)
    assert r.n_missing == 1


def test_csat_custom_scale() -> None:
    r = csat([10, 9, 8, 2, 7], scale=(0, 10), satisfied=(8, 9, 10))
    assert r.score == pytest.approx(60.0)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=200))
def test_csat_interval_contains_score(ratings: list[int]) -> None:
    r = csat(ratings)
    assert all(np.isfinite([r.score, r.ci_low, r.ci_high]))
    assert 0.0 <= r.ci_low <= r.score <= r.ci_high <= 100.0


def test_ces_matches_scipy_t_interval() -> None:
    ratings = np.array([6, 7, 5, 6, 2, 7, 6, 4, 5, 7])
    r = ces(ratings, confidence=0.9)
    ref = stats.ttest_1samp(ratings, 0).confidence_interval(confidence_level=0.9)
    assert r.mean == pytest.approx(ratings.mean())
    assert r.standard_error == pytest.approx(stats.sem(ratings))
    assert r.ci_low == pytest.approx(ref.low)
    assert r.ci_high == pytest.approx(ref.high)
    assert r.direction == "higher is easier"


def test_ces_direction_recorded() -> None:
    r = ces([1, 2, 2, 3], scale=(1, 5), higher_is_easier=False)
    assert r.direction == "higher is more effort"
    assert r.higher_is_easier is False
    assert r.scale == (1.0, 5.0)


@given(st.lists(st.integers(1, 7), min_size=2, max_size=200))
def test_ces_never_nan(ratings: list[int]) -> None:
    r = ces(ratings)
    assert all(np.isfinite([r.mean, r.standard_error, r.ci_low, r.ci_high]))
    assert 1.0 <= r.ci_low <= r.mean <= r.ci_high <= 7.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: csat([1, 6]), r"scale \[1, 5\]; row 1 has rating=6\.0"),
        (lambda: csat([1, 4.5]), r"whole-number answers; row 1 has rating=4\.5"),
        (lambda: csat(["5", "good"]), r"must be numeric; row 1 has rating='good'"),
        (lambda: csat([np.nan]), "no valid rating"),
        (lambda: csat([4], satisfied=(6,)), r"satisfied must be whole-number answers"),
        (lambda: csat([4], scale=(5, 1)), "low < high"),
        (lambda: csat([4], scale=5), r"scale must be a \(low, high\) pair"),
        (lambda: ces([3]), "at least two valid answers, got 1"),
        (lambda: ces([3, 8]), r"scale \[1, 7\]; row 1 has rating=8\.0"),
        (lambda: ces([3, 4], higher_is_easier="yes"), "higher_is_easier must be True or False"),
        (lambda: ces([3, 4], confidence=2), "confidence must be < 1"),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        call()  # type: ignore[operator]
