"""Each rule of a programme stated once, for the engine (one event, a table) and the ledger.

Rounding, money and points limits, the tier and promotion multipliers, the
day/month counters behind the caps, when points become spendable and when they
expire: the single-event path, the vectorised table path, the tier evaluation
and the ledger (single writes and the bulk import) all call these functions, so
they cannot drift apart. Times are integer nanoseconds since 1970 (naive,
programme-local wall-clock time).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from customer_value._time import NS_PER_DAY
from customer_value.errors import InvalidDataError
from customer_value.loyalty._policies import MAX_MONEY_MINOR, MAX_POINTS
from customer_value.loyalty._program import Program
from customer_value.loyalty._types import NO_AMOUNT

__all__ = [
    "NS_PER_DAY",
    "Counters",
    "PurchaseRun",
    "advance_counters",
    "available_ns",
    "check_points",
    "check_referral",
    "counters_used",
    "day_of",
    "exact",
    "expiry_ns",
    "expiry_ns_one",
    "money",
    "promotion_multiplier",
    "round_fraction",
    "round_ratio",
    "tier_multiplier",
    "to_decimal",
]

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_LAST_NS = int(np.iinfo(np.int64).max)
#: Last whole day representable in nanoseconds (2262-04-10); later instants overflow.
_LAST_DAY = np.iinfo(np.int64).max // NS_PER_DAY - 1


# --------------------------------------------------------------------------- exact arithmetic
def round_fraction(value: Fraction, mode: str) -> int:
    """Round a non-negative exact fraction to an integer with ``mode``."""
    return round_ratio(value.numerator, value.denominator, mode)


def round_ratio(numerator: int, denominator: int, mode: str) -> int:
    """:func:`round_fraction` of ``numerator / denominator`` (``denominator > 0``, any
    common factor: the quotient and the remainder's share decide, not the representation)."""
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    if mode == "floor":
        return q
    if mode == "half_up":
        return q + (1 if twice >= denominator else 0)
    # half_even
    if twice > denominator or (twice == denominator and q % 2 == 1):
        return q + 1
    return q


def to_decimal(value: Fraction) -> Decimal:
    """Exact decimal of a fraction whose denominator is 2^a 5^b."""
    if value.denominator == 1:
        return Decimal(value.numerator)
    with localcontext() as ctx:
        ctx.prec = 80
        return Decimal(value.numerator) / Decimal(value.denominator)


@functools.lru_cache(maxsize=64)
def _money_bounds(decimals: int) -> tuple[Decimal, Decimal]:
    """The largest amount and the minor unit of a currency with ``decimals`` places."""
    return Decimal(MAX_MONEY_MINOR).scaleb(-decimals), Decimal(1).scaleb(-decimals)


def money(value: Any, name: str, decimals: int) -> Decimal:
    """One money amount: Decimal/int/str, finite, >= 0, whole minor units, within the limit."""
    if value is NO_AMOUNT:  # a purchase's default discount, tax or shipping
        return value
    if type(value) is Decimal:  # the common case first
        amount = value
    elif isinstance(value, (bool, float)):
        raise InvalidDataError(
            f"{name} must be a Decimal, int or decimal string, not {type(value).__name__} "
            f"{value!r} (floats are inexact for money)"
        )
    else:
        try:
            amount = Decimal(value) if not isinstance(value, Decimal) else value
        except (ArithmeticError, ValueError, TypeError):
            raise InvalidDataError(f"{name} must be a number, got {value!r}") from None
    if not amount.is_finite():
        raise InvalidDataError(f"{name} must be finite, got {value!r}")
    if amount < 0:
        raise InvalidDataError(f"{name} must be >= 0, got {amount}")
    limit, unit = _money_bounds(decimals)
    if amount > limit:
        raise InvalidDataError(f"{name} must be at most {limit}, got {amount}")
    if amount != amount.quantize(unit):
        raise InvalidDataError(
            f"{name} must be a whole number of minor units ({decimals} decimal place(s)), "
            f"got {amount}"
        )
    return amount


def check_points(points: int, where: str) -> int:
    """Refuse the points of one purchase above :data:`MAX_POINTS` (storage is 64-bit)."""
    if points > MAX_POINTS:
        raise InvalidDataError(
            f"points earned by {where}: {points}, above the limit of {MAX_POINTS} points "
            "per purchase; check the amount and the programme's rates"
        )
    return points


@functools.lru_cache(maxsize=256)
def exact(value: Decimal) -> Fraction:
    """``Fraction(value)`` of a programme's rate or multiplier (cached: a few distinct ones)."""
    return Fraction(value)


# --------------------------------------------------------------------------- multipliers
def tier_multiplier(program: Program, tier: str | None) -> Decimal:
    """The earn multiplier of ``tier`` (1 without a tier); refuses unknown tiers."""
    if tier is None:
        return Decimal(1)
    if program.tiers is None:
        raise InvalidDataError(f"member tier {tier!r} given but the program has no tiers")
    try:
        return program.tiers.level(tier).earn_multiplier
    except KeyError:
        names = ", ".join(repr(t.name) for t in program.tiers.levels)
        raise InvalidDataError(f"unknown tier {tier!r}; the program's tiers are {names}") from None


def promotion_multiplier(program: Program, active: list[Decimal]) -> Decimal:
    """The combined multiplier of the active promotions (largest, or product)."""
    if not active:
        return Decimal(1)
    if program.promotion_stacking == "max":
        return max(active)
    out = Decimal(1)
    with localcontext() as ctx:
        ctx.prec = 80
        for m in active:
            out *= m
    return out


# --------------------------------------------------------------------------- day/month counters
class Counters(NamedTuple):
    """A member's engine counters (the fields of ``MemberState`` the engine updates)."""

    qualifying_purchases: int
    last_purchase_at: int | None
    points_on_day: int
    points_in_month: int
    birthday_bonus_year: int | None


class PurchaseRun(NamedTuple):
    """What a run of one member's purchases (in time order) adds to the counters.

    ``day_points`` / ``month_points`` are the capped earn points of the run on the
    calendar day / month of its last purchase ``last_at``; ``bonus_year`` the
    latest year in which the run awarded the fixed birthday bonus.
    """

    qualifying: int
    last_at: int
    day_points: int
    month_points: int
    bonus_year: int | None


def day_of(at: int) -> dt.date:
    """The calendar day of the instant ``at`` (ns): ``pd.Timestamp(at).date()`` without pandas."""
    return dt.date.fromordinal(_EPOCH_ORDINAL + at // NS_PER_DAY)


def _year_month(at: int) -> tuple[int, int]:
    day = day_of(at)
    return day.year, day.month


def counters_used(counters: Counters, at: int) -> tuple[int, int]:
    """Capped points already earned on the calendar day and in the month of ``at``.

    The counters only remember the day and month of the last purchase; a purchase
    on another day (month) starts from 0.
    """
    last = counters.last_purchase_at
    if last is None:
        return 0, 0
    same_day = last // NS_PER_DAY == at // NS_PER_DAY
    same_month = _year_month(last) == _year_month(at)
    return (
        counters.points_on_day if same_day else 0,
        counters.points_in_month if same_month else 0,
    )


def advance_counters(counters: Counters, run: PurchaseRun) -> Counters:
    """The counters after ``run`` (the one rule behind ``advance_state`` and the bulk import)."""
    day_used, month_used = counters_used(counters, run.last_at)
    return Counters(
        qualifying_purchases=counters.qualifying_purchases + run.qualifying,
        last_purchase_at=run.last_at,
        points_on_day=day_used + run.day_points,
        points_in_month=month_used + run.month_points,
        birthday_bonus_year=counters.birthday_bonus_year
        if run.bonus_year is None
        else run.bonus_year,
    )


# --------------------------------------------------------------------------- referrals
def check_referral(
    member: str,
    referrer: str | None,
    lookup: Callable[[str], str | None],
    *,
    acyclic: set[str] | None = None,
) -> None:
    """Refuse a self-referral, or a referrer chain that comes back to a member it passed.

    ``lookup`` gives a member's referrer (``None`` for none). Members in
    ``acyclic`` are known to start a chain without a cycle; the members of a chain
    found acyclic are added to it (linear time over a whole table).
    """
    if referrer is None:
        return
    if referrer == member:
        raise InvalidDataError(
            f"member {member!r} cannot refer themselves (referred_by={referrer!r})"
        )
    path, seen = [member], {member}
    current: str | None = referrer
    while current is not None and (acyclic is None or current not in acyclic):
        path.append(current)
        if current in seen:
            chain = " -> ".join(repr(m) for m in path)
            raise InvalidDataError(f"referrals must not form a cycle: {chain} (referred_by)")
        seen.add(current)
        current = lookup(current)
    if acyclic is not None:
        acyclic.update(seen)


# --------------------------------------------------------------------------- pending, expiry
def _out_of_range(where: str) -> InvalidDataError:
    return InvalidDataError(
        f"{where} falls after 2262-04-10, beyond the supported range of timestamps"
    )


def available_ns(program: Program, at: Any) -> Any:
    """When points earned at ``at`` (ns, scalar or array) become spendable."""
    if isinstance(at, int):  # one instant (the single-event path): plain integers
        if at > _LAST_NS - program.pending_days * NS_PER_DAY:
            raise _out_of_range("the end of the pending period")
        return at + program.pending_days * NS_PER_DAY
    out = np.asarray(at, dtype=np.int64) + program.pending_days * NS_PER_DAY
    if np.any(np.asarray(at) > np.iinfo(np.int64).max - program.pending_days * NS_PER_DAY):
        raise _out_of_range("the end of the pending period")
    return int(out) if np.ndim(out) == 0 else out


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months, the day clamped to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _expiry_day(program: Program, months: int, days: int) -> int:
    """The expiry rule on one calendar day (days since 1970): the day the points expire."""
    return _expiry_day_rule(months, program.expiry.clamp_to_month_end, days)


@functools.lru_cache(maxsize=4096)
def _expiry_day_rule(months: int, clamp_to_month_end: bool, days: int) -> int:
    """:func:`_expiry_day` (cached: a ledger's writes fall on few distinct days).

    Calendar months: ``earned + months`` with the day clamped to the target month's
    length (31 January + 1 month is 28/29 February); with ``clamp_to_month_end`` the
    points stay valid to the end of that month, so they expire on the first day of
    the following month (at midnight; otherwise at the clock time of the earn).
    """
    target = _add_months(dt.date.fromordinal(_EPOCH_ORDINAL + days), months)
    if clamp_to_month_end:
        target = _add_months(target.replace(day=1), 1)
    out = target.toordinal() - _EPOCH_ORDINAL
    if out > _LAST_DAY:
        raise _out_of_range("the expiry date of points earned then")
    return out


def expiry_ns_one(program: Program, at: int) -> int | None:
    """When points earned at ``at`` (ns) expire; ``None`` when they never do."""
    months = program.expiry.months
    if months is None:
        return None
    days, time_of_day = divmod(at, NS_PER_DAY)
    clock = 0 if program.expiry.clamp_to_month_end else time_of_day
    return _expiry_day(program, months, days) * NS_PER_DAY + clock


def expiry_ns(program: Program, at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64] | None:
    """:func:`expiry_ns_one` of many instants (the rule applied once per distinct day)."""
    months = program.expiry.months
    if months is None:
        return None
    days, time_of_day = np.divmod(np.asarray(at, dtype=np.int64), NS_PER_DAY)
    if days.size == 0:
        return np.zeros(0, dtype=np.int64)
    # a lookup table over the days present (no sort: linear in the rows)
    first = int(days.min())
    offset = days - first
    present = np.zeros(int(offset.max()) + 1, dtype=bool)
    present[offset] = True
    table = np.zeros(present.size, dtype=np.int64)
    for d in np.flatnonzero(present).tolist():
        table[d] = _expiry_day(program, months, first + d)
    clock = 0 if program.expiry.clamp_to_month_end else time_of_day
    return np.asarray(table[offset] * NS_PER_DAY + clock, dtype=np.int64)
