"""sBG: Fader & Hardie (2007) estimates and projections, DERL, properties, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize

from customer_value.clv import ShiftedBetaGeoModel, cohort_from_survivors
from customer_value.errors import InvalidDataError, NotFittedError

# Fader & Hardie (2007), Table 1: % surviving years 0-12 (Berry & Linoff's data).
REGULAR = [100.0, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1, 22.3, 20.7, 19.4, 18.3, 17.3]
HIGH_END = [100.0, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1, 46.8, 44.5, 42.7, 40.9, 39.4]
SURVIVORS = {
    "regular": [1000, 631, 468, 382, 326, 289, 262, 241],
    "high_end": [1000, 869, 743, 653, 593, 551, 517, 491],
}
PUBLISHED = {"regular": (0.704, 1.182), "high_end": (0.668, 3.806)}
ACTUAL = {"regular": REGULAR, "high_end": HIGH_END}


@pytest.fixture(scope="module", params=sorted(SURVIVORS))
def case(request: pytest.FixtureRequest) -> tuple[str, ShiftedBetaGeoModel]:
    name = str(request.param)
    return name, ShiftedBetaGeoModel().fit(cohort_from_survivors(SURVIVORS[name]))


def test_published_estimates(case) -> None:
    """Fader & Hardie (2007), p. 84: regular (0.704, 1.182), high end (0.668, 3.806)."""
    name, model = case
    alpha, beta = PUBLISHED[name]
    assert float(model.params_["alpha"]) == pytest.approx(alpha, abs=5e-4)
    assert float(model.params_["beta"]) == pytest.approx(beta, abs=5e-4)
    assert model.n_ == 1000


def test_projection_to_year_12(case) -> None:
    """Fitted on years 0-7, the projections of years 8-12 track the actual survival of
    Table 1 (Fader & Hardie 2007, Figure 4) - within 2 percentage points."""
    name, model = case
    projected = 100 * model.survival(range(13)).to_numpy()
    actual = np.array(ACTUAL[name])
    assert np.all(np.abs(projected[8:] - actual[8:]) < 2.0)
    # closed form at the published parameters, year 12
    alpha, beta = PUBLISHED[name]
    s12 = np.prod([(beta + t - 1) / (alpha + beta + t - 1) for t in range(1, 13)])
    published = ShiftedBetaGeoModel.from_params(alpha=alpha, beta=beta)
    assert float(published.survival(12).iloc[0]) == pytest.approx(s12, rel=1e-12)
    assert 100 * s12 == pytest.approx(actual[12], abs=2.0)


def test_predictions_are_consistent(case) -> None:
    _, model = case
    t = np.arange(1, 30)
    surv = model.survival(np.arange(0, 30)).to_numpy()
    np.testing.assert_allclose(
        model.churn_probability(t).to_numpy(), surv[:-1] - surv[1:], rtol=1e-10
    )
    np.testing.assert_allclose(model.retention_rate(t).to_numpy(), surv[1:] / surv[:-1], rtol=1e-12)


def test_derl_equals_direct_sum(case) -> None:
    _, model = case
    rate = 0.10
    data = pd.DataFrame({"duration": [1, 4, 7, 3], "churned": [False, False, False, True]})
    derl = model.discounted_expected_residual_lifetime(data, discount_rate=rate).to_numpy()
    t = np.arange(0, 4000)
    surv = model.survival(t).to_numpy()
    for i, renewals in enumerate([1, 4, 7]):
        n = renewals + 1
        direct = np.sum(surv[n:] / surv[n - 1] * (1 + rate) ** -(t[n:] - n))
        assert derl[i] == pytest.approx(direct, rel=1e-9)
    assert derl[3] == 0.0


def test_gradient_and_fit_by_other_optimiser() -> None:
    data = cohort_from_survivors(SURVIVORS["regular"])
    model = ShiftedBetaGeoModel().fit(data)
    arrays = {
        "duration": data["duration"].to_numpy(float),
        "churned": data["churned"].to_numpy(float),
    }
    w = data["weights"].to_numpy()

    def nll(p: np.ndarray) -> float:
        return -float(np.sum(w * model._loglik(np.exp(p), arrays)))

    res = optimize.minimize(
        nll, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12}
    )
    np.testing.assert_allclose(model.params_.to_numpy(), np.exp(res.x), rtol=1e-5)
    p = np.array([0.5, 2.0])
    _, grad = model._loglik_grad(p, arrays)
    numeric = optimize.approx_fprime(p, lambda q: float(np.sum(w * model._loglik(q, arrays))), 1e-7)
    np.testing.assert_allclose(np.sum(w[:, None] * grad, axis=0), numeric, rtol=1e-5)


def test_cohort_from_survivors_and_percentages() -> None:
    frame = cohort_from_survivors(pd.Series(REGULAR[:8]))
    assert frame["weights"].sum() == pytest.approx(100.0)
    assert frame["churned"].tolist() == [True] * 7 + [False]
    percent = ShiftedBetaGeoModel().fit(frame)
    assert float(percent.params_["alpha"]) == pytest.approx(0.704, abs=1e-3)


def test_persistence(case, tmp_path) -> None:
    _, model = case
    path = tmp_path / "sbg.json"
    model.save(path)
    loaded = ShiftedBetaGeoModel.load(path)
    pd.testing.assert_series_equal(loaded.survival(range(13)), model.survival(range(13)))
    pd.testing.assert_frame_equal(loaded.summary_, model.summary_)


@given(
    alpha=st.floats(1e-3, 1e3),
    beta=st.floats(1e-3, 1e3),
    t=st.integers(1, 10_000),
    rate=st.floats(1e-4, 10.0),
)
def test_survival_non_increasing_and_retention_non_decreasing(alpha, beta, t, rate) -> None:
    model = ShiftedBetaGeoModel.from_params(alpha=alpha, beta=beta)
    surv = model.survival([t - 1, t, t + 1]).to_numpy()
    ret = model.retention_rate([t, t + 1]).to_numpy()
    assert np.all(np.isfinite(surv))
    assert np.all((surv >= 0) & (surv <= 1))
    assert surv[0] >= surv[1] >= surv[2]
    assert 0 <= ret[0] <= ret[1] <= 1
    derl = model.discounted_expected_residual_lifetime(
        {"duration": [t], "churned": [False]}, discount_rate=rate
    )
    value = float(derl.iloc[0])
    assert np.isfinite(value)
    assert 0 <= value <= (1 + rate) / rate * (1 + 1e-9)


@pytest.mark.parametrize(
    ("survivors", "match"),
    [
        ([1000, 631, 700], r"must not increase: row 2 has survivors=700.0 after 631.0"),
        ([1000], "at least one later count"),
        ([0, 0], "cohort size"),
        ([1000, -5], "must be >= 0"),
        ([1000, np.nan], "must be finite"),
    ],
)
def test_bad_survivors(survivors, match) -> None:
    with pytest.raises(InvalidDataError, match=match):
        cohort_from_survivors(survivors)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"duration": [0, 2], "churned": [True, False]}, "'duration' must be > 0"),
        ({"duration": [1.5, 2], "churned": [True, False]}, "whole numbers"),
        ({"duration": [1, 2], "churned": [2, 0]}, "'churned' must lie in"),
        ({"duration": [1, 2], "churned": [False, False]}, "False in every row"),
        ({"duration": [1, 1], "churned": [True, True]}, "churned in period 1"),
        ({"duration": [1, 2]}, "missing column"),
    ],
)
def test_bad_data(data, match) -> None:
    with pytest.raises(InvalidDataError, match=match):
        ShiftedBetaGeoModel().fit(data)


def test_bad_options_and_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        ShiftedBetaGeoModel().survival(3)
    model = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    with pytest.raises(InvalidDataError, match="t must be >= 0"):
        model.survival(-1)
    with pytest.raises(InvalidDataError, match="t must be >= 1"):
        model.retention_rate(0)
    with pytest.raises(InvalidDataError, match="t must be >= 1"):
        model.churn_probability([1, 0])
    with pytest.raises(InvalidDataError, match="discount_rate must be > 0"):
        model.discounted_expected_residual_lifetime(
            {"duration": [1], "churned": [False]}, discount_rate=0.0
        )


def _two_cohorts() -> pd.DataFrame:
    # Fader & Hardie (2007) table 1: "regular" (g=0) and "high end" (g=1) cohorts
    regular = cohort_from_survivors([1000, 631, 468, 382, 326, 289, 262, 241]).assign(g=0.0)
    high = cohort_from_survivors([1000, 869, 743, 653, 593, 551, 517, 491]).assign(g=1.0)
    return pd.concat([regular, high], ignore_index=True)


def test_covariates_with_one_binary_column_equal_separate_fits() -> None:
    # alpha_i = alpha exp(g_a g), beta_i = beta exp(g_b g): with a 0/1 column the model is
    # saturated, so its MLE is the two cohorts' own fits (0.704, 1.182 and 0.668, 3.806)
    data = _two_cohorts()
    model = ShiftedBetaGeoModel(dropout_covariates=["g"]).fit(data)
    assert model.params_.index.tolist() == ["alpha", "beta", "dropout.alpha.g", "dropout.beta.g"]
    regular = ShiftedBetaGeoModel().fit(data[data["g"] == 0])
    high = ShiftedBetaGeoModel().fit(data[data["g"] == 1])
    p = model.params_
    np.testing.assert_allclose([p["alpha"], p["beta"]], regular.params_, rtol=1e-4)
    np.testing.assert_allclose(
        [p["alpha"] * np.exp(p["dropout.alpha.g"]), p["beta"] * np.exp(p["dropout.beta.g"])],
        high.params_,
        rtol=1e-4,
    )
    assert high.params_.round(3).tolist() == [0.668, 3.806]
    assert model.log_likelihood_ == pytest.approx(
        regular.log_likelihood_ + high.log_likelihood_, abs=1e-6
    )
    # predictions use each customer's covariates
    who = pd.DataFrame({"g": [0.0, 1.0]}, index=["reg", "high"])
    surv = model.survival([1, 7], who)
    np.testing.assert_allclose(surv.loc["reg"], regular.survival([1, 7]), rtol=1e-4)
    np.testing.assert_allclose(surv.loc["high"], high.survival([1, 7]), rtol=1e-4)
    rr = model.retention_rate([2, 5], who)
    np.testing.assert_allclose(rr.loc["high"], high.retention_rate([2, 5]), rtol=1e-4)
    cp = model.churn_probability([1, 3], who)
    np.testing.assert_allclose(cp.loc["reg"], regular.churn_probability([1, 3]), rtol=1e-4)
    active = pd.DataFrame({"duration": [3, 3], "churned": [False, False], "g": [0.0, 1.0]})
    derl = model.discounted_expected_residual_lifetime(active, discount_rate=0.1).to_numpy()
    assert derl[0] == pytest.approx(
        float(
            regular.discounted_expected_residual_lifetime(active.iloc[[0]], discount_rate=0.1).iloc[
                0
            ]
        ),
        rel=1e-4,
    )
    assert derl[1] == pytest.approx(
        float(
            high.discounted_expected_residual_lifetime(active.iloc[[1]], discount_rate=0.1).iloc[0]
        ),
        rel=1e-4,
    )


def test_covariate_sbg_with_zero_coefficients_is_the_plain_model() -> None:
    plain = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    zero = ShiftedBetaGeoModel.from_params(
        alpha=0.704,
        beta=1.182,
        dropout_covariates=["g"],
        **{"dropout.alpha.g": 0.0, "dropout.beta.g": 0.0},
    )
    who = pd.DataFrame({"g": [0.3, -2.0]})
    for t in ([0, 1, 12], [1, 2, 9]):
        want = plain.survival(t).to_numpy()
        np.testing.assert_allclose(zero.survival(t, who).to_numpy(), [want, want], rtol=1e-12)
    data = _two_cohorts()
    np.testing.assert_allclose(
        zero.loglikelihood(data).to_numpy(), plain.loglikelihood(data).to_numpy(), rtol=1e-12
    )


def test_covariate_sbg_bad_configuration_and_missing_covariates() -> None:
    with pytest.raises(InvalidDataError, match="no purchase process"):
        ShiftedBetaGeoModel(purchase_covariates=["g"]).fit(_two_cohorts())
    with pytest.raises(InvalidDataError, match="one process only"):
        ShiftedBetaGeoModel(shared_covariates=["g"]).fit(_two_cohorts())
    model = ShiftedBetaGeoModel.from_params(
        alpha=0.7,
        beta=1.2,
        dropout_covariates=["g"],
        **{"dropout.alpha.g": 0.1, "dropout.beta.g": 0.2},
    )
    with pytest.raises(InvalidDataError, match=r"covariates.*'g'.*pass data"):
        model.survival([1, 2])
    with pytest.raises(InvalidDataError, match="'g' is missing"):
        model.survival([1, 2], pd.DataFrame({"h": [1.0]}))
