"""value_loyalty_matrix: quadrants, thresholds, tie rule, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError
from customer_value.segmentation import QUADRANTS, value_loyalty_matrix


def test_quadrants_and_labels():
    data = pd.DataFrame(
        {"spend": [10.0, 1.0, 10.0, 1.0], "visits": [5, 5, 1, 1]}, index=list("abcd")
    )
    out = value_loyalty_matrix(
        data, value_col="spend", loyalty_col="visits", value_threshold=5, loyalty_threshold=3
    )
    assert out["segment"].tolist() == ["gold", "potential", "churn_risk", "low_value"]
    assert out["segment_label"].tolist() == ["黄金客户", "潜力客户", "流失风险客户", "低价值客户"]
    assert out.index.tolist() == list("abcd")
    assert list(out["segment"].cat.categories) == list(QUADRANTS)


def test_tie_at_threshold_counts_as_high():
    data = {"v": [5.0, 4.999], "l": [3.0, 3.0]}
    out = value_loyalty_matrix(data, value_col="v", loyalty_col="l", value_threshold=5.0)
    assert out["high_value"].tolist() == [True, False]
    assert out["high_loyalty"].all()  # the median 3 itself counts as high


def test_median_and_percentile_thresholds(cdnow_rfm):
    out = value_loyalty_matrix(
        cdnow_rfm, value_col="monetary", loyalty_col="frequency", loyalty_threshold="p90"
    )
    assert out.attrs["value_threshold"] == pytest.approx(cdnow_rfm["monetary"].median())
    assert out.attrs["loyalty_threshold"] == pytest.approx(cdnow_rfm["frequency"].quantile(0.9))
    assert out["high_value"].mean() >= 0.5
    np.testing.assert_array_equal(
        out["high_value"], cdnow_rfm["monetary"] >= cdnow_rfm["monetary"].median()
    )
    mean = value_loyalty_matrix(
        cdnow_rfm, value_col="monetary", loyalty_col="frequency", value_threshold="mean"
    )
    assert mean.attrs["value_threshold"] == pytest.approx(cdnow_rfm["monetary"].mean())


@given(
    st.lists(
        st.tuples(st.floats(-1e9, 1e9, allow_nan=False), st.floats(-1e9, 1e9, allow_nan=False)),
        min_size=1,
        max_size=50,
    )
)
def test_property_every_customer_in_exactly_one_quadrant(rows):
    data = pd.DataFrame(rows, columns=["v", "l"])
    out = value_loyalty_matrix(data, value_col="v", loyalty_col="l")
    assert out["segment"].notna().all()
    assert (out["segment"] == "gold").sum() == (out["high_value"] & out["high_loyalty"]).sum()
    # equal values always land on the same side
    assert (out.groupby("value")["high_value"].nunique() == 1).all()


@pytest.mark.parametrize(
    ("kwargs", "data", "match"),
    [
        ({"value_col": "x", "loyalty_col": "l"}, {"v": [1.0], "l": [1.0]}, "missing column.*'x'"),
        (
            {"value_col": "v", "loyalty_col": "l"},
            {"v": [1.0, np.nan], "l": [1.0, 2.0]},
            r"'v' must be finite.*row 1",
        ),
        (
            {"value_col": "v", "loyalty_col": "l", "value_threshold": "top"},
            {"v": [1.0], "l": [1.0]},
            "value_threshold must be.*'top'",
        ),
        (
            {"value_col": "v", "loyalty_col": "l", "loyalty_threshold": "p150"},
            {"v": [1.0], "l": [1.0]},
            "loyalty_threshold must be.*'p150'",
        ),
        (
            {"value_col": "v", "loyalty_col": "l", "value_threshold": np.nan},
            {"v": [1.0], "l": [1.0]},
            "value_threshold must be finite",
        ),
        (
            {"value_col": "v", "loyalty_col": "l", "value_threshold": None},
            {"v": [1.0], "l": [1.0]},
            "value_threshold must be a number",
        ),
    ],
)
def test_bad_input(kwargs, data, match):
    with pytest.raises(InvalidDataError, match=match):
        value_loyalty_matrix(data, **kwargs)


def test_mean_threshold_of_huge_values_is_finite():
    # np.mean of values near 1e308 overflowed to inf: every customer became low value
    data = {"v": [1e308, 1.5e308, 1.0], "l": [1.0, 2.0, 3.0]}
    out = value_loyalty_matrix(data, value_col="v", loyalty_col="l", value_threshold="mean")
    assert out.attrs["value_threshold"] == pytest.approx(1e308 / 3 + 1.5e308 / 3, rel=1e-12)
    assert out["high_value"].tolist() == [True, True, False]
