"""``summarize_transactions`` and ``calibration_holdout_split`` inside an engine, written once.

The same arithmetic as the pandas path in ``_summary.py``: integer period numbers (fixed
lengths and calendar periods alike, see ``_engine_time``), distinct (customer, period)
pairs, first/last period and the number of periods per customer, elapsed time between
period starts. Only checks (a handful of counts) and, on bad input, one example row reach
the driver; the summary itself stays in the engine (lazy inputs give lazy outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from customer_value._engine import (
    first_row,
    frame_kind,
    observe_total,
    raise_first_bad,
    require_engine_columns,
    to_narwhals,
)
from customer_value._engine_time import PeriodPlan, add_micros, start_us_of
from customer_value.errors import InvalidDataError

__all__ = ["EngineColumns", "EnginePeriods", "calibration_holdout_engine", "summarize_engine"]

_WHAT = "transactions"
# engines that aggregate "the first value in period order" in one group-by (DuckDB
# arg_min, Polars sort_by().first(), Spark min_by); the others take a window instead,
# which would run as a second aggregation of all pairs (twice the cost)
_ORDERED_FIRST = {"polars", "polars-lazy", "duckdb", "spark"}
_BUCKET_ROWS = 2**26  # transactions per Polars aggregation (see _pair_key)
_NET_TOLERANCE = 1e-9  # a period's net amount below minus this is a refund too many


@dataclass(frozen=True)
class EngineColumns:
    """Column names and options shared by both engine functions."""

    customer_id: str
    datetime: str
    amount: str | None
    include_first_transaction: bool
    negative_amounts: str


@dataclass(frozen=True)
class EnginePeriods:
    """Period numbering and elapsed time, as ``_summary._Periods`` on pandas."""

    plan: PeriodPlan
    period_ns: int | None  # fixed length of the period (None: calendar or anchored week)
    unit_ns: int | None  # fixed length of time_unit (None: calendar unit == period)
    number: Callable[[pd.Timestamp], int]  # the pandas period number of one instant
    cutoff: Callable[[pd.Timestamp], int]  # first ns after the window ending on a day

    def cut_us(self, end: pd.Timestamp) -> int:
        return -(-self.cutoff(end) // 1000)

    def add_elapsed(self, frame: Any, start: str, end: str | int, target: str) -> Any:
        """``frame`` with ``target``: time in ``time_unit`` from period ``start`` to ``end``.

        ``end`` is a column of period numbers or one period number; elapsed time is
        measured between period starts, as the pandas path does.
        """
        import narwhals as nw

        end_col = nw.col(end) if isinstance(end, str) else nw.lit(end)
        diff = (end_col - nw.col(start)).cast(nw.Float64)
        if self.unit_ns is None:  # calendar unit == period: whole periods
            return frame.with_columns(diff.alias(target))
        if self.period_ns is not None:
            return frame.with_columns((diff * (self.period_ns / self.unit_ns)).alias(target))
        # calendar periods in a fixed unit: from the periods' start instants
        frame = self.plan.add_start_us(frame, start, "_start0")
        if isinstance(end, str):
            frame = self.plan.add_start_us(frame, end, "_start1")
            end_us = nw.col("_start1")
        else:
            end_us = nw.lit(start_us_of(self.plan, end))
        gap = ((end_us - nw.col("_start0")) * 1000).cast(nw.Float64) / self.unit_ns
        return frame.with_columns(gap.alias(target)).drop(
            "_start0", *(["_start1"] if isinstance(end, str) else [])
        )


def _framed(transactions: Any, cols: EngineColumns, periods: EnginePeriods) -> Any:
    """The log as narwhals with ``_us`` (wall-clock microseconds) and ``_p`` (period number)."""
    columns = [cols.customer_id, cols.datetime] + ([cols.amount] if cols.amount else [])
    require_engine_columns(transactions, columns, what=_WHAT)
    frame = to_narwhals(transactions, what=_WHAT).select(columns)
    frame = add_micros(frame, cols.datetime, what=_WHAT, native=transactions)
    return periods.plan.add_number(frame, "_us", "_p")


def _problems(cols: EngineColumns) -> tuple[list[tuple[Any, str]], list[str]]:
    """The row checks as ``(mask, message)`` pairs, and the columns an example row shows."""
    import narwhals as nw

    problems: list[tuple[Any, str]] = [
        (nw.col(cols.customer_id).is_null(), f"column {cols.customer_id!r} must not be missing"),
        (nw.col(cols.datetime).is_null(), f"column {cols.datetime!r} is missing"),
    ]
    if cols.amount is not None:
        amount = nw.col(cols.amount)
        problems.append(
            (
                amount.is_null() | amount.is_nan(),
                f"column {cols.amount!r} must be finite (no NaN or missing)",
            )
        )
        if cols.negative_amounts == "error":
            problems.append(
                (
                    amount < 0,
                    f"column {cols.amount!r} must be >= 0 (refunds "
                    "are rejected unless negative_amounts='net')",
                )
            )
    shown = [c for c in (cols.customer_id, cols.datetime, cols.amount) if c is not None]
    return problems, shown


def _prepared(
    transactions: Any, cols: EngineColumns, periods: EnginePeriods, cut_us: int | None
) -> tuple[Any, dict[str, Any]]:
    """The log as narwhals with ``_us`` and ``_p`` (period number), every row validated.

    One pass of the engine checks every row and counts the rows, the rows at or after
    ``cut_us`` and the last instant (returned as ``n``, ``late`` and ``max_us``).
    """
    import narwhals as nw

    frame = _framed(transactions, cols, periods)
    also: dict[str, Any] = {"n": nw.len(), "max_us": nw.col("_us").max()}
    if cut_us is not None:
        also["late"] = (nw.col("_us") >= cut_us).cast(nw.Int64).sum()
    keyed = frame_kind(transactions) in {"polars", "polars-lazy"}
    if keyed and frame.collect_schema()[cols.customer_id].is_integer():
        also.update(
            {
                f"_{b}_{c}": getattr(nw.col(c), b)()
                for b in ("min", "max")
                for c in ("_p", cols.customer_id)
            }
        )
    problems, shown = _problems(cols)
    found = raise_first_bad(frame, problems, shown, what=_WHAT, also=also)
    _raise_if_empty(found["n"])
    return frame, found


@dataclass(frozen=True)
class _PairKey:
    """(customer, period) as one integer: ``(customer - c0) * span + (period - p0)``."""

    c0: int
    p0: int
    span: int
    buckets: int  # customers split by id modulo this, one aggregation per bucket


def _pair_key(found: dict[str, Any], cols: EngineColumns) -> _PairKey | None:
    """The one-integer key of the pairs when the ranges ``_prepared`` found allow it.

    Polars' streaming group-by holds one hash-table entry per (customer, period) pair
    until its input ends: one Int64 key in place of two columns makes the entries
    smaller, and customers split into buckets of about ``_BUCKET_ROWS`` transactions
    (by id modulo the number of buckets, one aggregation each, concatenated) bound how
    many entries live at once, for one more read of the input per bucket. On 100 million
    transactions of 10 million customers: peak 5.4-7.9 GiB unsplit, 3.6-3.7 GiB in two
    buckets, at the same time. Needs integer customer ids whose range times the
    periods' fits in 62 bits.
    """
    bounds: list[Any] = [
        found.get(f"_{b}_{c}") for b in ("min", "max") for c in ("_p", cols.customer_id)
    ]
    if any(value is None or pd.isna(value) for value in bounds):
        return None
    p0, c0, p1, c1 = (int(value) for value in bounds)
    span = p1 - p0 + 1
    if (c1 - c0 + 1) * span >= 2**62 or max(abs(c0), abs(c1)) >= 2**62:
        return None
    return _PairKey(c0, p0, span, buckets=-(-int(found["n"]) // _BUCKET_ROWS))


def _raise_if_empty(n_rows: Any) -> None:
    if not n_rows:
        raise InvalidDataError(f"{_WHAT} is empty: at least one row is needed")


def _raise_late(
    frame: Any, cols: EngineColumns, n_late: Any, end_ts: pd.Timestamp, cut_us: int
) -> None:
    """Raise for the ``n_late`` rows at or after ``cut_us``, naming one of them."""
    import narwhals as nw

    late = frame.filter(nw.col("_us") >= cut_us)
    example = first_row(late.select(cols.customer_id, cols.datetime).head(1))
    raise InvalidDataError(
        f"{_WHAT}: {int(n_late)} transaction(s) fall after observation_end="
        f"{end_ts.date()}; one is customer {example.get(cols.customer_id)!r} with "
        f"{cols.datetime}={example.get(cols.datetime)!r}. Pass after_end='drop' to "
        "leave them out, or use calibration_holdout_split"
    )


def _negative_net() -> Any:
    """A (customer, period) pair whose amounts net to less than zero."""
    import narwhals as nw

    return nw.col("_amount") < -_NET_TOLERANCE


def _raise_net(pairs: Any, cols: EngineColumns) -> None:
    """Raise if some customer's amounts in one period net to less than zero."""
    example = first_row(pairs.filter(_negative_net()).select(cols.customer_id, "_amount").head(1))
    if example:
        raise InvalidDataError(
            f"{_WHAT}: the net amount of customer {example[cols.customer_id]!r} in one "
            f"period is negative ({example['_amount']:g}): a refund in column "
            f"{cols.amount!r} exceeds that period's purchases"
        )


def _pairs(frame: Any, cols: EngineColumns, *, key: _PairKey | None = None) -> Any:
    """Distinct (customer, period) pairs with the period's amount.

    On Spark the rows are first hash-partitioned by customer: both group-bys (pairs, then
    customers) and the first period's amount then run without another shuffle, where
    grouping by (customer, period) would shuffle twice (the second time by customer).
    ``key``: the pairs are grouped by one integer (see ``_PairKey``), decoded afterwards.
    """
    import narwhals as nw

    cid = cols.customer_id
    if frame_kind(frame.to_native()) == "spark":
        frame = nw.from_native(frame.to_native().repartition(cid))
    spend = [nw.col(cols.amount).sum().alias("_amount")] if cols.amount is not None else []
    if key is None:
        return frame.group_by(cid, "_p").agg(nw.len().alias("_rows"), *spend)
    dtype = frame.collect_schema()[cid]
    code = (nw.col(cid).cast(nw.Int64) - key.c0) * key.span + (nw.col("_p") - key.p0)
    amount = [nw.col(cols.amount)] if cols.amount is not None else []
    pairs = frame.select(code.alias("_key"), *amount)
    pairs = pairs.group_by("_key").agg(nw.len().alias("_rows"), *spend)
    return pairs.with_columns(
        (nw.col("_key") // key.span + key.c0).cast(dtype).alias(cid),
        (nw.col("_key") % key.span + key.p0).alias("_p"),
    ).drop("_key")


def _per_customer_spark(pairs: Any, cols: EngineColumns, *, lead: bool, flagged: bool) -> Any:
    """The per-customer aggregation on Spark, the first period's amount by ``min_by``.

    narwhals has no ordered ``first`` on Spark; ``min_by(_amount, _p)`` is exact here, as
    each (customer, period) pair occurs once. ``flagged``: bad rows come with a null
    period, and ``_bad`` counts the customer's pairs of such rows and, when refunds are
    netted, the periods whose amounts net to less than zero.
    """
    import narwhals as nw
    from pyspark.sql import functions as sf

    aggs = [
        sf.min("_p").alias("_first"),
        sf.max("_p").alias("_last"),
        sf.count(sf.lit(1)).alias("_count"),
    ]
    if cols.amount is not None:
        aggs.append(sf.sum("_amount").alias("_spend"))
    if lead:
        aggs.append(sf.min_by("_amount", "_p").alias("_lead"))
    if flagged:
        bad = sf.count(sf.lit(1)) - sf.count("_p")
        if _nets(cols):
            bad = bad + sf.sum((sf.col("_amount") < -_NET_TOLERANCE).cast("long"))
        aggs.append(bad.alias("_bad"))
    return nw.from_native(pairs.to_native().groupBy(cols.customer_id).agg(*aggs))


def _nets(cols: EngineColumns) -> bool:
    """Refunds are netted per (customer, period), so a pair's total must be checked."""
    return cols.amount is not None and cols.negative_amounts == "net"


def _summary(
    pairs: Any,
    cols: EngineColumns,
    periods: EnginePeriods,
    end_period: int,
    *,
    flagged: bool = False,
) -> Any:
    """One row per customer: frequency, recency, T (and monetary_value) from the pairs.

    ``flagged`` (Spark): bad rows have a null period, and the result keeps the
    customer's count of pairs of such rows and of refunds too many as ``_bad``, for the
    caller to check.
    """
    import narwhals as nw

    cid, has_amount = cols.customer_id, cols.amount is not None
    if not flagged and _nets(cols):
        _raise_net(pairs, cols)
    exclude_first = has_amount and not cols.include_first_transaction
    kind = frame_kind(pairs.to_native())
    ordered_first = exclude_first and kind in _ORDERED_FIRST
    if exclude_first and not ordered_first:
        pairs = pairs.with_columns(_first=nw.col("_p").min().over(cid)).with_columns(
            _amount=nw.when(nw.col("_p") == nw.col("_first"))
            .then(nw.lit(0.0))
            .otherwise(nw.col("_amount"))
        )
    if kind == "spark":
        per = _per_customer_spark(pairs, cols, lead=ordered_first, flagged=flagged)
    else:
        per = pairs.group_by(cid).agg(
            nw.col("_p").min().alias("_first"),
            nw.col("_p").max().alias("_last"),
            nw.len().alias("_count"),
            *([nw.col("_amount").sum().alias("_spend")] if has_amount else []),
            *([nw.col("_amount").first(order_by="_p").alias("_lead")] if ordered_first else []),
        )
    if ordered_first:  # one pass over the pairs: the total less the first period's amount
        per = per.with_columns(_spend=nw.col("_spend") - nw.col("_lead"))
    per = periods.add_elapsed(per, "_first", "_last", "recency")
    per = periods.add_elapsed(per, "_first", end_period, "T")
    repeat = nw.col("_count") - (0 if cols.include_first_transaction else 1)
    out = [
        nw.col(cid),
        repeat.cast(nw.Float64).alias("frequency"),
        nw.col("recency"),
        nw.col("T"),
    ]
    if has_amount:
        out.append(
            nw.when(repeat > 0)
            .then(nw.col("_spend") / repeat.cast(nw.Float64))
            .otherwise(nw.lit(0.0))
            .alias("monetary_value")
        )
    return per.select(*out, *([nw.col("_bad")] if flagged else []))


def summarize_engine(
    transactions: Any,
    cols: EngineColumns,
    periods: EnginePeriods,
    *,
    end_of: Callable[[Any], pd.Timestamp],
    observation_end: Any,
    after_end: str,
) -> Any:
    """The engine path of :func:`summarize_transactions` (options already validated)."""
    import narwhals as nw

    end_ts = None if observation_end is None else end_of(observation_end)
    spark = frame_kind(transactions) == "spark"
    if spark and end_ts is not None:
        return _summarize_spark(transactions, cols, periods, end_ts, after_end=after_end)
    # the window ends with the day of observation_end (or its sub-day period), as pandas
    cut_us = None if end_ts is None else periods.cut_us(end_ts)
    frame, found = _prepared(transactions, cols, periods, cut_us)
    if end_ts is None or cut_us is None:  # the last transaction's day: nothing is after it
        end_ts = pd.Timestamp(int(found["max_us"]) * 1000)
        cut_us = periods.cut_us(end_ts)
    n_late = found.get("late")
    if n_late:
        if after_end == "error":
            _raise_late(frame, cols, n_late, end_ts, cut_us)
        frame = frame.filter(nw.col("_us") < cut_us)
    key = _pair_key(found, cols)
    parts = [frame]
    if key is not None and key.buckets > 1:
        cid = nw.col(cols.customer_id).cast(nw.Int64) - key.c0
        parts = [frame.filter(cid % key.buckets == b) for b in range(key.buckets)]
    end_period = periods.number(end_ts)
    summaries = [_summary(_pairs(part, cols, key=key), cols, periods, end_period) for part in parts]
    summary = (nw.concat(summaries) if len(summaries) > 1 else summaries[0]).to_native()
    return _cached(summary)[0] if spark else summary


def _cached(summary: Any) -> tuple[Any, int]:
    """A Spark summary cached and computed once, and its number of rows.

    The caller (in the end the user) unpersists it when done.
    """
    summary = summary.cache()
    try:
        return summary, int(summary.count())
    except BaseException:
        summary.unpersist()
        raise


def _summarize_spark(
    transactions: Any,
    cols: EngineColumns,
    periods: EnginePeriods,
    end_ts: pd.Timestamp,
    *,
    after_end: str,
) -> Any:
    """Spark with a given ``observation_end``: one job computes, checks and caches the summary.

    A row on which a check fails (a late row too, unless late rows are dropped) gets a
    null period; the aggregation that is needed anyway counts such pairs per customer
    (the shuffle carries no extra column), and their total is observed
    (``DataFrame.observe``) while the job fills the cache. Only when it is set, or no
    customer is left, do the checks of the other engines run as passes of their own,
    to raise the same error with its example row.
    """
    import narwhals as nw

    cut_us = periods.cut_us(end_ts)
    frame = _framed(transactions, cols, periods)
    masks = [mask for mask, _ in _problems(cols)[0]]
    if after_end == "error":
        masks.append(nw.col("_us") >= cut_us)
    flag = masks[0]
    for mask in masks[1:]:
        flag = flag | mask
    flagged = frame.with_columns(_flag=flag)
    if after_end == "drop":  # late rows go, unless flagged (a bad row raises wherever it is)
        flagged = flagged.filter((nw.col("_us") < cut_us) | nw.col("_flag"))
    flagged = flagged.with_columns(_p=nw.when(~nw.col("_flag")).then(nw.col("_p")))
    pairs = _pairs(flagged.drop("_flag"), cols)
    summary = _summary(pairs, cols, periods, periods.number(end_ts), flagged=True)
    summary, bad = observe_total(summary, "_bad")
    native, n_customers = _cached(summary.to_native())
    if n_customers and not bad():
        return native
    # find the error as the other engines do; without one, the summary of the rows kept
    native.unpersist()
    frame, found = _prepared(transactions, cols, periods, cut_us)
    if found["late"] and after_end == "error":
        _raise_late(frame, cols, found["late"], end_ts, cut_us)
    kept = frame.filter(nw.col("_us") < cut_us)
    pairs = _pairs(kept, cols)
    return _cached(_summary(pairs, cols, periods, periods.number(end_ts)).to_native())[0]


def calibration_holdout_engine(
    transactions: Any,
    cols: EngineColumns,
    periods: EnginePeriods,
    *,
    calibration_end: pd.Timestamp,
    observation_end: pd.Timestamp,
    duration: float,
) -> Any:
    """The engine path of :func:`calibration_holdout_split` (options already validated)."""
    import narwhals as nw

    cal_cut, end_cut = periods.cut_us(calibration_end), periods.cut_us(observation_end)
    frame, found = _prepared(transactions, cols, periods, cal_cut)
    in_cal = frame.filter(nw.col("_us") < cal_cut)
    if found["late"] == found["n"]:
        raise InvalidDataError(
            f"{_WHAT}: no transaction on or before calibration_end={calibration_end.date()}"
        )
    cal_period = periods.number(calibration_end)
    calibration = _summary(_pairs(in_cal, cols), cols, periods, cal_period)
    calibration = calibration.rename({c: f"{c}_cal" for c in calibration.columns[1:]})
    held = frame.filter((nw.col("_us") >= cal_cut) & (nw.col("_us") < end_cut))
    holdout_cols = EngineColumns(
        cols.customer_id, cols.datetime, cols.amount, True, negative_amounts="error"
    )
    hold = (
        _pairs(held, holdout_cols)
        .group_by(cols.customer_id)
        .agg(
            nw.len().alias("frequency_holdout"),
            *([nw.col("_amount").sum().alias("_spend")] if cols.amount is not None else []),
        )
    )
    out = calibration.join(hold, on=cols.customer_id, how="left")
    frequency = nw.col("frequency_holdout").cast(nw.Float64).fill_null(0.0)
    result = [*calibration.columns, frequency.alias("frequency_holdout")]
    if cols.amount is not None:
        result.append(
            nw.when(frequency > 0)
            .then(nw.col("_spend") / frequency)
            .otherwise(nw.lit(0.0))
            .alias("monetary_value_holdout")
        )
    result.append(nw.lit(duration).alias("duration_holdout"))
    return out.select(result).to_native()
