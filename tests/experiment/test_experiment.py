"""experiment: Newcombe (1998) worked examples, statsmodels as oracle, properties, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError
from customer_value.experiment import (
    adjust_p_values,
    assign_groups,
    compare_means,
    compare_proportions,
    incremental_value,
    mde_means,
    mde_proportions,
    newcombe_interval,
    sample_size_means,
    sample_size_proportions,
    uplift_by_segment,
    wilson_interval,
)

# Newcombe (1998), Table II, method 10 (hybrid score, no continuity correction):
# the eight example contrasts (a)-(h) with their published limits.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "limits"), NEWCOMBE_TABLE_II)
def test_newcombe_table_ii(counts: tuple[int, int, int, int], limits: tuple[float, float]) -> None:
    low, high = newcombe_interval(*counts)
    assert round(low, 4) == pytest.approx(limits[0], abs=1e-4)
    assert round(high, 4) == pytest.approx(limits[1], abs=1e-4)


def test_wilson_matches_newcombe_table_i() -> None:
    # Newcombe (1998b) / Table I style examples for a single proportion, method 3 (Wilson)
    assert [round(v, 4) for v in wilson_interval(81, 263)] == [0.2553, 0.3662]
    assert [round(v, 4) for v in wilson_interval(0, 20)] == [0.0, 0.1611]


@pytest.mark.parametrize("counts", [(56, 70, 48, 80), (5, 56, 0, 29), (130, 1000, 101, 1000)])
def test_proportions_match_statsmodels(counts: tuple[int, int, int, int]) -> None:
    prop = pytest.importorskip("statsmodels.stats.proportion")
    res = compare_proportions(*counts)
    z, p = prop.proportions_ztest([counts[0], counts[2]], [counts[1], counts[3]])
    assert res.z == pytest.approx(z, rel=1e-10)
    assert res.p_value == pytest.approx(p, rel=1e-10)
    low, high = prop.confint_proportions_2indep(*counts, method="newcomb")
    assert res.ci_low == pytest.approx(low, abs=1e-12)
    assert res.ci_high == pytest.approx(high, abs=1e-12)


def test_welch_matches_statsmodels_and_scipy() -> None:
    sm = pytest.importorskip("statsmodels.stats.weightstats")
    rng = np.random.default_rng(0)
    a = rng.lognormal(3.0, 1.2, 300)
    b = rng.lognormal(2.9, 1.0, 250)
    res = compare_means(a, b, n_bootstrap=500)
    t, p, df = sm.ttest_ind(a, b, usevar="unequal")
    assert res.t == pytest.approx(t, rel=1e-10)
    assert res.p_value == pytest.approx(p, rel=1e-10)
    assert res.df == pytest.approx(df, rel=1e-10)
    cm = sm.CompareMeans(sm.DescrStatsW(a), sm.DescrStatsW(b))
    low, high = cm.tconfint_diff(usevar="unequal")
    assert (res.ci_low, res.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert res.bootstrap_low < res.difference < res.bootstrap_high


def test_bootstrap_is_reproducible_and_covers() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.exponential(10, 200), rng.exponential(8, 200)
    first = compare_means(a, b, n_bootstrap=400, seed=3)
    second = compare_means(a, b, n_bootstrap=400, seed=3)
    assert first == second
    # bootstrap and Welch intervals roughly agree on moderately skewed data
    assert first.bootstrap_low == pytest.approx(first.ci_low, abs=1.0)


@pytest.mark.parametrize(
    ("p0", "lift", "ratio"), [(0.1, 0.02, 1.0), (0.3, -0.05, 0.25), (0.02, 0.005, 4.0)]
)
def test_sample_size_proportions_matches_statsmodels(p0: float, lift: float, ratio: float) -> None:
    power = pytest.importorskip("statsmodels.stats.power")
    prop = pytest.importorskip("statsmodels.stats.proportion")
    h = prop.proportion_effectsize(p0 + lift, p0)
    n = power.NormalIndPower().solve_power(abs(h), alpha=0.05, power=0.8, ratio=ratio)
    res = sample_size_proportions(p0, lift, ratio=ratio)
    assert res.n_treatment == int(np.ceil(n))
    mde = mde_proportions(p0, res.n_treatment, ratio=ratio)
    achieved = power.NormalIndPower().power(mde.effect_size, res.n_treatment, 0.05, ratio=ratio)
    assert achieved == pytest.approx(0.8, abs=1e-8)


@pytest.mark.parametrize(
    ("sd", "diff", "ratio"), [(40.0, 5.0, 1.0), (10.0, 1.0, 0.5), (100.0, 80.0, 1.0)]
)
def test_sample_size_means_matches_statsmodels(sd: float, diff: float, ratio: float) -> None:
    power = pytest.importorskip("statsmodels.stats.power")
    n = power.TTestIndPower().solve_power(diff / sd, alpha=0.05, power=0.8, ratio=ratio)
    res = sample_size_means(sd, diff, ratio=ratio)
    assert res.n_treatment == int(np.ceil(n))
    mde = mde_means(sd, 500, ratio=ratio)
    achieved = power.TTestIndPower().power(mde.effect_size, 500, 0.05, ratio=ratio)
    assert achieved == pytest.approx(0.8, abs=1e-8)


def test_holm_and_bonferroni_match_statsmodels() -> None:
    mt = pytest.importorskip("statsmodels.stats.multitest")
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.005])
    for method in ("holm", "bonferroni"):
        assert adjust_p_values(p, method=method) == pytest.approx(
            mt.multipletests(p, method=method)[1]
        )


def _experiment(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = [f"C{k:05d}" for k in range(n)]
    seg = rng.choice(["high_value", "potential", "churn_risk"], n)
    groups = assign_groups(ids, salt="test", strata=seg)
    base = pd.Series(seg).map({"high_value": 0.3, "potential": 0.15, "churn_risk": 0.1})
    lift = pd.Series(seg).map({"high_value": 0.0, "potential": 0.05, "churn_risk": 0.08})
    treated = (groups["group"] == "treatment").to_numpy()
    p = base.to_numpy() + treated * lift.to_numpy()
    return pd.DataFrame(
        {
            "group": groups["group"].to_numpy(),
            "segment": seg,
            "converted": (rng.random(n) < p).astype(int),
            "revenue": rng.lognormal(3, 1, n) * (rng.random(n) < p),
        }
    )


def test_uplift_by_segment_rows_match_direct_comparisons() -> None:
    data = _experiment()
    table = uplift_by_segment(data, outcome_col="converted")
    assert table.index[0] == "overall"
    m = 3
    for seg in ("churn_risk", "high_value", "potential"):
        part = data[data["segment"] == seg]
        t = part.loc[part["group"] == "treatment", "converted"]
        c = part.loc[part["group"] == "control", "converted"]
        direct = compare_proportions(
            int(t.sum()), t.size, int(c.sum()), c.size, confidence=1 - 0.05 / m
        )
        row = table.loc[seg]
        assert row["uplift"] == pytest.approx(direct.difference)
        assert row["ci_low"] == pytest.approx(direct.ci_low)
        assert row["p_value"] == pytest.approx(direct.p_value)
    assert table["p_adjusted"].iloc[1:].tolist() == pytest.approx(
        adjust_p_values(table["p_value"].iloc[1:], method="holm").tolist()
    )
    assert "Holm" in table.attrs["adjustment"]
    means = uplift_by_segment(data, outcome_col="revenue", metric="mean", n_bootstrap=200)
    assert {"boot_low", "boot_high"} <= set(means.columns)


def test_assignment_stable_salted_and_stratified() -> None:
    ids = [f"C{k}" for k in range(2000)]
    a = assign_groups(ids, salt="s1", treatment_share=0.2)
    grown = assign_groups([*reversed(ids), "X1", "X2"], salt="s1", treatment_share=0.2)
    assert (grown.loc[ids, "group"] == a["group"]).all()
    assert 0.17 < (a["group"] == "treatment").mean() < 0.23
    other = assign_groups(ids, salt="s2", treatment_share=0.2)
    assert (other["group"] != a["group"]).any()
    strata = ["x"] * 1000 + ["y"] * 1000
    s = assign_groups(ids, salt="s1", treatment_share=0.2, strata=strata)
    assert s.groupby("stratum")["group"].apply(lambda g: (g == "treatment").sum()).tolist() == [
        200,
        200,
    ]


@pytest.mark.parametrize("salt", [None, "", "   ", 42])
def test_assignment_needs_salt(salt: object) -> None:
    with pytest.raises(InvalidDataError, match="salt"):
        assign_groups(["a"], salt=salt)  # type: ignore[arg-type]


def test_assignment_bad_input() -> None:
    with pytest.raises(InvalidDataError, match="more than once"):
        assign_groups(["a", "a"], salt="x")
    with pytest.raises(InvalidDataError, match="treatment_share"):
        assign_groups(["a"], salt="x", treatment_share=1.0)
    with pytest.raises(InvalidDataError, match="strata has 1 values"):
        assign_groups(["a", "b"], salt="x", strata=["s"])


def test_incremental_value_scales_interval() -> None:
    res = compare_proportions(560, 1000, 500, 1000)
    value = incremental_value(res, [200.0, 400.0], customers=100)
    assert value.estimate == pytest.approx(0.06 * 300 * 100)
    assert value.ci_low == pytest.approx(res.ci_low * 300 * 100)
    with pytest.raises(InvalidDataError, match="value"):
        incremental_value(res, -1.0)
    with pytest.raises(InvalidDataError, match="low <= estimate"):
        incremental_value((0.1, 0.2, 0.3), 1.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((5, 4, 1, 10), "successes <= n"),
        ((1, 0, 1, 10), "n >= 1"),
        ((-1, 4, 1, 10), ">= 0"),
        ((1.5, 4, 1, 10), "whole number"),
    ],
)
def test_proportion_bad_counts(args: tuple, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        compare_proportions(*args)


def test_means_bad_input() -> None:
    with pytest.raises(InvalidDataError, match="at least 2"):
        compare_means([1.0], [1.0, 2.0])
    with pytest.raises(InvalidDataError, match="constant"):
        compare_means([1.0, 1.0], [2.0, 2.0])
    with pytest.raises(InvalidDataError, match="finite"):
        compare_means([1.0, np.nan], [2.0, 3.0])


def test_uplift_bad_outcome_names_row() -> None:
    data = {"group": ["treatment", "control"], "converted": [1, 2], "segment": ["a", "a"]}
    with pytest.raises(InvalidDataError, match=r"row 1 has converted=2"):
        uplift_by_segment(data, outcome_col="converted")


@settings(max_examples=150, deadline=None)
@given(
    n1=st.integers(1, 10**7),
    n2=st.integers(1, 10**7),
    f1=st.floats(0, 1),
    f2=st.floats(0, 1),
    conf=st.sampled_from([0.8, 0.95, 0.999]),
)
def test_newcombe_interval_is_finite_and_ordered(
    n1: int, n2: int, f1: float, f2: float, conf: float
) -> None:
    x1, x2 = int(f1 * n1), int(f2 * n2)
    res = compare_proportions(x1, n1, x2, n2, confidence=conf)
    values = [res.ci_low, res.ci_high, res.z, res.p_value]
    assert np.isfinite(values).all()
    assert -1 <= res.ci_low <= res.difference <= res.ci_high <= 1
    assert 0 <= res.p_value <= 1


@settings(max_examples=60, deadline=None)
@given(
    p0=st.floats(1e-4, 1 - 1e-4),
    rel=st.floats(0.05, 0.95),
    ratio=st.sampled_from([0.1, 1.0, 9.0]),
)
def test_power_is_finite_at_extreme_rates(p0: float, rel: float, ratio: float) -> None:
    down = sample_size_proportions(p0, -p0 * rel, ratio=ratio)
    assert down.n_treatment >= 1
    assert np.isfinite(down.effect_size)
    plan = sample_size_proportions(p0, (1 - p0) * rel, ratio=ratio)
    back = mde_proportions(p0, plan.n_treatment, ratio=ratio)
    assert 0 < back.effect <= (1 - p0) * rel + 1e-9  # rounding n up can only help


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sample_size_proportions(0.1, 0.0), "uplift must not be 0"),
        (lambda: sample_size_proportions(1.0, 0.02), "'baseline'|baseline"),
        (lambda: sample_size_proportions(0.99, 0.02), r"baseline \+ uplift"),
        (lambda: sample_size_means(10.0, 0.0), "difference must not be 0"),
        (lambda: sample_size_means(0.0, 1.0), "std"),
        (lambda: mde_proportions(0.0, 100), "baseline"),
        (lambda: mde_means(10.0, 1), "n_treatment"),
        (lambda: sample_size_proportions(0.1, 0.02, alpha=0.9), r"power \(0.8\) must exceed alpha"),
        (lambda: sample_size_means(1.0, 1.0, ratio=0), "ratio"),
        (lambda: mde_means(1.0, 10, power=1.0), "power"),
    ],
)
def test_power_bad_settings(call, match: str) -> None:
    # the shared checks of _power (rates, effects, settings) name the option (issue 17)
    with pytest.raises(InvalidDataError, match=match):
        call()
