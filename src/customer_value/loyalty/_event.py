"""The single-event path of the points engine: one purchase, and the member's state after it."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from customer_value.loyalty._columns import timestamp
from customer_value.loyalty._program import Program
from customer_value.loyalty._rules import (
    Counters,
    PurchaseRun,
    advance_counters,
    check_points,
    counters_used,
    exact,
    money,
    promotion_multiplier,
    round_fraction,
    tier_multiplier,
    to_decimal,
)
from customer_value.loyalty._types import MemberState, PointsResult, PurchaseEvent

__all__ = ["advance_state", "points_for_event"]


def _counters(state: MemberState) -> Counters:
    last = state.last_purchase_at
    return Counters(
        qualifying_purchases=state.qualifying_purchases,
        last_purchase_at=None if last is None else int(timestamp(last, "last").value),
        points_on_day=state.points_on_day,
        points_in_month=state.points_in_month,
        birthday_bonus_year=state.birthday_bonus_year,
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
    decimals = program.currency_decimals
    at = timestamp(event.at, "event.at")
    subtotal = money(event.subtotal, "event.subtotal", decimals)
    discount = money(event.discount, "event.discount", decimals)
    tax = money(event.tax, "event.tax", decimals)
    shipping = money(event.shipping, "event.shipping", decimals)
    eligible = max(subtotal - discount, Decimal(0))
    if program.eligible_amount.include_tax:
        eligible += tax
    if program.eligible_amount.include_shipping:
        eligible += shipping
    qualifies = eligible > 0 and eligible >= program.minimum_spend

    day = at.date()
    category_mult = (
        Decimal(1)
        if event.category is None
        else program.category_multipliers.get(event.category, Decimal(1))
    )
    active = [p for p in program.promotions if p.is_active(day, event.category)]
    promo_mult = promotion_multiplier(program, [p.multiplier for p in active])
    tier_mult = tier_multiplier(program, state.tier)
    bday_rule = program.birthday_bonus
    in_birth_month = bday_rule is not None and state.birth_month == at.month
    bday_mult = bday_rule.multiplier if (bday_rule is not None and in_birth_month) else Decimal(1)

    if qualifies:
        base = Fraction(eligible) * exact(program.base_rate)
        raw = base
        for mult in (category_mult, promo_mult, tier_mult, bday_mult):
            if mult != 1:  # exact: multiplying by one changes nothing
                raw *= exact(mult)
    else:
        base = Fraction(0)
        raw = Fraction(0)
    rounded = round_fraction(raw, program.rounding)
    if qualifies:
        what = (
            "the purchase"
            if event.transaction_id is None
            else f"transaction {event.transaction_id!r}"
        )
        check_points(rounded, f"{what} of member {event.member_id!r} at {at}")

    # caps: transaction, then day, then month (see Notes)
    after_tx = (
        rounded
        if program.cap_per_transaction is None
        else min(rounded, program.cap_per_transaction)
    )
    day_used, month_used = counters_used(_counters(state), int(at.value))
    after_day = (
        after_tx
        if program.cap_per_day is None
        else min(after_tx, max(program.cap_per_day - day_used, 0))
    )
    after_month = (
        after_day
        if program.cap_per_month is None
        else min(after_day, max(program.cap_per_month - month_used, 0))
    )

    first = qualifies and state.qualifying_purchases == 0
    fp = program.first_purchase_bonus
    first_bonus = fp.points if (fp is not None and first) else 0
    bday_bonus = 0
    if (
        qualifies
        and bday_rule is not None
        and in_birth_month
        and bday_rule.points > 0
        and state.birthday_bonus_year != at.year
    ):
        bday_bonus = bday_rule.points
    ref = program.referral_bonus
    referrer_id: str | None = None
    referrer_points = 0
    if first and state.referred_by is not None and ref is not None:
        referrer_id = state.referred_by
        referrer_points = ref.points
    bonus = first_bonus + bday_bonus
    return PointsResult(
        member_id=event.member_id,
        eligible_amount=eligible,
        qualifies=qualifies,
        base_points=to_decimal(base),
        category_multiplier=category_mult,
        promotion_multiplier=promo_mult,
        tier_multiplier=tier_mult,
        birthday_multiplier=bday_mult,
        promotions=tuple(p.name for p in active),
        raw_points=to_decimal(raw),
        rounded_points=rounded,
        rounding_adjustment=to_decimal(Fraction(rounded) - raw),
        cap_transaction=rounded - after_tx,
        cap_day=after_tx - after_day,
        cap_month=after_day - after_month,
        earn_points=after_month,
        first_purchase_bonus=first_bonus,
        birthday_bonus=bday_bonus,
        bonus_points=bonus,
        points=after_month + bonus,
        referrer_id=referrer_id,
        referrer_points=referrer_points,
    )


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
    run = PurchaseRun(
        qualifying=int(result.qualifies),
        last_at=int(at.value),
        day_points=result.earn_points,
        month_points=result.earn_points,
        bonus_year=at.year if result.birthday_bonus > 0 else None,
    )
    after = advance_counters(_counters(member_state), run)
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
