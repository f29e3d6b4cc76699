"""Cronbach's alpha, Feldt's interval and item analysis.

Published reference: the printed output of psych::alpha's help-page example
``alpha(sim.congeneric())`` (two decimals), see the last test. No published psych printout
was found for a raw data set, so on R's ``attitude`` data (used in psych's overview
vignette) the references are computed here independently: raw alpha from the definition
with sums of item variances (Cronbach 1951), standardised alpha from the Spearman-Brown
form of the mean inter-item correlation, and Feldt's bounds from the F quantiles of
Feldt, Woodruff & Salih (1987, p. 95, eq. 6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from customer_value.errors import InvalidDataError
from customer_value.survey import cronbach_alpha, item_analysis


def alpha_by_variances(x: np.ndarray) -> float:
    """k/(k-1) * (1 - sum of item variances / variance of the total score)."""
    k = x.shape[1]
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - item_var / total_var))


def spearman_brown(x: np.ndarray) -> float:
    """Standardised alpha: k r / (1 + (k - 1) r) with r the mean inter-item correlation."""
    k = x.shape[1]
    r = np.corrcoef(x, rowvar=False)[np.triu_indices(k, 1)].mean()
    return float(k * r / (1 + (k - 1) * r))


def feldt(alpha: float, n: int, k: int, conf: float) -> tuple[float, float]:
    g = 1 - conf
    d1, d2 = n - 1, (n - 1) * (k - 1)
    return (
        1 - (1 - alpha) * stats.f.isf(g / 2, d1, d2),
        1 - (1 - alpha) * stats.f.isf(1 - g / 2, d1, d2),
    )


def test_attitude_alpha(attitude: pd.DataFrame) -> None:
    r = cronbach_alpha(attitude)
    x = attitude.to_numpy(dtype=float)
    assert r.alpha == pytest.approx(alpha_by_variances(x), rel=1e-12)
    assert r.standardized_alpha == pytest.approx(spearman_brown(x), rel=1e-12)
    assert (r.n_respondents, r.n_items) == (30, 7)
    lo, hi = feldt(r.alpha, 30, 7, 0.95)
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-12)
    assert r.ci_low < r.alpha < r.ci_high


def test_first_five_items_and_confidence(attitude: pd.DataFrame) -> None:
    items = ["rating", "complaints", "privileges", "learning", "raises"]
    r = cronbach_alpha(attitude, items=items, confidence=0.9)
    assert r.alpha == pytest.approx(alpha_by_variances(attitude[items].to_numpy(float)))
    assert (r.ci_low, r.ci_high) == pytest.approx(feldt(r.alpha, 30, 5, 0.9))


def with_missing(attitude: pd.DataFrame) -> pd.DataFrame:
    df = attitude.astype(float).copy()
    df.iloc[0, 1] = np.nan
    df.iloc[5, 3] = np.nan
    df.iloc[5, 4] = np.nan
    df.iloc[17, 6] = np.nan
    return df


def test_listwise_is_alpha_of_complete_rows(attitude: pd.DataFrame) -> None:
    df = with_missing(attitude)
    r = cronbach_alpha(df, nan_policy="listwise")
    complete = df.dropna().to_numpy()
    assert r.n_respondents == 27
    assert r.alpha == pytest.approx(alpha_by_variances(complete), rel=1e-12)
    assert (r.ci_low, r.ci_high) == pytest.approx(feldt(r.alpha, 27, 7, 0.95))


def test_pairwise_uses_pairwise_covariances(attitude: pd.DataFrame) -> None:
    df = with_missing(attitude)
    x = df.to_numpy()
    k = x.shape[1]
    cov = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            both = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            a, b = x[both, i], x[both, j]
            cov[i, j] = ((a - a.mean()) * (b - b.mean())).sum() / (both.sum() - 1)
    expected = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    r = cronbach_alpha(df, nan_policy="pairwise")
    assert r.alpha == pytest.approx(expected, rel=1e-12)
    assert r.n_respondents == 30
    assert r.alpha != pytest.approx(cronbach_alpha(df, nan_policy="listwise").alpha)


def test_item_analysis_against_direct_computation(attitude: pd.DataFrame) -> None:
    table = item_analysis(attitude)
    x = attitude.to_numpy(dtype=float)
    for i, item in enumerate(attitude.columns):
        rest = np.delete(x, i, axis=1)
        row = table.loc[item]
        assert row["item_rest_correlation"] == pytest.approx(
            np.corrcoef(x[:, i], rest.sum(axis=1))[0, 1]
        )
        assert row["alpha_if_deleted"] == pytest.approx(alpha_by_variances(rest))
        assert row["mean"] == pytest.approx(x[:, i].mean())
        assert row["sd"] == pytest.approx(x[:, i].std(ddof=1))
        assert row["n"] == 30


@given(
    arrays(np.int64, st.tuples(st.integers(2, 40), st.integers(2, 6)), elements=st.integers(1, 5))
)
def test_alpha_at_most_one_and_finite(x: np.ndarray) -> None:
    df = pd.DataFrame(x)
    if (
        (x.std(axis=0) == 0).any()
        or x.sum(axis=1).var() == 0
        or np.corrcoef(x, rowvar=False).sum() <= 1e-9 * x.shape[1] ** 2
    ):
        with pytest.raises(InvalidDataError):
            cronbach_alpha(df)
        return
    r = cronbach_alpha(df)
    assert all(np.isfinite([r.alpha, r.ci_low, r.ci_high, r.standardized_alpha]))
    assert r.alpha <= 1.0
    assert r.ci_low <= r.alpha <= r.ci_high <= 1.0


def test_items_that_cancel_out_are_an_error_not_infinity() -> None:
    # two items correlated -1: the standardised total has no variance
    with pytest.raises(InvalidDataError, match="cancel out"):
        cronbach_alpha(pd.DataFrame({"a": [2, 1], "b": [1, 3]}))


def test_perfectly_consistent_items_give_alpha_one() -> None:
    base = np.array([1.0, 2, 3, 4, 5])
    r = cronbach_alpha(pd.DataFrame({"a": base, "b": base, "c": base}))
    assert r.alpha == pytest.approx(1.0)
    assert r.ci_low == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]})), "at least two items, got 1"),
        (
            lambda: cronbach_alpha(pd.DataFrame({"a": [1], "b": [2]})),
            "at least two respondents are needed, got 1",
        ),
        (
            lambda: cronbach_alpha(
                pd.DataFrame({"a": [1, 2, np.nan], "b": [np.nan, 2, 3]}), nan_policy="listwise"
            ),
            "at least two respondents with complete answers are needed, got 1",
        ),
        (
            lambda: cronbach_alpha(pd.DataFrame({"a": [1, 2, "x"], "b": [1, 2, 3]})),
            "column 'a' must be numeric; row 2 has a='x'",
        ),
        (
            lambda: cronbach_alpha(pd.DataFrame({"a": [1, 2, np.inf], "b": [1, 2, 3]})),
            r"column 'a' must be finite; row 2 has a=inf",
        ),
        (
            lambda: cronbach_alpha(pd.DataFrame({"a": [3, 3, 3], "b": [1, 2, 3]})),
            "item 'a' has zero variance",
        ),
        (
            lambda: cronbach_alpha(pd.DataFrame({"a": [1, 2, 3], "b": [3, 2, 1]})),
            "variance of the total score is not positive",
        ),
        (
            lambda: cronbach_alpha(
                pd.DataFrame({"a": [1, 2, np.nan, np.nan], "b": [np.nan, np.nan, 1, 2]})
            ),
            "'a' and 'b' are answered together by fewer than two",
        ),
        (
            lambda: cronbach_alpha(pd.DataFrame({"a": [1, 2], "b": [2, 1]}), nan_policy="drop"),
            "nan_policy must be one of",
        ),
        (lambda: cronbach_alpha(pd.DataFrame({"a": [1, 2]}), items=["a", "z"]), "'z'"),
        (
            lambda: item_analysis(pd.DataFrame({"a": [1, 2, 3], "b": [1, 3, 3]})),
            "at least three items",
        ),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        call()  # type: ignore[operator]


def data_with_covariance(target: np.ndarray, n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Random data whose sample covariance (ddof=1) equals ``target`` exactly."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, target.shape[0]))
    x -= x.mean(axis=0)
    whiten = np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)))
    y = x @ whiten.T @ np.linalg.cholesky(target).T
    return pd.DataFrame(y + 3.0, columns=[f"V{i + 1}" for i in range(target.shape[0])])


def test_psych_documented_example_sim_congeneric() -> None:
    # psych's alpha() help-page example: alpha(sim.congeneric()), the model correlation
    # matrix of four congeneric items with loadings .8, .7, .6, .5. Printed output
    # (two decimals): raw_alpha 0.74, std.alpha 0.74, average_r 0.42; Feldt 95% bounds
    # -0.31 .. 0.98 (psych uses n.obs = 4, the rows of the matrix it was given);
    # alpha if V1..V4 dropped 0.62, 0.66, 0.70, 0.74; r.drop 0.64, 0.57, 0.51, 0.43.
    loads = np.array([0.8, 0.7, 0.6, 0.5])
    corr = np.outer(loads, loads)
    np.fill_diagonal(corr, 1.0)
    df = data_with_covariance(corr)
    r = cronbach_alpha(df)
    assert r.alpha == pytest.approx(0.74, abs=0.005)
    assert r.standardized_alpha == pytest.approx(0.74, abs=0.005)
    assert r.average_r == pytest.approx(0.42, abs=0.005)
    table = item_analysis(df)
    np.testing.assert_allclose(table["alpha_if_deleted"], [0.62, 0.66, 0.70, 0.74], atol=0.005)
    np.testing.assert_allclose(table["item_rest_correlation"], [0.64, 0.57, 0.51, 0.43], atol=0.005)
    from customer_value.survey._reliability import _feldt

    lo, hi = _feldt(r.alpha, 4, 4, 0.95)
    assert (lo, hi) == pytest.approx((-0.31, 0.98), abs=0.005)


@pytest.mark.parametrize("unit", [1e-250, 1e-100, 1e100, 1e250])
def test_alpha_does_not_depend_on_the_unit(attitude: pd.DataFrame, unit: float) -> None:
    # answers squared used to overflow (1e250 -> inf, alpha NaN) or underflow (1e-250 ->
    # "zero variance"); alpha and the correlations are free of a common unit
    df = with_missing(attitude)
    for policy in ("pairwise", "listwise"):
        ref = cronbach_alpha(df, nan_policy=policy)
        got = cronbach_alpha(df * unit, nan_policy=policy)
        for field in ("alpha", "ci_low", "ci_high", "standardized_alpha", "average_r"):
            assert getattr(got, field) == pytest.approx(getattr(ref, field), rel=1e-9), field
    ref_items = item_analysis(attitude)
    got_items = item_analysis(attitude * unit)
    for column in ("item_rest_correlation", "alpha_if_deleted"):
        np.testing.assert_allclose(got_items[column], ref_items[column], rtol=1e-9)
    np.testing.assert_allclose(got_items["sd"], ref_items["sd"] * unit, rtol=1e-9)
    np.testing.assert_allclose(got_items["mean"], ref_items["mean"] * unit, rtol=1e-9)


@pytest.mark.parametrize("policy", ["pairwise", "listwise"])
def test_constant_item_with_inexact_mean_is_refused(policy: str) -> None:
    # seven answers 0.1 have a floating-point variance of about 2e-34, not 0: the item was
    # accepted and dragged the mean inter-item correlation down
    df = pd.DataFrame({"a": [0.1] * 7, "b": [1, 2, 3, 4, 5, 6, 7.0], "c": [2, 1, 3, 5, 4, 7, 6.0]})
    with pytest.raises(InvalidDataError, match="item 'a' has zero variance"):
        cronbach_alpha(df, nan_policy=policy)  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match="item 'a' has zero variance"):
        item_analysis(df, nan_policy=policy)  # type: ignore[arg-type]
