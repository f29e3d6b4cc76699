"""sBG survival-curve plot: rendered with Agg, checked for content."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from customer_value.clv import ShiftedBetaGeoModel, cohort_from_survivors
from customer_value.errors import InvalidDataError, NotFittedError

matplotlib = pytest.importorskip("matplotlib", reason="plots need the [plot] extra")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot", reason="plots need the [plot] extra")

from customer_value.plotting._value import plot_survival_curve  # noqa: E402

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def _rendered_is_not_blank(ax: Any) -> None:
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    buffer.seek(0)
    image = plt.imread(buffer)
    assert image.std() > 0.01
    plt.close(ax.figure)


def test_survival_curve_with_actuals() -> None:
    model = ShiftedBetaGeoModel().fit(cohort_from_survivors(REGULAR))
    ax = plot_survival_curve(model, REGULAR, periods=12)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"model", "actual"}
    np.testing.assert_allclose(lines["model"].get_xdata(), np.arange(13))
    np.testing.assert_allclose(
        lines["model"].get_ydata(), 100 * model.survival(range(13)).to_numpy()
    )
    np.testing.assert_allclose(lines["actual"].get_ydata(), np.array(REGULAR) / 10)
    _rendered_is_not_blank(ax)


def test_survival_curve_on_given_axes() -> None:
    _, given = plt.subplots()
    model = ShiftedBetaGeoModel.from_params(alpha=0.668, beta=3.806)
    ax = plot_survival_curve(model, ax=given)
    assert ax is given
    assert len(ax.get_lines()) == 1
    _rendered_is_not_blank(ax)


def test_bad_input() -> None:
    with pytest.raises(NotFittedError):
        plot_survival_curve(ShiftedBetaGeoModel())
    with pytest.raises(InvalidDataError, match="ShiftedBetaGeoModel"):
        plot_survival_curve(object())
    model = ShiftedBetaGeoModel.from_params(alpha=0.7, beta=1.2)
    with pytest.raises(InvalidDataError, match="cohort size"):
        plot_survival_curve(model, [0, 0])
    with pytest.raises(InvalidDataError, match="periods must be >= 1"):
        plot_survival_curve(model, periods=0)
