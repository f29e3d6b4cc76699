"""``summarize_transactions`` inside an engine (Polars, DuckDB, Spark, Dask), written once.

The same arithmetic as the pandas path in ``_summary.py``: integer period numbers from
integer time since the epoch, distinct (customer, period) pairs, first/last period and
the number of periods per customer, elapsed time as ``period_count * (period / unit)``.
Only checks (a handful of counts) and, on bad input, one example row reach the driver;
the summary itself stays in the engine (lazy inputs give lazy outputs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from customer_value._engine import frame_kind, require_engine_columns, to_narwhals
from customer_value.errors import InvalidDataError

__all__ = ["summarize_engine"]

_US_PER_DAY = 86_400 * 10**6
_EPOCH = dt.datetime(1970, 1, 1)


def _collect_row(frame: Any) -> dict[str, Any]:
    """First row of a small narwhals frame (eager or lazy) as a dict of plain values."""
    if hasattr(frame, "collect"):
        frame = frame.collect(backend="pandas")
    native = frame.to_pandas()
    if len(native) == 0:
        return {}
    return {k: (None if pd.isna(v) else v) for k, v in native.iloc[0].to_dict().items()}


def _fixed_us(ns: int | None, name: str, value: str) -> int:
    if ns is None:
        raise InvalidDataError(
            f"{name}={value!r} is a calendar unit of varying length; on Polars, DuckDB, Spark "
            "and Dask frames only fixed-length periods and units ('D', 'W', 'h', '7D', ...) "
            "are supported. Summarise calendar periods with the pandas path"
        )
    if ns % 1000:
        raise InvalidDataError(f"{name}={value!r} must be a whole number of microseconds")
    return ns // 1000


def summarize_engine(
    transactions: Any,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None,
    observation_end: Any,
    period: str,
    time_unit: str,
    period_ns: int | None,
    unit_ns: int | None,
    week_origin: bool,
    end_of: Callable[[Any], pd.Timestamp],
    cutoff_of: Callable[[pd.Timestamp], int],
    include_first_transaction: bool,
    after_end: str,
    negative_amounts: str,
) -> Any:
    """The engine path of :func:`summarize_transactions` (arguments already validated)."""
    import narwhals as nw

    what = "transactions"
    columns = [customer_id_col, datetime_col]
    if monetary_value_col is not None:
        columns.append(monetary_value_col)
    require_engine_columns(transactions, columns, what=what)
    if period.upper().startswith("W") and not week_origin:
        period_ns = None  # anchored weeks (W-MON, 2W): calendar-like, pandas path only
    period_us = _fixed_us(period_ns, "period", period)
    if unit_ns is None and time_unit != period:
        _fixed_us(None, "time_unit", time_unit)
    ratio = 1.0 if unit_ns is None else (period_ns or 0) / unit_ns
    origin_us = -3 * _US_PER_DAY if week_origin else 0

    frame = to_narwhals(transactions, what=what).select(columns)
    dtype = frame.collect_schema()[datetime_col]
    if not isinstance(dtype, (nw.Datetime, nw.Date)):
        raise InvalidDataError(
            f"{what}: column {datetime_col!r} must be a date or datetime column in an engine "
            f"frame, found {dtype}; parse it in the engine first (Polars "
            "str.to_datetime(format=...), DuckDB strptime, Spark to_timestamp)"
        )
    date = nw.col(datetime_col)
    spark = frame_kind(transactions) == "spark"  # TIMESTAMP: wall clock in the session zone
    if isinstance(dtype, nw.Datetime) and dtype.time_zone is not None and not spark:
        raise InvalidDataError(
            f"{what}: column {datetime_col!r} has time zone {dtype.time_zone!r}; in an engine "
            "frame convert it to naive wall-clock time first (periods are counted on the "
            "wall clock, as the pandas path does)"
        )
    if isinstance(dtype, nw.Date):
        date = date.cast(nw.Datetime("us"))
    if spark:  # narwhals has no duration arithmetic for Spark: its own epoch microseconds
        frame = _spark_micros(frame, datetime_col)
    else:
        frame = frame.with_columns(_us=(date - nw.lit(_EPOCH)).dt.total_microseconds())
    frame = frame.with_columns(_p=(nw.col("_us") - origin_us) // period_us)

    amount = None if monetary_value_col is None else nw.col(monetary_value_col)
    checks: dict[str, Any] = {
        "n": nw.len(),
        "missing_id": nw.col(customer_id_col).is_null().cast(nw.Int64).sum(),
        "missing_date": nw.col(datetime_col).is_null().cast(nw.Int64).sum(),
        "max_us": nw.col("_us").max(),
    }
    if amount is not None:
        checks["bad_amount"] = (amount.is_null() | amount.is_nan()).cast(nw.Int64).sum()
        checks["negative"] = (amount < 0).cast(nw.Int64).sum()
    found = _collect_row(frame.select(**checks))
    if not found.get("n"):
        raise InvalidDataError(f"{what} is empty: at least one row is needed")
    _raise_first(frame, found, customer_id_col, datetime_col, monetary_value_col, negative_amounts)

    if observation_end is None:
        end_ts = pd.Timestamp(int(found["max_us"]) * 1000)
    else:
        end_ts = end_of(observation_end)
    end_us = int(end_ts.value // 1000)
    end_period = (end_us - origin_us) // period_us
    # the window ends with the day of observation_end (or its sub-day period), as pandas
    cut_us = -(-cutoff_of(end_ts) // 1000)
    late = frame.filter(nw.col("_us") >= cut_us)
    late_row = _collect_row(late.select(nw.len().alias("n")))
    if late_row.get("n"):
        if after_end == "error":
            example = _collect_row(late.select(customer_id_col, datetime_col).head(1))
            raise InvalidDataError(
                f"{what}: {int(late_row['n'])} transaction(s) fall after observation_end="
                f"{end_ts.date()}; one is customer {example.get(customer_id_col)!r} with "
                f"{datetime_col}={example.get(datetime_col)!r}. Pass after_end='drop' to "
                "leave them out, or use calibration_holdout_split"
            )
        frame = frame.filter(nw.col("_us") < cut_us)

    spend = [amount.sum().alias("_amount")] if amount is not None else []
    pairs = frame.group_by(customer_id_col, "_p").agg(nw.len().alias("_rows"), *spend)
    if monetary_value_col is not None and negative_amounts == "net":
        _raise_negative_period(pairs, customer_id_col, monetary_value_col)
    if amount is not None and not include_first_transaction:
        pairs = pairs.with_columns(_first=nw.col("_p").min().over(customer_id_col)).with_columns(
            _amount=nw.when(nw.col("_p") == nw.col("_first"))
            .then(nw.lit(0.0))
            .otherwise(nw.col("_amount"))
        )
    per = pairs.group_by(customer_id_col).agg(
        nw.col("_p").min().alias("_first"),
        nw.col("_p").max().alias("_last"),
        nw.len().alias("_count"),
        *([nw.col("_amount").sum().alias("_spend")] if amount is not None else []),
    )
    repeat = nw.col("_count") - (0 if include_first_transaction else 1)
    out = [
        nw.col(customer_id_col),
        repeat.cast(nw.Float64).alias("frequency"),
        ((nw.col("_last") - nw.col("_first")).cast(nw.Float64) * ratio).alias("recency"),
        ((nw.lit(end_period) - nw.col("_first")).cast(nw.Float64) * ratio).alias("T"),
    ]
    if amount is not None:
        spend_n = nw.col("_count") - (0 if include_first_transaction else 1)
        out.append(
            nw.when(spend_n > 0)
            .then(nw.col("_spend") / spend_n.cast(nw.Float64))
            .otherwise(nw.lit(0.0))
            .alias("monetary_value")
        )
    return per.select(out).to_native()


def _raise_first(
    frame: Any,
    found: dict[str, Any],
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None,
    negative_amounts: str,
) -> None:
    """Raise for the first kind of bad value found, naming one offending row's values."""
    import narwhals as nw

    what = "transactions"
    problems: list[tuple[str, Any, str]] = [
        (
            "missing_id",
            nw.col(customer_id_col).is_null(),
            f"column {customer_id_col!r} must not be missing",
        ),
        ("missing_date", nw.col(datetime_col).is_null(), f"column {datetime_col!r} is missing"),
    ]
    if monetary_value_col is not None:
        amount = nw.col(monetary_value_col)
        problems.append(
            (
                "bad_amount",
                amount.is_null() | amount.is_nan(),
                f"column {monetary_value_col!r} must be finite (no NaN or missing)",
            )
        )
        if negative_amounts == "error":
            problems.append(
                (
                    "negative",
                    amount < 0,
                    f"column {monetary_value_col!r} must be >= 0 (refunds "
                    "are rejected unless negative_amounts='net')",
                )
            )
    shown = [c for c in (customer_id_col, datetime_col, monetary_value_col) if c is not None]
    for key, mask, message in problems:
        if found.get(key):
            example = _collect_row(frame.filter(mask).select(shown).head(1))
            values = ", ".join(f"{c}={example.get(c)!r}" for c in shown)
            raise InvalidDataError(
                f"{what}: {message}; {int(found[key])} row(s), for example the row with {values}"
            )


def _raise_negative_period(pairs: Any, customer_id_col: str, monetary_value_col: str) -> None:
    import narwhals as nw

    bad = pairs.filter(nw.col("_amount") < -1e-9)
    example = _collect_row(bad.select(customer_id_col, "_amount").head(1))
    if example:
        raise InvalidDataError(
            f"transactions: the net amount of customer {example[customer_id_col]!r} in one "
            f"period is negative ({example['_amount']:g}): a refund in column "
            f"{monetary_value_col!r} exceeds that period's purchases"
        )


def _spark_micros(frame: Any, datetime_col: str) -> Any:
    """Add ``_us``: microseconds since 1970-01-01 of the timestamp's wall-clock time.

    Spark's TIMESTAMP is an instant shown in the session time zone: its wall-clock time
    is taken in that zone (``spark.sql.session.timeZone``), so a session in UTC reads
    pandas' naive timestamps back unchanged.
    """
    import narwhals as nw
    from pyspark.sql import functions as sf

    native = frame.to_native()
    zone = native.sparkSession.conf.get("spark.sql.session.timeZone")
    column = sf.col(datetime_col).cast("timestamp")
    native = native.withColumn("_us", sf.unix_micros(sf.to_utc_timestamp(column, zone)))
    return nw.from_native(native)
