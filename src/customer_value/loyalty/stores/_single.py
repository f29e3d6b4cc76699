"""A single-member write run ahead of the store, then sent in one call (``Store.single_write``).

A ledger operation on one member reads little: its idempotency key, the
member's state and, for an earn, whether its transaction id has earned before.
A store that keeps the member's last state can answer those reads itself (the
key and the transaction id presumed new), let the ledger compute the operation
as usual, and send the recorded writes together with the presumptions in one
call; the backend checks them under the operation's locks and writes nothing
when one does not hold. The operation then runs again as a usual
``Store.transaction``, which decides. The ledger's code is the same on both
paths: only what the transaction object does differs (optimistic concurrency
control with the read set validated at commit; Kung & Robinson 1981).

References
----------
Kung, H. T. and Robinson, J. T. (1981). On optimistic methods for concurrency
control. *ACM Transactions on Database Systems* 6(2), 213-226.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, NoReturn

from customer_value.loyalty.stores._balances import OpenSums, Undone
from customer_value.loyalty.stores._batch import EarnBatch
from customer_value.loyalty.stores._contract import EntryRow, LotRow, StoreTransaction

__all__ = ["PLACEHOLDER_ENTRY", "PLACEHOLDER_LOT", "SingleWrite", "SingleWriteUnsupportedError"]

#: the id a recorded write reports for its new entry (and lot) until the backend draws it
PLACEHOLDER_ENTRY = -1
PLACEHOLDER_LOT = -2


class SingleWriteUnsupportedError(Exception):
    """A step a :class:`SingleWrite` does not cover: the operation takes the usual path."""


class SingleWrite(StoreTransaction):
    """Records one credit (entry and lot) or one debit (entry taking spendable lots in
    consumption order) of ``member_id``, and the member's new state.

    Reads are answered from ``state`` (the member's state as the store last saw
    it; None: no such member), with the idempotency key and the earn's
    transaction id presumed new. Any other read or write raises
    :class:`SingleWriteUnsupportedError`. :meth:`commit` sends the writes with these
    presumptions; the backend checks them under the operation's locks.

    Examples
    --------
    >>> from customer_value.loyalty.stores._single import SingleWrite
    >>> class Recorder(SingleWrite):
    ...     def commit(self, key, fingerprint, result_json, at, entry_ids):
    ...         return None  # a backend would send the writes here
    >>> txn = Recorder("m1", {"debt": 0})
    >>> txn.spendable_lots("m1", 10, 5, 0)[0]
    5
    >>> txn.entry_add("m1", "redeem", -5, 10)
    -1
    >>> txn.allocate(-1, -2, 5)
    >>> txn.debit
    {'at': 10, 'points': 5, 'debt': 0, 'kind': 'redeem', 'note': None, 'taken': True}
    """

    def __init__(self, member_id: str, state: dict[str, Any] | None) -> None:
        self.member_id = member_id
        self.state = state
        #: the earn's transaction id (presumed not to have earned)
        self.transaction_id: str | None = None
        #: ``entry_with_lot_add`` arguments of a credit
        self.credit: dict[str, Any] | None = None
        #: ``spendable_lots`` arguments of a debit, then its entry's kind and note
        self.debit: dict[str, Any] | None = None
        #: the member's state to store (None: unchanged)
        self.new_state: dict[str, Any] | None = None

    @abstractmethod
    def commit(
        self,
        key: str,
        fingerprint: str,
        result_json: str,
        at: int,
        entry_ids: Sequence[int],
    ) -> tuple[int, ...] | None:
        """Send the writes and the result under ``key``; the real entry ids, or None
        when a presumption did not hold (nothing was written)."""

    def complete(self, entry_ids: Sequence[int]) -> bool:
        """Whether the writes are one whole credit or debit and the result names its entry."""
        whole = self.credit is not None or (self.debit is not None and "taken" in self.debit)
        return whole and tuple(entry_ids) == (PLACEHOLDER_ENTRY,)

    # ------------------------------------------------------------------ recorded
    def _member(self, member_id: str) -> None:
        if member_id != self.member_id:
            raise SingleWriteUnsupportedError(f"a second member ({member_id!r})")

    def _first_write(self) -> None:
        if self.credit is not None or self.debit is not None:
            raise SingleWriteUnsupportedError("a second write")

    def idempotency_get(self, key: str) -> tuple[str, str] | None:
        return None

    def member_get(self, member_id: str) -> dict[str, Any] | None:
        self._member(member_id)
        return None if self.state is None else dict(self.state)

    def member_put(self, member_id: str, state: dict[str, Any]) -> None:
        self._member(member_id)
        self.new_state = dict(state)

    def earn_by_transaction(self, transaction_id: str) -> EntryRow | None:
        self.transaction_id = transaction_id
        return None

    def entry_with_lot_add(
        self,
        member_id: str,
        kind: str,
        points: int,
        at: int,
        available_at: int,
        expires_at: int | None,
        *,
        amount_minor: int | None = None,
        transaction_id: str | None = None,
        reference: int | None = None,
        note: str | None = None,
    ) -> tuple[int, int]:
        self._member(member_id)
        self._first_write()
        if reference is not None:
            raise SingleWriteUnsupportedError("a credit referring to another entry")
        self.credit = {
            "kind": kind,
            "points": points,
            "at": at,
            "available_at": available_at,
            "expires_at": expires_at,
            "amount_minor": amount_minor,
            "transaction_id": transaction_id,
            "note": note,
        }
        return PLACEHOLDER_ENTRY, PLACEHOLDER_LOT

    def spendable_lots(
        self, member_id: str, at: int, points: int, debt: int
    ) -> tuple[int, list[LotRow]]:
        # presumed spendable: one stand-in lot holding the points; the backend takes them
        # from the real lots in consumption order, or writes nothing
        self._member(member_id)
        self._first_write()
        self.debit = {"at": at, "points": points, "debt": debt}
        return points, [LotRow(PLACEHOLDER_LOT, member_id, 0, at, at, None, points, points)]

    def entry_add(
        self,
        member_id: str,
        kind: str,
        points: int,
        at: int,
        *,
        amount_minor: int | None = None,
        transaction_id: str | None = None,
        reference: int | None = None,
        shortfall: int = 0,
        note: str | None = None,
    ) -> int:
        self._member(member_id)
        debit = self.debit
        if (
            debit is None
            or "kind" in debit
            or (points, at) != (-debit["points"], debit["at"])
            or (amount_minor, transaction_id, reference, shortfall) != (None, None, None, 0)
        ):
            raise SingleWriteUnsupportedError("an entry that is not the debit's")
        debit.update(kind=kind, note=note)
        return PLACEHOLDER_ENTRY

    def allocate(self, entry_id: int, lot_id: int, points: int) -> None:
        debit = self.debit
        if (
            debit is None
            or "kind" not in debit
            or "taken" in debit
            or (entry_id, lot_id, points) != (PLACEHOLDER_ENTRY, PLACEHOLDER_LOT, debit["points"])
        ):
            raise SingleWriteUnsupportedError("an allocation that is not the debit's")
        debit["taken"] = True

    # ------------------------------------------------------------------ not covered
    def _unsupported(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise SingleWriteUnsupportedError("a step a single write does not cover")

    def idempotency_put(self, key: str, fingerprint: str, result_json: str, at: int) -> None:
        self._unsupported()

    def members_get(self, member_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        self._unsupported()

    def members_put(self, states: dict[str, dict[str, Any]]) -> None:
        self._unsupported()

    def entry_get(self, entry_id: int) -> EntryRow | None:
        self._unsupported()

    def earned_transactions(self, transaction_ids: Sequence[str]) -> list[str]:
        self._unsupported()

    def entries_referencing(self, entry_id: int) -> list[EntryRow]:
        self._unsupported()

    def member_entries(self, member_id: str, since: int) -> list[EntryRow]:
        self._unsupported()

    def lot_add(
        self,
        member_id: str,
        entry_id: int,
        earned_at: int,
        available_at: int,
        expires_at: int | None,
        points: int,
    ) -> int:
        self._unsupported()

    def lot_get(self, lot_id: int) -> LotRow:
        self._unsupported()

    def lots_of_entry(self, entry_id: int) -> list[LotRow]:
        self._unsupported()

    def open_lots(
        self,
        member_id: str,
        at: int,
        *,
        spendable_only: bool,
        points: int | None = None,
        exclude_entry: int | None = None,
    ) -> list[LotRow]:
        self._unsupported()

    def due_lots(self, at: int) -> list[LotRow]:
        self._unsupported()

    def allocations_of(self, entry_id: int) -> list[tuple[int, int]]:
        self._unsupported()

    def open_sums(self, member_id: str, at: int, until: int) -> OpenSums:
        self._unsupported()

    def undone(self, member_id: str, at: int, recorded_at: int | None) -> Undone:
        self._unsupported()

    def bulk_earn(self, batch: EarnBatch) -> None:
        self._unsupported()
