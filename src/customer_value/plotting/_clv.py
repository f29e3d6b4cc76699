"""Plots for the purchase-frequency models of :mod:`customer_value.clv`.

Each function takes a fitted (or ``from_params``) model and data frames, accepts
``ax=`` and returns the matplotlib ``Axes``; matplotlib is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._time import NS_PER_DAY, parse_datetimes, parse_timestamp
from customer_value._validation import as_frame, check_scalar, require_columns, require_present
from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from customer_value.errors import InvalidDataError
from customer_value.plotting._base import finish, get_ax, label

__all__ = [
    "plot_calibration_purchases_vs_holdout_purchases",
    "plot_cumulative_transactions",
    "plot_frequency_recency_matrix",
    "plot_period_transactions",
    "plot_probability_alive_matrix",
]


# the purchase-frequency models, by their public names
FrequencyModel = BetaGeoModel | ModifiedBetaGeoModel | ParetoNBDModel


def _check_model(model: Any) -> FrequencyModel:
    if not isinstance(model, (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel)):
        raise InvalidDataError(
            "model must be a customer_value.clv purchase-frequency model "
            f"(BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel), got {type(model).__name__}"
        )
    model.params_  # noqa: B018 - raises NotFittedError before fit
    return model


def _grid(
    model: FrequencyModel, max_frequency: int | None, T: float | None
) -> tuple[pd.DataFrame, int, float]:
    """All valid (frequency, recency) cells for customers observed for ``T``."""
    if T is None or max_frequency is None:
        arrays = model.model_data()
        if T is None:
            T = float(arrays["T"].to_numpy().max())
        if max_frequency is None:
            max_frequency = int(arrays["frequency"].to_numpy().max())
    T = check_scalar(T, "T", low=0.0, low_inclusive=False)
    max_frequency = int(check_scalar(max_frequency, "max_frequency", low=1.0))
    recency = np.arange(int(np.floor(T)) + 1, dtype=np.float64)
    x, tx = np.meshgrid(np.arange(max_frequency + 1, dtype=np.float64), recency, indexing="ij")
    valid = (x > 0) | (tx == 0)
    cells = pd.DataFrame({"frequency": x[valid], "recency": tx[valid], "T": T})
    return cells, max_frequency, T


def _matrix(
    model: FrequencyModel,
    values: pd.Series,
    cells: pd.DataFrame,
    max_frequency: int,
    T: float,
    title: str,
    colorbar: str,
    ax: Any,
) -> Any:
    n_recency = int(np.floor(T)) + 1
    image = np.full((max_frequency + 1, n_recency), np.nan)
    image[cells["frequency"].to_numpy().astype(int), cells["recency"].to_numpy().astype(int)] = (
        values.to_numpy()
    )
    ax = get_ax(ax)
    mappable = ax.imshow(
        image, origin="lower", aspect="auto", interpolation="nearest", cmap="viridis"
    )
    ax.grid(False)
    ax.figure.colorbar(mappable, ax=ax, label=colorbar)
    unit = model.time_unit_ or "time units of the data"
    return finish(
        ax,
        xlabel=(f"Recency: age at last purchase ({unit})", "最近购买时间"),
        ylabel=("Frequency: repeat purchases (count)", "重复购买次数"),
        title=title,
    )


def plot_frequency_recency_matrix(
    model: Any,
    *,
    t: float = 1.0,
    T: float | None = None,
    max_frequency: int | None = None,
    ax: Any = None,
) -> Any:
    """Heat map of expected purchases in the next ``t`` by frequency and recency.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted model (or one built with ``from_params`` when ``T`` and
        ``max_frequency`` are given).
    t : float, default 1
        Forecast horizon in the model's time unit.
    T : float, optional
        Age of the customers shown; defaults to the largest ``T`` in the training data.
    max_frequency : int, optional
        Largest frequency shown; defaults to the largest in the training data.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib Axes
        The axes with the image (cells with frequency 0 and recency > 0 are blank).

    Raises
    ------
    NotFittedError
        The model is not fitted.
    InvalidDataError
        Not a purchase-frequency model, or bad ``t``, ``T``, ``max_frequency``.

    Notes
    -----
    Each cell is ``E[Y(t) | x, t_x, T]`` (Fader, Hardie & Lee 2005, eq. 10, for BG/NBD).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.datasets import load_cdnow_summary
    >>> model = BetaGeoModel().fit(load_cdnow_summary())
    >>> ax = plot_frequency_recency_matrix(model, t=39)
    >>> ax.get_title()
    'Expected purchases in the next 39 W'
    """
    fitted = _check_model(model)
    horizon = check_scalar(t, "t", low=0.0)
    cells, max_x, age = _grid(fitted, max_frequency, T)
    values = fitted.expected_purchases(horizon, cells)
    unit = f" {fitted.time_unit_}" if fitted.time_unit_ else ""
    return _matrix(
        fitted,
        values,
        cells,
        max_x,
        age,
        f"Expected purchases in the next {horizon:g}{unit}",
        "expected purchases",
        ax,
    )


def plot_probability_alive_matrix(
    model: Any,
    *,
    T: float | None = None,
    max_frequency: int | None = None,
    ax: Any = None,
) -> Any:
    """Heat map of the probability of being alive by frequency and recency.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted model.
    T : float, optional
        Age of the customers shown; defaults to the largest ``T`` in the training data.
    max_frequency : int, optional
        Largest frequency shown; defaults to the largest in the training data.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib Axes
        The axes with the image.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    InvalidDataError
        Not a purchase-frequency model, or bad ``T``, ``max_frequency``.

    Notes
    -----
    Each cell is ``P(alive | x, t_x, T)`` (for BG/NBD: Fader, Hardie & Lee, note
    "Computing P(alive) using the BG/NBD model").

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.datasets import load_cdnow_summary
    >>> model = BetaGeoModel().fit(load_cdnow_summary())
    >>> plot_probability_alive_matrix(model).get_title()
    'Probability of being alive'
    """
    fitted = _check_model(model)
    cells, max_x, age = _grid(fitted, max_frequency, T)
    values = fitted.probability_alive(cells)
    return _matrix(fitted, values, cells, max_x, age, "Probability of being alive", "P(alive)", ax)


def plot_calibration_purchases_vs_holdout_purchases(
    model: Any, split: Any, *, n: int = 7, ax: Any = None
) -> Any:
    """Mean holdout purchases, actual and predicted, by calibration purchases.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A model fitted to the calibration columns of ``split``.
    split : DataFrame
        Output of :func:`customer_value.data.calibration_holdout_split`
        (``frequency_cal``, ``recency_cal``, ``T_cal``, ``frequency_holdout``,
        ``duration_holdout``).
    n : int, default 7
        Customers with ``n`` or more calibration purchases form the last group.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib Axes
        Two lines: actual and model means per group.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    InvalidDataError
        Missing columns in ``split`` or a bad ``n``.

    Notes
    -----
    The predicted value of a customer is ``E[Y(t) | x, t_x, T]`` with ``t`` the holdout
    duration (Fader, Hardie & Lee 2005, figure 4).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.data import calibration_holdout_split
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> split = calibration_holdout_split(
    ...     load_cdnow_transactions(), calibration_end="1997-09-30",
    ...     observation_end="1998-06-30", time_unit="W")
    >>> cal = split[["frequency_cal", "recency_cal", "T_cal"]]
    >>> model = BetaGeoModel().fit(cal.rename(columns=lambda c: c[:-4]))
    >>> ax = plot_calibration_purchases_vs_holdout_purchases(model, split)
    >>> [line.get_label() for line in ax.get_lines()]
    ['actual', 'model']
    """
    fitted = _check_model(model)
    frame = as_frame(split, what="split")
    columns = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]
    require_columns(frame, columns, what="split")
    top = int(check_scalar(n, "n", low=1.0))
    calibration = pd.DataFrame(
        {
            "frequency": frame["frequency_cal"],
            "recency": frame["recency_cal"],
            "T": frame["T_cal"],
        }
    )
    predicted = fitted.expected_purchases(frame["duration_holdout"].to_numpy(), calibration)
    groups = calibration["frequency"].clip(upper=top).astype(int)
    actual = frame["frequency_holdout"].groupby(groups).mean()
    model_mean = predicted.groupby(groups).mean()
    ax = get_ax(ax)
    positions = actual.index.to_numpy()
    ax.plot(positions, actual.to_numpy(), marker="o", label="actual")
    ax.plot(
        positions,
        model_mean.reindex(actual.index).to_numpy(),
        marker="s",
        ls="--",
        label="model",
    )
    ticks = [str(v) for v in positions]
    ticks[-1] = f"{positions[-1]}+" if positions[-1] == top else ticks[-1]
    ax.set_xticks(positions)
    ax.set_xticklabels(ticks)
    return finish(
        ax,
        xlabel=("Repeat purchases in the calibration period (count)", "校准期购买次数"),
        ylabel=("Holdout purchases (mean per customer)", "验证期平均购买次数"),
        title=("Calibration vs holdout purchases", "校准期与验证期购买"),
        legend="best",
    )


def plot_period_transactions(
    model: Any, data: Any = None, *, max_frequency: int = 7, ax: Any = None
) -> Any:
    """Number of customers by repeat purchases: observed vs expected under the model.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted model.
    data : DataFrame, optional
        Customers (``frequency``, ``recency``, ``T``); defaults to the training data.
    max_frequency : int, default 7
        Customers with more purchases are pooled into the last bar.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib Axes
        Two bar series, ``actual`` and ``model``.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    InvalidDataError
        Bad data or ``max_frequency``.

    Notes
    -----
    The expected number of customers with ``n`` repeat purchases is
    ``sum_i P(X(T_i) = n)`` over the customers' own observation lengths ``T_i``
    (Fader, Hardie & Lee 2005, figure 2; eq. 8 for BG/NBD).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.datasets import load_cdnow_summary
    >>> model = BetaGeoModel().fit(load_cdnow_summary())
    >>> ax = plot_period_transactions(model)
    >>> len(ax.patches)
    16
    """
    fitted = _check_model(model)
    arrays = fitted.model_data(data)
    top = int(check_scalar(max_frequency, "max_frequency", low=1.0))
    counts = np.arange(top)
    T_values, per_T = np.unique(arrays["T"].to_numpy(), return_counts=True)
    expected = np.zeros(top + 1)
    # one pmf per distinct observation length (not per customer)
    for age, size in zip(T_values, per_T, strict=True):
        pmf = fitted.probability_of_purchases(counts, float(age)).to_numpy()
        expected[:top] += size * pmf
        expected[top] += size * max(1.0 - float(pmf.sum()), 0.0)
    frequency = arrays["frequency"].to_numpy().astype(np.int64)
    observed = np.bincount(np.minimum(frequency, top), minlength=top + 1)
    ax = get_ax(ax)
    positions = np.arange(top + 1)
    ax.bar(positions - 0.2, observed, width=0.4, label="actual")
    ax.bar(positions + 0.2, expected, width=0.4, label="model")
    ax.grid(False, axis="x")
    ax.set_xticks(positions)
    ax.set_xticklabels([*map(str, range(top)), f"{top}+"])
    return finish(
        ax,
        xlabel=("Repeat purchases (count)", "重复购买次数"),
        ylabel=("Customers (count)", "客户数"),
        title=("Repeat purchases: actual vs model", "重复购买：实际与模型"),
        legend="best",
    )


def plot_cumulative_transactions(
    model: Any,
    transactions: Any,
    *,
    calibration_end: Any = None,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    ax: Any = None,
) -> Any:
    """Cumulative repeat transactions over calendar time: actual vs model (tracking plot).

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted model whose ``time_unit_`` is a fixed pandas unit ("D", "W", "h", ...).
    transactions : DataFrame
        The transaction log (one row per purchase).
    calibration_end : date-like, optional
        Drawn as a vertical line (the end of the data the model was fitted on).
    customer_id_col, datetime_col : str
        Column names in ``transactions``.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib Axes
        Two lines, ``actual`` and ``model``.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    InvalidDataError
        Missing columns, or a model without a fixed-length ``time_unit_``.

    Notes
    -----
    Repeat purchases count distinct purchase days after each customer's first day.
    The model curve at day ``d`` is ``sum_i E[X(d - d_i)]`` over customers with first
    purchase day ``d_i <= d`` (Fader, Hardie & Lee 2005, figure 3), computed once per
    first-purchase day.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.datasets import load_cdnow_summary, load_cdnow_transactions
    >>> model = BetaGeoModel().fit(load_cdnow_summary())
    >>> ax = plot_cumulative_transactions(
    ...     model, load_cdnow_transactions(), calibration_end="1997-09-30")
    >>> [line.get_label() for line in ax.get_lines()][:2]
    ['actual', 'model']
    """
    fitted = _check_model(model)
    frame = as_frame(transactions, what="transactions")
    require_columns(frame, [customer_id_col, datetime_col], what="transactions")
    if not fitted.time_unit_:
        raise InvalidDataError(
            "the model has no time_unit: fit it on a summary from summarize_transactions or "
            "build it with from_params(..., time_unit='W')"
        )
    try:
        unit_days = pd.Timedelta(1, unit=fitted.time_unit_) / pd.Timedelta(days=1)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidDataError(
            f"time_unit {fitted.time_unit_!r} is not a fixed-length unit usable here"
        ) from None
    ns = parse_datetimes(frame[datetime_col], datetime_col, index=frame.index, what="transactions")
    days = pd.Series((ns // NS_PER_DAY * NS_PER_DAY).view("datetime64[ns]"))
    ids = frame[customer_id_col]
    require_present(ids, customer_id_col, index=frame.index, what="transactions")
    pairs = pd.DataFrame({"id": ids.to_numpy(), "day": days.to_numpy()}).drop_duplicates()
    first = pairs.groupby("id")["day"].transform("min")
    start = pairs["day"].min()
    end = pairs["day"].max()
    n_days = int((end - start) / pd.Timedelta(days=1)) + 1
    repeat_day = (pairs.loc[pairs["day"] > first, "day"] - start) / pd.Timedelta(days=1)
    actual = np.cumsum(np.bincount(repeat_day.to_numpy().astype(np.int64), minlength=n_days))
    first_days = pairs.groupby("id")["day"].min()
    cohort_day, cohort_size = np.unique(
        ((first_days - start) / pd.Timedelta(days=1)).to_numpy().astype(np.int64),
        return_counts=True,
    )
    timeline = np.arange(n_days)
    ages = np.clip(timeline[:, None] - cohort_day[None, :], 0, None) / unit_days
    distinct, inverse = np.unique(ages, return_inverse=True)
    per_age = fitted.expected_purchases_new_customer(distinct).to_numpy()
    expected = (per_age[inverse.reshape(ages.shape)] * cohort_size[None, :]).sum(axis=1)
    dates = start + pd.to_timedelta(timeline, unit="D")
    ax = get_ax(ax)
    ax.plot(dates, actual, label="actual")
    ax.plot(dates, expected, ls="--", label="model")
    if calibration_end is not None:
        end = parse_timestamp(calibration_end, "calibration_end")
        ax.axvline(end, color="grey", ls=":", label=label("Calibration end", "校准期结束"))
    from matplotlib import dates as mdates

    locator = ax.xaxis.get_major_locator()
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    return finish(
        ax,
        xlabel=("Date (day)", "日期"),
        ylabel=("Cumulative repeat transactions (count)", "累计重复交易数"),
        title=("Tracking cumulative repeat transactions", "累计重复交易跟踪"),
        legend="best",
    )
