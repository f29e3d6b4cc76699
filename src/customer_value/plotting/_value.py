"""Plots for the customer-value models of :mod:`customer_value.clv` (sBG survival).

Each function takes a fitted (or ``from_params``) model, accepts ``ax=`` and returns the
matplotlib ``Axes``; matplotlib is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from customer_value._validation import check_nonnegative, check_scalar, numeric_array
from customer_value.clv import ShiftedBetaGeoModel
from customer_value.errors import InvalidDataError
from customer_value.plotting._base import finish, get_ax, label

__all__ = ["plot_survival_curve", "plot_value_concentration"]


def plot_survival_curve(
    model: Any,
    survivors: Any = None,
    *,
    periods: int | None = None,
    ax: Any = None,
) -> Any:
    """Survival curve of an sBG model, in percent, optionally against observed survivors.

    Parameters
    ----------
    model : ShiftedBetaGeoModel
        A fitted (or ``from_params``) model.
    survivors : array-like, optional
        Observed survivor counts (or percentages) at ``0, 1, ...``; the first value is
        the cohort size. Drawn as points.
    periods : int, optional
        Last period of the curve (default: 12, or the number of observed periods if more).
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib Axes
        One line ``model`` and, with ``survivors``, one line ``actual`` (markers).

    Raises
    ------
    NotFittedError
        The model is not fitted.
    InvalidDataError
        Not an sBG model, bad ``survivors`` or ``periods``.

    Notes
    -----
    ``100 * S(t) = 100 * B(alpha, beta + t) / B(alpha, beta)`` (Fader & Hardie 2007,
    eq. 7); observed values are ``100 * survivors[t] / survivors[0]``.

    References
    ----------
    Fader, P. S., & Hardie, B. G. S. (2007). How to project customer retention. Journal
    of Interactive Marketing, 21(1), 76-90 (figure 4).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.clv import ShiftedBetaGeoModel
    >>> model = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    >>> ax = plot_survival_curve(model, [1000, 631, 468, 382, 326, 289, 262, 241])
    >>> [line.get_label() for line in ax.get_lines()]
    ['model', 'actual']
    """
    if not isinstance(model, ShiftedBetaGeoModel):
        raise InvalidDataError(
            f"model must be a customer_value.clv.ShiftedBetaGeoModel, got {type(model).__name__}"
        )
    model.params_  # noqa: B018 - raises NotFittedError before fit
    observed = None
    if survivors is not None:
        observed = numeric_array(
            np.asarray(survivors, dtype=object).reshape(-1), "survivors", what="survivors"
        )
        check_nonnegative(observed, "survivors", what="survivors")
        if observed.size < 1 or observed[0] <= 0:
            raise InvalidDataError("survivors: the first value (cohort size) must be > 0")
    default = max(12, observed.size - 1 if observed is not None else 0)
    last = default if periods is None else int(check_scalar(periods, "periods", low=1.0))
    t = np.arange(last + 1)
    curve = 100.0 * model.survival(t).to_numpy()
    axes = get_ax(ax)
    axes.plot(t, curve, label="model", color="C0")
    if observed is not None:
        shown = observed[: last + 1]
        axes.plot(
            np.arange(shown.size),
            100.0 * shown / observed[0],
            label="actual",
            color="C1",
            linestyle="none",
            marker="o",
        )
    axes.set_ylim(0, 100)
    return finish(
        axes,
        xlabel=("Contract periods since start (periods)", "合约期数"),
        ylabel=("Customers still active (% of cohort)", "存活比例 (%)"),
        title=("Retention: sBG survival curve", "留存：sBG 存活曲线"),
        legend="best",
    )


def plot_value_concentration(values: Any, *, ax: Any = None) -> Any:
    """Concentration curve: share of total value held by the most valuable customers.

    Customers are sorted from the most to the least valuable; the curve gives the share
    of the total value (y) held by the top share of customers (x). The top 10% and 20%
    are marked, and the diagonal is what equal values would give.

    Parameters
    ----------
    values : array-like or pandas Series
        One non-negative value per customer (for example customer lifetime value).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    InvalidDataError
        Negative, NaN or infinite values, or a total of zero.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.plotting import plot_value_concentration
    >>> ax = plot_value_concentration([50, 30, 10, 5, 5, 0, 0, 0, 0, 0])
    >>> [round(float(y), 2) for y in ax.lines[0].get_ydata()[:3]]
    [0.0, 0.5, 0.8]
    """
    from matplotlib.ticker import PercentFormatter

    array = numeric_array(values, "values")
    check_nonnegative(array, "values")
    total = float(array.sum())
    if not total > 0:
        raise InvalidDataError("values: the total is zero, there is no value to concentrate")
    ordered = np.sort(array)[::-1]
    n = ordered.size
    x = np.arange(n + 1) / n
    y = np.concatenate(([0.0], np.cumsum(ordered) / total))
    axes = get_ax(ax, figsize=(6.4, 4.4))
    axes.plot(
        x, y, color="C0", label=label("Customers, most valuable first", "客户（价值从高到低）")
    )
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label=label("Equal values", "均等"))
    for share in (0.1, 0.2):
        held = float(np.interp(share, x, y))
        axes.plot([share, share], [0, held], color="C1", linewidth=0.8)
        axes.annotate(
            f"{share:.0%} → {held:.0%}",
            (share, held),
            xytext=(6, -12),
            textcoords="offset points",
            color="C1",
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    return finish(
        axes,
        xlabel=("Customers, most valuable first (% of customers)", "客户占比 (%)"),
        ylabel=("Share of total value (%)", "价值占比 (%)"),
        title=("Value concentration", "价值集中度"),
        legend="lower right",
    )
