"""Key driver analysis (Johnson's relative weights) and importance-performance analysis."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError
from customer_value.survey import importance_performance, key_driver_analysis


def r_squared(y: np.ndarray, x: np.ndarray) -> float:
    if x.shape[1] == 0:
        return 0.0
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return float(1 - resid @ resid / ((y - y.mean()) @ (y - y.mean())))


def shapley_r2(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Shapley decomposition of R^2 over all subsets (dominance analysis, general dominance)."""
    p = x.shape[1]
    r2 = {
        s: r_squared(y, x[:, list(s)])
        for size in range(p + 1)
        for s in itertools.combinations(range(p), size)
    }
    out = np.zeros(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        for size in range(p):
            w = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for s in itertools.combinations(others, size):
                out[j] += w * (r2[tuple(sorted((*s, j)))] - r2[s])
    return out


def survey(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    x = np.column_stack([common + rng.normal(scale=s, size=n) for s in (0.8, 1.0, 1.5, 2.0)])
    y = 0.6 * x[:, 0] + 0.3 * x[:, 1] + 0.1 * x[:, 3] + rng.normal(size=n)
    return pd.DataFrame(
        {"staff": x[:, 0], "price": x[:, 1], "decor": x[:, 2], "wait": x[:, 3], "overall": y}
    )


DRIVERS = ["staff", "price", "decor", "wait"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relative_weights_close_to_shapley(seed: int) -> None:
    df = survey(seed)
    kda = key_driver_analysis(df, outcome="overall", drivers=DRIVERS)
    y = df["overall"].to_numpy()
    x = df[DRIVERS].to_numpy()
    total = r_squared(y, x)
    # raw weights sum to the model R^2 exactly
    assert kda["relative_weight"].sum() == pytest.approx(total, rel=1e-10)
    assert kda.attrs["r_squared"] == pytest.approx(total, rel=1e-10)
    assert kda["share"].sum() == pytest.approx(1.0)
    shap = shapley_r2(y, x)
    assert shap.sum() == pytest.approx(total)
    # close, not equal (Johnson 2000; LeBreton et al. 2004 report near-identical rankings)
    np.testing.assert_allclose(kda["relative_weight"].to_numpy(), shap, atol=0.01)
    assert not np.allclose(kda["relative_weight"].to_numpy(), shap, atol=1e-9)
    assert kda["rank"].tolist() == list(pd.Series(-shap).rank(method="min").astype(int))
    np.testing.assert_allclose(
        kda["correlation"].to_numpy(), [np.corrcoef(df[d], y)[0, 1] for d in DRIVERS]
    )


def test_orthogonal_drivers_weights_are_squared_correlations() -> None:
    # with uncorrelated drivers each relative weight equals r_yx^2 (Johnson 2000)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    q, _ = np.linalg.qr(x - x.mean(axis=0))
    df = pd.DataFrame(q, columns=["a", "b", "c"])
    df["y"] = df["a"] * 3 + df["b"] + rng.normal(size=200) * 0.1
    kda = key_driver_analysis(df, outcome="y", drivers=["a", "b", "c"])
    np.testing.assert_allclose(kda["relative_weight"], kda["correlation"] ** 2, atol=1e-12)


def test_listwise_missing_rows() -> None:
    df = survey(4)
    df.loc[:9, "price"] = np.nan
    kda = key_driver_analysis(df, outcome="overall", drivers=DRIVERS)
    assert kda.attrs["n"] == len(df) - 10


def test_importance_performance_quadrants() -> None:
    df = survey(5)
    df["staff"] -= 1.0  # important but low performing
    df["decor"] += 1.0  # unimportant but high performing
    ipa = importance_performance(df, outcome="overall", drivers=DRIVERS)
    assert ipa.loc["staff", "quadrant"] == "concentrate here"
    assert ipa.loc["decor", "quadrant"] == "possible overkill"
    imp_line = ipa["importance"].mean()
    perf_line = ipa["performance"].mean()
    for driver, row in ipa.iterrows():
        high_i = row["importance"] >= imp_line
        high_p = row["performance"] >= perf_line
        expected = {
            (True, True): "keep up the good work",
            (True, False): "concentrate here",
            (False, True): "possible overkill",
            (False, False): "low priority",
        }[(high_i, high_p)]
        assert row["quadrant"] == expected, driver
    fixed = importance_performance(
        df,
        outcome="overall",
        drivers=DRIVERS,
        importance="correlation",
        importance_threshold=0.0,
        performance_threshold=100.0,
    )
    assert set(fixed["quadrant"]) == {"concentrate here"}


@given(st.integers(0, 2**32 - 1), st.integers(6, 60))
def test_weights_never_nan(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.integers(1, 6, size=(n, 3)).astype(float), columns=["a", "b", "y"])
    if (df.std() == 0).any() or abs(np.corrcoef(df["a"], df["b"])[0, 1]) > 0.999999:
        return
    kda = key_driver_analysis(df, outcome="y", drivers=["a", "b"])
    assert np.isfinite(kda[["correlation", "relative_weight", "share"]].to_numpy()).all()
    assert (kda["relative_weight"] >= 0).all()
    assert 0 <= kda.attrs["r_squared"] <= 1 + 1e-12


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: key_driver_analysis(
                pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [3, 3, 3, 3, 3], "y": [1, 3, 2, 5, 4]}),
                outcome="y",
                drivers=["a", "b"],
            ),
            r"driver 'b' is constant \(every complete row has b=3\.0\)",
        ),
        (
            lambda: key_driver_analysis(
                pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 4, 6, 8, 10], "y": [1, 3, 2, 5, 4]}),
                outcome="y",
                drivers=["a", "b"],
            ),
            "perfectly collinear",
        ),
        (
            lambda: key_driver_analysis(
                pd.DataFrame({"a": [1, "x", 3, 4, 5], "y": [1, 3, 2, 5, 4]}),
                outcome="y",
                drivers=["a"],
            ),
            "column 'a' must be numeric; row 1 has a='x'",
        ),
        (
            lambda: key_driver_analysis(
                pd.DataFrame({"a": [1, 2], "y": [1, 2]}), outcome="y", drivers=["a"]
            ),
            "2 complete row",
        ),
        (
            lambda: key_driver_analysis(pd.DataFrame({"a": [1, 2]}), outcome="y", drivers=["a"]),
            "missing column",
        ),
        (
            lambda: key_driver_analysis(pd.DataFrame({"a": [1, 2]}), outcome="a", drivers=["a"]),
            "also listed among the drivers",
        ),
        (
            lambda: key_driver_analysis(pd.DataFrame({"a": [1, 2]}), outcome="a", drivers="b"),
            "must be a list",
        ),
        (
            lambda: importance_performance(
                survey(0), outcome="overall", drivers=DRIVERS, importance="stated"
            ),
            "importance must be one of",
        ),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        call()  # type: ignore[operator]


@pytest.mark.parametrize("unit", [1e-300, 1e-150, 1e150, 1e300])
def test_weights_do_not_depend_on_units(unit: float) -> None:
    # corrcoef on 1e300-sized columns overflowed and returned zero weights without error
    df = survey(6)
    ref = key_driver_analysis(df, outcome="overall", drivers=DRIVERS)
    scaled = df.copy()
    scaled["overall"] *= unit
    scaled["staff"] = scaled["staff"] / unit + 1e3 / unit  # another unit and origin
    got = key_driver_analysis(scaled, outcome="overall", drivers=DRIVERS)
    for column in ("correlation", "relative_weight", "share"):
        np.testing.assert_allclose(got[column], ref[column], rtol=1e-9, atol=1e-12)
    assert got.attrs["r_squared"] == pytest.approx(ref.attrs["r_squared"], rel=1e-9)


def test_constant_driver_with_inexact_mean_is_refused() -> None:
    # the floating-point sd of seven values 0.1 is ~1e-17, not 0: the driver got weight 0
    df = pd.DataFrame({"a": [0.1] * 7, "b": [1, 2, 3, 4, 5, 6, 7.0], "y": [2, 1, 3, 5, 4, 7, 6.0]})
    with pytest.raises(InvalidDataError, match=r"driver 'a' is constant \(every complete row"):
        key_driver_analysis(df, outcome="y", drivers=["a", "b"])
