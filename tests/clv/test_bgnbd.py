"""BG/NBD and MBG/NBD: published values, lifetimes as an oracle, independent numerics."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel

FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CLASSES = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel}


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        frame["frequency"].to_numpy(),
        frame["recency"].to_numpy(),
        frame["T"].to_numpy(),
    )


def test_published_bgnbd_estimates(fitted: dict[str, Any]) -> None:
    # Fader, Hardie & Lee (2005), section 5: r = 0.243, alpha = 4.414, a = 0.793,
    # b = 2.426, LL = -9582.4 on the CDNOW sample (2357 customers, 39 weeks).
    model = fitted["bgnbd"]
    for name, value in FHL.items():
        assert round(float(model.params_[name]), 3) == value
    assert round(model.log_likelihood_, 1) == -9582.4
    assert model.n_ == 2357


def _lifetimes_fitter(name: str) -> Any:
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the oracle for BG/NBD")
    return {"bgnbd": lifetimes.BetaGeoFitter, "mbgnbd": lifetimes.ModifiedBetaGeoFitter}[name]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_parameters_and_loglikelihood_equal_lifetimes(
    name: str, fitted: dict[str, Any], cdnow_summary: pd.DataFrame
) -> None:
    fitter_cls = _lifetimes_fitter(name)
    x, tx, T = _arrays(cdnow_summary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fitter_cls().fit(x, tx, T)
    ours = fitted[name]
    # 4 significant digits
    np.testing.assert_allclose(ours.params_.to_numpy(), theirs.params_.to_numpy(), rtol=1e-4)
    their_ll = -fitter_cls._negative_log_likelihood(
        np.log(theirs.params_.to_numpy()), x, tx, T, np.ones_like(x), 0.0
    ) * len(x)
    assert ours.log_likelihood_ == pytest.approx(their_ll, rel=1e-8)
    # our optimum is at least as good as theirs
    assert ours.log_likelihood_ >= their_ll - 1e-6
    np.testing.assert_allclose(
        ours.standard_errors_.to_numpy(), theirs.summary["se(coef)"].to_numpy(), rtol=1e-3
    )


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_predictions_equal_lifetimes(name: str, cdnow_summary: pd.DataFrame) -> None:
    fitter_cls = _lifetimes_fitter(name)
    x, tx, T = _arrays(cdnow_summary)
    theirs = fitter_cls()
    theirs.params_ = pd.Series(FHL)
    ours = CLASSES[name].from_params(**FHL)
    np.testing.assert_allclose(
        ours.expected_purchases(39, cdnow_summary).to_numpy(),
        theirs.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        ours.probability_alive(cdnow_summary).to_numpy(),
        theirs.conditional_probability_alive(x, tx, T),
        rtol=1e-12,
    )
    horizons = np.array([1.0, 39.0, 78.0, 500.0])
    np.testing.assert_allclose(
        ours.expected_purchases_new_customer(horizons).to_numpy(),
        theirs.expected_number_of_purchases_up_to_time(horizons),
        rtol=1e-10,
    )
    for n in (0, 1, 2, 7):
        assert float(ours.probability_of_purchases(n, 39).iloc[0]) == pytest.approx(
            float(theirs.probability_of_n_purchases_up_to_time(39, n)), rel=1e-10
        )
    per_row = -fitter_cls._negative_log_likelihood(
        np.log(np.array(list(FHL.values()))), x, tx, T, np.ones_like(x), 0.0
    ) * len(x)
    assert float(ours.loglikelihood(cdnow_summary).sum()) == pytest.approx(per_row, rel=1e-12)


def _numerical_hessian(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Second differences of the log-likelihood values (no gradient involved)."""
    p0 = model.params_.to_numpy()
    names = list(model.params_.index)
    cls = type(model)

    def ll(p: np.ndarray) -> float:
        model_p = cls.from_params(**dict(zip(names, p, strict=True)))
        return float(model_p.loglikelihood(frame).sum())

    k = p0.size
    h = 1e-4 * p0
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            hess[i, j] = (
                ll(p0 + ei + ej) - ll(p0 + ei - ej) - ll(p0 - ei + ej) + ll(p0 - ei - ej)
            ) / (4 * h[i] * h[j])
    return hess


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_standard_errors_match_numerical_hessian(
    name: str, fitted: dict[str, Any], cdnow_summary: pd.DataFrame
) -> None:
    model = fitted[name]
    cov = np.linalg.inv(-_numerical_hessian(model, cdnow_summary))
    np.testing.assert_allclose(model.covariance_.to_numpy(), cov, rtol=1e-3)
    np.testing.assert_allclose(model.standard_errors_.to_numpy(), np.sqrt(np.diag(cov)), rtol=1e-3)


def _expected_by_quadrature(
    name: str, p: dict[str, float], t: float, x: float, tx: float, T: float
) -> float:
    """E[Y(t) | x, t_x, T] as P(alive) times an integral over the posterior of p.

    Given alive, lambda | data ~ Gamma(r + x, alpha + T) and p | data ~ Beta(a, b + x)
    (MBG: b + x + 1); E[Y(t) | lambda, p] = (1 - exp(-lambda p t)) / p.
    """
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    shift = 0 if name == "bgnbd" else 1
    post_b = b + x + shift
    if x + shift == 0:
        alive = 1.0
    else:
        log_odds = np.log(a / (b + x + shift - 1)) + (r + x) * np.log((alpha + T) / (alpha + tx))
        alive = float(special.expit(-log_odds))

    def integrand(q: float) -> float:
        inner = -np.expm1(-(r + x) * np.log1p(q * t / (alpha + T))) / q
        return float(inner * stats.beta.pdf(q, a, post_b))

    value, _ = integrate.quad(integrand, 0.0, 1.0, limit=400, epsabs=0, epsrel=1e-11)
    return alive * value


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize(
    ("x", "tx", "T", "t"),
    [
        (0.0, 0.0, 39.0, 39.0),
        (2.0, 30.43, 38.86, 39.0),
        (300.0, 52.0, 52.0, 39.0),  # frequency in the hundreds, last purchase at T
        (500.0, 100.0, 3000.0, 52.0),  # T in the thousands
        (50.0, 2999.0, 3000.0, 1000.0),
        (1.0, 0.5, 5000.0, 10.0),
    ],
)
def test_expected_purchases_match_quadrature_at_extremes(
    name: str, x: float, tx: float, T: float, t: float
) -> None:
    model = CLASSES[name].from_params(**FHL)
    data = {"frequency": [x], "recency": [tx], "T": [T]}
    ours = float(model.expected_purchases(t, data).iloc[0])
    assert np.isfinite(ours)
    assert ours == pytest.approx(_expected_by_quadrature(name, FHL, t, x, tx, T), rel=1e-7)


def test_bgnbd_probability_alive_is_one_without_repeat_purchases() -> None:
    model = BetaGeoModel.from_params(**FHL)
    data = {"frequency": [0, 0, 0], "recency": [0, 0, 0], "T": [0.1, 50, 5000]}
    assert model.probability_alive(data).tolist() == [1.0, 1.0, 1.0]
    mbg = ModifiedBetaGeoModel.from_params(**FHL)
    # MBG/NBD: alive with probability b / (a + b) right after the first purchase, then
    # less and less likely the longer no repeat purchase follows.
    alive = mbg.probability_alive(data).to_numpy()
    assert alive[0] == pytest.approx(FHL["b"] / (FHL["a"] + FHL["b"]), abs=2e-3)
    assert alive[0] > alive[1] > alive[2] > 0


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_pmf_matches_monte_carlo(name: str) -> None:
    model = CLASSES[name].from_params(**FHL)
    sim = model.simulate(200_000, 39.0, random_state=11)
    counts = np.bincount(sim["frequency"].to_numpy().astype(int), minlength=4)[:4] / len(sim)
    pmf = model.probability_of_purchases([0, 1, 2, 3], 39).to_numpy()
    se = np.sqrt(pmf * (1 - pmf) / len(sim))
    assert np.all(np.abs(counts - pmf) < 5 * se)


def test_hypergeometric_identity_used_for_expectation() -> None:
    # Euler's transformation: 2F1(a, b; c; z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)
    a, b, c, z = 2.3, 1.7, 3.1, 0.4
    assert special.hyp2f1(a, b, c, z) == pytest.approx(
        (1 - z) ** (c - a - b) * special.hyp2f1(c - a, c - b, c, z), rel=1e-12
    )


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_parameter_recovery_coverage(name: str) -> None:
    """Fits to data simulated from known parameters land within 3 standard errors."""
    truth = np.array([0.4, 5.0, 0.8, 2.5])
    cls = CLASSES[name]
    generator = cls.from_params(**dict(zip(cls._param_names, truth, strict=False)))
    covered = 0
    seeds = range(20)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        T = rng.uniform(20.0, 60.0, size=2000)
        sim = generator.simulate(2000, T, random_state=seed)
        fit = cls().fit(sim)
        z = np.abs(fit.params_.to_numpy() - truth) / fit.standard_errors_.to_numpy()
        covered += bool(np.all(z < 3))
    # Nominal joint coverage is about 0.99; allow for finite-sample skew in a and b.
    assert covered >= 17


@pytest.mark.parametrize("region", [0, 1])
def test_safe_form_matches_mpmath(region: int) -> None:
    # Issue 17, performance: inside the regions where _expectation_bracket trusts form E
    # alone (no vote), it must agree with a 30-digit reference on random parameters.
    mpmath = pytest.importorskip("mpmath", reason="mpmath is the 2F1 oracle")
    from customer_value.clv import _bracket as _bgnbd

    k_lo, k_hi, b_hi, (a_lo, a_hi), r_hi = _bgnbd._SAFE_REGIONS[region]
    rng = np.random.default_rng(17 + region)
    n = 1000
    r = np.exp(rng.uniform(np.log(0.01), np.log(r_hi), n))
    a = np.exp(rng.uniform(np.log(a_lo), np.log(a_hi), n))
    b_post = np.exp(rng.uniform(np.log(0.05), np.log(b_hi), n))
    x = np.floor(rng.uniform(0.0, 1.0, n) * np.floor(b_post))
    kappa = np.exp(rng.uniform(np.log(k_lo), np.log(k_hi), n))
    mpmath.mp.dps = 30
    inside = (np.abs(a - 1.0) >= 1e-3) & (a + b_post - 1.0 >= 1.0)
    assert inside.sum() > 500
    for i in np.flatnonzero(inside):
        got = _bgnbd._expectation_bracket(
            r[i], a[i], b_post[i : i + 1], x[i : i + 1], kappa[i : i + 1]
        )
        c = a[i] + b_post[i] - 1.0
        reference = float(1 - mpmath.hyp2f1(r[i] + x[i], a[i] - 1.0, c, -kappa[i]))
        assert got[0] == pytest.approx(reference, rel=1e-9), (r[i], a[i], b_post[i], x[i])
