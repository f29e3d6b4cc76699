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

__all__ = ["plot_survival_curve"]


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
    model._params_array()  # NotFittedError before fit
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
    axes.set_xlabel(label("Contract periods since start (periods)", "合约期数"))
    axes.set_ylabel(label("Customers still active (% of cohort)", "存活比例 (%)"))
    axes.set_ylim(0, 100)
    axes.set_title(label("Retention: sBG survival curve", "留存：sBG 存活曲线"))
    axes.legend()
    return finish(axes)
