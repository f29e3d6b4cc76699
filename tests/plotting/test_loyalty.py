"""Loyalty plots render real images with the expected artists."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.loyalty import Ledger, MemoryStore, Program, points_flow, tier_report

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")

from customer_value.plotting._loyalty import plot_points_flow, plot_tier_report  # noqa: E402


def ledger() -> Ledger:
    program = Program.from_dict(
        {
            "name": "p",
            "base_rate": "1",
            "currency_decimals": 0,
            "expiry": {"months": 1},
            "tiers": {"basis": "points", "levels": [{"name": "silver", "threshold": 100}]},
        }
    )
    lg = Ledger(program, MemoryStore())
    purchases = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "timestamp": pd.to_datetime(["2024-01-05", "2024-01-05"]),
            "subtotal": [300, 50],
        }
    )
    lg.import_transactions(purchases, idempotency_key="jan")
    lg.adjust("b", 10, at="2024-02-05", idempotency_key="b1")
    lg.redeem("a", 120, at="2024-01-20", idempotency_key="r1")
    lg.expire_due("2024-03-01")
    return lg


def not_blank(fig: object) -> bool:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # type: ignore[attr-defined]
    buf.seek(0)
    image = matplotlib.image.imread(buf)
    return bool(image.size) and float(np.ptp(image[..., :3])) > 0


def test_points_flow_plot() -> None:
    flow = points_flow(ledger())
    ax = plot_points_flow(flow)
    assert len(ax.patches) == 5 * len(flow)
    heights = [p.get_height() for p in ax.patches]
    assert max(heights) == 350
    assert min(heights) < 0
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(p) for p in flow.index]
    assert ax.get_legend() is not None
    assert not_blank(ax.figure)
    matplotlib.pyplot.close("all")


def test_tier_report_plot_on_given_axes() -> None:
    fig, given = matplotlib.pyplot.subplots()
    ax = plot_tier_report(tier_report(ledger(), at="2024-01-31"), ax=given)
    assert ax is given
    assert [p.get_height() for p in ax.patches] == [1.0, 1.0]
    assert not_blank(fig)
    matplotlib.pyplot.close("all")


def test_bad_input() -> None:
    with pytest.raises(InvalidDataError, match="missing column"):
        plot_points_flow(pd.DataFrame({"earned": [1]}))
    with pytest.raises(InvalidDataError, match="empty"):
        plot_tier_report(pd.DataFrame({"members": [], "points": []}))
