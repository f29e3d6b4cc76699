"""The optional compiled kernels (numba, the ``[fast]`` extra) against the numpy path.

Both paths evaluate the same formulas; here they must agree to 1e-12 relative on
covariate Pareto/NBD predictions and intervals and to 1e-10 on its log-likelihood and
gradient, including rows that take the quadrature (series argument near 1), frequencies
beyond the coefficient cache, and ``recency == T``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from customer_value.clv import ParetoNBDModel, prediction_intervals
from customer_value.clv._accelerate import accelerated
from customer_value.clv._intervals import _interval_from_draws

pytest.importorskip("numba", reason="the compiled kernels need numba (the [fast] extra)")
from customer_value.clv import _compiled

NAMES = ["x0", "x1"]


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """Histories with wide covariates: alpha_i / beta_i over several orders of magnitude."""
    rng = np.random.default_rng(7)
    n = 3000
    T = rng.uniform(1.0, 80.0, n)
    x = np.where(rng.random(n) < 0.05, rng.integers(60, 400, n), rng.poisson(2.0, n))
    x = x.astype(float)
    recency = np.where(x > 0, T * rng.random(n), 0.0)
    recency[:50] = np.where(x[:50] > 0, T[:50], 0.0)  # recency == T
    X = rng.normal(0.0, 1.5, (n, 2))
    X[50:80] = [[4.0, -4.0]]  # alpha_i / beta_i far apart: z close to 1 (quadrature)
    return pd.DataFrame({"frequency": x, "recency": recency, "T": T, "x0": X[:, 0], "x1": X[:, 1]})


@pytest.fixture(scope="module")
def model() -> ParetoNBDModel:
    return ParetoNBDModel.from_params(
        r=0.55,
        alpha=10.6,
        s=0.61,
        beta=11.7,
        purchase_covariates=NAMES,
        dropout_covariates=NAMES,
        **{"purchase.x0": 0.6, "purchase.x1": -0.4, "dropout.x0": -0.5, "dropout.x1": 0.3},
    )


def _both(monkeypatch: pytest.MonkeyPatch, fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, ...]:
    monkeypatch.setenv("CUSTOMER_VALUE_NUMBA", "0")
    assert not accelerated()
    reference = fn()
    monkeypatch.setenv("CUSTOMER_VALUE_NUMBA", "1")
    assert accelerated()
    return reference, fn()


def test_quadrature_rows_and_uncached_frequencies_are_present(
    customers: pd.DataFrame, model: ParetoNBDModel
) -> None:
    # the cases the kernel treats apart must really occur in the data below
    arrays, _ = model._prepare(customers)
    _, alpha, _, beta = model._row_params(arrays)
    z = np.abs(alpha - beta) / (np.maximum(alpha, beta) + customers["recency"].to_numpy())
    assert (z > _compiled._Z_QUADRATURE).sum() >= 20
    assert (customers["frequency"] >= _compiled._CACHED_X).sum() >= 50


@pytest.mark.parametrize("quantity", ["probability_alive", "expected_purchases"])
def test_predictions_equal_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch,
    customers: pd.DataFrame,
    model: ParetoNBDModel,
    quantity: str,
) -> None:
    def run() -> np.ndarray:
        if quantity == "probability_alive":
            return model.probability_alive(customers).to_numpy()
        return model.expected_purchases(26.0, customers).to_numpy()

    reference, fast = _both(monkeypatch, run)
    assert np.isfinite(fast).all()
    # Where P(alive) is astronomically small (frequencies in the hundreds, 1e-137), both
    # paths carry the rounding of log-likelihood terms of size ~1e3: |log p| * 1e-16 ~ 3e-13
    # relative, so the agreement there is 1e-11; everywhere else 1e-12.
    typical = customers["frequency"].to_numpy() < 200
    np.testing.assert_allclose(fast[typical], reference[typical], rtol=1e-12, atol=0)
    np.testing.assert_allclose(fast, reference, rtol=1e-11, atol=0)


@pytest.fixture(scope="module")
def training(customers: pd.DataFrame, model: ParetoNBDModel) -> pd.DataFrame:
    X = customers[NAMES].iloc[:2000].reset_index(drop=True)
    sim = model.simulate(2000, 40.0, random_state=3, covariates=X)
    assert isinstance(sim, pd.DataFrame)
    return pd.concat([sim[["frequency", "recency", "T"]], X], axis=1)


@pytest.fixture(scope="module")
def fitted(training: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel(purchase_covariates=NAMES, dropout_covariates=NAMES).fit(training)


@pytest.mark.parametrize(
    ("method", "quantity", "rtol"),
    [
        ("bootstrap", "expected_purchases", 1e-12),
        ("bootstrap", "probability_alive", 1e-12),
        # central differences with step 1e-4 turn a 1e-15 difference into 1e-11
        ("delta", "expected_purchases", 1e-8),
    ],
)
def test_intervals_equal_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch,
    customers: pd.DataFrame,
    fitted: ParetoNBDModel,
    method: str,
    quantity: str,
    rtol: float,
) -> None:
    head = customers.iloc[:400]

    def run() -> np.ndarray:
        out = prediction_intervals(
            fitted, head, quantity=quantity, t=39, method=method, n_draws=120, random_state=1
        )
        return out.to_numpy()

    reference, fast = _both(monkeypatch, run)
    np.testing.assert_allclose(fast[:, 0], reference[:, 0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(fast, reference, rtol=rtol, atol=0)
    assert ((fast[:, 1] <= fast[:, 0]) & (fast[:, 0] <= fast[:, 2])).all()
    assert (fast[:, 1] < fast[:, 2]).mean() > 0.5  # not degenerate


@pytest.mark.parametrize("customer_major", [False, True])
@pytest.mark.parametrize("level", [0.9, 0.8, 0.5])
def test_order_statistics_give_numpys_linear_quantiles(
    monkeypatch: pytest.MonkeyPatch, level: float, customer_major: bool
) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(201, 500))
    values[:, :40] = np.round(values[:, :40])  # ties
    values[:5, 40:60] = np.inf
    if customer_major:  # the draws after the first row of a draw_block result: no copy
        values = np.ascontiguousarray(np.vstack([values[:1], values]).T).T[1:]
        assert values.strides[0] == values.itemsize
        assert not values.flags.c_contiguous
    point = np.median(values, axis=0)
    reference, fast = _both(
        monkeypatch, lambda: np.vstack(_interval_from_draws(values, point, level))
    )
    np.testing.assert_array_equal(fast, reference)
    # numpy's "linear" quantiles (up to the rounding of their interpolation formula)
    q = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    want = np.vstack([np.minimum(q[0], point), np.maximum(q[1], point)])
    np.testing.assert_allclose(fast, want, rtol=1e-15, atol=1e-15)


def test_order_statistics_leave_nan_columns_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(1).normal(size=(50, 30))
    values[3, 7] = np.nan
    monkeypatch.setenv("CUSTOMER_VALUE_NUMBA", "1")
    assert np.isnan(_compiled.order_statistics(values, 2, 46)[0, 7])
    reference, fast = _both(
        monkeypatch, lambda: np.vstack(_interval_from_draws(values, values[0], 0.9))
    )
    np.testing.assert_array_equal(fast, reference)


def test_likelihood_and_gradient_equal_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch, customers: pd.DataFrame, model: ParetoNBDModel
) -> None:
    # the compiled log-likelihood kernel (_compiled_loglik) against the numpy per-row
    # path, per row and summed, with rows left to the quadrature and uncached frequencies
    arrays, _ = model._prepare(customers)
    full = model._params_array()
    weights = np.random.default_rng(2).uniform(0.5, 3.0, len(customers))

    def run() -> np.ndarray:
        data = model._augment(arrays)
        ll, grad = model._loglik_grad(model._row_params(data, full), data)
        total, total_grad = model._weighted_loglik_grad(full, data, weights)
        return np.concatenate([ll, grad.ravel(), [total], total_grad])

    reference, fast = _both(monkeypatch, run)
    assert np.isfinite(fast).all()
    np.testing.assert_allclose(fast, reference, rtol=1e-10, atol=1e-10)


def test_fit_equals_the_numpy_path(monkeypatch: pytest.MonkeyPatch, training: pd.DataFrame) -> None:
    def run() -> np.ndarray:
        model = ParetoNBDModel(purchase_covariates=NAMES, dropout_covariates=NAMES).fit(training)
        return np.r_[model.params_.to_numpy(), model.log_likelihood_]

    reference, fast = _both(monkeypatch, run)
    np.testing.assert_allclose(fast, reference, rtol=1e-8, atol=0)
