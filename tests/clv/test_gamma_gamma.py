"""Gamma-Gamma spend model: published values, lifetimes as an oracle, properties, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.clv import GammaGammaModel, frequency_spend_correlation
from customer_value.errors import CustomerValueWarning, InvalidDataError, NotFittedError

PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}  # Fader, Hardie & Lee (2005), "RFM and CLV"


@pytest.fixture(scope="module")
def fitted(cdnow_summary: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow_summary)


def test_published_estimates(fitted: GammaGammaModel) -> None:
    """FHL 2005 ("RFM and CLV", p. 420): p = 6.25, q = 3.74, nu = 15.44 on CDNOW."""
    for name, value in PUBLISHED.items():
        assert float(fitted.params_[name]) == pytest.approx(value, abs=0.01)
    p, q, v = fitted.params_.to_numpy()
    assert fitted.population_mean_spend() == pytest.approx(p * v / (q - 1), rel=1e-12)


def test_equals_lifetimes(fitted: GammaGammaModel, cdnow_summary: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the Gamma-Gamma oracle")
    repeaters = cdnow_summary[cdnow_summary["frequency"] > 0]
    theirs = lifetimes.GammaGammaFitter().fit(repeaters["frequency"], repeaters["monetary_value"])
    np.testing.assert_allclose(
        fitted.params_.to_numpy(), theirs.params_[["p", "q", "v"]].to_numpy(), rtol=1e-4
    )
    theirs.params_ = pd.Series(dict(fitted.params_))
    np.testing.assert_allclose(
        fitted.expected_spend(cdnow_summary).to_numpy(),
        theirs.conditional_expected_average_profit(
            cdnow_summary["frequency"], cdnow_summary["monetary_value"]
        ).to_numpy(),
        rtol=1e-10,
    )


def test_standard_errors_match_numerical_hessian(
    fitted: GammaGammaModel, cdnow_summary: pd.DataFrame
) -> None:
    p0 = fitted.params_.to_numpy()

    def nll(p: np.ndarray) -> float:
        return -float(
            GammaGammaModel.from_params(**dict(zip("pqv", p, strict=False)))
            .loglikelihood(cdnow_summary)
            .sum()
        )

    k = p0.size
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            hi, hj = 1e-4 * p0[i], 1e-4 * p0[j]

            def f(di: float, dj: float, i: int = i, j: int = j) -> float:
                q = p0.copy()
                q[i] += di
                q[j] += dj
                return nll(q)

            hess[i, j] = (f(hi, hj) - f(hi, -hj) - f(-hi, hj) + f(-hi, -hj)) / (4 * hi * hj)
    se = np.sqrt(np.diag(np.linalg.inv(hess)))
    np.testing.assert_allclose(fitted.standard_errors_.to_numpy(), se, rtol=1e-3)


def test_zero_frequency_rows_are_ignored_in_fit(cdnow_summary: pd.DataFrame) -> None:
    repeaters = cdnow_summary[cdnow_summary["frequency"] > 0]
    a = GammaGammaModel().fit(cdnow_summary).params_
    b = GammaGammaModel().fit(repeaters).params_
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-8)


def test_expected_spend_of_non_repeaters_is_population_mean(fitted: GammaGammaModel) -> None:
    spend = fitted.expected_spend({"frequency": [0, 0], "monetary_value": [0.0, 123.0]})
    np.testing.assert_allclose(spend.to_numpy(), fitted.population_mean_spend(), rtol=1e-12)


def test_correlation_helper(cdnow_summary: pd.DataFrame) -> None:
    """FHL 2005 report a correlation of 0.11 between x and zbar on CDNOW."""
    result = frequency_spend_correlation(cdnow_summary)
    repeaters = cdnow_summary[cdnow_summary["frequency"] > 0]
    expected = np.corrcoef(repeaters["frequency"], repeaters["monetary_value"])[0, 1]
    assert result.correlation == pytest.approx(expected, rel=1e-12)
    assert round(result.correlation, 2) == 0.11
    assert result.n == len(repeaters)
    assert 0.0 < result.p_value < 0.01


def test_warning_when_mean_is_undefined() -> None:
    model = GammaGammaModel.from_params(p=2.0, q=0.8, v=10.0)
    with pytest.warns(CustomerValueWarning, match="q=0.8 <= 1"):
        assert math.isinf(model.population_mean_spend())
    with pytest.warns(CustomerValueWarning, match="undefined"):
        spend = model.expected_spend({"frequency": [0, 3], "monetary_value": [0.0, 10.0]})
    assert math.isinf(spend.iloc[0])
    assert spend.iloc[1] == pytest.approx(2.0 * (10 + 30) / (6 + 0.8 - 1))


def test_fit_warns_when_q_below_one() -> None:
    # Spend so dispersed across customers that the fitted q falls below 1.
    rng = np.random.default_rng(0)
    n = 2000
    nu = rng.gamma(0.6, 1.0, size=n)
    x = rng.integers(1, 5, size=n)
    zbar = rng.gamma(10.0 * x, 1.0 / (nu * x))
    with pytest.warns(CustomerValueWarning, match="<= 1"):
        model = GammaGammaModel().fit({"frequency": x, "monetary_value": zbar})
    assert float(model.params_["q"]) <= 1.0


def test_persistence_roundtrip(
    fitted: GammaGammaModel, cdnow_summary: pd.DataFrame, tmp_path
) -> None:
    path = tmp_path / "gg.json"
    fitted.save(path)
    loaded = GammaGammaModel.load(path)
    pd.testing.assert_series_equal(
        loaded.expected_spend(cdnow_summary), fitted.expected_spend(cdnow_summary)
    )
    pd.testing.assert_frame_equal(loaded.summary_, fitted.summary_)
    assert list(fitted.summary_.columns) == ["estimate", "std_error", "ci_lower", "ci_upper"]
    assert "GammaGammaModel(p=6.249" in repr(fitted)


@given(
    p=st.floats(0.05, 200.0),
    q=st.floats(1.05, 200.0),
    v=st.floats(0.01, 1e4),
    x=st.integers(0, 10_000),
    zbar=st.floats(1e-6, 1e6),
)
def test_expected_spend_is_a_finite_shrinkage(
    p: float, q: float, v: float, x: int, zbar: float
) -> None:
    model = GammaGammaModel.from_params(p=p, q=q, v=v)
    value = float(model.expected_spend({"frequency": [x], "monetary_value": [zbar]}).iloc[0])
    mean = p * v / (q - 1)
    assert np.isfinite(value)
    low, high = (min(mean, zbar), max(mean, zbar)) if x > 0 else (mean, mean)
    assert low * (1 - 1e-9) <= value <= high * (1 + 1e-9)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            {"frequency": [1, 2, 3, 0], "monetary_value": [5.0, 0.0, -1.0, 0.0]},
            r"'monetary_value' must be > 0 .*2 row\(s\) are not, the first is row 1 with "
            r"monetary_value=0.0",
        ),
        ({"frequency": [-1, 2], "monetary_value": [5.0, 3.0]}, "'frequency' must be >= 0"),
        ({"frequency": [1.5, 2], "monetary_value": [5.0, 3.0]}, "whole numbers; row 0"),
        ({"frequency": [1, 2], "monetary_value": [np.nan, 3.0]}, "must be finite"),
        ({"frequency": [1, 2]}, "missing column.*'monetary_value'"),
        ({"frequency": [0, 0], "monetary_value": [0.0, 0.0]}, "'frequency' is 0 in every row"),
        ({"frequency": [1, 2], "monetary_value": [3.0, 3.0]}, "single value"),
    ],
)
def test_bad_input(data: dict[str, list[float]], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        GammaGammaModel().fit(data)


def test_bad_input_correlation() -> None:
    with pytest.raises(InvalidDataError, match="at least 3 customers"):
        frequency_spend_correlation({"frequency": [1, 0], "monetary_value": [2.0, 0.0]})
    with pytest.raises(InvalidDataError, match="constant"):
        frequency_spend_correlation({"frequency": [1, 1, 1], "monetary_value": [2.0, 3.0, 4.0]})
    with pytest.raises(InvalidDataError, match="must be > 0"):
        frequency_spend_correlation({"frequency": [1, 2, 3], "monetary_value": [2.0, -3.0, 4.0]})


def test_not_fitted() -> None:
    model = GammaGammaModel()
    with pytest.raises(NotFittedError, match="not fitted"):
        model.expected_spend({"frequency": [1], "monetary_value": [1.0]})
    with pytest.raises(NotFittedError, match="not fitted"):
        model.population_mean_spend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert repr(model) == "GammaGammaModel()"
