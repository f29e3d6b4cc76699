"""The recipes of docs/user_guide/running_at_scale.rst run, on the bundled CDNOW data.

Each recipe reads ``transactions.parquet`` from the working directory; its results are
checked against the pandas path.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer_value.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value
from customer_value.data import summarize_transactions

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "running_at_scale.rst"
SECTIONS = {"duckdb": "Parquet and DuckDB", "polars": "Polars", "spark": "Spark and Databricks",
            "dask": "Dask"}  # fmt: skip


def _recipe(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split(f"\n{title}\n{'-' * len(title)}\n", 1)[1]
    block = re.search(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section)
    assert block is not None, f"no code block under {title!r}"
    return textwrap.dedent(block.group(1))


def _workdir(tmp_path: Path, monkeypatch, transactions: pd.DataFrame) -> Path:
    tx = transactions[["customer_id", "date", "amount"]]
    tx.to_parquet(tmp_path / "transactions.parquet", coerce_timestamps="us", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def reference(cdnow_transactions):
    summary = summarize_transactions(
        cdnow_transactions,
        monetary_value_col="amount",
        observation_end="1997-09-30",
        after_end="drop",
        time_unit="W",
    )
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    return summary, customer_lifetime_value(bg, gg, summary, horizon=52, discount_rate=0.10)


def _check_transformations(engine: str, namespace: dict, transactions: pd.DataFrame) -> None:
    """The recipes' engine-side transformations equal the pandas path."""
    from customer_value._engine import collect_pandas
    from customer_value.churn import cohort_retention
    from customer_value.data import calibration_holdout_split
    from customer_value.segmentation import behavioural_features, rfm_scores

    tx = transactions[["customer_id", "date", "amount"]]
    if engine == "duckdb":
        pairs = [("rfm", rfm_scores(tx, observation_end="1997-09-30"))]
        cohorts = namespace["cohorts"]
        pd.testing.assert_frame_equal(cohorts, cohort_retention(tx, cohort="M", period="M"))
    else:
        split = calibration_holdout_split(
            tx, calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="W"
        )
        pairs = [("split", split), ("features", behavioural_features(tx))]
    for name, expected in pairs:
        ours = collect_pandas(namespace[name]).sort_values("customer_id")
        ours = ours.set_index("customer_id")
        assert list(ours.columns) == list(expected.columns)
        np.testing.assert_array_equal(ours.index.to_numpy(), expected.index.to_numpy())
        for column in expected.select_dtypes("number").columns:
            np.testing.assert_allclose(ours[column], expected[column], rtol=1e-12)


@pytest.mark.parametrize("engine", sorted(SECTIONS))
def test_recipe_runs_and_matches_pandas(
    engine, reference, request, require_engine, tmp_path, monkeypatch, cdnow_transactions
):
    if engine == "spark":
        request.getfixturevalue("spark_session")
    elif engine == "dask":
        request.getfixturevalue("dask_client")
    else:
        require_engine(engine)
    workdir = _workdir(tmp_path, monkeypatch, cdnow_transactions)
    code = _recipe(SECTIONS[engine])
    # Spark's JVM resolves relative paths against its own start directory: make them absolute
    for name in ("transactions.parquet", "clv.parquet", "churn_risk.parquet", "stages"):
        code = code.replace(f'"{name}"', repr(str(workdir / name)))
    namespace: dict[str, object] = {}
    exec(compile(code, f"running_at_scale[{engine}]", "exec"), namespace)
    summary, clv = reference
    if engine in {"duckdb", "polars"}:
        ours = pd.read_parquet(workdir / "clv.parquet").sort_values("customer_id")
        np.testing.assert_array_equal(ours["customer_id"].to_numpy(), clv.index.to_numpy())
        np.testing.assert_allclose(ours["clv"].to_numpy(), clv.to_numpy(), rtol=1e-6)
        _check_transformations(engine, namespace, cdnow_transactions)
    elif engine == "spark":
        risk = pd.read_parquet(workdir / "churn_risk.parquet").sort_values("customer_id")
        assert len(risk) == len(summary)
        assert set(risk["risk_level"]) <= {"low", "medium", "high"}
        assert np.all(np.isfinite(risk["value_at_risk"]))
    else:
        stages = pd.read_parquet(workdir / "stages").sort_values("customer_id")
        assert len(stages) == len(summary)
        assert set(stages["stage"]) <= {"acquire", "nurture", "retain", "win_back", "lost"}
