"""Value types shared by the engine and the ledger: a purchase, a member's state, a result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

__all__ = ["NO_AMOUNT", "MemberState", "PointsResult", "PurchaseEvent", "TierStatus"]

#: The default discount, tax and shipping of a :class:`PurchaseEvent` (a valid amount:
#: the engine need not check it again)
NO_AMOUNT = Decimal(0)


@dataclass(frozen=True)
class PurchaseEvent:
    """One purchase by a member, the input of :func:`points_for_event`.

    Parameters
    ----------
    member_id : str
        The buying member.
    at : datetime.datetime or pandas.Timestamp
        When the purchase happened (tz-naive, local time of the program). Its
        calendar date decides promotions, the birth month and the day/month caps.
    subtotal : Decimal
        Price of the goods before discounts, tax and shipping (>= 0).
    discount : Decimal, default 0
        Discounts granted (>= 0), subtracted from the subtotal.
    tax : Decimal, default 0
        Tax charged (>= 0); eligible only when the program includes tax.
    shipping : Decimal, default 0
        Shipping charged (>= 0); eligible only when the program includes shipping.
    category : str or None, default None
        Product category (for category multipliers and category promotions).
    transaction_id : str or None, default None
        The retailer's id of the purchase, carried through untouched.

    Examples
    --------
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from customer_value.loyalty import PurchaseEvent
    >>> e = PurchaseEvent("M1", dt.datetime(2024, 5, 3), Decimal("21.50"), category="fresh")
    >>> e.subtotal - e.discount
    Decimal('21.50')
    """

    member_id: str
    at: dt.datetime
    subtotal: Decimal
    discount: Decimal = NO_AMOUNT
    tax: Decimal = NO_AMOUNT
    shipping: Decimal = NO_AMOUNT
    category: str | None = None
    transaction_id: str | None = None


@dataclass(frozen=True)
class MemberState:
    """What the engine needs to know about a member before a purchase.

    The ledger keeps this up to date; :func:`advance_state` gives the state after
    a purchase, so replaying a member's purchases in time order through
    :func:`points_for_event` and :func:`advance_state` reproduces
    :func:`points_for_transactions`.

    Parameters
    ----------
    tier : str or None, default None
        Current tier name (its ``earn_multiplier`` applies); ``None`` is no tier.
    birth_month : int or None, default None
        Month of birth, 1-12, for the birthday bonus.
    referred_by : str or None, default None
        Member id of the referrer, for the referral bonus.
    qualifying_purchases : int, default 0
        Number of earlier qualifying purchases (0 means the next one is the first).
    last_purchase_at : datetime or None, default None
        Timestamp of the latest purchase counted in ``points_on_day`` and
        ``points_in_month``.
    points_on_day : int, default 0
        Capped earn points (bonuses excluded) on the calendar day of
        ``last_purchase_at``; ignored for a purchase on another day.
    points_in_month : int, default 0
        The same for the calendar month of ``last_purchase_at``.
    birthday_bonus_year : int or None, default None
        Calendar year in which the fixed birthday bonus was last awarded.

    Examples
    --------
    >>> from customer_value.loyalty import MemberState
    >>> MemberState(tier="gold", birth_month=5).qualifying_purchases
    0
    """

    tier: str | None = None
    birth_month: int | None = None
    referred_by: str | None = None
    qualifying_purchases: int = 0
    last_purchase_at: dt.datetime | None = None
    points_on_day: int = 0
    points_in_month: int = 0
    birthday_bonus_year: int | None = None


@dataclass(frozen=True)
class PointsResult:
    """Points for one purchase with the full breakdown.

    ``points = earn_points + bonus_points``; ``earn_points`` is
    ``rounded_points`` minus the three cap reductions.

    Parameters
    ----------
    member_id : str
        The buying member.
    eligible_amount : Decimal
        Eligible amount (see :class:`~customer_value.loyalty.EligibleAmount`).
    qualifies : bool
        Eligible amount > 0 and >= the program's minimum spend.
    base_points : Decimal
        ``eligible_amount * base_rate`` (0 when not qualifying).
    category_multiplier, promotion_multiplier, tier_multiplier, birthday_multiplier : Decimal
        The factors applied (1 when none applies).
    promotions : tuple of str
        Names of the active promotions.
    raw_points : Decimal
        Exact product of base points and the four multipliers, before rounding.
    rounded_points : int
        ``raw_points`` rounded once with the program's rounding mode.
    rounding_adjustment : Decimal
        ``rounded_points - raw_points``.
    cap_transaction, cap_day, cap_month : int
        Points removed by the per-transaction, per-day and per-month caps.
    earn_points : int
        Points after caps.
    first_purchase_bonus, birthday_bonus : int
        Fixed bonus points awarded to this member (outside the caps).
    bonus_points : int
        Sum of the bonuses.
    points : int
        Total points credited to the member.
    referrer_id : str or None
        The referrer to credit, when this purchase triggers the referral bonus.
    referrer_points : int
        Points for the referrer (0 unless triggered).

    Examples
    --------
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from customer_value.loyalty import Program, PurchaseEvent, points_for_event
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "caps": {"per_transaction": 10}})
    >>> r = points_for_event(p, PurchaseEvent("M1", dt.datetime(2024, 5, 3), Decimal(25)))
    >>> r.rounded_points, r.cap_transaction, r.points
    (25, 15, 10)
    """

    member_id: str
    eligible_amount: Decimal
    qualifies: bool
    base_points: Decimal
    category_multiplier: Decimal
    promotion_multiplier: Decimal
    tier_multiplier: Decimal
    birthday_multiplier: Decimal
    promotions: tuple[str, ...]
    raw_points: Decimal
    rounded_points: int
    rounding_adjustment: Decimal
    cap_transaction: int
    cap_day: int
    cap_month: int
    earn_points: int
    first_purchase_bonus: int
    birthday_bonus: int
    bonus_points: int
    points: int
    referrer_id: str | None
    referrer_points: int


@dataclass(frozen=True)
class TierStatus:
    """A member's tier after evaluation, with its privileges.

    Parameters
    ----------
    tier : str or None
        Tier name, ``None`` when the member qualifies for no level.
    privileges : tuple of str
        The tier's privileges.
    earn_multiplier : Decimal
        The tier's earn multiplier (1 without a tier).
    qualifying_value : Decimal
        Points or spend counted in the window.
    window_start, evaluated_at : pandas.Timestamp
        The rolling window ``(window_start, evaluated_at]``.
    qualified_tier : str or None
        The tier the window alone qualifies for (before the downgrade policy).
    next_tier : str or None
        The next level up, if any.
    to_next_tier : Decimal or None
        Points or spend still needed for ``next_tier``.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty import Program, evaluate_tier
    >>> p = Program.from_dict({"name": "p", "base_rate": "1", "tiers": {"basis": "points",
    ...     "levels": [{"name": "silver", "threshold": 100}]}})
    >>> history = pd.DataFrame({"timestamp": pd.to_datetime(["2024-01-01"]), "points": [150]})
    >>> evaluate_tier(p, history, "2024-06-01").tier
    'silver'
    """

    tier: str | None
    privileges: tuple[str, ...]
    earn_multiplier: Decimal
    qualifying_value: Decimal
    window_start: pd.Timestamp
    evaluated_at: pd.Timestamp
    qualified_tier: str | None
    next_tier: str | None
    to_next_tier: Decimal | None
