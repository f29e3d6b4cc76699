"""Built-in segment maps: VALUE_TIERS (0-100 scale) and CLASSIC_SEGMENTS (1-5 scale)."""

from __future__ import annotations

from customer_value.segmentation._segment_map import SegmentMap

__all__ = ["CLASSIC_SEGMENTS", "VALUE_TIERS"]

VALUE_TIERS = SegmentMap(
    [
        {
            "name": "high_value",
            "label": "高价值客户",
            "rules": {"r": {"ge": 80}, "f": {"ge": 80}, "m": {"ge": 80}},
            "description": "recent, frequent and big spenders",
        },
        {
            "name": "potential",
            "label": "潜力客户",
            "rules": {"r": {"ge": 60}, "f": {"ge": 60}, "m": {"lt": 60}},
            "description": "recent and frequent buyers with modest spend",
        },
        {
            "name": "churn_risk",
            "label": "流失风险客户",
            "rules": {"r": {"lt": 40}, "f": {"ge": 40}, "m": {"ge": 40}},
            "description": "used to buy and spend, but not lately",
        },
        {
            "name": "low_value",
            "label": "低价值客户",
            "rules": {"r": {"lt": 40}, "f": {"lt": 40}, "m": {"lt": 40}},
            "description": "long ago, rarely, little",
        },
    ],
    scale="percentile",
    fallback={"name": "regular", "label": "一般客户"},
)
"""Value tiers on the 0-100 percentile scale (``rfm_scores(..., scale="percentile")``).

``high_value`` 高价值客户 (R, F, M >= 80), ``potential`` 潜力客户 (R, F >= 60, M < 60),
``churn_risk`` 流失风险客户 (R < 40, F >= 40, M >= 40), ``low_value`` 低价值客户
(R, F, M < 40); every other cell falls back to ``regular`` 一般客户.
"""

CLASSIC_SEGMENTS = SegmentMap(
    [
        {
            "name": "champions",
            "label": "冠军客户",
            "rules": {"r": 5, "f": [4, 5]},
            "description": "bought very recently and often",
        },
        {
            "name": "loyal",
            "label": "忠诚客户",
            "rules": {"r": [3, 4], "f": [4, 5]},
            "description": "buy often, fairly recently",
        },
        {
            "name": "potential_loyalist",
            "label": "潜在忠诚客户",
            "rules": {"r": [4, 5], "f": [2, 3]},
            "description": "recent buyers with a few purchases",
        },
        {
            "name": "new",
            "label": "新客户",
            "rules": {"r": 5, "f": 1},
            "description": "bought for the first time very recently",
        },
        {
            "name": "promising",
            "label": "有潜力客户",
            "rules": {"r": 4, "f": 1},
            "description": "recent first-time buyers",
        },
        {
            "name": "need_attention",
            "label": "需要关注客户",
            "rules": {"r": 3, "f": 3},
            "description": "average recency and frequency",
        },
        {
            "name": "about_to_sleep",
            "label": "即将沉睡客户",
            "rules": {"r": 3, "f": [1, 2]},
            "description": "below-average recency and frequency",
        },
        {
            "name": "at_risk",
            "label": "流失风险客户",
            "rules": {"r": [1, 2], "f": [3, 5], "m": [1, 3]},
            "description": "bought often, but long ago",
        },
        {
            "name": "cannot_lose",
            "label": "不能失去的客户",
            "rules": {"r": [1, 2], "f": [3, 5], "m": [4, 5]},
            "description": "bought often and spent a lot, but long ago",
        },
        {
            "name": "lost",
            "label": "已流失客户",
            "rules": {"r": [1, 2], "f": [1, 2]},
            "description": "bought rarely and long ago",
        },
    ],
    scale="quintile",
)
"""The ten classic RFM segments on the 1-5 scale, a partition of all 125 codes.

R and F decide the segment, following the widely used R x F grid; M separates
``cannot_lose`` (M 4-5) from ``at_risk`` (M 1-3) among customers who bought often
(F 3-5) but long ago (R 1-2). See the user guide for the table.
"""
