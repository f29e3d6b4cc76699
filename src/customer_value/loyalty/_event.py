"""The single-event path of the points engine: one purchase, and the member's state after it.

:func:`price` is the rule, on validated inputs (the instant in integer nanoseconds,
the member's counters); :func:`points_for_event` reads its arguments and returns the
full breakdown, the ledger calls :func:`price` with its stored state and reads only
what it writes. A programme's rules are gathered once (:func:`event_rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import NamedTuple

import pandas as pd

from customer_value.loyalty._columns import timestamp, timestamp_ns
from customer_value.loyalty._policies import (
    MAX_POINTS,
    BirthdayBonus,
    FirstPurchaseBonus,
    Promotion,
    ReferralBonus,
)
from customer_value.loyalty._program import Program
from customer_value.loyalty._rules import (
    Counters,
    PurchaseRun,
    advance_counters,
    check_points,
    counters_used,
    day_of,
    exact,
    money,
    promotion_multiplier,
    round_ratio,
    tier_multiplier,
)
from customer_value.loyalty._types import MemberState, PointsResult, PurchaseEvent

__all__ = [
    "EventRules",
    "Priced",
    "advance_state",
    "event_rules",
    "points_for_event",
    "price",
    "purchase_run",
]

_ONE = Decimal(1)
_ZERO = Decimal(0)


class EventRules(NamedTuple):
    """The rules of a programme that price one purchase, gathered once per programme."""

    decimals: int
    include_tax: bool
    include_shipping: bool
    minimum_spend: Decimal
    #: the base rate as an exact ratio
    rate: tuple[int, int]
    categories: dict[str, Decimal]
    promotions: tuple[Promotion, ...]
    first_purchase: FirstPurchaseBonus | None
    birthday: BirthdayBonus | None
    referral: ReferralBonus | None


#: gathered rules by programme identity (programmes are frozen); the entry keeps its
#: programme alive, so an id is not reused while its entry is here
_RULES: dict[int, tuple[Program, EventRules]] = {}
_MAX_RULES = 64


def event_rules(program: Program) -> EventRules:
    """The :class:`EventRules` of ``program`` (computed on first use)."""
    hit = _RULES.get(id(program))
    if hit is not None and hit[0] is program:
        return hit[1]
    rate = exact(program.base_rate)
    rules = EventRules(
        decimals=program.currency_decimals,
        include_tax=program.eligible_amount.include_tax,
        include_shipping=program.eligible_amount.include_shipping,
        minimum_spend=program.minimum_spend,
        rate=(rate.numerator, rate.denominator),
        categories=program.category_multipliers,
        promotions=program.promotions,
        first_purchase=program.first_purchase_bonus,
        birthday=program.birthday_bonus,
        referral=program.referral_bonus,
    )
    if len(_RULES) >= _MAX_RULES:
        _RULES.clear()
    _RULES[id(program)] = (program, rules)
    return rules


class Priced(NamedTuple):
    """One purchase priced by :func:`price`: the parts of a :class:`PointsResult`,
    exact ratios (numerator, denominator) where the result has decimals."""

    member_id: str
    eligible_amount: Decimal
    qualifies: bool
    base: tuple[int, int]
    category_multiplier: Decimal
    promotion_multiplier: Decimal
    tier_multiplier: Decimal
    birthday_multiplier: Decimal
    promotions: tuple[str, ...]
    raw: tuple[int, int]
    rounded_points: int
    after_transaction: int
    after_day: int
    earn_points: int
    first_purchase_bonus: int
    birthday_bonus: int
    points: int
    referrer_id: str | None
    referrer_points: int


def _decimal(numerator: int, denominator: int) -> Decimal:
    """The exact decimal of a ratio whose reduced denominator is 2^a 5^b."""
    if numerator % denominator == 0:
        return Decimal(numerator // denominator)
    with localcontext() as ctx:
        ctx.prec = 80
        return Decimal(numerator) / Decimal(denominator)


def _counters(state: MemberState) -> Counters:
    last = state.last_purchase_at
    return Counters(
        qualifying_purchases=state.qualifying_purchases,
        last_purchase_at=None if last is None else timestamp_ns(last, "last"),
        points_on_day=state.points_on_day,
        points_in_month=state.points_in_month,
        birthday_bonus_year=state.birthday_bonus_year,
    )


def price(
    program: Program,
    event: PurchaseEvent,
    at: int,
    tier: str | None,
    birth_month: int | None,
    referred_by: str | None,
    counters: Counters | Callable[[], Counters],
) -> Priced:
    """The points of ``event`` at ``at`` (ns) for a member with ``tier``, ``birth_month``,
    ``referred_by`` and ``counters`` (or a function giving them, called when needed).

    The rule of :func:`points_for_event` (see its Notes), which validates the amounts
    here too; the callers have read the instant and the member's state.

    Examples
    --------
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from customer_value.loyalty import Program, PurchaseEvent
    >>> from customer_value.loyalty._event import price
    >>> from customer_value.loyalty._rules import Counters
    >>> program = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 0})
    >>> event = PurchaseEvent("m1", dt.datetime(2024, 5, 3), Decimal(120))
    >>> price(program, event, 1714694400 * 10**9, None, None, None,
    ...       Counters(0, None, 0, 0, None)).points
    120
    """
    rules = event_rules(program)
    decimals = rules.decimals
    eligible = money(event.subtotal, "event.subtotal", decimals)
    discount = money(event.discount, "event.discount", decimals)
    tax = money(event.tax, "event.tax", decimals)
    shipping = money(event.shipping, "event.shipping", decimals)
    eligible = max(eligible - discount, _ZERO)
    if rules.include_tax:
        eligible += tax
    if rules.include_shipping:
        eligible += shipping
    qualifies = eligible > 0 and eligible >= rules.minimum_spend

    category = event.category
    category_mult = _ONE if category is None else rules.categories.get(category, _ONE)
    names: tuple[str, ...] = ()
    promo_mult = _ONE
    if rules.promotions:
        day = day_of(at)
        active = [p for p in rules.promotions if p.is_active(day, category)]
        names = tuple(p.name for p in active)
        promo_mult = promotion_multiplier(program, [p.multiplier for p in active])
    tier_mult = tier_multiplier(program, tier)
    bday_rule = rules.birthday
    in_birth_month = bday_rule is not None and birth_month == day_of(at).month
    bday_mult = bday_rule.multiplier if (bday_rule is not None and in_birth_month) else _ONE

    if qualifies:
        num, den = eligible.as_integer_ratio()
        num *= rules.rate[0]
        den *= rules.rate[1]
        base = (num, den)
        for mult in (category_mult, promo_mult, tier_mult, bday_mult):
            if mult != 1:  # exact: multiplying by one changes nothing
                factor = exact(mult)
                num *= factor.numerator
                den *= factor.denominator
        raw = (num, den)
    else:
        base = raw = (0, 1)
    rounded = round_ratio(raw[0], raw[1], program.rounding)
    if qualifies and rounded > MAX_POINTS:
        what = (
            "the purchase"
            if event.transaction_id is None
            else f"transaction {event.transaction_id!r}"
        )
        check_points(rounded, f"{what} of member {event.member_id!r} at {pd.Timestamp(at)}")

    # caps: transaction, then day, then month (see points_for_event's Notes)
    cap_tx, cap_day, cap_month = (
        program.cap_per_transaction,
        program.cap_per_day,
        program.cap_per_month,
    )
    after_tx = rounded if cap_tx is None else min(rounded, cap_tx)
    before = counters if isinstance(counters, Counters) else counters()
    after_day = after_month = after_tx
    if cap_day is not None or cap_month is not None:
        day_used, month_used = counters_used(before, at)
        if cap_day is not None:
            after_day = min(after_tx, max(cap_day - day_used, 0))
        after_month = after_day
        if cap_month is not None:
            after_month = min(after_day, max(cap_month - month_used, 0))

    first = qualifies and before.qualifying_purchases == 0
    fp = rules.first_purchase
    first_bonus = fp.points if (fp is not None and first) else 0
    bday_bonus = 0
    if (
        qualifies
        and bday_rule is not None
        and in_birth_month
        and bday_rule.points > 0
        and before.birthday_bonus_year != day_of(at).year
    ):
        bday_bonus = bday_rule.points
    ref = rules.referral
    referrer_id: str | None = None
    referrer_points = 0
    if first and referred_by is not None and ref is not None:
        referrer_id = referred_by
        referrer_points = ref.points
    return Priced(
        event.member_id,
        eligible,
        qualifies,
        base,
        category_mult,
        promo_mult,
        tier_mult,
        bday_mult,
        names,
        raw,
        rounded,
        after_tx,
        after_day,
        after_month,
        first_bonus,
        bday_bonus,
        after_month + first_bonus + bday_bonus,
        referrer_id,
        referrer_points,
    )


def _result(priced: Priced) -> PointsResult:
    """The :class:`PointsResult` of a priced purchase."""
    raw_num, raw_den = priced.raw
    rounded = priced.rounded_points
    return PointsResult(
        member_id=priced.member_id,
        eligible_amount=priced.eligible_amount,
        qualifies=priced.qualifies,
        base_points=_decimal(*priced.base),
        category_multiplier=priced.category_multiplier,
        promotion_multiplier=priced.promotion_multiplier,
        tier_multiplier=priced.tier_multiplier,
        birthday_multiplier=priced.birthday_multiplier,
        promotions=priced.promotions,
        raw_points=_decimal(raw_num, raw_den),
        rounded_points=rounded,
        rounding_adjustment=_decimal(rounded * raw_den - raw_num, raw_den),
        cap_transaction=rounded - priced.after_transaction,
        cap_day=priced.after_transaction - priced.after_day,
        cap_month=priced.after_day - priced.earn_points,
        earn_points=priced.earn_points,
        first_purchase_bonus=priced.first_purchase_bonus,
        birthday_bonus=priced.birthday_bonus,
        bonus_points=priced.first_purchase_bonus + priced.birthday_bonus,
        points=priced.points,
        referrer_id=priced.referrer_id,
        referrer_points=priced.referrer_points,
    )


def purchase_run(at: int, qualifies: bool, earn_points: int, birthday_bonus: int) -> PurchaseRun:
    """What one priced purchase at ``at`` (ns) adds to the member's counters."""
    return PurchaseRun(
        qualifying=int(qualifies),
        last_at=at,
        day_points=earn_points,
        month_points=earn_points,
        bonus_year=day_of(at).year if birthday_bonus > 0 else None,
    )


def points_for_event(
    program: Program, event: PurchaseEvent, member_state: MemberState | None = None
) -> PointsResult:
    """Points for one purchase, with the full breakdown.

    Parameters
    ----------
    program : Program
        The validated program.
    event : PurchaseEvent
        The purchase. Money fields must be ``Decimal`` (or ``int``/decimal
        strings) in whole minor units of the program's currency.
    member_state : MemberState, optional
        The member before the purchase; default is a new member without tier.

    Returns
    -------
    PointsResult
        Points credited to the member (``points``), to the referrer
        (``referrer_points``) and how they were obtained.

    Raises
    ------
    InvalidDataError
        For a negative, non-finite, float or too finely divided amount, or an
        unknown tier.

    Notes
    -----
    With ``E`` the eligible amount (``max(subtotal - discount, 0)``, plus tax and
    shipping when the program includes them), the purchase qualifies when
    ``E > 0`` and ``E >= minimum_spend``. Then

    .. math::

        P_{raw} = E \\cdot r \\cdot m_{category} \\cdot m_{promotion}
                  \\cdot m_{tier} \\cdot m_{birthday}

    computed exactly, rounded once (floor, half-up or half-even) to
    ``P_round``. Caps are applied in the order transaction, day, month:
    ``P = min(P_round, C_tx, C_day - used_day, C_month - used_month)`` (never
    below 0; ``used`` counts this member's capped points earlier the same
    calendar day / month). Fixed bonuses (first purchase, birthday month once a
    year, referral for the referrer) are added after the caps.

    Examples
    --------
    >>> from decimal import Decimal
    >>> import datetime as dt
    >>> from customer_value.loyalty import MemberState, Program, PurchaseEvent, points_for_event
    >>> program = Program.from_dict({
    ...     "name": "shop", "currency_decimals": 2, "base_rate": "1",
    ...     "rounding": "half_up",
    ...     "earn_rules": [{"type": "category", "category": "fresh", "multiplier": "2"},
    ...                    {"type": "first_purchase", "points": 100}]})
    >>> event = PurchaseEvent("m1", dt.datetime(2024, 5, 3, 10), Decimal("12.25"),
    ...                       category="fresh")
    >>> result = points_for_event(program, event, MemberState())
    >>> result.raw_points, result.rounded_points, result.points
    (Decimal('24.5'), 25, 125)
    """
    state = member_state if member_state is not None else MemberState()
    at = timestamp_ns(event.at, "event.at")
    priced = price(
        program,
        event,
        at,
        state.tier,
        state.birth_month,
        state.referred_by,
        lambda: _counters(state),
    )
    return _result(priced)


def advance_state(
    program: Program, member_state: MemberState, event: PurchaseEvent, result: PointsResult
) -> MemberState:
    """The member's state after ``event`` was priced as ``result``.

    Parameters
    ----------
    program : Program
        The program that priced the event.
    member_state : MemberState
        The state passed to :func:`points_for_event`.
    event : PurchaseEvent
        The purchase.
    result : PointsResult
        What :func:`points_for_event` returned for it.

    Returns
    -------
    MemberState
        Counters for the day/month caps, qualifying purchases and the birthday
        bonus year updated; tier, birth month and referrer unchanged (tiers are
        re-evaluated with :func:`evaluate_tier`).

    Examples
    --------
    >>> from decimal import Decimal
    >>> import datetime as dt
    >>> from customer_value.loyalty import (MemberState, Program, PurchaseEvent,
    ...     advance_state, points_for_event)
    >>> program = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 0,
    ...                              "caps": {"per_day": 150}})
    >>> state = MemberState()
    >>> for hour in (9, 12):
    ...     event = PurchaseEvent("m1", dt.datetime(2024, 1, 5, hour), Decimal(100))
    ...     result = points_for_event(program, event, state)
    ...     state = advance_state(program, state, event, result)
    ...     print(result.points, result.cap_day)
    100 0
    50 50
    """
    at = timestamp(event.at, "event.at")
    after = advance_counters(
        _counters(member_state),
        purchase_run(int(at.value), result.qualifies, result.earn_points, result.birthday_bonus),
    )
    return MemberState(
        tier=member_state.tier,
        birth_month=member_state.birth_month,
        referred_by=member_state.referred_by,
        qualifying_purchases=after.qualifying_purchases,
        last_purchase_at=at.to_pydatetime(),
        points_on_day=after.points_on_day,
        points_in_month=after.points_in_month,
        birthday_bonus_year=after.birthday_bonus_year,
    )
