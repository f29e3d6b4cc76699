"""Kano categories against the full 5 x 5 evaluation table; Kano summary."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.survey import kano_category, kano_summary

ENGLISH = ["like", "must-be", "neutral", "live-with", "dislike"]
CHINESE = ["喜欢", "理所当然", "无所谓", "能忍受", "不喜欢"]

# Berger et al. (1993), Center for Quality of Management Journal 2(4): the Kano evaluation
# table. Rows: functional answer, columns: dysfunctional answer, both in the order above.
EVALUATION = """
Q A A A O
R I I I M
R I I I M
R I I I M
R R R R Q
"""
TABLE = [row.split() for row in EVALUATION.strip().splitlines()]
PAIRS = list(itertools.product(range(5), range(5)))


@pytest.mark.parametrize(("f", "d"), PAIRS)
def test_every_cell_of_the_evaluation_table(f: int, d: int) -> None:
    expected = TABLE[f][d]
    assert kano_category(ENGLISH[f], ENGLISH[d]) == expected
    assert kano_category(CHINESE[f], CHINESE[d]) == expected
    assert kano_category(f + 1, d + 1) == expected
    assert kano_category(str(f + 1), float(d + 1)) == expected


def test_vectorised_and_spelling_variants() -> None:
    f = [e for e, _ in itertools.product(ENGLISH, ENGLISH)]
    d = [e for _, e in itertools.product(ENGLISH, ENGLISH)]
    out = kano_category(np.array(f), np.array(d))
    assert "".join(out) == "".join("".join(row) for row in TABLE)
    assert kano_category(" Like ", "I can live with it") == "A"
    assert kano_category("Must be", "DISLIKE") == "M"
    assert kano_category("I expect it", "live_with") == "I"
    series = kano_category(pd.Series(["like", 2], index=[10, 11]), pd.Series(["dislike", 5]))
    assert list(series.index) == [10, 11]
    assert series.tolist() == ["O", "M"]


def test_summary_counts_better_worse_and_need_levels() -> None:
    rows = (
        [("wifi", "neutral", "dislike")] * 6  # M
        + [("wifi", "like", "dislike")] * 3  # O
        + [("wifi", "like", "neutral")] * 1  # A
        + [("app", "like", "dislike")] * 5  # O
        + [("app", "like", "must-be")] * 2  # A
        + [("app", "neutral", "neutral")] * 2  # I
        + [("app", "like", "like")] * 1  # Q
        + [("gift", "喜欢", "无所谓")] * 4  # A
        + [("gift", "无所谓", "无所谓")] * 4  # I (tie with A: A wins)
        + [("gift", "不喜欢", "喜欢")] * 1  # R
    )
    df = pd.DataFrame(rows, columns=["feature", "functional", "dysfunctional"])
    out = kano_summary(df)
    assert list(out.index) == ["app", "gift", "wifi"]
    assert out.loc["wifi", ["A", "O", "M", "I", "R", "Q"]].tolist() == [1, 3, 6, 0, 0, 0]
    assert out.loc["app", ["A", "O", "M", "I", "R", "Q"]].tolist() == [2, 5, 0, 2, 0, 1]
    assert out.loc["gift", "n"] == 9
    # better = (A + O) / (A + O + M + I), worse = -(O + M) / (A + O + M + I)
    assert out.loc["wifi", "better"] == pytest.approx(4 / 10)
    assert out.loc["wifi", "worse"] == pytest.approx(-9 / 10)
    assert out.loc["app", "better"] == pytest.approx(7 / 9)
    assert out.loc["app", "worse"] == pytest.approx(-5 / 9)
    assert out.loc["gift", "worse"] == 0.0
    assert out["category"].to_dict() == {"wifi": "M", "app": "O", "gift": "A"}
    assert out["need_level"].to_dict() == {
        "wifi": "basic need",
        "app": "expected need",
        "gift": "surprise need",
    }
    assert out["need_level_zh"].to_dict() == {
        "wifi": "基本需求",
        "app": "期望需求",
        "gift": "惊喜需求",
    }


def test_summary_tie_break_prefers_must_be() -> None:
    df = pd.DataFrame(
        {
            "f": ["x"] * 4,
            "func": ["neutral", "neutral", "like", "like"],
            "dys": ["dislike", "dislike", "dislike", "dislike"],
        }
    )
    out = kano_summary(df, feature_col="f", functional_col="func", dysfunctional_col="dys")
    assert out.loc["x", "category"] == "M"  # 2 M vs 2 O: M > O > A > I


def test_summary_only_reverse_answers_is_finite() -> None:
    df = pd.DataFrame({"feature": ["x"], "functional": ["dislike"], "dysfunctional": ["like"]})
    out = kano_summary(df)
    assert out.loc["x", "category"] == "R"
    assert (out.loc["x", "better"], out.loc["x", "worse"]) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: kano_category("love", "dislike"),
            "functional: unknown Kano answer; row 0 has functional='love'",
        ),
        (
            lambda: kano_category(["like", "like"], ["dislike", 6]),
            "dysfunctional: unknown Kano answer; row 1 has dysfunctional=6",
        ),
        (lambda: kano_category("like", None), "row 0 has dysfunctional=None"),
        (lambda: kano_category(["like"], ["like", "like"]), "same length"),
        (
            lambda: kano_summary(
                pd.DataFrame({"feature": ["a"], "functional": ["x"], "dysfunctional": ["like"]})
            ),
            "unknown Kano answer; row 0 has functional='x'",
        ),
        (
            lambda: kano_summary(
                pd.DataFrame({"feature": [None], "functional": ["like"], "dysfunctional": ["like"]})
            ),
            "'feature' must not be missing; row 0 has feature=None",
        ),
        (lambda: kano_summary(pd.DataFrame({"feature": ["a"]})), "missing column"),
    ],
)
def test_bad_input(call: object, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        call()  # type: ignore[operator]


def test_summary_error_names_the_row_label() -> None:
    df = pd.DataFrame(
        {"feature": ["a", "b"], "functional": ["like", "like"], "dysfunctional": ["like", "meh"]},
        index=pd.Index(["resp_17", "resp_18"], name="respondent"),
    )
    with pytest.raises(
        InvalidDataError, match=r"row 1 \(label 'resp_18'\) has dysfunctional='meh'"
    ):
        kano_summary(df)
    ok = kano_summary(df.assign(dysfunctional=["dislike", "不喜欢"]))
    assert ok["O"].tolist() == [1, 1]
