"""``rfm_scores`` and ``behavioural_features`` inside an engine, written once with narwhals.

The same definitions as the pandas paths in ``_rfm.py`` and ``_behaviour.py``. RFM ranks
are exact and tie-safe: each dimension's distinct values are counted, the counts summed
cumulatively in value order (a window over the distinct values), and a customer's
lowest rank is ``1 +`` the number of customers with a strictly worse value, as
``scipy.stats.rankdata(method="min")`` gives on pandas. No quantile is approximated.
Only scalars (the number of customers, the last day) and the category levels reach the
driver; results stay in the engine (lazy inputs give lazy outputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._engine import (
    collect_small,
    first_row,
    frame_kind,
    raise_first_bad,
    require_engine_columns,
    to_narwhals,
)
from customer_value._engine_time import add_micros, day_number
from customer_value._time import NS_PER_DAY
from customer_value.errors import InvalidDataError

__all__ = ["behavioural_engine", "rfm_engine", "spend_key"]


# ------------------------------------------------------------------------- shared steps
def _log(
    transactions: Any,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str,
    extra: list[str],
    end_day: int | None,
    observation_end: Any,
) -> tuple[Any, int]:
    """The validated log with ``_day``, cut at the end day; and that day."""
    import narwhals as nw

    what = "transactions"
    columns = [customer_id_col, datetime_col, monetary_value_col, *extra]
    require_engine_columns(transactions, columns, what=what)
    frame = to_narwhals(transactions, what=what).select(columns)
    frame = add_micros(frame, datetime_col, what=what, native=transactions)
    frame = frame.with_columns(_day=day_number(nw.col("_us")))
    amount = nw.col(monetary_value_col)
    problems: list[tuple[Any, str]] = [
        (nw.col(customer_id_col).is_null(), f"column {customer_id_col!r} must not be missing"),
        (nw.col(datetime_col).is_null(), f"column {datetime_col!r} is missing"),
        (amount.is_null() | amount.is_nan(), f"column {monetary_value_col!r} must be finite"),
        (amount < 0, f"column {monetary_value_col!r} must be >= 0"),
    ]
    problems += [(nw.col(c).is_null(), f"column {c!r} must not be missing") for c in extra]
    also: dict[str, Any] = {"n": nw.len(), "last": nw.col("_day").max()}
    if end_day is not None:
        also["kept"] = (nw.col("_day") <= end_day).cast(nw.Int64).sum()
    shown = [customer_id_col, datetime_col, monetary_value_col]
    found = raise_first_bad(frame, problems, shown, what=what, also=also)
    if not found["n"]:
        raise InvalidDataError(f"{what} is empty: at least one row is needed")
    if end_day is None:
        return frame, int(found["last"])
    if not found["kept"]:
        raise InvalidDataError(
            f"{what}: every transaction is after observation_end={observation_end!r}"
        )
    return frame.filter(nw.col("_day") <= end_day), end_day


def end_day_of(end: pd.Timestamp | None) -> int | None:
    """Day number of ``observation_end`` (None: the last transaction's day)."""
    return None if end is None else int(np.floor_divide(end.as_unit("ns").value, NS_PER_DAY))


def _min_rank(frame: Any, column: str, *, higher_is_better: bool) -> Any:
    """``frame`` with ``_rank_<column>``: the lowest rank of the value, better values higher.

    Ranks come from the distinct values and their counts: the cumulative count of the
    worse values plus one, so equal values share a rank and nothing is approximated.
    """
    import narwhals as nw

    key = nw.col(column) if higher_is_better else -nw.col(column)
    counts = frame.group_by(column).agg(nw.len().alias("_n")).with_columns(_key=key)
    ranks = counts.select(
        nw.col(column),
        (nw.col("_n").cum_sum().over(order_by="_key") - nw.col("_n") + 1).alias(f"_rank_{column}"),
    )
    return frame.join(ranks, on=column, how="left")


# ------------------------------------------------------------------------- RFM
def spend_key(spend: Any) -> Any:
    """Spend as compared for ranking: whole millionths of the currency unit.

    Totals and means of a log depend, in the last bit, on the order in which the amounts
    are added, which differs between pandas and a distributed engine (and between runs
    of one). Ranking the spend in millionths (with an offset that keeps money amounts off
    the rounding edges) lets equal spends tie everywhere, never split by float noise.
    Works on arrays and on narwhals expressions alike.
    """
    return (
        (spend * 1e6 + 0.2371).floor()
        if hasattr(spend, "floor")
        else np.floor(spend * 1e6 + 0.2371)
    )


def rfm_engine(
    data: Any,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str,
    observation_end: Any,
    end: pd.Timestamp | None,
    scale: str,
    monetary: str,
    monetary_col: str | None,
) -> Any:
    """The engine path of ``rfm_scores`` (options already validated)."""
    import narwhals as nw

    names = to_narwhals(data).collect_schema().names()
    cid = customer_id_col
    if datetime_col in names or "recency" not in names:
        frame, end_day = _log(
            data,
            customer_id_col=cid,
            datetime_col=datetime_col,
            monetary_value_col=monetary_value_col,
            extra=[],
            end_day=end_day_of(end),
            observation_end=observation_end,
        )
        per = frame.group_by(cid).agg(  # elementary aggregations (Dask needs them)
            nw.col("_day").max().alias("_last"),
            nw.len().alias("_count"),
            nw.col(monetary_value_col).sum().alias("_total"),
        )
        total, count = nw.col("_total"), nw.col("_count").cast(nw.Float64)
        per = per.select(
            cid,
            (nw.lit(end_day) - nw.col("_last")).cast(nw.Float64).alias("recency"),
            count.alias("frequency"),
            (total if monetary == "total" else total / count).alias("monetary"),
        ).with_columns(_spend=spend_key(nw.col("monetary")))
    else:
        per = _summary_input(data, names, cid=cid, monetary_col=monetary_col)
        per = per.with_columns(_spend=nw.col("monetary"))
    n = int(first_row(per.select(nw.len().alias("n")))["n"])
    scored = per
    for column, better in (("recency", False), ("frequency", True), ("_spend", True)):
        scored = _min_rank(scored, column, higher_is_better=better)
    scores = []
    for column, score in (
        ("recency", "r_score"),
        ("frequency", "f_score"),
        ("_spend", "m_score"),
    ):
        rank = nw.col(f"_rank_{column}").cast(nw.Float64)
        # as numpy: 100 * (rank - 1) / (n - 1), the operations in the same order
        pct = nw.lit(100.0) * (rank - 1.0) / (n - 1.0) if n > 1 else nw.lit(0.0)
        if scale == "quintile":
            # min(floor(pct / 20) + 1, 5) without a float-to-int cast (engines round or cut)
            fifth = pct / 20.0
            quintile = nw.lit(1)
            for k in (1, 2, 3, 4):
                quintile = quintile + (fifth >= k).cast(nw.Int64)
            scores.append(quintile.cast(nw.Int64).alias(score))
        else:
            scores.append(pct.alias(score))
    out = scored.select(cid, "recency", "frequency", "monetary", *scores)
    if scale == "quintile":
        out = out.with_columns(
            rfm_code=nw.concat_str(
                [nw.col(s).cast(nw.String) for s in ("r_score", "f_score", "m_score")]
            )
        )
    return out.to_native()


def _summary_input(data: Any, names: list[str], *, cid: str, monetary_col: str | None) -> Any:
    import narwhals as nw

    what = "summary"
    if monetary_col is None:
        monetary_col = "monetary" if "monetary" in names else "monetary_value"
    require_engine_columns(data, [cid, "recency", "frequency", monetary_col], what=what)
    frame = to_narwhals(data)
    recency = nw.col("T") - nw.col("recency") if "T" in names else nw.col("recency")
    shown_recency = "T - recency" if "T" in names else "recency"
    per = frame.select(
        cid,
        recency.cast(nw.Float64).alias("recency"),
        nw.col("frequency").cast(nw.Float64).alias("frequency"),
        nw.col(monetary_col).cast(nw.Float64).alias("monetary"),
    )
    problems: list[tuple[Any, str]] = [
        (nw.col(cid).is_null(), f"column {cid!r} must not be missing"),
    ]
    for column, shown in (
        ("recency", shown_recency),
        ("frequency", "frequency"),
        ("monetary", monetary_col),
    ):
        value = nw.col(column)
        problems.append((value.is_null() | value.is_nan(), f"{shown!r} must be a number"))
        problems.append((value < 0, f"{shown!r} must be >= 0"))
    raise_first_bad(per, problems, [cid, "recency", "frequency", "monetary"], what=what)
    repeated = per.group_by(cid).agg(nw.len().alias("_n")).filter(nw.col("_n") > 1)
    example = first_row(repeated.select(cid).head(1))
    if example:
        raise InvalidDataError(
            f"{what}: one row per customer is needed, but column {cid!r} repeats a customer; "
            f"{cid}={example[cid]!r} has more than one row"
        )
    return per


# ------------------------------------------------------------------------- behaviour
def _previous_day(visits: Any, cid: str) -> Any:
    """``visits`` (one row per customer and day) with ``_prev``: the customer's previous day.

    A window ordered by day within each customer; Dask, whose narwhals backend has no
    ordered windows within groups, numbers the rows in (customer, day) order instead
    and joins each visit to the one before it.
    """
    import narwhals as nw

    if frame_kind(visits.to_native()) != "dask":
        return visits.with_columns(_prev=nw.col("_day").shift(1).over(cid, order_by="_day"))
    numbered = visits.with_columns(_i=nw.col("_day").cum_count().over(order_by=[cid, "_day"]))
    before = numbered.select(
        (nw.col("_i") + 1).alias("_i"), nw.col(cid).alias("_pcid"), nw.col("_day").alias("_pd")
    )
    joined = numbered.join(before, on="_i", how="left")
    same = nw.col("_pcid") == nw.col(cid)
    return joined.with_columns(_prev=nw.when(same).then(nw.col("_pd"))).drop("_i", "_pcid", "_pd")


def behavioural_engine(
    transactions: Any,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str,
    discount_col: str | None,
    category_col: str | None,
    channel_col: str | None,
    observation_end: Any,
    end: pd.Timestamp | None,
) -> Any:
    """The engine path of ``behavioural_features`` (options already validated)."""
    import narwhals as nw

    cid = customer_id_col
    levels_of = [c for c in (category_col, channel_col) if c is not None]
    extra = [*levels_of, *([discount_col] if discount_col is not None else [])]
    frame, end_day = _log(
        transactions,
        customer_id_col=cid,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
        extra=extra,
        end_day=end_day_of(end),
        observation_end=observation_end,
    )
    flags = {"_weekend": ((nw.col("_day") + 3) % 7 >= 5)}  # 1970-01-01 was a Thursday
    if discount_col is not None:
        dtype = frame.collect_schema()[discount_col]
        if dtype != nw.Boolean and not dtype.is_numeric():
            raise InvalidDataError(
                f"transactions: column {discount_col!r} must be numeric or boolean, found {dtype}"
            )
        flags["_discounted"] = (
            nw.col(discount_col) if dtype == nw.Boolean else nw.col(discount_col) > 0
        )
    shares: list[str] = []
    for column, prefix in ((category_col, "category"), (channel_col, "channel")):
        if column is None:
            continue
        found = collect_small(frame.select(column).unique())[column]
        for level in sorted(v.item() if isinstance(v, np.generic) else v for v in found):
            name = f"{prefix}_share_{level}"
            flags[name] = nw.col(column) == level
            shares.append(name)
    frame = frame.with_columns(**{k: v.cast(nw.Float64) for k, v in flags.items()})
    aggs = [
        nw.len().alias("_count"),
        nw.col(monetary_value_col).sum().alias("total_spend"),
        *(nw.col(k).sum() for k in flags),
    ]
    rows = frame.group_by(cid).agg(*aggs)

    visits = _previous_day(frame.group_by(cid, "_day").agg(nw.len().alias("_rows")), cid)
    gaps = visits.filter(~nw.col("_prev").is_null()).with_columns(
        _gap=(nw.col("_day") - nw.col("_prev")).cast(nw.Float64)
    )
    median = gaps.group_by(cid).agg(nw.col("_gap").median().alias("median_days_between"))
    days = visits.group_by(cid).agg(
        nw.len().alias("_n_days"),
        nw.col("_day").min().alias("_first"),
        nw.col("_day").max().alias("_last"),
    )
    joined = rows.with_columns(n_purchases=nw.col("_count").cast(nw.Float64))
    joined = joined.join(days, on=cid, how="left").join(median, on=cid, how="left")
    n_days = nw.col("_n_days")
    columns = [
        nw.col(cid),
        nw.col("n_purchases"),
        n_days.cast(nw.Float64).alias("n_purchase_days"),
        (nw.lit(end_day) - nw.col("_first")).cast(nw.Float64).alias("tenure_days"),
        (nw.lit(end_day) - nw.col("_last")).cast(nw.Float64).alias("days_since_last"),
        nw.when(n_days > 1)
        .then((nw.col("_last") - nw.col("_first")).cast(nw.Float64) / (n_days - 1.0))
        .alias("mean_days_between"),
        nw.col("median_days_between"),
        nw.col("total_spend"),
        (nw.col("total_spend") / nw.col("n_purchases")).alias("avg_order_value"),
        (nw.col("_weekend") / nw.col("n_purchases")).alias("weekend_share"),
    ]
    if discount_col is not None:
        columns.append((nw.col("_discounted") / nw.col("n_purchases")).alias("discount_share"))
    columns += [(nw.col(s) / nw.col("n_purchases")).alias(s) for s in shares]
    return joined.select(columns).to_native()
