"""Declarative, validated loyalty program configuration.

A :class:`Program` is built from a plain mapping (``Program.from_dict``) or a JSON
document (``Program.from_json``). Validation walks the whole configuration,
collects *every* problem with its path (``"earn_rules[2].multiplier: must be > 0,
got -1"``) and raises them together as one
:class:`~customer_value.errors.InvalidProgramError`. The result is a tree of
frozen dataclasses; money, rates and multipliers are :class:`decimal.Decimal`,
points are ``int``. Floats are refused: a configuration holds decimal strings,
integers or ``Decimal`` values (``from_json`` parses JSON numbers as ``Decimal``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from customer_value.errors import InvalidProgramError

__all__ = [
    "BirthdayBonus",
    "CategoryMultiplier",
    "EarnRule",
    "EligibleAmount",
    "ExpiryPolicy",
    "FirstPurchaseBonus",
    "Program",
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
#: At most this many promotions (the vectorised engine encodes active sets as bit masks).
MAX_PROMOTIONS = 62

_T = TypeVar("_T")


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


@dataclass(frozen=True)
class Program:
    """A validated loyalty program: earn rules, tiers, expiry, pending period, returns.

    Build one with :meth:`from_dict` or :meth:`from_json`; those validate the
    whole configuration and report every problem at once. The constructor
    itself does not validate.

    Parameters
    ----------
    name : str
        Program name.
    base_rate : Decimal
        Points per currency unit of the eligible amount (> 0, at most 6 decimals).
    currency : str, default ""
        ISO currency code, informative.
    currency_decimals : int, default 2
        Decimal places of the currency's minor unit (0 for JPY, 2 for EUR).
        Money amounts in the configuration may not be finer than this.
    eligible_amount : EligibleAmount
        Which parts of a purchase earn points.
    earn_rules : tuple of EarnRule
        Category multipliers, promotions and bonuses, in configuration order.
    promotion_stacking : {"max", "multiply"}, default "max"
        When several promotions are active: use the largest multiplier, or the
        product of all of them.
    minimum_spend : Decimal, default 0
        Purchases whose eligible amount is below this earn nothing and are not
        qualifying purchases (no bonuses, not counted as a first purchase).
    cap_per_transaction, cap_per_day, cap_per_month : int or None
        Maximum rounded points (bonuses excluded) per purchase, per member per
        calendar day, and per member per calendar month; ``None`` is no cap.
    rounding : {"floor", "half_up", "half_even"}, default "floor"
        How the fractional points of one purchase are rounded (once per purchase).
    tiers : TierPolicy or None
        Tier levels and qualification; ``None`` for a program without tiers.
    expiry : ExpiryPolicy
        When points expire.
    pending_days : int, default 0
        Points become spendable this many days after the purchase.
    returns : ReturnPolicy
        What refunds do to points.

    Examples
    --------
    >>> from customer_value.loyalty import Program
    >>> program = Program.from_dict({
    ...     "name": "Supermarket", "currency": "JPY", "currency_decimals": 0,
    ...     "base_rate": "1", "rounding": "floor",
    ...     "earn_rules": [{"type": "birthday_month", "multiplier": "2"}],
    ...     "tiers": {"basis": "spend", "window_months": 12, "levels": [
    ...         {"name": "member", "threshold": 0},
    ...         {"name": "silver", "threshold": 50000, "earn_multiplier": "1.5"},
    ...         {"name": "gold", "threshold": 200000, "earn_multiplier": "2",
    ...          "privileges": ["priority purchase"]}]},
    ...     "expiry": {"months": 12}, "pending_days": 7,
    ... })
    >>> program.tiers.level("gold").earn_multiplier
    Decimal('2')
    >>> Program.from_dict(program.to_dict()) == program
    True
    """

    name: str
    base_rate: Decimal
    currency: str = ""
    currency_decimals: int = 2
    eligible_amount: EligibleAmount = field(default_factory=EligibleAmount)
    earn_rules: tuple[EarnRule, ...] = ()
    promotion_stacking: PromotionStacking = "max"
    minimum_spend: Decimal = Decimal(0)
    cap_per_transaction: int | None = None
    cap_per_day: int | None = None
    cap_per_month: int | None = None
    rounding: RoundingMode = "floor"
    tiers: TierPolicy | None = None
    expiry: ExpiryPolicy = field(default_factory=ExpiryPolicy)
    pending_days: int = 0
    returns: ReturnPolicy = field(default_factory=ReturnPolicy)

    # ------------------------------------------------------------------ views
    @property
    def category_multipliers(self) -> dict[str, Decimal]:
        """Category name to multiplier, from the ``category`` earn rules."""
        return {
            r.category: r.multiplier for r in self.earn_rules if isinstance(r, CategoryMultiplier)
        }

    @property
    def promotions(self) -> tuple[Promotion, ...]:
        """The promotions, in configuration order."""
        return tuple(r for r in self.earn_rules if isinstance(r, Promotion))

    @property
    def first_purchase_bonus(self) -> FirstPurchaseBonus | None:
        """The first-purchase bonus rule, if any."""
        return next((r for r in self.earn_rules if isinstance(r, FirstPurchaseBonus)), None)

    @property
    def birthday_bonus(self) -> BirthdayBonus | None:
        """The birthday-month bonus rule, if any."""
        return next((r for r in self.earn_rules if isinstance(r, BirthdayBonus)), None)

    @property
    def referral_bonus(self) -> ReferralBonus | None:
        """The referral bonus rule, if any."""
        return next((r for r in self.earn_rules if isinstance(r, ReferralBonus)), None)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> Program:
        """Validate ``config`` and build a program.

        Parameters
        ----------
        config : mapping
            The configuration; see the user guide page "Configuring a loyalty programme" for
            every key. Numbers are ``int``, ``Decimal`` or decimal strings.

        Returns
        -------
        Program
            The frozen, validated program.

        Raises
        ------
        InvalidProgramError
            Listing every problem found, each prefixed with its path.

        Examples
        --------
        >>> from customer_value.loyalty import Program
        >>> Program.from_dict({"name": "p", "base_rate": "0.5"}).base_rate
        Decimal('0.5')
        >>> Program.from_dict({"name": "p", "base_rate": "-1", "pending_days": -2})
        Traceback (most recent call last):
        ...
        customer_value.errors.InvalidProgramError: 2 problem(s) in the program:
          base_rate: must be > 0, got -1
          pending_days: must be >= 0, got -2
        """
        return _parse_program(config)

    @classmethod
    def from_json(cls, text: str | bytes) -> Program:
        """Parse a JSON document (numbers read as ``Decimal``) and validate it.

        Parameters
        ----------
        text : str or bytes
            The JSON document.

        Returns
        -------
        Program
            The frozen, validated program.

        Raises
        ------
        InvalidProgramError
            If the text is not JSON, not an object, or the configuration is invalid.

        Examples
        --------
        >>> from customer_value.loyalty import Program
        >>> Program.from_json('{"name": "p", "base_rate": 0.1}').base_rate
        Decimal('0.1')
        """
        try:
            config = json.loads(text, parse_float=Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidProgramError([f"<json>: not valid JSON: {exc}"]) from None
        if not isinstance(config, dict):
            raise InvalidProgramError(
                [f"<root>: must be a JSON object, got {type(config).__name__}"]
            )
        return _parse_program(config)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-compatible data (Decimals as strings, dates ISO).

        Returns
        -------
        dict
            ``Program.from_dict(p.to_dict()) == p`` for every program.

        Examples
        --------
        >>> from customer_value.loyalty import Program
        >>> Program.from_dict({"name": "p", "base_rate": "0.5"}).to_dict()["base_rate"]
        '0.5'
        """
        rules: list[dict[str, Any]] = []
        for rule in self.earn_rules:
            if isinstance(rule, CategoryMultiplier):
                rules.append(
                    {
                        "type": "category",
                        "category": rule.category,
                        "multiplier": str(rule.multiplier),
                    }
                )
            elif isinstance(rule, Promotion):
                rules.append(
                    {
                        "type": "promotion",
                        "name": rule.name,
                        "start": rule.start.isoformat(),
                        "end": rule.end.isoformat(),
                        "multiplier": str(rule.multiplier),
                        "categories": None if rule.categories is None else list(rule.categories),
                    }
                )
            elif isinstance(rule, FirstPurchaseBonus):
                rules.append({"type": "first_purchase", "points": rule.points})
            elif isinstance(rule, BirthdayBonus):
                rules.append(
                    {
                        "type": "birthday_month",
                        "points": rule.points,
                        "multiplier": str(rule.multiplier),
                    }
                )
            else:
                rules.append({"type": "referral", "points": rule.points})
        out: dict[str, Any] = {
            "name": self.name,
            "currency": self.currency,
            "currency_decimals": self.currency_decimals,
            "base_rate": str(self.base_rate),
            "eligible_amount": {
                "include_tax": self.eligible_amount.include_tax,
                "include_shipping": self.eligible_amount.include_shipping,
            },
            "earn_rules": rules,
            "promotion_stacking": self.promotion_stacking,
            "minimum_spend": str(self.minimum_spend),
            "caps": {
                "per_transaction": self.cap_per_transaction,
                "per_day": self.cap_per_day,
                "per_month": self.cap_per_month,
            },
            "rounding": self.rounding,
            "tiers": None,
            "expiry": {
                "months": self.expiry.months,
                "clamp_to_month_end": self.expiry.clamp_to_month_end,
            },
            "pending_days": self.pending_days,
            "returns": {
                "clawback": self.returns.clawback,
                "allow_negative_balance": self.returns.allow_negative_balance,
            },
        }
        if self.tiers is not None:
            out["tiers"] = {
                "basis": self.tiers.basis,
                "window_months": self.tiers.window_months,
                "downgrade": self.tiers.downgrade,
                "levels": [
                    {
                        "name": t.name,
                        "threshold": str(t.threshold),
                        "earn_multiplier": str(t.earn_multiplier),
                        "privileges": list(t.privileges),
                    }
                    for t in self.tiers.levels
                ],
            }
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        """The configuration as a JSON document (see :meth:`to_dict`).

        Parameters
        ----------
        indent : int or None, default 2
            Passed to :func:`json.dumps`.

        Returns
        -------
        str
            JSON text that :meth:`from_json` reads back to an equal program.

        Examples
        --------
        >>> from customer_value.loyalty import Program
        >>> p = Program.from_dict({"name": "p", "base_rate": "0.5"})
        >>> Program.from_json(p.to_json()) == p
        True
        """
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


# --------------------------------------------------------------------------- parsing
_MISSING = object()


class _Problems:
    """Collects validation problems with their configuration paths."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path or '<root>'}: {message}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _fmt(value: Any) -> str:
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def _check_keys(
    obj: Mapping[str, Any], allowed: Sequence[str], path: str, problems: _Problems
) -> None:
    for key in obj:
        if key not in allowed:
            problems.add(
                _join(path, str(key)),
                f"unknown key; expected one of {', '.join(repr(a) for a in allowed)}",
            )


def _get_mapping(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> Mapping[str, Any] | None:
    value = obj.get(key, None)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add(_join(path, key), f"must be a mapping, got {type(value).__name__}")
        return None
    return value


def _decimal(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    *,
    default: Any = _MISSING,
    positive: bool = False,
    nonnegative: bool = False,
    max_decimals: int | None = None,
) -> Decimal | None:
    where = _join(path, key)
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        if default is _MISSING:
            problems.add(where, "is required")
            return None
        return Decimal(default)
    if isinstance(raw, bool):
        problems.add(where, f"must be a number, got {raw!r}")
        return None
    if isinstance(raw, float):
        problems.add(
            where,
            f"must be a decimal string, int or Decimal, not float {raw!r} (floats are inexact)",
        )
        return None
    if isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            problems.add(where, f"must be a number, got {raw!r}")
            return None
    else:
        problems.add(where, f"must be a number, got {type(raw).__name__} {raw!r}")
        return None
    if not value.is_finite():
        problems.add(where, f"must be finite, got {_fmt(raw)}")
        return None
    ok = True
    if positive and value <= 0:
        problems.add(where, f"must be > 0, got {value}")
        ok = False
    elif nonnegative and value < 0:
        problems.add(where, f"must be >= 0, got {value}")
        ok = False
    exponent = value.normalize().as_tuple().exponent
    if max_decimals is not None and isinstance(exponent, int) and -exponent > max_decimals:
        problems.add(where, f"must have at most {max_decimals} decimal place(s), got {value}")
        ok = False
    if not ok:
        return None
    return value


def _integer(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    *,
    default: Any = _MISSING,
    minimum: int | None = None,
    optional: bool = False,
) -> int | None:
    where = _join(path, key)
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        if optional:
            return None
        if default is _MISSING:
            problems.add(where, "is required")
            return None
        return int(default)
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        value = int(raw)
    elif isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
    if value is None:
        problems.add(where, f"must be a whole number, got {raw!r}")
        return None
    if minimum is not None and value < minimum:
        problems.add(where, f"must be >= {minimum}, got {value}")
        return None
    return value


def _boolean(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems, *, default: bool
) -> bool:
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        return default
    if not isinstance(raw, bool):
        problems.add(_join(path, key), f"must be true or false, got {raw!r}")
        return default
    return raw


def _choice(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    choices: Sequence[str],
    *,
    default: str,
) -> str:
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        return default
    if raw not in choices:
        problems.add(
            _join(path, key),
            f"must be one of {', '.join(repr(c) for c in choices)}, got {raw!r}",
        )
        return default
    return str(raw)


def _string(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    *,
    default: str | None = None,
) -> str | None:
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        if default is None:
            problems.add(_join(path, key), "is required")
        return default
    if not isinstance(raw, str) or not raw.strip():
        problems.add(_join(path, key), f"must be a non-empty string, got {raw!r}")
        return None
    return raw


def _date(obj: Mapping[str, Any], key: str, path: str, problems: _Problems) -> dt.date | None:
    where = _join(path, key)
    raw = obj.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        problems.add(where, "is required")
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    problems.add(where, f"must be a date 'YYYY-MM-DD', got {raw!r}")
    return None


def _string_list(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> tuple[str, ...] | None:
    raw = obj.get(key, None)
    if raw is None:
        return None
    where = _join(path, key)
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        problems.add(where, f"must be a list of strings, got {type(raw).__name__}")
        return None
    out: list[str] = []
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item:
            problems.add(f"{where}[{i}]", f"must be a non-empty string, got {item!r}")
        else:
            out.append(item)
    return tuple(out)


def _list(
    obj: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> list[tuple[str, Mapping[str, Any]]]:
    """Items of a list of mappings with their paths (bad items reported and skipped)."""
    raw = obj.get(key, None)
    if raw is None:
        return []
    where = _join(path, key)
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        problems.add(where, f"must be a list, got {type(raw).__name__}")
        return []
    out: list[tuple[str, Mapping[str, Any]]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.add(f"{where}[{i}]", f"must be a mapping, got {type(item).__name__}")
        else:
            out.append((f"{where}[{i}]", item))
    return out


def _whole_money(value: Decimal | None, decimals: int | None) -> bool:
    if value is None or decimals is None:
        return True
    return value == value.quantize(Decimal(1).scaleb(-decimals)) if decimals >= 0 else True


def _or(value: _T | None, fallback: _T) -> _T:
    return fallback if value is None else value


_TOP_KEYS = (
    "name",
    "currency",
    "currency_decimals",
    "base_rate",
    "eligible_amount",
    "earn_rules",
    "promotion_stacking",
    "minimum_spend",
    "caps",
    "rounding",
    "tiers",
    "expiry",
    "pending_days",
    "returns",
)


def _parse_rule(
    path: str, item: Mapping[str, Any], problems: _Problems, decimals: int | None
) -> EarnRule | None:
    kind = item.get("type")
    if kind not in EARN_RULE_TYPES:
        problems.add(
            _join(path, "type"),
            f"must be one of {', '.join(repr(k) for k in EARN_RULE_TYPES)}, got {kind!r}",
        )
        return None
    if kind == "category":
        _check_keys(item, ("type", "category", "multiplier"), path, problems)
        category = _string(item, "category", path, problems)
        mult = _decimal(
            item, "multiplier", path, problems, positive=True, max_decimals=MAX_RATE_DECIMALS
        )
        if category is None or mult is None:
            return None
        return CategoryMultiplier(category, mult)
    if kind == "promotion":
        _check_keys(
            item, ("type", "name", "start", "end", "multiplier", "categories"), path, problems
        )
        name = _string(item, "name", path, problems)
        start = _date(item, "start", path, problems)
        end = _date(item, "end", path, problems)
        mult = _decimal(
            item, "multiplier", path, problems, positive=True, max_decimals=MAX_RATE_DECIMALS
        )
        cats = _string_list(item, "categories", path, problems)
        if start is not None and end is not None and end < start:
            problems.add(
                _join(path, "end"),
                f"must not be before start ({start.isoformat()}), got {end.isoformat()}",
            )
            return None
        if name is None or start is None or end is None or mult is None:
            return None
        if cats is not None and len(cats) == 0:
            problems.add(_join(path, "categories"), "must not be empty (omit it for all)")
            return None
        return Promotion(name, start, end, mult, cats)
    if kind == "first_purchase":
        _check_keys(item, ("type", "points"), path, problems)
        pts = _integer(item, "points", path, problems, minimum=0)
        return None if pts is None else FirstPurchaseBonus(pts)
    if kind == "birthday_month":
        _check_keys(item, ("type", "points", "multiplier"), path, problems)
        pts = _integer(item, "points", path, problems, default=0, minimum=0)
        mult = _decimal(
            item,
            "multiplier",
            path,
            problems,
            default=1,
            positive=True,
            max_decimals=MAX_RATE_DECIMALS,
        )
        if pts is None or mult is None:
            return None
        return BirthdayBonus(pts, mult)
    _check_keys(item, ("type", "points"), path, problems)
    pts = _integer(item, "points", path, problems, minimum=0)
    return None if pts is None else ReferralBonus(pts)


def _parse_tiers(
    config: Mapping[str, Any], problems: _Problems, decimals: int | None
) -> TierPolicy | None:
    tiers = _get_mapping(config, "tiers", "", problems)
    if tiers is None:
        return None
    path = "tiers"
    _check_keys(tiers, ("basis", "window_months", "downgrade", "levels"), path, problems)
    basis = _choice(tiers, "basis", path, problems, TIER_BASES, default="spend")
    window = _integer(tiers, "window_months", path, problems, default=12, minimum=1)
    downgrade = _choice(
        tiers, "downgrade", path, problems, DOWNGRADE_POLICIES, default="anniversary"
    )
    items = _list(tiers, "levels", path, problems)
    if "levels" not in tiers or tiers.get("levels") is None:
        problems.add(_join(path, "levels"), "is required (at least one tier)")
    elif isinstance(tiers.get("levels"), Sequence) and len(tiers["levels"]) == 0:
        problems.add(_join(path, "levels"), "must contain at least one tier")
    levels: list[Tier] = []
    seen: dict[str, str] = {}
    previous: Decimal | None = None
    ok = True
    for ipath, item in items:
        _check_keys(item, ("name", "threshold", "earn_multiplier", "privileges"), ipath, problems)
        name = _string(item, "name", ipath, problems)
        threshold = _decimal(item, "threshold", ipath, problems, nonnegative=True)
        if threshold is not None and basis == "spend" and not _whole_money(threshold, decimals):
            problems.add(
                _join(ipath, "threshold"),
                f"must be a whole number of currency minor units ({decimals} decimal place(s)), "
                f"got {threshold}",
            )
            threshold = None
        if threshold is not None and basis == "points" and threshold != int(threshold):
            problems.add(_join(ipath, "threshold"), f"must be whole points, got {threshold}")
            threshold = None
        mult = _decimal(
            item,
            "earn_multiplier",
            ipath,
            problems,
            default=1,
            positive=True,
            max_decimals=MAX_RATE_DECIMALS,
        )
        privileges = _string_list(item, "privileges", ipath, problems)
        if name is not None:
            if name in seen:
                problems.add(
                    _join(ipath, "name"), f"duplicate tier name {name!r} (also {seen[name]})"
                )
                ok = False
            seen[name] = ipath
        if threshold is not None and previous is not None and threshold <= previous:
            problems.add(
                _join(ipath, "threshold"),
                f"must be greater than the previous tier's threshold {previous}, got {threshold}",
            )
            ok = False
        if threshold is not None:
            previous = threshold
        if name is None or threshold is None or mult is None:
            ok = False
            continue
        levels.append(Tier(name, threshold, mult, _or(privileges, ())))
    if not ok or window is None or not levels:
        return None
    return TierPolicy(
        tuple(levels),
        basis,  # type: ignore[arg-type]
        window,
        downgrade,  # type: ignore[arg-type]
    )


def _parse_expiry(config: Mapping[str, Any], problems: _Problems) -> ExpiryPolicy:
    raw = config.get("expiry", None)
    if raw is None or raw == "none":
        return ExpiryPolicy()
    if not isinstance(raw, Mapping):
        problems.add("expiry", f"must be a mapping or 'none', got {raw!r}")
        return ExpiryPolicy()
    _check_keys(raw, ("months", "clamp_to_month_end"), "expiry", problems)
    months = _integer(raw, "months", "expiry", problems, minimum=1, optional=True)
    clamp = _boolean(raw, "clamp_to_month_end", "expiry", problems, default=False)
    if clamp and months is None and raw.get("months") is None:
        problems.add("expiry.clamp_to_month_end", "needs expiry.months (points never expire)")
    return ExpiryPolicy(months, clamp)


def _parse_program(config: Mapping[str, Any]) -> Program:
    problems = _Problems()
    if not isinstance(config, Mapping):
        raise InvalidProgramError([f"<root>: must be a mapping, got {type(config).__name__}"])
    _check_keys(config, _TOP_KEYS, "", problems)
    name = _string(config, "name", "", problems)
    currency_raw = config.get("currency", "")
    if currency_raw is None:
        currency_raw = ""
    if not isinstance(currency_raw, str):
        problems.add("currency", f"must be a string, got {currency_raw!r}")
        currency_raw = ""
    decimals = _integer(config, "currency_decimals", "", problems, default=2, minimum=0)
    if decimals is not None and decimals > 6:
        problems.add("currency_decimals", f"must be <= 6, got {decimals}")
        decimals = None
    base_rate = _decimal(
        config, "base_rate", "", problems, positive=True, max_decimals=MAX_RATE_DECIMALS
    )

    eligible_raw = _get_mapping(config, "eligible_amount", "", problems) or {}
    _check_keys(eligible_raw, ("include_tax", "include_shipping"), "eligible_amount", problems)
    eligible = EligibleAmount(
        _boolean(eligible_raw, "include_tax", "eligible_amount", problems, default=False),
        _boolean(eligible_raw, "include_shipping", "eligible_amount", problems, default=False),
    )

    rules: list[EarnRule] = []
    first_seen: dict[str, str] = {}
    categories_seen: dict[str, str] = {}
    promo_names: dict[str, str] = {}
    rules_ok = True
    for path, item in _list(config, "earn_rules", "", problems):
        rule = _parse_rule(path, item, problems, decimals)
        if rule is None:
            rules_ok = False
            continue
        kind = str(item.get("type"))
        if kind in ("first_purchase", "birthday_month", "referral"):
            if kind in first_seen:
                problems.add(
                    f"{path}.type", f"only one {kind!r} rule allowed (also {first_seen[kind]})"
                )
                rules_ok = False
            first_seen[kind] = path
        if isinstance(rule, CategoryMultiplier):
            if rule.category in categories_seen:
                problems.add(
                    f"{path}.category",
                    f"duplicate category {rule.category!r} (also {categories_seen[rule.category]})",
                )
                rules_ok = False
            categories_seen[rule.category] = path
        if isinstance(rule, Promotion):
            if rule.name in promo_names:
                problems.add(
                    f"{path}.name",
                    f"duplicate promotion name {rule.name!r} (also {promo_names[rule.name]})",
                )
                rules_ok = False
            promo_names[rule.name] = path
        rules.append(rule)
    if len(promo_names) > MAX_PROMOTIONS:
        problems.add("earn_rules", f"at most {MAX_PROMOTIONS} promotions, got {len(promo_names)}")

    stacking = _choice(
        config, "promotion_stacking", "", problems, PROMOTION_STACKINGS, default="max"
    )
    minimum = _decimal(config, "minimum_spend", "", problems, default=0, nonnegative=True)
    if minimum is not None and not _whole_money(minimum, decimals):
        problems.add(
            "minimum_spend",
            f"must be a whole number of currency minor units ({decimals} decimal place(s)), "
            f"got {minimum}",
        )
    caps = _get_mapping(config, "caps", "", problems) or {}
    _check_keys(caps, ("per_transaction", "per_day", "per_month"), "caps", problems)
    cap_tx = _integer(caps, "per_transaction", "caps", problems, minimum=0, optional=True)
    cap_day = _integer(caps, "per_day", "caps", problems, minimum=0, optional=True)
    cap_month = _integer(caps, "per_month", "caps", problems, minimum=0, optional=True)
    rounding = _choice(config, "rounding", "", problems, ROUNDING_MODES, default="floor")
    tiers = _parse_tiers(config, problems, decimals)
    expiry = _parse_expiry(config, problems)
    pending = _integer(config, "pending_days", "", problems, default=0, minimum=0)
    returns_raw = _get_mapping(config, "returns", "", problems) or {}
    _check_keys(returns_raw, ("clawback", "allow_negative_balance"), "returns", problems)
    returns = ReturnPolicy(
        _choice(  # type: ignore[arg-type]
            returns_raw, "clawback", "returns", problems, CLAWBACK_POLICIES, default="proportional"
        ),
        _boolean(returns_raw, "allow_negative_balance", "returns", problems, default=False),
    )
    if problems.items or not rules_ok:
        if not problems.items:  # pragma: no cover - every failed rule adds a problem
            problems.add("earn_rules", "invalid")
        raise InvalidProgramError(problems.items)
    if name is None or base_rate is None or decimals is None or minimum is None or pending is None:
        raise InvalidProgramError(["<root>: incomplete configuration"])  # pragma: no cover
    return Program(
        name=name,
        base_rate=base_rate,
        currency=currency_raw,
        currency_decimals=decimals,
        eligible_amount=eligible,
        earn_rules=tuple(rules),
        promotion_stacking=stacking,  # type: ignore[arg-type]
        minimum_spend=minimum,
        cap_per_transaction=cap_tx,
        cap_per_day=cap_day,
        cap_per_month=cap_month,
        rounding=rounding,  # type: ignore[arg-type]
        tiers=tiers,
        expiry=expiry,
        pending_days=pending,
        returns=returns,
    )
