"""Loyalty plots: monthly points flow and the tier distribution ([plot] extra)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import require_columns
from customer_value.errors import InvalidDataError
from customer_value.plotting._base import finish, get_ax, label

__all__ = ["plot_points_flow", "plot_tier_report"]

_IN = (("earned", "Earned", "获得"), ("adjusted", "Adjusted", "调整"))
_OUT = (
    ("redeemed", "Redeemed", "兑换"),
    ("expired", "Expired", "过期"),
    ("clawed_back", "Clawed back", "退货扣回"),
)


def _period_name(index: pd.Index[Any]) -> tuple[str, str]:
    """("month", "月") for a monthly PeriodIndex, and so on; ("period", "期") otherwise."""
    freq = str(getattr(index, "freqstr", "") or "").upper()
    names = {
        "M": ("month", "月"),
        "Q": ("quarter", "季度"),
        "Y": ("year", "年"),
        "A": ("year", "年"),
    }
    return names.get(freq[:1], ("period", "期"))


def plot_points_flow(flow: pd.DataFrame, *, ax: Any = None, outstanding: bool = True) -> Any:
    """Points in (above zero) and out (below zero) per period, with the outstanding balance.

    Parameters
    ----------
    flow : DataFrame
        The result of :func:`customer_value.loyalty.points_flow`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure by default).
    outstanding : bool, default True
        Draw the outstanding points as a line on a secondary axis.

    Returns
    -------
    matplotlib Axes
        The Axes with the bars.

    Raises
    ------
    InvalidDataError
        ``flow`` lacks the columns of ``points_flow`` or is empty.
    MissingExtraError
        matplotlib is not installed.

    Notes
    -----
    Earned and adjusted points are stacked upwards; redeemed, expired and
    clawed-back points downwards, so the net change of each period is the
    difference of the two stacks.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program, points_flow
    >>> from customer_value.plotting import plot_points_flow
    >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    >>> _ = ledger.adjust("m1", 100, at="2024-01-05", idempotency_key="a")
    >>> _ = ledger.redeem("m1", 30, at="2024-03-01", idempotency_key="r")
    >>> ax = plot_points_flow(points_flow(ledger))
    >>> len(ax.patches)
    15
    """
    require_columns(flow, [c for c, _, _ in (*_IN, *_OUT)], what="flow")
    if len(flow) == 0:
        raise InvalidDataError("flow is empty: nothing to plot")
    ax = get_ax(ax, figsize=(8.0, 4.5))
    x = np.arange(len(flow))
    bottom = np.zeros(len(flow))
    for column, english, chinese in _IN:
        values = flow[column].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, label=label(english, chinese))
        bottom += values
    bottom = np.zeros(len(flow))
    for column, english, chinese in _OUT:
        values = -flow[column].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, label=label(english, chinese))
        bottom += values
    ax.axhline(0, color="black", linewidth=0.8)
    ax.grid(False, axis="x")
    ax.set_xticks(x)
    ax.set_xticklabels([str(p) for p in flow.index], rotation=45, ha="right")
    english, chinese = _period_name(flow.index)
    ax.set_xlabel(label(english.capitalize(), chinese))
    ax.set_ylabel(label(f"Points per {english} (points, out < 0)", f"每{chinese}积分"))
    ax.set_title(label("Points flow", "积分流量"))
    handles, labels = ax.get_legend_handles_labels()
    if outstanding and "outstanding" in flow.columns:
        twin = ax.twinx()
        (line,) = twin.plot(
            x,
            flow["outstanding"].to_numpy(dtype=float),
            color="black",
            marker="o",
            label=label("Outstanding", "未兑换余额"),
        )
        twin.set_ylabel(label("Outstanding balance (points)", "未兑换积分"))
        twin.grid(False)
        handles.append(line)
        labels.append(line.get_label())
    ax.legend(handles, labels, loc="upper left")
    return finish(ax)


def plot_tier_report(report: pd.DataFrame, *, ax: Any = None) -> Any:
    """Members per tier (bars) with the points they hold (labels on the bars).

    Parameters
    ----------
    report : DataFrame
        The result of :func:`customer_value.loyalty.tier_report`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure by default).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    InvalidDataError
        ``report`` lacks ``members`` or ``points``, or is empty.
    MissingExtraError
        matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from customer_value.plotting import plot_tier_report
    >>> report = pd.DataFrame({"members": [120, 30], "points": [5000, 9000]},
    ...                       index=pd.Index(["silver", "gold"], name="tier"))
    >>> len(plot_tier_report(report).patches)
    2
    """
    require_columns(report, ["members", "points"], what="report")
    if len(report) == 0:
        raise InvalidDataError("report is empty: nothing to plot")
    ax = get_ax(ax)
    x = np.arange(len(report))
    bars = ax.bar(x, report["members"].to_numpy(dtype=float), color="tab:blue")
    ax.bar_label(bars, labels=[f"{int(p):,} pts" for p in report["points"]], fontsize="small")
    ax.margins(y=0.12)  # room for the labels above the bars
    ax.grid(False, axis="x")
    ax.set_xticks(x)
    ax.set_xticklabels([str(t) for t in report.index])
    return finish(
        ax,
        xlabel=("Tier", "等级"),
        ylabel=("Members (count)", "会员数"),
        title=("Members and points per tier", "各等级会员与积分"),
    )
