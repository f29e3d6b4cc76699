"""Calendar period helpers: fast ordinals equal pandas' own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value._time import (
    NS_PER_DAY,
    check_period,
    parse_datetimes,
    parse_timestamp,
    period_index,
    period_numbers,
)
from customer_value.errors import InvalidDataError


@pytest.mark.parametrize("alias", ["D", "W", "M", "Q", "Y", "W-WED", "h", "min"])
def test_period_numbers_match_pandas(alias: str) -> None:
    rng = np.random.default_rng(0)
    ns = rng.integers(-(10**18), 2 * 10**18, 5000)
    ns = np.concatenate(
        [ns, pd.DatetimeIndex([pd.Timestamp("1970-01-01"), pd.Timestamp("1969-12-31 23:59")]).asi8]
    )
    dates = pd.DatetimeIndex(ns.view("datetime64[ns]"))
    expected = dates.to_period(alias).asi8
    np.testing.assert_array_equal(period_numbers(ns, alias), expected)
    assert period_index(expected[:3], alias).equals(dates[:3].to_period(alias))


@pytest.mark.parametrize(("alias", "length"), [("2D", 2 * NS_PER_DAY), ("12h", NS_PER_DAY // 2)])
def test_fixed_multiples_are_numbered_in_blocks_from_the_epoch(alias: str, length: int) -> None:
    # pandas numbers "2D" periods by day; summaries need one number per 2-day block
    ns = np.array([0, length - 1, length, -1, 5 * length + 3], dtype=np.int64)
    np.testing.assert_array_equal(period_numbers(ns, alias), [0, 0, 1, -1, 5])


@pytest.mark.parametrize("alias", ["", "fortnight", "M-NOPE", 3, None])
def test_unknown_period(alias: object) -> None:
    with pytest.raises(InvalidDataError, match="period"):
        check_period(alias)


@pytest.mark.parametrize("alias", ["2M", "2D", "3h"])
def test_multiple_periods_rejected(alias: str) -> None:
    # pandas numbers "2M" periods by month: a multiple would silently behave as "M"
    with pytest.raises(InvalidDataError, match=f"period '{alias}' is a multiple of a period"):
        check_period(alias)


def test_multiple_period_rejected_by_public_functions() -> None:
    from customer_value.churn import cap_contacts, cohort_retention, kpi_table

    tx = {"customer_id": [1, 1], "date": ["2020-01-15", "2020-03-15"]}
    with pytest.raises(InvalidDataError, match="period '2M' is a multiple"):
        cohort_retention(tx, period="2M")
    with pytest.raises(InvalidDataError, match="cohort '2M' is a multiple"):
        cohort_retention(tx, cohort="2M")
    with pytest.raises(InvalidDataError, match="period '2M' is a multiple"):
        kpi_table(tx, period="2M")
    plan = {"customer_id": [1], "timestamp": ["2020-01-15"]}
    with pytest.raises(InvalidDataError, match="period '2W' is a multiple"):
        cap_contacts(plan, period="2W")


# --- one parser for every reader of dates (issue 17, bug 2) ---------------------------------


def _readers():
    from customer_value.churn import cap_contacts, cohort_retention, kpi_table
    from customer_value.data import calibration_holdout_split, summarize_transactions
    from customer_value.segmentation import behavioural_features, rfm_scores

    return {
        "summarize_transactions": lambda tx, **kw: summarize_transactions(tx, **kw),
        "calibration_holdout_split": lambda tx, **kw: calibration_holdout_split(
            tx, calibration_end="2024-01-10", observation_end="2024-02-28", **kw
        ),
        "rfm_scores": lambda tx, **kw: rfm_scores(tx, **kw),
        "behavioural_features": lambda tx, **kw: behavioural_features(tx, **kw),
        "cohort_retention": lambda tx, **kw: cohort_retention(tx, **kw),
        "kpi_table": lambda tx, **kw: kpi_table(tx, **kw),
        "cap_contacts": lambda tx, **kw: cap_contacts(tx, datetime_col="date", **kw).kept.drop(
            columns="date"
        ),
    }


READERS = sorted(_readers())


def _table(dates: list[object]) -> dict[str, list[object]]:
    n = len(dates)
    return {"customer_id": ["a", "b", "a", "b"][:n], "date": dates, "amount": [1.0] * n}


BAD_DATES = [
    (
        ["2024-01-02", "2024-01-05", 20240301],
        r"holds a number.*date_format.*row 2 has date=20240301",
    ),
    (
        ["05/01/2024", "20/01/2024"],
        r"order is ambiguous; pass date_format.*row 0 has date='05/01/2024'",
    ),
    (
        ["2024-01-01T10:00:00-05:00", "2024-01-02T10:00:00-04:00"],
        r"mixes UTC offsets.*row 1 has date='2024-01-02T10:00:00-04:00'",
    ),
    (["2024-01-02", "2300-01-01"], r"outside the supported range.*row 1 has date='2300-01-01'"),
    (["2024-01-02", "1600-01-01"], r"outside the supported range.*row 1 has date='1600-01-01'"),
    (["2024-01-02", None], r"must not be missing; row 1"),
]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("dates", "pattern"), BAD_DATES)
def test_every_reader_refuses_bad_dates_naming_column_row_value(reader, dates, pattern):
    with pytest.raises(InvalidDataError, match=r"column 'date' .*" + pattern):
        _readers()[reader](_table(dates))


@pytest.mark.parametrize("reader", READERS)
def test_every_reader_refuses_integer_yyyymmdd_column(reader):
    tx = _table([20240102, 20240105, 20240301, 20240302])
    with pytest.raises(InvalidDataError, match=r"column 'date' holds a number.*row 0"):
        _readers()[reader](tx)


@pytest.mark.parametrize("reader", READERS)
def test_offsets_and_formats_give_the_same_result_as_plain_dates(reader):
    plain = _table(["2024-01-02", "2024-01-05", "2024-02-03", "2024-02-20"])
    read = _readers()[reader]
    expected = read(plain)
    variants = [
        (
            _table(
                [
                    "2024-01-02T00:00:00Z",
                    "2024-01-05T00:00Z",
                    "2024-02-03T00:00Z",
                    "2024-02-20T00:00Z",
                ]
            ),
            {},
        ),
        (
            _table(
                [
                    "2024-01-02T00:00-05:00",
                    "2024-01-05T00:00-05:00",
                    "2024-02-03T00:00-05:00",
                    "2024-02-20T00:00-05:00",
                ]
            ),
            {},
        ),
        (_table([20240102, 20240105, 20240203, 20240220]), {"date_format": "%Y%m%d"}),
        (
            _table(["02/01/2024", "05/01/2024", "03/02/2024", "20/02/2024"]),
            {"date_format": "%d/%m/%Y"},
        ),
        (_table(["2 Jan 2024", "5 Jan 2024", "3 Feb 2024", "20 Feb 2024"]), {}),
    ]
    for tx, kwargs in variants:
        got = read(tx, **kwargs)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))


def test_same_behaviour_on_object_timestamps_of_two_zones():
    # pandas returns NaT for the second zone here instead of raising: we refuse it
    values = pd.Series(
        [pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="US/Eastern")],
        dtype=object,
    )
    with pytest.raises(InvalidDataError, match=r"mixes UTC offsets.*; row 1"):
        parse_datetimes(values, "date")


def test_zone_aware_column_keeps_wall_clock_across_dst():
    local = pd.Series(pd.to_datetime(["2024-03-09 10:00", "2024-03-12 10:00"])).dt.tz_localize(
        "America/New_York"
    )
    ns = parse_datetimes(local, "date")
    assert list(pd.to_datetime(ns)) == [
        pd.Timestamp("2024-03-09 10:00"),
        pd.Timestamp("2024-03-12 10:00"),
    ]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_coarse_resolution_columns_are_range_checked(unit):
    values = np.array(["2024-01-01", "2262-04-12"], dtype=f"datetime64[{unit}]")
    with pytest.raises(InvalidDataError, match=r"outside the supported range.*; row 1"):
        parse_datetimes(values, "date")
    ok = np.array(["2024-01-01", "2262-04-10"], dtype=f"datetime64[{unit}]")
    assert parse_datetimes(ok, "date")[1] == pd.Timestamp("2262-04-10").value


@pytest.mark.parametrize(
    ("value", "kwargs", "pattern"),
    [
        (20240101, {}, r"observation_end is a number"),
        ("05/01/2024", {}, r"observation_end has a numeric day and month"),
        ("2300-01-01", {}, r"observation_end is outside the supported range"),
        ("not a date", {}, r"observation_end could not be parsed as a date"),
        (None, {}, r"observation_end must be a date"),
    ],
)
def test_scalar_dates_follow_the_same_rules(value, kwargs, pattern):
    with pytest.raises(InvalidDataError, match=pattern):
        parse_timestamp(value, "observation_end", **kwargs)


def test_scalar_dates_read_iso_always_and_date_format_otherwise():
    assert parse_timestamp("30/09/1997", "end", date_format="%d/%m/%Y") == pd.Timestamp(
        "1997-09-30"
    )
    assert parse_timestamp("1997-09-30", "end", date_format="%d/%m/%Y") == pd.Timestamp(
        "1997-09-30"
    )
    assert parse_timestamp(20240131, "end", date_format="%Y%m%d") == pd.Timestamp("2024-01-31")
    aware = pd.Timestamp("2024-01-01 10:00", tz="US/Eastern")
    assert parse_timestamp(aware, "end") == pd.Timestamp("2024-01-01 10:00")


@pytest.mark.parametrize(
    ("durations", "pattern"),
    [
        (
            pd.to_timedelta(["1D", "2D"]),
            r"must be numeric, found durations.*durations / pd.Timedelta\(days=1\)",
        ),
        (
            pd.to_datetime(["2024-01-01", "2024-01-02"]),
            r"must be numeric, found dates.*compute elapsed times",
        ),
        (["2024-01-01T00:00Z", "2024-01-02T00:00Z"], r"must be numeric; row 0"),
    ],
)
def test_kaplan_meier_refuses_dates_and_unitless_durations(durations, pattern):
    from customer_value.churn import kaplan_meier

    with pytest.raises(InvalidDataError, match=r"column 'durations' " + pattern):
        kaplan_meier(durations, [True, False])
    days = np.asarray(pd.to_timedelta(["1D", "2D"]) / pd.Timedelta(days=1))
    assert kaplan_meier(days, [True, True])["survival"].iloc[-1] == 0.0


_INSTANTS = st.datetimes(
    min_value=pd.Timestamp("1678-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2262-04-10").to_pydatetime(),
)


@given(
    st.lists(_INSTANTS, min_size=1, max_size=20),
    st.sampled_from(["Z", "+00:00", "-05:00", "+08:00", "+05:30", ""]),
)
def test_iso_strings_with_one_offset_keep_their_wall_clock(instants, offset):
    strings = [t.strftime("%Y-%m-%dT%H:%M:%S.%f") + offset for t in instants]
    ns = parse_datetimes(strings, "date")
    expected = pd.DatetimeIndex(instants).as_unit("ns").asi8
    np.testing.assert_array_equal(ns, expected)


@given(st.lists(_INSTANTS, min_size=1, max_size=20), st.sampled_from(["%d/%m/%Y", "%m/%d/%Y"]))
def test_an_explicit_day_month_format_reads_every_row_the_same_way(instants, fmt):
    strings = [t.strftime(fmt) for t in instants]
    ns = parse_datetimes(strings, "date", date_format=fmt)
    days = pd.DatetimeIndex(instants).normalize().as_unit("ns").asi8
    np.testing.assert_array_equal(ns, days)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 4),
            st.datetimes(
                min_value=pd.Timestamp("2024-01-01").to_pydatetime(),
                max_value=pd.Timestamp("2024-06-30").to_pydatetime(),
            ),
        ),
        min_size=1,
        max_size=30,
    ),
    st.dates(
        min_value=pd.Timestamp("2024-01-01").date(),
        max_value=pd.Timestamp("2024-06-01").date(),
    ),
    st.sampled_from(["D", "W", "M", "h"]),
)
def test_split_and_summary_agree_on_any_cutoff(rows, cutoff, period):
    from customer_value.data import calibration_holdout_split, summarize_transactions

    tx = pd.DataFrame(rows, columns=["customer_id", "date"])
    tx["date"] = pd.to_datetime(tx["date"]).astype("datetime64[ns]")
    cal_end = pd.Timestamp(cutoff)
    unit = "D" if period == "h" else period
    if not (tx["date"] < cal_end + pd.Timedelta(days=1)).any():
        return
    split = calibration_holdout_split(
        tx,
        calibration_end=cal_end,
        observation_end="2024-06-30",
        period=period,
        time_unit=unit,
    )
    summary = summarize_transactions(
        tx,
        observation_end=cal_end,
        period=period,
        time_unit=unit,
        after_end="drop",
    )
    cal = split[["frequency_cal", "recency_cal", "T_cal"]].set_axis(
        ["frequency", "recency", "T"], axis=1
    )
    pd.testing.assert_frame_equal(cal, summary, check_like=True)
    # every purchase period is counted once: in calibration or in the holdout
    n_periods = pd.Series(period_numbers(tx["date"].to_numpy().view(np.int64), period))
    inside = tx["customer_id"].isin(split.index)
    distinct = n_periods[inside].groupby(tx["customer_id"][inside]).nunique()
    counted = split["frequency_cal"] + 1 + split["frequency_holdout"]
    assert (counted >= distinct.reindex(split.index)).all()


@pytest.mark.parametrize(
    ("label", "pattern"),
    [
        (20241101, r"exempt_periods: 20241101 is a number, not a period label"),
        ("05/11/2024", r"exempt_periods: '05/11/2024' has a numeric day and month"),
    ],
)
def test_cap_contacts_exempt_labels_follow_the_date_rules(label, pattern):
    from customer_value.churn import cap_contacts

    planned = {"customer_id": ["a"] * 3, "timestamp": ["2024-11-04", "2024-11-05", "2024-11-06"]}
    with pytest.raises(InvalidDataError, match=pattern):
        cap_contacts(planned, max_per_period=1, period="M", exempt_periods=[label])
    for ok in ("2024-11", "2024-11-05T10:00Z", pd.Period("2024-11", freq="M")):
        plan = cap_contacts(planned, max_per_period=1, period="M", exempt_periods=[ok])
        assert len(plan.kept) == 3
