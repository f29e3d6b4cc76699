"""compare_models (issue 15, item 4)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from customer_value.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    compare_models,
)
from customer_value.data import calibration_holdout_split
from customer_value.datasets import load_cdnow_transactions
from customer_value.errors import InvalidDataError, NotFittedError


@pytest.fixture(scope="module")
def split() -> pd.DataFrame:
    return calibration_holdout_split(
        load_cdnow_transactions(),
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="W",
    )


def test_table_on_cdnow(split: pd.DataFrame) -> None:
    cal = split.rename(columns=lambda c: c.removesuffix("_cal"))
    rng = np.random.default_rng(0)
    cal["g"] = rng.integers(0, 2, len(cal)).astype(float)
    models = {
        "bg": BetaGeoModel().fit(cal),
        "mbg": ModifiedBetaGeoModel().fit(cal),
        "pareto": ParetoNBDModel().fit(cal),
        "pareto+g": ParetoNBDModel(purchase_covariates=["g"]).fit(cal),
    }
    table = compare_models(models, split.assign(g=cal["g"]))
    assert table.index.tolist() == list(models)
    for name, model in models.items():
        row = table.loc[name]
        # the same customers as the fit: the log-likelihood is the fitted one
        assert row["log_likelihood"] == pytest.approx(model.log_likelihood_, rel=1e-9)
        k = len(model.params_)
        assert row["n_params"] == k
        assert row["aic"] == pytest.approx(2 * k - 2 * row["log_likelihood"])
        assert row["bic"] == pytest.approx(k * math.log(len(split)) - 2 * row["log_likelihood"])
        predicted = model.expected_purchases(split["duration_holdout"].to_numpy(), cal)
        error = predicted.to_numpy() - split["frequency_holdout"].to_numpy()
        assert row["holdout_mae"] == pytest.approx(np.mean(np.abs(error)))
        assert row["holdout_rmse"] == pytest.approx(np.sqrt(np.mean(error**2)))
    # FHL (2005): BG/NBD -9582.4 on the 39-week CDNOW calibration period
    assert table.loc["bg", "log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert table["actual_holdout_total"].eq(split["frequency_holdout"].sum()).all()
    assert table.loc["pareto+g", "n_params"] == 5
    by_sequence = compare_models([models["bg"], models["pareto"]], split)
    assert by_sequence.index.tolist() == ["BetaGeoModel", "ParetoNBDModel"]


def test_bad_input(split: pd.DataFrame) -> None:
    with pytest.raises(InvalidDataError, match="at least one model"):
        compare_models({}, split)
    with pytest.raises(InvalidDataError, match="frequency_holdout"):
        compare_models(
            [BetaGeoModel.from_params(r=1, alpha=1, a=1, b=1)],
            split.drop(columns="frequency_holdout"),
        )
    with pytest.raises(InvalidDataError, match="not a purchase-frequency model"):
        compare_models({"gg": GammaGammaModel.from_params(p=1, q=2, v=3)}, split)  # type: ignore[dict-item]
    with pytest.raises(NotFittedError):
        compare_models([BetaGeoModel()], split)


def test_choosing_a_model_page_shows_the_real_table(split: pd.DataFrame) -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "choosing_a_model.rst").read_text(
        encoding="utf-8"
    )
    cal = split.rename(columns=lambda c: c.removesuffix("_cal"))
    models = {
        "BG/NBD": BetaGeoModel().fit(cal),
        "MBG/NBD": ModifiedBetaGeoModel().fit(cal),
        "Pareto/NBD": ParetoNBDModel().fit(cal),
    }
    table = compare_models(models, split).round(3)
    lines = page.splitlines()
    for name in models:
        start = lines.index(f"   * - {name}")
        shown = [float(v.strip().removeprefix("- ")) for v in lines[start + 1 : start + 9]]
        np.testing.assert_allclose(shown, table.loc[name].to_numpy(), atol=1e-9)
