"""Corrections of the ledger: refunds (proportional clawback) and reversing entries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.loyalty._args import parse_at, text_arg, to_minor
from customer_value.loyalty._core import LedgerCore
from customer_value.loyalty._expiry import clawback_points
from customer_value.loyalty._idempotency import (
    at_key,
    idempotent,
    key_arg,
    request_fingerprint,
)
from customer_value.loyalty._lots import plan_take_back
from customer_value.loyalty._members import new_state
from customer_value.loyalty._receipts import LedgerReceipt
from customer_value.loyalty.stores import StoreTransaction

__all__: list[str] = []


class _Corrections(LedgerCore):
    """:meth:`refund` and :meth:`reverse` of the ledger."""

    def refund(
        self,
        transaction_id: str,
        refunded_amount: Any,
        *,
        at: Any = None,
        idempotency_key: str,
    ) -> LedgerReceipt:
        """Claw back points for (part of) a refunded purchase.

        Parameters
        ----------
        transaction_id : str
            The purchase's ``transaction_id`` as earned.
        refunded_amount : Decimal
            Refunded part of the purchase's eligible amount (currency units,
            Decimal, int or decimal string). Several partial refunds may follow
            one another up to the eligible amount.
        at : datetime-like, optional
            When (default: now).
        idempotency_key : str
            Unique key of this request.

        Returns
        -------
        LedgerReceipt
            ``points`` is minus the points clawed back; ``shortfall`` what could
            not be taken back.

        Raises
        ------
        InvalidDataError
            Unknown transaction, a transaction whose earn was reversed, a refund
            dated before the purchase, or refunds above the eligible amount.
        IdempotencyConflictError
            The key was used for a different request.

        Notes
        -----
        The cumulative clawback after refunds totalling ``R`` of an eligible
        amount ``E`` that earned ``P`` points is
        :func:`~customer_value.loyalty.clawback_points` ``(P, E, R)`` (the
        program's rounding), so successive partial refunds never claw back more
        than one refund of the same total. Points come from the purchase's own
        lot first (normally still pending), then from the member's other lots
        first-expiring-first. What is still missing becomes debt when the
        program allows negative balances, otherwise it is recorded as
        ``shortfall`` on the clawback entry.

        Examples
        --------
        >>> import datetime as dt
        >>> from decimal import Decimal
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program, PurchaseEvent
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1",
        ...     "currency_decimals": 0, "pending_days": 7}), MemoryStore())
        >>> _ = ledger.earn(PurchaseEvent("m1", dt.datetime(2024, 3, 1), Decimal(1000),
        ...                               transaction_id="T1"), idempotency_key="e1")
        >>> ledger.refund("T1", Decimal(400), at="2024-03-03", idempotency_key="f1").points
        -400
        >>> ledger.balance("m1", at="2024-03-09").available
        600
        """
        if not isinstance(transaction_id, str) or not transaction_id:
            raise InvalidDataError(
                f"transaction_id must be a non-empty string, got {transaction_id!r}"
            )
        key = key_arg(idempotency_key)
        at_ns = parse_at(at, "at")
        program = self.program
        decimals = program.currency_decimals
        try:
            amount = Decimal(refunded_amount) if not isinstance(refunded_amount, float) else None
        except (ArithmeticError, ValueError, TypeError):
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            raise InvalidDataError(
                f"refunded_amount must be a positive Decimal amount, got {refunded_amount!r}"
            )
        if amount != amount.quantize(Decimal(1).scaleb(-decimals)):
            raise InvalidDataError(
                f"refunded_amount must be a whole number of minor units ({decimals} decimal "
                f"place(s)), got {amount}"
            )
        refunded_minor = to_minor(amount, decimals)
        fingerprint = request_fingerprint(
            "refund",
            {"transaction_id": transaction_id, "amount": refunded_minor, "at": at_key(at, at_ns)},
        )

        def write(txn: StoreTransaction) -> LedgerReceipt:
            earn = txn.earn_by_transaction(transaction_id)
            if earn is None:
                raise InvalidDataError(f"transaction_id {transaction_id!r} never earned points")
            if at_ns < earn.at:
                raise InvalidDataError(
                    f"refund at {pd.Timestamp(at_ns, unit='ns')} is before the purchase of "
                    f"transaction {transaction_id!r} at {pd.Timestamp(earn.at, unit='ns')}"
                )
            if any(e.kind == "reversal" for e in txn.entries_referencing(earn.entry_id)):
                raise InvalidDataError(
                    f"transaction {transaction_id!r} was reversed (entry {earn.entry_id}); "
                    "its points were already taken back"
                )
            eligible = int(earn.amount_minor or 0)
            before = [e for e in txn.entries_referencing(earn.entry_id) if e.kind == "clawback"]
            refunded_before = -sum(int(e.amount_minor or 0) for e in before)
            clawed_before = sum(-e.points + e.shortfall for e in before)
            total = refunded_before + refunded_minor
            if total > eligible:
                raise InvalidDataError(
                    f"refunds of transaction {transaction_id!r} would total "
                    f"{Decimal(total).scaleb(-decimals)}, above its eligible amount "
                    f"{Decimal(eligible).scaleb(-decimals)}"
                )
            target = clawback_points(
                program,
                int(earn.points),
                Decimal(eligible).scaleb(-decimals),
                Decimal(total).scaleb(-decimals),
            )
            claw = max(target - clawed_before, 0)
            member_id = earn.member_id
            state = txn.member_get(member_id) or new_state()
            plan, booked, short = plan_take_back(
                self.program, txn, state, member_id, earn.entry_id, claw, at_ns
            )
            entry_id = txn.entry_add(
                member_id,
                "clawback",
                -booked,
                at_ns,
                amount_minor=-refunded_minor,
                transaction_id=transaction_id,
                reference=earn.entry_id,
                shortfall=short,
            )
            for lot, take in plan:
                txn.allocate(entry_id, lot.lot_id, take)
            txn.member_put(member_id, state)
            return LedgerReceipt(
                "refund",
                member_id,
                -booked,
                (entry_id,),
                pd.Timestamp(at_ns, unit="ns"),
                shortfall=short,
            )

        return idempotent(self.store, key, fingerprint, write, (), transaction_id)

    def reverse(
        self,
        entry_id: int,
        *,
        at: Any = None,
        reason: str | None = None,
        idempotency_key: str,
    ) -> LedgerReceipt:
        """Correct an earn, redeem or adjust entry with a reversing entry.

        Parameters
        ----------
        entry_id : int
            The entry to reverse (never itself changed: entries are append-only).
        at : datetime-like, optional
            When (default: now).
        reason : str, optional
            Stored on the reversal.
        idempotency_key : str
            Unique key of this request.

        Returns
        -------
        LedgerReceipt
            ``points`` is the signed change (minus the points of a reversed
            earn, plus those of a reversed redemption).

        Raises
        ------
        InvalidDataError
            Unknown entry, an entry of another kind, one already reversed, a
            purchase already (partly) refunded, or ``at`` before the entry.
        IdempotencyConflictError
            The key was used for a different request.

        Notes
        -----
        A reversed redemption or debit gives each allocated point back to the
        lot it came from (a negative allocation), so lots keep their expiry. A
        reversed credit takes its points back like a clawback: from its own
        lot first, then the member's other lots, the rest as debt or shortfall
        per the return policy.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> _ = ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
        >>> wrong = ledger.redeem("m1", 40, at="2024-01-02", idempotency_key="r1")
        >>> ledger.reverse(wrong.entry_ids[0], at="2024-01-03", idempotency_key="x1").points
        40
        >>> ledger.balance("m1", at="2024-01-04").available
        100
        """
        if isinstance(entry_id, bool) or not isinstance(entry_id, (int, np.integer)):
            raise InvalidDataError(f"entry_id must be an integer, got {entry_id!r}")
        reason = text_arg(reason, "reason")
        key = key_arg(idempotency_key)
        at_ns = parse_at(at, "at")
        fingerprint = request_fingerprint(
            "reverse", {"entry_id": int(entry_id), "at": at_key(at, at_ns), "reason": reason}
        )

        def write(txn: StoreTransaction) -> LedgerReceipt:
            entry = txn.entry_get(int(entry_id))
            if entry is None:
                raise InvalidDataError(f"entry_id {entry_id} does not exist")
            if entry.kind not in ("earn", "redeem", "adjust"):
                raise InvalidDataError(
                    f"entry {entry_id} is a {entry.kind!r} entry; only earn, redeem and adjust "
                    "entries can be reversed"
                )
            if at_ns < entry.at:
                raise InvalidDataError(
                    f"reversal at {pd.Timestamp(at_ns, unit='ns')} is before entry {entry_id} "
                    f"at {pd.Timestamp(entry.at, unit='ns')}"
                )
            related = txn.entries_referencing(entry.entry_id)
            if any(e.kind == "reversal" for e in related):
                raise InvalidDataError(f"entry {entry_id} was already reversed")
            if any(e.kind == "clawback" for e in related):
                raise InvalidDataError(
                    f"entry {entry_id} was partly refunded; refund the rest instead of reversing"
                )
            member_id = entry.member_id
            state = txn.member_get(member_id) or new_state()
            shortfall = 0
            if entry.points < 0:
                give_back = txn.allocations_of(entry.entry_id)
                booked = -entry.points
                new_id = txn.entry_add(
                    member_id,
                    "reversal",
                    booked,
                    at_ns,
                    reference=entry.entry_id,
                    note=reason,
                )
                for lot_id, pts in give_back:
                    txn.allocate(new_id, lot_id, -pts)
            else:
                plan, taken, shortfall = plan_take_back(
                    self.program, txn, state, member_id, entry.entry_id, entry.points, at_ns
                )
                booked = -taken
                new_id = txn.entry_add(
                    member_id,
                    "reversal",
                    booked,
                    at_ns,
                    amount_minor=None if entry.amount_minor is None else -entry.amount_minor,
                    reference=entry.entry_id,
                    shortfall=shortfall,
                    note=reason,
                )
                for lot, take in plan:
                    txn.allocate(new_id, lot.lot_id, take)
                if entry.kind == "earn":
                    state["lifetime_earned"] = int(state["lifetime_earned"]) - entry.points
            txn.member_put(member_id, state)
            return LedgerReceipt(
                "reverse",
                member_id,
                booked,
                (new_id,),
                pd.Timestamp(at_ns, unit="ns"),
                shortfall=shortfall,
            )

        return idempotent(self.store, key, fingerprint, write)
