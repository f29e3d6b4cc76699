"""Customer segmentation: RFM scores and segment maps, value x loyalty matrix,
demographic/geographic bins and rules, behavioural features and clusters.

Every segment carries an English identifier (``segment``) and a Chinese label
(``segment_label``).
"""

from customer_value.segmentation._behaviour import behavioural_features
from customer_value.segmentation._bins import bin_segments
from customer_value.segmentation._builtin import CLASSIC_SEGMENTS, VALUE_TIERS
from customer_value.segmentation._cluster import ClusterSegmenter
from customer_value.segmentation._matrix import QUADRANTS, value_loyalty_matrix
from customer_value.segmentation._profile import segment_profile
from customer_value.segmentation._rfm import rfm_scores
from customer_value.segmentation._rules import OPERATORS, RuleSegmenter
from customer_value.segmentation._segment_map import SegmentMap
from customer_value.segmentation._segment_spec import Interval, Segment, SegmentMapReport

__all__ = [
    "CLASSIC_SEGMENTS",
    "OPERATORS",
    "QUADRANTS",
    "VALUE_TIERS",
    "ClusterSegmenter",
    "Interval",
    "RuleSegmenter",
    "Segment",
    "SegmentMap",
    "SegmentMapReport",
    "behavioural_features",
    "bin_segments",
    "rfm_scores",
    "segment_profile",
    "value_loyalty_matrix",
]
