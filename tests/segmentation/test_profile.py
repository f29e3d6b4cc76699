"""segment_profile: sizes, shares, means and top categories against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.segmentation import CLASSIC_SEGMENTS, segment_profile


@pytest.fixture(scope="module")
def segmented(cdnow_rfm):
    return CLASSIC_SEGMENTS.assign(cdnow_rfm)


def test_sizes_shares_means(segmented):
    table = segment_profile(segmented)
    counts = segmented["segment"].value_counts()
    assert table["size"].to_dict() == counts[counts > 0].to_dict()
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["revenue_share"].sum() == pytest.approx(1.0)
    means = segmented.groupby("segment", observed=True)["monetary"].mean()
    np.testing.assert_allclose(table["mean_monetary"], means.reindex(table.index))
    # map order, empty segments left out
    assert list(table.index) == [s for s in CLASSIC_SEGMENTS.labels if counts.get(s, 0) > 0]
    assert table.loc["champions", "segment_label"] == "冠军客户"
    # value concentrates in champions
    assert table.loc["champions", "revenue_share"] > table.loc["champions", "share"]


def test_top_categories(segmented, cdnow_transactions):
    tx = cdnow_transactions.assign(
        genre=np.where(cdnow_transactions["quantity"] > 1, "box_sets", "singles")
    )
    table = segment_profile(segmented, transactions=tx, category_col="genre", top_n=1)
    champions = segmented.index[segmented["segment"] == "champions"]
    part = tx[tx["customer_id"].isin(champions)]
    spend = part.groupby("genre")["amount"].sum()
    top = spend.idxmax()
    assert table.loc["champions", "top_categories"] == f"{top} {spend[top] / spend.sum():.0%}"


def test_plain_string_segments_sorted_by_size():
    data = pd.DataFrame({"segment": ["b", "a", "b", "c", "b", "a"], "monetary": [1.0] * 6})
    table = segment_profile(data)
    assert list(table.index) == ["b", "a", "c"]
    assert table["size"].tolist() == [3, 2, 1]
    assert "segment_label" not in table.columns


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        (
            {"segment": ["a", None], "monetary": [1.0, 2.0]},
            {},
            r"'segment' must not be missing; row 1",
        ),
        ({"seg": ["a"]}, {}, r"missing column\(s\) 'segment'"),
        (
            {"segment": ["a", "b"], "monetary": [1.0, np.nan]},
            {},
            r"'monetary' must be finite.*row 1",
        ),
        ({"segment": ["a"]}, {"mean_cols": ["clv"]}, r"missing column\(s\) 'clv'"),
    ],
)
def test_bad_input(data, kwargs, match):
    with pytest.raises(InvalidDataError, match=match):
        segment_profile(data, **kwargs)


def test_duplicate_customers_with_transactions_are_refused():
    data = pd.DataFrame({"segment": ["a", "b"], "monetary": [1.0, 2.0]}, index=[7, 7])
    tx = pd.DataFrame({"customer_id": [7], "genre": ["pop"], "amount": [1.0]})
    with pytest.raises(InvalidDataError, match=r"must be unique; row 1 \(label 7\) repeats"):
        segment_profile(data, transactions=tx, category_col="genre")


def test_revenue_shares_of_huge_revenues():
    # the summed revenue overflowed to inf and every revenue_share became 0
    data = pd.DataFrame({"segment": ["a", "b", "b"], "monetary": [1e308, 1e308, 1e308]})
    table = segment_profile(data)
    assert table.loc["b", "revenue_share"] == pytest.approx(2 / 3)
    assert table.loc["a", "revenue"] == 1e308
    assert table["revenue_share"].sum() == pytest.approx(1.0)
