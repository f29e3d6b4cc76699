"""Verified piecewise Chebyshev interpolation, and its use for the BG/NBD expectation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel
from customer_value.clv._chebyshev import fit_piecewise_chebyshev


def test_interpolant_meets_the_tolerance_and_splits_where_needed() -> None:
    rng = np.random.default_rng(0)
    u = rng.uniform(-3.0, 8.0, 10_000)
    fitted = fit_piecewise_chebyshev(np.sin, -3.0, 8.0, atol=1e-13, min_width=1e-3, max_evals=10**4)
    assert fitted is not None
    np.testing.assert_allclose(fitted(u), np.sin(u), rtol=0, atol=5e-13)

    def wavy(w: Any) -> Any:
        return np.sin(40.0 * w)

    steep = fit_piecewise_chebyshev(wavy, 0.0, 1.0, atol=1e-12, min_width=1e-3, max_evals=10**4)
    assert steep is not None
    assert len(steep.coef) > 1  # one degree-24 panel cannot hold six oscillations
    np.testing.assert_allclose(steep(u / 11 + 3 / 11), wavy(u / 11 + 3 / 11), rtol=0, atol=5e-12)


def test_gives_up_rather_than_returning_a_poor_approximation() -> None:
    def kink(u: Any) -> Any:
        return np.abs(u - 0.123456)

    assert (
        fit_piecewise_chebyshev(kink, 0.0, 1.0, atol=1e-12, min_width=1e-2, max_evals=10**5) is None
    )
    assert (
        fit_piecewise_chebyshev(np.log, -1.0, 1.0, atol=1e-12, min_width=1e-3, max_evals=10**4)
        is None
    )
    assert (
        fit_piecewise_chebyshev(np.exp, 0.0, 50.0, atol=1e-14, min_width=1e-3, max_evals=60) is None
    )


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},  # CDNOW (FHL 2005)
        {"r": 2.5, "alpha": 0.7, "a": 3.2, "b": 40.0},  # a > 1, large b
        {"r": 0.02, "alpha": 30.0, "a": 0.06, "b": 0.3},  # a near 0, tiny r
        {"r": 8.0, "alpha": 1.5, "a": 1.0004, "b": 1.2},  # a next to the removable 1
    ],
)
def test_interpolated_expectation_equals_direct_evaluation(
    cls: Any, params: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many rows per frequency switch on the interpolation in log kappa; it must agree with
    # the direct hyp2f1 evaluation to 1e-10 over kappa from 1e-4 to 1e5.
    from customer_value.clv import _bgnbd

    rng = np.random.default_rng(17)
    n = 3 * 5000
    x = np.repeat([0.0, 3.0, 25.0], 5000)
    T = rng.uniform(0.5, 80.0, n)
    t = np.exp(rng.uniform(np.log(1e-4), np.log(1e5), n)) * (params["alpha"] + T)
    model = cls.from_params(**params)
    p = model._params_array()
    fast = model._expected_alive(p, t, x, T)
    monkeypatch.setattr(_bgnbd, "_ROWS", 10**12)  # direct evaluation only
    slow = model._expected_alive(p, t, x, T)
    assert np.all(np.isfinite(fast))
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=0)
