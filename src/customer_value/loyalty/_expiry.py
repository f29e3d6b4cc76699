"""Expiry, pending and clawback arithmetic of the engine (public wrappers of the rules)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.loyalty._columns import timestamp, timestamps_ns
from customer_value.loyalty._program import Program
from customer_value.loyalty._rules import (
    available_ns,
    expiry_ns,
    expiry_ns_one,
    money,
    round_fraction,
)

__all__ = ["available_at", "clawback_points", "expiry_date", "expiry_dates"]


def expiry_date(program: Program, earned_at: Any) -> pd.Timestamp | None:
    """When points earned at ``earned_at`` expire, or ``None`` if they never do.

    Parameters
    ----------
    program : Program
        The program (its ``expiry`` policy is used).
    earned_at : datetime-like
        When the points were earned.

    Returns
    -------
    pandas.Timestamp or None
        The first instant at which the points are no longer valid.

    Notes
    -----
    Without clamping, ``earned_at + months`` calendar months (the day is
    clamped to the target month's length: 31 January + 1 month is 28/29
    February), same clock time. With ``clamp_to_month_end`` the points stay
    valid to the end of that month: the result is midnight at the start of the
    following month.

    Examples
    --------
    >>> from customer_value.loyalty import Program, expiry_date
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "expiry": {"months": 12}})
    >>> expiry_date(p, "2024-02-29 10:00")
    Timestamp('2025-02-28 10:00:00')
    >>> p = Program.from_dict({"name": "p", "base_rate": "1",
    ...                        "expiry": {"months": 12, "clamp_to_month_end": True}})
    >>> expiry_date(p, "2024-03-15 10:00")
    Timestamp('2025-04-01 00:00:00')
    """
    ts = timestamp(earned_at, "earned_at")
    out = expiry_ns_one(program, int(ts.value))
    return None if out is None else pd.Timestamp(out, unit="ns")


def expiry_dates(program: Program, earned_at: Any) -> pd.Series:
    """Vectorised :func:`expiry_date` over a sequence of timestamps.

    Parameters
    ----------
    program : Program
        The program.
    earned_at : Series or array-like of datetime-like
        When points were earned.

    Returns
    -------
    Series of datetime64[ns]
        Expiry instants, indexed like ``earned_at`` when it is a Series; all
        ``NaT`` when points never expire.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty import Program, expiry_dates
    >>> p = Program.from_dict({"name": "p", "base_rate": "1",
    ...                        "expiry": {"months": 1, "clamp_to_month_end": True}})
    >>> expiry_dates(p, pd.Series(pd.to_datetime(["2024-01-31", "2024-12-05"]))).tolist()
    [Timestamp('2024-03-01 00:00:00'), Timestamp('2025-02-01 00:00:00')]
    """
    series = earned_at if isinstance(earned_at, pd.Series) else pd.Series(earned_at)
    ns = timestamps_ns(pd.DataFrame({"earned_at": series}), "earned_at", what="earned_at")
    out = expiry_ns(program, ns)
    if out is None:
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    return pd.Series(out.view("datetime64[ns]"), index=series.index)


def available_at(program: Program, earned_at: Any) -> pd.Timestamp:
    """When points earned at ``earned_at`` become spendable (after the pending period).

    Parameters
    ----------
    program : Program
        The program (its ``pending_days``).
    earned_at : datetime-like
        When the points were earned.

    Returns
    -------
    pandas.Timestamp
        ``earned_at + pending_days`` days.

    Examples
    --------
    >>> from customer_value.loyalty import Program, available_at
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "pending_days": 7})
    >>> available_at(p, "2024-01-30 18:00")
    Timestamp('2024-02-06 18:00:00')
    """
    ts = timestamp(earned_at, "earned_at")
    return pd.Timestamp(available_ns(program, int(ts.value)), unit="ns")


def clawback_points(
    program: Program, points: int, eligible_amount: Any, refunded_amount: Any
) -> int:
    """Points to take back when part of a purchase is refunded.

    Parameters
    ----------
    program : Program
        The program (its ``returns.clawback`` policy and rounding mode).
    points : int
        Points the purchase earned (>= 0).
    eligible_amount : Decimal
        The purchase's eligible amount.
    refunded_amount : Decimal
        The refunded part of the eligible amount (0 <= refunded <= eligible).

    Returns
    -------
    int
        ``round(points * refunded / eligible)`` with the program's rounding
        mode (``points`` for a full refund), or 0 when the policy is ``"none"``.
        Whether the balance may go negative is the ledger's decision
        (``program.returns.allow_negative_balance``).

    Raises
    ------
    InvalidDataError
        Negative points, or a refund outside ``[0, eligible_amount]``.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from customer_value.loyalty import Program, clawback_points
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "rounding": "half_up"})
    >>> clawback_points(p, 125, Decimal("100.00"), Decimal("30.00"))
    38
    """
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 0:
        raise InvalidDataError(f"points must be a whole number >= 0, got {points!r}")
    eligible = money(eligible_amount, "eligible_amount", program.currency_decimals)
    refunded = money(refunded_amount, "refunded_amount", program.currency_decimals)
    if refunded > eligible:
        raise InvalidDataError(
            f"refunded_amount must not exceed eligible_amount ({eligible}), got {refunded}"
        )
    if program.returns.clawback == "none" or refunded == 0 or points == 0:
        return 0
    if eligible == 0:
        return 0
    share = Fraction(int(points)) * Fraction(refunded) / Fraction(eligible)
    return min(round_fraction(share, program.rounding), int(points))
