"""bin_segments: edges on either side, labels in every form, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.segmentation import bin_segments


def test_bin_segments_edges_and_labels():
    data = pd.DataFrame({"income": [0, 4999.99, 5000, 20000, 1e9]}, index=list("abcde"))
    left = bin_segments(
        data,
        "income",
        edges=[0, 5000, 20000, np.inf],
        labels={"low": "低收入", "middle": "中等收入", "high": "高收入"},
    )
    assert left["segment"].tolist() == ["low", "low", "middle", "high", "high"]
    assert left["segment_label"].tolist()[2] == "中等收入"
    assert left.index.tolist() == list("abcde")
    right = bin_segments(
        data, "income", edges=[0, 5000, 20000, np.inf], labels=["low", "middle", "high"], right=True
    )
    assert right["segment"].tolist() == ["low", "low", "low", "middle", "high"]
    tier_labels = [("t1", "一线"), ("t2_3", "二三线"), ("t4_5", "四五线")]
    tiers = bin_segments({"tier": [1, 2, 3, 4, 5]}, "tier", edges=[1, 2, 4, 5], labels=tier_labels)
    assert tiers["segment"].tolist() == ["t1", "t2_3", "t2_3", "t4_5", "t4_5"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"edges": [0, 10], "labels": ["a"], "column": "nope"}, r"missing column\(s\) 'nope'"),
        ({"edges": [0, 10], "labels": ["a", "b"]}, "expected 1 labels, got 2"),
        ({"edges": [10, 0], "labels": ["a"]}, "strictly increasing"),
        ({"edges": [0], "labels": []}, "at least two"),
        ({"edges": [0, 5, 10], "labels": ["a", "a"]}, "duplicate name"),
        ({"edges": [0, 2], "labels": ["a"]}, r"within the edges \[0, 2\]; row 2 has x=3.0"),
        ({"edges": [0, 5, 10], "labels": ["a", ("b",)]}, r"labels\[1\]: expected a name"),
    ],
)
def test_bin_segments_bad_input(kwargs, match):
    kwargs.setdefault("column", "x")
    column = kwargs.pop("column")
    with pytest.raises(InvalidDataError, match=match):
        bin_segments({"x": [1.0, 2.0, 3.0]}, column, **kwargs)


def test_bin_segments_nan():
    with pytest.raises(InvalidDataError, match=r"'x' must be finite.*row 1"):
        bin_segments({"x": [1.0, np.nan]}, "x", edges=[0, 5], labels=["a"])
