"""Reverse coding and scale scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError
from customer_value.survey import reverse_code, scale_scores


def test_reverse_code_maps_scale_onto_itself() -> None:
    np.testing.assert_array_equal(reverse_code([1, 2, 3, 4, 5]), [5, 4, 3, 2, 1])
    np.testing.assert_array_equal(reverse_code([0, 3, 10], scale=(0, 10)), [10, 7, 0])
    assert reverse_code(2) == 4.0
    out = reverse_code(pd.Series([1, np.nan], index=["a", "b"], name="q"))
    assert list(out.index) == ["a", "b"]
    assert out.name == "q"
    assert out["a"] == 5
    assert np.isnan(out["b"])
    frame = reverse_code(pd.DataFrame({"x": [1, 2], "y": [5, 5]}))
    assert frame.to_dict("list") == {"x": [5.0, 4.0], "y": [1.0, 1.0]}


@given(
    st.tuples(st.integers(-5, 5), st.integers(1, 10)).flatmap(
        lambda lw: st.tuples(
            st.just((lw[0], lw[0] + lw[1])),
            st.lists(st.integers(lw[0], lw[0] + lw[1]), min_size=1, max_size=50),
        )
    )
)
def test_reverse_twice_is_identity(case: tuple[tuple[int, int], list[int]]) -> None:
    scale, values = case
    once = reverse_code(values, scale=scale)
    assert np.all((once >= scale[0]) & (once <= scale[1]))
    np.testing.assert_array_equal(reverse_code(once, scale=scale), values)


def test_scale_scores_mean_sum_and_missing() -> None:
    df = pd.DataFrame(
        {"q1": [5, 4, np.nan, np.nan], "q2": [4, 4, 2, np.nan], "q3": [1, 2, 4, np.nan]},
        index=["r1", "r2", "r3", "r4"],
    )
    mean = scale_scores(df, ["q1", "q2", "q3"], reverse=["q3"])
    # r1: (5 + 4 + 5) / 3; r2: (4 + 4 + 4) / 3; r3: (2 + 2) / 2; r4: nothing answered
    assert mean["r1"] == pytest.approx(14 / 3)
    assert mean["r2"] == pytest.approx(4.0)
    assert mean["r3"] == pytest.approx(2.0)
    assert np.isnan(mean["r4"])
    total = scale_scores(df, ["q1", "q2", "q3"], reverse=["q3"], method="sum")
    assert total["r1"] == pytest.approx(14.0)
    assert total["r3"] == pytest.approx(6.0)  # prorated: mean 2 x 3 items
    strict = scale_scores(df, ["q1", "q2", "q3"], min_answered=3)
    assert np.isnan(strict["r3"])
    assert list(strict.index) == ["r1", "r2", "r3", "r4"]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: reverse_code([1, 6]), r"scale \[1, 5\]; row 1 has value=6\.0"),
        (lambda: reverse_code(["a"]), "must be numeric; row 0 has value='a'"),
        (lambda: reverse_code(0), r"scale \[1, 5\]; row 0 has value=0\.0"),
        (
            lambda: scale_scores(pd.DataFrame({"a": [1, 9]}), ["a"]),
            r"'a' must lie on the scale \[1, 5\]; row 1 has a=9\.0",
        ),
        (lambda: scale_scores(pd.DataFrame({"a": [1]}), ["b"]), "missing column"),
        (
            lambda: scale_scores(pd.DataFrame({"a": [1]}), ["a"], reverse=["b"]),
            "reverse names item",
        ),
        (lambda: scale_scores(pd.DataFrame({"a": [1]}), ["a"], method="median"), "method must"),
        (
            lambda: scale_scores(pd.DataFrame({"a": [1], "b": [2]}), ["a", "b"], min_answered=1.5),
            "min_answered must be a whole number, got 1.5",
        ),
        (
            lambda: scale_scores(pd.DataFrame({"a": [1]}), ["a"], min_answered=2),
            "exceeds the number of items",
        ),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        call()  # type: ignore[operator]


def test_reverse_code_keeps_the_shape_of_a_table() -> None:
    out = reverse_code(np.array([[1, 2], [4, np.nan]]))
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out, [[5, 4], [2, np.nan]])
    with pytest.raises(InvalidDataError, match=r"row 1 has value=6\.0"):
        reverse_code([[1, 6]])
