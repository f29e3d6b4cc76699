"""Edge cases found by exploratory property runs (HYPOTHESIS_PROFILE=explore)."""

from __future__ import annotations

import numpy as np
import pytest

from customer_value.clv import BetaGeoModel
from customer_value.errors import ConvergenceError


def test_bgnbd_expectation_when_a_plus_b_is_one() -> None:
    # a + b = 1 makes c = a + b - 1 = 0 for a new customer: c * 2F1(...; c; .) has a
    # finite limit, which must lie between the values just either side of it.
    t = np.array([1e-3, 1.0, 10.0])
    at = BetaGeoModel.from_params(r=22, alpha=1, a=0.5, b=0.5).expected_purchases_new_customer(t)
    above = BetaGeoModel.from_params(r=22, alpha=1, a=0.5, b=0.501)
    below = BetaGeoModel.from_params(r=22, alpha=1, a=0.5, b=0.499)
    hi = above.expected_purchases_new_customer(t).to_numpy()
    lo = below.expected_purchases_new_customer(t).to_numpy()
    assert np.all(at.to_numpy() > 0)
    assert np.all((lo < at.to_numpy()) & (at.to_numpy() < hi))
    assert at.to_numpy() == pytest.approx((lo + hi) / 2, rel=1e-5)


@pytest.mark.parametrize("t", [1e-300, 1e-206, 1e-12, 1e-9])
def test_bgnbd_expectation_for_vanishing_horizons(t: float) -> None:
    # E[X(t)] = P(alive) (r + x) t / (alpha + T) to first order in t
    model = BetaGeoModel.from_params(r=22, alpha=1, a=0.5, b=0.5)
    data = {"frequency": [0.0, 1.0, 3.0], "recency": [0.0, 1.0, 2.0], "T": [1.0, 1.0, 5.0]}
    got = model.expected_purchases(t, data).to_numpy()
    p_alive = model.probability_alive(data).to_numpy()
    expected = p_alive * (22 + np.array([0.0, 1.0, 3.0])) * t / (1 + np.array([1.0, 1.0, 5.0]))
    assert np.all(np.isfinite(got))
    assert got == pytest.approx(expected, rel=1e-6)
    new = model.expected_purchases_new_customer(t)
    assert float(new.iloc[0]) == pytest.approx(22 * t, rel=1e-6)


def test_bgnbd_expectation_where_two_hyp2f1_forms_agree_wrongly() -> None:
    # r=12.25, a=12.25, b=100, t/alpha ~ 9: scipy's hyp2f1 gives the same wrong value in
    # two transformed forms; the reference is E[X(t)] = E_p[(1 - (1 + p t/alpha)^-r) / p],
    # p ~ Beta(a, b), by adaptive quadrature.
    from scipy import integrate, stats

    r, alpha, a, b = 12.25, 68.65625, 12.25, 100.0
    model = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    times = [1.0, 300.0, 637.56, 1000.0, 3000.0]
    got = model.expected_purchases_new_customer(times).to_numpy()
    for t, value in zip(times, got, strict=True):
        kappa = t / alpha

        def integrand(p: float, kappa: float = kappa) -> float:
            return float((1 - (1 + p * kappa) ** (-r)) / p * stats.beta.pdf(p, a, b))

        reference = integrate.quad(integrand, 0, 1, epsrel=1e-12, limit=500, points=[0.1])[0]
        assert value == pytest.approx(reference, rel=1e-9)
    assert np.all(np.diff(got) > 0)


@pytest.mark.parametrize(
    "start",
    [
        None,
        # a start far out on the a, b -> inf ridge (the optimiser stalls there: ABNORMAL)
        [0.2526, 5.02, 4.63e5, 2.29e6],
        [1.0, 1.0, 1.0, 1.0],
    ],
)
def test_bgnbd_boundary_fit_is_named_whatever_the_start(start: list[float] | None) -> None:
    # 2,000 customers observed for 10 weeks cannot separate a from b (only a/(a+b)): a
    # fit from a far-off start once ended silently at a = 4.6e5; every start must now
    # raise the boundary-fit error that names the identified ratio
    truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    data = truth.simulate(2000, 10.0, random_state=0)
    with pytest.raises(ConvergenceError, match=r"boundary fit.*only the ratio a/b = 0\.20"):
        BetaGeoModel().fit(data, initial_params=start)
