"""Survey plots: NPS answer distribution and the Kano better/worse scatter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import index_of, require_columns, scale_answers
from customer_value.errors import InvalidDataError
from customer_value.plotting._base import finish, get_ax, label
from customer_value.survey import net_promoter_score

__all__ = ["plot_kano_better_worse", "plot_nps_distribution"]

_DETRACTOR = "#d62728"
_PASSIVE = "#bdbdbd"
_PROMOTER = "#2ca02c"


def plot_nps_distribution(ratings: Any, *, ax: Any = None) -> Any:
    """Bar chart of 0-10 ratings coloured by detractor / passive / promoter, NPS in the title.

    Parameters
    ----------
    ratings : array-like or pandas Series
        Whole-number ratings 0-10 (NaN = missing, ignored).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes with 11 bars (one per answer 0-10) and a legend.

    Raises
    ------
    InvalidDataError
        For ratings off the 0-10 scale or non-numeric (row and value named).
    customer_value.plotting.MissingExtraError
        When matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_nps_distribution([10, 9, 9, 8, 7, 6, 3, 10, 9, 0])
    >>> len(ax.patches)
    11
    """
    values = scale_answers(ratings, "rating", 0, 10, index=index_of(ratings))
    result = net_promoter_score(values)
    present = values[~np.isnan(values)].astype(np.int64)
    counts = np.bincount(present, minlength=11)
    answers = np.arange(11)
    colours = [_DETRACTOR] * 7 + [_PASSIVE] * 2 + [_PROMOTER] * 2
    ax = get_ax(ax)
    bars = ax.bar(answers, counts, color=colours, edgecolor="black", linewidth=0.5)
    names = (
        label("Detractors (0-6)", "贬损者"),
        label("Passives (7-8)", "被动者"),
        label("Promoters (9-10)", "推荐者"),
    )
    ax.legend([bars[0], bars[7], bars[9]], names, loc="upper left")
    ax.set_xticks(answers)
    ax.grid(False, axis="x")
    return finish(
        ax,
        xlabel=("Likelihood to recommend (answer, 0-10)", "推荐意愿 (0-10 分)"),
        ylabel=("Respondents (count)", "受访者人数"),
        title=(
            f"NPS {result.score:+.1f} (95% CI {result.ci_low:+.1f} to {result.ci_high:+.1f}), "
            f"n = {result.n}"
        ),
    )


def plot_kano_better_worse(summary: pd.DataFrame, *, ax: Any = None, annotate: bool = True) -> Any:
    """Kano better/worse scatter: one point per feature, quadrants at 0.5.

    Parameters
    ----------
    summary : DataFrame
        The output of :func:`customer_value.survey.kano_summary` (columns ``better`` and
        ``worse``, indexed by feature).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    annotate : bool, default True
        Write each feature's name next to its point.

    Returns
    -------
    matplotlib.axes.Axes
        x = ``abs(worse)`` (dissatisfaction if absent), y = ``better`` (satisfaction if
        present); the quadrants read attractive (top left, surprise need), one-dimensional
        (top right, expected need), must-be (bottom right, basic need), indifferent (bottom
        left).

    Raises
    ------
    InvalidDataError
        When ``better`` or ``worse`` is missing from ``summary``.
    customer_value.plotting.MissingExtraError
        When matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from customer_value.survey import kano_summary
    >>> answers = pd.DataFrame({"feature": ["wifi", "wifi", "gift"],
    ...     "functional": ["neutral", "like", "like"],
    ...     "dysfunctional": ["dislike", "dislike", "neutral"]})
    >>> ax = plot_kano_better_worse(kano_summary(answers))
    >>> len(ax.collections[0].get_offsets())
    2
    """
    if not isinstance(summary, pd.DataFrame):
        raise InvalidDataError(
            f"summary must be the DataFrame returned by kano_summary, got {type(summary).__name__}"
        )
    require_columns(summary, ["better", "worse"], what="summary")
    x = np.abs(summary["worse"].to_numpy(dtype=np.float64))
    y = summary["better"].to_numpy(dtype=np.float64)
    ax = get_ax(ax)
    ax.scatter(x, y, s=60, color="C0", edgecolor="black", zorder=3)
    if annotate:
        for name, xi, yi in zip(summary.index, x, y, strict=True):
            ax.annotate(str(name), (xi, yi), xytext=(4, 4), textcoords="offset points")
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    corners = [
        (0.02, 1.0, label("Attractive", "惊喜需求"), "left"),
        (1.03, 1.0, label("One-dimensional", "期望需求"), "right"),
        (1.03, 0.02, label("Must-be", "基本需求"), "right"),
        (0.02, 0.02, label("Indifferent", "无差异需求"), "left"),
    ]
    for cx, cy, text, ha in corners:
        ax.text(cx, cy, text, ha=ha, va="top" if cy > 0.5 else "bottom", color="dimgray")
    return finish(
        ax,
        xlabel=("|Worse|: dissatisfaction if absent (share of answers, 0-1)", "缺失时的不满意度"),
        ylabel=("Better: satisfaction if present (share of answers, 0-1)", "具备时的满意度"),
        title=("Kano better/worse", "Kano 模型"),
    )
