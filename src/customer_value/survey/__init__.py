"""Survey scoring: NPS, CSAT, CES, Likert scales, Cronbach's alpha, Kano and key drivers.

Every function takes plain arrays or a DataFrame of answers and validates them at the
boundary: off-scale, non-numeric or unknown answers raise
:class:`~customer_value.errors.InvalidDataError` naming the row and the value.
"""

from customer_value.survey._drivers import importance_performance, key_driver_analysis
from customer_value.survey._kano import KANO_TABLE, kano_category, kano_summary
from customer_value.survey._likert import reverse_code, scale_scores
from customer_value.survey._nps import (
    NPSComparison,
    NPSResult,
    compare_nps,
    net_promoter_score,
    nps_by,
)
from customer_value.survey._reliability import AlphaResult, cronbach_alpha, item_analysis
from customer_value.survey._satisfaction import CESResult, CSATResult, ces, csat

__all__ = [
    "KANO_TABLE",
    "AlphaResult",
    "CESResult",
    "CSATResult",
    "NPSComparison",
    "NPSResult",
    "ces",
    "compare_nps",
    "cronbach_alpha",
    "csat",
    "importance_performance",
    "item_analysis",
    "kano_category",
    "kano_summary",
    "key_driver_analysis",
    "net_promoter_score",
    "nps_by",
    "reverse_code",
    "scale_scores",
]
