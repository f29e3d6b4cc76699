"""Fixtures of the churn tests: the CDNOW calibration/holdout split and fitted models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def cdnow_split(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    from customer_value.data import calibration_holdout_split

    return calibration_holdout_split(
        cdnow_transactions,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        monetary_value_col="amount",
        time_unit="W",
    )


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_split: pd.DataFrame) -> pd.DataFrame:
    """Calibration summary with the model column names (frequency, recency, T)."""
    cal = cdnow_split.rename(
        columns={
            "frequency_cal": "frequency",
            "recency_cal": "recency",
            "T_cal": "T",
            "monetary_value_cal": "monetary_value",
        }
    )[["frequency", "recency", "T", "monetary_value"]]
    cal.attrs["time_unit"] = "W"
    return cal


@pytest.fixture(scope="session")
def cdnow_churned(cdnow_split: pd.DataFrame) -> pd.Series:
    """Churn proxy: no purchase in the 39-week holdout."""
    return cdnow_split["frequency_holdout"] == 0


@pytest.fixture
def small() -> pd.DataFrame:
    # A and B join in January, C and D in February; the data end in April 2024.
    return pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A", "B", "B", "C", "C", "D"],
            "date": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-02-10",
                    "2024-02-20",
                    "2024-04-01",
                    "2024-01-20",
                    "2024-03-03",
                    "2024-02-14",
                    "2024-03-01",
                    "2024-02-28",
                ]
            ),
            "amount": [10.0, 5.0, 5.0, 20.0, 30.0, 10.0, 8.0, 4.0, 12.0],
        }
    )


class ConstantModel:
    """Test-only model with closed-form answers: P(alive) and a purchase rate per row.

    ``expected_purchases(t)`` = ``P(alive) * rate * t`` (alive customers buy at ``rate``,
    churned ones never), so ``E[Y | alive] = rate * t`` exactly.
    """

    time_unit = "W"

    def __init__(self, p_alive: Any, rate: Any, *, fitted: bool = True) -> None:
        self.p = np.asarray(p_alive, dtype=float)
        self.rate = np.asarray(rate, dtype=float)
        self.fitted = fitted

    def _check(self) -> None:
        from customer_value.errors import NotFittedError

        if not self.fitted:
            raise NotFittedError("ConstantModel is not fitted")

    def probability_alive(self, data: Any = None) -> pd.Series:
        self._check()
        return pd.Series(self.p, index=pd.RangeIndex(self.p.size))

    def expected_purchases(self, t: Any, data: Any = None) -> pd.Series:
        self._check()
        return pd.Series(self.p * self.rate * float(t), index=pd.RangeIndex(self.p.size))


class ConstantSpend:
    """Test-only spend model: a fixed expected spend per row."""

    def __init__(self, spend: Any) -> None:
        self.spend = np.asarray(spend, dtype=float)

    def expected_spend(self, data: Any = None) -> pd.Series:
        index = pd.RangeIndex(self.spend.size) if data is None else pd.DataFrame(data).index
        return pd.Series(self.spend, index=index)
