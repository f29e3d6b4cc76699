"""The public names of customer_value.segmentation exist, are documented with examples and
refuse duplicated column names."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

import customer_value.segmentation as segmentation
from customer_value.errors import InvalidDataError

EXPECTED = {
    "CLASSIC_SEGMENTS",
    "ClusterSegmenter",
    "Interval",
    "OPERATORS",
    "QUADRANTS",
    "RuleSegmenter",
    "Segment",
    "SegmentMap",
    "SegmentMapReport",
    "VALUE_TIERS",
    "behavioural_features",
    "bin_segments",
    "rfm_scores",
    "segment_profile",
    "value_loyalty_matrix",
}


def test_all_lists_the_public_names():
    assert set(segmentation.__all__) == EXPECTED
    for name in segmentation.__all__:
        assert hasattr(segmentation, name)


def test_public_callables_have_numpydoc_examples():
    for name in segmentation.__all__:
        obj = getattr(segmentation, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        assert "Examples" in doc, name
        if inspect.isfunction(obj):
            for section in ("Parameters", "Returns", "Raises", "References"):
                assert section in doc, f"{name} lacks {section}"
        for attr, member in vars(obj).items() if inspect.isclass(obj) else ():
            if attr.startswith("_") or not inspect.isfunction(member):
                continue
            assert "Examples" in (inspect.getdoc(member) or ""), f"{name}.{attr}"


def test_modules_are_private():
    import pkgutil

    names = [m.name for m in pkgutil.iter_modules(segmentation.__path__)]
    assert names
    assert all(n.startswith("_") for n in names)


def _dup(frame, column):
    """``frame`` with ``column`` repeated (two columns of one name)."""
    return pd.concat([frame, frame[[column]]], axis=1)


@pytest.mark.parametrize(
    ("call", "column"),
    [
        (lambda tx: segmentation.rfm_scores(_dup(tx, "amount")), "amount"),
        (lambda tx: segmentation.behavioural_features(_dup(tx, "amount")), "amount"),
        (
            lambda tx: segmentation.CLASSIC_SEGMENTS.assign(
                _dup(segmentation.rfm_scores(tx), "r_score")
            ),
            "r_score",
        ),
        (
            lambda tx: segmentation.RuleSegmenter(
                [{"name": "a", "label": "甲", "when": {"amount": {"gt": 0}}}]
            ).assign(_dup(tx, "amount")),
            "amount",
        ),
        (
            lambda tx: segmentation.bin_segments(
                _dup(tx, "amount"), "amount", edges=[0, 1e6], labels=["all"]
            ),
            "amount",
        ),
        (lambda tx: segmentation.ClusterSegmenter(2).fit(_dup(tx[["amount"]], "amount")), "amount"),
        (
            lambda tx: segmentation.segment_profile(_dup(tx.assign(segment="a"), "segment")),
            "segment",
        ),
        (
            lambda tx: segmentation.value_loyalty_matrix(
                _dup(segmentation.rfm_scores(tx), "monetary"),
                value_col="monetary",
                loyalty_col="frequency",
            ),
            "monetary",
        ),
    ],
)
def test_duplicated_column_names_are_refused(cdnow_transactions, call, column):
    # issue 17, bug 8: duplicated column names used to crash with AttributeError
    tx = cdnow_transactions.head(200)
    with pytest.raises(InvalidDataError, match=f"column names must be unique, but '{column}'"):
        call(tx)
