"""Tier evaluation: one member (:func:`evaluate_tier`) or every member of a table."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import as_frame, require_columns
from customer_value.errors import InvalidDataError
from customer_value.loyalty._columns import signed_minor, timestamp, timestamps_ns
from customer_value.loyalty._policies import TierPolicy
from customer_value.loyalty._program import Program
from customer_value.loyalty._rules import tier_multiplier
from customer_value.loyalty._types import TierStatus

__all__ = ["evaluate_tier", "evaluate_tiers", "tier_window"]


def tier_window(program: Program, at: Any) -> tuple[TierPolicy, pd.Timestamp, pd.Timestamp]:
    """The tier policy and the qualification window ``(window_start, at]`` at ``at``."""
    policy = program.tiers
    if policy is None:
        raise InvalidDataError("the program has no tiers to evaluate")
    when = timestamp(at, "at")
    try:
        window_start = pd.Timestamp(when - pd.DateOffset(months=policy.window_months))
    except (OverflowError, ValueError):  # the window reaches before 1677: all history counts
        window_start = pd.Timestamp.min
    return policy, when, window_start


def evaluate_tier(
    program: Program,
    history: Any,
    at: Any,
    *,
    current_tier: str | None = None,
    tier_since: Any = None,
    timestamp_col: str = "timestamp",
    value_col: str | None = None,
) -> TierStatus:
    """A member's tier at ``at`` from their rolling-window points or spend.

    Parameters
    ----------
    program : Program
        The program; must have tiers.
    history : DataFrame or mapping of column name to array
        The member's earn history: ``timestamp_col`` and ``value_col``
        (default ``"points"`` or ``"spend"`` after the program's tier basis).
        Spend is money (integers, Decimal, decimal strings or whole-minor-unit
        floats); points are whole numbers. Negative values (refunds, clawbacks)
        are allowed. May be empty.
    at : datetime-like
        Evaluation instant.
    current_tier : str, optional
        The tier the member holds now.
    tier_since : datetime-like, optional
        When the member reached (or was last confirmed in) ``current_tier``;
        the anniversary downgrade policy needs it (without it a downgrade is
        allowed).
    timestamp_col, value_col : str
        Column names.

    Returns
    -------
    TierStatus
        The tier, its privileges and multiplier, the qualifying value and the
        gap to the next tier.

    Raises
    ------
    InvalidDataError
        The program has no tiers, the current tier is unknown, or the history
        is malformed.

    Notes
    -----
    The qualifying value ``V`` sums the values with timestamps in the window
    ``(at - window_months months, at]``. The qualified tier is the highest
    level with ``threshold <= V`` (none if ``V`` is below the lowest). Upgrades
    apply at once. A lower qualified tier replaces ``current_tier`` only under
    ``downgrade="anniversary"`` and only when ``at`` is on or after the first
    anniversary of ``tier_since``; under ``"never"`` the member keeps it.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty import Program, evaluate_tier
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 0,
    ...     "tiers": {"basis": "spend", "window_months": 12, "levels": [
    ...         {"name": "silver", "threshold": 50000, "privileges": ["exclusive offers"]},
    ...         {"name": "gold", "threshold": 200000}]}})
    >>> history = pd.DataFrame({"timestamp": pd.to_datetime(["2023-01-10", "2024-03-01"]),
    ...                         "spend": [150000, 60000]})
    >>> status = evaluate_tier(p, history, "2024-06-30")
    >>> status.tier, status.qualifying_value, status.privileges, status.to_next_tier
    ('silver', Decimal('60000'), ('exclusive offers',), Decimal('140000'))
    """
    policy, when, window_start = tier_window(program, at)
    column = value_col if value_col is not None else policy.basis
    total: Decimal
    empty = (isinstance(history, pd.DataFrame) and len(history) == 0) or (
        isinstance(history, Mapping) and all(len(v) == 0 for v in history.values())
    )
    if empty:
        total = Decimal(0)
    else:
        frame = as_frame(history, what="history")
        require_columns(frame, [timestamp_col, column], what="history")
        ts = timestamps_ns(frame, timestamp_col)
        inside = (ts > window_start.value) & (ts <= when.value)
        sub = frame.loc[inside]
        if policy.basis == "spend":
            minor = signed_minor(sub, column, program.currency_decimals)
            total = Decimal(int(minor.sum())).scaleb(-program.currency_decimals)
        else:
            minor = signed_minor(sub, column, 0)
            total = Decimal(int(minor.sum()))
    levels = policy.levels
    qualified_idx = -1
    for i, level in enumerate(levels):
        if level.threshold <= total:
            qualified_idx = i
    chosen_idx = qualified_idx
    if current_tier is not None:
        tier_multiplier(program, current_tier)
        current_idx = next(i for i, lv in enumerate(levels) if lv.name == current_tier)
        if qualified_idx < current_idx:
            keep = policy.downgrade == "never"
            if policy.downgrade == "anniversary" and tier_since is not None:
                since = timestamp(tier_since, "tier_since")
                keep = when < since + pd.DateOffset(years=1)
            if keep:
                chosen_idx = current_idx
    chosen = levels[chosen_idx] if chosen_idx >= 0 else None
    nxt = levels[chosen_idx + 1] if chosen_idx + 1 < len(levels) else None
    return TierStatus(
        tier=None if chosen is None else chosen.name,
        privileges=() if chosen is None else chosen.privileges,
        earn_multiplier=Decimal(1) if chosen is None else chosen.earn_multiplier,
        qualifying_value=total,
        window_start=window_start,
        evaluated_at=when,
        qualified_tier=None if qualified_idx < 0 else levels[qualified_idx].name,
        next_tier=None if nxt is None else nxt.name,
        to_next_tier=None if nxt is None else max(nxt.threshold - total, Decimal(0)),
    )


def evaluate_tiers(
    program: Program,
    history: Any,
    at: Any,
    *,
    current: pd.DataFrame | None = None,
    member_id_col: str = "member_id",
    timestamp_col: str = "timestamp",
    value_col: str | None = None,
) -> pd.DataFrame:
    """Vectorised :func:`evaluate_tier` for every member of a history table.

    Parameters
    ----------
    program : Program
        The program; must have tiers.
    history : DataFrame or mapping of column name to array
        Earn history of many members: ``member_id_col``, ``timestamp_col`` and
        ``value_col`` (default ``"points"`` or ``"spend"`` after the tier basis).
    at : datetime-like
        Evaluation instant.
    current : DataFrame, optional
        Indexed by member id, with ``tier`` and optionally ``tier_since``
        (as in :func:`evaluate_tier`). Members listed here but absent from the
        history are evaluated with a qualifying value of 0.
    member_id_col, timestamp_col, value_col : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed by member id (sorted), columns ``qualifying_value`` (Decimal),
        ``qualified_tier`` and ``tier`` (None when no level is reached). Equal,
        member by member, to :func:`evaluate_tier`.

    Raises
    ------
    InvalidDataError
        The program has no tiers, a current tier is unknown, or the history is
        malformed.

    Notes
    -----
    Values in the window ``(at - window_months, at]`` are summed per member in
    integer minor units; the qualified level is found with a binary search of
    the thresholds; the downgrade policy is then applied as in
    :func:`evaluate_tier`.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty import Program, evaluate_tiers
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 0,
    ...     "tiers": {"levels": [{"name": "silver", "threshold": 50000},
    ...                          {"name": "gold", "threshold": 200000}]}})
    >>> history = pd.DataFrame({"member_id": ["a", "b", "b"],
    ...                         "timestamp": pd.to_datetime(["2024-03-01"] * 3),
    ...                         "spend": [60000, 150000, 70000]})
    >>> evaluate_tiers(p, history, "2024-06-30")["tier"].tolist()
    ['silver', 'gold']
    """
    policy, when, window_start = tier_window(program, at)
    column = value_col if value_col is not None else policy.basis
    frame = as_frame(history, what="history")
    require_columns(frame, [member_id_col, timestamp_col, column], what="history")
    decimals = program.currency_decimals if policy.basis == "spend" else 0
    ts = timestamps_ns(frame, timestamp_col)
    inside = (ts > window_start.value) & (ts <= when.value)
    values = signed_minor(frame, column, decimals)
    sums = (
        pd.Series(np.where(inside, values, 0), index=pd.Index(frame[member_id_col]))
        .groupby(level=0, sort=True)
        .sum()
    )
    if current is not None:
        extra = current.index.difference(sums.index)
        if len(extra):
            sums = pd.concat([sums, pd.Series(0, index=extra, dtype=np.int64)]).sort_index()
    totals = sums.to_numpy(dtype=np.int64)
    levels = policy.levels
    thresholds = np.array([int(t.threshold.scaleb(decimals)) for t in levels], dtype=np.int64)
    qualified = np.searchsorted(thresholds, totals, side="right") - 1
    chosen = qualified.copy()
    if current is not None and "tier" in current.columns:
        names = [t.name for t in levels]
        cur = current["tier"].reindex(sums.index)
        cur_idx = np.full(len(sums), -1, dtype=np.int64)
        for i, name in enumerate(cur.to_numpy(dtype=object)):
            if name is None or pd.isna(name):
                continue
            tier_multiplier(program, str(name))
            cur_idx[i] = names.index(str(name))
        lower = qualified < cur_idx
        if policy.downgrade == "never":
            keep = lower
        else:
            keep = np.zeros(len(sums), dtype=bool)
            if "tier_since" in current.columns:
                since = pd.to_datetime(current["tier_since"].reindex(sums.index), errors="coerce")
                anniversary = pd.DatetimeIndex(since) + pd.DateOffset(years=1)
                keep = lower & np.asarray(anniversary > when) & ~np.asarray(since.isna())
        chosen = np.where(keep, cur_idx, qualified)
    name_arr = np.array([None, *[t.name for t in levels]], dtype=object)
    with localcontext() as ctx:
        ctx.prec = 40
        qualifying = [Decimal(int(v)).scaleb(-decimals) for v in totals]
    return pd.DataFrame(
        {
            "qualifying_value": pd.Series(qualifying, index=sums.index, dtype=object),
            "qualified_tier": pd.Series(name_arr[qualified + 1], index=sums.index, dtype=object),
            "tier": pd.Series(name_arr[chosen + 1], index=sums.index, dtype=object),
        },
        index=sums.index,
    )
