"""RuleSegmenter: every operator, overlap policies, hit counts, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError, NotFittedError
from customer_value.segmentation import OPERATORS, RuleSegmenter


@pytest.fixture
def people():
    return pd.DataFrame(
        {
            "age": [22, 28, 34, 35, 61, np.nan],
            "gender": ["F", "F", "M", "F", None, "M"],
            "city_tier": [1, 2, 3, 1, 2, 1],
        },
        index=pd.Index([f"c{i}" for i in range(6)], name="customer_id"),
    )


def one_rule(condition, column="age"):
    return RuleSegmenter([{"name": "hit", "label": "命中", "when": {column: condition}}])


@pytest.mark.parametrize(
    ("column", "condition", "expected"),
    [
        ("gender", "F", [1, 1, 0, 1, 0, 0]),
        ("gender", {"eq": "F"}, [1, 1, 0, 1, 0, 0]),
        ("gender", {"ne": "F"}, [0, 0, 1, 0, 0, 1]),  # missing never matches
        ("city_tier", {"in": [1, 3]}, [1, 0, 1, 1, 0, 1]),
        ("gender", {"not_in": ["M"]}, [1, 1, 0, 1, 0, 0]),
        ("age", {"lt": 28}, [1, 0, 0, 0, 0, 0]),
        ("age", {"le": 28}, [1, 1, 0, 0, 0, 0]),
        ("age", {"gt": 35}, [0, 0, 0, 0, 1, 0]),
        ("age", {"ge": 35}, [0, 0, 0, 1, 1, 0]),
        ("age", {"between": [25, 34]}, [0, 1, 1, 0, 0, 0]),
        ("age", {"ge": 25, "lt": 35}, [0, 1, 1, 0, 0, 0]),
        ("age", {"is_null": True}, [0, 0, 0, 0, 0, 1]),
        ("gender", {"is_null": False}, [1, 1, 1, 1, 0, 1]),
        ("gender", None, [0, 0, 0, 0, 1, 0]),
    ],
)
def test_each_operator(people, column, condition, expected):
    out = one_rule(condition, column).assign(people)
    assert (out["segment"] == "hit").astype(int).tolist() == expected


def test_all_operators_are_covered():
    assert set(OPERATORS) == {
        "eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "between", "is_null"
    }  # fmt: skip


def test_issue_example_and_hit_counts(people):
    seg = RuleSegmenter(
        [
            {
                "name": "young_urban_women",
                "label": "都市年轻女性",
                "when": {"age": {"between": [25, 34]}, "gender": "F", "city_tier": {"le": 2}},
            },
            {"name": "women", "label": "女性客户", "when": {"gender": "F"}},
            {"name": "tier1", "label": "一线城市", "when": {"city_tier": 1}},
        ],
        default=("others", "其他客户"),
    )
    out = seg.assign(people)
    assert out["segment"].tolist() == [
        "women", "young_urban_women", "others", "women", "others", "tier1"
    ]  # fmt: skip
    assert out["segment_label"].iloc[1] == "都市年轻女性"
    assert out.index.equals(people.index)
    hits = seg.hits_
    assert hits["matched"].tolist() == [1, 3, 3, 2]
    assert hits["assigned"].tolist() == [1, 2, 1, 2]
    assert hits["assigned"].sum() == len(people)


def test_overlap_error_names_row_and_rules(people):
    rules = [
        {"name": "women", "label": "女性", "when": {"gender": "F"}},
        {"name": "tier1", "label": "一线", "when": {"city_tier": 1}},
    ]
    with pytest.raises(
        InvalidDataError, match=r"row 0 \(label 'c0'\) is caught by 'women' and 'tier1'"
    ):
        RuleSegmenter(rules, overlap="error").assign(people)
    assert RuleSegmenter(rules).assign(people)["segment"].iloc[0] == "women"


def test_round_trip_json(people):
    seg = RuleSegmenter(
        [{"name": "a", "label": "甲", "when": {"age": {"between": [20, 30]}, "gender": None}}],
        default={"name": "rest", "label": "其余"},
        overlap="error",
    )
    again = RuleSegmenter.from_json(seg.to_json())
    assert again.to_dict() == seg.to_dict()
    pd.testing.assert_frame_equal(again.assign(people), seg.assign(people))
    assert "甲" in seg.to_json()


def test_hits_before_assign():
    with pytest.raises(
        NotFittedError, match=r"RuleSegmenter is not fitted yet; call assign\(data\) first"
    ):
        _ = one_rule(1).hits_


@pytest.mark.parametrize(
    ("rules", "match"),
    [
        (
            [{"name": "a", "label": "甲", "when": {"age": {"bewteen": [1, 2]}}}],
            r"rules\[0\]\.when\.age\.bewteen: unknown operator 'bewteen'",
        ),
        (
            [{"name": "a", "label": "甲", "when": {"age": {"in": 3}}}],
            r"rules\[0\]\.when\.age\.in: 'in' needs a list",
        ),
        (
            [{"name": "a", "label": "甲", "when": {"age": {"between": [5, 1]}}}],
            r"between' min 5 > max 1",
        ),
        (
            [{"name": "a", "label": "甲", "when": {"age": {"between": [5]}}}],
            r"'between' needs \[low, high\]",
        ),
        (
            [{"name": "a", "label": "甲", "when": {"age": {"is_null": "yes"}}}],
            "'is_null' needs true or false",
        ),
        (
            [{"name": "a", "label": "甲", "when": {"age": {"lt": [1, 2]}}}],
            "'lt' needs a single value",
        ),
        ([{"name": "a", "label": "甲", "when": {"age": [1, 2]}}], "a bare list is ambiguous"),
        ([{"name": "a", "label": "甲", "when": {"age": {}}}], "empty condition"),
        ([{"name": "a", "label": "甲", "when": {}}], r"rules\[0\]\.when: expected a mapping"),
        ([{"name": "a", "when": {"age": 1}}], r"rules\[0\]\.label: expected a non-empty string"),
        ([{"name": "a", "label": "甲", "when": {"age": 1}, "then": 2}], "unknown key"),
        ([{"name": "other", "label": "甲", "when": {"age": 1}}], "duplicate segment name"),
        ([], "non-empty list"),
        ("age > 30", "non-empty list"),
    ],
)
def test_invalid_rules(rules, match, people):
    assert_refused_where_used({"rules": rules}, match, people)


def assert_refused_where_used(params, match, people):
    """Issue 17, one estimator idiom: a definition is stored as given and refused where it
    is used (assign, to_dict, rules_) or loaded (from_dict); until 0.2 the constructor
    also refuses it, with a DeprecationWarning at the caller's line."""
    valid = {"rules": [{"name": "a", "label": "甲", "when": {"age": 1}}]}
    seg = RuleSegmenter(**valid)
    for name, value in params.items():
        setattr(seg, name, value)  # stores the new hyper-parameter as given, as set_params does
    assert {k: seg.get_params()[k] for k in params} == params
    for use in (lambda: seg.assign(people), seg.to_dict, lambda: seg.rules_):
        with pytest.raises(InvalidDataError, match=match):
            use()
    assert "RuleSegmenter(" in repr(seg)  # a repr never raises
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading checks the document: no deprecation involved
        with pytest.raises(InvalidDataError, match=match):
            RuleSegmenter.from_dict({**valid, **params})
    with (
        pytest.warns(DeprecationWarning, match="RuleSegmenter constructor.*assign") as rec,
        pytest.raises(InvalidDataError, match=match),
    ):
        RuleSegmenter(**{**valid, **params})
    assert rec[0].filename == __file__


def test_unknown_column_and_incomparable_value(people):
    with pytest.raises(InvalidDataError, match=r"rules\[0\]\.when\.agee: unknown column 'agee'"):
        one_rule(30, "agee").assign(people)
    with pytest.raises(InvalidDataError, match=r"cannot compare column 'gender'"):
        one_rule({"gt": 3}, "gender").assign(people)
    assert_refused_where_used({"overlap": "last"}, "overlap must be one of", people)
    with pytest.raises(InvalidDataError, match="not valid JSON"):
        RuleSegmenter.from_json("{")


def test_no_eval_of_strings(people):
    # a string that would be code under eval is just a value to compare with
    out = one_rule({"eq": "__import__('os')"}, "gender").assign(people)
    assert (out["segment"] == "other").all()


@pytest.mark.parametrize(
    ("default", "match"),
    [
        ({"name": "o"}, r"default\.label: expected a non-empty string, got None"),
        ({"name": "o", "label": "其他", "colour": 1}, r"default: unknown key"),
        (("o",), "default must be a name, a"),
        (5, "default must be a name, a"),
        (("o", ""), r"default\.label: expected a non-empty string, got ''"),
    ],
)
def test_invalid_default(default, match, people):
    # used to escape as KeyError / IndexError / TypeError
    assert_refused_where_used({"default": default}, match, people)


def test_default_forms(people):
    rule = [{"name": "a", "label": "甲", "when": {"age": {"lt": 0}}}]
    for default, expected in (
        ("other", ("other", "其他")),
        ("rest", ("rest", "rest")),
        (["rest", "其余"], ("rest", "其余")),
        ({"name": "rest", "label": "其余"}, ("rest", "其余")),
    ):
        out = RuleSegmenter(rule, default=default).assign(people)
        assert (out["segment"] == expected[0]).all()
        assert (out["segment_label"] == expected[1]).all()


def test_to_dict_is_a_copy(people):
    seg = RuleSegmenter([{"name": "old", "label": "老年", "when": {"age": {"ge": 60}}}])
    spec = seg.to_dict()
    spec["rules"][0]["when"]["age"]["ge"] = 0  # used to change seg's own rule
    assert seg.assign(people)["segment"].tolist().count("old") == 1


RULE = '{"name": "a", "label": "甲", "when": {"x": 1}}'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # Issue 17, bug 6: UnicodeDecodeError, RecursionError, last-wins duplicates and
        # an 'in' list of dicts that silently matched nothing.
        (('{"rules": [' + RULE + "]}").encode("utf-16"), r"rules: not UTF-8"),
        (b'{"rules": [{"name": "\xe9", "label": "x", "when": {"x": 1}}]}', r"rules: not UTF-8"),
        ('{"rules": ' + "[" * 50_000 + "]" * 50_000 + "}", r"rules: nested deeper than 64"),
        (
            '{"rules": [' + RULE + '], "overlap": "first", "overlap": "error"}',
            "duplicate key 'overlap'",
        ),
        (
            '{"rules": [{"name": "a", "name": "b", "label": "甲", "when": {"x": 1}}]}',
            "duplicate key 'name'",
        ),
        (
            '{"rules": [{"name": "a", "label": "甲", "when": {"x": {"in": [1, {"eq": 2}]}}}]}',
            r"rules\[0\]\.when\.x\.in\[1\]: 'in' needs plain values .*dict",
        ),
        ('{"rules": [{"name": "a", "label": "甲", "when": {"x": NaN}}]}', "NaN is not JSON"),
    ],
)
def test_rule_files_are_read_strictly(text: str | bytes, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        RuleSegmenter.from_json(text)


def test_rule_files_as_utf8_bytes() -> None:
    seg = RuleSegmenter.from_json(('{"rules": [' + RULE + "]}").encode("utf-8"))
    assert seg.assign({"x": [1, 2]})["segment_label"].tolist() == ["甲", "其他"]


def test_estimator_idiom(people):
    rules = [{"name": "old", "label": "老年", "when": {"age": {"ge": 60}}}]
    seg = RuleSegmenter(rules, default=("rest", "其余"), overlap="error")
    params = seg.get_params()
    assert params == {"rules": rules, "default": ("rest", "其余"), "overlap": "error"}
    assert params["rules"] is rules  # stored unchanged, not parsed
    clone = RuleSegmenter(**params)
    assert clone.assign(people).equals(seg.assign(people))
    assert seg.rules_ == [{"name": "old", "label": "老年", "when": {"age": {"ge": 60}}}]
    assert seg.default_ == ("rest", "其余")


def test_parsed_attributes_are_deprecated_views():
    seg = RuleSegmenter([{"name": "f", "label": "女性", "when": {"gender": "F"}}])
    with pytest.warns(DeprecationWarning, match=r"RuleSegmenter\.rules \(parsed\).*rules_") as rec:
        assert seg.rules == [{"name": "f", "label": "女性", "when": {"gender": {"eq": "F"}}}]
    assert rec[0].filename == __file__
    with pytest.warns(DeprecationWarning, match=r"RuleSegmenter\.default \(parsed\)"):
        assert seg.default == ("other", "其他")
