"""Bundled datasets load with the documented shapes and values."""

from __future__ import annotations

import pytest

from customer_value import datasets


def test_cdnow_sample(cdnow_transactions):
    assert cdnow_transactions["customer_id"].nunique() == 2357
    assert list(cdnow_transactions.columns[:1]) == ["customer_id"]
    assert {"date", "quantity", "amount"} <= set(cdnow_transactions.columns)
    assert str(cdnow_transactions["date"].dtype).startswith("datetime64")


@pytest.mark.slow
def test_cdnow_master():
    master = datasets.load_cdnow_transactions(sample=False)
    assert master["customer_id"].nunique() == 23570
    assert len(master) == 69659


def test_cdnow_summary(cdnow_summary):
    assert cdnow_summary.shape == (2357, 4)
    assert cdnow_summary["frequency"].sum() == 2457
    assert cdnow_summary.attrs["time_unit"] == "W"


def test_donations(donations):
    assert donations["weights"].sum() == 11104
    assert (donations["n_periods"] == 6).all()
    assert (donations["recency"] <= donations["n_periods"]).all()
