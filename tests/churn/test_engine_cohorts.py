"""cohort_retention inside Polars, DuckDB, Spark and Dask equals the pandas path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value import InvalidDataError
from customer_value.churn import cohort_retention

CASES = [
    {"cohort": "M", "period": "M"},
    {"cohort": "Q", "period": "W-MON", "measure": "revenue", "monetary_value_col": "amount"},
    {"cohort": "Y", "period": "D"},
]


@pytest.fixture(scope="module")
def tx(cdnow_transactions) -> pd.DataFrame:
    return cdnow_transactions[["customer_id", "date", "amount"]]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_engine_cohort_retention_equals_pandas(backend, tx, case):
    if backend.kind == "pandas":
        pytest.skip("pandas is the reference")
    if backend.kind == "spark" and case > 0:
        pytest.skip("Spark runs the first case only, to keep the suite fast; same code path")
    expected = cohort_retention(tx, **CASES[case])
    ours = cohort_retention(backend.frame(tx), **CASES[case])
    assert isinstance(ours, pd.DataFrame)  # small by construction: returned as pandas
    pd.testing.assert_index_equal(ours.index, expected.index)
    pd.testing.assert_index_equal(ours.columns, expected.columns)
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=0)
    assert ours.attrs == expected.attrs


def test_engine_cohort_retention_bad_input(backend):
    if backend.kind in {"pandas", "spark"}:
        pytest.skip("pandas has its own tests; Spark shares this code path (kept fast)")
    tx = pd.DataFrame(
        {
            "customer_id": [1, 2, 2],
            "date": pd.to_datetime(["1997-01-01", "1997-02-01", "1997-03-01"]),
            "amount": [1.0, -2.0, 3.0],
        }
    )
    with pytest.raises(InvalidDataError, match=r"'amount' must be >= 0.*customer_id=2"):
        cohort_retention(backend.frame(tx), measure="revenue", monetary_value_col="amount")
    with pytest.raises(InvalidDataError, match=r"period='B' is neither a fixed length"):
        cohort_retention(backend.frame(tx), period="B")
