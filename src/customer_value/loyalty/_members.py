"""Member state kept by the ledger: profile, engine counters, tier, debt and totals."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.loyalty._program import Program
from customer_value.loyalty._rules import NS_PER_DAY, Counters, check_referral
from customer_value.loyalty._tiers import evaluate_tier, tier_window
from customer_value.loyalty._types import MemberState
from customer_value.loyalty.stores import StoreTransaction
from customer_value.loyalty.stores._balances import LedgerView

__all__ = [
    "START_COLUMNS",
    "check_order",
    "check_referrer",
    "confirmed_since",
    "counters",
    "member_state",
    "new_state",
    "refresh_tier",
    "spend_history",
    "tier_history",
]

#: The state a bulk import starts from (frozen at its first run).
START_COLUMNS = (
    "tier",
    "birth_month",
    "referred_by",
    "qualifying_purchases",
    "birthday_bonus_year",
)


def new_state() -> dict[str, Any]:
    return {
        "birth_month": None,
        "referred_by": None,
        "tier": None,
        "tier_since": None,
        "qualifying_purchases": 0,
        "last_purchase_at": None,
        "points_on_day": 0,
        "points_in_month": 0,
        "birthday_bonus_year": None,
        "debt": 0,
        "lifetime_earned": 0,
    }


def confirmed_since(since: int, at: int) -> int:
    """The last anniversary of ``since`` at or before ``at`` (``since`` if none yet).

    A member who qualifies again for the tier they hold is confirmed in it at
    the anniversary re-evaluation: under ``downgrade="anniversary"`` the tier is
    then kept until the next anniversary, not only until the first one.
    """
    start = pd.Timestamp(since, unit="ns")
    when = pd.Timestamp(at, unit="ns")
    years = when.year - start.year
    while years > 0 and start + pd.DateOffset(years=years) > when:
        years -= 1
    return since if years <= 0 else int((start + pd.DateOffset(years=years)).value)


def counters(state: dict[str, Any]) -> Counters:
    """The engine counters of a stored member state."""
    return Counters(
        qualifying_purchases=int(state["qualifying_purchases"]),
        last_purchase_at=state["last_purchase_at"],
        points_on_day=int(state["points_on_day"]),
        points_in_month=int(state["points_in_month"]),
        birthday_bonus_year=state["birthday_bonus_year"],
    )


def member_state(state: dict[str, Any]) -> MemberState:
    """The engine's view (:class:`MemberState`) of a stored member state."""
    last = state["last_purchase_at"]
    return MemberState(
        tier=state["tier"],
        birth_month=state["birth_month"],
        referred_by=state["referred_by"],
        qualifying_purchases=int(state["qualifying_purchases"]),
        last_purchase_at=None if last is None else pd.Timestamp(last, unit="ns").to_pydatetime(),
        points_on_day=int(state["points_on_day"]),
        points_in_month=int(state["points_in_month"]),
        birthday_bonus_year=state["birthday_bonus_year"],
    )


def check_referrer(member_id: str, referrer: str, lookup: Callable[[str], Any]) -> None:
    """Refuse a self-referral or a referral that closes a cycle among stored members."""

    def referrer_of(member: str) -> str | None:
        state = lookup(member)
        return None if state is None else state.get("referred_by")

    check_referral(member_id, referrer, referrer_of)


def refresh_tier(
    program: Program, txn: StoreTransaction, state: dict[str, Any], member_id: str, at: int
) -> None:
    """Evaluate the member's tier at a purchase and record a change or a confirmation."""
    status = evaluate_tier(
        program,
        spend_history(program, tier_history(program, txn, member_id, at)),
        pd.Timestamp(at, unit="ns"),
        current_tier=state["tier"],
        tier_since=None
        if state["tier_since"] is None
        else pd.Timestamp(state["tier_since"], unit="ns"),
    )
    if status.tier != state["tier"]:
        state["tier"] = status.tier
        state["tier_since"] = at
    elif status.qualified_tier == state["tier"] and state["tier_since"] is not None:
        state["tier_since"] = confirmed_since(state["tier_since"], at)


def check_order(program: Program, member_id: str, last: int | None, at: int) -> None:
    """Refuse a late purchase that would corrupt the day/month cap counters.

    The counters hold the points of the member's last purchase day and
    month only; a purchase dated on an earlier day (month) than the last one
    would reset them and let the later day (month) exceed its cap.
    """
    if last is None or at >= last:
        return
    earlier_day = at // NS_PER_DAY != last // NS_PER_DAY
    a, b = pd.Timestamp(at, unit="ns"), pd.Timestamp(last, unit="ns")
    earlier_month = (a.year, a.month) != (b.year, b.month)
    if (program.cap_per_day is not None and earlier_day) or (
        program.cap_per_month is not None and earlier_month
    ):
        raise InvalidDataError(
            f"purchase of member {member_id!r} at {a} is dated before the day/month of "
            f"the member's last purchase ({b}); with per-day/month caps purchases must "
            "be earned in time order"
        )


def tier_history(
    program: Program,
    txn: LedgerView,
    member_id: str,
    at: int,
    recorded_at: int | None = None,
) -> pd.DataFrame:
    """The member's entries that count for tiers, from the start of the window at ``at``.

    With ``recorded_at`` only the entries recorded by then.
    """
    _, _, since = tier_window(program, pd.Timestamp(at, unit="ns"))
    rows = [
        e
        for e in txn.member_entries(member_id, int(since.value))
        if e.amount_minor is not None
        and (recorded_at is None or e.recorded_at is None or e.recorded_at <= recorded_at)
    ]
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(np.array([e.at for e in rows], dtype=np.int64)),
            "points": np.array([e.points for e in rows], dtype=np.int64),
            "spend": np.array([e.amount_minor for e in rows], dtype=np.int64),
        }
    )


def spend_history(program: Program, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with spend in currency units (the ledger stores minor units)."""
    # spend-based tiers count money in currency units; the ledger stores minor units
    if program.tiers is not None and program.tiers.basis == "spend":
        scale = Decimal(1).scaleb(-program.currency_decimals)
        spend = [Decimal(int(v)) * scale for v in frame["spend"].tolist()]
        frame = frame.assign(spend=pd.Series(spend, index=frame.index, dtype=object))
    return frame
