"""Churn plots render with Agg, are not blank, and hold the expected artists."""

from __future__ import annotations

import io

import numpy as np
import pytest

from customer_value.churn import cohort_retention, evaluate_churn, kaplan_meier
from customer_value.errors import InvalidDataError

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot", reason="plots need the [plot] extra")

from customer_value.plotting import _churn as churn_plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def not_blank(ax) -> bool:
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    buffer.seek(0)
    image = plt.imread(buffer)
    return image.shape[0] > 50 and float(image[..., :3].std()) > 0.01


def test_cohort_heatmap(cdnow_transactions):
    matrix = cohort_retention(cdnow_transactions)
    ax = churn_plots.plot_cohort_retention(matrix)
    assert len(ax.images) == 1
    shown = ax.images[0].get_array()
    assert shown.shape == matrix.shape
    assert int(shown.mask.sum()) == int(matrix.isna().to_numpy().sum())  # blanks stay blank
    assert len(ax.texts) == int(matrix.notna().to_numpy().sum())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1997-01", "1997-02", "1997-03"]
    assert not_blank(ax)


def test_revenue_heatmap_without_annotation(cdnow_transactions):
    matrix = cohort_retention(cdnow_transactions, measure="revenue", monetary_value_col="amount")
    _fig, ax = plt.subplots()
    out = churn_plots.plot_cohort_retention(matrix, annotate=False, ax=ax)
    assert out is ax
    assert len(ax.texts) == 0
    assert "Revenue retained" in ax.get_title()


def test_survival_curve_with_band():
    km = kaplan_meier([6, 6, 6, 6, 7, 9, 10, 10, 13, 16], [1, 1, 1, 0, 1, 0, 0, 1, 1, 1])
    ax = churn_plots.plot_kaplan_meier(km, name="group A")
    churn_plots.plot_kaplan_meier(km, name="no band", band=False, ax=ax)
    assert len(ax.lines) == 2
    assert len(ax.collections) == 1  # one band
    np.testing.assert_allclose(ax.lines[0].get_ydata(), km["survival"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["group A", "no band"]
    assert not_blank(ax)


def test_gain_and_lift_charts():
    rng = np.random.default_rng(1)
    s = rng.random(500)
    ev = evaluate_churn(rng.random(500) < s, s)
    ax = churn_plots.plot_churn_lift(ev)
    x, y = ax.lines[0].get_data()
    assert x[0] == 0
    assert y[-1] == pytest.approx(1.0)
    assert len(x) == 11
    assert not_blank(ax)
    ax = churn_plots.plot_churn_lift(ev.lift, kind="lift")
    assert len(ax.patches) == 10
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, ev.lift["lift"])
    assert not_blank(ax)


def test_bad_input():
    with pytest.raises(InvalidDataError, match="kind must be one of 'gain', 'lift'; got 'roc'"):
        churn_plots.plot_churn_lift(evaluate_churn([1, 0], [0.9, 0.1]), kind="roc")
    with pytest.raises(InvalidDataError, match="km is missing column"):
        churn_plots.plot_kaplan_meier(kaplan_meier([1, 2], [1, 0])[["survival"]])
    with pytest.raises(InvalidDataError, match="non-empty DataFrame"):
        churn_plots.plot_cohort_retention([[1.0]])
