"""Plots for recommend and experiment: lift chart of rules, uplift by segment."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.plotting._base import finish, label, row_axes

__all__ = ["plot_rule_lift", "plot_uplift_by_segment"]


def _require(frame: Any, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidDataError(f"{what} must be a non-empty DataFrame")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidDataError(f"{what} is missing column(s) {', '.join(repr(c) for c in missing)}")
    return frame


def _names(items: Any) -> str:
    return ", ".join(map(str, items)) if isinstance(items, (tuple, list, frozenset)) else str(items)


def plot_rule_lift(rules: pd.DataFrame, *, top: int = 15, ax: Any = None) -> Any:
    """Lift chart of association rules: the ``top`` rules by lift as horizontal bars.

    Bars are coloured by confidence and annotated with support; the dashed line at
    lift 1 marks independence.

    Parameters
    ----------
    rules : DataFrame
        Output of :func:`customer_value.recommend.association_rules`.
    top : int, default 15
        Rules shown (the first ``top`` rows, which are ordered by lift).
    ax : matplotlib Axes, optional
        Where to draw; otherwise a new figure whose height grows with ``top``.

    Returns
    -------
    matplotlib Axes
        One bar per rule, the highest lift at the top, and a confidence colour bar.

    Raises
    ------
    InvalidDataError
        ``rules`` empty or missing columns, ``top < 1``.

    Examples
    --------
    >>> from customer_value.datasets import make_basket_transactions
    >>> from customer_value.recommend import association_rules
    >>> from customer_value.plotting import plot_rule_lift
    >>> rules = association_rules(make_basket_transactions(300), min_support=0.01)
    >>> ax = plot_rule_lift(rules, top=5)
    >>> len(ax.patches)
    5
    """
    frame = _require(
        rules, ("antecedents", "consequents", "lift", "confidence", "support"), "rules"
    )
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise InvalidDataError(f"top must be a whole number >= 1, got {top!r}")
    shown = frame.iloc[: int(top)].iloc[::-1]
    import matplotlib
    from matplotlib import cm, colors

    norm = colors.Normalize(vmin=0.0, vmax=1.0)
    cmap = matplotlib.colormaps["viridis"]
    labels = [
        f"{_names(a)} → {_names(c)}"
        for a, c in zip(shown["antecedents"], shown["consequents"], strict=True)
    ]
    ax, y = row_axes(ax, labels, width=9.0, per_row=0.38, base=1.2, fontsize=8)
    ax.barh(y, shown["lift"], color=cmap(norm(shown["confidence"].to_numpy())))
    for k, (lift, support) in enumerate(zip(shown["lift"], shown["support"], strict=True)):
        ax.text(lift, k, f"  s={support:.1%}", va="center", fontsize=7)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    mappable = cm.ScalarMappable(norm=norm, cmap=cmap)
    ax.figure.colorbar(
        mappable, ax=ax, label=label("Confidence (0-1)", "置信度"), fraction=0.046, pad=0.04
    )
    return finish(
        ax,
        xlabel=("Lift (x; 1 = no association)", "提升度 (倍)"),
        ylabel=("Rule (if bought → also bought)", "关联规则"),
        title=("Association rules by lift (colour: confidence)", "关联规则提升度"),
    )


def plot_uplift_by_segment(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Uplift per segment with its interval (and the overall row), as a forest plot.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`customer_value.experiment.uplift_by_segment`; the adjustment
        it states is shown in the title.
    ax : matplotlib Axes, optional
        Where to draw; otherwise a new figure with a row per row of ``table``.

    Returns
    -------
    matplotlib Axes
        An interval and a point estimate per segment, green where significant, the
        overall row as a diamond.

    Raises
    ------
    InvalidDataError
        ``table`` empty or missing columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.plotting import plot_uplift_by_segment
    >>> table = pd.DataFrame({"uplift": [0.03, 0.05, 0.0], "ci_low": [0.01, 0.0, -0.03],
    ...                       "ci_high": [0.05, 0.1, 0.03], "significant": [True, False, False]},
    ...                      index=["overall", "potential", "high_value"])
    >>> ax = plot_uplift_by_segment(table)
    >>> len(ax.lines) >= 3
    True
    """
    frame = _require(table, ("uplift", "ci_low", "ci_high"), "table")
    shown = frame.iloc[::-1]
    ax, _ = row_axes(ax, [str(i) for i in shown.index], width=8.0, per_row=0.45, base=1.6)
    est = shown["uplift"].to_numpy(dtype=np.float64)
    low = shown["ci_low"].to_numpy(dtype=np.float64)
    high = shown["ci_high"].to_numpy(dtype=np.float64)
    significant = (
        shown["significant"].to_numpy(dtype=bool)
        if "significant" in shown.columns
        else (low > 0) | (high < 0)
    )
    for k in range(len(shown)):
        colour = "C2" if significant[k] else "grey"
        marker = "D" if str(shown.index[k]) == "overall" else "o"
        ax.plot([low[k], high[k]], [k, k], color=colour, linewidth=2)
        ax.plot([est[k]], [k], marker=marker, color=colour, markersize=7)
    ax.axvline(0.0, color="black", linewidth=1)
    metric = frame.attrs.get("metric", "proportion")
    unit = "share of customers" if metric == "proportion" else "outcome units"
    title = label("Uplift by segment", "各细分群体提升效果")
    if "adjustment" in frame.attrs:
        title += "\n" + textwrap.fill(str(frame.attrs["adjustment"]), width=72)
    return finish(
        ax,
        xlabel=(f"Uplift: treatment - control ({unit})", "提升效果（实验组 - 对照组）"),
        ylabel=("Segment", "细分群体"),
        title=title,
    )
