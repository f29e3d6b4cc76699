"""Customer-base models: purchase frequency and dropout (BTYD).

``BetaGeoModel`` (BG/NBD), ``ModifiedBetaGeoModel`` (MBG/NBD) and ``ParetoNBDModel``
take the per-customer summary of :func:`customer_value.data.summarize_transactions`
(``frequency``, ``recency``, ``T``) and predict future purchases and the probability that
each customer is still active. ``GammaGammaModel`` models spend and
:func:`customer_lifetime_value` combines both into discounted values with explicit time
units. ``BetaGeoBetaBinomModel`` (BG/BB) covers discrete purchase opportunities and
``ShiftedBetaGeoModel`` (sBG) contractual renewals.
"""

from customer_value.clv._bgbb import BetaGeoBetaBinomModel
from customer_value.clv._bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from customer_value.clv._clv import (
    MAX_STEPS,
    SpendModel,
    continuous_discount_rate,
    customer_lifetime_value,
)
from customer_value.clv._compare import COMPARISON_COLUMNS, compare_models
from customer_value.clv._gamma_gamma import (
    GammaGammaModel,
    SpendCorrelation,
    frequency_spend_correlation,
)
from customer_value.clv._intervals import (
    clv_intervals,
    prediction_intervals,
    purchase_count_intervals,
)
from customer_value.clv._pareto_nbd import ParetoNBDModel
from customer_value.clv._sbg import ShiftedBetaGeoModel, cohort_from_survivors
from customer_value.clv._units import UNITS_PER_YEAR, units_per_year

__all__ = [
    "COMPARISON_COLUMNS",
    "MAX_STEPS",
    "UNITS_PER_YEAR",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "SpendCorrelation",
    "SpendModel",
    "clv_intervals",
    "cohort_from_survivors",
    "compare_models",
    "continuous_discount_rate",
    "customer_lifetime_value",
    "frequency_spend_correlation",
    "prediction_intervals",
    "purchase_count_intervals",
    "units_per_year",
]
