"""Transaction log → per-customer BTYD summary (frequency, recency, T, monetary value)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from customer_value._engine import is_engine
from customer_value._engine_time import period_plan
from customer_value._time import (
    NS_PER_DAY,
    encode_ids,
    fixed_length_ns,
    parse_datetimes,
    parse_timestamp,
    period_numbers,
)
from customer_value._validation import (
    FloatArray,
    IntArray,
    as_frame,
    check_choice,
    describe_row,
    first_bad,
    money_column,
    require_columns,
    require_present,
)
from customer_value.data._engine_summary import (
    EngineColumns,
    EnginePeriods,
    calibration_holdout_engine,
    summarize_engine,
)
from customer_value.errors import InvalidDataError

__all__ = ["calibration_holdout_split", "summarize_transactions"]


class _Periods:
    """Maps timestamps to integer period numbers and period numbers to elapsed time units."""

    def __init__(self, period: str, time_unit: str) -> None:
        self.period = period
        self.time_unit = time_unit
        self.period_ns = fixed_length_ns(period)
        self.unit_ns = fixed_length_ns(time_unit)
        if self.unit_ns is None and time_unit != period:
            raise InvalidDataError(
                f"time_unit={time_unit!r} is a calendar unit of varying length; it can only be "
                f"used with period={time_unit!r} (elapsed time is then counted in whole periods). "
                "Use a fixed-length unit such as 'D', 'W' or 'h' otherwise"
            )

    def number(self, ns: IntArray) -> IntArray:
        """Period number of each timestamp (nanoseconds since the epoch)."""
        return period_numbers(ns, self.period)

    def cutoff(self, end: pd.Timestamp) -> int:
        """First instant (ns) after the window that ends on ``end``.

        The window takes in the whole calendar day of ``end``, or only its period when
        periods are shorter than a day; never the rest of a longer period (bug: a week).
        """
        end_ns = int(end.value)
        next_day = (end_ns // NS_PER_DAY + 1) * NS_PER_DAY
        if self.period_ns is not None and self.period_ns < NS_PER_DAY:
            # sub-day periods are numbered from the epoch: the next one starts here
            return min(next_day, (end_ns // self.period_ns + 1) * self.period_ns)
        return next_day

    def elapsed(self, start: IntArray, end: IntArray) -> FloatArray:
        """Time between the starts of two period numbers, in ``time_unit``."""
        diff = (end - start).astype(np.float64)
        if self.unit_ns is None:  # calendar unit == period: count whole periods
            return diff
        if self.period_ns is not None:
            return diff * (self.period_ns / self.unit_ns)
        # calendar period measured in a fixed unit: go through the periods' start times
        freq = pd.PeriodDtype(self.period)
        start_ns = pd.PeriodIndex(pd.arrays.PeriodArray(start, dtype=freq)).start_time
        end_ns = pd.PeriodIndex(pd.arrays.PeriodArray(end, dtype=freq)).start_time
        gap = end_ns.as_unit("ns").asi8 - start_ns.as_unit("ns").asi8
        elapsed: FloatArray = gap.astype(np.float64) / self.unit_ns
        return elapsed

    def number_of(self, instant: pd.Timestamp) -> int:
        """Period number of one instant."""
        return int(self.number(np.array([instant.value], dtype=np.int64))[0])

    def engine(self) -> EnginePeriods:
        """The same numbering inside an engine (calendar periods included)."""
        return EnginePeriods(
            period_plan(self.period),
            self.period_ns,
            self.unit_ns,
            number=self.number_of,
            cutoff=self.cutoff,
        )


def _prepare(
    transactions: Any,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None,
    negative_amounts: str,
    date_format: str | None,
    what: str,
) -> tuple[pd.DataFrame, IntArray, FloatArray | None]:
    frame = as_frame(transactions, what=what)
    columns = [customer_id_col, datetime_col]
    if monetary_value_col is not None:
        columns.append(monetary_value_col)
    require_columns(frame, columns, what=what)
    check_choice(negative_amounts, "negative_amounts", ("error", "net"))
    require_present(frame[customer_id_col], customer_id_col, index=frame.index, what=what)
    ns = parse_datetimes(
        frame[datetime_col], datetime_col, index=frame.index, what=what, date_format=date_format
    )
    amounts = None
    if monetary_value_col is not None:
        amounts = money_column(
            frame,
            monetary_value_col,
            allow_negative=negative_amounts == "net",
            negative_hint=" (refunds are rejected unless negative_amounts='net')",
            what=what,
        )
    return frame, ns, amounts


def _summarize_arrays(
    codes: IntArray,
    n_customers: int,
    periods: IntArray,
    amounts: FloatArray | None,
    *,
    include_first_transaction: bool,
) -> tuple[IntArray, IntArray, IntArray, FloatArray | None]:
    """Per customer: first period, last period, number of distinct periods, mean spend.

    Distinct (customer, period) pairs come from sorting one int64 key (numpy's vectorised
    sort), not from hashing; customers absent from ``codes`` get a count of 0.
    """
    p0 = int(periods.min())
    span = int(periods.max()) - p0 + 1
    pairs = np.sort(codes.astype(np.int64) * span + (periods - p0))
    if pairs.size > 1:
        new = np.empty(pairs.size, dtype=np.bool_)
        new[0] = True
        np.not_equal(pairs[1:], pairs[:-1], out=new[1:])
        pairs = pairs[new]
    pair_customer = pairs // span
    pair_period = pairs % span + p0
    count = np.bincount(pair_customer, minlength=n_customers).astype(np.int64)
    # pairs are sorted by customer, then period: a customer's first and last pairs bound it
    boundary = np.flatnonzero(np.diff(pair_customer)) + 1
    starts = np.concatenate(([0], boundary))
    ends = np.concatenate((boundary - 1, [pairs.size - 1]))
    first = np.full(n_customers, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n_customers, np.iinfo(np.int64).min, dtype=np.int64)
    first[pair_customer[starts]] = pair_period[starts]
    last[pair_customer[ends]] = pair_period[ends]
    monetary = None
    if amounts is not None:
        if include_first_transaction:
            spend_sum = np.bincount(codes, weights=amounts, minlength=n_customers)
            spend_n = count
        else:
            repeat = periods != first[codes]
            spend_sum = np.bincount(codes[repeat], weights=amounts[repeat], minlength=n_customers)
            spend_n = count - 1
        monetary = np.where(spend_n > 0, spend_sum / np.maximum(spend_n, 1), 0.0)
    return first, last, count, monetary


def summarize_transactions(
    transactions: Any,
    *,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = None,
    observation_end: Any = None,
    period: str = "D",
    time_unit: str = "D",
    include_first_transaction: bool = False,
    after_end: Literal["error", "drop"] = "error",
    negative_amounts: Literal["error", "net"] = "error",
    date_format: str | None = None,
) -> Any:
    """Summarise a transaction log into one row per customer (BTYD convention).

    Parameters
    ----------
    transactions : DataFrame, mapping of column name to array, or engine frame
        One row per purchase, with a customer id and a timestamp column. A Polars (eager
        or lazy), DuckDB, Spark or Dask frame is summarised inside its engine (see Notes).
    customer_id_col, datetime_col : str
        Names of the customer id and timestamp columns.
    monetary_value_col : str, optional
        Name of the amount column; when given, ``monetary_value`` is returned.
    observation_end : date-like, optional
        Last day of the observation window (inclusive); defaults to the day of the last
        transaction. See Notes for a window that ends inside a period.
    period : str, default "D"
        A pandas period alias: purchases within one period (calendar day by default)
        count as one purchase whose amount is their sum.
    time_unit : str, default "D"
        Unit of ``recency`` and ``T``: elapsed time divided by this unit ("D", "W", "h",
        ...). Calendar units ("M", "Q", "Y") are allowed only when equal to ``period``
        and then count whole periods. Recorded in ``result.attrs["time_unit"]``.
    include_first_transaction : bool, default False
        Count the first purchase in ``frequency`` and ``monetary_value``. Leave it
        False for the BTYD models, which model *repeat* purchases.
    after_end : {"error", "drop"}, default "error"
        What to do with transactions after ``observation_end``: raise, or leave them out.
    negative_amounts : {"error", "net"}, default "error"
        Negative amounts (refunds) raise by default. With ``"net"`` they are netted
        against the purchases of the same customer and period; a period whose net
        total is negative still raises, since its refund belongs to an earlier period.
    date_format : str, optional
        ``strftime`` format of the dates when they are strings that are not ISO 8601
        with a numeric day and month (``"%d/%m/%Y"``), or numbers (``"%Y%m%d"``).

    Returns
    -------
    DataFrame
        Indexed by customer id (sorted), with ``frequency`` (number of repeat periods
        with a purchase), ``recency`` (time from the first to the last purchase period),
        ``T`` (time from the first purchase period to ``observation_end``'s period) and
        ``monetary_value`` (mean total of the repeat periods, 0 when there are none).
        ``attrs`` records ``time_unit``, ``period`` and ``observation_end``.

    Raises
    ------
    InvalidDataError
        Missing columns, missing, unparsable or out-of-range (before 1677, after 2262)
        dates, numbers as dates without ``date_format``, day/month strings without
        ``date_format``, mixed UTC offsets, missing customer ids, duplicated column
        names, non-numeric, NaN or overflowing amounts, negative amounts (see
        ``negative_amounts``), transactions after ``observation_end`` (see
        ``after_end``) or an empty table.

    Notes
    -----
    Elapsed times are measured between the *starts* of periods (``period="D"`` uses
    midnight), as in Fader, Hardie & Lee (2005) and the ``lifetimes`` package: with
    ``period="D", time_unit="W"`` this equals ``lifetimes``'
    ``summary_data_from_transaction_data(..., freq="D", freq_multiplier=7)``.

    **The window is cut at the end of the day ``observation_end``**, whatever the
    period: a purchase at 15:00 on that day is inside, a purchase the next day is after
    the end even when it falls in the same week or month as ``observation_end``. With
    ``period="W"`` and a Tuesday ``observation_end`` the last week is therefore partial
    (Monday and Tuesday); ``T`` runs to the start of that week. Periods shorter than a
    day end the window with the period that holds ``observation_end``.

    Dates are read by one parser for the whole library: datetime columns as they are;
    ISO 8601 strings; a zone-aware column or strings with one shared UTC offset (``Z``,
    ``-05:00``) in their own wall-clock time (the zone is dropped, so days are those
    of the data's zone); mixed offsets, numbers and ambiguous day/month strings are
    refused unless ``date_format`` says how to read them.

    **Engine frames** (Polars, DuckDB, Spark, Dask) are summarised inside the engine
    and give a frame of the same kind with a ``customer_id_col`` column. Their date
    column must already be a date or naive datetime column. Every period pandas numbers
    as fixed lengths, weeks with any anchor, or whole months (``"M"``, ``"Q-JAN"``,
    ``"Y"``) is numbered in the engine exactly as here; business-day periods raise. A
    Spark result is computed at the call and returned cached (one job with
    ``observation_end``: the checks ride along with the aggregation); call its
    ``unpersist()`` when done. See the user guide page "Running at scale".

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> tx = load_cdnow_transactions()
    >>> summary = summarize_transactions(
    ...     tx, monetary_value_col="amount", observation_end="1997-09-30",
    ...     time_unit="W", after_end="drop")
    >>> summary.loc[1].round(3).tolist()
    [2.0, 30.429, 38.857, 22.345]
    >>> summary.attrs["time_unit"]
    'W'
    """
    what = "transactions"
    if is_engine(transactions):
        check_choice(after_end, "after_end", ("error", "drop"))
        check_choice(negative_amounts, "negative_amounts", ("error", "net"))
        return summarize_engine(
            transactions,
            EngineColumns(
                customer_id_col,
                datetime_col,
                monetary_value_col,
                include_first_transaction,
                negative_amounts,
            ),
            _Periods(period, time_unit).engine(),
            end_of=lambda text: parse_timestamp(text, "observation_end", date_format=date_format),
            observation_end=observation_end,
            after_end=after_end,
        )
    frame, ns, amounts = _prepare(
        transactions,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
        negative_amounts=negative_amounts,
        date_format=date_format,
        what=what,
    )
    check_choice(after_end, "after_end", ("error", "drop"))
    periods_of = _Periods(period, time_unit)
    if observation_end is None:
        end_ts = pd.Timestamp(int(ns.max()), unit="ns")
    else:
        end_ts = parse_timestamp(observation_end, "observation_end", date_format=date_format)
    end_period = periods_of.number_of(end_ts)
    late = ns >= periods_of.cutoff(end_ts)
    if late.any():
        if after_end == "error":
            pos = int(np.flatnonzero(late)[0])
            raise InvalidDataError(
                f"{what}: {int(late.sum())} transaction(s) fall after observation_end="
                f"{end_ts.date()}; the first is {describe_row(frame.index, pos)} with "
                f"{datetime_col}={frame[datetime_col].iloc[pos]!r}. Pass after_end='drop' to "
                "leave them out, or use calibration_holdout_split"
            )
        keep = ~late
        frame = frame.loc[keep]
        ns = ns[keep]
        amounts = None if amounts is None else amounts[keep]
        if len(frame) == 0:
            raise InvalidDataError(f"{what}: no transaction on or before observation_end")
    periods = periods_of.number(ns)
    codes, uniques = encode_ids(frame[customer_id_col])
    first, last, count, monetary = _summarize_arrays(
        codes, len(uniques), periods, amounts, include_first_transaction=include_first_transaction
    )
    if monetary is not None and negative_amounts == "net":
        _check_net_periods(codes, periods, amounts, frame, customer_id_col, monetary_value_col)
    frequency = count if include_first_transaction else count - 1
    out = {
        "frequency": frequency.astype(np.float64),
        "recency": periods_of.elapsed(first, last),
        "T": periods_of.elapsed(first, np.full_like(first, end_period)),
    }
    if monetary is not None:
        out["monetary_value"] = monetary
    result = pd.DataFrame(out, index=uniques.rename(customer_id_col))
    result.attrs.update(
        {"time_unit": time_unit, "period": period, "observation_end": str(end_ts.date())}
    )
    return result


def _check_net_periods(
    codes: IntArray,
    periods: IntArray,
    amounts: FloatArray | None,
    frame: pd.DataFrame,
    customer_id_col: str,
    monetary_value_col: str | None,
) -> None:
    if amounts is None or not (amounts < 0).any():
        return
    totals = pd.Series(amounts).groupby([codes, periods]).transform("sum").to_numpy()
    pos = first_bad(totals < -1e-9)
    if pos is not None:
        raise InvalidDataError(
            f"transactions: the net amount of customer {frame[customer_id_col].iloc[pos]!r} "
            f"in the period of {describe_row(frame.index, pos)} is negative ({totals[pos]:g}): "
            f"a refund in column {monetary_value_col!r} exceeds that period's purchases"
        )


def calibration_holdout_split(
    transactions: Any,
    *,
    calibration_end: Any,
    observation_end: Any,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = None,
    period: str = "D",
    time_unit: str = "D",
    include_first_transaction: bool = False,
    negative_amounts: Literal["error", "net"] = "error",
    date_format: str | None = None,
) -> Any:
    """Split a transaction log into a calibration summary and holdout counts.

    Parameters
    ----------
    transactions : DataFrame, mapping of column name to array, or engine frame
        One row per purchase. A Polars (eager or lazy), DuckDB, Spark or Dask frame is
        split inside its engine and gives a frame of the same kind with a
        ``customer_id_col`` column instead of the index (rows in no particular order).
    calibration_end : date-like
        Last day of the calibration period (inclusive).
    observation_end : date-like
        Last day of the holdout period (inclusive); must be after ``calibration_end``.
        Transactions after it are left out.
    customer_id_col, datetime_col, monetary_value_col, period, time_unit,
    include_first_transaction, negative_amounts, date_format
        As in :func:`summarize_transactions`. Both windows are cut at the end of their
        last day, as there: with ``period="W"`` a purchase later in the week of
        ``calibration_end`` belongs to the holdout, whose first week is then partial.

    Returns
    -------
    DataFrame
        Indexed by customer id, with ``frequency_cal``, ``recency_cal``, ``T_cal``
        (and ``monetary_value_cal``) for the calibration period, ``frequency_holdout``
        (number of purchase periods in the holdout), ``duration_holdout`` (holdout
        length in ``time_unit``) and, with a monetary column,
        ``monetary_value_holdout`` (mean holdout period total, 0 when none).
        Customers whose first purchase is after ``calibration_end`` are excluded:
        the models condition on a customer's calibration history, which they lack.

    Raises
    ------
    InvalidDataError
        As :func:`summarize_transactions`, and when ``calibration_end`` is not before
        ``observation_end`` or no transaction falls in the calibration period.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> split = calibration_holdout_split(
    ...     load_cdnow_transactions(), calibration_end="1997-09-30",
    ...     observation_end="1998-06-30", time_unit="W")
    >>> len(split), float(split["duration_holdout"].iloc[0])
    (2357, 39.0)
    >>> int(split["frequency_holdout"].sum())
    1882
    """
    what = "transactions"
    cal_ts = parse_timestamp(calibration_end, "calibration_end", date_format=date_format)
    end_ts = parse_timestamp(observation_end, "observation_end", date_format=date_format)
    if cal_ts >= end_ts:
        raise InvalidDataError(
            f"calibration_end ({cal_ts.date()}) must be before observation_end ({end_ts.date()})"
        )
    if is_engine(transactions):
        check_choice(negative_amounts, "negative_amounts", ("error", "net"))
        periods_of = _Periods(period, time_unit)
        return calibration_holdout_engine(
            transactions,
            EngineColumns(
                customer_id_col,
                datetime_col,
                monetary_value_col,
                include_first_transaction,
                negative_amounts,
            ),
            periods_of.engine(),
            calibration_end=cal_ts,
            observation_end=end_ts,
            duration=float(
                periods_of.elapsed(
                    np.array([periods_of.number_of(cal_ts)]),
                    np.array([periods_of.number_of(end_ts)]),
                )[0]
            ),
        )
    frame, ns, amounts = _prepare(
        transactions,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
        negative_amounts=negative_amounts,
        date_format=date_format,
        what=what,
    )
    periods_of = _Periods(period, time_unit)
    periods = periods_of.number(ns)
    cal_period = periods_of.number_of(cal_ts)
    end_period = periods_of.number_of(end_ts)
    cal_cutoff = periods_of.cutoff(cal_ts)
    in_cal = ns < cal_cutoff
    if not in_cal.any():
        raise InvalidDataError(
            f"{what}: no transaction on or before calibration_end={cal_ts.date()}"
        )
    # hand the parsed instants on, so the calibration summary does not parse again
    cal_frame = frame.loc[in_cal].copy()
    cal_frame[datetime_col] = ns[in_cal].view("datetime64[ns]")
    calibration: pd.DataFrame = summarize_transactions(
        cal_frame,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
        observation_end=cal_ts,
        period=period,
        time_unit=time_unit,
        include_first_transaction=include_first_transaction,
        negative_amounts=negative_amounts,
    )
    calibration.columns = [f"{c}_cal" for c in calibration.columns]
    in_hold = (ns >= cal_cutoff) & (ns < periods_of.cutoff(end_ts))
    hold = frame.loc[in_hold]
    ids = calibration.index
    codes = ids.get_indexer(pd.Index(hold[customer_id_col]))
    known = codes >= 0
    hold_periods = periods[in_hold][known]
    codes = codes[known].astype(np.int64)
    n = len(ids)
    if codes.size:
        hold_amounts = None if amounts is None else amounts[in_hold][known]
        _, _, count, monetary = _summarize_arrays(
            codes, n, hold_periods, hold_amounts, include_first_transaction=True
        )
    else:
        count = np.zeros(n, dtype=np.int64)
        monetary = None if amounts is None else np.zeros(n)
    calibration["frequency_holdout"] = count.astype(np.float64)
    if monetary is not None:
        calibration["monetary_value_holdout"] = monetary
    calibration["duration_holdout"] = float(
        periods_of.elapsed(np.array([cal_period]), np.array([end_period]))[0]
    )
    calibration.attrs.update(
        {
            "time_unit": time_unit,
            "period": period,
            "calibration_end": str(cal_ts.date()),
            "observation_end": str(end_ts.date()),
        }
    )
    return calibration
