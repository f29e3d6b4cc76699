"""The engine path of ``customer-value score`` for Parquet, in process, against the pandas path."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from customer_value.errors import ConvergenceError

pytest.importorskip("pyarrow", reason="writing the test's Parquet file needs pyarrow")

OPTIONS = {"horizon": 52.0, "discount_rate": 0.10, "margin": 1.0}


def use_engine(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the engine path on ``name``; DuckDB: as if only the [duckdb] extra were installed."""
    pytest.importorskip(name, reason=f"the Parquet engine path on {name} needs the [{name}] extra")
    if name == "duckdb":
        monkeypatch.setitem(sys.modules, "polars", None)  # `import polars` raises ImportError


@pytest.fixture(scope="module")
def parquet(tmp_path_factory, cdnow_transactions) -> Path:
    path = tmp_path_factory.mktemp("parquet") / "cdnow.parquet"
    cdnow_transactions[["customer_id", "date", "amount"]].to_parquet(path)
    return path


def engine_scores(path: Path, calibration_end: str | None) -> tuple[pd.DataFrame | None, list]:
    """``score_parquet`` on the file with the default options, and its progress messages."""
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
    return scores, said


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_a_candidate_that_cannot_be_fitted_is_left_out_as_on_the_pandas_path(
    engine, parquet, cdnow_transactions, monkeypatch, assert_same_scores
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
    use_engine(engine, monkeypatch)
    ours, said = engine_scores(parquet, calibration_end)
    assert ours is not None  # not handed back to the pandas path
    assert "scoring every customer in the engine" in said
    assert_same_scores(ours, expected.scores.sort_index())


def test_no_candidate_fitted_hands_the_file_to_the_pandas_path(parquet, monkeypatch):
    use_engine("polars", monkeypatch)
    from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

    def refuse(self, *args, **kwargs):
        raise ConvergenceError("refused by the test")

    for cls in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel):
        monkeypatch.setattr(cls, "fit", refuse)
    scores, said = engine_scores(parquet, None)
    assert scores is None
    assert "fitting Pareto/NBD on the calibration period" in said


def test_the_purchase_model_does_not_depend_on_the_order_of_the_rows(
    parquet, cdnow_transactions, tmp_path, monkeypatch
):
    use_engine("polars", monkeypatch)
    shuffled = tmp_path / "shuffled.parquet"
    tx = cdnow_transactions[["customer_id", "date", "amount"]]
    tx.sample(frac=1.0, random_state=7).to_parquet(shuffled)
    ours, _ = engine_scores(parquet, None)
    again, _ = engine_scores(shuffled, None)
    assert ours is not None
    assert again is not None
    # the fits see the same sorted sufficient statistics: the same parameters to the bit
    for column in ("p_alive", "expected_purchases", "churn_probability"):
        assert (ours[column].to_numpy() == again[column].to_numpy()).all(), column
