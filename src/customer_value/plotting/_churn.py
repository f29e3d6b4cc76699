"""Plots for customer_value.churn: cohort retention heatmap, Kaplan-Meier curve, lift/gain."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.plotting._base import finish, get_ax, label

__all__ = ["plot_churn_lift", "plot_cohort_retention", "plot_kaplan_meier"]

_PERIOD_UNITS = {"D": "days", "W": "weeks", "M": "months", "ME": "months", "Q": "quarters"}
_PERIOD_UNITS |= {"QE": "quarters", "Y": "years", "YE": "years", "A": "years"}


def _require(frame: Any, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidDataError(f"{what} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidDataError(f"{what} is missing column(s) {', '.join(repr(c) for c in missing)}")
    return frame


def plot_cohort_retention(
    matrix: pd.DataFrame,
    *,
    annotate: bool = True,
    cmap: str = "Blues",
    ax: Any = None,
) -> Any:
    """Heatmap of a cohort retention matrix (cohorts down, periods since first purchase across).

    Parameters
    ----------
    matrix : DataFrame
        Output of :func:`customer_value.churn.cohort_retention`; NaN cells (not yet
        observable) are left blank.
    annotate : bool, default True
        Write each cell's value as a percentage (skipped for more than 400 cells).
    cmap : str, default "Blues"
        Matplotlib colour map.
    ax : matplotlib Axes, optional
        Where to draw; otherwise a new figure sized to the matrix (at most 14 in wide).

    Returns
    -------
    matplotlib Axes
        The heat map, cohorts as rows, with a colour bar of the retained share.

    Raises
    ------
    InvalidDataError
        When ``matrix`` is not a non-empty DataFrame.

    Examples
    --------
    >>> from customer_value.churn import cohort_retention
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.plotting import plot_cohort_retention
    >>> ax = plot_cohort_retention(cohort_retention(load_cdnow_transactions()))
    >>> len(ax.images)
    1
    """
    if not isinstance(matrix, pd.DataFrame) or matrix.size == 0:
        raise InvalidDataError("matrix must be a non-empty DataFrame from cohort_retention")
    values = matrix.to_numpy(dtype=np.float64)
    rows, cols = values.shape
    ax = get_ax(ax, figsize=(min(3.0 + 0.55 * cols, 14.0), max(3.4, 1.6 + 0.45 * rows)))
    measure = matrix.attrs.get("measure", "customers")
    top = 1.0 if measure == "customers" else max(float(np.nanmax(values)), 1.0)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=top, aspect="auto")
    ax.grid(False)
    from matplotlib.ticker import PercentFormatter

    bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, format=PercentFormatter(1.0))
    bar.set_label(
        label("Share of cohort active (%)", "活跃比例 (%)")
        if measure == "customers"
        else label("Revenue vs first period (%)", "收入留存 (%)")
    )
    if annotate and values.size <= 400:
        for i in range(rows):
            for j in range(cols):
                v = values[i, j]
                if np.isfinite(v):
                    colour = "white" if v > 0.6 * top else "black"
                    ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(cols))
    ax.set_xticklabels([str(c) for c in matrix.columns])
    ax.set_yticks(range(rows))
    ax.set_yticklabels([str(c) for c in matrix.index])
    unit = _PERIOD_UNITS.get(str(matrix.attrs.get("period", "")).upper(), "periods")
    return finish(
        ax,
        xlabel=(f"Periods since first purchase ({unit})", f"首购后期数 ({unit})"),
        ylabel=("Cohort (first purchase)", "同期群"),
        title=(
            ("Share of cohort active", "同期群活跃比例")
            if measure == "customers"
            else ("Revenue retained", "收入留存")
        ),
    )


def plot_kaplan_meier(
    km: pd.DataFrame,
    *,
    name: str | None = None,
    band: bool = True,
    time_unit: str | None = None,
    ax: Any = None,
) -> Any:
    """Kaplan-Meier survival (retention) curve as a step function with its confidence band.

    Parameters
    ----------
    km : DataFrame
        Output of :func:`customer_value.churn.kaplan_meier`.
    name : str, optional
        Legend label of the curve.
    band : bool, default True
        Shade the pointwise confidence interval (``lower`` to ``upper``).
    time_unit : str, optional
        Unit of the durations for the x-axis label (for example ``"weeks"``); the
        label says "same unit as the durations" otherwise.
    ax : matplotlib Axes, optional
        Where to draw; several curves can share one Axes.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    InvalidDataError
        When ``km`` lacks the ``survival``, ``lower`` or ``upper`` columns.

    Examples
    --------
    >>> from customer_value.churn import kaplan_meier
    >>> from customer_value.plotting import plot_kaplan_meier
    >>> km = kaplan_meier([6, 6, 6, 7, 10, 13, 16, 22, 23], [True] * 9)
    >>> ax = plot_kaplan_meier(km, name="6-MP")
    >>> len(ax.lines), len(ax.collections)
    (1, 1)
    """
    _require(km, ("survival", "lower", "upper"), "km")
    ax = get_ax(ax)
    t = km.index.to_numpy(dtype=np.float64)
    (line,) = ax.step(t, km["survival"].to_numpy(), where="post", label=name)
    if band:
        ax.fill_between(
            t,
            km["lower"].to_numpy(),
            km["upper"].to_numpy(),
            step="post",
            alpha=0.25,
            color=line.get_color(),
        )
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    unit = time_unit or "same unit as the durations"
    return finish(
        ax,
        xlabel=(f"Time since start ({unit})", "时间"),
        ylabel=("Share still active (%)", "留存比例 (%)"),
        title=("Kaplan-Meier retention curve", "Kaplan-Meier 留存曲线"),
        legend=None if name is None else "best",
    )


def plot_churn_lift(
    evaluation: Any,
    *,
    kind: str = "gain",
    ax: Any = None,
) -> Any:
    """Cumulative gain curve or decile lift bars of a churn score.

    Parameters
    ----------
    evaluation : ChurnEvaluation or DataFrame
        The result of :func:`customer_value.churn.evaluate_churn`, or its ``lift`` table.
    kind : {"gain", "lift"}, default "gain"
        ``"gain"``: share of churners found against share of customers contacted, with
        the random baseline; ``"lift"``: churn rate of each decile over the base rate.
    ax : matplotlib Axes, optional
        Where to draw; otherwise a new figure of the default size.

    Returns
    -------
    matplotlib Axes
        The cumulative gain curve with the random baseline, or one bar per decile.

    Raises
    ------
    InvalidDataError
        An unknown ``kind`` or a table without the lift columns.

    Examples
    --------
    >>> from customer_value.churn import evaluate_churn
    >>> from customer_value.plotting import plot_churn_lift
    >>> ev = evaluate_churn([1, 0, 1, 0, 0, 1], [0.9, 0.1, 0.7, 0.4, 0.2, 0.3], n_bins=3)
    >>> ax = plot_churn_lift(ev)
    >>> len(ax.lines)  # the gain curve and the random baseline
    2
    """
    found = (
        evaluation if isinstance(evaluation, pd.DataFrame) else getattr(evaluation, "lift", None)
    )
    table = _require(found, ("lift", "cumulative_share", "cumulative_gain"), "evaluation.lift")
    if kind not in ("gain", "lift"):
        raise InvalidDataError(f"kind must be one of 'gain', 'lift'; got {kind!r}")
    ax = get_ax(ax)
    if kind == "gain":
        share = np.concatenate(([0.0], table["cumulative_share"].to_numpy(dtype=np.float64)))
        gain = np.concatenate(([0.0], table["cumulative_gain"].to_numpy(dtype=np.float64)))
        ax.plot(share, gain, marker="o", label=label("Model", "模型"))
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label=label("Random", "随机"))
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        return finish(
            ax,
            xlabel=("Customers contacted, highest risk first (%)", "客户占比（风险从高到低, %）"),
            ylabel=("Churners found (%)", "捕获的流失客户占比 (%)"),
            title=("Cumulative gain", "累计增益"),
            legend="best",
        )
    else:
        positions = np.arange(len(table))
        ax.bar(positions, table["lift"].to_numpy(), color="#2e86c1")
        ax.axhline(1.0, linestyle="--", color="grey")
        ax.set_xticks(positions)
        ax.set_xticklabels([str(i) for i in table.index])
    return finish(
        ax,
        xlabel=("Risk group (1 = highest risk)", "风险组（1 = 风险最高）"),
        ylabel=("Churn rate / base rate (x)", "提升度 (倍)"),
        title=("Churn lift by risk group", "各风险组流失提升度"),
    )
