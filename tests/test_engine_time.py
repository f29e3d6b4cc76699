"""Engine period numbering (``_engine_time``) equals pandas' own, for every kind of alias.

The engine paths number periods with integer arithmetic written once in narwhals
expressions; here the same expressions run on pandas and are compared with
``_time.period_numbers`` (pandas ordinals) and ``PeriodIndex.start_time``.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value._engine_time import period_plan, start_us_of
from customer_value._time import period_numbers
from customer_value.errors import InvalidDataError

ALIASES = ["D", "W", "W-SUN", "W-MON", "W-WED", "W-SAT", "M", "Q", "Q-JAN", "Q-NOV", "Y",
           "Y-JUN", "h", "15min", "2D", "7D", "s"]  # fmt: skip
US_MIN, US_MAX = -9_000_000_000_000_000 // 1000, 9_000_000_000_000_000 // 1000


def _numbers(alias: str, us: np.ndarray) -> np.ndarray:
    frame = nw.from_native(pd.DataFrame({"us": us}))
    return period_plan(alias).add_number(frame, "us", "p")["p"].to_numpy()


@pytest.mark.parametrize("alias", ALIASES)
def test_period_numbers_equal_pandas(alias):
    rng = np.random.default_rng(7)
    day = 86_400_000_000
    us = np.concatenate(
        [
            rng.integers(US_MIN, US_MAX, 20_000),
            np.arange(-800, 800) * day,  # every day around the epoch, and the instant before
            np.arange(-800, 800) * day - 1,
        ]
    )
    np.testing.assert_array_equal(_numbers(alias, us), period_numbers(us * 1000, alias))


@pytest.mark.parametrize("alias", ["D", "W", "W-MON", "M", "Q", "Q-JAN", "Y", "Y-JUN"])
def test_period_starts_equal_pandas(alias):
    numbers = np.arange(-200, 200)
    starts = pd.PeriodIndex(pd.arrays.PeriodArray(numbers, dtype=pd.PeriodDtype(alias)))
    frame = nw.from_native(pd.DataFrame({"p": numbers}))
    ours = period_plan(alias).add_start_us(frame, "p", "s")["s"].to_numpy()
    np.testing.assert_array_equal(ours * 1000, starts.start_time.as_unit("ns").asi8)
    assert start_us_of(period_plan(alias), 17) * 1000 == starts.start_time.as_unit("ns").asi8[217]


@given(st.integers(US_MIN, US_MAX), st.sampled_from(["M", "Q-JAN", "W-THU", "Y"]))
def test_period_numbers_at_any_instant(us, alias):
    value = np.array([us], dtype=np.int64)
    assert _numbers(alias, value)[0] == period_numbers(value * 1000, alias)[0]


@pytest.mark.parametrize("alias", ["B", "BM", "nonsense"])
def test_unsupported_aliases_raise_a_typed_error(alias):
    with pytest.raises(InvalidDataError, match=rf"{alias}"):
        period_plan(alias)
