"""Fixtures shared by the segmentation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_value.segmentation import rfm_scores


@pytest.fixture(scope="session")
def cdnow_rfm(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return rfm_scores(cdnow_transactions)


@pytest.fixture(scope="session")
def cdnow_rfm_percentile(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return rfm_scores(cdnow_transactions, scale="percentile")


@pytest.fixture(scope="session")
def cdnow_features(cdnow_rfm: pd.DataFrame) -> pd.DataFrame:
    return np.log1p(cdnow_rfm[["recency", "frequency", "monetary"]])
