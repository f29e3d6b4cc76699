"""CRM key performance indicators: small documented formulas and a per-period table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._time import (
    check_period,
    encode_ids,
    parse_datetimes,
    period_index,
    period_numbers,
)
from customer_value._validation import (
    as_frame,
    check_nonnegative,
    check_scalar,
    numeric_column,
    require_columns,
    require_present,
)
from customer_value.errors import InvalidDataError

__all__ = [
    "average_order_value",
    "cac_payback_periods",
    "churn_rate",
    "kpi_table",
    "ltv_cac_ratio",
    "purchase_frequency",
    "referral_share",
    "repeat_purchase_rate",
    "retention_rate",
]


def _count(value: Any, name: str) -> float:
    return check_scalar(value, name, low=0.0)


def _positive(value: Any, name: str) -> float:
    return check_scalar(value, name, low=0.0, low_inclusive=False)


def _part(part: Any, whole: Any, part_name: str, whole_name: str) -> tuple[float, float]:
    """``0 <= part <= whole`` with ``whole > 0``, or an error naming both values."""
    w = _positive(whole, whole_name)
    p = _count(part, part_name)
    if p > w:
        raise InvalidDataError(f"{part_name} ({part!r}) cannot exceed {whole_name} ({whole!r})")
    return p, w


def churn_rate(start: float, lost: float) -> float:
    """Share of the customers at the start of a period who were lost during it.

    Parameters
    ----------
    start : float
        Customers at the start of the period, > 0.
    lost : float
        Of those, customers lost during the period, ``0 <= lost <= start``.

    Returns
    -------
    float
        ``lost / start``, in [0, 1].

    Raises
    ------
    InvalidDataError
        ``start <= 0``, ``lost < 0`` or ``lost > start``.

    Notes
    -----
    .. math:: \\text{churn rate} = \\frac{L}{S} = 1 - \\text{retention rate}.

    References
    ----------
    Gupta, S. & Lehmann, D. R. (2005). *Managing Customers as Investments*. Wharton
    School Publishing, ch. 2 (retention and churn rates).

    Examples
    --------
    A shop starts March with 1,000 active customers and loses 50 of them:

    >>> from customer_value.churn import churn_rate
    >>> churn_rate(1000, 50)
    0.05
    """
    lost_, start_ = _part(lost, start, "lost", "start")
    return lost_ / start_


def retention_rate(start: float, end: float, new: float) -> float:
    """Share of the customers at the start of a period still customers at its end.

    Parameters
    ----------
    start : float
        Customers at the start of the period, > 0.
    end : float
        Customers at the end of the period, >= 0.
    new : float
        Customers who joined during the period (acquired or won back), ``<= end``.

    Returns
    -------
    float
        ``(end - new) / start``, in [0, 1].

    Raises
    ------
    InvalidDataError
        ``start <= 0``, negative counts, ``new > end``, or ``end - new > start``
        (more customers retained than there were).

    Notes
    -----
    .. math:: \\text{retention rate} = \\frac{E - N}{S}.

    References
    ----------
    Gupta, S. & Lehmann, D. R. (2005). *Managing Customers as Investments*. Wharton
    School Publishing, ch. 2.

    Examples
    --------
    1,000 customers at the start, 1,100 at the end, 200 of them new: 900 of the 1,000
    stayed.

    >>> from customer_value.churn import retention_rate
    >>> retention_rate(1000, 1100, 200)
    0.9
    """
    s = _positive(start, "start")
    e = _count(end, "end")
    n = _count(new, "new")
    if n > e:
        raise InvalidDataError(f"new ({new!r}) cannot exceed end ({end!r})")
    if e - n > s:
        raise InvalidDataError(
            f"end - new ({e - n:g}) cannot exceed start ({start!r}): more customers retained "
            "than there were at the start"
        )
    return (e - n) / s


def repeat_purchase_rate(customers: float, repeat_customers: float) -> float:
    """Share of customers who bought more than once.

    Parameters
    ----------
    customers : float
        Customers who bought at least once, > 0.
    repeat_customers : float
        Of those, customers who bought at least twice.

    Returns
    -------
    float
        ``repeat_customers / customers``, in [0, 1].

    Raises
    ------
    InvalidDataError
        ``customers <= 0``, negative counts or ``repeat_customers > customers``.

    Notes
    -----
    .. math:: \\text{repeat purchase rate} = \\frac{C_{\\ge 2}}{C_{\\ge 1}}.

    References
    ----------
    Farris, P. W., Bendle, N. T., Pfeifer, P. E. & Reibstein, D. J. (2010). *Marketing
    Metrics*, 2nd ed. Pearson, ch. 5 (customer profitability).

    Examples
    --------
    Of the 2,357 CDNOW customers, 946 made a repeat purchase by the end of the 39-week
    calibration period (``frequency > 0`` in ``load_cdnow_summary()``):

    >>> from customer_value.churn import repeat_purchase_rate
    >>> from customer_value.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> customers, repeaters = len(summary), int((summary["frequency"] > 0).sum())
    >>> customers, repeaters
    (2357, 946)
    >>> round(repeat_purchase_rate(customers, repeaters), 3)
    0.401
    """
    r, c = _part(repeat_customers, customers, "repeat_customers", "customers")
    return r / c


def ltv_cac_ratio(ltv: float, cac: float) -> float:
    """Customer lifetime value per unit of acquisition cost.

    Parameters
    ----------
    ltv : float
        Lifetime value (margin) of an average new customer, >= 0.
    cac : float
        Customer acquisition cost, > 0.

    Returns
    -------
    float
        ``ltv / cac``; a common rule of thumb wants 3 or more.

    Raises
    ------
    InvalidDataError
        ``cac <= 0`` or ``ltv < 0``.

    Notes
    -----
    .. math:: \\text{LTV:CAC} = \\frac{\\text{LTV}}{\\text{CAC}}.

    References
    ----------
    Farris, P. W., Bendle, N. T., Pfeifer, P. E. & Reibstein, D. J. (2010). *Marketing
    Metrics*, 2nd ed. Pearson, ch. 5.

    Examples
    --------
    >>> from customer_value.churn import ltv_cac_ratio
    >>> ltv_cac_ratio(450.0, 150.0)
    3.0
    """
    return _count(ltv, "ltv") / _positive(cac, "cac")


def cac_payback_periods(cac: float, margin_per_period: float) -> float:
    """Periods of margin from a new customer needed to recover the acquisition cost.

    Parameters
    ----------
    cac : float
        Customer acquisition cost, >= 0.
    margin_per_period : float
        Gross margin a customer brings per period (for example per month), > 0.

    Returns
    -------
    float
        ``cac / margin_per_period``, in periods.

    Raises
    ------
    InvalidDataError
        ``cac < 0`` or ``margin_per_period <= 0``.

    Notes
    -----
    .. math:: \\text{payback} = \\frac{\\text{CAC}}{\\text{margin per period}}.

    References
    ----------
    Farris, P. W., Bendle, N. T., Pfeifer, P. E. & Reibstein, D. J. (2010). *Marketing
    Metrics*, 2nd ed. Pearson, ch. 5.

    Examples
    --------
    Acquiring a customer costs 120; they bring 20 of margin a month:

    >>> from customer_value.churn import cac_payback_periods
    >>> cac_payback_periods(120.0, 20.0)
    6.0
    """
    return _count(cac, "cac") / _positive(margin_per_period, "margin_per_period")


def referral_share(new_customers: float, referred: float) -> float:
    """Share of new customers who came through a referral.

    Parameters
    ----------
    new_customers : float
        Customers acquired in the period, > 0.
    referred : float
        Of those, customers referred by an existing customer.

    Returns
    -------
    float
        ``referred / new_customers``, in [0, 1].

    Raises
    ------
    InvalidDataError
        ``new_customers <= 0``, negative counts or ``referred > new_customers``.

    Notes
    -----
    .. math:: \\text{referral share} = \\frac{N_{\\text{referred}}}{N}.

    References
    ----------
    Kumar, V., Petersen, J. A. & Leone, R. P. (2007). How valuable is word of mouth?
    *Harvard Business Review* 85(10), 139-146.

    Examples
    --------
    >>> from customer_value.churn import referral_share
    >>> referral_share(400, 60)
    0.15
    """
    r, n = _part(referred, new_customers, "referred", "new_customers")
    return r / n


def purchase_frequency(orders: float, customers: float) -> float:
    """Orders per customer in a period.

    Parameters
    ----------
    orders : float
        Number of orders, >= 0.
    customers : float
        Number of distinct customers who ordered, > 0.

    Returns
    -------
    float
        ``orders / customers``.

    Raises
    ------
    InvalidDataError
        ``customers <= 0``, ``orders < 0``, or fewer orders than customers (a customer
        who ordered placed at least one order).

    Notes
    -----
    .. math:: \\text{purchase frequency} = \\frac{\\text{orders}}{\\text{customers}}.

    References
    ----------
    Farris, P. W., Bendle, N. T., Pfeifer, P. E. & Reibstein, D. J. (2010). *Marketing
    Metrics*, 2nd ed. Pearson, ch. 5.

    Examples
    --------
    >>> from customer_value.churn import purchase_frequency
    >>> purchase_frequency(1500, 1000)
    1.5
    """
    o = _count(orders, "orders")
    c = _positive(customers, "customers")
    if o < c:
        raise InvalidDataError(
            f"orders ({orders!r}) cannot be fewer than customers ({customers!r}) who ordered"
        )
    return o / c


def average_order_value(revenue: float, orders: float) -> float:
    """Revenue per order.

    Parameters
    ----------
    revenue : float
        Revenue of the orders, >= 0.
    orders : float
        Number of orders, > 0.

    Returns
    -------
    float
        ``revenue / orders``.

    Raises
    ------
    InvalidDataError
        ``orders <= 0`` or ``revenue < 0``.

    Notes
    -----
    .. math:: \\text{AOV} = \\frac{\\text{revenue}}{\\text{orders}}.

    References
    ----------
    Farris, P. W., Bendle, N. T., Pfeifer, P. E. & Reibstein, D. J. (2010). *Marketing
    Metrics*, 2nd ed. Pearson, ch. 5.

    Examples
    --------
    >>> from customer_value.churn import average_order_value
    >>> average_order_value(36_000.0, 1500)
    24.0
    """
    return _count(revenue, "revenue") / _positive(orders, "orders")


def kpi_table(
    transactions: Any,
    *,
    period: str = "M",
    active_window: int = 1,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = None,
    referred_col: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Customer-base KPIs per calendar period from a transaction log.

    Parameters
    ----------
    transactions : DataFrame or mapping of column name to array
        One row per order with a customer id and a timestamp.
    period : str, default "M"
        Pandas period alias of the rows of the table.
    active_window : int, default 1
        A customer belongs to the customer base at the end of a period when they bought
        in the last ``active_window`` periods (1: in that period).
    customer_id_col, datetime_col : str
        Names of the customer id and timestamp columns.
    monetary_value_col : str, optional
        Amount column; adds ``revenue`` and ``average_order_value``.
    referred_col : str, optional
        Boolean column, True on orders of referred customers (read on each customer's
        first order); adds ``referred`` and ``referral_share``.
    date_format : str, optional
        ``strftime`` format of the dates when they are numbers or strings with a numeric
        day and month; dates are read as in :func:`customer_value.data.summarize_transactions`.

    Returns
    -------
    DataFrame
        Indexed by period (``PeriodIndex``, every period from the first to the last
        order), with ``customers_start``, ``new_customers`` (first order ever),
        ``reactivated`` (back after a lapse), ``retained``, ``lost``,
        ``customers_end``, ``active_customers`` (ordered in the period), ``orders``,
        ``retention_rate``, ``churn_rate``, ``repeat_purchase_rate`` (share of the
        period's buyers who had bought before), ``purchase_frequency`` and, with the
        optional columns, ``revenue``, ``average_order_value``, ``referred`` and
        ``referral_share``. Rates are NaN where their denominator is 0.

    Raises
    ------
    InvalidDataError
        Unknown period alias, ``active_window < 1``, missing columns, missing or
        unparsable dates or ids, bad amounts, or a non-boolean ``referred_col``.

    Notes
    -----
    The customer base evolves as ``E = S - L + N + A`` (start, lost, new,
    reactivated). The rates are those of :func:`retention_rate` and :func:`churn_rate`
    with everybody who joined the base counted as new:
    ``retention = (E - N - A) / S = retained / S`` and ``churn = L / S = 1 - retention``.
    Orders are rows of the table.

    References
    ----------
    Gupta, S. & Lehmann, D. R. (2005). *Managing Customers as Investments*. Wharton
    School Publishing, ch. 2.

    Examples
    --------
    >>> from customer_value.churn import kpi_table
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> kpis = kpi_table(load_cdnow_transactions(), period="Q", active_window=2,
    ...                  monetary_value_col="amount")
    >>> row = kpis.loc["1997Q4"]
    >>> row[["customers_start", "retained", "lost", "reactivated"]].astype(int).tolist()
    [728, 501, 227, 118]
    >>> round(float(row["retention_rate"]), 3)
    0.688
    """
    what = "transactions"
    check_period(period, "period")
    window = int(check_scalar(active_window, "active_window", low=1.0))
    if window != active_window:
        raise InvalidDataError(f"active_window must be a whole number, got {active_window!r}")
    frame = as_frame(transactions, what=what)
    columns = [customer_id_col, datetime_col]
    columns += [c for c in (monetary_value_col, referred_col) if c is not None]
    require_columns(frame, columns, what=what)
    ns = parse_datetimes(
        frame[datetime_col], datetime_col, index=frame.index, what=what, date_format=date_format
    )
    require_present(frame[customer_id_col], customer_id_col, index=frame.index, what=what)
    codes, _ = encode_ids(frame[customer_id_col], sort=False)
    periods = period_numbers(ns, period)
    p0 = int(periods.min())
    span = int(periods.max()) - p0 + 1
    rel = periods - p0

    def per_period(keys: Any, weights: Any = None) -> Any:
        return np.bincount(keys, weights=weights, minlength=span)[:span]

    # distinct (customer, period) pairs, sorted by customer then period
    pairs = np.unique(codes * span + rel)
    cust = pairs // span
    per = pairs % span
    first_of_customer = np.ones(pairs.size, dtype=np.bool_)
    first_of_customer[1:] = cust[1:] != cust[:-1]
    last_of_customer = np.ones(pairs.size, dtype=np.bool_)
    last_of_customer[:-1] = cust[1:] != cust[:-1]
    next_per = np.empty_like(per)
    next_per[:-1] = per[1:]
    gap_prev = np.empty_like(per)
    gap_prev[1:] = per[1:] - per[:-1]

    active = per_period(per)
    new = per_period(per[first_of_customer])
    reactivated = per_period(per[~first_of_customer & (gap_prev > window)])
    # a pair keeps the customer in the base until min(next purchase, per + window)
    stop = np.where(last_of_customer, per + window, np.minimum(next_per, per + window))
    lapse = last_of_customer | (next_per > per + window)
    lost_at = (per + window)[lapse]
    lost = per_period(lost_at[lost_at < span])
    delta = per_period(per) - per_period(stop[stop < span])
    base_end = np.cumsum(delta)
    base_start = np.concatenate(([0], base_end[:-1]))
    retained = base_start - lost
    orders = per_period(rel)
    out: dict[str, Any] = {
        "customers_start": base_start,
        "new_customers": new,
        "reactivated": reactivated,
        "retained": retained,
        "lost": lost,
        "customers_end": base_end,
        "active_customers": active,
        "orders": orders,
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        start_f = base_start.astype(np.float64)
        out["retention_rate"] = np.where(base_start > 0, retained / start_f, np.nan)
        out["churn_rate"] = np.where(base_start > 0, lost / start_f, np.nan)
        out["repeat_purchase_rate"] = np.where(active > 0, (active - new) / active, np.nan)
        out["purchase_frequency"] = np.where(active > 0, orders / active, np.nan)
        if monetary_value_col is not None:
            amounts = numeric_column(frame, monetary_value_col, what=what)
            check_nonnegative(amounts, monetary_value_col, index=frame.index, what=what)
            revenue = per_period(rel, amounts)
            out["revenue"] = revenue
            out["average_order_value"] = np.where(orders > 0, revenue / orders, np.nan)
        if referred_col is not None:
            from customer_value.churn._evaluation import as_boolean

            flag = as_boolean(frame[referred_col], referred_col, index=frame.index)
            order = np.lexsort((ns, codes))
            first_row = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
            referred = per_period(rel[first_row], flag[first_row].astype(np.float64))
            out["referred"] = referred.astype(np.int64)
            out["referral_share"] = np.where(new > 0, referred / new, np.nan)
    return pd.DataFrame(out, index=period_index(np.arange(span) + p0, period).rename("period"))
