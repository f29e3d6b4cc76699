"""SegmentMap: grid coverage of the built-ins, validation paths, assignment, JSON."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.segmentation import CLASSIC_SEGMENTS, VALUE_TIERS, SegmentMap


def grid(values):
    cells = list(itertools.product(values, repeat=3))
    return pd.DataFrame(cells, columns=["r_score", "f_score", "m_score"])


def claims(segment_map, cell):
    """Names of the segments whose rules contain the (r, f, m) cell, checked one by one."""
    out = []
    for seg in segment_map.segments_:
        for box in seg.boxes:
            ok = True
            for dim, interval in box:
                value = np.array([cell["rfm".index(dim)]], dtype=float)
                ok &= bool(interval.contains(value)[0])
            if ok:
                out.append(seg.name)
                break
    return out


def test_classic_segments_partition_all_125_codes():
    assert len(CLASSIC_SEGMENTS.segments_) == 10
    assert CLASSIC_SEGMENTS.fallback_ is None
    seen = {}
    for cell in itertools.product(range(1, 6), repeat=3):
        names = claims(CLASSIC_SEGMENTS, cell)
        assert len(names) == 1, f"code {cell} is claimed by {names}"
        seen[cell] = names[0]
    assert len(seen) == 125
    assert set(seen.values()) == {s.name for s in CLASSIC_SEGMENTS.segments_}
    report = CLASSIC_SEGMENTS.validate()
    assert report.ok
    assert report.n_cells == 125
    assert not report.overlaps
    assert not report.gaps
    assigned = CLASSIC_SEGMENTS.assign(grid(range(1, 6)))
    for _, row in assigned.iterrows():
        cell = (row["r_score"], row["f_score"], row["m_score"])
        assert row["segment"] == seen[cell]


def test_classic_segments_follow_the_documented_rules():
    assigned = CLASSIC_SEGMENTS.assign(grid(range(1, 6))).set_index(
        ["r_score", "f_score", "m_score"]
    )["segment"]
    assert assigned[(5, 5, 5)] == "champions"
    assert assigned[(5, 1, 3)] == "new"
    assert assigned[(4, 1, 1)] == "promising"
    assert assigned[(1, 1, 5)] == "lost"
    assert assigned[(1, 5, 5)] == "cannot_lose"
    assert assigned[(2, 4, 2)] == "at_risk"
    assert assigned[(3, 3, 3)] == "need_attention"
    assert assigned[(3, 2, 5)] == "about_to_sleep"
    assert assigned[(4, 5, 1)] == "loyal"
    assert assigned[(4, 2, 4)] == "potential_loyalist"


def test_every_segment_has_english_and_chinese_names():
    for segment_map in (CLASSIC_SEGMENTS, VALUE_TIERS):
        for seg in segment_map.all_segments:
            assert seg.name.isascii()
            assert seg.name
            assert any("\u4e00" <= ch <= "\u9fff" for ch in seg.label)


def test_value_tiers_rules_on_a_fine_grid():
    cells = grid(np.arange(0, 100.1, 2.5))  # every bound and a point between each pair
    out = VALUE_TIERS.assign(cells)
    r, f, m = (cells[c] for c in ("r_score", "f_score", "m_score"))
    expected = np.select(
        [
            (r >= 80) & (f >= 80) & (m >= 80),
            (r >= 60) & (f >= 60) & (m < 60),
            (r < 40) & (f >= 40) & (m >= 40),
            (r < 40) & (f < 40) & (m < 40),
        ],
        ["high_value", "potential", "churn_risk", "low_value"],
        default="regular",
    )
    np.testing.assert_array_equal(out["segment"].astype(str), expected)
    report = VALUE_TIERS.validate()
    assert report.ok
    assert not report.overlaps
    assert report.gaps
    assert report.has_fallback
    labels = dict(zip(out["segment"].astype(str), out["segment_label"].astype(str), strict=True))
    assert labels == {
        "high_value": "高价值客户",
        "potential": "潜力客户",
        "churn_risk": "流失风险客户",
        "low_value": "低价值客户",
        "regular": "一般客户",
    }


def test_percentile_validation_checks_the_continuum():
    # [0, 40) and (40, 100] leave exactly the point 40 uncovered
    m = SegmentMap(
        [
            {"name": "low", "label": "低", "rules": {"r": {"lt": 40}}},
            {"name": "high", "label": "高", "rules": {"r": {"gt": 40}}},
        ],
        scale="percentile",
    )
    report = m.validate(raise_on_error=False)
    assert not report.ok
    assert all(cell.startswith("r=40,") for cell in report.gaps)
    with pytest.raises(InvalidDataError, match=r"claimed by no segment.*first r=40"):
        m.validate()
    with pytest.raises(InvalidDataError, match="failed validation"):
        m.assign(pd.DataFrame({"r_score": [40.0], "f_score": [1.0], "m_score": [1.0]}))


def test_overlap_error_and_first():
    spec = [
        {"name": "a", "label": "甲", "rules": {"r": [1, 3]}},
        {"name": "b", "label": "乙", "rules": {"r": [3, 5]}},
    ]
    with pytest.raises(
        InvalidDataError, match=r"25 cell\(s\) claimed by more than one.*'a' and 'b'"
    ):
        SegmentMap(spec).validate()
    first = SegmentMap(spec, overlap="first")
    assert first.validate().ok
    assert len(first.validate().overlaps) == 25
    out = first.assign(pd.DataFrame({"r_score": [3, 4], "f_score": [1, 1], "m_score": [1, 1]}))
    assert out["segment"].tolist() == ["a", "b"]


def test_union_of_boxes_and_fallback():
    m = SegmentMap(
        [{"name": "edges", "label": "两端", "rules": [{"r": 1}, {"r": 5}]}],
        fallback=("middle", "中间"),
    )
    out = m.assign({"r_score": [1, 3, 5], "f_score": [2, 2, 2], "m_score": [2, 2, 2]})
    assert out["segment"].tolist() == ["edges", "middle", "edges"]
    assert out["segment_label"].tolist() == ["两端", "中间", "两端"]
    assert list(out["segment"].cat.categories) == ["edges", "middle"]


def test_assign_on_cdnow_keeps_index_and_columns(cdnow_rfm):
    out = CLASSIC_SEGMENTS.assign(cdnow_rfm)
    assert out.index.equals(cdnow_rfm.index)
    assert out["segment"].notna().all()
    counts = out["segment"].value_counts()
    assert counts.sum() == 2357
    # CDNOW is one cohort acquired in Q1 1997: nobody who bought recently is a first-timer
    assert counts["new"] == 0
    assert counts["lost"] > 0
    assert counts["champions"] > 0


def test_value_tiers_on_cdnow(cdnow_rfm_percentile):
    out = VALUE_TIERS.assign(cdnow_rfm_percentile)
    high = out["segment"] == "high_value"
    assert high.any()
    assert (out.loc[high, ["r_score", "f_score", "m_score"]] >= 80).all().all()
    assert out["segment"].value_counts().sum() == len(out)


def test_round_trip_dict_and_json():
    for segment_map in (CLASSIC_SEGMENTS, VALUE_TIERS):
        text = segment_map.to_json()
        assert "高价值客户" in text or "冠军客户" in text  # not escaped
        again = SegmentMap.from_json(text)
        assert again.to_dict() == segment_map.to_dict()
        assert json.loads(text) == segment_map.to_dict()
        cells = grid(range(1, 6))
        pd.testing.assert_frame_equal(again.assign(cells), segment_map.assign(cells))


def _map(rules, **extra):
    return {"segments": [{"name": "ok", "label": "好", "rules": {"r": 1}}, rules], **extra}


INVALID = [
    (
        _map({"name": "x", "label": "某", "rules": {"q": [1, 2]}}),
        r"segments\[1\]\.rules\.q: unknown dimension 'q'",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"r": [4, 2]}}),
        r"segments\[1\]\.rules\.r\.between: min 4 > max 2",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"r": {"ge": 4, "lt": 3}}}),
        r"segments\[1\]\.rules\.r: .*empty",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"r": [0, 3]}}),
        r"segments\[1\]\.rules\.r\.between: bound 0 is outside the quintile scale",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"m": {"ge": 120}}}, scale="percentile"),
        r"segments\[1\]\.rules\.m\.ge: bound 120 is outside the percentile scale",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"f": {"ge": 2.5}}}),
        r"segments\[1\]\.rules\.f\.ge: bound 2.5 must be a whole number",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"f": {"gte": 2}}}),
        r"segments\[1\]\.rules\.f\.gte: unknown operator 'gte'",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"f": "high"}}),
        r"segments\[1\]\.rules\.f\.eq: expected a number, got 'high'",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"f": [1, 2, 3]}}),
        r"segments\[1\]\.rules\.f: a range needs \[low, high\]",
    ),
    (
        _map({"name": "x", "label": "某", "rules": [{"r": 1}, {"x": 2}]}),
        r"segments\[1\]\.rules\[1\]\.x: unknown dimension",
    ),
    (_map({"name": "x", "label": "某"}), r"segments\[1\]\.rules: missing"),
    (
        _map({"name": "", "label": "某", "rules": {"r": 1}}),
        r"segments\[1\]\.name: expected a non-empty",
    ),
    (
        _map({"name": "x", "rules": {"r": 1}}),
        r"segments\[1\]\.label: expected a non-empty Chinese label",
    ),
    (
        _map({"name": "ok", "label": "某", "rules": {"r": 2}}),
        r"segments\[1\]\.name: duplicate name 'ok'",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"r": 2}, "colour": 1}),
        r"segments\[1\]: unknown key",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"r": 2}}, scale="decile"),
        "scale must be one of",
    ),
    (
        _map({"name": "x", "label": "某", "rules": {"r": 2}}, fallback={"name": "y"}),
        r"fallback\.label",
    ),
    ({"segments": []}, "segments: at least one segment"),
    ({"segment": []}, r"<root>: unknown key"),
    ({}, "segments: missing"),
]


@pytest.mark.parametrize(("spec", "match"), INVALID)
def test_invalid_definitions_name_the_path(spec, match):
    with pytest.raises(InvalidDataError, match=match):
        SegmentMap.from_dict(spec)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (spec, match)
        for spec, match in INVALID
        if "segments" in spec and set(spec) <= {"segments", "scale", "fallback"}
    ],
)
def test_invalid_definitions_are_refused_where_used(spec, match):
    # Issue 17, one estimator idiom: the definition is stored as given and refused where it
    # is used; until 0.2 the constructor also refuses it, with a DeprecationWarning.
    m = SegmentMap([{"name": "all", "label": "全部", "rules": {"r": [1, 5]}}])
    m.segments = spec["segments"]  # stores the hyper-parameter as given, as set_params does
    for name in ("scale", "fallback"):
        if name in spec:
            setattr(m, name, spec[name])
    assert m.get_params()["segments"] is spec["segments"]
    scores = pd.DataFrame({"r_score": [1], "f_score": [1], "m_score": [1]})
    for use in (m.validate, lambda: m.assign(scores), m.to_dict, lambda: m.segments_):
        with pytest.raises(InvalidDataError, match=match):
            use()
    assert "SegmentMap(" in repr(m)  # a repr never raises
    with (
        pytest.warns(DeprecationWarning, match="SegmentMap constructor.*assign") as rec,
        pytest.raises(InvalidDataError, match=match),
    ):
        SegmentMap(**spec)
    assert rec[0].filename == __file__


def test_estimator_idiom():
    params = CLASSIC_SEGMENTS.get_params()
    assert set(params) == {"segments", "scale", "fallback", "overlap"}
    assert isinstance(params["segments"][0], dict)  # as given, not parsed
    clone = SegmentMap(**params)
    assert clone.to_dict() == CLASSIC_SEGMENTS.to_dict()
    assert [s.name for s in clone.segments_][:2] == ["champions", "loyal"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # valid definitions construct silently
        SegmentMap(**params)


def test_parsed_attributes_are_deprecated_views():
    with pytest.warns(DeprecationWarning, match=r"SegmentMap\.segments \(parsed\)") as rec:
        first = VALUE_TIERS.segments[0]
    assert rec[0].filename == __file__
    assert first == VALUE_TIERS.segments_[0]
    assert first.name == "high_value"
    with pytest.warns(DeprecationWarning, match=r"SegmentMap\.fallback \(parsed\)"):
        assert VALUE_TIERS.fallback.name == "regular"


def test_invalid_json():
    with pytest.raises(InvalidDataError, match="not valid JSON"):
        SegmentMap.from_json("{segments: ")


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        (
            {"r_score": [1, np.nan], "f_score": [1, 1], "m_score": [1, 1]},
            r"'r_score' must be finite.*row 1",
        ),
        (
            {"r_score": [1, 6], "f_score": [1, 1], "m_score": [1, 1]},
            r"'r_score' must hold quintile scores in \[1, 5\].*row 1 has r_score=6.0",
        ),
        (
            {"r_score": [1, 2], "f_score": [1, 2.5], "m_score": [1, 1]},
            r"'f_score'.*whole numbers.*row 1 has f_score=2.5",
        ),
        ({"r_score": [1, 2], "f_score": [1, 1]}, r"missing column\(s\) 'm_score'"),
    ],
)
def test_assign_bad_scores(scores, match):
    with pytest.raises(InvalidDataError, match=match):
        CLASSIC_SEGMENTS.assign(pd.DataFrame(scores))


def test_assign_custom_columns():
    frame = pd.DataFrame({"R": [5], "F": [5], "M": [5]})
    out = CLASSIC_SEGMENTS.assign(frame, columns={"r": "R", "f": "F", "m": "M"})
    assert out["segment"].iloc[0] == "champions"
    with pytest.raises(InvalidDataError, match="unknown dimension"):
        CLASSIC_SEGMENTS.assign(frame, columns={"x": "R"})
