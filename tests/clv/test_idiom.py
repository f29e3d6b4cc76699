"""One estimator idiom for the clv models (issue 17, "One house")."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from customer_value._estimator import check_is_fitted
from customer_value.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
)
from customer_value.errors import InvalidDataError, NotFittedError

MODELS = [
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    GammaGammaModel,
    BetaGeoBetaBinomModel,
    ShiftedBetaGeoModel,
]
SRC = Path(__file__).parents[2] / "src" / "customer_value"


@pytest.mark.parametrize("cls", MODELS)
def test_not_fitted_message_comes_from_the_shared_helper(cls: type) -> None:
    model = cls()
    with pytest.raises(NotFittedError) as shared:
        check_is_fitted(model, "_params", action=f"fit(data) or {cls.__name__}.from_params(...)")
    with pytest.raises(NotFittedError) as ours:
        model.params_
    assert str(ours.value) == str(shared.value)
    assert str(ours.value).startswith(f"{cls.__name__} is not fitted yet; call fit(data)")


def test_time_unit_is_fitted_state_and_the_old_name_is_deprecated(cdnow_summary) -> None:
    model = BetaGeoModel().fit(cdnow_summary)
    assert model.time_unit_ == "W"
    old_name = r"BetaGeoModel\.time_unit is deprecated.*use time_unit_ instead"
    with pytest.warns(DeprecationWarning, match=old_name):
        assert model.time_unit == "W"
    with pytest.warns(DeprecationWarning, match=old_name):
        model.time_unit = "D"
    assert model.time_unit_ == "D"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name and the library itself never warn
        built = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        assert BetaGeoModel.from_json(built.to_json()).time_unit_ == "W"
        assert repr(built).endswith("time_unit='W')")


def test_model_data_is_the_public_route_to_validated_columns(cdnow_summary) -> None:
    model = BetaGeoModel().fit(cdnow_summary)
    assert model.data_columns == ("frequency", "recency", "T")
    frame = model.model_data()
    assert list(frame.columns) == ["frequency", "recency", "T"]
    assert frame.index.equals(cdnow_summary.index)
    assert model.model_data(cdnow_summary.head(3)).shape == (3, 3)
    with pytest.raises(InvalidDataError, match="recency"):
        model.model_data({"frequency": [1], "recency": [5.0], "T": [2.0]})
    with pytest.raises(InvalidDataError, match="no training data"):
        BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426).model_data()
    with pytest.raises(NotFittedError):
        BetaGeoModel().model_data()


def test_no_private_model_members_used_outside_clv() -> None:
    # plotting called model._prepare, churn getattr(model, "_params_array"/"_data_columns"):
    # other subpackages reach the models through public names only.
    pattern = re.compile(
        r"\b(?:model|fitted|spend_model|transaction_model|m)\._[a-z]\w*"
        r"""|getattr\(\w+, ["']_[a-z]"""
    )
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        if len(parts) < 2 or parts[0] == "clv":
            continue
        for lineno, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{lineno}: {line.strip()}")
    assert not offenders, offenders


def test_spend_model_is_defined_once() -> None:
    # Issue 17: SpendModel was defined in churn/_risk.py and again in clv/_clv.py.
    from customer_value import churn, clv

    assert churn.SpendModel is clv.SpendModel
    places = [p for p in SRC.rglob("*.py") if "class SpendModel" in p.read_text("utf-8")]
    assert [p.relative_to(SRC).as_posix() for p in places] == ["clv/_clv.py"]
