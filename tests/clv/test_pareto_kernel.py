"""The Pareto/NBD hypergeometric kernel: scipy's hyp2f1 and the term-by-term series as
oracles of the grouped Taylor path and the per-row parameters of covariate models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from customer_value.clv import _pareto_kernel
from customer_value.clv._pareto_kernel import _series


@pytest.mark.parametrize(
    ("b", "c", "z"), [(1.5, 2.7, 0.3), (300.5, 302.2, 0.9), (0.2, 0.9, 0.0), (1.6, 3.0, 0.999)]
)
def test_series_equals_scipy_hyp2f1(b: float, c: float, z: float) -> None:
    S, Sb, Sc, Sz = _series(np.array([b]), np.array([c]), np.array([z]))
    assert S[0] == pytest.approx(special.hyp2f1(1.0, b, c, z), rel=1e-11)
    # d/dz 2F1(1, b; c; z) = (b / c) 2F1(2, b + 1; c + 1; z)
    assert Sz[0] == pytest.approx(b / c * special.hyp2f1(2.0, b + 1, c + 1, z), rel=1e-10)
    h = 1e-6
    fd_b = (special.hyp2f1(1.0, b + h, c, z) - special.hyp2f1(1.0, b - h, c, z)) / (2 * h)
    fd_c = (special.hyp2f1(1.0, b, c + h, z) - special.hyp2f1(1.0, b, c - h, z)) / (2 * h)
    assert Sb[0] == pytest.approx(fd_b, rel=1e-5, abs=1e-9)
    assert Sc[0] == pytest.approx(fd_c, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize(("b", "c"), [(0.55, 2.16), (40.55, 42.16), (1.61, 3.16), (300.5, 302.2)])
def test_grouped_taylor_series_equals_the_term_by_term_series(b: float, c: float) -> None:
    # the covariate fast path (Taylor polynomials per bucket of z) against _series,
    # on every bucket up to z = 0.95, including both edges of each bucket
    edges = _pareto_kernel._Z_EDGES
    z = np.unique(np.r_[edges, np.linspace(0.0, 0.95, 400)])
    n = z.size
    group = np.zeros(n, dtype=np.intp)
    fast = _pareto_kernel._series_by_group(np.full(n, b), np.full(n, c), z, group)
    slow = _series(np.full(n, b), np.full(n, c), z)
    for got, want in zip(fast, slow, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14 * np.abs(want).max())


def test_covariate_log_g_matches_the_plain_path_per_row() -> None:
    # per-row parameters (covariates) through the grouped path vs the exact series
    rng = np.random.default_rng(1)
    m = 5000
    x = rng.poisson(3, m).astype(float)
    u = rng.uniform(0, 60, m) * rng.integers(0, 2, m)
    params = np.asarray(
        [
            np.full(m, 0.55),
            10 * np.exp(rng.normal(0, 1.2, m)),
            np.full(m, 0.61),
            11 * np.exp(rng.normal(0, 1.2, m)),
        ]
    )
    code = np.unique(x, return_inverse=True)[1]
    want, want_g = _pareto_kernel._log_g(params, x, u, grad=True, z_quadrature=0.999)
    got, got_g = _pareto_kernel._log_g(params, x, u, grad=True, z_quadrature=0.8, x_code=code)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-10, atol=1e-13)


def test_arithmetic_buckets_equal_searchsorted_away_from_the_edges() -> None:
    edges = _pareto_kernel._Z_EDGES
    z = np.linspace(0.0, 0.95, 100_001)
    z = z[np.min(np.abs(z[:, None] - edges[None, :]), axis=1) > 1e-12]
    want = np.clip(np.searchsorted(edges, z, side="right") - 1, 0, edges.size - 2)
    np.testing.assert_array_equal(_pareto_kernel._bucket(z), want)
