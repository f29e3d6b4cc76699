"""The public names of customer_value.segmentation exist and are documented with examples."""

from __future__ import annotations

import inspect

import customer_value.segmentation as segmentation

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
