"""The shared maximum-likelihood machinery, tested on a toy model with a closed-form MLE
and on the BTYD models (persistence, summary, errors)."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from customer_value import __version__
from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from customer_value.clv._base import MLEModel, _compress
from customer_value.errors import (
    ConvergenceError,
    CustomerValueWarning,
    InvalidDataError,
    NotFittedError,
)

MODELS = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel, "pareto": ParetoNBDModel}
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


class PoissonRate(MLEModel):
    """count ~ Poisson(lam * exposure): MLE lam = sum(count) / sum(exposure)."""

    _param_names: ClassVar[tuple[str, ...]] = ("lam",)
    _data_columns: ClassVar[tuple[str, ...]] = ("count", "exposure")

    def _loglik_grad(
        self, params: np.ndarray, data: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        (lam,) = params
        c, e = data["count"], data["exposure"]
        ll = c * np.log(lam * e) - lam * e
        return ll, (c / lam - e)[:, None]


def test_toy_model_recovers_closed_form_mle_and_standard_error() -> None:
    rng = np.random.default_rng(3)
    exposure = rng.uniform(1, 5, size=500)
    count = rng.poisson(2.5 * exposure).astype(float)
    model = PoissonRate().fit({"count": count, "exposure": exposure})
    lam_hat = count.sum() / exposure.sum()
    assert model.params_["lam"] == pytest.approx(lam_hat, rel=1e-7)
    # Fisher information sum(count)/lam^2 at the MLE
    assert model.standard_errors_["lam"] == pytest.approx(
        np.sqrt(lam_hat / exposure.sum()), rel=1e-5
    )
    assert repr(model).startswith("PoissonRate(lam=")


def test_compression_merges_duplicate_rows_and_drops_zero_weights() -> None:
    data = {"x": np.array([1.0, 2.0, 1.0, 3.0, 2.0]), "y": np.array([0.0, 1.0, 0.0, 1.0, 1.0])}
    weights = np.array([1.0, 2.0, 3.0, 0.0, 1.0])
    rows, w = _compress(data, weights, ("x", "y"))
    got = sorted(zip(rows["x"].tolist(), rows["y"].tolist(), w.tolist(), strict=False))
    assert got == [(1.0, 0.0, 4.0), (2.0, 1.0, 3.0)]


def test_compression_keeps_rows_when_a_column_is_nearly_all_distinct() -> None:
    # a continuous covariate: merging could save at most a tenth of the rows, so the
    # rows come back as given (a duplicate included), zero weights still dropped
    x = np.r_[np.arange(20.0), 0.0]
    data = {"x": x, "y": np.zeros(21)}
    weights = np.r_[np.ones(20), 0.0]
    weights[5] = 0.0
    rows, w = _compress(data, weights, ("x", "y"))
    assert rows["x"].tolist() == [v for i, v in enumerate(x[:20]) if i != 5]
    assert w.tolist() == [1.0] * 19
    dup = {"x": np.r_[np.arange(20.0), 3.0], "y": np.zeros(21)}  # 20 of 21 distinct
    rows, w = _compress(dup, np.ones(21), ("x", "y"))
    assert rows["x"].size == 21
    assert w.sum() == 21


def test_weights_equal_expanded_rows(cdnow_summary: pd.DataFrame) -> None:
    head = cdnow_summary.iloc[:600]
    counts = np.arange(600) % 3 + 1
    expanded = head.loc[head.index.repeat(counts)]
    by_weight = BetaGeoModel().fit(head, weights=counts)
    by_rows = BetaGeoModel().fit(expanded)
    np.testing.assert_allclose(by_weight.params_, by_rows.params_, rtol=1e-6)
    assert by_weight.log_likelihood_ == pytest.approx(by_rows.log_likelihood_, rel=1e-9)
    assert by_weight.n_ == len(expanded)
    framed = head.assign(w=counts)
    by_column = BetaGeoModel().fit(framed, weights="w")
    np.testing.assert_allclose(by_column.params_, by_weight.params_, rtol=1e-12)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (-np.ones(2357), r"'weights' must be >= 0; row 0 .* has weights=.*-1\.0"),
        (np.zeros(2357), "all weights are zero"),
        (np.ones(5), "expected 2357 weights"),
        (np.r_[np.nan, np.ones(2356)], "'weights' must be finite"),
    ],
)
def test_bad_weights(cdnow_summary: pd.DataFrame, weights: Any, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        BetaGeoModel().fit(cdnow_summary, weights=weights)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_not_fitted_guards(name: str) -> None:
    model = MODELS[name]()
    assert repr(model) == f"{MODELS[name].__name__}()"
    for attribute in ("params_", "log_likelihood_", "covariance_", "standard_errors_", "summary_"):
        with pytest.raises(NotFittedError, match="is not fitted"):
            getattr(model, attribute)
    calls = [
        lambda: model.expected_purchases(10),
        lambda: model.probability_alive(),
        lambda: model.expected_purchases_new_customer(10),
        lambda: model.probability_of_purchases(1, 10),
        lambda: model.loglikelihood(),
        lambda: model.simulate(10, 5.0),
        lambda: model.confidence_intervals(),
        model.to_json,
    ]
    for call in calls:
        with pytest.raises(NotFittedError, match="is not fitted"):
            call()


def test_from_params_has_no_standard_errors_and_no_training_data() -> None:
    model = BetaGeoModel.from_params(**BGNBD, time_unit="W")
    assert model.params_.to_dict() == BGNBD
    assert "time_unit='W'" in repr(model)
    with pytest.raises(NotFittedError, match="built from parameters"):
        _ = model.standard_errors_
    with pytest.raises(InvalidDataError, match="has no training data"):
        model.probability_alive()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"r": 1.0, "alpha": 1.0, "a": 1.0}, r"missing \['b'\]"),
        ({"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0, "c": 2.0}, r"unknown \['c'\]"),
        ({"r": -1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}, "parameter 'r' must be > 0"),
        ({"r": np.nan, "alpha": 1.0, "a": 1.0, "b": 1.0}, "parameter 'r' must be finite"),
    ],
)
def test_from_params_rejects_bad_parameters(params: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        BetaGeoModel.from_params(**params)


def test_summary_and_confidence_intervals(fitted: dict[str, Any]) -> None:
    model = fitted["bgnbd"]
    summary = model.summary_
    assert list(summary.columns) == ["estimate", "std_error", "ci_lower", "ci_upper"]
    assert list(summary.index) == ["r", "alpha", "a", "b"]
    assert (summary["ci_lower"] < summary["estimate"]).all()
    assert (summary["estimate"] < summary["ci_upper"]).all()
    assert (summary["ci_lower"] > 0).all()
    narrow = model.confidence_intervals(0.5)
    assert (narrow["ci_lower"] > summary["ci_lower"]).all()
    # log-scale Wald interval: the estimate is the geometric midpoint
    np.testing.assert_allclose(
        np.sqrt(summary["ci_lower"] * summary["ci_upper"]), summary["estimate"], rtol=1e-12
    )
    with pytest.raises(InvalidDataError, match="level must be < 1"):
        model.confidence_intervals(1.0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_json_round_trip(name: str, fitted: dict[str, Any], tmp_path: Any) -> None:
    model = fitted[name]
    doc = json.loads(model.to_json())
    assert doc["class"] == MODELS[name].__name__
    assert doc["version"] == __version__
    assert doc["time_unit"] == "W"
    assert doc["n"] == 2357
    path = tmp_path / "model.json"
    model.save(path)
    loaded = MODELS[name].load(path)
    assert repr(loaded) == repr(model)
    pd.testing.assert_frame_equal(loaded.summary_, model.summary_)
    assert loaded.log_likelihood_ == model.log_likelihood_
    data = {"frequency": [0, 3], "recency": [0, 20.0], "T": [30.0, 35.0]}
    pd.testing.assert_series_equal(
        loaded.expected_purchases(10, data), model.expected_purchases(10, data)
    )
    # the base class dispatches on the stored class name
    assert type(MLEModel.from_json(model.to_json())) is MODELS[name]


def test_from_json_rejects_other_documents(fitted: dict[str, Any]) -> None:
    with pytest.raises(InvalidDataError, match="is not a ParetoNBDModel"):
        ParetoNBDModel.from_json(fitted["bgnbd"].to_json())
    with pytest.raises(InvalidDataError, match="not valid JSON"):
        BetaGeoModel.from_json("{not json")
    with pytest.raises(InvalidDataError, match="not a customer_value model document"):
        BetaGeoModel.from_json('{"class": "BetaGeoModel"}')


def test_time_unit_comes_from_summary_attrs(cdnow_summary: pd.DataFrame) -> None:
    model = BetaGeoModel().fit(cdnow_summary)
    assert model.time_unit_ == "W"
    plain = pd.DataFrame(cdnow_summary[["frequency", "recency", "T"]].to_dict("list"))
    plain.attrs.clear()
    assert BetaGeoModel().fit(plain).time_unit_ is None


def test_convergence_error_carries_the_optimizer_result(
    cdnow_summary: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = optimize.minimize

    def failing(*args: Any, **kwargs: Any) -> optimize.OptimizeResult:
        kwargs["options"] = {"maxiter": 1}
        return real(*args, **kwargs)

    monkeypatch.setattr(optimize, "minimize", failing)
    with pytest.raises(ConvergenceError, match="did not converge") as info:
        BetaGeoModel().fit(cdnow_summary)
    assert info.value.result is not None
    assert info.value.result.nit == 1


def test_parameter_running_off_raises_convergence_error() -> None:
    # Everyone buys right up to the end and at a steady pace: no sign of dropout, so the
    # dropout parameters are pushed to the boundary of the parameter space.
    data = {"frequency": [5.0, 6.0, 5.0, 7.0], "recency": [10.0, 10.0, 10.0, 10.0], "T": [10.0] * 4}
    with pytest.raises(ConvergenceError, match=r"ran off") as info:
        BetaGeoModel().fit(data)
    assert info.value.result is not None


def _total_loglik(model: Any, params: np.ndarray, data: pd.DataFrame) -> float:
    arrays = {c: data[c].to_numpy(dtype=float) for c in model._data_columns}
    return float(np.sum(model._loglik(np.asarray(params, dtype=float), arrays)))


def test_boundary_fit_raises_and_says_what_the_data_identify() -> None:
    # Issue 17, bug 3: low repeat rate (T = 10 weeks); the fit returned a = 1.9e5,
    # b = 9.6e5 silently (a Wald interval excluding the truth a = 0.793). The likelihood
    # keeps rising as a and b grow together: only a/(a+b) is identified.
    sim = BetaGeoModel.from_params(**BGNBD).simulate(2000, 10.0, random_state=0)
    with pytest.raises(ConvergenceError, match=r"boundary fit") as info:
        BetaGeoModel().fit(sim)
    message = str(info.value)
    assert "multiplying 'a' and multiplying 'b' by up to 100" in message
    assert "only the ratio a/b = 0.20" in message
    assert "a/(a+b) is the mean probability of dropping out" in message
    result = info.value.result
    assert result is not None
    # the claim holds: 100 times larger a and b lose (almost) no likelihood
    reached = np.exp(np.asarray(result.x))
    farther = reached * np.array([1.0, 1.0, 100.0, 100.0])
    model = BetaGeoModel()
    assert _total_loglik(model, farther, sim) > _total_loglik(model, reached, sim) - 0.05


def test_weakly_identified_fit_warns_and_the_claim_holds() -> None:
    sim = BetaGeoModel.from_params(**BGNBD).simulate(2000, 10.0, random_state=1)
    with pytest.warns(CustomerValueWarning, match=r"barely identify.*only the ratio a/b"):
        model = BetaGeoModel().fit(sim)
    params = model.params_.to_numpy()
    best = _total_loglik(model, params, sim)
    moved = [_total_loglik(model, params * np.array([1.0, 1.0, f, f]), sim) for f in (100.0, 0.01)]
    assert max(moved) > best - 1.92  # inside the 95% likelihood-ratio region
    assert max(moved) < best  # but the estimate is a maximum


@pytest.mark.parametrize("name", sorted(MODELS))
def test_well_identified_fits_do_not_warn(name: str, cdnow_summary: pd.DataFrame) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", CustomerValueWarning)
        MODELS[name]().fit(cdnow_summary)


def test_progress_and_logging(
    cdnow_summary: pd.DataFrame, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    with caplog.at_level(logging.DEBUG, logger="customer_value.clv"):
        BetaGeoModel().fit(cdnow_summary, progress=True)
    err = capsys.readouterr().err
    assert "BetaGeoModel.fit" in err
    assert "done in" in err
    assert any("fitted" in rec.getMessage() for rec in caplog.records)
    assert any("distinct rows" in rec.getMessage() for rec in caplog.records)
    BetaGeoModel().fit(cdnow_summary)
    assert capsys.readouterr().err == ""


def test_initial_params_are_validated(cdnow_summary: pd.DataFrame) -> None:
    model = BetaGeoModel().fit(cdnow_summary, initial_params={"r": 1, "alpha": 1, "a": 1, "b": 1})
    assert model.params_["r"] == pytest.approx(0.2426, abs=1e-3)
    with pytest.raises(InvalidDataError, match="initial_params needs 4 values"):
        BetaGeoModel().fit(cdnow_summary, initial_params=[1.0, 2.0])


def test_non_positive_definite_hessian_raises(
    cdnow_summary: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = BetaGeoModel()
    monkeypatch.setattr(model, "_hessian", lambda *a: -np.eye(4))
    with pytest.raises(ConvergenceError, match="not positive definite") as info:
        model.fit(cdnow_summary)
    assert info.value.result is not None


def test_warm_start_on_large_tables_reaches_the_same_maximum() -> None:
    truth = BetaGeoModel.from_params(**BGNBD)
    rng = np.random.default_rng(5)
    sim = truth.simulate(150_000, rng.uniform(10, 60, size=150_000), random_state=5)
    warm = BetaGeoModel().fit(sim)  # > 100,000 distinct rows: subset warm start
    cold = BetaGeoModel().fit(sim, initial_params=[1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(warm.params_, cold.params_, rtol=1e-6)
    assert warm.log_likelihood_ == pytest.approx(cold.log_likelihood_, rel=1e-12, abs=1e-6)
    np.testing.assert_allclose(warm.standard_errors_, cold.standard_errors_, rtol=1e-4)


def test_newton_polish_of_a_large_covariate_fit_reaches_the_same_maximum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # > 100,000 distinct rows: warm start, L-BFGS to a whitened error of 1e-6, one
    # Newton step; the cold fit runs L-BFGS to the tight tolerance from the default start
    n = 110_000
    rng = np.random.default_rng(8)
    X = pd.DataFrame({"u": rng.normal(size=n), "v": rng.uniform(size=n)})
    truth = ParetoNBDModel.from_params(
        r=0.6,
        alpha=9.0,
        s=0.7,
        beta=12.0,
        purchase_covariates=["u", "v"],
        dropout_covariates=["u"],
        **{"purchase.u": 0.3, "purchase.v": -0.4, "dropout.u": 0.2},
    )
    sim = truth.simulate(n, rng.uniform(20, 52, size=n), random_state=9, covariates=X)
    data = pd.concat([sim[["frequency", "recency", "T"]], X], axis=1)
    spec = {"purchase_covariates": ["u", "v"], "dropout_covariates": ["u"]}
    polished: list[bool] = []
    original = ParetoNBDModel._polish

    def spy(self: Any, *args: Any) -> Any:
        out = original(self, *args)
        polished.append(out is not None)
        return out

    monkeypatch.setattr(ParetoNBDModel, "_polish", spy)
    warm = ParetoNBDModel(**spec).fit(data)
    assert polished == [True]
    cold = ParetoNBDModel(**spec).fit(data, initial_params=[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(warm.params_, cold.params_, rtol=1e-6, atol=1e-8)
    assert warm.log_likelihood_ == pytest.approx(cold.log_likelihood_, rel=1e-12, abs=1e-6)
    np.testing.assert_allclose(warm.standard_errors_, cold.standard_errors_, rtol=1e-4)


def _value_models(
    cdnow_summary: pd.DataFrame, donations: pd.DataFrame
) -> dict[str, tuple[MLEModel, str]]:
    from customer_value.clv import (
        BetaGeoBetaBinomModel,
        GammaGammaModel,
        ShiftedBetaGeoModel,
        cohort_from_survivors,
    )

    cohort = cohort_from_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
    cohort.attrs["time_unit"] = "Y"
    return {
        "gamma_gamma": (GammaGammaModel().fit(cdnow_summary), "W"),
        "bgbb": (BetaGeoBetaBinomModel().fit(donations), "Y"),
        "sbg": (ShiftedBetaGeoModel().fit(cohort), "Y"),
    }


def test_json_round_trip_of_the_value_models(
    cdnow_summary: pd.DataFrame, donations: pd.DataFrame
) -> None:
    """Every field of the document survives, for the models of issue 5 too."""
    for name, (model, unit) in _value_models(cdnow_summary, donations).items():
        assert model.time_unit_ == unit, name
        loaded = MLEModel.from_json(model.to_json())
        assert type(loaded) is type(model)
        assert loaded.time_unit_ == unit
        assert repr(loaded) == repr(model)
        np.testing.assert_array_equal(loaded.covariance_.to_numpy(), model.covariance_.to_numpy())
        assert loaded.log_likelihood_ == model.log_likelihood_
        assert loaded.n_ == model.n_
        pd.testing.assert_series_equal(loaded.params_, model.params_)


def test_not_fitted_guards_of_the_value_models() -> None:
    from customer_value.clv import BetaGeoBetaBinomModel, GammaGammaModel, ShiftedBetaGeoModel

    gg, bgbb, sbg = GammaGammaModel(), BetaGeoBetaBinomModel(), ShiftedBetaGeoModel()
    spend = {"frequency": [1], "monetary_value": [10.0]}
    opportunities = {"frequency": [1], "recency": [1], "n_periods": [6]}
    calls = [
        lambda: gg.expected_spend(spend),
        gg.population_mean_spend,
        lambda: gg.params_,
        lambda: bgbb.probability_alive(opportunities),
        lambda: bgbb.expected_purchases(3, opportunities),
        lambda: bgbb.expected_purchases_new_customer(3),
        lambda: bgbb.summary_,
        lambda: sbg.survival(3),
        lambda: sbg.retention_rate(3),
        lambda: sbg.churn_probability(3),
        lambda: sbg.discounted_expected_residual_lifetime(
            {"duration": [2], "churned": [False]}, discount_rate=0.1
        ),
        lambda: sbg.loglikelihood({"duration": [2], "churned": [False]}),
        sbg.to_json,
    ]
    for call in calls:
        with pytest.raises(NotFittedError, match="is not fitted"):
            call()
    for model in (BetaGeoModel(), ModifiedBetaGeoModel(), ParetoNBDModel()):
        with pytest.raises(NotFittedError, match="is not fitted"):
            model.expected_discounted_transactions(
                {"frequency": [1], "recency": [1.0], "T": [2.0]}, discount_rate=0.01
            )
