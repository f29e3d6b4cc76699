"""Lazy matplotlib access and the one style shared by every plot function ([plot] extra).

Every plot function draws through :func:`get_ax` (a new figure uses constrained layout
and the house style) and ends with :func:`finish` (font sizes, and a CJK font on every
text when one is installed), so figures look alike and fit their own labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from customer_value.errors import MissingExtraError

_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
)

_CJK_FILES = ("notosanscjk", "notoserifcjk", "sourcehansans", "wqy-", "simhei", "msyh")

#: Okabe & Ito (2008) colour-blind safe palette, used as the colour cycle of every plot.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

#: Font sizes (points) of the house style.
TITLE_SIZE = 11.0
LABEL_SIZE = 9.5
TICK_SIZE = 8.5
LEGEND_SIZE = 8.0


def pyplot() -> Any:
    """Import and return ``matplotlib.pyplot``, or raise a clear error naming the extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised by a test that hides matplotlib
        raise MissingExtraError(
            'plotting needs matplotlib: install the extra with pip install "customer-value[plot]"'
        ) from exc
    return plt


def style() -> dict[str, Any]:
    """The rcParams of the house style (read when a figure and its Axes are created)."""
    from cycler import cycler

    return {
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.color": "#d9d9d9",
        "grid.linewidth": 0.6,
        "axes.titlesize": TITLE_SIZE,
        "axes.titleweight": "bold",
        "axes.labelsize": LABEL_SIZE,
        "xtick.labelsize": TICK_SIZE,
        "ytick.labelsize": TICK_SIZE,
        "legend.fontsize": LEGEND_SIZE,
        "legend.frameon": False,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "image.cmap": "Blues",
    }


def get_ax(ax: Any = None, *, figsize: tuple[float, float] = (6.4, 4.8)) -> Any:
    """Return ``ax``, or a new Axes on a new constrained-layout figure in the house style."""
    if ax is not None:
        return ax
    plt = pyplot()
    with plt.rc_context(style()):
        fig = plt.figure(figsize=figsize, layout="constrained")
        return fig.add_subplot()


def row_axes(
    ax: Any,
    labels: Sequence[str],
    *,
    width: float,
    per_row: float,
    base: float,
    fontsize: float | None = None,
    top_down: bool = False,
) -> tuple[Any, Any]:
    """Axes for one horizontal row per label (bars or intervals), and the rows' y positions.

    A new figure is ``width`` wide and ``base + per_row x rows`` tall; the y ticks carry
    the labels, horizontal grid lines are off, and with ``top_down`` the first label is
    at the top.
    """
    ax = get_ax(ax, figsize=(width, base + per_row * len(labels)))
    y = np.arange(len(labels))
    ax.set_yticks(y)
    ax.set_yticklabels(list(labels), fontsize=fontsize)
    ax.grid(False, axis="y")
    if top_down:
        ax.invert_yaxis()
    return ax, y


@cache
def cjk_font() -> str | None:
    """Name of an installed font that renders Chinese, or None (looked up once)."""
    pyplot()
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed.intersection(_CJK_FONTS):
        # matplotlib's font cache predates a font installed later (apt-get install
        # fonts-noto-cjk after the first plot): register the system's CJK files directly.
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower() for key in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # pragma: no cover - broken file
                    continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _CJK_FONTS:
        if name in installed:
            return name
    return None


def label(english: str, chinese: str | None) -> str:
    """``"High value / 高价值客户"`` when a CJK font is available, else the English text.

    Falling back avoids the empty boxes matplotlib draws for missing glyphs.
    """
    if chinese and cjk_font() is not None:
        return f"{english} / {chinese}"
    return english


def font_family() -> list[str] | None:
    """Font list for every text: the CJK font first (it has Latin glyphs), DejaVu as fallback."""
    font = cjk_font()
    return None if font is None else [font, "DejaVu Sans"]


Text = tuple[str, str | None]  # (English, Chinese) text, see label()


def finish(
    ax: Any,
    *,
    xlabel: Text | None = None,
    ylabel: Text | None = None,
    title: Text | str | None = None,
    legend: str | None = None,
) -> Any:
    """Label ``ax``, then apply the house font sizes and the CJK font to every text.

    ``xlabel``, ``ylabel`` and ``title`` are ``(English, Chinese)`` pairs passed through
    :func:`label` (a title may also be a finished string); ``legend`` is the legend's
    location. Title, axis labels, tick labels (including ticks created later, through
    ``tick_params``) and legends get the style's sizes; with a CJK font installed every
    text of the figure uses it. Returns ``ax``.
    """
    from matplotlib.text import Text as MplText

    if xlabel is not None:
        ax.set_xlabel(label(*xlabel))
    if ylabel is not None:
        ax.set_ylabel(label(*ylabel))
    if title is not None:
        ax.set_title(title if isinstance(title, str) else label(*title))
    if legend is not None:
        ax.legend(loc=legend)

    family = font_family()
    fig = ax.figure
    for axes in fig.axes:
        params: dict[str, Any] = {"labelsize": TICK_SIZE}
        if family is not None:
            params["labelfontfamily"] = family[0]
        axes.tick_params(which="both", **params)
        axes.title.set_fontsize(TITLE_SIZE)
        axes.title.set_fontweight("bold")
        axes.xaxis.label.set_fontsize(LABEL_SIZE)
        axes.yaxis.label.set_fontsize(LABEL_SIZE)
        box = axes.get_legend()
        if box is not None:
            for text in box.get_texts():
                text.set_fontsize(LEGEND_SIZE)
    if family is not None:
        for text in fig.findobj(MplText):
            text.set_fontfamily(family)
    return ax


def apply_cjk_font(ax: Any) -> None:
    """Use the CJK font for every text of the figure when one is installed (see :func:`finish`)."""
    finish(ax)
