"""cohort_retention: a hand-computed case, a plain pandas oracle on CDNOW, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.churn import cohort_retention, kpi_table
from customer_value.errors import InvalidDataError

NAN = np.nan


def test_customers_hand_computed(small: pd.DataFrame) -> None:
    m = cohort_retention(small)
    # January: A buys at ages 0, 1, 3 and B at 0, 2.  February: C at 0, 1 and D at 0;
    # age 3 of February would be May, after the data: not observable.
    expected = [[1.0, 0.5, 0.5, 0.5], [1.0, 0.5, 0.0, NAN]]
    np.testing.assert_allclose(m.to_numpy(), expected)
    assert [str(p) for p in m.index] == ["2024-01", "2024-02"]
    assert m.columns.tolist() == [0, 1, 2, 3]
    assert m.attrs["cohort_size"] == [2, 2]


def test_revenue_hand_computed(small: pd.DataFrame) -> None:
    m = cohort_retention(small, measure="revenue", monetary_value_col="amount")
    # January: 40 at age 0, then 10, 10, 20.  February: 20, then 4, 0.
    np.testing.assert_allclose(m.to_numpy(), [[1.0, 0.25, 0.25, 0.5], [1.0, 0.2, 0.0, NAN]])


def test_quarterly_cohorts_monthly_periods(small: pd.DataFrame) -> None:
    m = cohort_retention(small, cohort="Q", period="M")
    # one cohort of 4; ages: A 0,1,3  B 0,2  C 0,1  D 0; age 3 unobservable for D (Feb)
    np.testing.assert_allclose(m.to_numpy(), [[1.0, 0.5, 0.25, NAN]])
    assert str(m.index[0]) == "2024Q1"


def test_matches_plain_pandas_on_cdnow(cdnow_transactions: pd.DataFrame) -> None:
    tx = cdnow_transactions
    m = cohort_retention(tx, cohort="M", period="M")
    month = tx["date"].dt.to_period("M")
    first = month.groupby(tx["customer_id"]).transform("min")
    age = (month.astype("int64") - first.astype("int64")).rename("age")
    active = (
        pd.DataFrame({"cohort": first, "age": age, "customer": tx["customer_id"]})
        .drop_duplicates()
        .groupby(["cohort", "age"])
        .size()
        .unstack(fill_value=0)
    )
    sizes = tx.groupby(first)["customer_id"].nunique()
    oracle = active.div(sizes, axis=0)
    observed = m.to_numpy()
    mask = ~np.isnan(observed)
    np.testing.assert_allclose(observed[mask], oracle.to_numpy()[mask], rtol=1e-12)
    assert m.attrs["cohort_size"] == sizes.tolist()
    # the last cohort (March 1997) is observable through June 1998: age 15, not 17
    assert np.isnan(observed[2, 16:]).all()
    assert not np.isnan(observed[2, 15])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"period": "fortnight"}, "unknown period 'fortnight'"),
        ({"cohort": "XYZ"}, "unknown cohort 'XYZ'"),
        ({"measure": "orders"}, "measure must be one of 'customers', 'revenue'; got 'orders'"),
        ({"measure": "revenue"}, "needs monetary_value_col"),
        ({"customer_id_col": "id"}, "missing column\\(s\\) 'id'"),
    ],
)
def test_bad_options(small: pd.DataFrame, kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        cohort_retention(small, **kwargs)  # type: ignore[arg-type]


def test_bad_rows(small: pd.DataFrame) -> None:
    bad = small.assign(date=small["date"].astype(str))
    bad.loc[3, "date"] = "not a date"
    with pytest.raises(InvalidDataError, match=r"'date' could not be parsed.*row 3.*not a date"):
        cohort_retention(bad)
    neg = small.copy()
    neg.loc[2, "amount"] = -5.0
    with pytest.raises(InvalidDataError, match=r"'amount' must be >= 0; row 2.*-5.0"):
        cohort_retention(neg, measure="revenue", monetary_value_col="amount")
    zero = small.copy()
    zero.loc[[6, 8], "amount"] = 0.0
    with pytest.raises(InvalidDataError, match="cohort '2024-02' has no revenue"):
        cohort_retention(zero, measure="revenue", monetary_value_col="amount")


@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.datetimes(
                min_value=pd.Timestamp("2023-11-20"), max_value=pd.Timestamp("2024-06-10")
            ),
            st.floats(0.01, 1e6),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_property_shares_and_kpi_balance(rows: list[tuple[int, object, float]]) -> None:
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    m = cohort_retention(tx)
    values = m.to_numpy()
    assert (m.iloc[:, 0] == 1.0).all()
    observed = values[~np.isnan(values)]
    assert ((observed >= 0) & (observed <= 1)).all()
    assert sum(m.attrs["cohort_size"]) == tx["customer_id"].nunique()
    revenue = cohort_retention(tx, measure="revenue", monetary_value_col="amount")
    assert np.isfinite(revenue.to_numpy()[~np.isnan(revenue.to_numpy())]).all()
    for window in (1, 2):
        k = kpi_table(tx, active_window=window)
        balance = k["customers_start"] - k["lost"] + k["new_customers"] + k["reactivated"]
        assert (balance == k["customers_end"]).all()
        assert (k["retained"] >= 0).all()
        assert k["new_customers"].sum() == tx["customer_id"].nunique()
        assert k["orders"].sum() == len(tx)
