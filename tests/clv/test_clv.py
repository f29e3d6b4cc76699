"""customer_lifetime_value: lifetimes as an oracle, unit conversions, properties, bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    continuous_discount_rate,
    customer_lifetime_value,
    units_per_year,
)
from customer_value.errors import InvalidDataError, NotFittedError

FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "v": 15.44}
WEEKS_PER_MONTH_LIFETIMES = 4.345  # lifetimes' hard-coded month for freq="W"


@pytest.fixture(scope="module")
def models(cdnow_summary: pd.DataFrame) -> tuple[BetaGeoModel, GammaGammaModel]:
    return BetaGeoModel().fit(cdnow_summary), GammaGammaModel().fit(cdnow_summary)


def test_equals_lifetimes(models, cdnow_summary: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the CLV oracle")
    bg, gg = models
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(dict(bg.params_))
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series(dict(gg.params_))
    for months, monthly_rate in [(12, 0.01), (3, 0.0), (24, 0.05)]:
        theirs = ggf.customer_lifetime_value(
            bgf,
            cdnow_summary["frequency"],
            cdnow_summary["recency"],
            cdnow_summary["T"],
            cdnow_summary["monetary_value"],
            time=months,
            discount_rate=monthly_rate,
            freq="W",
        )
        ours = customer_lifetime_value(
            bg,
            gg,
            cdnow_summary,
            horizon=months * WEEKS_PER_MONTH_LIFETIMES,
            discount_rate=monthly_rate,
            discount_period=WEEKS_PER_MONTH_LIFETIMES,
            steps_per_unit=1 / WEEKS_PER_MONTH_LIFETIMES,
        )
        np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-6)
        assert ours.index.equals(cdnow_summary.index)


def test_zero_rate_is_spend_times_expected_purchases(models, cdnow_summary) -> None:
    bg, gg = models
    clv = customer_lifetime_value(bg, gg, cdnow_summary, horizon=52, discount_rate=0.0, margin=0.3)
    expected = 0.3 * gg.expected_spend(cdnow_summary) * bg.expected_purchases(52, cdnow_summary)
    np.testing.assert_allclose(clv.to_numpy(), expected.to_numpy(), rtol=1e-10)


def test_unit_conversions_are_consistent(models, cdnow_summary) -> None:
    bg, gg = models
    data = cdnow_summary.iloc[:50]
    yearly = customer_lifetime_value(bg, gg, data, horizon=104, discount_rate=0.10)
    explicit = customer_lifetime_value(
        bg, gg, data, horizon=104, discount_rate=0.10, discount_period=52.0
    )
    monthly = customer_lifetime_value(
        bg, gg, data, horizon=104, discount_rate=1.10 ** (1 / 12) - 1, discount_period="month"
    )
    weekly = customer_lifetime_value(
        bg, gg, data, horizon=104, discount_rate=1.10 ** (1 / 52) - 1, discount_period="W"
    )
    for other in (explicit, monthly, weekly):
        np.testing.assert_allclose(yearly.to_numpy(), other.to_numpy(), rtol=1e-12)
    # By hand for one customer: weekly cash flows discounted at 10% a year (52 weeks).
    row = data.iloc[[0]]
    cum = [float(bg.expected_purchases(t, row).iloc[0]) for t in range(105)]
    spend = float(gg.expected_spend(row).iloc[0])
    by_hand = sum(spend * (cum[k] - cum[k - 1]) / 1.10 ** (k / 52) for k in range(1, 105))
    assert float(yearly.iloc[0]) == pytest.approx(by_hand, rel=1e-12)


def test_coarser_steps(models, cdnow_summary) -> None:
    bg, gg = models
    data = cdnow_summary.iloc[:20]
    quarterly = customer_lifetime_value(
        bg, gg, data, horizon=52, discount_rate=0.0, steps_per_unit=1 / 13
    )
    weekly = customer_lifetime_value(bg, gg, data, horizon=52, discount_rate=0.0)
    np.testing.assert_allclose(quarterly.to_numpy(), weekly.to_numpy(), rtol=1e-12)


def test_units_and_continuous_rate() -> None:
    assert units_per_year("W") == 52.0
    assert units_per_year("2W") == 26.0
    assert units_per_year("D") == 365.0
    assert units_per_year("ME") == 12.0
    assert units_per_year("W-SUN") == 52.0
    assert continuous_discount_rate(0.15, "W") == pytest.approx(math.log(1.15) / 52, rel=1e-15)
    assert continuous_discount_rate(0.01, "D", per="month") == pytest.approx(
        math.log(1.01) * 12 / 365, rel=1e-15
    )


def test_works_with_pareto(cdnow_summary) -> None:
    pareto = ParetoNBDModel.from_params(r=0.553, alpha=10.58, s=0.606, beta=11.67, time_unit="W")
    gg = GammaGammaModel.from_params(**GG)
    clv = customer_lifetime_value(pareto, gg, cdnow_summary, horizon=52, discount_rate=0.1)
    assert np.all(np.isfinite(clv))
    assert np.all(clv >= 0)


_data = {
    "frequency": [0, 2, 40],
    "recency": [0.0, 30.0, 38.0],
    "T": [38.0, 38.0, 39.0],
    "monetary_value": [0.0, 20.0, 50.0],
}


@given(
    rate1=st.floats(0.0, 5.0),
    rate2=st.floats(0.0, 5.0),
    h1=st.integers(1, 300),
    h2=st.integers(1, 300),
)
def test_monotone_in_rate_and_horizon(rate1: float, rate2: float, h1: int, h2: int) -> None:
    bg = BetaGeoModel.from_params(time_unit="W", **FHL)
    gg = GammaGammaModel.from_params(**GG)
    lo_r, hi_r = sorted((rate1, rate2))
    lo_h, hi_h = sorted((h1, h2))
    a = customer_lifetime_value(bg, gg, _data, horizon=lo_h, discount_rate=lo_r)
    b = customer_lifetime_value(bg, gg, _data, horizon=lo_h, discount_rate=hi_r)
    c = customer_lifetime_value(bg, gg, _data, horizon=hi_h, discount_rate=lo_r)
    for s in (a, b, c):
        assert np.all(np.isfinite(s))
        assert np.all(s >= 0)
    assert np.all(b.to_numpy() <= a.to_numpy() * (1 + 1e-12))
    assert np.all(c.to_numpy() >= a.to_numpy() * (1 - 1e-12))


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 0, "discount_rate": 0.1}, "horizon must be > 0"),
        ({"horizon": -5, "discount_rate": 0.1}, "horizon must be > 0"),
        ({"horizon": 52, "discount_rate": -0.1}, "discount_rate must be >= 0"),
        ({"horizon": 52, "discount_rate": 0.1, "margin": 0}, "margin must be > 0"),
        ({"horizon": 52.5, "discount_rate": 0.1}, "whole number of steps"),
        ({"horizon": 52, "discount_rate": 0.1, "steps_per_unit": 0.3}, "whole number"),
        ({"horizon": 52, "discount_rate": 0.1, "discount_period": "fortnight"}, "unknown time"),
        ({"horizon": 52, "discount_rate": 0.1, "discount_period": -1.0}, "discount_period"),
        ({"horizon": 52, "discount_rate": 0.1, "discount_period": [1]}, "discount_period"),
        ({"horizon": np.nan, "discount_rate": 0.1}, "horizon must be finite"),
    ],
)
def test_bad_options(kwargs, match) -> None:
    bg = BetaGeoModel.from_params(time_unit="W", **FHL)
    gg = GammaGammaModel.from_params(**GG)
    with pytest.raises(InvalidDataError, match=match):
        customer_lifetime_value(bg, gg, _data, **kwargs)


def test_unknown_model_unit_is_never_guessed() -> None:
    gg = GammaGammaModel.from_params(**GG)
    no_unit = BetaGeoModel.from_params(**FHL)
    with pytest.raises(InvalidDataError, match="has no time_unit"):
        customer_lifetime_value(no_unit, gg, _data, horizon=52, discount_rate=0.1)
    # ... but an explicit period length needs no unit
    clv = customer_lifetime_value(
        no_unit, gg, _data, horizon=52, discount_rate=0.1, discount_period=52.0
    )
    assert np.all(np.isfinite(clv))
    odd = BetaGeoModel.from_params(time_unit="B", **FHL)
    with pytest.raises(InvalidDataError, match="'B' is not a unit"):
        customer_lifetime_value(odd, gg, _data, horizon=52, discount_rate=0.1)


def test_bad_data_and_not_fitted() -> None:
    bg = BetaGeoModel.from_params(time_unit="W", **FHL)
    gg = GammaGammaModel.from_params(**GG)
    bad = dict(_data, recency=[0.0, 40.0, 38.0])
    with pytest.raises(InvalidDataError, match="'recency' must not exceed 'T'; row 1"):
        customer_lifetime_value(bg, gg, bad, horizon=52, discount_rate=0.1)
    bad_spend = dict(_data, monetary_value=[0.0, -1.0, 50.0])
    with pytest.raises(InvalidDataError, match="monetary_value"):
        customer_lifetime_value(bg, gg, bad_spend, horizon=52, discount_rate=0.1)
    with pytest.raises(NotFittedError):
        customer_lifetime_value(BetaGeoModel(), gg, _data, horizon=52, discount_rate=0.1)
    with pytest.raises(NotFittedError):
        customer_lifetime_value(bg, GammaGammaModel(), _data, horizon=52, discount_rate=0.1)


def test_data_in_another_time_unit_is_refused(cdnow_summary) -> None:
    # A daily summary valued with a weekly model would be silently wrong by a factor ~7.
    bg = BetaGeoModel.from_params(time_unit="W", **FHL)
    gg = GammaGammaModel.from_params(**GG)
    daily = cdnow_summary.iloc[:5].copy()
    daily[["recency", "T"]] = daily[["recency", "T"]] * 7
    daily.attrs["time_unit"] = "D"
    with pytest.raises(InvalidDataError, match=r"data has time_unit 'D'.*fitted in 'W'"):
        customer_lifetime_value(bg, gg, daily, horizon=52, discount_rate=0.1)
    # the same unit under another spelling is accepted
    weekly = cdnow_summary.iloc[:5].copy()
    weekly.attrs["time_unit"] = "week"
    clv = customer_lifetime_value(bg, gg, weekly, horizon=52, discount_rate=0.1)
    assert np.all(np.isfinite(clv))


def test_time_unit_given_to_fit_when_a_join_dropped_the_attrs(cdnow_summary: pd.DataFrame) -> None:
    # Issue 17, bug 5: summary.join(crm) loses attrs["time_unit"]; CLV per year then
    # refused. The clear error stays, and fit(..., time_unit=) states the unit.
    crm = pd.DataFrame({"region": ["north"] * len(cdnow_summary)}, index=cdnow_summary.index)
    joined = cdnow_summary.join(crm)
    assert "time_unit" not in joined.attrs
    gg = GammaGammaModel.from_params(**GG)
    lost = BetaGeoModel().fit(joined)
    with pytest.raises(InvalidDataError, match=r"has no time_unit.*fit\(data, time_unit='W'\)"):
        customer_lifetime_value(lost, gg, joined, horizon=52, discount_rate=0.1)
    stated = BetaGeoModel().fit(joined, time_unit="W")
    assert stated.time_unit_ == "W"
    reference = BetaGeoModel().fit(cdnow_summary)
    np.testing.assert_allclose(
        customer_lifetime_value(stated, gg, joined, horizon=52, discount_rate=0.1),
        customer_lifetime_value(reference, gg, cdnow_summary, horizon=52, discount_rate=0.1),
        rtol=1e-9,
    )
    # a unit that contradicts the data's own is refused; an equal spelling is not
    with pytest.raises(InvalidDataError, match=r"time_unit='D' contradicts the data.*'W'"):
        BetaGeoModel().fit(cdnow_summary, time_unit="D")
    assert BetaGeoModel().fit(cdnow_summary, time_unit="week").time_unit_ == "week"


@pytest.mark.parametrize("unit", ["fortnight", "", 123, True])
def test_unknown_time_units_are_refused(unit: Any, cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(InvalidDataError, match="time_unit"):
        BetaGeoModel().fit(cdnow_summary[["frequency", "recency", "T"]], time_unit=unit)
    with pytest.raises(InvalidDataError, match="time_unit"):
        BetaGeoModel.from_params(time_unit=unit, **FHL)


def test_models_in_the_wrong_place_get_a_typed_error() -> None:
    # Issue 17, bug 8: a frequency model as the spend model raised AttributeError.
    bg = BetaGeoModel.from_params(time_unit="W", **FHL)
    gg = GammaGammaModel.from_params(**GG)
    with pytest.raises(InvalidDataError, match=r"spend_model must be a spend model.*BetaGeoModel"):
        customer_lifetime_value(bg, bg, _data, horizon=52, discount_rate=0.1)  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match=r"transaction_model must be a purchase-frequency"):
        customer_lifetime_value(gg, gg, _data, horizon=52, discount_rate=0.1)  # type: ignore[arg-type]


def test_absurd_horizons_are_refused_at_once() -> None:
    # Issue 17, bug 7: horizon=1e9 looped (and allocated) once per step, for hours.
    bg = BetaGeoModel.from_params(time_unit="W", **FHL)
    gg = GammaGammaModel.from_params(**GG)
    with pytest.raises(InvalidDataError, match=r"cash-flow steps; at most 10,000.*steps_per_unit"):
        customer_lifetime_value(bg, gg, _data, horizon=1e9, discount_rate=0.1)
    # the same horizon in few steps is fine
    value = customer_lifetime_value(
        bg, gg, _data, horizon=5200, steps_per_unit=1 / 52, discount_rate=0.1
    )
    assert np.all(np.isfinite(value))


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ParetoNBDModel])
def test_vectorised_steps_equal_the_step_by_step_definition(
    model_cls: Any, cdnow_summary: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customer_value.clv import _clv

    summary = cdnow_summary.iloc[:300]
    model = model_cls().fit(cdnow_summary)
    gg = GammaGammaModel.from_params(**GG)
    n_steps, rate = 30, 0.12
    previous = np.zeros(len(summary))
    total = np.zeros(len(summary))
    for k in range(1, n_steps + 1):
        current = model.expected_purchases(float(k), summary).to_numpy()
        total += (current - previous) * (1 + rate) ** (-k / 52)
        previous = current
    expected = total * gg.expected_spend(summary).to_numpy()
    monkeypatch.setattr(_clv, "_GRID_VALUES", 500)  # several blocks of steps
    got = customer_lifetime_value(model, gg, summary, horizon=n_steps, discount_rate=rate)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-9)


@pytest.mark.parametrize(
    ("model_cls", "total", "first"),
    [
        # computed before issue 17 by one hyp2f1 per (x, T) pair and step (25 s)
        (BetaGeoModel, 298611.75147275545, [156.69763021696676, 21.56767418476611]),
        (ModifiedBetaGeoModel, 255115.6726600298, [146.8308474079301, 18.101728708366036]),
    ],
)
def test_long_horizons_cost_little_and_give_the_same_values(
    model_cls: Any,
    total: float,
    first: list[float],
    cdnow_summary: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 17, performance: 5,200 weekly steps took 40x the time of 520, because every
    # (x, T) pair and step was one hyp2f1 whose cost grows with the horizon. The
    # expectation is now interpolated in kappa per frequency from a few hundred verified
    # evaluations: the values stay those of the direct evaluation to 1e-10.
    from customer_value.clv import _bgnbd

    evaluated = []
    direct = _bgnbd._expectation_bracket

    def counting(r: Any, a: Any, b_post: Any, x: Any, kappa: Any) -> Any:
        evaluated.append(np.size(kappa))
        return direct(r, a, b_post, x, kappa)

    monkeypatch.setattr(_bgnbd, "_expectation_bracket", counting)
    model = model_cls().fit(cdnow_summary)
    gg = GammaGammaModel().fit(cdnow_summary)
    clv = customer_lifetime_value(model, gg, cdnow_summary, horizon=5200, discount_rate=0.10)
    assert float(clv.sum()) == pytest.approx(total, rel=1e-10)
    np.testing.assert_allclose(clv.iloc[:2].to_numpy(), first, rtol=1e-10)
    pairs = cdnow_summary.groupby(["frequency", "T"]).ngroups
    assert sum(evaluated) < 0.05 * pairs * 5200  # was pairs * 5200
