"""Calendar period helpers: fast ordinals equal pandas' own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value.churn._periods import check_period, period_index, period_numbers
from customer_value.errors import InvalidDataError


@pytest.mark.parametrize("alias", ["D", "W", "M", "Q", "Y", "W-WED", "2D", "h"])
def test_period_numbers_match_pandas(alias: str) -> None:
    rng = np.random.default_rng(0)
    ns = rng.integers(-(10**18), 2 * 10**18, 5000)
    ns = np.concatenate(
        [ns, pd.DatetimeIndex([pd.Timestamp("1970-01-01"), pd.Timestamp("1969-12-31 23:59")]).asi8]
    )
    dates = pd.DatetimeIndex(ns.view("datetime64[ns]"))
    expected = dates.to_period(alias).asi8
    np.testing.assert_array_equal(period_numbers(ns, alias), expected)
    assert period_index(expected[:3], alias).equals(dates[:3].to_period(alias))


@pytest.mark.parametrize("alias", ["", "fortnight", "M-NOPE", 3, None])
def test_unknown_period(alias: object) -> None:
    with pytest.raises(InvalidDataError, match="period"):
        check_period(alias)


@pytest.mark.parametrize("alias", ["2M", "2D", "3h"])
def test_multiple_periods_rejected(alias: str) -> None:
    # pandas numbers "2M" periods by month: a multiple would silently behave as "M"
    with pytest.raises(InvalidDataError, match=f"period '{alias}' is a multiple of a period"):
        check_period(alias)


def test_multiple_period_rejected_by_public_functions() -> None:
    from customer_value.churn import cap_contacts, cohort_retention, kpi_table

    tx = {"customer_id": [1, 1], "date": ["2020-01-15", "2020-03-15"]}
    with pytest.raises(InvalidDataError, match="period '2M' is a multiple"):
        cohort_retention(tx, period="2M")
    with pytest.raises(InvalidDataError, match="cohort '2M' is a multiple"):
        cohort_retention(tx, cohort="2M")
    with pytest.raises(InvalidDataError, match="period '2M' is a multiple"):
        kpi_table(tx, period="2M")
    plan = {"customer_id": [1], "timestamp": ["2020-01-15"]}
    with pytest.raises(InvalidDataError, match="period '2W' is a multiple"):
        cap_contacts(plan, period="2W")
