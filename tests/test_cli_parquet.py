"""The engine path of ``customer-value score`` for Parquet, in process, against the pandas path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from customer_value.errors import ConvergenceError

pytest.importorskip("polars", reason="the Parquet engine path needs the [polars] extra")
pytest.importorskip("pyarrow", reason="writing the test's Parquet file needs pyarrow")

OPTIONS = {"horizon": 52.0, "discount_rate": 0.10, "margin": 1.0}


@pytest.fixture(scope="module")
def parquet(tmp_path_factory, cdnow_transactions) -> Path:
    path = tmp_path_factory.mktemp("parquet") / "cdnow.parquet"
    cdnow_transactions[["customer_id", "date", "amount"]].to_parquet(path)
    return path


def engine_scores(path: Path, calibration_end: str | None) -> pd.DataFrame | None:
    from customer_value._cli_parquet import score_parquet

    said: list[str] = []
    scores = score_parquet(
        path,
        customer_id_col="customer_id",
        date_col="date",
        amount_col="amount",
        calibration_end=calibration_end,
        progress=said.append,
        **OPTIONS,
    )
    assert "scoring every customer in the engine" in said
    return scores


def assert_same_scores(ours: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(ours.columns) == list(expected.columns)
    assert ours.index.equals(expected.index)
    for column in expected.columns:
        if expected[column].dtype.kind == "f":
            # fitted on sufficient statistics: parameters agree to the optimiser's tolerance
            assert ours[column].to_numpy() == pytest.approx(expected[column], rel=1e-5, abs=1e-9)
        else:
            assert ours[column].astype(str).tolist() == expected[column].astype(str).tolist()


@pytest.mark.slow
def test_a_candidate_that_cannot_be_fitted_is_left_out_as_on_the_pandas_path(
    parquet, cdnow_transactions, monkeypatch
):
    from customer_value.report import analyze_customers

    calibration_end = "1997-09-30"
    tx = cdnow_transactions[["customer_id", "date", "amount"]]
    usual = analyze_customers(tx, calibration_end=calibration_end, **OPTIONS).model_name
    assert usual is not None
    # the model the comparison would choose fails to fit: both paths choose another one
    from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

    failing = {"BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel}.get(usual, ParetoNBDModel)

    def refuse(self, *args, **kwargs):
        raise ConvergenceError(f"{type(self).__name__}.fit: refused by the test")

    monkeypatch.setattr(failing, "fit", refuse)
    expected = analyze_customers(tx, calibration_end=calibration_end, **OPTIONS)
    assert expected.model_name not in (None, usual)
    ours = engine_scores(parquet, calibration_end)
    assert ours is not None  # not handed back to the pandas path
    assert_same_scores(ours, expected.scores.sort_index())


def test_no_candidate_fitted_hands_the_file_to_the_pandas_path(parquet, monkeypatch):
    from customer_value._cli_parquet import score_parquet
    from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

    def refuse(self, *args, **kwargs):
        raise ConvergenceError("refused by the test")

    for cls in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel):
        monkeypatch.setattr(cls, "fit", refuse)
    said: list[str] = []
    scores = score_parquet(
        parquet,
        customer_id_col="customer_id",
        date_col="date",
        amount_col="amount",
        calibration_end=None,
        progress=said.append,
        **OPTIONS,
    )
    assert scores is None
    assert "fitting Pareto/NBD on the calibration period" in said
