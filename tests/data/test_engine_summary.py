"""summarize_transactions inside Polars, DuckDB, Spark and Dask equals the pandas path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value import InvalidDataError
from customer_value.data import (
    calibration_holdout_split,
    collect_sufficient_statistics,
    summarize_transactions,
)

CASES = [
    {"period": "D", "time_unit": "W", "monetary_value_col": "amount"},
    {"period": "W", "time_unit": "D", "monetary_value_col": "amount"},
    {"period": "D", "time_unit": "D", "include_first_transaction": True},
    # calendar periods: months counted in months and in days, weeks ending on Monday
    {"period": "M", "time_unit": "M", "monetary_value_col": "amount"},
    {"period": "M", "time_unit": "D"},
    {"period": "W-MON", "time_unit": "W", "monetary_value_col": "amount"},
    {"period": "Q", "time_unit": "D", "include_first_transaction": True},
]


@pytest.fixture(scope="module")
def tx(cdnow_transactions) -> pd.DataFrame:
    return cdnow_transactions[["customer_id", "date", "amount"]]


def _collect(backend, native) -> pd.DataFrame:
    if backend.kind == "pandas":
        return native
    return backend.collect(native, sort_by="customer_id").set_index("customer_id")


@pytest.mark.parametrize("case", range(len(CASES)))
def test_engine_summary_equals_pandas(backend, tx, case):
    if backend.kind == "spark" and case not in {0, 2, 3}:
        pytest.skip(
            "Spark runs two fixed cases (with and without amounts) and one calendar case, "
            "to keep the suite fast"
        )
    options = {"observation_end": "1997-09-30", "after_end": "drop", **CASES[case]}
    expected = summarize_transactions(tx, **options)
    native = backend.frame(tx) if backend.kind != "pandas" else tx
    ours = _collect(backend, summarize_transactions(native, **options))
    assert list(ours.columns) == list(expected.columns)
    np.testing.assert_array_equal(ours.index.to_numpy(), expected.index.to_numpy())
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[column].to_numpy(), expected[column].to_numpy())
    if "monetary_value" in expected:
        np.testing.assert_allclose(ours["monetary_value"], expected["monetary_value"], rtol=1e-12)


@pytest.mark.parametrize(
    "ids",
    [
        lambda c: c - 1_000,  # negative ids: the one-integer pair key is offset by the least
        lambda c: c.astype("int32"),
        lambda c: c.where(c != 1, 2**62),  # too wide a range for one key: two columns
        lambda c: "C" + c.astype(str),  # strings: two columns
    ],
    ids=["negative", "int32", "wide", "strings"],
)
@pytest.mark.parametrize("bucket_rows", [None, 997])
def test_engine_summary_customer_ids(backend, tx, ids, bucket_rows, monkeypatch):
    if backend.kind in {"pandas", "spark", "dask"}:
        pytest.skip("the pair key is Polars'; DuckDB runs as a reference for the other path")
    if bucket_rows is not None:  # several buckets of customers, as on large logs
        from customer_value.data import _engine_summary

        monkeypatch.setattr(_engine_summary, "_BUCKET_ROWS", bucket_rows)
    tx = tx.assign(customer_id=ids(tx["customer_id"]))
    options = {"observation_end": "1997-09-30", "after_end": "drop", **CASES[0]}
    expected = summarize_transactions(tx, **options)
    ours = _collect(backend, summarize_transactions(backend.frame(tx), **options))
    assert ours.index.dtype == expected.index.dtype
    pd.testing.assert_frame_equal(ours, expected, check_names=False, rtol=1e-12)


def test_engine_summary_default_end_and_timezones(backend):
    if backend.kind in {"pandas", "spark"}:
        pytest.skip("pandas is the reference; Spark timestamps carry no zone of their own")
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 2],
            "date": pd.to_datetime(
                [
                    "2024-01-01 23:30",
                    "2024-01-09 00:00",
                    "2023-12-20 00:00",
                    "2024-01-02 08:00",
                    "2024-01-15 00:00",
                ]
            ).tz_localize("Asia/Shanghai"),
            "amount": [10.0, 5.0, 1.0, 2.5, 3.5],
        }
    )
    with pytest.raises(InvalidDataError, match=r"'date' has time zone"):
        summarize_transactions(backend.frame(tx), monetary_value_col="amount", period="W")
    tx["date"] = tx["date"].dt.tz_localize(None)
    expected = summarize_transactions(tx, monetary_value_col="amount", period="W")
    ours = _collect(
        backend, summarize_transactions(backend.frame(tx), monetary_value_col="amount", period="W")
    )
    pd.testing.assert_frame_equal(ours, expected, check_names=False, check_like=False)


@pytest.mark.parametrize(
    ("change", "options", "match"),
    [
        ({"amount": -1.0}, {}, r"'amount' must be >= 0.*1 row\(s\).*customer_id=1"),
        (
            {"date": pd.Timestamp("1998-01-01")},
            {},
            r"1 transaction\(s\) fall after observation_end=1997-09-30",
        ),
        ({"amount": np.nan}, {}, r"'amount' must be finite"),
        ({"customer_id": None}, {}, r"'customer_id' must not be missing"),
        # a refund larger than the period's purchases; checks run in the order of pandas:
        # the row checks first, then the late rows, then the net amounts
        ({"amount": -5.0}, {"negative_amounts": "net"}, r"net amount of customer 1(\.0)? in one"),
        (
            {"amount": -5.0, "date": pd.Timestamp("1998-01-01")},
            {"negative_amounts": "net"},
            r"fall after observation_end",
        ),
        ({"amount": np.nan, "customer_id": None}, {}, r"'customer_id' must not be missing"),
        # a bad row raises even when it is late and late rows are dropped
        (
            {"customer_id": None, "date": pd.Timestamp("1998-01-01")},
            {"after_end": "drop"},
            r"'customer_id' must not be missing",
        ),
    ],
)
def test_engine_summary_bad_input(backend, change, options, match):
    if backend.kind == "pandas":
        pytest.skip("pandas has its own tests")
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "date": pd.to_datetime(["1997-01-01", "1997-01-01", "1997-03-01"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    for column, value in change.items():
        tx[column] = tx[column].astype(object) if column in {"date", "customer_id"} else tx[column]
        tx.loc[1, column] = value
    tx["date"] = pd.to_datetime(tx["date"])
    tx["customer_id"] = tx["customer_id"].astype("Int64")
    with pytest.raises(InvalidDataError, match=match):
        summarize_transactions(
            backend.frame(tx),
            monetary_value_col="amount",
            **{"observation_end": "1997-09-30", **options},
        )


def test_engine_summary_of_an_empty_log(backend):
    if backend.kind == "pandas":
        pytest.skip("pandas has its own tests")
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series([1], dtype="int64"),
            "date": pd.to_datetime(["1997-01-01"]),
            "amount": [1.0],
        }
    )
    native = backend.frame(tx)
    empty = native.filter(native["customer_id"] < 0) if backend.kind == "spark" else None
    if empty is None:
        empty = backend.frame(tx.iloc[:0])
    with pytest.raises(InvalidDataError, match=r"transactions is empty"):
        summarize_transactions(empty, monetary_value_col="amount", observation_end="1997-09-30")


def test_engine_summary_on_spark_is_cached(backend, tx):
    """Spark computes the summary (and its checks) at the call and hands it back cached."""
    if backend.kind != "spark":
        pytest.skip("caching is Spark's")
    options = {"observation_end": "1997-09-30", "after_end": "drop", "monetary_value_col": "amount"}
    for end in ("1997-09-30", None):
        native = backend.frame(tx if end else tx[tx["date"] <= "1997-09-30"])
        summary = summarize_transactions(native, **{**options, "observation_end": end})
        assert summary.is_cached
        collect_sufficient_statistics(summary)  # must not drop the cache (as a SQL view would)
        plan = summary.select("frequency")._jdf.queryExecution().withCachedData().toString()
        assert "InMemoryRelation" in plan
        summary.unpersist()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("kind", ["timestamp", "timestamp_ntz", "date"])
def test_engine_summary_on_spark_counts_the_session_wall_clock(spark_session, zone, kind):
    """Periods are counted on the wall clock of the session's time zone, for every column type.

    Late-evening and early-morning rows change day (and week) if the wall clock is off by
    hours; 2024-03-10 02:30 does not exist in New York (clocks jump from 2:00 to 3:00), so
    only a TIMESTAMP_NTZ can hold it, and it stays on its day.
    """
    from pyspark.sql import functions as sf

    stamps = ["2024-03-02 23:30:00", "2024-03-03 00:30:00", "2024-03-09 23:59:59",
              "2024-03-10 02:30:00", "2024-03-11 21:00:00", "2024-03-17 01:00:00"]  # fmt: skip
    if kind == "timestamp":  # the gap hour has no instant in New York
        stamps[3] = "2024-03-10 03:30:00"
    tx = pd.DataFrame(
        {"customer_id": [1, 1, 1, 2, 2, 2], "date": stamps, "amount": [1.0, 2, 3, 4, 5, 6]}
    )
    parse = {"timestamp": sf.to_timestamp, "timestamp_ntz": sf.to_timestamp_ntz,
             "date": sf.to_date}[kind]  # fmt: skip
    options = {"observation_end": "2024-03-31", "monetary_value_col": "amount", "time_unit": "D"}
    previous = spark_session.conf.get("spark.sql.session.timeZone")
    spark_session.conf.set("spark.sql.session.timeZone", zone)
    try:
        native = spark_session.createDataFrame(tx).withColumn("date", parse(sf.col("date")))
        assert native.schema["date"].dataType.typeName() == kind
        for period in ("D", "W"):
            summary = summarize_transactions(native, period=period, **options)
            ours = summary.toPandas().sort_values("customer_id").set_index("customer_id")
            summary.unpersist()
            dates = pd.to_datetime(tx["date"])
            dates = dates.dt.normalize() if kind == "date" else dates
            expected = summarize_transactions(tx.assign(date=dates), period=period, **options)
            pd.testing.assert_frame_equal(ours, expected, check_names=False, rtol=1e-12)
    finally:
        spark_session.conf.set("spark.sql.session.timeZone", previous)


SPLITS = [
    {"period": "D", "time_unit": "W", "monetary_value_col": "amount"},
    {"period": "M", "time_unit": "D", "include_first_transaction": True},
]


@pytest.mark.parametrize("case", range(len(SPLITS)))
def test_engine_calibration_holdout_split_equals_pandas(backend, tx, case):
    if backend.kind == "spark" and case > 0:
        pytest.skip("Spark runs the first case only, to keep the suite fast; same code path")
    options = {"calibration_end": "1997-09-30", "observation_end": "1998-03-31", **SPLITS[case]}
    expected = calibration_holdout_split(tx, **options)
    native = backend.frame(tx) if backend.kind != "pandas" else tx
    ours = _collect(backend, calibration_holdout_split(native, **options))
    assert list(ours.columns) == list(expected.columns)
    np.testing.assert_array_equal(ours.index.to_numpy(), expected.index.to_numpy())
    for column in expected.columns:
        np.testing.assert_allclose(ours[column], expected[column], rtol=1e-12, atol=0)
    assert ours["frequency_holdout"].sum() > 0  # the holdout is not empty


def test_engine_calibration_holdout_split_bad_input(backend):
    if backend.kind in {"pandas", "spark"}:
        pytest.skip("pandas has its own tests; Spark shares this code path (kept fast)")
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "date": pd.to_datetime(["1997-01-01", "1997-02-01", "1997-03-01"]),
            "amount": [1.0, -2.0, 3.0],
        }
    )
    with pytest.raises(InvalidDataError, match=r"'amount' must be >= 0.*customer_id=1"):
        calibration_holdout_split(
            backend.frame(tx),
            calibration_end="1997-01-15",
            observation_end="1997-12-31",
            monetary_value_col="amount",
        )
    with pytest.raises(InvalidDataError, match=r"no transaction on or before calibration_end"):
        calibration_holdout_split(
            backend.frame(tx), calibration_end="1996-01-15", observation_end="1997-12-31"
        )


def test_engine_summary_refuses_strings_and_business_days(backend):
    if backend.kind in {"pandas", "spark"}:
        pytest.skip("pandas parses strings itself; Spark shares this code path (kept fast)")
    tx = pd.DataFrame({"customer_id": [1], "date": ["1997-01-01"]})
    with pytest.raises(InvalidDataError, match=r"'date' must be a date or datetime column"):
        summarize_transactions(backend.frame(tx))
    tx["date"] = pd.to_datetime(tx["date"])
    with pytest.raises(InvalidDataError, match=r"period='B' is neither a fixed length nor"):
        summarize_transactions(backend.frame(tx), period="B", time_unit="D")
