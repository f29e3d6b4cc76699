"""Customer-base models: purchase frequency and dropout (BTYD).

``BetaGeoModel`` (BG/NBD), ``ModifiedBetaGeoModel`` (MBG/NBD) and ``ParetoNBDModel``
take the per-customer summary of :func:`customer_value.data.summarize_transactions`
(``frequency``, ``recency``, ``T``) and predict future purchases and the probability that
each customer is still active.
"""

from customer_value.clv._bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from customer_value.clv._pareto_nbd import ParetoNBDModel

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel", "ParetoNBDModel"]
