"""The loyalty ledger: append-only entries, lots spent first-expiring-first, idempotent writes.

The :class:`Ledger` is assembled from its seams: earning, redeeming and manual
adjustments here; refunds and reversals in ``_corrections``; reads in
``_reads``; the bulk import in ``_bulk``. Its helpers are the receipts
(``_receipts``), idempotency (``_idempotency``), lots (``_lots``) and member
state (``_members``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from customer_value._progress import get_logger
from customer_value.errors import InvalidDataError
from customer_value.loyalty._args import member_arg, parse_at, points_arg, text_arg, to_minor
from customer_value.loyalty._bulk import _BulkImport
from customer_value.loyalty._corrections import _Corrections
from customer_value.loyalty._event import price, purchase_run
from customer_value.loyalty._idempotency import (
    at_key,
    idempotent,
    key_arg,
    request_fingerprint,
)
from customer_value.loyalty._lots import credit, debit
from customer_value.loyalty._members import (
    check_order,
    check_referrer,
    counters,
    new_state,
    refresh_tier,
)
from customer_value.loyalty._policies import MAX_POINTS
from customer_value.loyalty._program import Program
from customer_value.loyalty._reads import _Reads
from customer_value.loyalty._receipts import Balance, ImportSummary, LedgerReceipt
from customer_value.loyalty._rules import advance_counters
from customer_value.loyalty._types import PurchaseEvent
from customer_value.loyalty.stores import LotRow, Store, StoreTransaction

__all__ = ["Balance", "ImportSummary", "Ledger", "LedgerReceipt"]

_LOG = get_logger("loyalty.ledger")


class Ledger(_Corrections, _Reads, _BulkImport):
    """An auditable points ledger for one :class:`~customer_value.loyalty.Program`.

    Every change is an append-only entry; points live in lots that are consumed
    first-expiring-first, each consumption recorded as an allocation, so every
    redeemed or expired point traces back to the purchase that earned it.
    Corrections are reversing entries (:meth:`reverse`). Every write takes an
    ``idempotency_key``: repeating a request returns the first result and writes
    nothing; reusing a key for a different request raises
    :class:`~customer_value.errors.IdempotencyConflictError`. A write that
    fails (for example a redemption above the available balance) writes nothing.

    Parameters
    ----------
    program : Program
        The validated program (earn rules, tiers, expiry, pending days, returns).
    store : Store
        Where entries live: :class:`~customer_value.loyalty.MemoryStore`,
        :class:`~customer_value.loyalty.SQLiteStore` or
        :class:`~customer_value.loyalty.PostgresStore`.

    Raises
    ------
    InvalidDataError
        ``program`` or ``store`` of the wrong type.

    Notes
    -----
    Invariants kept by every operation, for each member:
    ``sum(entries.points) == sum(lots.remaining) - debt`` (balance = earned -
    redeemed - expired - clawed back +/- adjustments), every lot's
    ``0 <= remaining == points - sum(allocations)``.

    References
    ----------
    IFRS 15 *Revenue from Contracts with Customers*, B39-B43 (customer options);
    the ledger keeps the redemption history that the accounting module needs.

    Examples
    --------
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program, PurchaseEvent
    >>> program = Program.from_dict({"name": "shop", "currency_decimals": 0, "base_rate": "1",
    ...                              "expiry": {"months": 12}, "pending_days": 7})
    >>> ledger = Ledger(program, MemoryStore())
    >>> _ = ledger.earn(PurchaseEvent("m1", dt.datetime(2024, 1, 5), Decimal(1200),
    ...                               transaction_id="T1"), idempotency_key="earn-T1")
    >>> ledger.balance("m1", at="2024-01-06")
    Balance(member_id='m1', at=Timestamp('2024-01-06 00:00:00'), available=0, pending=1200, expiring_30d=0, lifetime_earned=1200)
    >>> ledger.redeem("m1", 500, at="2024-02-01", idempotency_key="r1").points
    -500
    >>> ledger.balance("m1", at="2024-02-01").available
    700
    """  # noqa: E501

    def __init__(self, program: Program, store: Store) -> None:
        if not isinstance(program, Program):
            raise InvalidDataError(
                f"program must be a customer_value.loyalty.Program, got {type(program).__name__}"
            )
        if not isinstance(store, Store):
            raise InvalidDataError(
                f"store must be a MemoryStore, SQLiteStore or PostgresStore (a Store), "
                f"got {type(store).__name__}"
            )
        self.program = program
        self.store = store

    def __repr__(self) -> str:
        return f"Ledger(program={self.program.name!r}, store={self.store!r})"

    # ------------------------------------------------------------------ members
    def set_member(
        self,
        member_id: str,
        *,
        birth_month: int | None = None,
        referred_by: str | None = None,
    ) -> None:
        """Record a member's profile (birth month, referrer); safe to repeat.

        Parameters
        ----------
        member_id : str
            The member.
        birth_month : int, optional
            1-12, for birthday bonuses (None leaves the stored value unchanged).
        referred_by : str, optional
            The referring member, credited with the referral bonus on this
            member's first qualifying purchase (None leaves the stored value
            unchanged).

        Raises
        ------
        InvalidDataError
            Bad member id or birth month, a member referring themselves, or a
            referrer whose own chain of referrers leads back to this member.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> ledger.set_member("m1", birth_month=5)
        >>> int(ledger.store.members_frame().loc["m1", "birth_month"])
        5
        """
        member_id = member_arg(member_id)
        if birth_month is not None and (
            isinstance(birth_month, bool)
            or not isinstance(birth_month, (int, np.integer))
            or not 1 <= birth_month <= 12
        ):
            raise InvalidDataError(f"birth_month must be 1-12, got {birth_month!r}")
        if referred_by is not None:
            referred_by = member_arg(referred_by)
        with self.store.transaction() as txn:
            state = txn.member_get(member_id) or new_state()
            if birth_month is not None:
                state["birth_month"] = int(birth_month)
            if referred_by is not None:
                check_referrer(member_id, referred_by, txn.member_get)
                state["referred_by"] = referred_by
            txn.member_put(member_id, state)

    # ------------------------------------------------------------------ writes
    def earn(self, purchase: PurchaseEvent, *, idempotency_key: str) -> LedgerReceipt:
        """Credit the points of one purchase (priced by the engine with the member's state).

        Parameters
        ----------
        purchase : PurchaseEvent
            The purchase; its ``transaction_id`` (if any) must not have earned
            before and is what :meth:`refund` refers to.
        idempotency_key : str
            Unique key of this request.

        Returns
        -------
        LedgerReceipt
            ``points`` credited to the member; ``entry_ids`` the member's earn
            entry, then the referrer's bonus entry if one was triggered.

        Raises
        ------
        IdempotencyConflictError
            The key was used for a different request.
        InvalidDataError
            Bad purchase, its ``transaction_id`` already earned points, or (with
            per-day/month caps) it is dated on an earlier day/month than the
            member's last purchase.

        Notes
        -----
        Points are :func:`~customer_value.loyalty.points_for_event` with the
        member's tier evaluated at the purchase
        (:func:`~customer_value.loyalty.evaluate_tier` on the entries of the
        tier window); under ``downgrade="anniversary"`` a member still
        qualified for their tier at the first purchase after an anniversary is
        confirmed in it until the next one. The lot becomes spendable after
        ``pending_days`` and expires per the program; a debt left by earlier
        clawbacks is repaid from it first.

        Examples
        --------
        >>> import datetime as dt
        >>> from decimal import Decimal
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program, PurchaseEvent
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1",
        ...                                    "currency_decimals": 0}), MemoryStore())
        >>> event = PurchaseEvent("m1", dt.datetime(2024, 3, 1), Decimal(250), transaction_id="T9")
        >>> ledger.earn(event, idempotency_key="T9").points
        250
        >>> ledger.earn(event, idempotency_key="T9").points  # a replay writes nothing
        250
        >>> len(ledger.history("m1"))
        1
        """
        if not isinstance(purchase, PurchaseEvent):
            raise InvalidDataError(
                f"purchase must be a PurchaseEvent, got {type(purchase).__name__}"
            )
        key = key_arg(idempotency_key)
        member_id = member_arg(purchase.member_id)
        at = parse_at(purchase.at, "purchase.at")
        fingerprint = request_fingerprint(
            "earn",
            {
                "member_id": member_id,
                "at": at,
                "subtotal": str(purchase.subtotal),
                "discount": str(purchase.discount),
                "tax": str(purchase.tax),
                "shipping": str(purchase.shipping),
                "category": purchase.category,
                "transaction_id": purchase.transaction_id,
            },
        )
        program = self.program

        def write(txn: StoreTransaction) -> LedgerReceipt:
            if purchase.transaction_id is not None:
                previous = txn.earn_by_transaction(purchase.transaction_id)
                if previous is not None:
                    raise InvalidDataError(
                        f"transaction_id {purchase.transaction_id!r} already earned points "
                        f"(entry {previous.entry_id})"
                    )
            state = txn.member_get(member_id) or new_state()
            check_order(self.program, member_id, state["last_purchase_at"], at)
            if program.tiers is not None:
                refresh_tier(program, txn, state, member_id, at)
            # the engine's rule on the stored state (points_for_event and advance_state
            # without their conversions)
            before = counters(state)
            result = price(
                program,
                purchase,
                at,
                state["tier"],
                state["birth_month"],
                state["referred_by"],
                before,
            )
            if result.points > MAX_POINTS:
                points_arg(
                    result.points, f"points earned by transaction {purchase.transaction_id!r}"
                )
            after = advance_counters(
                before,
                purchase_run(at, result.qualifies, result.earn_points, result.birthday_bonus),
            )
            state["qualifying_purchases"] = after.qualifying_purchases
            state["last_purchase_at"] = at
            state["points_on_day"] = after.points_on_day
            state["points_in_month"] = after.points_in_month
            state["birthday_bonus_year"] = after.birthday_bonus_year
            state["lifetime_earned"] = int(state["lifetime_earned"]) + result.points
            entry_id = credit(
                program,
                txn,
                state,
                member_id,
                "earn",
                result.points,
                at,
                pending=True,
                amount_minor=to_minor(result.eligible_amount, program.currency_decimals),
                transaction_id=purchase.transaction_id,
            )
            txn.member_put(member_id, state)
            entry_ids = [entry_id]
            if result.referrer_id is not None and result.referrer_points > 0:
                referrer = result.referrer_id
                ref_state = txn.member_get(referrer) or new_state()
                ref_entry = credit(
                    program,
                    txn,
                    ref_state,
                    referrer,
                    "earn",
                    result.referrer_points,
                    at,
                    pending=True,
                    reference=entry_id,
                    note=f"referral bonus for {member_id}",
                )
                ref_state["lifetime_earned"] = (
                    int(ref_state["lifetime_earned"]) + result.referrer_points
                )
                txn.member_put(referrer, ref_state)
                entry_ids.append(ref_entry)
            return LedgerReceipt(
                "earn", member_id, result.points, tuple(entry_ids), pd.Timestamp(at, unit="ns")
            )

        return idempotent(
            self.store,
            key,
            fingerprint,
            write,
            (member_id,),
            purchase.transaction_id,
            (1, 1),
            # under tiers an earn reads the member's history, which a single write does
            # not cover (_single): the per-statement path straight away
            single=program.tiers is None,
        )

    def redeem(
        self,
        member_id: str,
        points: int,
        *,
        at: Any = None,
        idempotency_key: str,
        note: str | None = None,
    ) -> LedgerReceipt:
        """Spend points, taking them from the first-expiring spendable lots.

        Parameters
        ----------
        member_id : str
            The member.
        points : int
            Points to spend (> 0).
        at : datetime-like, optional
            When (default: now).
        idempotency_key : str
            Unique key of this request.
        note : str, optional
            Free text stored on the entry (for example the reward).

        Returns
        -------
        LedgerReceipt
            ``points`` is ``-points``.

        Raises
        ------
        InsufficientPointsError
            More than the available balance; nothing is written.
        IdempotencyConflictError
            The key was used for a different request.
        InvalidDataError
            Bad member id, points or time.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> _ = ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
        >>> ledger.redeem("m1", 150, at="2024-01-02", idempotency_key="r1")
        Traceback (most recent call last):
        ...
        customer_value.errors.InsufficientPointsError: member 'm1' has 100 points available at 2024-01-02 00:00:00, cannot redeem 150
        """  # noqa: E501
        member_id = member_arg(member_id)
        points = points_arg(points, "points")
        note = text_arg(note, "note")
        key = key_arg(idempotency_key)
        at_ns = parse_at(at, "at")
        fingerprint = request_fingerprint(
            "redeem",
            {"member_id": member_id, "points": points, "at": at_key(at, at_ns), "note": note},
        )

        def write(txn: StoreTransaction) -> LedgerReceipt:
            state = txn.member_get(member_id) or new_state()
            entry_id = debit(txn, state, member_id, "redeem", points, at_ns, note, "redeem")
            return LedgerReceipt(
                "redeem", member_id, -points, (entry_id,), pd.Timestamp(at_ns, unit="ns")
            )

        return idempotent(
            self.store, key, fingerprint, write, (member_id,), None, (1, 0), single=True
        )

    def adjust(
        self,
        member_id: str,
        points: int,
        *,
        at: Any = None,
        reason: str | None = None,
        idempotency_key: str,
    ) -> LedgerReceipt:
        """Add (goodwill, migration) or remove points by hand.

        Parameters
        ----------
        member_id : str
            The member.
        points : int
            Signed, non-zero. A credit becomes a new lot, spendable at once and
            expiring per the program; a debit is taken from the first-expiring
            spendable lots.
        at : datetime-like, optional
            When (default: now).
        reason : str, optional
            Stored on the entry.
        idempotency_key : str
            Unique key of this request.

        Returns
        -------
        LedgerReceipt
            ``points`` as given.

        Raises
        ------
        InsufficientPointsError
            A debit above the available balance; nothing is written.
        IdempotencyConflictError
            The key was used for a different request.
        InvalidDataError
            Bad member id, points or time.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> ledger.adjust("m1", 300, at="2024-01-01", reason="goodwill",
        ...               idempotency_key="g1").points
        300
        >>> ledger.adjust("m1", -120, at="2024-01-02", idempotency_key="g2").points
        -120
        >>> ledger.balance("m1", at="2024-01-03").available
        180
        """
        member_id = member_arg(member_id)
        points = points_arg(points, "points", allow_negative=True)
        reason = text_arg(reason, "reason")
        key = key_arg(idempotency_key)
        at_ns = parse_at(at, "at")
        fingerprint = request_fingerprint(
            "adjust",
            {"member_id": member_id, "points": points, "at": at_key(at, at_ns), "reason": reason},
        )

        def write(txn: StoreTransaction) -> LedgerReceipt:
            state = txn.member_get(member_id) or new_state()
            if points > 0:
                entry_id = credit(
                    self.program,
                    txn,
                    state,
                    member_id,
                    "adjust",
                    points,
                    at_ns,
                    pending=False,
                    note=reason,
                )
            else:
                entry_id = debit(txn, state, member_id, "adjust", -points, at_ns, reason, "remove")
            txn.member_put(member_id, state)
            return LedgerReceipt(
                "adjust", member_id, points, (entry_id,), pd.Timestamp(at_ns, unit="ns")
            )

        return idempotent(self.store, key, fingerprint, write, (member_id,), single=True)

    def expire_due(self, at: Any, *, idempotency_key: str | None = None) -> LedgerReceipt:
        """Expire every lot whose expiry is at or before ``at`` (one entry per member).

        Parameters
        ----------
        at : datetime-like
            The run's cut-off.
        idempotency_key : str, optional
            Default ``"expire-due:<at>"``: running twice for the same instant
            writes nothing the second time.

        Returns
        -------
        LedgerReceipt
            ``member_id`` None, ``points`` minus the points expired,
            ``entry_ids`` one expire entry per member.

        Raises
        ------
        InvalidDataError
            Bad time.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1",
        ...                                    "expiry": {"months": 12}}), MemoryStore())
        >>> _ = ledger.adjust("m1", 100, at="2023-01-15", idempotency_key="a1")
        >>> _ = ledger.adjust("m1", 50, at="2023-06-15", idempotency_key="a2")
        >>> ledger.expire_due("2024-02-01").points
        -100
        >>> ledger.balance("m1", at="2024-02-01").available
        50
        """
        at_ns = parse_at(at, "at")
        key = f"expire-due:{at_ns}" if idempotency_key is None else key_arg(idempotency_key)
        fingerprint = request_fingerprint("expire", {"at": at_ns})

        def write(txn: StoreTransaction) -> LedgerReceipt:
            by_member: dict[str, list[LotRow]] = defaultdict(list)
            for lot in txn.due_lots(at_ns):
                by_member[lot.member_id].append(lot)
            entry_ids = []
            total = 0
            for member_id, lots in by_member.items():
                points = sum(lot.remaining for lot in lots)
                entry_id = txn.entry_add(member_id, "expire", -points, at_ns)
                for lot in lots:
                    txn.allocate(entry_id, lot.lot_id, lot.remaining)
                entry_ids.append(entry_id)
                total += points
            _LOG.info("expire_due(%s): %d points of %d members", at, total, len(by_member))
            return LedgerReceipt(
                "expire", None, -total, tuple(entry_ids), pd.Timestamp(at_ns, unit="ns")
            )

        return idempotent(self.store, key, fingerprint, write)
