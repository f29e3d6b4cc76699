"""DERT: Pareto/NBD closed form and BG/NBD, MBG/NBD quadrature against independent integrals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special

from customer_value.clv import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    continuous_discount_rate,
)
from customer_value.errors import InvalidDataError, NotFittedError

PARETO = {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67}
FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
DELTA = math.log(1.15) / 52  # 15% a year with weekly data
CASES = {
    "frequency": [0, 4, 1, 60, 2, 3],
    "recency": [0.0, 30.0, 1.0, 38.0, 38.0, 100.0],
    "T": [38.0, 38.0, 38.0, 38.0, 38.0, 2000.0],
}


def _quad_dert(model, row: dict[str, list[float]], delta: float) -> float:
    """delta * int_0^inf exp(-delta t) E[Y(t)] dt with adaptive quadrature."""

    def f(t: float) -> float:
        return math.exp(-delta * t) * float(model.expected_purchases(t, row).iloc[0])

    value, _ = integrate.quad(f, 0, np.inf, limit=400, epsrel=1e-11)
    return delta * value


@pytest.mark.parametrize("delta", [DELTA, 0.05, 1e-4])
def test_pareto_closed_form_equals_numerical_integration(delta: float) -> None:
    model = ParetoNBDModel.from_params(**PARETO)
    closed = model.expected_discounted_transactions(CASES, discount_rate=delta).to_numpy()
    for i in range(len(closed)):
        row = {k: [v[i]] for k, v in CASES.items()}
        assert closed[i] == pytest.approx(_quad_dert(model, row, delta), rel=1e-6)


def _posterior_dert(model, shift: int, x: float, tx: float, T: float, delta: float) -> float:
    """P(alive) * E[lambda / (delta + p lambda)] over the posterior of the alive customer.

    While alive, purchases are Poisson(lambda) and the customer leaves after each one
    with probability p, so the discounted count is sum_j (1-p)^(j-1) (lambda/(lambda+delta))^j
    = lambda / (delta + p lambda); given alive, lambda ~ gamma(r+x, alpha+T) and
    p ~ beta(a, b+x+shift). A derivation independent of E[Y(t)].
    """
    r, alpha, a, b = model.params_.to_numpy()
    R, A, B = r + x, alpha + T, b + x + shift
    alive = float(model.probability_alive({"frequency": [x], "recency": [tx], "T": [T]}).iloc[0])

    def over_p(p: float) -> float:
        def over_lam(lam: float) -> float:
            log_dens = (R - 1) * math.log(lam) + R * math.log(A) - A * lam - special.gammaln(R)
            return lam / (delta + p * lam) * math.exp(log_dens)

        inner, _ = integrate.quad(over_lam, 0, np.inf, limit=200, epsrel=1e-10)
        return inner * math.exp(
            (a - 1) * math.log(p) + (B - 1) * math.log1p(-p) - special.betaln(a, B)
        )

    value, _ = integrate.quad(over_p, 0, 1, limit=200, epsrel=1e-10)
    return alive * value


@pytest.mark.parametrize(("cls", "shift"), [(BetaGeoModel, 0), (ModifiedBetaGeoModel, 1)])
def test_beta_geo_quadrature_equals_posterior_integral(cls, shift: int) -> None:
    model = cls.from_params(**FHL)
    rows = {"frequency": [0, 4, 20], "recency": [0.0, 30.0, 38.0], "T": [38.0, 38.0, 38.0]}
    ours = model.expected_discounted_transactions(rows, discount_rate=DELTA).to_numpy()
    for i in range(3):
        x, tx, T = rows["frequency"][i], rows["recency"][i], rows["T"][i]
        assert ours[i] == pytest.approx(_posterior_dert(model, shift, x, tx, T, DELTA), rel=1e-6)


def test_defaults_to_training_data(cdnow_summary) -> None:
    model = ParetoNBDModel.from_params(**PARETO)
    with pytest.raises(InvalidDataError, match="no training data"):
        model.expected_discounted_transactions(discount_rate=DELTA)
    fitted = BetaGeoModel().fit(cdnow_summary)
    delta = continuous_discount_rate(0.15, fitted.time_unit_)
    dert = fitted.expected_discounted_transactions(discount_rate=delta)
    assert dert.index.equals(cdnow_summary.index)
    assert np.all(np.isfinite(dert))
    assert np.all(dert > 0)
    # The first year alone contributes at least E[Y(52)] * exp(-52 delta) = E[Y(52)] / 1.15.
    floor = fitted.expected_purchases(52).to_numpy() / 1.15
    assert np.all(dert.to_numpy() >= floor * (1 - 1e-9))


@given(
    d1=st.floats(1e-5, 10.0),
    d2=st.floats(1e-5, 10.0),
    x=st.integers(0, 500),
    frac=st.floats(0.0, 1.0),
    T=st.floats(0.5, 5000.0),
    name=st.sampled_from(["bg", "mbg", "pareto"]),
)
def test_finite_positive_and_decreasing_in_rate(
    d1: float, d2: float, x: int, frac: float, T: float, name: str
) -> None:
    model = {
        "bg": lambda: BetaGeoModel.from_params(**FHL),
        "mbg": lambda: ModifiedBetaGeoModel.from_params(**FHL),
        "pareto": lambda: ParetoNBDModel.from_params(**PARETO),
    }[name]()
    tx = frac * T if x > 0 else 0.0
    row = {"frequency": [x], "recency": [tx], "T": [T]}
    lo, hi = sorted((d1, d2))
    a = float(model.expected_discounted_transactions(row, discount_rate=lo).iloc[0])
    b = float(model.expected_discounted_transactions(row, discount_rate=hi).iloc[0])
    assert np.isfinite(a)
    assert np.isfinite(b)
    assert 0.0 <= b <= a * (1 + 1e-7) + 1e-300


@pytest.mark.parametrize("rate", [0.0, -0.1, math.inf, "x"])
def test_bad_rate(rate) -> None:
    model = ParetoNBDModel.from_params(**PARETO)
    with pytest.raises(InvalidDataError, match="discount_rate"):
        model.expected_discounted_transactions(CASES, discount_rate=rate)


def test_bad_data_and_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        BetaGeoModel().expected_discounted_transactions(CASES, discount_rate=DELTA)
    bad = dict(CASES, recency=[0.0, 40.0, 1.0, 38.0, 38.0, 100.0])
    with pytest.raises(InvalidDataError, match="'recency' must not exceed 'T'; row 1"):
        ParetoNBDModel.from_params(**PARETO).expected_discounted_transactions(
            bad, discount_rate=DELTA
        )
