"""Measuring a campaign: assignment, A/B comparisons, uplift by segment, power."""

from customer_value.experiment._assignment import assign_groups, hash_uniform
from customer_value.experiment._compare import (
    MeanComparison,
    ProportionComparison,
    compare_means,
    compare_proportions,
    newcombe_interval,
    wilson_interval,
)
from customer_value.experiment._power import (
    PowerAnalysis,
    mde_means,
    mde_proportions,
    sample_size_means,
    sample_size_proportions,
)
from customer_value.experiment._uplift import (
    UPLIFT_COLUMNS,
    IncrementalValue,
    adjust_p_values,
    incremental_value,
    uplift_by_segment,
)

__all__ = [
    "UPLIFT_COLUMNS",
    "IncrementalValue",
    "MeanComparison",
    "PowerAnalysis",
    "ProportionComparison",
    "adjust_p_values",
    "assign_groups",
    "compare_means",
    "compare_proportions",
    "hash_uniform",
    "incremental_value",
    "mde_means",
    "mde_proportions",
    "newcombe_interval",
    "sample_size_means",
    "sample_size_proportions",
    "uplift_by_segment",
    "wilson_interval",
]
