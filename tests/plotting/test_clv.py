"""Plots of the purchase-frequency models: rendered with Agg, checked for content."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

from customer_value.clv import BetaGeoModel, ParetoNBDModel
from customer_value.data import calibration_holdout_split, summarize_transactions
from customer_value.errors import InvalidDataError, NotFittedError

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot", reason="plots need the [plot] extra")

from customer_value.plotting import (  # noqa: E402
    plot_calibration_purchases_vs_holdout_purchases,
    plot_cumulative_transactions,
    plot_frequency_recency_matrix,
    plot_period_transactions,
    plot_probability_alive_matrix,
)


def _rendered_is_not_blank(ax: Any) -> None:
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    buffer.seek(0)
    image = plt.imread(buffer)
    assert image.std() > 0.01  # more than a uniform background
    plt.close(ax.figure)


@pytest.fixture(scope="module")
def split(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return calibration_holdout_split(
        cdnow_transactions,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="W",
    )


@pytest.fixture(scope="module")
def model(split: pd.DataFrame) -> BetaGeoModel:
    cal = split[["frequency_cal", "recency_cal", "T_cal"]]
    return BetaGeoModel().fit(cal.rename(columns=lambda c: c.removesuffix("_cal")))


@pytest.mark.parametrize("plot", [plot_frequency_recency_matrix, plot_probability_alive_matrix])
def test_matrices(model: BetaGeoModel, plot: Any) -> None:
    ax = plot(model, max_frequency=10, T=39.0)
    images = ax.get_images()
    assert len(images) == 1
    data = np.asarray(images[0].get_array())
    assert data.shape == (11, 40)
    # frequency 0 with recency > 0 is impossible: left blank
    assert np.ma.is_masked(data[0, 1]) or np.isnan(data[0, 1])
    values = data[1:].filled(np.nan) if np.ma.isMaskedArray(data) else data[1:]
    assert np.all(np.isfinite(values))
    _rendered_is_not_blank(ax)


def test_probability_alive_matrix_values_match_model(model: BetaGeoModel) -> None:
    ax = plot_probability_alive_matrix(model, max_frequency=3, T=20.0)
    data = np.asarray(ax.get_images()[0].get_array())
    expected = model.probability_alive({"frequency": [2.0], "recency": [5.0], "T": [20.0]})
    assert data[2, 5] == pytest.approx(float(expected.iloc[0]))
    plt.close(ax.figure)


def test_calibration_vs_holdout(model: BetaGeoModel, split: pd.DataFrame) -> None:
    _fig, ax = plt.subplots()
    out = plot_calibration_purchases_vs_holdout_purchases(model, split, n=5, ax=ax)
    assert out is ax
    actual, predicted = ax.get_lines()
    assert actual.get_label() == "actual"
    np.testing.assert_allclose(
        actual.get_ydata()[0], split.loc[split["frequency_cal"] == 0, "frequency_holdout"].mean()
    )
    assert len(predicted.get_xdata()) == 6
    assert ax.get_xticklabels()[-1].get_text() == "5+"
    _rendered_is_not_blank(ax)
    with pytest.raises(InvalidDataError, match="missing column"):
        plot_calibration_purchases_vs_holdout_purchases(model, split.drop(columns="T_cal"))


def test_period_transactions_bars_sum_to_customers(model: BetaGeoModel) -> None:
    ax = plot_period_transactions(model, max_frequency=6)
    heights = np.array([p.get_height() for p in ax.patches])
    actual, expected = heights[:7], heights[7:]
    assert actual.sum() == pytest.approx(2357)
    assert expected.sum() == pytest.approx(2357, rel=1e-6)
    # the model reproduces the share of customers without repeat purchases closely
    assert expected[0] == pytest.approx(actual[0], rel=0.05)
    _rendered_is_not_blank(ax)


def test_cumulative_transactions(model: BetaGeoModel, cdnow_transactions: pd.DataFrame) -> None:
    ax = plot_cumulative_transactions(model, cdnow_transactions, calibration_end="1997-09-30")
    actual, expected = ax.get_lines()[:2]
    dates = pd.to_datetime(actual.get_xdata())
    at_end = int(np.flatnonzero(dates == pd.Timestamp("1997-09-30"))[0])
    summary = summarize_transactions(
        cdnow_transactions, observation_end="1997-09-30", time_unit="W", after_end="drop"
    )
    # actual repeat purchases up to the calibration end = the summary's frequencies
    assert actual.get_ydata()[at_end] == summary["frequency"].sum()
    # the model curve there = sum of E[X(T_i)] over the customers' ages
    ages = summary["T"].to_numpy()
    reference = model.expected_purchases_new_customer(ages).sum()
    assert expected.get_ydata()[at_end] == pytest.approx(reference, rel=1e-9)
    assert np.all(np.diff(expected.get_ydata()) >= -1e-9)
    _rendered_is_not_blank(ax)


def test_bad_models_are_rejected() -> None:
    with pytest.raises(InvalidDataError, match="purchase-frequency model"):
        plot_period_transactions(object())
    with pytest.raises(NotFittedError):
        plot_frequency_recency_matrix(ParetoNBDModel())
    no_unit = BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    with pytest.raises(InvalidDataError, match="no time_unit"):
        plot_cumulative_transactions(
            no_unit, pd.DataFrame({"customer_id": [1], "date": ["2020-01-01"]})
        )


def test_cumulative_transactions_reads_dates_like_the_data_layer(cdnow_transactions) -> None:
    """Issue 17: the plot parses dates with the library's one parser."""
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    tx = cdnow_transactions.iloc[:200]
    numbers = tx.assign(date=tx["date"].dt.strftime("%Y%m%d").astype(int))
    with pytest.raises(InvalidDataError, match=r"column 'date' holds a number.*row 0"):
        plot_cumulative_transactions(model, numbers)
    zulu = tx.assign(date=tx["date"].dt.strftime("%Y-%m-%dT13:00:00Z"))
    plain = plot_cumulative_transactions(model, tx)
    shifted = plot_cumulative_transactions(model, zulu)
    np.testing.assert_array_equal(
        plain.get_lines()[0].get_ydata(), shifted.get_lines()[0].get_ydata()
    )
    with pytest.raises(InvalidDataError, match="calibration_end is a number"):
        plot_cumulative_transactions(model, tx, calibration_end=19970930)
    plt.close("all")
