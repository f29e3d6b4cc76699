"""Segmenting the CDNOW customers: RFM, named segments, value x loyalty, rules, clusters.

Run with ``python examples/segmenting.py``. The demographic and psychographic part
uses synthetic attributes (CDNOW has none), generated with a fixed seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.datasets import load_cdnow_transactions
from customer_value.segmentation import (
    CLASSIC_SEGMENTS,
    VALUE_TIERS,
    ClusterSegmenter,
    RuleSegmenter,
    behavioural_features,
    bin_segments,
    rfm_scores,
    segment_profile,
    value_loyalty_matrix,
)


def counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Customers per segment, with the English identifier and the Chinese label."""
    table = frame.groupby(["segment", "segment_label"], observed=True).size()
    out = table.rename("customers").reset_index()
    out["share"] = (out["customers"] / out["customers"].sum()).round(3)
    return out


def synthetic_people(index: pd.Index, seed: int = 7) -> pd.DataFrame:
    """Age, gender, city tier and three 1-7 survey answers for each customer.

    The answers come from three hidden personas (bargain hunters, brand loyalists,
    explorers) so that the psychographic clusters have something to find.
    """
    rng = np.random.default_rng(seed)
    n = len(index)
    persona = rng.choice(3, n, p=[0.45, 0.35, 0.20])
    means = np.array([[6.0, 2.5, 3.5], [3.0, 6.0, 2.5], [3.5, 3.0, 6.0]])[persona]
    answers = np.clip(np.round(means + rng.normal(0, 0.8, (n, 3))), 1, 7)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 75, n),
            "gender": rng.choice(["F", "M"], n),
            "city_tier": rng.choice([1, 2, 3, 4], n, p=[0.3, 0.3, 0.25, 0.15]),
            "price_consciousness": answers[:, 0],
            "brand_loyalty": answers[:, 1],
            "novelty_seeking": answers[:, 2],
        },
        index=index,
    )


def main() -> None:
    pd.set_option("display.width", 120)
    pd.set_option("display.max_columns", 20)
    transactions = load_cdnow_transactions()

    rfm = rfm_scores(transactions)
    print("RFM scores (quintiles 1-5, higher is better) of the first customers:")
    print(rfm.head(6).round(2).to_string())

    classic = CLASSIC_SEGMENTS.assign(rfm)
    print("\nCLASSIC_SEGMENTS on CDNOW:")
    print(counts(classic).to_string(index=False))

    tiers = VALUE_TIERS.assign(rfm_scores(transactions, scale="percentile"))
    print("\nVALUE_TIERS (0-100 scale) on CDNOW:")
    print(counts(tiers).to_string(index=False))

    matrix = value_loyalty_matrix(
        rfm, value_col="monetary", loyalty_col="frequency", loyalty_threshold=2
    )
    print(
        f"\nValue x loyalty matrix (value: total spend >= {matrix.attrs['value_threshold']:.2f}"
        " dollars; loyalty: at least 2 purchases):"
    )
    print(counts(matrix).to_string(index=False))

    profile = segment_profile(classic)
    columns = ["segment_label", "size", "share", "mean_recency", "mean_frequency", "revenue_share"]
    print("\nProfile of the classic segments:")
    print(profile[columns].round(2).to_string())

    people = synthetic_people(rfm.index)
    ages = bin_segments(
        people,
        "age",
        edges=[18, 25, 35, 50, 75],
        labels=[
            ("18-24", "18-24岁"),
            ("25-34", "25-34岁"),
            ("35-49", "35-49岁"),
            ("50+", "50岁以上"),
        ],
    )
    print("\nAge bands (synthetic demographics):")
    print(counts(ages).to_string(index=False))

    rules = RuleSegmenter(
        [
            {
                "name": "young_urban_women",
                "label": "都市年轻女性",
                "when": {"age": {"between": [25, 34]}, "gender": "F", "city_tier": {"le": 2}},
            },
            {"name": "silver", "label": "银发客户", "when": {"age": {"ge": 60}}},
            {
                "name": "lower_tier_cities",
                "label": "下沉市场",
                "when": {"city_tier": {"in": [3, 4]}},
            },
        ],
        default=("others", "其他客户"),
    )
    rules.assign(people)
    print("\nRule hits (matched = caught by the rule, assigned = first rule to catch them):")
    print(rules.hits_.to_string())

    survey = ["price_consciousness", "brand_loyalty", "novelty_seeking"]
    model = ClusterSegmenter("auto", random_state=0).fit(people, columns=survey)
    print(f"\nPsychographic clusters (survey answers 1-7): k = {model.n_segments_} by silhouette")
    print(model.silhouette_scores_.round(3).to_frame().T.to_string())
    personas = model.profile().join(
        behavioural_features(transactions)
        .groupby(model.labels_)[["n_purchases", "avg_order_value"]]
        .mean()
    )
    columns = ["segment", "segment_label", "size", "share", "distinctive", "n_purchases"]
    print(personas[columns].round(2).to_string())


if __name__ == "__main__":
    main()
