"""BG/BB: published donations estimates, lifetimes as an oracle, properties, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, special

from customer_value.clv import BetaGeoBetaBinomModel
from customer_value.errors import InvalidDataError, NotFittedError

PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def fitted(donations: pd.DataFrame) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel().fit(donations)


def test_published_estimates(fitted: BetaGeoBetaBinomModel) -> None:
    """Fader, Hardie & Shang (2010), Table 2: 1.204, 0.750, 0.657, 2.783; LL = -33,225.6."""
    for name, value in PUBLISHED.items():
        assert float(fitted.params_[name]) == pytest.approx(value, rel=5e-4)
    assert fitted.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert fitted.n_ == 11104
    assert fitted.time_unit_ == "Y"


def test_weights_column_is_the_default(donations: pd.DataFrame, fitted) -> None:
    explicit = BetaGeoBetaBinomModel().fit(donations, weights="weights")
    np.testing.assert_allclose(explicit.params_, fitted.params_, rtol=1e-10)
    expanded = donations.loc[donations.index.repeat(donations["weights"])].drop(columns="weights")
    again = BetaGeoBetaBinomModel().fit(expanded.reset_index(drop=True))
    np.testing.assert_allclose(again.params_, fitted.params_, rtol=1e-6)


def test_equals_lifetimes(fitted, donations: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the BG/BB oracle")
    x, tx, n, w = (donations[c] for c in ["frequency", "recency", "n_periods", "weights"])
    theirs = lifetimes.BetaGeoBetaBinomFitter().fit(x, tx, n, weights=w)
    np.testing.assert_allclose(
        fitted.params_.to_numpy(),
        theirs.params_[["alpha", "beta", "gamma", "delta"]].to_numpy(),
        rtol=1e-4,
    )
    theirs.params_ = pd.Series(dict(fitted.params_))
    for m in (0, 1, 5):
        np.testing.assert_allclose(
            fitted.probability_alive(future_periods=m).to_numpy(),
            theirs.conditional_probability_alive(m, x, tx, n).to_numpy(),
            rtol=1e-10,
        )
    for m in (1, 5, 30):
        np.testing.assert_allclose(
            fitted.expected_purchases(m).to_numpy(),
            theirs.conditional_expected_number_of_purchases_up_to_time(m, x, tx, n).to_numpy(),
            rtol=1e-10,
        )
    assert fitted.log_likelihood_ == pytest.approx(
        float(np.sum(w * fitted.loglikelihood().to_numpy())), rel=1e-12
    )


def test_new_customer_expectation_equals_sum_of_periods(fitted) -> None:
    """E[X(n)] = alpha/(alpha+beta) * sum_k S(k), S(k) = prod_{j<k} (delta+j)/(gamma+delta+j)."""
    a, b, g, d = fitted.params_.to_numpy()
    k = np.arange(1, 41)
    surv = np.cumprod((d + k - 1) / (g + d + k - 1))
    expected = a / (a + b) * np.cumsum(surv)
    ours = fitted.expected_purchases_new_customer(k).to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    # and at gamma == 1 (the removable singularity of the closed form)
    model = BetaGeoBetaBinomModel.from_params(alpha=1.0, beta=1.0, gamma=1.0, delta=2.0)
    surv1 = np.cumprod((2.0 + k - 1) / (3.0 + k - 1))
    np.testing.assert_allclose(
        model.expected_purchases_new_customer(k).to_numpy(), 0.5 * np.cumsum(surv1), rtol=1e-10
    )


def test_gradient_matches_finite_differences(donations) -> None:
    model = BetaGeoBetaBinomModel()
    data = {c: donations[c].to_numpy(dtype=float) for c in ["frequency", "recency", "n_periods"]}
    for p in ([1.2, 0.75, 0.66, 2.8], [0.05, 20.0, 3.0, 0.1]):
        params = np.array(p)
        _, grad = model._loglik_grad(params, data)
        numeric = optimize.approx_fprime(params, lambda q: model._loglik(q, data).sum(), 1e-7)
        np.testing.assert_allclose(grad.sum(axis=0), numeric, rtol=1e-4, atol=1e-5)


@given(
    alpha=st.floats(0.01, 100.0),
    beta=st.floats(0.01, 100.0),
    gamma=st.floats(0.01, 100.0),
    delta=st.floats(0.01, 100.0),
    n=st.integers(0, 200),  # 0: first seen at the last opportunity
    x_frac=st.floats(0.0, 1.0),
    tx_frac=st.floats(0.0, 1.0),
    m=st.integers(0, 100),
)
def test_probability_alive_in_unit_interval(alpha, beta, gamma, delta, n, x_frac, tx_frac, m):
    x = round(x_frac * n)
    tx = 0 if x == 0 else x + round(tx_frac * (n - x))
    model = BetaGeoBetaBinomModel.from_params(alpha=alpha, beta=beta, gamma=gamma, delta=delta)
    row = {"frequency": [x], "recency": [tx], "n_periods": [n]}
    p0 = float(model.probability_alive(row).iloc[0])
    pm = float(model.probability_alive(row, future_periods=m).iloc[0])
    e = model.expected_purchases([m, m + 1], pd.DataFrame(row).loc[[0, 0]]).to_numpy()
    assert 0.0 <= pm <= p0 <= 1.0
    assert np.all(np.isfinite(e))
    assert 0.0 <= e[0] <= e[1] * (1 + 1e-12)
    assert e[0] <= m + 1e-9


def test_customers_without_opportunities_are_defined(donations: pd.DataFrame, fitted) -> None:
    # Issue 17 (as bug 4 for T = 0): n_periods = 0 used to be refused. Such a row carries
    # no information (likelihood 1) and is predicted like a new customer, never NaN.
    model = BetaGeoBetaBinomModel.from_params(**PUBLISHED)
    rows = pd.DataFrame({"frequency": [0, 6], "recency": [0, 6], "n_periods": [0, 6]})
    assert model.loglikelihood(rows).iloc[0] == 0.0
    assert model.probability_alive(rows).iloc[0] == 1.0
    survive = np.exp(
        special.betaln(PUBLISHED["gamma"], PUBLISHED["delta"] + 1)
        - special.betaln(PUBLISHED["gamma"], PUBLISHED["delta"])
    )
    assert model.probability_alive(rows, future_periods=1).iloc[0] == pytest.approx(survive)
    new = model.expected_purchases_new_customer([0, 5]).to_numpy()
    np.testing.assert_allclose(model.expected_purchases(5, rows).iloc[0], new[1], rtol=1e-12)
    assert model.expected_purchases(0, rows).tolist() == [0.0, 0.0]
    # adding such customers to the donations data leaves the estimates where they were
    extra = pd.DataFrame({"frequency": [0], "recency": [0], "n_periods": [0], "weights": [500]})
    more = BetaGeoBetaBinomModel().fit(pd.concat([donations, extra], ignore_index=True))
    np.testing.assert_allclose(more.params_, fitted.params_, rtol=1e-6)
    assert more.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_persistence(fitted, tmp_path) -> None:
    path = tmp_path / "bgbb.json"
    fitted.save(path)
    loaded = BetaGeoBetaBinomModel.load(path)
    data = {"frequency": [0, 3], "recency": [0, 5], "n_periods": [6, 6]}
    pd.testing.assert_series_equal(
        loaded.expected_purchases(5, data), fitted.expected_purchases(5, data)
    )
    assert loaded.time_unit_ == "Y"
    pd.testing.assert_frame_equal(loaded.summary_, fitted.summary_)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (
            {"frequency": [2], "recency": [7], "n_periods": [6]},
            "'recency' must not exceed 'n_periods'",
        ),
        (
            {"frequency": [3], "recency": [2], "n_periods": [6]},
            "'frequency' must not exceed 'recency'",
        ),
        ({"frequency": [0], "recency": [2], "n_periods": [6]}, "'recency' must be 0 when"),
        ({"frequency": [1.5], "recency": [2], "n_periods": [6]}, "whole numbers"),
        ({"frequency": [-1], "recency": [2], "n_periods": [6]}, "must be >= 0"),
        ({"frequency": [1], "recency": [1]}, "missing column"),
    ],
)
def test_bad_rows(row, match) -> None:
    with pytest.raises(InvalidDataError, match=match):
        BetaGeoBetaBinomModel().fit(row)
    model = BetaGeoBetaBinomModel.from_params(**PUBLISHED)
    with pytest.raises(InvalidDataError, match=match):
        model.probability_alive(row)


def test_bad_options_and_not_fitted() -> None:
    row = {"frequency": [1], "recency": [1], "n_periods": [6]}
    with pytest.raises(NotFittedError):
        BetaGeoBetaBinomModel().probability_alive(row)
    model = BetaGeoBetaBinomModel.from_params(**PUBLISHED)
    with pytest.raises(InvalidDataError, match="future_periods"):
        model.probability_alive(row, future_periods=-1)
    with pytest.raises(InvalidDataError, match="n_future"):
        model.expected_purchases(1.5, row)
    with pytest.raises(InvalidDataError, match="one value per row"):
        model.expected_purchases([1, 2], row)
    with pytest.raises(InvalidDataError, match="'n' must be >= 0"):
        model.expected_purchases_new_customer(-1)
    with pytest.raises(InvalidDataError, match="'frequency' is 0 in every row"):
        BetaGeoBetaBinomModel().fit({"frequency": [0, 0], "recency": [0, 0], "n_periods": [6, 6]})


def _expected_patterns(params: dict[str, float], size: float) -> pd.DataFrame:
    """Every (x, t_x) pattern of 6 opportunities, weighted by its expected count."""
    rows = [(0, 0)] + [(x, tx) for tx in range(1, 7) for x in range(1, tx + 1)]
    frame = pd.DataFrame(rows, columns=["frequency", "recency"]).assign(n_periods=6)
    model = BetaGeoBetaBinomModel.from_params(**params)
    # the likelihood is that of one sequence; C(t_x - 1, x - 1) sequences share (x, t_x)
    x, tx = frame["frequency"].to_numpy(), frame["recency"].to_numpy()
    ways = np.where(x > 0, special.comb(np.maximum(tx - 1, 0), np.maximum(x - 1, 0)), 1.0)
    return frame.assign(weights=size * ways * np.exp(model.loglikelihood(frame).to_numpy()))


def test_covariates_with_one_binary_column_equal_separate_fits() -> None:
    # alpha, beta (purchase) and gamma, delta (dropout) each scaled by exp(coef * g): with a
    # 0/1 column the model is saturated, so its MLE is each group's own fit
    first = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    second = {"alpha": 0.8, "beta": 1.5, "gamma": 1.1, "delta": 1.9}
    data = pd.concat(
        [
            _expected_patterns(first, 11104).assign(g=0.0),
            _expected_patterns(second, 8000).assign(g=1.0),
        ],
        ignore_index=True,
    )
    model = BetaGeoBetaBinomModel(purchase_covariates=["g"], dropout_covariates=["g"]).fit(data)
    p = model.params_
    assert p.index.tolist()[4:] == [
        "purchase.alpha.g",
        "purchase.beta.g",
        "dropout.gamma.g",
        "dropout.delta.g",
    ]
    for group, truth in ((0.0, first), (1.0, second)):
        alone = BetaGeoBetaBinomModel().fit(data[data["g"] == group])
        scaled = [
            p[k] * np.exp(group * p[f"{proc}.{k}.g"])
            for k, proc in (
                ("alpha", "purchase"),
                ("beta", "purchase"),
                ("gamma", "dropout"),
                ("delta", "dropout"),
            )
        ]
        np.testing.assert_allclose(scaled, alone.params_, rtol=2e-4)
        np.testing.assert_allclose(scaled, list(truth.values()), rtol=2e-3)  # expected counts
    who = pd.DataFrame(
        {"frequency": [2, 2], "recency": [5, 5], "n_periods": [6, 6], "g": [0.0, 1.0]}
    )
    got = model.expected_purchases(5, who).to_numpy()
    for i, truth in enumerate((first, second)):
        plain = BetaGeoBetaBinomModel.from_params(**truth)
        assert got[i] == pytest.approx(
            float(plain.expected_purchases(5, who.iloc[[i]]).iloc[0]), rel=5e-3
        )
        assert model.probability_alive(who).iloc[i] == pytest.approx(
            float(plain.probability_alive(who.iloc[[i]]).iloc[0]), rel=5e-3
        )
        assert model.expected_purchases_new_customer(4, who).iloc[i] == pytest.approx(
            float(plain.expected_purchases_new_customer(4).iloc[0]), rel=5e-3
        )
    with pytest.raises(InvalidDataError, match=r"covariates.*pass data"):
        model.expected_purchases_new_customer(4)


def test_covariate_bgbb_with_zero_coefficients_is_the_plain_model() -> None:
    params = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    plain = BetaGeoBetaBinomModel.from_params(**params)
    spec = {"purchase_covariates": ["g"], "dropout_covariates": ["g"]}
    zeros = {
        f"{p}.{k}.g": 0.0
        for p, ks in (("purchase", "ab"), ("dropout", "gd"))
        for k in {"a": "alpha", "b": "beta", "g": "gamma", "d": "delta"}.values()
        if k[0] in ks
    }
    zero = BetaGeoBetaBinomModel.from_params(**params, **spec, **zeros)
    data = _expected_patterns(params, 100).assign(g=np.linspace(-3, 3, 22))
    for method in ("loglikelihood", "probability_alive"):
        np.testing.assert_allclose(
            getattr(zero, method)(data).to_numpy(),
            getattr(plain, method)(data).to_numpy(),
            rtol=1e-12,
        )
    np.testing.assert_allclose(
        zero.expected_purchases(3, data).to_numpy(),
        plain.expected_purchases(3, data).to_numpy(),
        rtol=1e-12,
    )
