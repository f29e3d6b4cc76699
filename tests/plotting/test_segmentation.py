"""Segmentation plots render with Agg, are not blank, and label in Chinese when they can."""

from __future__ import annotations

import io

import pytest

from customer_value.errors import InvalidDataError
from customer_value.segmentation import (
    CLASSIC_SEGMENTS,
    rfm_scores,
    segment_profile,
    value_loyalty_matrix,
)

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot", reason="plots need the [plot] extra")

from customer_value.plotting import _base  # noqa: E402
from customer_value.plotting import _segmentation as seg_plots  # noqa: E402


@pytest.fixture(scope="module")
def segmented(cdnow_transactions):
    return CLASSIC_SEGMENTS.assign(rfm_scores(cdnow_transactions))


@pytest.fixture(scope="module")
def matrix(cdnow_transactions):
    return value_loyalty_matrix(
        rfm_scores(cdnow_transactions),
        value_col="monetary",
        loyalty_col="frequency",
        loyalty_threshold=2,
    )


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


def test_segment_sizes_from_customers(segmented):
    ax = seg_plots.plot_segment_sizes(segmented)
    observed = segmented["segment"].value_counts()
    n = int((observed > 0).sum())
    assert len(ax.patches) == 2 * n  # customer and revenue bar per segment
    widths = [p.get_width() for p in ax.patches[:n]]
    assert sum(widths) == pytest.approx(1.0)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0].startswith("champions")
    assert not_blank(ax)


def test_segment_sizes_from_a_profile_without_revenue(segmented):
    _fig, ax = plt.subplots()
    table = segment_profile(segmented, revenue_col=None)
    out = seg_plots.plot_segment_sizes(table, ax=ax)
    assert out is ax
    assert len(ax.patches) == len(table)
    assert not_blank(ax)


def test_value_loyalty_scatter(matrix):
    ax = seg_plots.plot_value_loyalty_matrix(matrix, log=True)
    assert len(ax.collections) == 4
    sizes = sorted(len(c.get_offsets()) for c in ax.collections)
    assert sizes == sorted(matrix["segment"].value_counts().tolist())
    assert len(ax.lines) == 2  # the two threshold lines
    assert ax.get_yscale() == "log"
    assert not_blank(ax)


@pytest.mark.parametrize("font", [None, "DejaVu Sans"])
def test_chinese_labels_only_with_a_cjk_font(monkeypatch, segmented, matrix, font):
    monkeypatch.setattr(_base, "cjk_font", lambda: font)
    bars = seg_plots.plot_segment_sizes(segmented)
    ticks = [t.get_text() for t in bars.get_yticklabels()]
    scatter = seg_plots.plot_value_loyalty_matrix(matrix)
    legend = [t.get_text() for t in scatter.get_legend().get_texts()]
    if font is None:
        assert ticks[0] == "champions"
        assert legend[0].startswith("gold (")
    else:
        assert ticks[0] == "champions / 冠军客户"
        assert legend[0].startswith("gold / 黄金客户")


def test_bad_input(segmented):
    with pytest.raises(InvalidDataError, match="segment"):
        seg_plots.plot_segment_sizes(segmented.drop(columns=["segment"]))
    with pytest.raises(InvalidDataError, match="value_loyalty_matrix"):
        seg_plots.plot_value_loyalty_matrix(segmented)
