"""Tests for customer_value.data.summarize_transactions and calibration_holdout_split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value import InvalidDataError
from customer_value.data import calibration_holdout_split, summarize_transactions


@pytest.fixture(scope="module")
def lifetimes_utils():
    return pytest.importorskip("lifetimes.utils", reason="lifetimes is the test oracle (dev extra)")


def _tx(rows: list[tuple[object, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


# --- reference values -------------------------------------------------------------------


def test_cdnow_reproduces_published_summary(cdnow_transactions, cdnow_summary):
    """Fader, Hardie & Lee (2005) CDNOW sample: x, t_x, T, zbar to two printed decimals."""
    ours = summarize_transactions(
        cdnow_transactions,
        monetary_value_col="amount",
        observation_end="1997-09-30",
        time_unit="W",
        after_end="drop",
    )
    assert len(ours) == 2357
    published = cdnow_summary.loc[ours.index]
    for column in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(ours[column], published[column], atol=0.005 + 1e-9)
    assert ours.attrs["time_unit"] == "W"


@pytest.mark.parametrize(
    ("period", "time_unit", "freq", "multiplier"),
    [("D", "D", "D", 1), ("D", "W", "D", 7), ("W", "W", "W", 1), ("h", "D", "h", 24)],
)
def test_equals_lifetimes(lifetimes_utils, cdnow_transactions, period, time_unit, freq, multiplier):
    ours = summarize_transactions(
        cdnow_transactions,
        monetary_value_col="amount",
        period=period,
        time_unit=time_unit,
    )
    theirs = lifetimes_utils.summary_data_from_transaction_data(
        cdnow_transactions,
        "customer_id",
        "date",
        monetary_value_col="amount",
        freq=freq,
        freq_multiplier=multiplier,
    ).sort_index()
    assert list(ours.index) == list(theirs.index)
    for column in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, atol=1e-9)


def test_include_first_transaction_equals_lifetimes(lifetimes_utils, cdnow_transactions):
    ours = summarize_transactions(
        cdnow_transactions, monetary_value_col="amount", include_first_transaction=True
    )
    theirs = lifetimes_utils.summary_data_from_transaction_data(
        cdnow_transactions,
        "customer_id",
        "date",
        monetary_value_col="amount",
        include_first_transaction=True,
    ).sort_index()
    for column in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12)


def test_calibration_holdout_equals_lifetimes(lifetimes_utils, cdnow_transactions):
    ours = calibration_holdout_split(
        cdnow_transactions,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="W",
        monetary_value_col="amount",
    )
    theirs = lifetimes_utils.calibration_and_holdout_data(
        cdnow_transactions,
        "customer_id",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        freq_multiplier=7,
        monetary_value_col="amount",
    ).sort_index()
    for column in [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "duration_holdout",
    ]:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, atol=1e-9)
    assert ours["duration_holdout"].iloc[0] == pytest.approx(273 / 7)


# --- small hand-checked cases -----------------------------------------------------------


def test_same_day_purchases_count_once_and_sum():
    tx = _tx([("a", "2024-01-01", 10), ("a", "2024-01-01 18:00", 5), ("a", "2024-01-08", 20)])
    out = summarize_transactions(tx, monetary_value_col="amount", time_unit="W")
    row = out.loc["a"]
    assert row["frequency"] == 1
    assert row["recency"] == pytest.approx(1.0)
    assert row["T"] == pytest.approx(1.0)
    assert row["monetary_value"] == pytest.approx(20.0)


def test_one_time_buyer_has_zero_monetary_value():
    out = summarize_transactions(
        _tx([("a", "2024-01-01", 10), ("b", "2024-01-03", 7)]), monetary_value_col="amount"
    )
    assert out.loc["a"].tolist() == [0.0, 0.0, 2.0, 0.0]
    assert out.loc["b"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_monthly_periods_count_whole_months():
    tx = _tx([("a", "2024-01-31", 1), ("a", "2024-02-01", 1), ("a", "2024-04-15", 1)])
    out = summarize_transactions(tx, period="M", time_unit="M", observation_end="2024-06-30")
    assert out.loc["a", "frequency"] == 2
    assert out.loc["a", "recency"] == 3
    assert out.loc["a", "T"] == 5


def test_calendar_time_unit_needs_matching_period():
    with pytest.raises(InvalidDataError, match="calendar unit"):
        summarize_transactions(_tx([("a", "2024-01-01", 1)]), period="D", time_unit="M")


def test_negative_amounts_policy():
    tx = _tx([("a", "2024-01-01", 10), ("a", "2024-01-02", 30), ("a", "2024-01-02", -10)])
    with pytest.raises(InvalidDataError, match=r"'amount' must be >= 0.*row 2.*-10"):
        summarize_transactions(tx, monetary_value_col="amount")
    out = summarize_transactions(tx, monetary_value_col="amount", negative_amounts="net")
    assert out.loc["a", "monetary_value"] == pytest.approx(20.0)
    refund_only = _tx([("a", "2024-01-01", 10), ("a", "2024-01-02", -5)])
    with pytest.raises(InvalidDataError, match="net amount"):
        summarize_transactions(refund_only, monetary_value_col="amount", negative_amounts="net")


def test_mapping_input_and_custom_columns():
    out = summarize_transactions(
        {"cid": [1, 1, 2], "ts": ["2024-01-01", "2024-01-05", "2024-01-02"]},
        customer_id_col="cid",
        datetime_col="ts",
    )
    assert out.index.name == "cid"
    assert out.loc[1, "frequency"] == 1


def test_timezone_aware_dates_use_local_calendar_day():
    dates = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 00:30"]).tz_localize("Asia/Shanghai")
    out = summarize_transactions({"customer_id": ["a", "a"], "date": dates})
    assert out.loc["a", "frequency"] == 1


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kwargs", "pattern"),
    [
        (pd.DataFrame({"customer_id": [1]}), {}, r"missing column\(s\) 'date'"),
        (_tx([("a", "not a date", 1.0)]), {}, r"'date' could not be parsed.*row 0.*not a date"),
        (
            _tx([("a", "2024-01-01", 1.0), ("b", None, 1.0)]),
            {},
            r"'date' must not be missing.*row 1",
        ),
        (_tx([("a", "2024-01-01", 1.0), (None, "2024-01-02", 1.0)]), {}, r"customer_id.*row 1"),
        (
            _tx([("a", "2024-01-01", 1.0), ("a", "2024-01-02", float("nan"))]),
            {"monetary_value_col": "amount"},
            r"'amount' must be finite.*row 1.*nan",
        ),
        (
            pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-01"], "amount": ["ten"]}),
            {"monetary_value_col": "amount"},
            r"'amount' must be numeric.*row 0.*'ten'",
        ),
        (
            _tx([("a", "2024-01-01", 1.0), ("a", "2024-03-01", 1.0)]),
            {"observation_end": "2024-02-01"},
            r"after observation_end=2024-02-01.*row 1",
        ),
        (_tx([]), {}, "empty"),
        (_tx([("a", "2024-01-01", 1.0)]), {"period": "bogus"}, "unknown pandas frequency"),
    ],
)
def test_bad_input_is_named(frame, kwargs, pattern):
    with pytest.raises(InvalidDataError, match=pattern):
        summarize_transactions(frame, **kwargs)


def test_bad_row_label_is_reported():
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "date": ["2024-01-01", "bad"]}, index=["r1", "r2"]
    )
    with pytest.raises(InvalidDataError, match=r"row 1 \(label 'r2'\)"):
        summarize_transactions(frame)


def test_after_end_drop():
    tx = _tx([("a", "2024-01-01", 1.0), ("a", "2024-03-01", 1.0)])
    out = summarize_transactions(tx, observation_end="2024-02-01", after_end="drop")
    assert out.loc["a", "frequency"] == 0
    assert out.loc["a", "T"] == 31


def test_calibration_holdout_bad_dates(cdnow_transactions):
    with pytest.raises(InvalidDataError, match="must be before observation_end"):
        calibration_holdout_split(
            cdnow_transactions, calibration_end="1998-01-01", observation_end="1998-01-01"
        )
    with pytest.raises(InvalidDataError, match="no transaction on or before calibration_end"):
        calibration_holdout_split(
            cdnow_transactions, calibration_end="1990-01-01", observation_end="1998-01-01"
        )


def test_calibration_excludes_customers_first_seen_later():
    tx = _tx([("a", "2024-01-01", 1), ("a", "2024-02-10", 3), ("b", "2024-02-05", 2)])
    out = calibration_holdout_split(
        tx, calibration_end="2024-01-31", observation_end="2024-02-29", monetary_value_col="amount"
    )
    assert list(out.index) == ["a"]
    assert out.loc["a", "frequency_holdout"] == 1
    assert out.loc["a", "monetary_value_holdout"] == 3
    assert out.loc["a", "duration_holdout"] == 29


# --- properties ---------------------------------------------------------------------------

_rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6),
        st.integers(min_value=0, max_value=400 * 24),
        st.floats(min_value=0, max_value=1e6, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


def _frame(rows):
    base = pd.Timestamp("2023-01-01")
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": [base + pd.Timedelta(hours=r[1]) for r in rows],
            "amount": [r[2] for r in rows],
        }
    )


@given(_rows, st.sampled_from(["D", "W", "h"]))
def test_properties_bounds(rows, unit):
    tx = _frame(rows)
    out = summarize_transactions(tx, monetary_value_col="amount", time_unit=unit)
    assert (out["recency"] >= 0).all()
    assert (out["recency"] <= out["T"] + 1e-12).all()
    distinct_days = tx.groupby("customer_id")["date"].apply(lambda d: d.dt.normalize().nunique())
    assert (out["frequency"] < distinct_days.loc[out.index]).all()
    assert np.isfinite(out.to_numpy()).all()


@given(_rows, st.randoms(use_true_random=False))
def test_shuffle_and_rename_invariance(rows, rnd):
    tx = _frame(rows)
    base = summarize_transactions(tx, monetary_value_col="amount")
    order = list(range(len(tx)))
    rnd.shuffle(order)
    shuffled = tx.iloc[order].reset_index(drop=True)
    np.testing.assert_allclose(
        summarize_transactions(shuffled, monetary_value_col="amount").to_numpy(),
        base.to_numpy(),
        rtol=1e-12,
        atol=1e-9,
    )
    renamed = tx.assign(customer_id="c" + tx["customer_id"].astype(str))
    out = summarize_transactions(renamed, monetary_value_col="amount")
    assert list(out.index) == ["c" + str(i) for i in base.index]
    np.testing.assert_array_equal(out.to_numpy(), base.to_numpy())


def test_calendar_period_in_fixed_unit():
    """Monthly periods measured in days run between month starts."""
    tx = _tx([("a", "2024-01-31", 1), ("a", "2024-03-15", 1)])
    out = summarize_transactions(tx, period="M", time_unit="D", observation_end="2024-04-02")
    assert out.loc["a", "recency"] == 60  # 2024-01-01 to 2024-03-01
    assert out.loc["a", "T"] == 91  # 2024-01-01 to 2024-04-01


# --- a cutoff inside a period (issue 17, bug 1) ------------------------------------------


def _issue_17_repro() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "date": pd.to_datetime(["1997-01-01", "1997-06-10", "1997-10-02"]),
        }
    )


def test_purchase_later_in_the_cutoff_week_is_after_the_end():
    # 1997-09-30 is a Tuesday; 1997-10-02 (Thursday) is in the same week but after the end
    with pytest.raises(InvalidDataError, match=r"1 transaction\(s\) fall after.*row 2"):
        summarize_transactions(
            _issue_17_repro(), observation_end="1997-09-30", period="W", time_unit="W"
        )
    out = summarize_transactions(
        _issue_17_repro(), observation_end="1997-09-30", period="W", time_unit="W", after_end="drop"
    )
    # weeks of 1996-12-30 and 1997-06-09 are 23 weeks apart; the week of 1997-09-29 is 39
    assert out.loc[1].tolist() == [1.0, 23.0, 39.0]


@pytest.mark.parametrize("period", ["W", "M", "Q", "D", "h", "12h"])
def test_the_window_ends_with_the_day_of_observation_end(period):
    tx = pd.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "date": pd.to_datetime(
                ["1997-01-01", "1997-09-30 00:00", "1997-09-30 23:59", "1997-10-01 00:00"],
                format="ISO8601",
            ),
        }
    )
    out = summarize_transactions(
        tx, observation_end="1997-09-30", period=period, time_unit="D", after_end="drop"
    )
    kept = summarize_transactions(tx.iloc[:3], period=period, time_unit="D")
    if period in {"h", "12h"}:  # sub-day periods end the window with the period of 00:00
        kept = summarize_transactions(
            tx.iloc[:2], period=period, time_unit="D", observation_end="1997-09-30"
        )
    pd.testing.assert_frame_equal(out, kept, check_like=True)


def test_split_and_summary_agree_on_a_mid_week_cutoff(cdnow_transactions):
    # 1997-09-30 is a Tuesday: with weekly periods the calibration must hold exactly what
    # summarize_transactions keeps, and the rest of that week belongs to the holdout
    split = calibration_holdout_split(
        cdnow_transactions,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        period="W",
        time_unit="W",
    )
    summary = summarize_transactions(
        cdnow_transactions,
        observation_end="1997-09-30",
        period="W",
        time_unit="W",
        after_end="drop",
    )
    cal = split[["frequency_cal", "recency_cal", "T_cal"]]
    cal.columns = ["frequency", "recency", "T"]
    pd.testing.assert_frame_equal(cal, summary[["frequency", "recency", "T"]], check_like=True)
    dates = cdnow_transactions["date"]
    leak = cdnow_transactions[(dates > "1997-09-30") & (dates < "1997-10-06")]
    late_buyers = set(leak["customer_id"]) & set(split.index)
    assert late_buyers  # the old code counted their purchases in calibration
    old_style = summarize_transactions(
        cdnow_transactions[dates < "1997-10-06"], period="W", time_unit="W"
    )
    changed = [c for c in late_buyers if old_style.loc[c, "recency"] != split.loc[c, "recency_cal"]]
    assert changed
    # their Wednesday-Sunday purchases now count in the holdout
    for c in late_buyers:
        assert split.loc[c, "frequency_holdout"] >= 1


def test_split_counts_every_transaction_once():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a"],
            "date": pd.to_datetime(
                ["1997-09-01", "1997-09-30 18:00", "1997-10-01", "1997-10-20"], format="ISO8601"
            ),
            "amount": [1.0, 2.0, 4.0, 8.0],
        }
    )
    out = calibration_holdout_split(
        tx,
        calibration_end="1997-09-30",
        observation_end="1997-10-31",
        period="M",
        time_unit="M",
        monetary_value_col="amount",
    )
    # September: 1 + 2 in one period (frequency 0); October: 4 + 8 in one holdout period
    assert out.loc["a", "frequency_cal"] == 0
    assert out.loc["a", "frequency_holdout"] == 1
    assert out.loc["a", "monetary_value_holdout"] == 12.0


# --- timestamps, duplicated columns, huge amounts (issue 17, bugs 2 and 8) -----------------


def test_duplicated_column_names_are_refused():
    frame = pd.DataFrame([[1, "2024-01-01", "2024-01-02"]], columns=["customer_id", "date", "date"])
    with pytest.raises(InvalidDataError, match=r"'date' names the columns at positions 1, 2"):
        summarize_transactions(frame)


def test_amounts_near_float_max_never_give_inf():
    big = 1e308
    tx = _tx([("a", "2024-01-01", big), ("a", "2024-01-02", big), ("a", "2024-01-03", big)])
    with pytest.raises(InvalidDataError, match=r"'amount' is too large to add up.*row 1"):
        summarize_transactions(tx, monetary_value_col="amount")
    fine = _tx([("a", "2024-01-01", 1e307), ("a", "2024-01-02", 1e307), ("a", "2024-01-03", 1e307)])
    out = summarize_transactions(fine, monetary_value_col="amount")
    assert out.loc["a", "monetary_value"] == pytest.approx(1e307)


def test_iso_strings_with_offsets_are_read_in_their_wall_clock_time():
    tx = {
        "customer_id": ["a", "a", "a"],
        "date": [
            "2024-01-01T23:30:00-05:00",
            "2024-01-02T00:30:00-05:00",
            "2024-01-09T10:00-05:00",
        ],
    }
    out = summarize_transactions(tx)
    assert out.loc["a"].tolist() == [2.0, 8.0, 8.0]
    zulu = {"customer_id": ["a", "a"], "date": ["2024-01-01T10:00:00Z", "2024-01-15T10:00:00Z"]}
    assert summarize_transactions(zulu).loc["a", "recency"] == 14


def test_day_first_strings_need_date_format():
    tx = {"customer_id": ["a", "a"], "date": ["05/01/2024", "20/01/2024"]}
    with pytest.raises(InvalidDataError, match=r"date_format='%d/%m/%Y' or '%m/%d/%Y'.*row 0"):
        summarize_transactions(tx)
    out = summarize_transactions(tx, date_format="%d/%m/%Y", observation_end="2024-01-20")
    assert out.loc["a", "recency"] == 15  # not 102 (1 May and 20 January)
