"""What the user guides claim about lifetimes, checked against lifetimes itself (issue 17)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GUIDES = Path(__file__).parent.parent / "docs" / "user_guide"
MIGRATING = (GUIDES / "migrating_from_lifetimes.rst").read_text(encoding="utf-8")
VALUING = (GUIDES / "valuing.rst").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def lifetimes():
    return pytest.importorskip("lifetimes", reason="lifetimes is the oracle (dev extra)")


def _fit(fitter, summary, **spoilt):
    columns = {c: summary[c].to_numpy(dtype=float).copy() for c in ("frequency", "recency", "T")}
    for column, value in spoilt.items():
        columns[column][5] = value
    # lifetimes' ParetoNBDFitter starts Nelder-Mead from np.random.normal(1, 0.05, 4), drawn
    # from numpy's global generator, so its result depended on what earlier tests had drawn
    # (once -604.66 instead of -602.44 in a full run; the docs say so). Seed it here and put
    # the generator back, so the claims are checked from one fixed start.
    state = np.random.get_state()  # noqa: NPY002 (lifetimes draws from the legacy global one)
    np.random.seed(0)  # noqa: NPY002
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fitter().fit(*(pd.Series(columns[c]) for c in ("frequency", "recency", "T")))
    finally:
        np.random.set_state(state)  # noqa: NPY002


def test_log_likelihood_row(lifetimes, cdnow_summary):
    from customer_value.clv import BetaGeoModel

    bgf = _fit(lifetimes.BetaGeoFitter, cdnow_summary)
    n = len(cdnow_summary)
    assert bgf._negative_log_likelihood_ == pytest.approx(0.2503, abs=5e-5)
    assert -n * bgf._negative_log_likelihood_ == pytest.approx(-589.9, abs=0.05)
    ours = BetaGeoModel().fit(cdnow_summary).log_likelihood_
    assert ours == pytest.approx(-9582.4, abs=0.05)
    pnbd = _fit(lifetimes.ParetoNBDFitter, cdnow_summary)
    assert pnbd._negative_log_likelihood_ == pytest.approx(602.4, abs=0.05)
    for text in ("0.2503", "-589.9", "-9582.4", "602.4", "largest ``T`` is 1"):
        assert text in MIGRATING


def test_nan_and_t_claims(lifetimes, cdnow_summary):
    from lifetimes.utils import ConvergenceError

    for column in ("T", "recency"):
        with pytest.raises(ConvergenceError, match="larger penalizer"):
            _fit(lifetimes.BetaGeoFitter, cdnow_summary, **{column: np.nan})
    nan_t = _fit(lifetimes.ParetoNBDFitter, cdnow_summary, T=np.nan).params_
    assert np.isnan(nan_t["alpha"])
    assert np.isnan(nan_t["beta"])
    assert np.isfinite(nan_t["r"])
    nan_recency = _fit(lifetimes.ParetoNBDFitter, cdnow_summary, recency=np.nan).params_
    assert nan_recency["alpha"] > 30
    clean = _fit(lifetimes.ParetoNBDFitter, cdnow_summary).params_
    assert clean["alpha"] == pytest.approx(10.6, abs=0.05)
    for fitter in (lifetimes.BetaGeoFitter, lifetimes.ParetoNBDFitter):
        zero = _fit(fitter, cdnow_summary, frequency=0, recency=0, T=0).params_
        assert np.all(np.isfinite(zero.to_numpy()))
        with pytest.raises(ValueError, match="recency vector are larger than T"):
            _fit(fitter, cdnow_summary, frequency=0, recency=0, T=-1)
    for text in (
        "larger penalizer",
        "above 30 instead of 10.6",
        "``T = 0``",
        "larger than T vector",
    ):
        assert text in MIGRATING


def test_pareto_nan_only_for_frequencies_in_the_hundreds(lifetimes, cdnow_summary):
    pnbd = _fit(lifetimes.ParetoNBDFitter, cdnow_summary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(pnbd.conditional_probability_alive(200, 50, 50))
        for x, t in [(5, 3000), (20, 3000), (2, 5000)]:
            assert np.isfinite(pnbd.conditional_probability_alive(x, t, t))
            assert np.isfinite(
                pnbd.conditional_expected_number_of_purchases_up_to_time(10, x, t, t)
            )
    assert "frequencies in the hundreds (``T`` in the thousands alone stays finite)" in MIGRATING


def test_no_unmeasured_speed_claim():
    assert "well under a second" not in MIGRATING
    assert "0.8-1.2 s" in MIGRATING
    assert "about 3 s" in MIGRATING


def test_daily_clv_recipe_reproduces_lifetimes(lifetimes, cdnow_transactions):
    """valuing.rst: freq="D" is horizon=360, steps_per_unit=1/30, discount_period=30."""
    from customer_value.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value
    from customer_value.data import summarize_transactions

    recipe = "``horizon=360, steps_per_unit=1 / 30, discount_rate=0.01, discount_period=30``"
    assert recipe in " ".join(VALUING.split())
    daily = summarize_transactions(
        cdnow_transactions,
        monetary_value_col="amount",
        observation_end="1997-09-30",
        time_unit="D",
        after_end="drop",
    )
    bg, gg = BetaGeoModel().fit(daily), GammaGammaModel().fit(daily)
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(dict(bg.params_))
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series(dict(gg.params_))
    theirs = ggf.customer_lifetime_value(
        bgf,
        daily["frequency"],
        daily["recency"],
        daily["T"],
        daily["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq="D",
    )
    ours = customer_lifetime_value(
        bg,
        gg,
        daily,
        horizon=360,
        steps_per_unit=1 / 30,
        discount_rate=0.01,
        discount_period=30,
    )
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-6)
