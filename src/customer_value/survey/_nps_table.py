"""The NPS formulas on arrays of counts, and the per-group table both ``nps_by`` paths return.

The pandas path (``_nps.nps_by``) and the engine path (``_nps_engine.nps_by_engine``)
differ only in how they count; from the (weighted) counts of each group on, they share
this module, so the two tables are built by one piece of code.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import FloatArray, z_critical
from customer_value.errors import CustomerValueWarning

__all__ = ["NPS_COLUMNS", "group_table", "nps_arrays"]

#: Columns of the table returned by ``nps_by``, in order.
NPS_COLUMNS = (
    "score",
    "standard_error",
    "ci_low",
    "ci_high",
    "n",
    "n_missing",
    "n_effective",
    "detractors",
    "passives",
    "promoters",
    "share_detractors",
    "share_passives",
    "share_promoters",
)


def nps_arrays(
    detractors: FloatArray,
    passives: FloatArray,
    promoters: FloatArray,
    n_effective: FloatArray,
    confidence: float,
) -> dict[str, FloatArray]:
    """Score, standard error and Wald interval for arrays of (weighted) counts.

    The NPS is ``100 * mean(D)`` with the indicator ``D = +1`` for a promoter, ``-1`` for a
    detractor and ``0`` otherwise; ``Var(D) = p+ + p- - (p+ - p-)^2`` (Rocks 2016, eq. 2).
    """
    total = detractors + passives + promoters
    share_det = detractors / total
    share_pas = passives / total
    share_pro = promoters / total
    diff = share_pro - share_det
    # clip tiny negative rounding residue: the variance of a bounded indicator is >= 0
    variance = np.maximum(share_pro + share_det - diff * diff, 0.0)
    se = 100.0 * np.sqrt(variance / n_effective)
    z = z_critical(confidence)
    score = 100.0 * diff
    return {
        "score": score,
        "standard_error": se,
        "ci_low": np.clip(score - z * se, -100.0, 100.0),
        "ci_high": np.clip(score + z * se, -100.0, 100.0),
        "share_detractors": share_det,
        "share_passives": share_pas,
        "share_promoters": share_pro,
    }


def group_table(
    groups: pd.Index,
    weighted: FloatArray,
    *,
    n_valid: FloatArray,
    n_missing: FloatArray,
    n_effective: FloatArray,
    confidence: float,
    count_scale: Any = 1.0,
    stacklevel: int,
) -> pd.DataFrame:
    """The ``nps_by`` table from each group's (weighted, scaled) category counts.

    ``weighted`` has one row per group and the columns detractors, passives, promoters;
    the reported counts are ``weighted * count_scale`` (a number or one per group), the
    shares come from ``weighted`` itself. Groups whose counts sum to zero are left out
    with a warning (``stacklevel`` points it at the caller of ``nps_by``).
    """
    keep = weighted.sum(axis=1) > 0
    if not keep.all():
        dropped = list(groups[~keep][:5])
        warnings.warn(
            f"nps_by: {int((~keep).sum())} group(s) without a valid (or positively weighted) "
            f"rating were left out, e.g. {dropped}",
            CustomerValueWarning,
            stacklevel=stacklevel + 1,
        )
    kept = weighted[keep]
    n_eff = np.asarray(n_effective, dtype=np.float64)[keep]
    scale = count_scale[keep] if isinstance(count_scale, np.ndarray) else count_scale
    arr = nps_arrays(kept[:, 0], kept[:, 1], kept[:, 2], n_eff, confidence)
    out = pd.DataFrame(
        {
            "score": arr["score"],
            "standard_error": arr["standard_error"],
            "ci_low": arr["ci_low"],
            "ci_high": arr["ci_high"],
            "n": np.asarray(n_valid)[keep].astype(np.int64),
            "n_missing": np.asarray(n_missing)[keep].astype(np.int64),
            "n_effective": n_eff,
            "detractors": kept[:, 0] * scale,
            "passives": kept[:, 1] * scale,
            "promoters": kept[:, 2] * scale,
            "share_detractors": arr["share_detractors"],
            "share_passives": arr["share_passives"],
            "share_promoters": arr["share_promoters"],
        },
        index=groups[keep],
    )
    out.attrs["confidence"] = confidence
    return out
