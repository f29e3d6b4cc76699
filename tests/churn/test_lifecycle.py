"""lifecycle_stage (recency and model rules) and the bilingual playbook."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from customer_value.churn import STAGES, lifecycle_stage, playbook
from customer_value.clv import BetaGeoModel
from customer_value.errors import InvalidDataError, NotFittedError

from .conftest import ConstantModel

SUMMARY = pd.DataFrame(
    {
        "frequency": [0, 0, 3, 1, 2, 1],
        "recency": [0.0, 0.0, 30.0, 10.0, 4.0, 1.0],
        "T": [2.0, 12.0, 33.0, 40.0, 38.0, 3.0],
    }
)


def test_recency_rule_hand_computed() -> None:
    out = lifecycle_stage(SUMMARY, new_within=4)
    # population gap (30 + 10 + 4 + 1) / 7; lateness 12/gap=1.87, 3/10, 30/10, 34/2
    assert out["stage"].tolist() == ["acquire", "nurture", "retain", "win_back", "lost", "acquire"]
    assert out["stage_zh"].tolist() == ["获取", "培养", "保留", "召回", "流失", "获取"]
    np.testing.assert_allclose(out["lateness"].iloc[[2, 3, 4]], [0.3, 3.0, 17.0])
    assert out.attrs["new_within"] == 4.0
    assert list(out["stage"].cat.categories) == list(STAGES)


def test_thresholds_move_customers() -> None:
    assert lifecycle_stage(SUMMARY, new_within=4, late_factor=3.5)["stage"].iloc[3] == "retain"
    assert lifecycle_stage(SUMMARY, new_within=4, lost_factor=20)["stage"].iloc[4] == "win_back"
    assert lifecycle_stage(SUMMARY, new_within=4, repeat_threshold=4)["stage"].iloc[2] == "nurture"
    # default window: the population gap, 45 / 7 weeks
    default = lifecycle_stage(SUMMARY)
    assert default.attrs["new_within"] == pytest.approx(45 / 7)
    assert default["stage"].iloc[0] == "acquire"


def test_model_rule() -> None:
    model = ConstantModel([0.9, 0.9, 0.9, 0.3, 0.05, 0.05], [1.0] * 6)
    out = lifecycle_stage(SUMMARY, model=model, new_within=4)
    # the model decides lapse: customer 5 is new whatever P(alive) says
    assert out["stage"].tolist() == ["acquire", "nurture", "retain", "win_back", "lost", "acquire"]
    np.testing.assert_allclose(out["p_alive"], model.p)
    out = lifecycle_stage(SUMMARY, model=model, new_within=4, win_back_below=0.95)
    assert out["stage"].tolist()[1:3] == ["win_back", "win_back"]


def test_with_fitted_bgnbd_on_cdnow(cdnow_calibration: pd.DataFrame) -> None:
    data = cdnow_calibration[["frequency", "recency", "T"]]
    model = BetaGeoModel().fit(data)
    out = lifecycle_stage(data, model=model)
    counts = out["stage"].value_counts()
    assert counts.sum() == len(data)
    # BG/NBD never calls a one-time buyer lapsed (P(alive) = 1 at frequency 0)
    one_timers = out.loc[data["frequency"] == 0, "stage"]
    assert set(one_timers) <= {"acquire", "nurture"}
    assert counts["win_back"] > 0
    assert counts["lost"] > 0
    with pytest.raises(NotFittedError):
        lifecycle_stage(data, model=BetaGeoModel())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lost_factor": 1.0}, "lost_factor \\(1.0\\) must not be below late_factor"),
        ({"late_factor": 0}, "late_factor must be > 0"),
        ({"new_within": -1}, "new_within must be >= 0, got -1"),
        ({"model": ConstantModel([0.5] * 6, [1] * 6), "lost_below": 0.6}, "lost_below"),
        ({"model": ConstantModel([0.5] * 6, [1] * 6), "win_back_below": 2}, "<= 1"),
        ({"model": object()}, "model must have probability_alive"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        lifecycle_stage(SUMMARY, **kwargs)  # type: ignore[arg-type]


def test_bad_summary() -> None:
    with pytest.raises(InvalidDataError, match=r"recency.*must not exceed 'T'.*row 1"):
        lifecycle_stage({"frequency": [1, 1], "recency": [1.0, 9.0], "T": [5.0, 5.0]})


def test_playbook_entries() -> None:
    book = playbook()
    assert set(STAGES) | {"high_value", "potential", "churn_risk"} == set(book)
    for key, entry in book.items():
        assert entry["kind"] in {"stage", "segment"}
        for text in [entry["name"], entry["goal"], *entry["actions"]]:
            assert text["en"], key
            assert text["zh"], key
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text["zh"]), key
    assert [a["en"] for a in book["potential"]["actions"]] == [
        "Welcome pack",
        "Product trials",
        "Member growth plan",
    ]
    assert "Come-back coupon" in [a["en"] for a in book["churn_risk"]["actions"]]
    json.dumps(book, ensure_ascii=False)  # plain, serialisable data


def test_playbook_is_editable_copy() -> None:
    entry = playbook("retain")
    entry["actions"].clear()
    book = playbook()
    book["lost"]["goal"]["en"] = "changed"
    assert playbook("retain")["actions"]
    assert playbook("lost")["goal"]["en"] != "changed"


def test_playbook_unknown() -> None:
    with pytest.raises(InvalidDataError, match="unknown stage or segment 'vip'; known: 'acquire'"):
        playbook("vip")
