"""Fixtures shared by the clv tests: fitted models on the CDNOW summary."""

from __future__ import annotations

import pandas as pd
import pytest

from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

MODELS = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pareto": ParetoNBDModel,
}

# Parameters used for property tests (close to the CDNOW estimates).
TYPICAL = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "mbgnbd": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    "pareto": {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67},
}


@pytest.fixture(scope="session")
def fitted(cdnow_summary: pd.DataFrame) -> dict[str, object]:
    return {name: cls().fit(cdnow_summary) for name, cls in MODELS.items()}


@pytest.fixture(params=sorted(MODELS))
def model_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)
