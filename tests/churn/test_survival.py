"""kaplan_meier: published values (Freireich 6-MP data), lifelines as oracle, properties."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.churn import kaplan_meier
from customer_value.errors import InvalidDataError

# Freireich et al. (1963), remission times (weeks) of the 6-MP group as tabulated by
# Gehan (1965); False = censored. The classic example of Kalbfleisch & Prentice and of
# R's survival package.
MP6_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP6_OBSERVED = [
    True, True, True, False, True, False, False, True, False, True, True, False,
    False, False, True, True, False, False, False, False, False,
]  # fmt: skip
PLACEBO_TIMES = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]

# Published Kaplan-Meier table of the 6-MP group (Kleinbaum & Klein 2012, "Survival
# Analysis", 3rd ed., ch. 2; R survfit with conf.type="log-log"): time, n at risk,
# events, S(t), Greenwood standard error, lower and upper 95% limits.
MP6_PUBLISHED = [
    (6, 21, 3, 0.857, 0.0764, 0.620, 0.952),
    (7, 17, 1, 0.807, 0.0869, 0.563, 0.923),
    (10, 15, 1, 0.753, 0.0963, 0.503, 0.889),
    (13, 12, 1, 0.690, 0.1068, 0.432, 0.849),
    (16, 11, 1, 0.627, 0.1141, 0.368, 0.805),
    (22, 7, 1, 0.538, 0.1282, 0.268, 0.747),
    (23, 6, 1, 0.448, 0.1346, 0.188, 0.680),
]


def test_published_6mp_table() -> None:
    km = kaplan_meier(MP6_TIMES, MP6_OBSERVED)
    for t, n, d, s, se, lo, hi in MP6_PUBLISHED:
        row = km.loc[float(t)]
        assert row["at_risk"] == n
        assert row["events"] == d
        assert row["survival"] == pytest.approx(s, abs=5e-4)
        assert row["std_error"] == pytest.approx(se, abs=5e-5)
        assert row["lower"] == pytest.approx(lo, abs=5e-4)
        assert row["upper"] == pytest.approx(hi, abs=5e-4)


def _lifelines_fit(times, observed, weights=None, alpha=0.05):  # type: ignore[no-untyped-def]
    lifelines = pytest.importorskip("lifelines", reason="lifelines is the dev-only KM oracle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifelines.KaplanMeierFitter(alpha=alpha).fit(
            times, event_observed=observed, weights=weights
        )


@pytest.mark.parametrize(
    ("times", "observed"),
    [
        (MP6_TIMES, MP6_OBSERVED),
        (PLACEBO_TIMES[:-1], [True] * 20),  # last time removed: S stays above 0
    ],
    ids=["6-MP", "placebo"],
)
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_matches_lifelines(times: list[int], observed: list[bool], confidence: float) -> None:
    fitter = _lifelines_fit(times, observed, alpha=1 - confidence)
    km = kaplan_meier(times, observed, confidence=confidence)
    np.testing.assert_allclose(km.index, fitter.survival_function_.index)
    np.testing.assert_allclose(km["survival"], fitter.survival_function_.iloc[:, 0], rtol=1e-12)
    ci = fitter.confidence_interval_survival_function_
    np.testing.assert_allclose(km["lower"], ci.iloc[:, 0], rtol=1e-9)
    np.testing.assert_allclose(km["upper"], ci.iloc[:, 1], rtol=1e-9)
    table = fitter.event_table
    np.testing.assert_allclose(km["at_risk"], table["at_risk"])
    np.testing.assert_allclose(km["events"], table["observed"])
    np.testing.assert_allclose(km["censored"], table["censored"])


def test_weights_match_lifelines_and_repetition() -> None:
    rng = np.random.default_rng(3)
    times = np.round(rng.exponential(10, 60), 1)
    observed = rng.random(60) < 0.7
    weights = rng.integers(1, 5, 60).astype(float)
    km = kaplan_meier(times, observed, weights=weights)
    fitter = _lifelines_fit(times, observed, weights=weights)
    np.testing.assert_allclose(km["survival"], fitter.survival_function_.iloc[:, 0], rtol=1e-12)
    ci = fitter.confidence_interval_survival_function_
    np.testing.assert_allclose(km["lower"], ci.iloc[:, 0], rtol=1e-9)
    # integer weights = repeated rows
    repeated = kaplan_meier(
        np.repeat(times, weights.astype(int)), np.repeat(observed, weights.astype(int))
    )
    pd.testing.assert_frame_equal(km, repeated, check_exact=False, rtol=1e-12)


def test_survival_reaching_zero() -> None:
    km = kaplan_meier(PLACEBO_TIMES, [1] * len(PLACEBO_TIMES))
    assert km["survival"].iloc[-1] == 0.0
    assert km[["lower", "upper", "std_error"]].iloc[-1].tolist() == [0.0, 0.0, 0.0]
    assert np.isfinite(km.to_numpy()).all()


def test_time_zero_row_and_zero_durations() -> None:
    km = kaplan_meier([0, 2, 3], [True, False, True])
    assert km.index.tolist() == [0.0, 2.0, 3.0]
    assert km["survival"].round(4).tolist() == [0.6667, 0.6667, 0.0]
    km = kaplan_meier([2, 3], [False, False])
    assert km.index.tolist() == [0.0, 2.0, 3.0]
    assert km["survival"].tolist() == [1.0, 1.0, 1.0]
    assert km["lower"].tolist() == [1.0, 1.0, 1.0]


@given(
    st.lists(
        st.tuples(st.floats(0, 1e9), st.booleans(), st.floats(1e-3, 1e3)),
        min_size=1,
        max_size=50,
    )
)
def test_property_valid_output(rows: list[tuple[float, bool, float]]) -> None:
    t, d, w = (list(c) for c in zip(*rows, strict=False))
    km = kaplan_meier(t, d, weights=w)
    assert np.isfinite(km.to_numpy()).all()
    s = km["survival"].to_numpy()
    assert ((s >= 0) & (s <= 1)).all()
    assert (np.diff(s) <= 1e-12).all()
    assert ((km["lower"] <= km["survival"] + 1e-12) & (km["survival"] <= km["upper"] + 1e-12)).all()


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1, -2, 3], [True] * 3), {}, "durations.*must be >= 0.*row 1.*-2.0"),
        (([1, 2, 3], [True, 2, False]), {}, "observed must be boolean.*row 1.*observed=2"),
        (([1, 2], ["yes", "no"]), {}, "observed must be boolean.*row 0.*'yes'"),
        (([1, 2], [True]), {}, "same length, got 2 and 1"),
        (([1, np.nan], [True, True]), {}, "durations.*finite.*row 1.*nan"),
        (([1, 2], [True, True]), {"confidence": 1.0}, "confidence must be < 1"),
        (([1, 2], [True, True]), {"weights": [1, -1]}, "weights.*>= 0.*row 1"),
    ],
)
def test_bad_input(args: tuple[object, object], kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        kaplan_meier(*args, **kwargs)


def test_errors_name_the_customer_label() -> None:
    ids = pd.Index(["c1", "c2"], name="customer_id")
    with pytest.raises(InvalidDataError, match=r"row 1 \(label 'c2'\) has durations=-2.0"):
        kaplan_meier(pd.Series([1.0, -2.0], index=ids), [True, False])
    with pytest.raises(InvalidDataError, match=r"row 0 \(label 'c1'\) has observed='yes'"):
        kaplan_meier([1.0, 2.0], pd.Series(["yes", True], index=ids))
    with pytest.raises(InvalidDataError, match=r"row 1 \(label 'c2'\) has weights=-1.0"):
        kaplan_meier([1.0, 2.0], [True, False], weights=pd.Series([1.0, -1.0], index=ids))


def test_matches_scipy_ecdf() -> None:
    from scipy import stats

    observed = np.array(MP6_OBSERVED)
    times = np.array(MP6_TIMES, dtype=float)
    data = stats.CensoredData(uncensored=times[observed], right=times[~observed])
    sf = stats.ecdf(data).sf
    km = kaplan_meier(times, observed)
    np.testing.assert_allclose(km["survival"], sf.evaluate(km.index.to_numpy()), rtol=1e-12)
    ci = sf.confidence_interval(0.95, method="log-log")
    # scipy leaves the interval undefined (NaN) where S = 1, before the first event
    events = km.loc[km.index >= 6]
    t = events.index.to_numpy()
    np.testing.assert_allclose(events["lower"], ci.low.evaluate(t), rtol=1e-9)
    np.testing.assert_allclose(events["upper"], ci.high.evaluate(t), rtol=1e-9)
