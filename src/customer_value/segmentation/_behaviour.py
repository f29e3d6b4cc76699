"""Per-customer behavioural features from a transaction log."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._engine import is_engine
from customer_value._time import NS_PER_DAY, encode_ids, parse_datetimes, parse_timestamp
from customer_value._validation import (
    IntArray,
    as_frame,
    money_column,
    numeric_column,
    require_columns,
    require_present,
)
from customer_value.errors import InvalidDataError
from customer_value.segmentation._engine_features import behavioural_engine

__all__ = ["behavioural_features"]


def _shares(
    frame: pd.DataFrame, column: str, codes: IntArray, count: Any, n: int, prefix: str
) -> pd.DataFrame:
    """Share of each customer's purchases per level of ``column`` (one column per level)."""
    values = frame[column]
    require_present(values, column, index=frame.index, what="transactions")
    level_codes, levels = pd.factorize(values, sort=True)
    k = len(levels)
    counts = np.bincount(codes * k + level_codes, minlength=n * k).reshape(n, k)
    return pd.DataFrame(
        counts / count[:, None], columns=[f"{prefix}_share_{level}" for level in levels]
    )


def behavioural_features(
    transactions: Any,
    *,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str = "amount",
    discount_col: str | None = None,
    category_col: str | None = None,
    channel_col: str | None = None,
    observation_end: Any = None,
    date_format: str | None = None,
) -> Any:
    """Behavioural features per customer, ready for :class:`ClusterSegmenter` or rules.

    Parameters
    ----------
    transactions : DataFrame, mapping or engine frame
        One row per purchase (or order line). A Polars (eager or lazy), DuckDB, Spark or
        Dask frame is summarised inside its engine and gives a frame of the same kind
        with a ``customer_id_col`` column (rows in no particular order; the gap
        statistics of one-day customers are missing values).
    customer_id_col, datetime_col, monetary_value_col : str
        Columns of the log.
    discount_col : str, optional
        Discount per purchase (amount, rate or boolean); a purchase counts as
        discounted when the value is > 0 / True.
    category_col, channel_col : str, optional
        Product category and sales channel; one share column per level.
    observation_end : date-like, optional
        Reference date for tenure and recency; defaults to the last transaction.
        Later transactions are ignored.
    date_format : str, optional
        ``strftime`` format of the dates when they are numbers or strings with a numeric
        day and month; dates are read as in :func:`customer_value.data.summarize_transactions`.

    Returns
    -------
    DataFrame
        Indexed by customer (sorted ids): ``n_purchases`` (rows), ``n_purchase_days``,
        ``tenure_days`` (first purchase to ``observation_end``), ``days_since_last``,
        ``mean_days_between`` and ``median_days_between`` (gaps between consecutive
        distinct purchase days; NaN for customers who bought on one day only),
        ``total_spend``, ``avg_order_value``, ``weekend_share``, and when the columns
        are given ``discount_share`` (price sensitivity), ``category_share_<level>``
        and ``channel_share_<level>`` (shares of the customer's purchases).

    Raises
    ------
    InvalidDataError
        Missing columns, missing ids, dates or categories, NaN or negative amounts.

    Notes
    -----
    With purchase days :math:`t_1 < \\dots < t_m` of a customer, the mean gap is
    :math:`(t_m - t_1)/(m - 1)` and the median gap the median of
    :math:`t_{j+1} - t_j`. Several rows on one day are one visit for the gaps but
    separate purchases for counts and shares. Weekends are Saturday and Sunday of the
    calendar date as given (convert time zones first).

    References
    ----------
    Wedel, M., & Kamakura, W. A. (2000). *Market Segmentation* (2nd ed.), ch. 1:
    behavioural (observable, product-specific) segmentation bases.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> features = behavioural_features(load_cdnow_transactions())
    >>> features.shape
    (2357, 9)
    >>> features.loc[1, ["n_purchases", "tenure_days", "days_since_last"]].tolist()
    [4.0, 545.0, 200.0]
    >>> int(features["median_days_between"].isna().sum())  # one purchase day only
    1218
    """
    what = "transactions"
    if is_engine(transactions):
        end = None
        if observation_end is not None:
            end = parse_timestamp(observation_end, "observation_end", date_format=date_format)
        return behavioural_engine(
            transactions,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
            monetary_value_col=monetary_value_col,
            discount_col=discount_col,
            category_col=category_col,
            channel_col=channel_col,
            observation_end=observation_end,
            end=end,
        )
    frame = as_frame(transactions, what=what)
    optional = [c for c in (discount_col, category_col, channel_col) if c is not None]
    require_columns(
        frame, [customer_id_col, datetime_col, monetary_value_col, *optional], what=what
    )
    require_present(frame[customer_id_col], customer_id_col, index=frame.index, what=what)
    ns = parse_datetimes(
        frame[datetime_col], datetime_col, index=frame.index, what=what, date_format=date_format
    )
    days = np.floor_divide(ns, NS_PER_DAY)
    amounts = money_column(frame, monetary_value_col, what=what)
    if observation_end is None:
        end_day = int(days.max())
    else:
        end = parse_timestamp(observation_end, "observation_end", date_format=date_format)
        end_day = int(np.floor_divide(end.as_unit("ns").value, NS_PER_DAY))
        keep = days <= end_day
        if not keep.any():
            raise InvalidDataError(
                f"{what}: every transaction is after observation_end={observation_end!r}"
            )
        if not keep.all():
            frame, days, amounts = frame[keep], days[keep], amounts[keep]
    codes, customers = encode_ids(frame[customer_id_col])
    n = len(customers)
    count = np.bincount(codes, minlength=n).astype(np.float64)
    total = np.bincount(codes, weights=amounts, minlength=n)
    # distinct (customer, day) visits, sorted by customer then day
    first_day = int(days.min())
    span = end_day - first_day + 1
    visits = np.unique(codes * span + (days - first_day))
    v_code, v_day = np.divmod(visits, span)
    n_days = np.bincount(v_code, minlength=n)
    starts = np.flatnonzero(np.r_[True, v_code[1:] != v_code[:-1]])
    first = v_day[starts] + first_day
    last = v_day[np.r_[starts[1:], v_code.size] - 1] + first_day
    same = v_code[1:] == v_code[:-1]
    gaps = np.diff(v_day)[same].astype(np.float64)
    median_gap = pd.Series(gaps).groupby(v_code[1:][same]).median().reindex(range(n)).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.where(n_days > 1, (last - first) / (n_days - 1.0), np.nan)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    weekend = np.bincount(codes, weights=(weekday >= 5).astype(np.float64), minlength=n)
    out = pd.DataFrame(
        {
            "n_purchases": count,
            "n_purchase_days": n_days.astype(np.float64),
            "tenure_days": (end_day - first).astype(np.float64),
            "days_since_last": (end_day - last).astype(np.float64),
            "mean_days_between": mean_gap,
            "median_days_between": median_gap,
            "total_spend": total,
            "avg_order_value": total / count,
            "weekend_share": weekend / count,
        }
    )
    if discount_col is not None:
        raw = frame[discount_col]
        flag = (
            raw.to_numpy(dtype=bool)
            if raw.dtype == bool
            else numeric_column(frame, discount_col, what=what) > 0
        )
        out["discount_share"] = np.bincount(codes, weights=flag.astype(float), minlength=n) / count
    parts = [out]
    if category_col is not None:
        parts.append(_shares(frame, category_col, codes, count, n, "category"))
    if channel_col is not None:
        parts.append(_shares(frame, channel_col, codes, count, n, "channel"))
    result = pd.concat(parts, axis=1)
    result.index = pd.Index(customers, name=customer_id_col)
    return result
