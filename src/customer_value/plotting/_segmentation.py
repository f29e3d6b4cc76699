"""Plots for customer_value.segmentation: segment sizes vs revenue, value x loyalty matrix."""

from __future__ import annotations

from typing import Any

import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.plotting._base import finish, get_ax, label, row_axes

__all__ = ["plot_segment_sizes", "plot_value_loyalty_matrix"]

_QUADRANT_COLOURS = {
    "gold": "#d4a017",
    "potential": "#2e8b57",
    "churn_risk": "#c0392b",
    "low_value": "#7f8c8d",
}


def plot_segment_sizes(
    segments: pd.DataFrame,
    *,
    revenue_col: str | None = "monetary",
    segment_col: str = "segment",
    label_col: str = "segment_label",
    ax: Any = None,
) -> Any:
    """Horizontal bars of each segment's share of customers and share of revenue.

    Parameters
    ----------
    segments : DataFrame
        Either one row per customer with ``segment_col`` (and ``label_col``,
        ``revenue_col``), for example :meth:`SegmentMap.assign` output, or a
        :func:`~customer_value.segmentation.segment_profile` table (with ``share``
        and ``revenue_share``).
    revenue_col : str or None, default "monetary"
        Per-customer revenue; revenue bars are drawn when it is present.
    segment_col, label_col : str
        Segment identifier and Chinese label columns.
    ax : matplotlib Axes, optional
        Where to draw; otherwise a new figure with a row per segment.

    Returns
    -------
    matplotlib Axes
        A customers bar and (with revenue) a revenue bar per segment, the first segment
        at the top.

    Raises
    ------
    InvalidDataError
        When neither a segment column nor a profile table is given.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores
    >>> seg = CLASSIC_SEGMENTS.assign(rfm_scores(load_cdnow_transactions()))
    >>> ax = plot_segment_sizes(seg)
    >>> len(ax.patches)  # 8 non-empty segments x (customers, revenue)
    16
    """
    if {"share", "size"} <= set(segments.columns):
        profile = segments
    else:
        from customer_value.segmentation import segment_profile

        if segment_col not in segments.columns:
            raise InvalidDataError(
                f"segments: expected a {segment_col!r} column or a segment_profile table"
            )
        profile = segment_profile(
            segments,
            segment_col,
            label_col=label_col if label_col in segments.columns else None,
            mean_cols=[],
            revenue_col=revenue_col if revenue_col in segments.columns else None,
        )
    names = [
        label(
            str(seg), str(profile.loc[seg, "segment_label"]) if "segment_label" in profile else None
        )
        for seg in profile.index
    ]
    ax, y = row_axes(ax, names, width=7.0, per_row=0.45, base=1.5, top_down=True)
    has_revenue = "revenue_share" in profile.columns
    height = 0.4 if has_revenue else 0.7
    from matplotlib.ticker import PercentFormatter

    ax.barh(
        y - (height / 2 if has_revenue else 0),
        profile["share"],
        height,
        label=label("Customers", "客户"),
    )
    if has_revenue:
        ax.barh(y + height / 2, profile["revenue_share"], height, label=label("Revenue", "收入"))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    return finish(
        ax,
        xlabel=("Share of all customers or revenue (%)", "占比 (%)"),
        ylabel=("Segment", "细分群体"),
        title=("Segment sizes and revenue shares", "细分群体规模与收入占比"),
        legend="lower right",
    )


def plot_value_loyalty_matrix(
    matrix: pd.DataFrame, *, log: bool = False, ax: Any = None, **scatter_kwargs: Any
) -> Any:
    """Scatter of value against loyalty, coloured by quadrant, with the thresholds.

    Parameters
    ----------
    matrix : DataFrame
        Output of :func:`~customer_value.segmentation.value_loyalty_matrix`.
    log : bool, default False
        Logarithmic axes (positive values only).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    **scatter_kwargs
        Passed to ``Axes.scatter`` (for example ``s=4``, ``alpha=0.5``).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    InvalidDataError
        When ``matrix`` lacks the columns of ``value_loyalty_matrix``.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.segmentation import rfm_scores, value_loyalty_matrix
    >>> m = value_loyalty_matrix(rfm_scores(load_cdnow_transactions()),
    ...                          value_col="monetary", loyalty_col="frequency",
    ...                          loyalty_threshold=2)
    >>> ax = plot_value_loyalty_matrix(m, log=True)
    >>> len(ax.collections)  # one scatter per quadrant
    4
    """
    needed = {"value", "loyalty", "segment", "segment_label"}
    missing = needed - set(matrix.columns)
    if missing:
        raise InvalidDataError(
            f"matrix is missing column(s) {sorted(missing)!r}; pass value_loyalty_matrix output"
        )
    ax = get_ax(ax)
    scatter_kwargs.setdefault("s", 8)
    scatter_kwargs.setdefault("alpha", 0.6)
    segments = matrix["segment"].astype(str)
    labels = matrix["segment_label"].astype(str)
    for quadrant, colour in _QUADRANT_COLOURS.items():
        part = matrix[segments == quadrant]
        chinese = labels[segments == quadrant].iloc[0] if len(part) else None
        ax.scatter(
            part["loyalty"],
            part["value"],
            color=colour,
            label=f"{label(quadrant, chinese)} ({len(part)})",
            **scatter_kwargs,
        )
    attrs = matrix.attrs
    if "value_threshold" in attrs:
        ax.axhline(attrs["value_threshold"], color="black", linewidth=0.8, linestyle="--")
    if "loyalty_threshold" in attrs:
        ax.axvline(attrs["loyalty_threshold"], color="black", linewidth=0.8, linestyle="--")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    loyalty_col, value_col = attrs.get("loyalty_col", "loyalty"), attrs.get("value_col", "value")
    scale = ", log scale" if log else ""
    return finish(
        ax,
        xlabel=(f"Loyalty (column {loyalty_col!r}{scale})", "忠诚度"),
        ylabel=(f"Value (column {value_col!r}{scale})", "价值"),
        title=("Value x loyalty matrix", "价值 × 忠诚度矩阵"),
        legend="best",
    )
