"""Shared fixtures and hypothesis profiles."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    from customer_value.datasets import load_cdnow_transactions

    return load_cdnow_transactions()


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    from customer_value.datasets import load_cdnow_summary

    return load_cdnow_summary()


@pytest.fixture(scope="session")
def donations() -> pd.DataFrame:
    from customer_value.datasets import load_donations

    return load_donations()
