"""Lazy matplotlib access shared by every plot function ([plot] extra)."""

from __future__ import annotations

from typing import Any

from customer_value.errors import MissingExtraError

_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
)


def pyplot() -> Any:
    """Import and return ``matplotlib.pyplot``, or raise a clear error naming the extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised by a test that hides matplotlib
        raise MissingExtraError(
            'plotting needs matplotlib: install the extra with pip install "customer-value[plot]"'
        ) from exc
    return plt


def get_ax(ax: Any = None, *, figsize: tuple[float, float] = (6.4, 4.8)) -> Any:
    """Return ``ax`` or a new Axes on a new figure."""
    if ax is not None:
        return ax
    plt = pyplot()
    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def cjk_font() -> str | None:
    """Name of an installed font that renders Chinese, or None."""
    pyplot()
    from matplotlib import font_manager

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


def apply_cjk_font(ax: Any) -> None:
    """Use the CJK font for the Axes' text when one is installed (no-op otherwise)."""
    font = cjk_font()
    if font is None:
        return
    for text in [
        ax.title,
        ax.xaxis.label,
        ax.yaxis.label,
        *ax.get_xticklabels(),
        *ax.get_yticklabels(),
    ]:
        text.set_fontfamily(font)
