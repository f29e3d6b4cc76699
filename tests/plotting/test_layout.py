"""Figures fit to print (issue 19, item 5): every gallery plot, rendered with Agg, keeps
every text inside the figure, labels every axis and uses the house style.

The cases are the ``.. plot::`` blocks of ``docs/gallery.rst``, so the gallery itself is
what is checked, and a plot function missing from the gallery fails the coverage test.
Each case runs twice: with the CJK font when one is installed (bilingual labels, wider)
and with the English-only fallback.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from customer_value import plotting  # noqa: E402
from customer_value.plotting import _base  # noqa: E402

GALLERY = Path(__file__).parents[2] / "docs" / "gallery.rst"
TOLERANCE = 1.0  # pixels: anti-aliasing may touch the edge


def gallery_blocks() -> list[tuple[str, str]]:
    """(section title, code) of each ``.. plot::`` directive in the gallery."""
    text = GALLERY.read_text(encoding="utf-8")
    blocks = []
    pattern = r"^([^\n]+)\n~+\n\n\.\. plot::\n\n((?:    [^\n]*\n|\n)+)"
    for match in re.finditer(pattern, text, flags=re.MULTILINE):
        blocks.append((match.group(1).strip(), textwrap.dedent(match.group(2))))
    return blocks


BLOCKS = gallery_blocks()


def tick_label_ids(fig) -> set[int]:
    ids = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ids.update({id(tick.label1), id(tick.label2)})
    return ids


def outside(fig) -> list[str]:
    """Texts (and the figure's tight box, which holds the drawn tick labels) that stick out."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    problems = []
    ticks = tick_label_ids(fig)
    for text in fig.findobj(Text):
        if id(text) in ticks or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if (
            box.x0 < -TOLERANCE
            or box.y0 < -TOLERANCE
            or box.x1 > width + TOLERANCE
            or box.y1 > height + TOLERANCE
        ):
            problems.append(f"{text.get_text()!r} at {box.bounds}")
    tight = fig.get_tightbbox(renderer)  # inches; covers the tick labels actually drawn
    w_in, h_in = fig.get_size_inches()
    slack = TOLERANCE / fig.dpi
    if tight.x0 < -slack or tight.y0 < -slack or tight.x1 > w_in + slack or tight.y1 > h_in + slack:
        problems.append(f"drawn content {tight.bounds} exceeds the figure (0, 0, {w_in}, {h_in})")
    return problems


@pytest.fixture(params=["cjk-if-installed", "english-fallback"])
def font_mode(request, monkeypatch):
    if request.param == "english-fallback":
        monkeypatch.setattr(_base, "cjk_font", lambda: None)
    return request.param


def run_block(code: str) -> list:
    plt.close("all")
    exec(compile(code, str(GALLERY), "exec"), {"__name__": "gallery"})
    return [plt.figure(n) for n in plt.get_fignums()]


@pytest.mark.slow
@pytest.mark.parametrize(("title", "code"), BLOCKS, ids=[t for t, _ in BLOCKS])
def test_gallery_plot_fits_its_figure(title, code, font_mode):
    figures = run_block(code)
    assert figures, f"{title}: the gallery block drew nothing"
    for fig in figures:
        assert fig.get_layout_engine() is not None, "constrained layout expected"
        assert outside(fig) == [], title
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                assert ax.get_ylabel() or ax.get_xlabel(), f"{title}: colorbar without a label"
                continue
            assert ax.get_ylabel(), f"{title}: y axis without a label"
            if ax.xaxis.get_label_position() != "top" and ax.get_xlabel() == "":
                # a twin y axis shares the x axis of its host
                assert any(other.get_xlabel() for other in fig.axes if other is not ax), title
            assert ax.title.get_fontsize() in (_base.TITLE_SIZE, 12.0)
    plt.close("all")


def test_gallery_covers_every_plot_function():
    drawn = set()
    for _, code in BLOCKS:
        drawn.update(re.findall(r"\b(plot_[a-z_]+)\(", code))
    public = {name for name in plotting.__all__ if name.startswith("plot_")}
    assert public <= drawn, f"not in docs/gallery.rst: {sorted(public - drawn)}"


def test_chinese_labels_use_an_installed_cjk_font_or_fall_back_to_english(monkeypatch):
    import pandas as pd

    from customer_value.plotting import plot_tier_report

    report = pd.DataFrame({"members": [3, 1], "points": [10, 20]}, index=["base", "gold"])
    font = _base.cjk_font()
    ax = plot_tier_report(report)
    if font is None:
        assert ax.get_ylabel() == "Members (count)"
    else:
        assert ax.get_ylabel() == "Members (count) / 会员数"
        assert ax.yaxis.label.get_fontfamily()[0] == font
        assert ax.get_xticklabels()[0].get_fontfamily()[0] == font
    monkeypatch.setattr(_base, "cjk_font", lambda: None)
    fallback = plot_tier_report(report)
    assert fallback.get_ylabel() == "Members (count)"  # no empty boxes without a CJK font
    plt.close("all")


def test_clipping_check_catches_a_clipped_label():
    fig = plt.figure(figsize=(2, 2))  # no layout engine: a long label runs off the figure
    ax = fig.add_subplot()
    ax.set_yticks([0, 1], ["a segment name far too long for this figure", "b"])
    ax.set_xlabel("x (unit)")
    assert outside(fig)
    plt.close(fig)
