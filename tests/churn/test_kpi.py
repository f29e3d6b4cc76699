"""KPI formulas and kpi_table: worked examples, a hand-computed table, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value.churn import (
    average_order_value,
    cac_payback_periods,
    churn_rate,
    kpi_table,
    ltv_cac_ratio,
    purchase_frequency,
    referral_share,
    repeat_purchase_rate,
    retention_rate,
)
from customer_value.errors import InvalidDataError


def test_formulas() -> None:
    assert churn_rate(200, 30) == 0.15
    assert retention_rate(200, 230, 60) == 0.85
    assert retention_rate(200, 230, 60) == 1 - churn_rate(200, 30)
    assert repeat_purchase_rate(50, 20) == 0.4
    assert ltv_cac_ratio(300, 100) == 3.0
    assert cac_payback_periods(90, 15) == 6.0
    assert referral_share(80, 20) == 0.25
    assert purchase_frequency(30, 20) == 1.5
    assert average_order_value(300, 12) == 25.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: retention_rate(100, 50, 60), "new \\(60\\) cannot exceed end \\(50\\)"),
        (lambda: retention_rate(100, 250, 60), "end - new \\(190\\) cannot exceed start"),
        (lambda: retention_rate(0, 5, 1), "start must be > 0, got 0"),
        (lambda: churn_rate(10, 11), "lost \\(11\\) cannot exceed start \\(10\\)"),
        (lambda: churn_rate(10, -1), "lost must be >= 0, got -1"),
        (lambda: repeat_purchase_rate(10, 12), "repeat_customers \\(12\\) cannot exceed"),
        (lambda: ltv_cac_ratio(100, 0), "cac must be > 0, got 0"),
        (lambda: cac_payback_periods(100, -2), "margin_per_period must be > 0, got -2"),
        (lambda: referral_share(10, 11), "referred \\(11\\) cannot exceed new_customers"),
        (lambda: purchase_frequency(5, 10), "orders \\(5\\) cannot be fewer than customers"),
        (lambda: average_order_value(10, 0), "orders must be > 0, got 0"),
        (lambda: average_order_value("x", 2), "revenue must be a number, got 'x'"),
        (lambda: churn_rate(float("nan"), 1), "start must be finite"),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        call()  # type: ignore[operator]


def test_kpi_table_hand_computed(small: pd.DataFrame) -> None:
    # active: Jan {A,B}, Feb {A,C,D}, Mar {B,C}, Apr {A}
    k = kpi_table(small, monetary_value_col="amount")
    assert [str(p) for p in k.index] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert k["customers_start"].tolist() == [0, 2, 3, 2]
    assert k["new_customers"].tolist() == [2, 2, 0, 0]
    assert k["retained"].tolist() == [0, 1, 1, 0]
    assert k["lost"].tolist() == [0, 1, 2, 2]
    assert k["reactivated"].tolist() == [0, 0, 1, 1]
    assert k["customers_end"].tolist() == [2, 3, 2, 1]
    assert k["active_customers"].tolist() == [2, 3, 2, 1]
    assert k["orders"].tolist() == [2, 4, 2, 1]
    np.testing.assert_allclose(k["revenue"], [40.0, 30.0, 14.0, 20.0])
    np.testing.assert_allclose(k["average_order_value"], [20.0, 7.5, 7.0, 20.0])
    np.testing.assert_allclose(k["retention_rate"], [np.nan, 0.5, 1 / 3, 0.0])
    np.testing.assert_allclose(k["churn_rate"], [np.nan, 0.5, 2 / 3, 1.0])
    np.testing.assert_allclose(k["repeat_purchase_rate"], [0.0, 1 / 3, 1.0, 1.0])
    np.testing.assert_allclose(k["purchase_frequency"], [1.0, 4 / 3, 1.0, 1.0])


def test_kpi_table_window_two(small: pd.DataFrame) -> None:
    k = kpi_table(small, active_window=2)
    assert k["customers_end"].tolist() == [2, 4, 4, 3]
    assert k["customers_start"].tolist() == [0, 2, 4, 4]
    assert k["lost"].tolist() == [0, 0, 0, 1]
    assert k["reactivated"].tolist() == [0, 0, 0, 0]


def test_kpi_table_identity_and_formula_on_cdnow(cdnow_transactions: pd.DataFrame) -> None:
    for window in (1, 3):
        k = kpi_table(cdnow_transactions, period="M", active_window=window)
        balance = k["customers_start"] - k["lost"] + k["new_customers"] + k["reactivated"]
        assert (balance == k["customers_end"]).all()
        assert (k["retained"] >= 0).all()
        assert (k["lost"] >= 0).all()
        row = k.iloc[5]
        joined = row["new_customers"] + row["reactivated"]
        assert row["retention_rate"] == pytest.approx(
            retention_rate(row["customers_start"], row["customers_end"], joined)
        )
        # the base at the end of a period = customers who bought in the last `window` months
        month = cdnow_transactions["date"].dt.to_period("M")
        last = k.index[5]
        in_window = (month <= last) & (month > last - window)
        assert row["customers_end"] == cdnow_transactions.loc[in_window, "customer_id"].nunique()


def test_referrals(small: pd.DataFrame) -> None:
    # referral flags on the first order: B (January) and D (February) were referred
    flags = small.assign(referred=[False, True, True, True, True, False, False, False, True])
    k = kpi_table(flags, referred_col="referred")
    assert k["referred"].tolist() == [1, 1, 0, 0]
    np.testing.assert_allclose(k["referral_share"], [0.5, 0.5, np.nan, np.nan])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"period": "bogus"}, "unknown period 'bogus'"),
        ({"active_window": 0}, "active_window must be >= 1, got 0"),
        ({"active_window": 1.5}, "active_window must be a whole number"),
        ({"referred_col": "amount"}, "amount must be boolean.*row 0.*10.0"),
    ],
)
def test_kpi_table_bad_options(small: pd.DataFrame, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        kpi_table(small, **kwargs)  # type: ignore[arg-type]


def test_repeat_purchase_rate_docstring_figure(cdnow_transactions: pd.DataFrame) -> None:
    # the docstring quotes 946 of 2,357 CDNOW customers with a repeat purchase by the end
    # of the 39-week calibration period; recount it from the raw transactions
    tx = cdnow_transactions
    first = tx.groupby("customer_id")["date"].transform("min")
    repeat = tx.loc[(tx["date"] > first) & (tx["date"] <= pd.Timestamp("1997-09-30"))]
    assert tx["customer_id"].nunique() == 2357
    assert repeat["customer_id"].nunique() == 946
    assert repeat_purchase_rate(2357, 946) == pytest.approx(0.401, abs=5e-4)
