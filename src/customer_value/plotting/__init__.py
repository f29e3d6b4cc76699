"""Plots for fitted models and result tables ([plot] extra; matplotlib imported lazily).

Every function takes fitted objects or result frames, accepts ``ax=`` and returns the
matplotlib ``Axes``.
"""

from customer_value.plotting._base import MissingExtraError

__all__ = ["MissingExtraError"]
