"""Engine frames: kinds, errors, sufficient statistics, fitting and scoring on every backend.

Each test runs on pandas, Polars (eager and lazy), DuckDB, Spark (local[2]) and Dask (a
distributed LocalCluster with worker processes); results must equal the pandas path.
"""

from __future__ import annotations

import builtins
import sys

import numpy as np
import pandas as pd
import pytest

from customer_value import _engine
from customer_value.churn import churn_risk, lifecycle_stage
from customer_value.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from customer_value.data import collect_sufficient_statistics, sufficient_statistics
from customer_value.errors import InvalidDataError, MissingExtraError

TOL = 1e-12


@pytest.fixture(scope="module")
def customers(cdnow_summary) -> pd.DataFrame:
    return cdnow_summary.reset_index()


@pytest.fixture(scope="module")
def models(cdnow_summary):
    return {
        "bg": BetaGeoModel().fit(cdnow_summary),
        "mbg": ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.18, a=0.891, b=1.614),
        "pnbd": ParetoNBDModel.from_params(r=0.553, alpha=10.58, s=0.606, beta=11.67),
        "gg": GammaGammaModel().fit(cdnow_summary),
    }


def _close(ours: pd.Series | np.ndarray, expected: pd.Series | np.ndarray) -> None:
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), rtol=TOL, atol=TOL)


# --- kinds and errors ----------------------------------------------------------------------


def test_unsupported_frame_type_lists_supported_ones(models):
    with pytest.raises(InvalidDataError, match=r"unsupported frame type .*list.*supported are"):
        sufficient_statistics([[1.0, 2.0, 3.0]])
    with pytest.raises(InvalidDataError) as info:
        sufficient_statistics(object())
    message = str(info.value)
    for kind in ("pandas", "polars", "duckdb", "pyspark", "dask"):
        assert kind in message


def test_missing_engine_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "pyarrow", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(MissingExtraError, match=r'pip install "customer-value\[polars\]"'):
        _engine.require("pyarrow", "polars")
    assert issubclass(MissingExtraError, ImportError)


def test_frame_kind_reads_the_type(backend, customers):
    native = backend.frame(customers.head(3))
    assert _engine.frame_kind(native) == backend.kind
    assert _engine.is_engine(native) == (backend.kind != "pandas")
    first = "frequency" if backend.kind == "pandas" else "customer_id"  # pandas: the index
    assert _engine.column_names(native)[0] == first


def test_missing_column_raises_before_anything_runs(backend, customers, models):
    native = backend.frame(customers.drop(columns="recency").head(5))
    with pytest.raises(InvalidDataError, match=r"missing column.*'recency'"):
        churn_risk(models["bg"], native)
    if backend.kind != "pandas":
        with pytest.raises(InvalidDataError, match=r"missing column.*'customer_key'"):
            models["bg"].probability_alive(
                backend.frame(customers.head(5)), customer_id_col="customer_key"
            )


# --- sufficient statistics and fitting -------------------------------------------------------


def test_sufficient_statistics_fit_equals_full_fit(backend, customers, cdnow_summary, models):
    stats = sufficient_statistics(backend.frame(customers))
    local = backend.collect(stats, sort_by=["frequency", "recency", "T"])
    expected = sufficient_statistics(cdnow_summary)
    pd.testing.assert_frame_equal(local, expected, check_dtype=False)
    assert local["n_customers"].dtype == np.int64
    # The optimiser sees the distinct rows in another order than in the full fit, so the
    # estimates agree to the optimiser's tolerance, not bit for bit.
    fitted = BetaGeoModel().fit(stats, weights="n_customers")
    np.testing.assert_allclose(fitted.params_, models["bg"].params_, rtol=1e-6)
    assert fitted.log_likelihood_ == pytest.approx(models["bg"].log_likelihood_, rel=1e-10)
    assert fitted.n_ == len(cdnow_summary)
    spend_stats = sufficient_statistics(
        backend.frame(customers), columns=("frequency", "monetary_value"), count_col="k"
    )
    spend = GammaGammaModel().fit(spend_stats, weights="k")
    np.testing.assert_allclose(spend.params_, models["gg"].params_, rtol=1e-6)


def test_collect_sufficient_statistics_equals_one_table_at_a_time(
    backend, customers, cdnow_summary
):
    # an integer column (Spark's grouping sets fill the columns a table lacks with nulls,
    # so the integers come back as floats unless restored) and a table named twice
    customers = customers.assign(visits=customers["frequency"].astype("int64") + 1)
    tables = [
        ("frequency", "recency", "T"),
        ("frequency", "monetary_value"),
        ("visits",),
        ("frequency", "monetary_value"),
    ]
    got = collect_sufficient_statistics(backend.frame(customers), tables=tables, count_col="k")
    assert len(got) == len(tables)
    for columns, table in zip(tables, got, strict=True):
        expected = sufficient_statistics(customers, columns=columns, count_col="k")
        pd.testing.assert_frame_equal(table, expected, check_dtype=True)
        assert int(table["k"].sum()) == len(cdnow_summary)
    stats, spend = collect_sufficient_statistics(backend.frame(customers))
    purchases = BetaGeoModel().fit(stats, weights="n_customers")
    np.testing.assert_allclose(
        purchases.params_, BetaGeoModel().fit(cdnow_summary).params_, rtol=1e-6
    )
    fitted = GammaGammaModel().fit(spend, weights="n_customers")
    np.testing.assert_allclose(
        fitted.params_, GammaGammaModel().fit(cdnow_summary).params_, rtol=1e-6
    )
    with pytest.raises(InvalidDataError, match=r"missing column.*'spend'"):
        collect_sufficient_statistics(backend.frame(customers), tables=[("frequency",), ("spend",)])
    with pytest.raises(InvalidDataError, match=r"at least one set of columns"):
        collect_sufficient_statistics(backend.frame(customers), tables=[])


# --- scoring where the data is ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["bg", "mbg", "pnbd"])
def test_frequency_model_predictions(backend, customers, cdnow_summary, models, name):
    if backend.kind == "spark" and name != "pnbd":
        pytest.skip("Spark runs one model (Pareto/NBD) to keep the suite fast; same code path")
    model = models[name]
    native = backend.frame(customers)
    alive = backend.collect(model.probability_alive(native), sort_by="customer_id")
    assert list(alive.columns) == ["customer_id", "probability_alive"]
    _close(alive["customer_id"], cdnow_summary.index)
    _close(alive["probability_alive"], model.probability_alive(cdnow_summary))
    expected = backend.collect(model.expected_purchases(39, native), sort_by="customer_id")
    _close(expected["expected_purchases"], model.expected_purchases(39, cdnow_summary))


def test_covariate_models_score_with_each_customers_covariates(backend, customers, cdnow_summary):
    # the covariate columns travel to the workers with frequency, recency and T (issue 15)
    if backend.kind in ("spark", "dask"):
        pytest.skip("the covariate columns take the same map_partitions path on every engine")
    rng = np.random.default_rng(0)
    g = rng.integers(0, 2, len(customers)).astype(float)
    h = rng.normal(size=len(customers))
    table = customers.assign(g=g, h=h)
    pandas_table = cdnow_summary.assign(g=g, h=h)
    spec = {"purchase_covariates": ["g", "h"], "dropout_covariates": ["g"]}
    pnbd = ParetoNBDModel.from_params(
        r=0.553,
        alpha=10.58,
        s=0.606,
        beta=11.67,
        time_unit="W",
        **spec,
        **{"purchase.g": 0.4, "purchase.h": -0.2, "dropout.g": 0.5},
    )
    bg = BetaGeoModel.from_params(
        r=0.243,
        alpha=4.414,
        a=0.793,
        b=2.426,
        time_unit="W",
        **spec,
        **{"purchase.g": 0.4, "purchase.h": -0.2, "dropout.a.g": 0.3, "dropout.b.g": -0.3},
    )
    gg = GammaGammaModel().fit(cdnow_summary)
    native = backend.frame(table)
    for model in (pnbd, bg):
        alive = backend.collect(model.probability_alive(native), sort_by="customer_id")
        _close(alive["probability_alive"], model.probability_alive(pandas_table))
        expected = backend.collect(model.expected_purchases(39, native), sort_by="customer_id")
        _close(expected["expected_purchases"], model.expected_purchases(39, pandas_table))
    clv = backend.collect(
        customer_lifetime_value(bg, gg, native, horizon=52, discount_rate=0.1),
        sort_by="customer_id",
    )
    want = customer_lifetime_value(bg, gg, pandas_table, horizon=52, discount_rate=0.1)
    np.testing.assert_allclose(clv.iloc[:, -1].to_numpy(), want.to_numpy(), rtol=1e-10)
    risk = backend.collect(churn_risk(pnbd, native), sort_by="customer_id")
    _close(risk["p_alive"], pnbd.probability_alive(pandas_table))
    # a frame without a covariate column is refused, naming it
    with pytest.raises(InvalidDataError, match="'h'"):
        backend.collect(bg.probability_alive(backend.frame(customers.assign(g=g))))


def test_clv_churn_and_lifecycle(backend, customers, cdnow_summary, models):
    bg, pnbd, gg = models["bg"], models["pnbd"], models["gg"]
    native = backend.frame(customers)
    clv = customer_lifetime_value(bg, gg, native, horizon=52, discount_rate=0.1)
    clv = backend.collect(clv, sort_by="customer_id")
    _close(
        clv["clv"], customer_lifetime_value(bg, gg, cdnow_summary, horizon=52, discount_rate=0.1)
    )

    spend = backend.collect(gg.expected_spend(native), sort_by="customer_id")
    _close(spend["expected_spend"], gg.expected_spend(cdnow_summary))

    risk = churn_risk(pnbd, native, spend_model=gg, horizon=26)
    risk = backend.collect(risk, sort_by="customer_id")
    reference = churn_risk(pnbd, cdnow_summary, spend_model=gg, horizon=26)
    assert list(risk.columns) == ["customer_id", *reference.columns]
    for column in ("p_alive", "churn_probability", "expected_purchases", "value_at_risk"):
        _close(risk[column], reference[column])
    assert risk["risk_level"].tolist() == reference["risk_level"].astype(str).tolist()
    assert risk["risk_level_zh"].tolist() == reference["risk_level_zh"].astype(str).tolist()

    for model in (None, pnbd):
        stages = backend.collect(lifecycle_stage(native, model=model), sort_by="customer_id")
        reference = lifecycle_stage(cdnow_summary, model=model)
        assert stages["stage"].tolist() == reference["stage"].astype(str).tolist()
        np.testing.assert_allclose(stages["lateness"], reference["lateness"], rtol=1e-12)


def test_lazy_stays_lazy_and_bad_values_raise(backend, customers, models):
    bad = customers.head(40).copy()
    bad.loc[7, "recency"] = 99.0  # recency > T
    native = backend.frame(bad)
    if backend.kind in {"pandas", "polars", "duckdb"}:
        with pytest.raises(InvalidDataError, match=r"'recency' must not exceed 'T'.*recency=99"):
            models["bg"].probability_alive(native)
        return
    result = models["bg"].probability_alive(native)  # lazy: nothing has run yet
    assert _engine.frame_kind(result) == backend.kind
    with pytest.raises(Exception, match=r"'recency' must not exceed 'T'"):
        backend.collect(result)
