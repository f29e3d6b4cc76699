"""rfm_scores and behavioural_features inside Polars, DuckDB, Spark and Dask equal pandas.

RFM ranks must be exact and tie-safe in every engine: CDNOW has large blocks of equal
frequency and recency, so a rank approximated or split by row order would show here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value import InvalidDataError
from customer_value.data import summarize_transactions
from customer_value.segmentation import behavioural_features, rfm_scores


@pytest.fixture(scope="module")
def tx(cdnow_transactions) -> pd.DataFrame:
    frame = cdnow_transactions[["customer_id", "date", "amount"]].copy()
    codes = frame["customer_id"].to_numpy() % 3
    frame["category"] = np.array(["books", "music", "video"])[codes]
    frame["channel"] = np.where(frame["amount"].to_numpy() > 30, "web", "store")
    frame["discount"] = (frame["amount"].to_numpy() % 7) - 3.0
    return frame


def _collect(backend, native) -> pd.DataFrame:
    return backend.collect(native, sort_by="customer_id").set_index("customer_id")


def _same(ours: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(ours.columns) == list(expected.columns)
    np.testing.assert_array_equal(ours.index.to_numpy(), expected.index.to_numpy())
    for column in expected.columns:
        if expected[column].dtype == object:
            assert ours[column].tolist() == expected[column].tolist(), column
        elif expected[column].dtype.kind in "iu":
            np.testing.assert_array_equal(ours[column].to_numpy(), expected[column].to_numpy())
        else:
            np.testing.assert_allclose(
                ours[column].to_numpy(dtype=float),
                expected[column].to_numpy(dtype=float),
                rtol=1e-12,
                atol=0,
                err_msg=column,
            )


RFM_CASES = [
    {"scale": "quintile"},
    {"scale": "percentile", "monetary": "mean", "observation_end": "1997-12-31"},
]


@pytest.mark.parametrize("case", range(len(RFM_CASES)))
def test_engine_rfm_scores_equal_pandas(backend, tx, case):
    if backend.kind == "spark" and case > 0:
        pytest.skip("Spark runs the first case only, to keep the suite fast; same code path")
    log = tx[["customer_id", "date", "amount"]]
    expected = rfm_scores(log, **RFM_CASES[case])
    native = backend.frame(log) if backend.kind != "pandas" else log
    ours = _collect(backend, rfm_scores(native, **RFM_CASES[case]))
    _same(ours, expected)
    # ties are shared: every customer with one purchase has the same F score
    once = ours["frequency"] == 1
    assert ours.loc[once, "f_score"].nunique() == 1


def test_engine_rfm_scores_of_a_summary_with_ties(backend):
    # values chosen so that blocks of ties straddle the quintile edges
    summary = pd.DataFrame(
        {
            "customer_id": np.arange(11),
            "frequency": [0.0, 0, 0, 1, 1, 2, 2, 2, 5, 5, 9],
            "recency": [0.0, 0, 0, 3, 3, 8, 8, 8, 10, 10, 12],
            "T": [20.0] * 11,
            "monetary_value": [0.0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30],
        }
    )
    expected = rfm_scores(summary.set_index("customer_id"), scale="quintile")
    ours = _collect(backend, rfm_scores(backend.frame(summary), scale="quintile"))
    _same(ours, expected)
    pct = _collect(backend, rfm_scores(backend.frame(summary), scale="percentile"))
    _same(pct, rfm_scores(summary.set_index("customer_id"), scale="percentile"))


def test_engine_rfm_scores_bad_input(backend):
    if backend.kind in {"pandas", "spark"}:
        pytest.skip("pandas has its own tests; Spark shares this code path (kept fast)")
    summary = pd.DataFrame(
        {"customer_id": [1, 2, 2], "frequency": [1.0, 2.0, 3.0], "recency": [1.0, 2.0, 3.0]}
    )
    summary["monetary"] = [1.0, 1.0, 1.0]
    with pytest.raises(InvalidDataError, match=r"repeats a customer; customer_id=2"):
        rfm_scores(backend.frame(summary))
    summary["customer_id"] = [1, 2, 3]
    summary["monetary"] = [1.0, -1.0, 1.0]
    with pytest.raises(InvalidDataError, match=r"'monetary' must be >= 0.*customer_id=2"):
        rfm_scores(backend.frame(summary))
    log = pd.DataFrame(
        {"customer_id": [1], "date": pd.to_datetime(["1997-01-01"]), "amount": [np.nan]}
    )
    with pytest.raises(InvalidDataError, match=r"'amount' must be finite"):
        rfm_scores(backend.frame(log))


BEHAVIOUR_CASES = [
    {},
    {
        "category_col": "category",
        "channel_col": "channel",
        "discount_col": "discount",
        "observation_end": "1997-12-31",
    },
]


@pytest.mark.parametrize("case", range(len(BEHAVIOUR_CASES)))
def test_engine_behavioural_features_equal_pandas(backend, tx, case):
    if backend.kind == "spark" and case > 0:
        pytest.skip("Spark runs the first case only, to keep the suite fast; same code path")
    options = BEHAVIOUR_CASES[case]
    expected = behavioural_features(tx, **options)
    native = backend.frame(tx) if backend.kind != "pandas" else tx
    ours = _collect(backend, behavioural_features(native, **options))
    _same(ours, expected)
    assert ours["median_days_between"].isna().sum() > 0  # one-day customers have no gaps


def test_engine_feeds_a_btyd_summary(backend, tx):
    """Features and summaries join on the customer column in the engine's own frames."""
    if backend.kind == "spark":
        pytest.skip("covered by the equality tests above; kept fast on Spark")
    log = tx[["customer_id", "date", "amount"]]
    native = backend.frame(log) if backend.kind != "pandas" else log
    summary = _collect(backend, summarize_transactions(native, monetary_value_col="amount"))
    features = _collect(backend, behavioural_features(native))
    assert summary.index.equals(features.index)
