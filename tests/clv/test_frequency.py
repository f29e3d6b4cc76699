"""Validation and properties shared by the three purchase-frequency models."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from customer_value.errors import InvalidDataError

MODELS = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel, "pareto": ParetoNBDModel}
NAMES = sorted(MODELS)


def _frame(**columns: list[Any]) -> pd.DataFrame:
    base: dict[str, list[Any]] = {
        "frequency": [2.0, 0.0, 1.0],
        "recency": [5.0, 0.0, 3.0],
        "T": [10.0, 10.0, 8.0],
    }
    base.update(columns)
    return pd.DataFrame(base, index=["c1", "c2", "c3"])


BAD = [
    (_frame(frequency=[2.0, -1.0, 1.0]), r"'frequency' must be >= 0; row 1 \(label 'c2'\)"),
    (_frame(frequency=[2.5, 0.0, 1.0]), r"'frequency' must hold whole numbers; row 0 .*2\.5"),
    (
        _frame(recency=[11.0, 0.0, 3.0]),
        r"'recency' must not exceed 'T'; row 0 \(label .c1.\) has recency=.*11\.0",
    ),
    (
        _frame(recency=[0.0, 0.0, 3.0], T=[0.0, 10.0, 8.0]),
        r"'frequency' must be 0 when 'T' is 0 .*; row 0 \(label 'c1'\) has frequency=2\.0, T=0",
    ),
    (_frame(T=[10.0, -3.0, 8.0]), r"'T' must be >= 0; row 1"),
    (
        _frame(recency=[5.0, 2.0, 3.0]),
        r"'recency' must be 0 when 'frequency' is 0 .*; row 1 \(label 'c2'\) has recency=2\.0",
    ),
    (_frame(recency=[-1.0, 0.0, 3.0]), r"'recency' must be >= 0; row 0"),
    (_frame(recency=[5.0, np.nan, 3.0]), r"'recency' must be finite .*row 1"),
    (_frame(T=[10.0, 10.0, np.inf]), r"'T' must be finite .*row 2"),
    (_frame(frequency=["2", "x", "1"]), r"'frequency' must be numeric; row 1 .*'x'"),
    (_frame().drop(columns="T"), r"missing column\(s\) 'T'"),
    (_frame().iloc[:0], "is empty"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("data", "match"), BAD)
def test_bad_input_is_rejected_naming_column_row_and_value(
    name: str, data: pd.DataFrame, match: str
) -> None:
    with pytest.raises(InvalidDataError, match=match):
        MODELS[name]().fit(data)
    # predictions validate their data the same way
    model = MODELS[name].from_params(**dict.fromkeys(MODELS[name]._param_names, 1.0))
    if len(data):
        with pytest.raises(InvalidDataError, match=match):
            model.probability_alive(data)


@pytest.mark.parametrize("name", NAMES)
def test_nobody_repeats_is_not_identifiable(name: str) -> None:
    data = {"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [5.0, 9.0]}
    with pytest.raises(InvalidDataError, match=r"'frequency' is 0 in every row.*not identifiable"):
        MODELS[name]().fit(data)


@pytest.mark.parametrize("name", NAMES)
def test_bad_prediction_arguments(name: str, fitted: dict[str, Any]) -> None:
    model = fitted[name]
    with pytest.raises(InvalidDataError, match="'t' must be >= 0"):
        model.expected_purchases(-1)
    with pytest.raises(InvalidDataError, match="t must be a scalar or have one value per row"):
        model.expected_purchases([1.0, 2.0])
    with pytest.raises(InvalidDataError, match="'n' must hold whole numbers"):
        model.probability_of_purchases(1.5, 10)
    with pytest.raises(InvalidDataError, match="'n' must be >= 0"):
        model.probability_of_purchases(-1, 10)
    with pytest.raises(InvalidDataError, match="n_customers must be >= 1"):
        model.simulate(0, 10.0)
    with pytest.raises(InvalidDataError, match="'T' must be > 0"):
        model.simulate(5, 0.0)
    with pytest.raises(InvalidDataError, match=r"n_customers must be a whole number.*2\.5"):
        model.simulate(2.5, 10.0)


@pytest.mark.parametrize("name", NAMES)
def test_predictions_are_indexed_like_the_input(name: str, fitted: dict[str, Any]) -> None:
    model = fitted[name]
    data = _frame()
    for result in (
        model.expected_purchases(5, data),
        model.probability_alive(data),
        model.loglikelihood(data),
    ):
        assert list(result.index) == ["c1", "c2", "c3"]
    per_row = model.expected_purchases(np.array([1.0, 2.0, 3.0]), data)
    np.testing.assert_allclose(per_row.iloc[1], model.expected_purchases(2.0, data).iloc[1])
    assert model.expected_purchases(0, data).eq(0).all()


@pytest.mark.parametrize("name", NAMES)
def test_simulate_is_vectorised_consistent_and_reproducible(
    name: str, fitted: dict[str, Any]
) -> None:
    model = fitted[name]
    sim, times = model.simulate(3000, 39.0, random_state=7, return_times=True)
    again = model.simulate(3000, 39.0, random_state=7)
    pd.testing.assert_frame_equal(sim, again)
    assert list(sim.columns) == ["frequency", "recency", "T", "dropout_time"]
    assert (sim["recency"] <= sim["T"]).all()
    assert ((sim["frequency"] == 0) == (sim["recency"] == 0)).all()
    counts = times.groupby("customer_id").size()
    np.testing.assert_array_equal(
        counts.reindex(sim.index, fill_value=0).to_numpy(), sim["frequency"].to_numpy()
    )
    last = times.groupby("customer_id")["time"].max()
    np.testing.assert_allclose(last.to_numpy(), sim.loc[last.index, "recency"].to_numpy())
    # Mean of the simulated counts against the model's own E[X(T)] (about 5 SE)
    expected = float(model.expected_purchases_new_customer(39.0).iloc[0])
    se = float(sim["frequency"].std()) / np.sqrt(len(sim))
    assert abs(float(sim["frequency"].mean()) - expected) < 5 * se
    per_customer = model.simulate(4, [1.0, 2.0, 3.0, 4.0], random_state=1)
    assert per_customer["T"].tolist() == [1.0, 2.0, 3.0, 4.0]


# --------------------------------------------------------------------------- properties
positive = st.floats(min_value=0.01, max_value=100.0)
params_st = st.tuples(positive, positive, positive, positive)


@st.composite
def customers(draw: st.DrawFn) -> tuple[float, float, float]:
    T = draw(st.floats(min_value=0.01, max_value=5000.0))
    x = float(draw(st.integers(min_value=0, max_value=500)))
    if x == 0:
        return x, 0.0, T
    share = draw(st.one_of(st.just(1.0), st.just(0.0), st.floats(0.0, 1.0)))
    return x, T * share, T


def _model(name: str, p: tuple[float, float, float, float]) -> Any:
    cls = MODELS[name]
    return cls.from_params(**dict(zip(cls._param_names, p, strict=True)))


@pytest.mark.parametrize("name", NAMES)
@given(p=params_st, c=customers(), t1=st.floats(0.0, 1000.0), t2=st.floats(0.0, 1000.0))
def test_predictions_are_finite_bounded_and_monotone(
    name: str,
    p: tuple[float, float, float, float],
    c: tuple[float, float, float],
    t1: float,
    t2: float,
) -> None:
    model = _model(name, p)
    data = {"frequency": [c[0]], "recency": [c[1]], "T": [c[2]]}
    ll = float(model.loglikelihood(data).iloc[0])
    assert np.isfinite(ll)
    alive = float(model.probability_alive(data).iloc[0])
    assert 0.0 <= alive <= 1.0
    if name == "bgnbd" and c[0] == 0:
        assert alive == 1.0
    lo, hi = sorted((t1, t2))
    e_lo = float(model.expected_purchases(lo, data).iloc[0])
    e_hi = float(model.expected_purchases(hi, data).iloc[0])
    assert np.isfinite(e_lo)
    assert np.isfinite(e_hi)
    assert 0.0 <= e_lo <= e_hi * (1 + 1e-9) + 1e-12
    new = model.expected_purchases_new_customer([lo, hi]).to_numpy()
    assert np.all(np.isfinite(new))
    assert 0.0 <= new[0] <= new[1] * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("name", NAMES)
@given(p=params_st, t=st.floats(0.0, 200.0))
def test_pmf_sums_to_one(name: str, p: tuple[float, float, float, float], t: float) -> None:
    model = _model(name, p)
    n_max = 4000
    pmf = model.probability_of_purchases(np.arange(n_max), t).to_numpy()
    assert np.all(np.isfinite(pmf))
    assert np.all(pmf >= 0)
    mean = float(model.expected_purchases_new_customer(t).iloc[0])
    total = pmf.sum()
    # Markov: the mass beyond n_max is at most E[X(t)] / n_max
    assert total <= 1 + 1e-8
    assert total >= 1 - mean / n_max - 1e-8


@pytest.mark.parametrize("name", NAMES)
def test_customers_first_seen_at_the_end_are_accepted_and_carry_no_information(
    name: str, fitted: dict[str, Any], cdnow_summary: pd.DataFrame
) -> None:
    # Issue 17, bug 4: T = 0 (first purchase on the last day) blocked every fit. Such a
    # history has probability 1 under every model here: the fit must equal the fit
    # without those rows, their log-likelihood terms must be 0 and n_ counts them.
    late = pd.DataFrame(
        {"frequency": [0.0] * 50, "recency": [0.0] * 50, "T": [0.0] * 50},
        index=[f"late{i}" for i in range(50)],
    )
    data = pd.concat([cdnow_summary, late])
    model = MODELS[name]().fit(data)
    reference = fitted[name]
    np.testing.assert_allclose(model.params_, reference.params_, rtol=1e-6)
    assert model.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-10)
    assert model.n_ == len(cdnow_summary) + 50
    np.testing.assert_allclose(model.loglikelihood(late), 0.0, atol=1e-12)
    # predictions are defined: a customer who has just made the first purchase
    expected = model.expected_purchases(39.0, late)
    new = model.expected_purchases_new_customer(39.0).iloc[0]
    np.testing.assert_allclose(expected, new, rtol=1e-10)
    alive = model.probability_alive(late)
    assert np.all((alive > 0) & (alive <= 1))


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd"])
def test_customers_with_zero_T_match_lifetimes(name: str, cdnow_summary: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the oracle for BG/NBD")
    fitter_cls = {"bgnbd": lifetimes.BetaGeoFitter, "mbgnbd": lifetimes.ModifiedBetaGeoFitter}
    late = pd.DataFrame({"frequency": [0.0] * 20, "recency": [0.0] * 20, "T": [0.0] * 20})
    data = pd.concat([cdnow_summary, late], ignore_index=True)
    x, tx, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fitter_cls[name]().fit(x, tx, T)
    ours = MODELS[name]().fit(data)
    np.testing.assert_allclose(ours.params_.to_numpy(), theirs.params_.to_numpy(), rtol=1e-4)
    zero = np.zeros(3)
    fitter = fitter_cls[name]()
    fitter.params_ = ours.params_.rename(None)
    np.testing.assert_allclose(
        ours.expected_purchases(10.0, {"frequency": zero, "recency": zero, "T": zero}),
        fitter.conditional_expected_number_of_purchases_up_to_time(10.0, zero, zero, zero),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        ours.probability_alive({"frequency": zero, "recency": zero, "T": zero}),
        fitter.conditional_probability_alive(zero, zero, zero),
        rtol=1e-10,
    )
