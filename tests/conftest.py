"""Shared fixtures and hypothesis profiles."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

# "default" (make test, CI) is derandomized so that a commit that is green stays green;
# "explore" draws fresh random cases and many more of them, for hunting edge cases:
#     HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests
settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", deadline=None, max_examples=600, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


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
