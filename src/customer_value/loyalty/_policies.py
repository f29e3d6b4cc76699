"""The policies of a loyalty programme: earn rules, tiers, expiry and returns.

Frozen dataclasses, built and validated by the configuration grammar
(:mod:`customer_value.loyalty._program_grammar`) and held by a
:class:`~customer_value.loyalty.Program`. Money, rates and multipliers are
:class:`decimal.Decimal`; points are ``int``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = [
    "BirthdayBonus",
    "CategoryMultiplier",
    "EarnRule",
    "EligibleAmount",
    "ExpiryPolicy",
    "FirstPurchaseBonus",
    "Promotion",
    "ReferralBonus",
    "ReturnPolicy",
    "Tier",
    "TierPolicy",
]

RoundingMode = Literal["floor", "half_up", "half_even"]
TierBasis = Literal["points", "spend"]
DowngradePolicy = Literal["anniversary", "never"]
PromotionStacking = Literal["max", "multiply"]
ClawbackPolicy = Literal["proportional", "none"]

ROUNDING_MODES: tuple[str, ...] = ("floor", "half_up", "half_even")
TIER_BASES: tuple[str, ...] = ("points", "spend")
DOWNGRADE_POLICIES: tuple[str, ...] = ("anniversary", "never")
PROMOTION_STACKINGS: tuple[str, ...] = ("max", "multiply")
CLAWBACK_POLICIES: tuple[str, ...] = ("proportional", "none")
EARN_RULE_TYPES: tuple[str, ...] = (
    "category",
    "promotion",
    "first_purchase",
    "birthday_month",
    "referral",
)
#: Multipliers and the base rate may carry at most this many decimal places.
MAX_RATE_DECIMALS = 6
#: Largest base rate or multiplier a programme may set.
MAX_RATE = 10**12
#: Largest number of points anywhere: a configured bonus, cap or threshold, and the
#: points of one purchase (so that sums of entries fit a 64-bit integer column).
MAX_POINTS = 10**15
#: Largest money amount in minor units (a purchase, a threshold, a minimum spend).
MAX_MONEY_MINOR = 10**18
#: Longest expiry period and tier window, in months (100 years).
MAX_MONTHS = 1200
#: Longest pending period, in days (100 years).
MAX_PENDING_DAYS = 36_500
#: At most this many promotions (the vectorised engine encodes active sets as bit masks).
MAX_PROMOTIONS = 62


# --------------------------------------------------------------------------- dataclasses
@dataclass(frozen=True)
class EligibleAmount:
    """Which parts of a purchase count towards points.

    The eligible amount of a purchase is ``subtotal - discount`` (floored at 0),
    plus ``tax`` when ``include_tax`` and ``shipping`` when ``include_shipping``.

    Parameters
    ----------
    include_tax : bool, default False
        Add the purchase's tax to the eligible amount.
    include_shipping : bool, default False
        Add the purchase's shipping charge to the eligible amount.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> Program.from_dict({"name": "p", "base_rate": "1",
    ...                    "eligible_amount": {"include_tax": True}}).eligible_amount
    EligibleAmount(include_tax=True, include_shipping=False)
    """

    include_tax: bool = False
    include_shipping: bool = False


@dataclass(frozen=True)
class CategoryMultiplier:
    """Earn ``multiplier`` times the base points on purchases in ``category``.

    Parameters
    ----------
    category : str
        Category label as it appears in the purchases' ``category`` field.
    multiplier : Decimal
        Factor (> 0) applied to the base points; categories without a rule use 1.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "earn_rules": [
    ...     {"type": "category", "category": "fresh", "multiplier": "2"}]})
    >>> p.earn_rules[0]
    CategoryMultiplier(category='fresh', multiplier=Decimal('2'))
    """

    category: str
    multiplier: Decimal


@dataclass(frozen=True)
class Promotion:
    """A multiplier active on the calendar dates ``start`` to ``end`` (both inclusive).

    Parameters
    ----------
    name : str
        Unique name, reported in the points breakdown.
    start, end : datetime.date
        First and last day of the promotion (inclusive), compared with the date
        of the purchase's timestamp.
    multiplier : Decimal
        Factor (> 0) applied to the points of matching purchases.
    categories : tuple of str or None, default None
        Restrict the promotion to these categories; ``None`` means every purchase.

    Examples
    --------
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from customer_value.loyalty import Promotion
    >>> promo = Promotion("year-end", dt.date(2024, 12, 20), dt.date(2024, 12, 31), Decimal(3))
    >>> promo.is_active(dt.date(2024, 12, 31), "fresh"), promo.is_active(dt.date(2025, 1, 1), None)
    (True, False)
    """

    name: str
    start: dt.date
    end: dt.date
    multiplier: Decimal
    categories: tuple[str, ...] | None = None

    def is_active(self, on: dt.date, category: str | None) -> bool:
        """Whether the promotion applies to a purchase on ``on`` in ``category``.

        Parameters
        ----------
        on : datetime.date
            Date of the purchase.
        category : str or None
            Category of the purchase.

        Returns
        -------
        bool
            ``start <= on <= end`` and the category matches (or no restriction).

        Examples
        --------
        >>> import datetime as dt
        >>> from decimal import Decimal
        >>> from customer_value.loyalty import Promotion
        >>> Promotion("x", dt.date(2024, 1, 1), dt.date(2024, 1, 31), Decimal(2),
        ...           ("fresh",)).is_active(dt.date(2024, 1, 31), "wine")
        False
        """
        if not (self.start <= on <= self.end):
            return False
        return self.categories is None or category in self.categories


@dataclass(frozen=True)
class FirstPurchaseBonus:
    """Fixed ``points`` on a member's first qualifying purchase.

    Parameters
    ----------
    points : int
        Bonus points (>= 0), added after rounding and outside the caps.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> Program.from_dict({"name": "p", "base_rate": "1", "earn_rules": [
    ...     {"type": "first_purchase", "points": 500}]}).first_purchase_bonus
    FirstPurchaseBonus(points=500)
    """

    points: int


@dataclass(frozen=True)
class BirthdayBonus:
    """Bonus in the member's birth month.

    Parameters
    ----------
    points : int, default 0
        Fixed points (>= 0) on the first qualifying purchase in the birth month,
        at most once per calendar year.
    multiplier : Decimal, default 1
        Factor (> 0) applied to the points of every qualifying purchase in the
        birth month.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> Program.from_dict({"name": "p", "base_rate": "1", "earn_rules": [
    ...     {"type": "birthday_month", "points": 1000, "multiplier": "2"}]}).birthday_bonus
    BirthdayBonus(points=1000, multiplier=Decimal('2'))
    """

    points: int = 0
    multiplier: Decimal = Decimal(1)


@dataclass(frozen=True)
class ReferralBonus:
    """Fixed ``points`` for the referrer when a referred member makes a first qualifying purchase.

    Parameters
    ----------
    points : int
        Points (>= 0) credited to the referrer (``PointsResult.referrer_points``).

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> Program.from_dict({"name": "p", "base_rate": "1", "earn_rules": [
    ...     {"type": "referral", "points": 300}]}).referral_bonus
    ReferralBonus(points=300)
    """

    points: int


EarnRule = CategoryMultiplier | Promotion | FirstPurchaseBonus | BirthdayBonus | ReferralBonus


@dataclass(frozen=True)
class Tier:
    """One tier level.

    Parameters
    ----------
    name : str
        Unique tier name.
    threshold : Decimal
        Qualifying points or spend (see :class:`TierPolicy`) within the rolling
        window needed to hold this tier; strictly increasing along the levels.
    earn_multiplier : Decimal, default 1
        Factor (> 0) applied to the points of members in this tier.
    privileges : tuple of str, default ()
        Free-form privileges, e.g. ``("exclusive offers", "priority purchase")``.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from customer_value.loyalty import Tier
    >>> Tier("gold", Decimal(200000), Decimal(2), ("priority purchase",)).earn_multiplier
    Decimal('2')
    """

    name: str
    threshold: Decimal
    earn_multiplier: Decimal = Decimal(1)
    privileges: tuple[str, ...] = ()


@dataclass(frozen=True)
class TierPolicy:
    """How members qualify for tiers.

    Parameters
    ----------
    levels : tuple of Tier
        Ordered from lowest to highest threshold.
    basis : {"points", "spend"}, default "spend"
        Qualify on points earned or on eligible spend.
    window_months : int, default 12
        Length of the rolling qualification window in calendar months.
    downgrade : {"anniversary", "never"}, default "anniversary"
        ``"anniversary"``: a member may drop a tier only when re-evaluated on or
        after the anniversary of reaching the current tier; ``"never"``: tiers
        only go up. Upgrades are always immediate.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "tiers": {
    ...     "basis": "points", "levels": [{"name": "silver", "threshold": 1000}]}})
    >>> p.tiers.basis, p.tiers.window_months, p.tiers.downgrade, p.tiers.level("silver").name
    ('points', 12, 'anniversary', 'silver')
    """

    levels: tuple[Tier, ...]
    basis: TierBasis = "spend"
    window_months: int = 12
    downgrade: DowngradePolicy = "anniversary"

    def level(self, name: str) -> Tier:
        """The tier called ``name``.

        Parameters
        ----------
        name : str
            Tier name.

        Returns
        -------
        Tier
            The matching level.

        Raises
        ------
        KeyError
            If no level has that name.

        Examples
        --------
        >>> from decimal import Decimal
        >>> from customer_value.loyalty import Tier, TierPolicy
        >>> TierPolicy((Tier("a", Decimal(0)),)).level("a").threshold
        Decimal('0')
        """
        for tier in self.levels:
            if tier.name == name:
                return tier
        raise KeyError(name)


@dataclass(frozen=True)
class ExpiryPolicy:
    """When earned points expire.

    Parameters
    ----------
    months : int or None, default None
        Points expire ``months`` calendar months after they are earned; ``None``
        means points never expire.
    clamp_to_month_end : bool, default False
        Extend the expiry to the end of the calendar month it falls in.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> Program.from_dict({"name": "p", "base_rate": "1", "expiry": {"months": 12}}).expiry
    ExpiryPolicy(months=12, clamp_to_month_end=False)
    """

    months: int | None = None
    clamp_to_month_end: bool = False


@dataclass(frozen=True)
class ReturnPolicy:
    """What a refund does to points.

    Parameters
    ----------
    clawback : {"proportional", "none"}, default "proportional"
        ``"proportional"``: claw back the purchase's points in proportion to the
        refunded share of its eligible amount (rounded with the program's
        rounding mode); ``"none"``: keep them.
    allow_negative_balance : bool, default False
        When the points to claw back exceed the available balance, let the
        balance go negative; otherwise claw back what is available and record
        the shortfall.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> Program.from_dict({"name": "p", "base_rate": "1"}).returns
    ReturnPolicy(clawback='proportional', allow_negative_balance=False)
    """

    clawback: ClawbackPolicy = "proportional"
    allow_negative_balance: bool = False
