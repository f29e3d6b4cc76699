"""Forecasting purchases on CDNOW: fit BG/NBD, check it against the holdout period.

Calibration: the first 39 weeks (to 1997-09-30); holdout: the next 39 weeks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from customer_value.data import calibration_holdout_split
from customer_value.datasets import load_cdnow_transactions


def main() -> None:
    pd.set_option("display.width", 120)
    split = calibration_holdout_split(
        load_cdnow_transactions(),
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="W",
    )
    calibration = split[["frequency_cal", "recency_cal", "T_cal"]].rename(
        columns=lambda name: name.removesuffix("_cal")
    )
    model = BetaGeoModel().fit(calibration)
    print(model)
    print("\nParameter estimates (Fader, Hardie & Lee 2005: 0.243, 4.414, 0.793, 2.426):")
    print(model.summary_.round(3).to_string())

    horizon = float(split["duration_holdout"].iloc[0])
    predicted = model.expected_purchases(horizon)
    actual = split["frequency_holdout"]
    groups = calibration["frequency"].clip(upper=7).astype(int)
    table = pd.DataFrame(
        {
            "customers": groups.value_counts().sort_index(),
            "actual": actual.groupby(groups).mean(),
            "predicted": predicted.groupby(groups).mean(),
        }
    )
    table.index = [*map(str, range(7)), "7+"]
    table.index.name = "calibration purchases"
    print(f"\nMean purchases in the {horizon:.0f}-week holdout, by calibration purchases:")
    print(table.round(2).to_string())
    print(f"\nTotal holdout purchases: actual {actual.sum():.0f}, predicted {predicted.sum():.0f}")

    alive = model.probability_alive()
    few = calibration.loc[[1, 2, 18, 1516]].assign(
        p_alive=alive.loc[[1, 2, 18, 1516]], next_39_weeks=predicted.loc[[1, 2, 18, 1516]]
    )
    print("\nP(alive) and expected purchases for a few customers:")
    print(few.round(3).to_string())

    print("\nLog-likelihood of the three purchase-frequency models on the same data:")
    for cls in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel):
        fitted = cls().fit(calibration)
        error = np.abs(fitted.expected_purchases(horizon) - actual).mean()
        print(
            f"  {cls.__name__:<22} LL = {fitted.log_likelihood_:9.1f}  "
            f"mean |error| per customer = {error:.3f}"
        )


if __name__ == "__main__":
    main()
