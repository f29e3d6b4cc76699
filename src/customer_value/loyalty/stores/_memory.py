"""MemoryStore: the ledger store in process memory (tests, simulations)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import pandas as pd

from customer_value.errors import CustomerValueError
from customer_value.loyalty.stores._contract import (
    BalanceParts,
    EntryRow,
    LotRow,
    Store,
    StoreTransaction,
    entries_to_frame,
    lots_to_frame,
    members_to_frame,
)
from customer_value.loyalty.stores._rules import DUE, LIVE, SPENDABLE, balance_sums, expiry_key

__all__ = ["MemoryStore"]


class _MemoryTransaction(StoreTransaction):
    def __init__(self, store: MemoryStore) -> None:
        self._s = store
        self.undo: list[Callable[[], object]] = []

    def idempotency_get(self, key: str) -> tuple[str, str] | None:
        return self._s._idem.get(key)

    def idempotency_put(self, key: str, fingerprint: str, result_json: str, at: int) -> None:
        self._s._idem[key] = (fingerprint, result_json)
        self.undo.append(lambda: self._s._idem.pop(key, None))

    def member_get(self, member_id: str) -> dict[str, Any] | None:
        state = self._s._members.get(member_id)
        return None if state is None else dict(state)

    def members_get(self, member_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        members = self._s._members
        return {m: dict(members[m]) for m in member_ids if m in members}

    def member_put(self, member_id: str, state: dict[str, Any]) -> None:
        members = self._s._members
        old = members.get(member_id)
        members[member_id] = dict(state)
        if old is None:
            self.undo.append(lambda: members.pop(member_id, None))
        else:
            self.undo.append(lambda: members.__setitem__(member_id, old))

    def members_put(self, states: dict[str, dict[str, Any]]) -> None:
        for member_id, state in states.items():
            self.member_put(member_id, state)

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
        s = self._s
        entry_id = len(s._entries) + 1
        row = EntryRow(
            entry_id,
            member_id,
            kind,
            int(points),
            int(at),
            amount_minor,
            transaction_id,
            reference,
            int(shortfall),
            note,
        )
        s._entries.append(row)
        s._entries_by_member.setdefault(member_id, []).append(entry_id)
        if kind == "earn" and transaction_id is not None and transaction_id not in s._earn_by_tx:
            s._earn_by_tx[transaction_id] = entry_id
            self.undo.append(lambda: s._earn_by_tx.pop(transaction_id, None))
        if reference is not None:
            s._referencing.setdefault(reference, []).append(entry_id)
            self.undo.append(lambda: s._referencing[reference].pop())

        def _undo() -> None:
            s._entries.pop()
            s._entries_by_member[member_id].pop()

        self.undo.append(_undo)
        return entry_id

    def entry_get(self, entry_id: int) -> EntryRow | None:
        entries = self._s._entries
        return entries[entry_id - 1] if 1 <= entry_id <= len(entries) else None

    def earn_by_transaction(self, transaction_id: str) -> EntryRow | None:
        entry_id = self._s._earn_by_tx.get(transaction_id)
        return None if entry_id is None else self._s._entries[entry_id - 1]

    def earned_transactions(self, transaction_ids: Sequence[str]) -> list[str]:
        earned = self._s._earn_by_tx
        return [t for t in transaction_ids if t in earned]

    def entries_referencing(self, entry_id: int) -> list[EntryRow]:
        return [self._s._entries[i - 1] for i in self._s._referencing.get(entry_id, [])]

    def member_entries(self, member_id: str, since: int) -> list[EntryRow]:
        entries = self._s._entries
        rows = (entries[i - 1] for i in self._s._entries_by_member.get(member_id, []))
        return [e for e in rows if e.at > since]

    def lot_add(
        self,
        member_id: str,
        entry_id: int,
        earned_at: int,
        available_at: int,
        expires_at: int | None,
        points: int,
    ) -> int:
        s = self._s
        lot_id = len(s._lots) + 1
        s._lots.append(
            LotRow(lot_id, member_id, entry_id, earned_at, available_at, expires_at, points, points)
        )
        s._lots_by_member.setdefault(member_id, []).append(lot_id)
        s._lots_by_entry.setdefault(entry_id, []).append(lot_id)

        def _undo() -> None:
            s._lots.pop()
            s._lots_by_member[member_id].pop()
            s._lots_by_entry[entry_id].pop()

        self.undo.append(_undo)
        return lot_id

    def lot_get(self, lot_id: int) -> LotRow:
        return self._s._lots[lot_id - 1]

    def lots_of_entry(self, entry_id: int) -> list[LotRow]:
        return [self._s._lots[i - 1] for i in self._s._lots_by_entry.get(entry_id, [])]

    def open_lots(self, member_id: str, at: int, *, spendable_only: bool) -> list[LotRow]:
        lots = self._s._lots
        rule = SPENDABLE if spendable_only else LIVE
        params = {"at": at}
        out = [
            lot
            for lot in (lots[i - 1] for i in self._s._lots_by_member.get(member_id, []))
            if rule.holds(partial(getattr, lot), params)
        ]
        out.sort(key=lambda lot: expiry_key(partial(getattr, lot)))
        return out

    def due_lots(self, at: int) -> list[LotRow]:
        params = {"at": at}
        out = [lot for lot in self._s._lots if DUE.holds(partial(getattr, lot), params)]
        out.sort(key=lambda lot: (lot.member_id, lot.lot_id))
        return out

    def allocate(self, entry_id: int, lot_id: int, points: int) -> None:
        s = self._s
        lot = s._lots[lot_id - 1]
        remaining = lot.remaining - points
        if remaining < 0 or remaining > lot.points:
            raise CustomerValueError(
                f"allocation of {points} points would leave lot {lot_id} with {remaining}"
            )
        s._lots[lot_id - 1] = lot._replace(remaining=remaining)
        s._allocations.append((entry_id, lot_id, points))
        s._alloc_by_entry.setdefault(entry_id, []).append((lot_id, points))

        def _undo() -> None:
            s._lots[lot_id - 1] = lot
            s._allocations.pop()
            s._alloc_by_entry[entry_id].pop()

        self.undo.append(_undo)

    def allocations_of(self, entry_id: int) -> list[tuple[int, int]]:
        return list(self._s._alloc_by_entry.get(entry_id, []))

    def bulk_earn(
        self,
        entries: list[tuple[str, int, int, int | None, str | None]],
        lots: list[tuple[int, int | None, int, int]],
    ) -> None:
        for (member_id, points, at, amount, tx), (avail, expires, lot_points, remaining) in zip(
            entries, lots, strict=True
        ):
            entry_id = self.entry_add(
                member_id, "earn", points, at, amount_minor=amount, transaction_id=tx
            )
            if lot_points > 0:
                lot_id = self.lot_add(member_id, entry_id, at, avail, expires, lot_points)
                if remaining < lot_points:
                    self.allocate(entry_id, lot_id, lot_points - remaining)


class MemoryStore(Store):
    """A ledger store in process memory (dictionaries), for tests and simulations.

    Transactions are serialised with a lock and rolled back with an undo log, so
    a failed operation leaves nothing behind, exactly as in :class:`SQLiteStore`.
    Nothing survives the process.

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    >>> ledger.adjust("m1", 50, at="2024-01-01", reason="welcome",
    ...               idempotency_key="welcome-m1").points
    50
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._idem: dict[str, tuple[str, str]] = {}
        self._members: dict[str, dict[str, Any]] = {}
        self._entries: list[EntryRow] = []
        self._entries_by_member: dict[str, list[int]] = {}
        self._earn_by_tx: dict[str, int] = {}
        self._referencing: dict[int, list[int]] = {}
        self._lots: list[LotRow] = []
        self._lots_by_member: dict[str, list[int]] = {}
        self._lots_by_entry: dict[int, list[int]] = {}
        self._allocations: list[tuple[int, int, int]] = []
        self._alloc_by_entry: dict[int, list[tuple[int, int]]] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(entries={len(self._entries)}, lots={len(self._lots)})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """One atomic unit of work (rolled back from the undo log on error)."""
        with self._lock:
            txn = _MemoryTransaction(self)
            try:
                yield txn
            except BaseException:
                for undo in reversed(txn.undo):
                    undo()
                raise

    def balance_parts(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """Spendable, pending and expiring points of a member (see :class:`Store`)."""
        with self._lock:
            spendable, pending, expiring = balance_sums(
                (
                    partial(getattr, self._lots[i - 1])
                    for i in self._lots_by_member.get(member_id, [])
                ),
                {"at": at, "until": at + horizon},
            )
            state = self._members.get(member_id, {})
            entry_ids = self._entries_by_member.get(member_id, [])
            last = max((self._entries[i - 1].at for i in entry_ids), default=None)
            return BalanceParts(
                spendable,
                pending,
                expiring,
                int(state.get("debt", 0)),
                int(state.get("lifetime_earned", 0)),
                last,
            )

    def entries_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The journal as a DataFrame (see :class:`Store`)."""
        with self._lock:
            if member_id is None:
                rows = list(self._entries)
            else:
                rows = [self._entries[i - 1] for i in self._entries_by_member.get(member_id, [])]
        return entries_to_frame(rows)

    def lots_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots as a DataFrame (see :class:`Store`)."""
        with self._lock:
            if member_id is None:
                rows = list(self._lots)
            else:
                rows = [self._lots[i - 1] for i in self._lots_by_member.get(member_id, [])]
        return lots_to_frame(rows)

    def allocations_frame(self) -> pd.DataFrame:
        """Every allocation (see :class:`Store`)."""
        with self._lock:
            rows = list(self._allocations)
        return pd.DataFrame(rows, columns=["entry_id", "lot_id", "points"]).astype("int64")

    def members_frame(self) -> pd.DataFrame:
        """Every member's state (see :class:`Store`)."""
        with self._lock:
            states = {k: dict(v) for k, v in self._members.items()}
        return members_to_frame(states)

    def balance_parts_as_of(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """The balance figures as they stood at ``at`` (see :class:`Store`)."""
        with self._lock:
            entries = [self._entries[i - 1] for i in self._entries_by_member.get(member_id, [])]
            known = [e for e in entries if e.at <= at]
            used: dict[int, int] = {}
            for e in known:
                for lot_id, pts in self._alloc_by_entry.get(e.entry_id, []):
                    used[lot_id] = used.get(lot_id, 0) + pts
            # the lots as they stood at ``at``: earned by then, minus what entries known by
            # then took from them
            held = [
                lot._replace(remaining=lot.points - used.get(lot.lot_id, 0))
                for lot in (self._lots[i - 1] for i in self._lots_by_member.get(member_id, []))
                if lot.earned_at <= at
            ]
            total = sum(lot.remaining for lot in held)
            spendable, pending, expiring = balance_sums(
                (partial(getattr, lot) for lot in held), {"at": at, "until": at + horizon}
            )
            earned = {e.entry_id: e.points for e in known if e.kind == "earn"}
            reversed_earns = sum(
                earned.get(e.reference, 0)
                for e in known
                if e.kind == "reversal" and e.reference is not None
            )
            return BalanceParts(
                spendable,
                pending,
                expiring,
                total - sum(e.points for e in known),
                sum(earned.values()) - reversed_earns,
                max((e.at for e in known), default=None),
            )
