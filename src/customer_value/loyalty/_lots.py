"""Lots: points credited as lots, consumed first-expiring-first, taken back on refunds.

A credit creates a lot (spendable after the pending period, expiring per the
programme) and first repays the member's debt; a debit consumes spendable lots
in expiry order, each consumption an allocation; a clawback or reversal takes
points back from the source entry's own lots first. The balance rule:
available = remaining points of spendable, unexpired lots minus the debt.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from customer_value.errors import InsufficientPointsError
from customer_value.loyalty._program import Program
from customer_value.loyalty._rules import available_ns, expiry_ns_one
from customer_value.loyalty.stores import LotRow, StoreTransaction

__all__ = ["consume", "credit", "debit", "plan_take_back"]


def credit(
    program: Program,
    txn: StoreTransaction,
    state: dict[str, Any],
    member_id: str,
    kind: str,
    points: int,
    at: int,
    *,
    pending: bool,
    amount_minor: int | None = None,
    transaction_id: str | None = None,
    reference: int | None = None,
    note: str | None = None,
) -> int:
    """Write a credit entry and its lot, repaying the member's debt from it first; its id.

    An entry of 0 points (a purchase that earned nothing) has no lot.
    """
    fields: dict[str, Any] = {
        "amount_minor": amount_minor,
        "transaction_id": transaction_id,
        "reference": reference,
        "note": note,
    }
    if points <= 0:
        return txn.entry_add(member_id, kind, points, at, **fields)
    spendable_at = available_ns(program, at) if pending else at
    expires = expiry_ns_one(program, at)
    entry_id, lot_id = txn.entry_with_lot_add(
        member_id, kind, points, at, spendable_at, expires, **fields
    )
    debt = int(state.get("debt", 0))
    if debt > 0:
        repay = min(debt, points)
        txn.allocate(entry_id, lot_id, repay)
        state["debt"] = debt - repay
    return entry_id


def debit(
    txn: StoreTransaction,
    state: dict[str, Any],
    member_id: str,
    kind: str,
    points: int,
    at: int,
    note: str | None,
    verb: str,
) -> int:
    """Write a debit entry of ``points`` (> 0) taken first-expiring-first; its entry id.

    Raises :class:`InsufficientPointsError` (nothing written) above the spendable
    balance at ``at``.
    """
    # the balance from the member's running total, then only the lots this debit takes
    available, lots = txn.spendable_lots(member_id, at, points, int(state.get("debt", 0)))
    if points > available:
        raise InsufficientPointsError(
            f"member {member_id!r} has {max(available, 0)} points available at "
            f"{pd.Timestamp(at, unit='ns')}, cannot {verb} {points}"
        )
    entry_id = txn.entry_add(member_id, kind, -points, at, note=note)
    consume(txn, entry_id, lots, points)
    return entry_id


def consume(txn: StoreTransaction, entry_id: int, lots: list[LotRow], points: int) -> int:
    """Take up to ``points`` from ``lots`` in order; return what was taken."""
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            txn.allocate(entry_id, lot.lot_id, take)
            left -= take
    return points - left


def plan_take_back(
    program: Program,
    txn: StoreTransaction,
    state: dict[str, Any],
    member_id: str,
    source_entry: int,
    points: int,
    at: int,
) -> tuple[list[tuple[LotRow, int]], int, int]:
    """Plan removing ``points`` for a clawback/reversal: the source's own lots first.

    Returns ``(plan, booked, shortfall)``: ``(lot, points)`` to take, the
    points the entry books and the shortfall it records. With negative
    balances allowed the missing points become debt (booked, shortfall 0).
    """
    own = [
        lot
        for lot in txn.lots_of_entry(source_entry)
        if lot.remaining > 0 and (lot.expires_at is None or lot.expires_at > at)
    ]
    need = points - sum(lot.remaining for lot in own)
    others = (
        txn.open_lots(member_id, at, spendable_only=False, points=need, exclude_entry=source_entry)
        if need > 0
        else []
    )
    plan: list[tuple[LotRow, int]] = []
    left = points
    for lot in own + others:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            plan.append((lot, take))
            left -= take
    if left and program.returns.allow_negative_balance:
        state["debt"] = int(state.get("debt", 0)) + left
        return plan, points, 0
    return plan, points - left, left
