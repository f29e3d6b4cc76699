"""The :class:`Program`: a frozen, validated loyalty programme built from its policies.

The policies (earn rules, tiers, expiry, returns) are the dataclasses of
:mod:`customer_value.loyalty._policies`; the configuration grammar (dict/JSON
reading, validation, serialisation) lives in
:mod:`customer_value.loyalty._program_grammar`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from customer_value.loyalty._policies import (
    BirthdayBonus,
    CategoryMultiplier,
    EarnRule,
    EligibleAmount,
    ExpiryPolicy,
    FirstPurchaseBonus,
    Promotion,
    PromotionStacking,
    ReferralBonus,
    ReturnPolicy,
    RoundingMode,
    TierPolicy,
)
from customer_value.loyalty._program_grammar import (
    load_program_json,
    parse_program,
    program_to_dict,
)

__all__ = ["Program"]


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
        return cls(**parse_program(config))

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
        return cls(**parse_program(load_program_json(text)))

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
        return program_to_dict(self)

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
