"""churn_risk and recency_risk: closed-form cases, the real BTYD models, properties, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.churn import (
    RISK_LABELS_ZH,
    AliveModel,
    SpendModel,
    churn_risk,
    recency_risk,
)
from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from customer_value.errors import InvalidDataError, NotFittedError

from .conftest import ConstantModel, ConstantSpend

# Fader, Hardie & Lee (2005), section 5: BG/NBD estimates on CDNOW (weeks).
FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_levels_and_chinese_labels() -> None:
    model = ConstantModel([0.95, 0.71, 0.7, 0.5, 0.41, 0.4, 0.0], [1.0] * 7)
    risk = churn_risk(model)
    assert risk["risk_level"].tolist() == [
        "low", "low", "medium", "medium", "medium", "high", "high"
    ]  # fmt: skip
    assert risk["risk_level_zh"].tolist() == [RISK_LABELS_ZH[k] for k in risk["risk_level"]]
    assert set(RISK_LABELS_ZH.values()) == {"低风险", "中风险", "高风险"}
    assert risk["risk_level"].cat.ordered
    np.testing.assert_allclose(risk["churn_probability"] + risk["p_alive"], 1.0)


def test_custom_levels() -> None:
    model = ConstantModel([0.95, 0.85, 0.5], [1.0] * 3)
    risk = churn_risk(model, levels={"low": 0.1, "medium": 0.2})
    assert risk["risk_level"].tolist() == ["low", "medium", "high"]


def test_value_at_risk_closed_form() -> None:
    # E[Y | alive] = rate * t, so VaR = (1 - p) * rate * t * spend
    p = np.array([0.9, 0.5, 0.2, 1.0])
    rate = np.array([0.5, 1.0, 2.0, 3.0])
    spend = np.array([10.0, 20.0, 5.0, 7.0])
    risk = churn_risk(ConstantModel(p, rate), spend_model=ConstantSpend(spend), horizon=4)
    np.testing.assert_allclose(risk["value_at_risk"], (1 - p) * rate * 4 * spend)
    np.testing.assert_allclose(risk["expected_value"], p * rate * 4 * spend)
    np.testing.assert_allclose(risk["expected_spend"], spend)
    assert risk["value_at_risk"].iloc[3] == 0.0  # certainly alive: nothing at risk
    assert risk.attrs == {"time_unit": "W", "horizon": 4.0}


def test_value_at_risk_when_p_alive_underflows() -> None:
    risk = churn_risk(ConstantModel([0.0], [1.0]), spend_model=ConstantSpend([3.0]), horizon=2)
    assert risk["value_at_risk"].iloc[0] == 0.0


def test_bgnbd_p_alive_matches_paper_formula() -> None:
    # Fader, Hardie & Lee (2008 note, "Computing P(alive) using the BG/NBD model"):
    # P(alive) = 1 / (1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
    model = BetaGeoModel.from_params(**FHL)
    data = pd.DataFrame({"frequency": [0, 2, 2, 7], "recency": [0, 30.43, 5.0, 35.0], "T": 38.86})
    r, alpha, a, b = FHL.values()
    x, tx, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    ratio = a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
    expected = 1 / (1 + np.where(x > 0, ratio, 0.0))
    risk = churn_risk(model, data)
    np.testing.assert_allclose(risk["p_alive"], expected, rtol=1e-10)
    assert risk.index.equals(data.index)


def test_real_models_on_cdnow(cdnow_calibration: pd.DataFrame) -> None:
    for cls in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel):
        model = cls.from_params(**_params(cls))
        assert isinstance(model, AliveModel)
        risk = churn_risk(
            model,
            cdnow_calibration,
            spend_model=ConstantSpend(np.full(len(cdnow_calibration), 35.0)),
            horizon=52,
        )
        assert risk["churn_probability"].between(0, 1).all()
        assert np.isfinite(risk["value_at_risk"]).all()
        assert (risk["value_at_risk"] >= 0).all()
        # a customer certainly alive has nothing at risk; the riskiest are not all zero
        assert risk["value_at_risk"].sum() > 0
        assert risk.attrs["time_unit"] is None  # built from parameters without a unit


def _params(cls: type) -> dict[str, float]:
    if cls is ParetoNBDModel:  # Fader, Hardie & Lee (2005), "A note on implementing P/NBD"
        return {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    if cls is ModifiedBetaGeoModel:
        return {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    return FHL


def test_fitted_model_default_data_and_time_unit(cdnow_calibration: pd.DataFrame) -> None:
    model = BetaGeoModel().fit(cdnow_calibration[["frequency", "recency", "T"]])
    risk = churn_risk(model, horizon=10)
    assert risk.index.equals(cdnow_calibration.index)
    assert risk.attrs["time_unit"] == "W"
    np.testing.assert_allclose(
        risk["expected_purchases"], model.expected_purchases(10).to_numpy(), rtol=1e-12
    )


def test_unfitted_models_raise() -> None:
    with pytest.raises(NotFittedError, match="BetaGeoModel is not fitted"):
        churn_risk(BetaGeoModel())
    with pytest.raises(NotFittedError, match="ConstantModel is not fitted"):
        churn_risk(ConstantModel([0.5], [1.0], fitted=False))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"levels": {"low": 0.7, "medium": 0.6}}, "must not exceed levels\\['medium'\\]"),
        ({"levels": {"low": 0.2}}, "exactly the keys 'low' and 'medium'"),
        ({"levels": {"low": -0.1, "medium": 0.5}}, "levels\\['low'\\] must be >= 0"),
        ({"spend_model": ConstantSpend([1.0])}, "needs a horizon"),
        ({"horizon": -1}, "horizon must be >= 0, got -1"),
        ({"spend_model": object(), "horizon": 1}, "spend_model must have expected_spend"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        churn_risk(ConstantModel([0.5], [1.0]), **kwargs)  # type: ignore[arg-type]


def test_not_a_model() -> None:
    with pytest.raises(InvalidDataError, match="model must have probability_alive"):
        churn_risk(object())  # type: ignore[arg-type]


def test_model_output_checked() -> None:
    with pytest.raises(InvalidDataError, match=r"p_alive.*must lie in \[0, 1\].*1.5"):
        churn_risk(ConstantModel([0.5, 1.5], [1.0, 1.0]))
    with pytest.raises(InvalidDataError, match=r"must be finite.*nan"):
        churn_risk(ConstantModel([0.5, np.nan], [1.0, 1.0]))


def test_spend_model_missing_customers() -> None:
    class Partial:
        def expected_spend(self, data: object = None) -> pd.Series:
            return pd.Series([5.0], index=[0])

    assert isinstance(Partial(), SpendModel)
    with pytest.raises(InvalidDataError, match="no value for customer 1"):
        churn_risk(ConstantModel([0.5, 0.4], [1.0, 1.0]), spend_model=Partial(), horizon=1)


@given(
    st.lists(
        st.tuples(
            st.floats(0, 1),
            st.floats(0, 1e6),
            st.floats(0, 1e6),
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(0, 1e4),
)
def test_property_risk_in_unit_interval(rows: list[tuple[float, float, float]], t: float) -> None:
    p, rate, spend = (np.array(c) for c in zip(*rows, strict=False))
    risk = churn_risk(ConstantModel(p, rate), spend_model=ConstantSpend(spend), horizon=t)
    assert risk["churn_probability"].between(0, 1).all()
    assert np.isfinite(risk.select_dtypes("number").to_numpy()).all()
    assert (risk["value_at_risk"] >= 0).all()


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.floats(0, 1), st.floats(1e-6, 1e4)),
        min_size=1,
        max_size=30,
    )
)
def test_property_bgnbd_extremes(rows: list[tuple[int, float, float]]) -> None:
    x = np.array([r[0] for r in rows], dtype=float)
    T = np.array([r[2] for r in rows])
    tx = np.where(x > 0, np.array([r[1] for r in rows]) * T, 0.0)
    model = BetaGeoModel.from_params(**FHL)
    risk = churn_risk(model, {"frequency": x, "recency": tx, "T": T}, horizon=52)
    assert risk["churn_probability"].between(0, 1).all()
    assert np.isfinite(risk[["p_alive", "expected_purchases"]].to_numpy()).all()


# ---------------------------------------------------------------- recency_risk


def test_recency_rule_hand_computed() -> None:
    summary = pd.DataFrame(
        {"frequency": [4, 0, 1, 2], "recency": [20.0, 0.0, 10.0, 6.0], "T": [30, 8, 40, 12.1]},
        index=["a", "b", "c", "d"],
    )
    out = recency_risk(summary)
    # population gap = (20 + 10 + 6) / (4 + 1 + 2) = 36 / 7
    np.testing.assert_allclose(out["typical_gap"], [5.0, 36 / 7, 10.0, 3.0])
    assert out["gap_source"].tolist() == ["own", "population", "own", "own"]
    np.testing.assert_allclose(out["time_since_last"], [10.0, 8.0, 30.0, 6.1])
    assert out["late"].tolist() == [False, False, True, True]
    assert ((out["risk_score"] > 0.5) == out["late"]).all()
    assert recency_risk(summary, factor=3.5)["late"].tolist() == [False, False, False, False]
    assert out.index.tolist() == ["a", "b", "c", "d"]


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.floats(0, 1), st.floats(0, 1e6)),
        min_size=1,
        max_size=40,
    )
)
def test_property_recency_score_in_unit_interval(rows: list[tuple[int, float, float]]) -> None:
    x = np.array([r[0] for r in rows], dtype=float)
    T = np.array([r[2] for r in rows])
    tx = np.where(x > 0, np.array([r[1] for r in rows]) * T, 0.0)
    x[0], tx[0], T[0] = 1.0, 1.0, max(T[0], 1.0)  # at least one repeat buyer
    out = recency_risk({"frequency": x, "recency": tx, "T": T})
    assert out["risk_score"].between(0, 1).all()
    assert np.isfinite(out[["lateness", "typical_gap"]].to_numpy()).all()


@pytest.mark.parametrize(
    ("summary", "kwargs", "match"),
    [
        ({"frequency": [0], "recency": [0.0], "T": [3.0]}, {}, "no customer has a repeat"),
        ({"frequency": [1], "recency": [5.0], "T": [3.0]}, {}, "recency.*must not exceed 'T'"),
        ({"frequency": [-1], "recency": [0.0], "T": [3.0]}, {}, "frequency.*>= 0.*-1.0"),
        ({"frequency": [1], "recency": [1.0]}, {}, "missing column\\(s\\) 'T'"),
        ({"frequency": [1], "recency": [1.0], "T": [3.0]}, {"factor": 0}, "factor must be > 0"),
    ],
)
def test_recency_bad_input(
    summary: dict[str, list[float]], kwargs: dict[str, float], match: str
) -> None:
    with pytest.raises(InvalidDataError, match=match):
        recency_risk(summary, **kwargs)


def test_value_at_risk_with_gamma_gamma(cdnow_calibration: pd.DataFrame) -> None:
    from customer_value.clv import GammaGammaModel

    # Fader, Hardie & Lee (2005b), "RFM and CLV", section 4: p = 6.25, q = 3.74, v = 15.44
    spend = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    freq = ParetoNBDModel.from_params(**_params(ParetoNBDModel))
    risk = churn_risk(freq, cdnow_calibration, spend_model=spend, horizon=52)
    p = freq.probability_alive(cdnow_calibration).to_numpy()
    e = freq.expected_purchases(52, cdnow_calibration).to_numpy()
    m = spend.expected_spend(cdnow_calibration).to_numpy()
    # independent route: E[Y | alive] E[M] times P(churned)
    np.testing.assert_allclose(risk["value_at_risk"], (1 - p) / p * e * m, rtol=1e-12)
    np.testing.assert_allclose(risk["expected_value"] + risk["value_at_risk"], e * m / p)
    # one-time buyers are valued at the population mean spend p v / (q - 1)
    one_timer = cdnow_calibration["frequency"] == 0
    np.testing.assert_allclose(risk.loc[one_timer, "expected_spend"], 6.25 * 15.44 / 2.74)
    fitted = GammaGammaModel().fit(cdnow_calibration[cdnow_calibration["frequency"] > 0])
    with pytest.raises(InvalidDataError, match="expected_spend has no value for customer"):
        churn_risk(BetaGeoModel().fit(cdnow_calibration), spend_model=fitted, horizon=52)
    with pytest.raises(NotFittedError):
        churn_risk(freq, cdnow_calibration, spend_model=GammaGammaModel(), horizon=52)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_p_alive_and_validation_once_per_call(cls, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 17, performance: churn_risk computed P(alive) twice (probability_alive, then
    # inside expected_purchases) and validated the data twice for the model; a clv
    # frequency model now gives both in one pass, with the same numbers.
    model = cls.from_params(**dict(zip(cls._param_names, (0.5, 4.0, 0.8, 2.5), strict=True)))
    data = pd.DataFrame(
        {"frequency": [0, 2, 5, 1], "recency": [0.0, 20.0, 30.0, 3.0], "T": [38.0] * 4}
    )
    calls = {"p_alive": 0, "validate": 0}
    p_alive, validate = model._p_alive, model._validate

    def counted_p_alive(*args, **kwargs):
        calls["p_alive"] += 1
        return p_alive(*args, **kwargs)

    def counted_validate(*args, **kwargs):
        calls["validate"] += 1
        return validate(*args, **kwargs)

    monkeypatch.setattr(model, "_p_alive", counted_p_alive)
    monkeypatch.setattr(model, "_validate", counted_validate)
    risk = churn_risk(model, data, horizon=26)
    assert calls == {"p_alive": 1, "validate": 1}
    np.testing.assert_allclose(risk["p_alive"], model.probability_alive(data), rtol=1e-15)
    np.testing.assert_allclose(
        risk["expected_purchases"], model.expected_purchases(26, data), rtol=1e-15
    )
    both = model.alive_and_expected_purchases(26, data)
    assert list(both.columns) == ["p_alive", "expected_purchases"]
