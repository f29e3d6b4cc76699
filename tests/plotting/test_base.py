"""The shared plot set-up: one row per label, labels and title through finish (issue 17)."""

from __future__ import annotations

import pytest

from customer_value.plotting._base import finish, row_axes

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot", reason="plots need the [plot] extra")


@pytest.mark.parametrize("top_down", [False, True])
def test_row_axes_sizes_a_new_figure_and_labels_the_rows(top_down: bool) -> None:
    ax, y = row_axes(None, ["a", "b", "c"], width=7.0, per_row=0.5, base=1.0, top_down=top_down)
    try:
        assert tuple(ax.figure.get_size_inches()) == pytest.approx((7.0, 2.5))
        assert list(y) == [0, 1, 2]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
        assert not any(line.get_visible() for line in ax.yaxis.get_gridlines())
        assert bool(ax.yaxis_inverted()) is top_down
    finally:
        plt.close(ax.figure)


def test_row_axes_draws_on_a_given_axes() -> None:
    fig, given = plt.subplots(figsize=(3.0, 3.0))
    try:
        ax, _ = row_axes(given, ["x"], width=9.0, per_row=1.0, base=1.0, fontsize=8)
        assert ax is given
        assert tuple(fig.get_size_inches()) == pytest.approx((3.0, 3.0))
        assert ax.get_yticklabels()[0].get_fontsize() == 8
    finally:
        plt.close(fig)


def test_finish_sets_labels_title_and_legend() -> None:
    fig, ax = plt.subplots()
    try:
        ax.plot([0, 1], [0, 1], label="line")
        out = finish(ax, xlabel=("Days", None), ylabel=("Share", None), title="T", legend="best")
        assert out is ax
        assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("Days", "Share", "T")
        assert ax.get_legend() is not None
        finish(ax, title=("Only English", None))
        assert ax.get_title() == "Only English"
    finally:
        plt.close(fig)
