"""behavioural_features against a straightforward per-customer pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.segmentation import behavioural_features


@pytest.fixture(scope="module")
def enriched(cdnow_transactions):
    tx = cdnow_transactions.copy()
    rng = np.random.default_rng(0)
    tx["channel"] = rng.choice(["app", "store", "web"], size=len(tx))
    tx["genre"] = rng.choice(["jazz", "pop", "rock"], size=len(tx))
    tx["discount"] = np.where(rng.random(len(tx)) < 0.3, rng.uniform(1, 5, len(tx)), 0.0)
    return tx


def reference(tx: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    rows = {}
    for cid, g in tx.groupby("customer_id"):
        days = np.sort(g["date"].dt.normalize().unique())
        gaps = np.diff(days).astype("timedelta64[D]").astype(float)
        rows[cid] = {
            "n_purchases": len(g),
            "n_purchase_days": len(days),
            "tenure_days": (end - days[0]).days,
            "days_since_last": (end - days[-1]).days,
            "mean_days_between": gaps.mean() if gaps.size else np.nan,
            "median_days_between": np.median(gaps) if gaps.size else np.nan,
            "total_spend": g["amount"].sum(),
            "avg_order_value": g["amount"].mean(),
            "weekend_share": (g["date"].dt.day_of_week >= 5).mean(),
            "discount_share": (g["discount"] > 0).mean(),
            "channel_share_web": (g["channel"] == "web").mean(),
            "category_share_jazz": (g["genre"] == "jazz").mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def test_matches_per_customer_reference(enriched):
    ours = behavioural_features(
        enriched, discount_col="discount", category_col="genre", channel_col="channel"
    )
    sample = enriched[enriched["customer_id"] <= 400]
    ref = reference(sample, enriched["date"].max())
    got = ours.loc[ref.index, ref.columns]
    pd.testing.assert_frame_equal(got, ref.astype(float), check_names=False, rtol=1e-12)
    shares = ours.filter(like="channel_share_").sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    assert list(ours.filter(like="category_share_").columns) == [
        "category_share_jazz", "category_share_pop", "category_share_rock"
    ]  # fmt: skip
    assert ours.index.name == "customer_id"


def test_observation_end_and_boolean_discount(enriched):
    tx = enriched.assign(discount=enriched["discount"] > 0)
    ours = behavioural_features(tx, discount_col="discount", observation_end="1997-06-30")
    early = tx[tx["date"] <= "1997-06-30"]
    assert ours["n_purchases"].sum() == len(early)
    assert (ours["tenure_days"] >= ours["days_since_last"]).all()
    assert ours["discount_share"].between(0, 1).all()


def test_no_nan_except_undefined_gaps(enriched):
    ours = behavioural_features(enriched)
    one_day = ours["n_purchase_days"] == 1
    gaps = ours[["mean_days_between", "median_days_between"]]
    assert gaps[one_day].isna().all().all()
    assert gaps[~one_day].notna().all().all()
    assert ours.drop(columns=gaps.columns).notna().all().all()


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        ({"amount": -1.0}, {}, r"'amount' must be >= 0; row 0 has amount=-1.0"),
        ({"genre": None}, {"category_col": "genre"}, r"'genre' must not be missing; row 0"),
        ({}, {"channel_col": "shop"}, r"missing column\(s\) 'shop'"),
        ({"customer_id": None}, {}, r"'customer_id' must not be missing; row 0"),
        ({}, {"observation_end": "1990-01-01"}, "every transaction is after"),
        ({"discount": "some"}, {"discount_col": "discount"}, r"'discount' must be numeric; row 0"),
    ],
)
def test_bad_input(enriched, change, kwargs, match):
    tx = enriched.head(20).copy()
    for col, value in change.items():
        tx[col] = tx[col].astype(object)
        tx.loc[tx.index[0], col] = value
    with pytest.raises(InvalidDataError, match=match):
        behavioural_features(tx, **kwargs)
