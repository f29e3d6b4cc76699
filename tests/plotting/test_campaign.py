"""Rule lift chart and uplift forest plot render, hold the expected artists, refuse bad input."""

from __future__ import annotations

import pytest

from customer_value.datasets import make_basket_transactions
from customer_value.errors import InvalidDataError
from customer_value.experiment import uplift_by_segment
from customer_value.recommend import association_rules

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot", reason="plots need the [plot] extra")

from customer_value.plotting import plot_rule_lift, plot_uplift_by_segment  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_rule_lift_bars_follow_lift():
    rules = association_rules(make_basket_transactions(300, seed=4), min_support=0.01)
    ax = plot_rule_lift(rules, top=6)
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx(rules["lift"].iloc[:6][::-1].tolist())
    assert "→" in ax.get_yticklabels()[-1].get_text()
    with pytest.raises(InvalidDataError, match="top"):
        plot_rule_lift(rules, top=0)
    with pytest.raises(InvalidDataError, match="non-empty"):
        plot_rule_lift(rules.iloc[:0])


def test_uplift_forest_shows_intervals_and_adjustment():
    data = {
        "group": ["treatment", "control"] * 20,
        "converted": [1, 0, 1, 1, 0, 0, 1, 0] * 5,
        "segment": ["a"] * 20 + ["b"] * 20,
    }
    table = uplift_by_segment(data, outcome_col="converted")
    ax = plot_uplift_by_segment(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a", "overall"]
    assert "Holm" in ax.get_title()
    interval_lines = [
        line
        for line in ax.lines
        if len(line.get_xdata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
    ]
    assert len(interval_lines) == 3
    with pytest.raises(InvalidDataError, match="missing"):
        plot_uplift_by_segment(table.drop(columns="ci_low"))
