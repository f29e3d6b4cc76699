"""Survey plots render with the Agg backend to a non-blank PNG with the expected artists."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")

from customer_value.errors import InvalidDataError  # noqa: E402
from customer_value.plotting._survey import (  # noqa: E402
    plot_kano_better_worse,
    plot_nps_distribution,
)
from customer_value.survey import kano_summary  # noqa: E402


def render(ax: object) -> np.ndarray:
    import matplotlib.pyplot as plt

    fig = ax.figure  # type: ignore[attr-defined]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    plt.close(fig)
    buf.seek(0)
    return plt.imread(buf)


def not_blank(img: np.ndarray) -> bool:
    return float(img[..., :3].std()) > 0.01


def test_nps_distribution() -> None:
    rng = np.random.default_rng(0)
    ratings = pd.Series(rng.integers(0, 11, 300).astype(float))
    ratings[::50] = np.nan
    ax = plot_nps_distribution(ratings)
    assert len(ax.patches) == 11
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == ratings.notna().sum()
    colours = {tuple(np.round(p.get_facecolor(), 3)) for p in ax.patches}
    assert len(colours) == 3  # detractor, passive, promoter
    assert ax.patches[0].get_facecolor() != ax.patches[9].get_facecolor()
    assert ax.get_legend() is not None
    assert ax.get_title().startswith("NPS")
    assert not_blank(render(ax))


def test_nps_distribution_uses_given_axes_and_validates() -> None:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert plot_nps_distribution([10, 0], ax=ax) is ax
    plt.close(ax.figure)
    with pytest.raises(InvalidDataError, match=r"row 1 has rating=11\.0"):
        plot_nps_distribution([10, 11])


def test_kano_better_worse() -> None:
    answers = pd.DataFrame(
        {
            "feature": ["wifi"] * 4 + ["gift"] * 4 + ["app"] * 4,
            "functional": ["neutral"] * 3 + ["like"] + ["like"] * 3 + ["neutral"] + ["like"] * 4,
            "dysfunctional": ["dislike"] * 4 + ["neutral"] * 4 + ["dislike"] * 4,
        }
    )
    summary = kano_summary(answers)
    ax = plot_kano_better_worse(summary)
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == 3
    np.testing.assert_allclose(offsets[:, 0], np.abs(summary["worse"]))
    np.testing.assert_allclose(offsets[:, 1], summary["better"])
    assert len(ax.texts) == 4 + 3  # quadrant names + feature labels
    assert len(ax.lines) == 2
    assert not_blank(render(ax))


def test_kano_plot_bad_input() -> None:
    with pytest.raises(InvalidDataError, match="missing column"):
        plot_kano_better_worse(pd.DataFrame({"better": [0.5]}))
    with pytest.raises(InvalidDataError, match="must be the DataFrame"):
        plot_kano_better_worse([0.5])  # type: ignore[arg-type]
