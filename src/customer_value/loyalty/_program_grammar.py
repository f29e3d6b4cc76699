"""The grammar of a loyalty programme configuration: reading, validating, writing.

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

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from customer_value._json import loads_strict
from customer_value.errors import InvalidDataError, InvalidProgramError
from customer_value.loyalty._policies import (
    CLAWBACK_POLICIES,
    DOWNGRADE_POLICIES,
    EARN_RULE_TYPES,
    MAX_MONEY_MINOR,
    MAX_MONTHS,
    MAX_PENDING_DAYS,
    MAX_POINTS,
    MAX_PROMOTIONS,
    MAX_RATE,
    MAX_RATE_DECIMALS,
    PROMOTION_STACKINGS,
    ROUNDING_MODES,
    TIER_BASES,
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
from customer_value.loyalty._program_fields import (
    _boolean,
    _check_keys,
    _choice,
    _date,
    _decimal,
    _get_mapping,
    _integer,
    _join,
    _list,
    _or,
    _Problems,
    _string,
    _string_list,
    _whole_money,
)

if TYPE_CHECKING:
    from customer_value.loyalty._program import Program

__all__ = ["load_program_json", "parse_program", "program_to_dict"]


def load_program_json(text: str | bytes) -> Mapping[str, Any]:
    """The configuration mapping of a JSON document (numbers read as ``Decimal``).

    Refuses what :func:`customer_value._json.loads_strict` refuses (invalid JSON
    or UTF-8, a repeated key, nesting deeper than 64 levels, NaN).
    """
    try:
        config = loads_strict(text, what="<json>", parse_float=Decimal)
    except InvalidDataError as exc:
        raise InvalidProgramError([str(exc)]) from None
    if not isinstance(config, dict):
        raise InvalidProgramError([f"<root>: must be a JSON object, got {type(config).__name__}"])
    return config


def program_to_dict(program: Program) -> dict[str, Any]:
    """The configuration of ``program`` as JSON-compatible data (see ``Program.to_dict``)."""
    rules: list[dict[str, Any]] = []
    for rule in program.earn_rules:
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
        "name": program.name,
        "currency": program.currency,
        "currency_decimals": program.currency_decimals,
        "base_rate": str(program.base_rate),
        "eligible_amount": {
            "include_tax": program.eligible_amount.include_tax,
            "include_shipping": program.eligible_amount.include_shipping,
        },
        "earn_rules": rules,
        "promotion_stacking": program.promotion_stacking,
        "minimum_spend": str(program.minimum_spend),
        "caps": {
            "per_transaction": program.cap_per_transaction,
            "per_day": program.cap_per_day,
            "per_month": program.cap_per_month,
        },
        "rounding": program.rounding,
        "tiers": None,
        "expiry": {
            "months": program.expiry.months,
            "clamp_to_month_end": program.expiry.clamp_to_month_end,
        },
        "pending_days": program.pending_days,
        "returns": {
            "clawback": program.returns.clawback,
            "allow_negative_balance": program.returns.allow_negative_balance,
        },
    }
    if program.tiers is not None:
        out["tiers"] = {
            "basis": program.tiers.basis,
            "window_months": program.tiers.window_months,
            "downgrade": program.tiers.downgrade,
            "levels": [
                {
                    "name": t.name,
                    "threshold": str(t.threshold),
                    "earn_multiplier": str(t.earn_multiplier),
                    "privileges": list(t.privileges),
                }
                for t in program.tiers.levels
            ],
        }
    return out


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
            item,
            "multiplier",
            path,
            problems,
            positive=True,
            max_decimals=MAX_RATE_DECIMALS,
            maximum=MAX_RATE,
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
            item,
            "multiplier",
            path,
            problems,
            positive=True,
            max_decimals=MAX_RATE_DECIMALS,
            maximum=MAX_RATE,
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
        pts = _integer(item, "points", path, problems, minimum=0, maximum=MAX_POINTS)
        return None if pts is None else FirstPurchaseBonus(pts)
    if kind == "birthday_month":
        _check_keys(item, ("type", "points", "multiplier"), path, problems)
        pts = _integer(item, "points", path, problems, default=0, minimum=0, maximum=MAX_POINTS)
        mult = _decimal(
            item,
            "multiplier",
            path,
            problems,
            default=1,
            positive=True,
            max_decimals=MAX_RATE_DECIMALS,
            maximum=MAX_RATE,
        )
        if pts is None or mult is None:
            return None
        return BirthdayBonus(pts, mult)
    _check_keys(item, ("type", "points"), path, problems)
    pts = _integer(item, "points", path, problems, minimum=0, maximum=MAX_POINTS)
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
    window = _integer(
        tiers, "window_months", path, problems, default=12, minimum=1, maximum=MAX_MONTHS
    )
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
        if threshold is not None and not _within_limit(threshold, basis, decimals):
            problems.add(_join(ipath, "threshold"), _limit_message(basis, decimals, threshold))
            threshold = None
        mult = _decimal(
            item,
            "earn_multiplier",
            ipath,
            problems,
            default=1,
            positive=True,
            max_decimals=MAX_RATE_DECIMALS,
            maximum=MAX_RATE,
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


def _within_limit(value: Decimal, basis: str, decimals: int | None) -> bool:
    """Whether a threshold (points, or money in currency units) is within the limits."""
    if basis == "points":
        return value <= MAX_POINTS
    return decimals is None or value.scaleb(decimals) <= MAX_MONEY_MINOR


def _limit_message(basis: str, decimals: int | None, value: Decimal) -> str:
    if basis == "points":
        return f"must be <= {MAX_POINTS} points, got {value}"
    limit = Decimal(MAX_MONEY_MINOR).scaleb(-(decimals or 0))
    return f"must be <= {limit} (currency units), got {value}"


def _parse_expiry(config: Mapping[str, Any], problems: _Problems) -> ExpiryPolicy:
    raw = config.get("expiry", None)
    if raw is None or raw == "none":
        return ExpiryPolicy()
    if not isinstance(raw, Mapping):
        problems.add("expiry", f"must be a mapping or 'none', got {raw!r}")
        return ExpiryPolicy()
    _check_keys(raw, ("months", "clamp_to_month_end"), "expiry", problems)
    months = _integer(
        raw, "months", "expiry", problems, minimum=1, maximum=MAX_MONTHS, optional=True
    )
    clamp = _boolean(raw, "clamp_to_month_end", "expiry", problems, default=False)
    if clamp and months is None and raw.get("months") is None:
        problems.add("expiry.clamp_to_month_end", "needs expiry.months (points never expire)")
    return ExpiryPolicy(months, clamp)


def parse_program(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``config``; the keyword arguments of the :class:`Program` it describes."""
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
        config,
        "base_rate",
        "",
        problems,
        positive=True,
        max_decimals=MAX_RATE_DECIMALS,
        maximum=MAX_RATE,
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
    if minimum is not None and not _within_limit(minimum, "spend", decimals):
        problems.add("minimum_spend", _limit_message("spend", decimals, minimum))
    elif minimum is not None and not _whole_money(minimum, decimals):
        problems.add(
            "minimum_spend",
            f"must be a whole number of currency minor units ({decimals} decimal place(s)), "
            f"got {minimum}",
        )
    caps = _get_mapping(config, "caps", "", problems) or {}
    _check_keys(caps, ("per_transaction", "per_day", "per_month"), "caps", problems)
    cap_tx = _integer(
        caps, "per_transaction", "caps", problems, minimum=0, maximum=MAX_POINTS, optional=True
    )
    cap_day = _integer(
        caps, "per_day", "caps", problems, minimum=0, maximum=MAX_POINTS, optional=True
    )
    cap_month = _integer(
        caps, "per_month", "caps", problems, minimum=0, maximum=MAX_POINTS, optional=True
    )
    rounding = _choice(config, "rounding", "", problems, ROUNDING_MODES, default="floor")
    tiers = _parse_tiers(config, problems, decimals)
    expiry = _parse_expiry(config, problems)
    pending = _integer(
        config, "pending_days", "", problems, default=0, minimum=0, maximum=MAX_PENDING_DAYS
    )
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
    return {
        "name": name,
        "base_rate": base_rate,
        "currency": currency_raw,
        "currency_decimals": decimals,
        "eligible_amount": eligible,
        "earn_rules": tuple(rules),
        "promotion_stacking": stacking,
        "minimum_spend": minimum,
        "cap_per_transaction": cap_tx,
        "cap_per_day": cap_day,
        "cap_per_month": cap_month,
        "rounding": rounding,
        "tiers": tiers,
        "expiry": expiry,
        "pending_days": pending,
        "returns": returns,
    }
