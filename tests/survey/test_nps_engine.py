"""nps_by inside Polars, DuckDB, Spark and Dask equals the pandas path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value import InvalidDataError
from customer_value.errors import CustomerValueWarning
from customer_value.survey import nps_by


@pytest.fixture(scope="module")
def responses() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 3_000
    rating = rng.integers(0, 11, size=n).astype(float)
    rating[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "store": rng.choice(["north", "south", "east", "west"], size=n),
            "rating": rating,
            "weight": rng.gamma(2.0, 0.5, size=n),
        }
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_nps_by_equals_pandas(backend, responses, weighted):
    if backend.kind == "spark" and weighted:
        pytest.skip("Spark runs the unweighted case only, to keep the suite fast")
    weights = "weight" if weighted else None
    expected = nps_by(responses, "rating", "store", weights_col=weights)
    native = backend.frame(responses) if backend.kind != "pandas" else responses
    ours = nps_by(native, "rating", "store", weights_col=weights)
    assert isinstance(ours, pd.DataFrame)
    assert list(ours.index) == list(expected.index)
    assert list(ours.columns) == list(expected.columns)
    if weighted:
        pd.testing.assert_frame_equal(ours, expected, check_exact=False, rtol=1e-12)
    else:
        pd.testing.assert_frame_equal(ours, expected, check_exact=True)


def test_nps_by_engine_bad_ratings(backend, responses):
    if backend.kind in {"pandas", "spark"}:
        pytest.skip("pandas has its own tests; Spark shares this code path (kept fast)")
    bad = responses.head(10).copy()
    bad.loc[4, "rating"] = 11.0
    with pytest.raises(InvalidDataError, match=r"'rating' must lie on the scale \[0, 10\]"):
        nps_by(backend.frame(bad), "rating", "store")
    bad.loc[4, "rating"] = 7.5
    with pytest.raises(InvalidDataError, match=r"whole-number answers.*rating=7.5"):
        nps_by(backend.frame(bad), "rating", "store")


def test_nps_by_engine_drops_group_without_ratings(backend):
    if backend.kind in {"pandas", "spark"}:
        pytest.skip("pandas has its own test; Spark shares this code path (kept fast)")
    df = pd.DataFrame({"g": ["a", "a", "b"], "r": [10.0, 3.0, np.nan]})
    with pytest.warns(CustomerValueWarning, match="1 group") as caught:
        out = nps_by(backend.frame(df), "r", "g")
    ours = [w for w in caught if issubclass(w.category, CustomerValueWarning)]
    assert [w.filename for w in ours] == [__file__]  # pointed at the caller of nps_by
    pd.testing.assert_frame_equal(out, nps_by(df.head(2), "r", "g"), check_exact=True)
