"""rfm_scores: raw values against pandas, tie handling, scale bounds, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.data import summarize_transactions
from customer_value.errors import InvalidDataError
from customer_value.segmentation import rfm_scores


def brute_force_percentile(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Share of the other customers strictly worse, by an O(n^2) comparison."""
    diff = values[:, None] - values[None, :]
    worse = (diff > 0) if higher_is_better else (diff < 0)
    n = values.shape[0]
    return 100.0 * worse.sum(axis=1) / max(n - 1, 1)


def test_raw_values_match_pandas_groupby(cdnow_transactions, cdnow_rfm):
    tx = cdnow_transactions
    grouped = tx.groupby("customer_id").agg(
        last=("date", "max"), frequency=("amount", "size"), monetary=("amount", "sum")
    )
    expected_recency = (tx["date"].max() - grouped["last"]).dt.days.astype(float)
    pd.testing.assert_series_equal(
        cdnow_rfm["recency"], expected_recency, check_names=False, check_index_type=False
    )
    np.testing.assert_array_equal(cdnow_rfm["frequency"], grouped["frequency"])
    np.testing.assert_allclose(cdnow_rfm["monetary"], grouped["monetary"], rtol=1e-12)
    assert cdnow_rfm.index.name == "customer_id"
    assert len(cdnow_rfm) == 2357


def test_percentile_is_share_of_others_strictly_worse(cdnow_rfm_percentile):
    rfm = cdnow_rfm_percentile
    for raw, score, higher in (
        ("recency", "r_score", False),
        ("frequency", "f_score", True),
        ("monetary", "m_score", True),
    ):
        values = rfm[raw].to_numpy()
        if raw == "monetary":  # spend is compared in whole millionths (see the next test)
            values = np.floor(values * 1e6 + 0.2371)
        expected = brute_force_percentile(values, higher)
        np.testing.assert_allclose(rfm[score].to_numpy(), expected, atol=1e-9)


def test_equal_spends_tie_whatever_the_float_noise():
    # 0.1 + 0.2 != 0.3 in float64: ranked on the raw sums, customer 1 would beat customer 2
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01"]),
            "amount": [0.1, 0.2, 0.3, 0.05],
        }
    )
    rfm = rfm_scores(tx, scale="percentile")
    assert rfm.loc[1, "monetary"] != rfm.loc[2, "monetary"]  # the raw sums differ ...
    assert rfm.loc[1, "m_score"] == rfm.loc[2, "m_score"] == 50.0  # ... the scores do not


@pytest.mark.parametrize("column", ["recency", "frequency", "monetary"])
def test_ties_always_get_equal_scores(cdnow_rfm, cdnow_rfm_percentile, column):
    score = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}[column]
    for rfm in (cdnow_rfm, cdnow_rfm_percentile):
        per_value = rfm.groupby(column)[score].nunique()
        assert (per_value == 1).all()
        # tied values exist, so the test bites: a row-order recipe would split them
        assert rfm[column].duplicated().any()
    naive = cdnow_rfm[column].rank(method="first")
    naive_scores = pd.qcut(naive, 5, labels=False)
    assert (naive_scores.groupby(cdnow_rfm[column]).nunique() > 1).any()


def test_quintile_scale_bounds_and_code(cdnow_rfm):
    for col in ("r_score", "f_score", "m_score"):
        assert cdnow_rfm[col].dtype == np.int64
        assert cdnow_rfm[col].between(1, 5).all()
    code = (
        cdnow_rfm["r_score"].astype(str)
        + cdnow_rfm["f_score"].astype(str)
        + cdnow_rfm["m_score"].astype(str)
    )
    assert (code == cdnow_rfm["rfm_code"]).all()


def test_scales_agree(cdnow_rfm, cdnow_rfm_percentile):
    for col in ("r_score", "f_score", "m_score"):
        pct = cdnow_rfm_percentile[col]
        assert pct.between(0, 100).all()
        expected = np.minimum(np.floor(pct / 20) + 1, 5).astype(int)
        np.testing.assert_array_equal(cdnow_rfm[col], expected)
    assert "rfm_code" not in cdnow_rfm_percentile.columns


def test_one_time_buyers_share_the_lowest_f_score(cdnow_rfm):
    once = cdnow_rfm["frequency"] == 1
    assert once.mean() > 0.4
    assert (cdnow_rfm.loc[once, "f_score"] == 1).all()
    assert (cdnow_rfm.loc[~once, "f_score"] >= 3).all()  # documented empty F score 2


def test_distinct_values_fill_equal_quintiles():
    summary = pd.DataFrame(
        {"recency": np.arange(100.0), "frequency": np.arange(100.0), "monetary": np.arange(100.0)}
    )
    rfm = rfm_scores(summary)
    for col in ("r_score", "f_score", "m_score"):
        assert rfm[col].value_counts().tolist() == [20] * 5
    # recent = high R
    assert rfm["r_score"].iloc[0] == 5
    assert rfm["f_score"].iloc[0] == 1


def test_higher_is_better_on_every_dimension():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-15", "2024-02-20"]
            ),
            "amount": [10.0, 10.0, 10.0, 5.0, 100.0],
        }
    )
    rfm = rfm_scores(tx, scale="percentile")
    assert rfm.loc["a", "r_score"] == 100.0
    assert rfm.loc["b", "r_score"] == 0.0
    assert rfm.loc["a", "f_score"] == 100.0
    assert rfm.loc["c", "m_score"] == 100.0
    assert rfm.loc["b", "recency"] == 46.0


def test_observation_end_ignores_later_transactions(cdnow_transactions):
    rfm = rfm_scores(cdnow_transactions, observation_end="1997-09-30")
    early = cdnow_transactions[cdnow_transactions["date"] <= "1997-09-30"]
    assert rfm["frequency"].sum() == len(early)
    last = early.groupby("customer_id")["date"].max()
    expected = (pd.Timestamp("1997-09-30") - last).dt.days
    np.testing.assert_array_equal(rfm["recency"], expected)


def test_monetary_mean(cdnow_transactions, cdnow_rfm):
    mean = rfm_scores(cdnow_transactions, monetary="mean")
    np.testing.assert_allclose(mean["monetary"], cdnow_rfm["monetary"] / cdnow_rfm["frequency"])


def test_summary_input_gives_the_same_scores(cdnow_rfm):
    again = rfm_scores(cdnow_rfm[["recency", "frequency", "monetary"]])
    pd.testing.assert_frame_equal(again, cdnow_rfm)


def test_summary_with_an_id_column_is_indexed_by_customer(cdnow_rfm):
    # the issue promises a frame indexed by customer; a summary holding the ids in a
    # column used to come back indexed 0..n-1
    flat = cdnow_rfm[["recency", "frequency", "monetary"]].reset_index()
    assert list(flat.columns[:1]) == ["customer_id"]
    again = rfm_scores(flat)
    pd.testing.assert_frame_equal(again, cdnow_rfm)
    renamed = rfm_scores(flat.rename(columns={"customer_id": "member"}), customer_id_col="member")
    assert renamed.index.name == "member"
    assert renamed.index.equals(cdnow_rfm.index.rename("member"))


def test_btyd_summary_uses_time_since_last_purchase(cdnow_transactions):
    summary = summarize_transactions(cdnow_transactions, monetary_value_col="amount")
    rfm = rfm_scores(summary)
    np.testing.assert_allclose(rfm["recency"], summary["T"] - summary["recency"])
    direct = rfm_scores(cdnow_transactions)
    # same last-purchase dates, so the same R scores
    np.testing.assert_array_equal(rfm["r_score"], direct["r_score"])
    assert rfm["monetary"].equals(summary["monetary_value"].rename("monetary"))


def test_string_and_mapping_input():
    rfm = rfm_scores(
        {"customer_id": ["x", "y"], "date": ["2024-01-01", "2024-01-05"], "amount": [1.0, 2.0]}
    )
    assert rfm.index.tolist() == ["x", "y"]
    assert rfm["recency"].tolist() == [4.0, 0.0]


def test_single_customer_and_constant_column():
    one = rfm_scores(pd.DataFrame({"recency": [3.0], "frequency": [1.0], "monetary": [5.0]}))
    assert one[["r_score", "f_score", "m_score"]].iloc[0].tolist() == [1, 1, 1]
    const = rfm_scores(
        pd.DataFrame({"recency": [1.0, 2.0, 3.0], "frequency": [2.0] * 3, "monetary": [5.0] * 3}),
        scale="percentile",
    )
    assert const["f_score"].tolist() == [0.0, 0.0, 0.0]


finite = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(finite, st.integers(0, 10**9), finite), min_size=1, max_size=60),
    st.sampled_from(["quintile", "percentile"]),
)
def test_property_scores_in_range_ties_equal_no_nan(rows, scale):
    frame = pd.DataFrame(rows, columns=["recency", "frequency", "monetary"])
    rfm = rfm_scores(frame, scale=scale)
    low, high = (1, 5) if scale == "quintile" else (0, 100)
    for raw, score in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        values = rfm[score].to_numpy(dtype=float)
        assert np.isfinite(values).all()
        assert ((values >= low) & (values <= high)).all()
        assert (rfm.groupby(raw)[score].nunique() == 1).all()
        # monotone: a better raw value never gets a lower score
        order = np.argsort(rfm[raw].to_numpy(), kind="stable")
        sorted_scores = values[order]
        diffs = np.diff(sorted_scores)
        assert (diffs <= 0).all() if raw == "recency" else (diffs >= 0).all()


def _tx(**changes):
    base = {
        "customer_id": [1, 1, 2],
        "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"]),
        "amount": [1.0, 2.0, 3.0],
    }
    base.update(changes)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        (_tx().drop(columns="amount"), {}, "missing column.*'amount'"),
        (_tx(amount=[1.0, np.nan, 3.0]), {}, r"'amount' must be finite.*row 1 has amount=.*nan"),
        (_tx(amount=[1.0, -2.0, 3.0]), {}, r"'amount' must be >= 0.*row 1 has amount=-2.0"),
        (_tx(amount=[1.0, "x", 3.0]), {}, r"'amount' must be numeric.*row 1"),
        (_tx(date=["2024-01-01", None, "2024-01-02"]), {}, r"'date' must not be missing; row 1"),
        (_tx(date=["2024-01-01", "soon", "2024-01-02"]), {}, r"'date' could not be parsed"),
        (_tx(customer_id=[1, None, 2]), {}, r"'customer_id' must not be missing; row 1"),
        (_tx(), {"scale": "decile"}, "scale must be one of.*'decile'"),
        (_tx(), {"monetary": "median"}, "monetary must be one of.*'median'"),
        (_tx(), {"observation_end": "2023-01-01"}, "every transaction is after observation_end"),
        (_tx(), {"observation_end": "not a date"}, "observation_end could not be parsed"),
        (pd.DataFrame(), {}, "empty"),
        ([1, 2], {}, "must be a pandas DataFrame or a mapping"),
        (
            pd.DataFrame({"recency": [1.0, np.nan], "frequency": [1, 2], "monetary": [1, 2]}),
            {},
            r"'recency' must be finite.*row 1 has recency=.*nan",
        ),
        (
            pd.DataFrame({"recency": [1.0, 2.0], "frequency": [1, 2]}),
            {},
            r"missing column.*'monetary_value'",
        ),
        (
            pd.DataFrame({"recency": [1.0], "frequency": [-1], "monetary": [1]}),
            {},
            r"'frequency' must be >= 0; row 0 has frequency=-1.0",
        ),
        (
            pd.DataFrame(
                {
                    "customer_id": ["a", "b", "a"],
                    "recency": [1.0, 2, 3],
                    "frequency": [1, 1, 1],
                    "monetary": [1.0, 1, 1],
                }
            ),
            {},
            r"one row per customer.*column 'customer_id' repeats.*row 2 has customer_id='a'",
        ),
        (
            pd.DataFrame(
                {"recency": [1.0, 2], "frequency": [1, 1], "monetary": [1.0, 1]}, index=[7, 7]
            ),
            {},
            r"the index repeats a customer; row 1 \(label 7\)",
        ),
        (
            pd.DataFrame(
                {
                    "customer_id": ["a", None],
                    "recency": [1.0, 2],
                    "frequency": [1, 1],
                    "monetary": [1.0, 1],
                }
            ),
            {},
            r"summary: column 'customer_id' must not be missing; row 1",
        ),
        (
            pd.DataFrame({"recency": [5.0], "frequency": [1], "T": [3.0], "monetary": [1.0]}),
            {},
            r"'T - recency' must be >= 0; row 0 has T - recency=-2.0",
        ),
    ],
)
def test_bad_input(data, kwargs, match):
    with pytest.raises(InvalidDataError, match=match):
        rfm_scores(data, **kwargs)


def _tx(dates):
    return pd.DataFrame({"customer_id": [1, 1, 2], "date": dates, "amount": [1.0, 2.0, 3.0]})


@pytest.mark.parametrize(
    ("dates", "match"),
    [
        ([20240101, 20240301, 20240401], "holds a number, which is not read as a date"),
        (["05/01/2024", "20/01/2024", "06/01/2024"], "order is ambiguous; pass date_format"),
        (
            ["2024-01-01T10:00:00-05:00", "2024-01-01T10:00:00+01:00", "2024-01-02"],
            r"mixes UTC offsets.*row 1",
        ),
        (["1500-01-01", "2024-01-01", "2024-01-02"], r"outside the supported range.*row 0"),
    ],
)
def test_dates_the_issue_found_misread_are_refused(dates, match):
    # issue 17, bug 2, for rfm_scores: never nanoseconds, never a guessed day/month order
    with pytest.raises(InvalidDataError, match=match):
        rfm_scores(_tx(dates))


def test_one_shared_utc_offset_is_read():
    # issue 17, bug 2: "Z" and one shared offset used to crash with a raw TypeError
    zulu = rfm_scores(_tx(["2024-01-01T10:00:00Z", "2024-02-01T10:00:00Z", "2024-03-01T09:00:00Z"]))
    naive = rfm_scores(_tx(["2024-01-01T10:00:00", "2024-02-01T10:00:00", "2024-03-01T09:00:00"]))
    pd.testing.assert_frame_equal(zulu, naive)
    dm = rfm_scores(_tx(["05/01/2024", "20/01/2024", "06/01/2024"]), date_format="%d/%m/%Y")
    assert dm.loc[2, "recency"] == 14  # 6 to 20 January, not a guessed 6 June
