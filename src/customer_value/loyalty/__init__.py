"""Loyalty programs: validated point rules, the pure points engine, tiers and expiry.

Contract for the ledger (``customer_value.loyalty`` items 3-6 build on this)
---------------------------------------------------------------------------
Program (``Program.from_dict`` / ``from_json`` / ``to_dict``; frozen, validated)
    ``name``, ``currency``, ``currency_decimals``, ``base_rate`` (Decimal points
    per currency unit), ``eligible_amount`` (:class:`EligibleAmount`:
    ``include_tax``, ``include_shipping``), ``earn_rules`` (tuple of
    :class:`CategoryMultiplier`, :class:`Promotion`, :class:`FirstPurchaseBonus`,
    :class:`BirthdayBonus`, :class:`ReferralBonus`; views ``category_multipliers``,
    ``promotions``, ``first_purchase_bonus``, ``birthday_bonus``,
    ``referral_bonus``), ``promotion_stacking`` ("max"|"multiply"),
    ``minimum_spend`` (Decimal), ``cap_per_transaction`` / ``cap_per_day`` /
    ``cap_per_month`` (int points or None), ``rounding``
    ("floor"|"half_up"|"half_even", once per purchase), ``tiers``
    (:class:`TierPolicy` or None: ``levels`` of :class:`Tier` with ``name``,
    ``threshold``, ``earn_multiplier``, ``privileges``; ``basis``
    "points"|"spend"; ``window_months``; ``downgrade`` "anniversary"|"never"),
    ``expiry`` (:class:`ExpiryPolicy`: ``months`` or None = never,
    ``clamp_to_month_end``), ``pending_days`` (int), ``returns``
    (:class:`ReturnPolicy`: ``clawback`` "proportional"|"none",
    ``allow_negative_balance``).

Events and state
    :class:`PurchaseEvent` (``member_id``, ``at``, ``subtotal``, ``discount``,
    ``tax``, ``shipping``, ``category``, ``transaction_id``; money as Decimal) is
    the only event type the engine prices. Redemptions, refunds, adjustments and
    expiries are ledger operations; the engine supplies their arithmetic through
    :func:`clawback_points`, :func:`expiry_date` and :func:`available_at`.
    :class:`MemberState` (``tier``, ``birth_month``, ``referred_by``,
    ``qualifying_purchases``, ``last_purchase_at``, ``points_on_day``,
    ``points_in_month``, ``birthday_bonus_year``) is what the engine needs to know
    about the member before a purchase; :func:`advance_state` returns the state
    after it.

Results
    :class:`PointsResult` (``points`` = ``earn_points`` + ``bonus_points``, with
    the breakdown; ``referrer_id`` / ``referrer_points`` for the referral bonus,
    to be credited to the referrer) and :class:`TierStatus` from
    :func:`evaluate_tier` (``tier``, ``privileges``, ``earn_multiplier``,
    ``qualifying_value`` ...); :func:`evaluate_tiers` does the same for every
    member of a history table (for reports).

Points are ``int``; money and multipliers are :class:`decimal.Decimal` (the
vectorised engine works in integer minor units); floats are never used for money.
"""

from customer_value.loyalty import accounting
from customer_value.loyalty._event import advance_state, points_for_event
from customer_value.loyalty._expiry import (
    available_at,
    clawback_points,
    expiry_date,
    expiry_dates,
)
from customer_value.loyalty._ledger import Balance, ImportSummary, Ledger, LedgerReceipt
from customer_value.loyalty._policies import (
    BirthdayBonus,
    CategoryMultiplier,
    EarnRule,
    EligibleAmount,
    ExpiryPolicy,
    FirstPurchaseBonus,
    Promotion,
    ReferralBonus,
    ReturnPolicy,
    Tier,
    TierPolicy,
)
from customer_value.loyalty._program import Program
from customer_value.loyalty._reports import FLOW_COLUMNS, points_flow, redemption_rate, tier_report
from customer_value.loyalty._table import POINTS_COLUMNS, points_for_transactions
from customer_value.loyalty._tiers import evaluate_tier, evaluate_tiers
from customer_value.loyalty._types import MemberState, PointsResult, PurchaseEvent, TierStatus
from customer_value.loyalty.stores import (
    MemoryStore,
    PostgresStore,
    SQLiteStore,
    Store,
    StoreTransaction,
)

__all__ = [
    "FLOW_COLUMNS",
    "POINTS_COLUMNS",
    "Balance",
    "BirthdayBonus",
    "CategoryMultiplier",
    "EarnRule",
    "EligibleAmount",
    "ExpiryPolicy",
    "FirstPurchaseBonus",
    "ImportSummary",
    "Ledger",
    "LedgerReceipt",
    "MemberState",
    "MemoryStore",
    "PointsResult",
    "PostgresStore",
    "Program",
    "Promotion",
    "PurchaseEvent",
    "ReferralBonus",
    "ReturnPolicy",
    "SQLiteStore",
    "Store",
    "StoreTransaction",
    "Tier",
    "TierPolicy",
    "TierStatus",
    "accounting",
    "advance_state",
    "available_at",
    "clawback_points",
    "evaluate_tier",
    "evaluate_tiers",
    "expiry_date",
    "expiry_dates",
    "points_flow",
    "points_for_event",
    "points_for_transactions",
    "redemption_rate",
    "tier_report",
]
