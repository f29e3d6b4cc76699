"""Where a :class:`~customer_value.loyalty.Ledger` keeps its entries, lots and allocations.

Two stores share one small unit-of-work interface (:class:`StoreTransaction`):
:class:`MemoryStore` (process-local dictionaries, for tests and simulations)
and :class:`SQLiteStore` (a stdlib :mod:`sqlite3` file in WAL mode, every ledger
operation one ``BEGIN IMMEDIATE`` transaction, safe with several processes).

Data model (the same in both stores)
------------------------------------
``entries``
    Append-only journal: ``entry_id``, ``member_id``, ``kind`` (one of
    :data:`ENTRY_KINDS`), signed ``points`` (earn +, redeem -, clawback -,
    expire -, adjust +/-, reversal the opposite of what it reverses), ``at``
    (int nanoseconds since the epoch, program-local time), ``amount_minor``
    (money in integer minor units: the eligible amount of an earn, the refunded
    amount of a clawback), ``transaction_id``, ``reference`` (the entry a
    clawback or reversal refers to), ``shortfall`` (points a clawback could not
    take back), ``note``.
``lots``
    Points with ``earned_at``, ``available_at`` (after the pending period),
    ``expires_at`` (``None`` = never), ``points`` and ``remaining``.
``allocations``
    ``(entry_id, lot_id, points)``: which entry took (``points`` > 0) or gave
    back (``points`` < 0) how many points of which lot. For every lot
    ``remaining == points - sum(allocations)``.
``idempotency``
    ``key`` -> request fingerprint and the stored result.
``members``
    Per-member state (engine counters, tier, debt) as JSON.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from customer_value.errors import CustomerValueError, InvalidDataError

__all__ = [
    "ENTRY_KINDS",
    "EntryRow",
    "LotRow",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "StoreTransaction",
]

ENTRY_KINDS = ("earn", "redeem", "clawback", "adjust", "expire", "reversal")

_NS_PER_DAY = 86_400 * 10**9

ENTRY_COLUMNS = (
    "entry_id",
    "member_id",
    "kind",
    "points",
    "at",
    "amount_minor",
    "transaction_id",
    "reference",
    "shortfall",
    "note",
)
LOT_COLUMNS = (
    "lot_id",
    "member_id",
    "entry_id",
    "earned_at",
    "available_at",
    "expires_at",
    "points",
    "remaining",
)


class EntryRow(NamedTuple):
    """One journal entry as stored (times in int nanoseconds)."""

    entry_id: int
    member_id: str
    kind: str
    points: int
    at: int
    amount_minor: int | None
    transaction_id: str | None
    reference: int | None
    shortfall: int
    note: str | None


class LotRow(NamedTuple):
    """One lot of points as stored (times in int nanoseconds, ``expires_at`` None = never)."""

    lot_id: int
    member_id: str
    entry_id: int
    earned_at: int
    available_at: int
    expires_at: int | None
    points: int
    remaining: int


@dataclass(frozen=True)
class BalanceParts:
    """Raw balance figures of one member at one instant (see ``Ledger.balance``)."""

    spendable_lots: int
    pending: int
    expiring: int
    debt: int
    lifetime_earned: int
    last_entry_at: int | None = None


class StoreTransaction(ABC):
    """The operations a ledger performs inside one store transaction.

    Obtained from :meth:`Store.transaction`; everything done through it is
    committed together when the ``with`` block ends normally and discarded when
    it raises.

    Examples
    --------
    >>> from customer_value.loyalty import MemoryStore
    >>> store = MemoryStore()
    >>> with store.transaction() as txn:
    ...     txn.member_put("m1", {"debt": 0})
    >>> list(store.members_frame().index)
    ['m1']
    """

    @abstractmethod
    def idempotency_get(self, key: str) -> tuple[str, str] | None:
        """``(fingerprint, result_json)`` stored under ``key``, or None."""

    @abstractmethod
    def idempotency_put(self, key: str, fingerprint: str, result_json: str, at: int) -> None:
        """Store the fingerprint and result of the request made with ``key``."""

    @abstractmethod
    def member_get(self, member_id: str) -> dict[str, Any] | None:
        """The member's state dictionary, or None for an unknown member."""

    @abstractmethod
    def members_get(self, member_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """States of the known members among ``member_ids``."""

    @abstractmethod
    def member_put(self, member_id: str, state: dict[str, Any]) -> None:
        """Create or replace the member's state."""

    @abstractmethod
    def members_put(self, states: dict[str, dict[str, Any]]) -> None:
        """Create or replace many members' states."""

    @abstractmethod
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
        """Append an entry; return its id."""

    @abstractmethod
    def entry_get(self, entry_id: int) -> EntryRow | None:
        """The entry with this id, or None."""

    @abstractmethod
    def earn_by_transaction(self, transaction_id: str) -> EntryRow | None:
        """The first earn entry of a retailer transaction id, or None."""

    @abstractmethod
    def earned_transactions(self, transaction_ids: Sequence[str]) -> list[str]:
        """Those of ``transaction_ids`` that already have an earn entry."""

    @abstractmethod
    def entries_referencing(self, entry_id: int) -> list[EntryRow]:
        """Entries (clawbacks, reversals) whose ``reference`` is ``entry_id``."""

    @abstractmethod
    def member_entries(self, member_id: str, since: int) -> list[EntryRow]:
        """The member's entries with ``at > since``, by entry id."""

    @abstractmethod
    def lot_add(
        self,
        member_id: str,
        entry_id: int,
        earned_at: int,
        available_at: int,
        expires_at: int | None,
        points: int,
    ) -> int:
        """Create a lot with ``remaining == points``; return its id."""

    @abstractmethod
    def lot_get(self, lot_id: int) -> LotRow:
        """The lot with this id."""

    @abstractmethod
    def lots_of_entry(self, entry_id: int) -> list[LotRow]:
        """Lots created by an entry."""

    @abstractmethod
    def open_lots(self, member_id: str, at: int, *, spendable_only: bool) -> list[LotRow]:
        """Unexpired lots with points left, first-expiring first (never-expiring last).

        Ties are broken by earning time, then lot id. With ``spendable_only``
        pending lots (``available_at > at``) are left out.
        """

    @abstractmethod
    def due_lots(self, at: int) -> list[LotRow]:
        """Lots with points left whose ``expires_at <= at``, by member then lot id."""

    @abstractmethod
    def allocate(self, entry_id: int, lot_id: int, points: int) -> None:
        """Take ``points`` (> 0) from a lot, or give back (< 0), recording the allocation."""

    @abstractmethod
    def allocations_of(self, entry_id: int) -> list[tuple[int, int]]:
        """``(lot_id, points)`` allocations recorded for an entry."""

    @abstractmethod
    def bulk_earn(
        self,
        entries: list[tuple[str, int, int, int | None, str | None]],
        lots: list[tuple[int, int | None, int, int]],
    ) -> None:
        """Append many earn entries and, for each, one lot (row ``i`` to entry ``i``).

        ``entries`` rows are ``(member_id, points, at, amount_minor,
        transaction_id)``; ``lots`` rows are ``(available_at, expires_at,
        points, remaining)`` (``remaining < points`` when the member's debt was
        repaid from the lot; the repayment is recorded as an allocation).
        """


class Store(ABC):
    """Base class of the ledger stores.

    A store owns durability and isolation: :meth:`transaction` yields a
    :class:`StoreTransaction` whose changes become visible all together or not
    at all. The read methods see committed data only.

    Examples
    --------
    >>> from customer_value.loyalty import MemoryStore, Store
    >>> isinstance(MemoryStore(), Store)
    True
    """

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[StoreTransaction]:
        """Context manager: one atomic, isolated unit of work."""

    @abstractmethod
    def balance_parts(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """Spendable, pending and expiring (before ``at + horizon``) points of a member."""

    @abstractmethod
    def entries_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The journal (of one member or everyone) as a DataFrame, by entry id."""

    @abstractmethod
    def lots_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots (of one member or everyone) as a DataFrame, by lot id."""

    @abstractmethod
    def allocations_frame(self) -> pd.DataFrame:
        """Every allocation: ``entry_id``, ``lot_id``, ``points``."""

    @abstractmethod
    def members_frame(self) -> pd.DataFrame:
        """Every member's stored state, indexed by member id."""

    @abstractmethod
    def balance_parts_as_of(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """Like :meth:`balance_parts`, rebuilt from the entries effective at or before ``at``.

        Lots earned by ``at`` hold their points minus the allocations of those
        entries; the debt is what the invariant ``sum(entries.points) ==
        sum(lots) - debt`` leaves; lifetime earned is the earn entries minus
        the earns reversed by ``at``.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (no-op by default)."""


def _entries_to_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(ENTRY_COLUMNS))
    out = pd.DataFrame(
        {
            "entry_id": frame["entry_id"].astype("int64"),
            "member_id": frame["member_id"].astype(object),
            "kind": frame["kind"].astype(object),
            "points": frame["points"].astype("int64"),
            "at": pd.to_datetime(frame["at"].astype("int64"), unit="ns"),
            "amount_minor": frame["amount_minor"].astype("Int64"),
            "transaction_id": frame["transaction_id"].astype(object),
            "reference": frame["reference"].astype("Int64"),
            "shortfall": frame["shortfall"].astype("int64"),
            "note": frame["note"].astype(object),
        }
    )
    return out


def _lots_to_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(LOT_COLUMNS))
    expires = pd.to_datetime(frame["expires_at"].astype("Int64"), unit="ns")
    return pd.DataFrame(
        {
            "lot_id": frame["lot_id"].astype("int64"),
            "member_id": frame["member_id"].astype(object),
            "entry_id": frame["entry_id"].astype("int64"),
            "earned_at": pd.to_datetime(frame["earned_at"].astype("int64"), unit="ns"),
            "available_at": pd.to_datetime(frame["available_at"].astype("int64"), unit="ns"),
            "expires_at": expires,
            "points": frame["points"].astype("int64"),
            "remaining": frame["remaining"].astype("int64"),
        }
    )


def _members_to_frame(states: dict[str, dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(states, orient="index")
    frame.index.name = "member_id"
    return frame.sort_index()


def _expiry_key(lot: LotRow) -> tuple[int, int, int, int]:
    return (
        1 if lot.expires_at is None else 0,
        0 if lot.expires_at is None else lot.expires_at,
        lot.earned_at,
        lot.lot_id,
    )


# ============================================================================ memory
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
        out = [
            lot
            for lot in (lots[i - 1] for i in self._s._lots_by_member.get(member_id, []))
            if lot.remaining > 0
            and (lot.expires_at is None or lot.expires_at > at)
            and (not spendable_only or lot.available_at <= at)
        ]
        out.sort(key=_expiry_key)
        return out

    def due_lots(self, at: int) -> list[LotRow]:
        out = [
            lot
            for lot in self._s._lots
            if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= at
        ]
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
            spendable = pending = expiring = 0
            for i in self._lots_by_member.get(member_id, []):
                lot = self._lots[i - 1]
                if lot.remaining <= 0 or (lot.expires_at is not None and lot.expires_at <= at):
                    continue
                if lot.available_at > at:
                    pending += lot.remaining
                    continue
                spendable += lot.remaining
                if lot.expires_at is not None and lot.expires_at <= at + horizon:
                    expiring += lot.remaining
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
        return _entries_to_frame(rows)

    def lots_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots as a DataFrame (see :class:`Store`)."""
        with self._lock:
            if member_id is None:
                rows = list(self._lots)
            else:
                rows = [self._lots[i - 1] for i in self._lots_by_member.get(member_id, [])]
        return _lots_to_frame(rows)

    def allocations_frame(self) -> pd.DataFrame:
        """Every allocation (see :class:`Store`)."""
        with self._lock:
            rows = list(self._allocations)
        return pd.DataFrame(rows, columns=["entry_id", "lot_id", "points"]).astype("int64")

    def members_frame(self) -> pd.DataFrame:
        """Every member's state (see :class:`Store`)."""
        with self._lock:
            states = {k: dict(v) for k, v in self._members.items()}
        return _members_to_frame(states)

    def balance_parts_as_of(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """The balance figures as they stood at ``at`` (see :class:`Store`)."""
        with self._lock:
            entries = [self._entries[i - 1] for i in self._entries_by_member.get(member_id, [])]
            known = [e for e in entries if e.at <= at]
            used: dict[int, int] = {}
            for e in known:
                for lot_id, pts in self._alloc_by_entry.get(e.entry_id, []):
                    used[lot_id] = used.get(lot_id, 0) + pts
            spendable = pending = expiring = total = 0
            for i in self._lots_by_member.get(member_id, []):
                lot = self._lots[i - 1]
                if lot.earned_at > at:
                    continue
                left = lot.points - used.get(lot.lot_id, 0)
                total += left
                if left <= 0 or (lot.expires_at is not None and lot.expires_at <= at):
                    continue
                if lot.available_at > at:
                    pending += left
                    continue
                spendable += left
                if lot.expires_at is not None and lot.expires_at <= at + horizon:
                    expiring += left
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


# ============================================================================ sqlite
_MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "entries, lots, allocations, idempotency, members",
        """
        CREATE TABLE members (
            member_id TEXT PRIMARY KEY,
            state TEXT NOT NULL
        );
        CREATE TABLE entries (
            entry_id INTEGER PRIMARY KEY,
            member_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN
                ('earn', 'redeem', 'clawback', 'adjust', 'expire', 'reversal')),
            points INTEGER NOT NULL,
            at INTEGER NOT NULL,
            amount_minor INTEGER,
            transaction_id TEXT,
            reference INTEGER REFERENCES entries (entry_id),
            shortfall INTEGER NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
            note TEXT
        );
        CREATE INDEX entries_member ON entries (member_id, at);
        CREATE INDEX entries_transaction ON entries (transaction_id)
            WHERE transaction_id IS NOT NULL;
        CREATE INDEX entries_reference ON entries (reference) WHERE reference IS NOT NULL;
        CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
            BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
        CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
            BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
        CREATE TABLE lots (
            lot_id INTEGER PRIMARY KEY,
            member_id TEXT NOT NULL,
            entry_id INTEGER NOT NULL REFERENCES entries (entry_id),
            earned_at INTEGER NOT NULL,
            available_at INTEGER NOT NULL,
            expires_at INTEGER,
            points INTEGER NOT NULL CHECK (points > 0),
            remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points)
        );
        CREATE INDEX lots_member_open ON lots (member_id, expires_at, available_at, remaining)
            WHERE remaining > 0;
        CREATE INDEX lots_entry ON lots (entry_id);
        CREATE INDEX lots_due ON lots (expires_at) WHERE remaining > 0;
        CREATE TABLE allocations (
            allocation_id INTEGER PRIMARY KEY,
            entry_id INTEGER NOT NULL REFERENCES entries (entry_id),
            lot_id INTEGER NOT NULL REFERENCES lots (lot_id),
            points INTEGER NOT NULL CHECK (points <> 0)
        );
        CREATE INDEX allocations_entry ON allocations (entry_id);
        CREATE INDEX allocations_lot ON allocations (lot_id);
        CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        """,
    ),
)

SCHEMA_VERSION = _MIGRATIONS[-1][0]

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class _SQLiteTransaction(StoreTransaction):
    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def idempotency_get(self, key: str) -> tuple[str, str] | None:
        row = self._con.execute(
            "SELECT fingerprint, result FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def idempotency_put(self, key: str, fingerprint: str, result_json: str, at: int) -> None:
        self._con.execute(
            "INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
            (key, fingerprint, result_json, at),
        )

    def member_get(self, member_id: str) -> dict[str, Any] | None:
        row = self._con.execute(
            "SELECT state FROM members WHERE member_id = ?", (member_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def members_get(self, member_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = self._con.execute(
            "SELECT member_id, state FROM members "
            "WHERE member_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(member_ids)),),
        ).fetchall()
        return {str(m): dict(json.loads(s)) for m, s in rows}

    def member_put(self, member_id: str, state: dict[str, Any]) -> None:
        self._con.execute(
            "INSERT INTO members (member_id, state) VALUES (?, ?) "
            "ON CONFLICT (member_id) DO UPDATE SET state = excluded.state",
            (member_id, json.dumps(state, sort_keys=True)),
        )

    def members_put(self, states: dict[str, dict[str, Any]]) -> None:
        self._con.executemany(
            "INSERT INTO members (member_id, state) VALUES (?, ?) "
            "ON CONFLICT (member_id) DO UPDATE SET state = excluded.state",
            [(m, json.dumps(s, sort_keys=True)) for m, s in states.items()],
        )

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
        cur = self._con.execute(
            "INSERT INTO entries (member_id, kind, points, at, amount_minor, transaction_id, "
            "reference, shortfall, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                member_id,
                kind,
                int(points),
                int(at),
                amount_minor,
                transaction_id,
                reference,
                int(shortfall),
                note,
            ),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def _entry(row: Sequence[Any] | None) -> EntryRow | None:
        return None if row is None else EntryRow(*row)

    def entry_get(self, entry_id: int) -> EntryRow | None:
        return self._entry(
            self._con.execute(
                f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE entry_id = ?", (entry_id,)
            ).fetchone()
        )

    def earn_by_transaction(self, transaction_id: str) -> EntryRow | None:
        return self._entry(
            self._con.execute(
                f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries "
                "WHERE transaction_id = ? AND kind = 'earn' ORDER BY entry_id LIMIT 1",
                (transaction_id,),
            ).fetchone()
        )

    def earned_transactions(self, transaction_ids: Sequence[str]) -> list[str]:
        rows = self._con.execute(
            "SELECT DISTINCT transaction_id FROM entries WHERE kind = 'earn' "
            "AND transaction_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(transaction_ids)),),
        ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def entries_referencing(self, entry_id: int) -> list[EntryRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE reference = ? ORDER BY entry_id",
            (entry_id,),
        ).fetchall()
        return [EntryRow(*r) for r in rows]

    def member_entries(self, member_id: str, since: int) -> list[EntryRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries WHERE member_id = ? AND at > ? "
            "ORDER BY entry_id",
            (member_id, since),
        ).fetchall()
        return [EntryRow(*r) for r in rows]

    def lot_add(
        self,
        member_id: str,
        entry_id: int,
        earned_at: int,
        available_at: int,
        expires_at: int | None,
        points: int,
    ) -> int:
        cur = self._con.execute(
            "INSERT INTO lots (member_id, entry_id, earned_at, available_at, expires_at, "
            "points, remaining) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (member_id, entry_id, earned_at, available_at, expires_at, points, points),
        )
        return int(cur.lastrowid or 0)

    def lot_get(self, lot_id: int) -> LotRow:
        row = self._con.execute(
            f"SELECT {', '.join(LOT_COLUMNS)} FROM lots WHERE lot_id = ?", (lot_id,)
        ).fetchone()
        return LotRow(*row)

    def lots_of_entry(self, entry_id: int) -> list[LotRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(LOT_COLUMNS)} FROM lots WHERE entry_id = ? ORDER BY lot_id",
            (entry_id,),
        ).fetchall()
        return [LotRow(*r) for r in rows]

    def open_lots(self, member_id: str, at: int, *, spendable_only: bool) -> list[LotRow]:
        sql = (
            f"SELECT {', '.join(LOT_COLUMNS)} FROM lots "
            "WHERE member_id = ? AND remaining > 0 AND (expires_at IS NULL OR expires_at > ?)"
        )
        params: tuple[Any, ...] = (member_id, at)
        if spendable_only:
            sql += " AND available_at <= ?"
            params = (member_id, at, at)
        sql += " ORDER BY expires_at IS NULL, expires_at, earned_at, lot_id"
        return [LotRow(*r) for r in self._con.execute(sql, params).fetchall()]

    def due_lots(self, at: int) -> list[LotRow]:
        rows = self._con.execute(
            f"SELECT {', '.join(LOT_COLUMNS)} FROM lots "
            "WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ? "
            "ORDER BY member_id, lot_id",
            (at,),
        ).fetchall()
        return [LotRow(*r) for r in rows]

    def allocate(self, entry_id: int, lot_id: int, points: int) -> None:
        # the CHECK constraint on lots.remaining rejects overspending inside the transaction
        self._con.execute(
            "UPDATE lots SET remaining = remaining - ? WHERE lot_id = ?", (points, lot_id)
        )
        self._con.execute(
            "INSERT INTO allocations (entry_id, lot_id, points) VALUES (?, ?, ?)",
            (entry_id, lot_id, points),
        )

    def allocations_of(self, entry_id: int) -> list[tuple[int, int]]:
        rows = self._con.execute(
            "SELECT lot_id, points FROM allocations WHERE entry_id = ? ORDER BY allocation_id",
            (entry_id,),
        ).fetchall()
        return [(int(a), int(b)) for a, b in rows]

    def bulk_earn(
        self,
        entries: list[tuple[str, int, int, int | None, str | None]],
        lots: list[tuple[int, int | None, int, int]],
    ) -> None:
        if not entries:
            return
        con = self._con
        row = con.execute("SELECT COALESCE(MAX(entry_id), 0) FROM entries").fetchone()
        first_entry = int(row[0]) + 1
        con.executemany(
            "INSERT INTO entries (entry_id, member_id, kind, points, at, amount_minor, "
            "transaction_id) VALUES (?, ?, 'earn', ?, ?, ?, ?)",
            [(first_entry + i, *e) for i, e in enumerate(entries)],
        )
        row = con.execute("SELECT COALESCE(MAX(lot_id), 0) FROM lots").fetchone()
        next_lot = int(row[0]) + 1
        lot_rows = []
        repay_rows = []
        for i, (avail, expires, points, remaining) in enumerate(lots):
            if points <= 0:
                continue
            entry = entries[i]
            lot_rows.append(
                (next_lot, entry[0], first_entry + i, entry[2], avail, expires, points, remaining)
            )
            if remaining < points:
                repay_rows.append((first_entry + i, next_lot, points - remaining))
            next_lot += 1
        con.executemany(
            "INSERT INTO lots (lot_id, member_id, entry_id, earned_at, available_at, expires_at, "
            "points, remaining) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            lot_rows,
        )
        if repay_rows:
            con.executemany(
                "INSERT INTO allocations (entry_id, lot_id, points) VALUES (?, ?, ?)", repay_rows
            )


class SQLiteStore(Store):
    """A durable ledger store in one SQLite file (stdlib :mod:`sqlite3`, WAL mode).

    Every ledger operation is one ``BEGIN IMMEDIATE`` transaction: the write
    lock is taken before anything is read, so two processes working on the same
    member are serialised and a check made inside the transaction (enough
    points, idempotency key unused) still holds when it commits. Waiting
    writers block up to ``busy_timeout`` seconds and the ``BEGIN`` is retried
    with jittered back-off when SQLite still reports the file busy. A crash (even
    ``SIGKILL``) between ``BEGIN`` and ``COMMIT`` leaves no trace of the
    operation: WAL recovery discards uncommitted frames.

    The schema is versioned: a ``schema_migrations`` table records applied
    migrations, and opening a file applies missing ones inside one transaction
    (concurrent openers are serialised by the same lock). A file written by a
    newer version of this library is refused.

    Parameters
    ----------
    path : str or path-like
        The database file (created when missing). ``":memory:"`` gives a private
        in-memory database (not shareable between processes).
    synchronous : {"FULL", "NORMAL", "EXTRA", "OFF"}, default "FULL"
        SQLite's ``PRAGMA synchronous``. ``"FULL"`` syncs the WAL on every
        commit: a committed operation survives power loss. ``"NORMAL"`` is
        crash-safe for the process and the file stays consistent, but the last
        commits may be lost on power failure.
    busy_timeout : float, default 30.0
        Seconds a writer waits for the lock held by another connection.
    retries : int, default 20
        Extra attempts at ``BEGIN IMMEDIATE`` after a busy error.
    cache_mb : float, default 64
        SQLite page cache of this connection, in MiB (bulk imports into a large
        ledger slow down sharply when the indexes do not fit).

    Raises
    ------
    InvalidDataError
        Bad ``synchronous``, negative ``busy_timeout``/``retries``, or
        ``cache_mb <= 0``.
    CustomerValueError
        The file's schema version is newer than this library knows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from customer_value.loyalty import Ledger, Program, SQLiteStore
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = SQLiteStore(pathlib.Path(tmp) / "ledger.sqlite")
    ...     ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), store)
    ...     _ = ledger.adjust("m1", 80, at="2024-01-01", idempotency_key="k1")
    ...     print(ledger.balance("m1", at="2024-02-01").available, store.schema_version)
    ...     store.close()
    80 1
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        retries: int = 20,
        cache_mb: float = 64,
    ) -> None:
        sync = str(synchronous).upper()
        if sync not in _SYNCHRONOUS:
            raise InvalidDataError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
            )
        if not busy_timeout >= 0:
            raise InvalidDataError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidDataError(f"retries must be an integer >= 0, got {retries!r}")
        if not cache_mb > 0:
            raise InvalidDataError(f"cache_mb must be > 0, got {cache_mb!r}")
        self.path = str(path)
        self.synchronous = sync
        self.busy_timeout = float(busy_timeout)
        self.retries = retries
        self._lock = threading.RLock()
        self._con = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        con = self._con
        con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        self._retry(lambda: con.execute("PRAGMA journal_mode = WAL"))
        con.execute(f"PRAGMA synchronous = {sync}")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute(f"PRAGMA cache_size = {-int(cache_mb * 1024)}")
        self._migrate()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r})"

    def _retry(self, fn: Callable[[], Any]) -> Any:
        delay = 0.005
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == self.retries:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        return None  # pragma: no cover

    def _migrate(self) -> None:
        with self.transaction() as _:
            con = self._con
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                "applied_at TEXT NOT NULL)"
            )
            row = con.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
            current = int(row[0])
            if current > SCHEMA_VERSION:
                raise CustomerValueError(
                    f"{self.path}: schema version {current} is newer than this library "
                    f"supports ({SCHEMA_VERSION}); upgrade customer_value"
                )
            for version, description, sql in _MIGRATIONS:
                if version <= current:
                    continue
                for statement in sql.split(";\n"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, datetime('now'))",
                    (version, description),
                )

    @property
    def schema_version(self) -> int:
        """The highest migration applied to the file."""
        with self._lock:
            row = self._con.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """One ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""
        with self._lock:
            con = self._con
            self._retry(lambda: con.execute("BEGIN IMMEDIATE"))
            try:
                yield _SQLiteTransaction(con)
            except BaseException:
                if con.in_transaction:  # SQLite may already have rolled back (disk full ...)
                    con.execute("ROLLBACK")
                raise
            try:
                self._retry(lambda: con.execute("COMMIT"))
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # a deferred transaction gives the reads one consistent snapshot
        with self._lock:
            con = self._con
            con.execute("BEGIN")
            try:
                yield con
            finally:
                con.execute("COMMIT")

    def balance_parts(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """Spendable, pending and expiring points of a member (see :class:`Store`)."""
        with self._read() as con:
            row = con.execute(
                "SELECT "
                "COALESCE(SUM(CASE WHEN available_at <= :at THEN remaining END), 0), "
                "COALESCE(SUM(CASE WHEN available_at > :at THEN remaining END), 0), "
                "COALESCE(SUM(CASE WHEN available_at <= :at AND expires_at IS NOT NULL "
                "AND expires_at <= :until THEN remaining END), 0) "
                "FROM lots WHERE member_id = :m AND remaining > 0 "
                "AND (expires_at IS NULL OR expires_at > :at)",
                {"m": member_id, "at": at, "until": at + horizon},
            ).fetchone()
            member = con.execute(
                "SELECT state FROM members WHERE member_id = ?", (member_id,)
            ).fetchone()
            last = con.execute(
                "SELECT MAX(at) FROM entries WHERE member_id = ?", (member_id,)
            ).fetchone()
        state = {} if member is None else json.loads(member[0])
        return BalanceParts(
            int(row[0]),
            int(row[1]),
            int(row[2]),
            int(state.get("debt", 0)),
            int(state.get("lifetime_earned", 0)),
            None if last[0] is None else int(last[0]),
        )

    def entries_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The journal as a DataFrame (see :class:`Store`)."""
        sql = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
        with self._read() as con:
            if member_id is None:
                rows = con.execute(sql + " ORDER BY entry_id").fetchall()
            else:
                rows = con.execute(
                    sql + " WHERE member_id = ? ORDER BY entry_id", (member_id,)
                ).fetchall()
        return _entries_to_frame(rows)

    def lots_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots as a DataFrame (see :class:`Store`)."""
        sql = f"SELECT {', '.join(LOT_COLUMNS)} FROM lots"
        with self._read() as con:
            if member_id is None:
                rows = con.execute(sql + " ORDER BY lot_id").fetchall()
            else:
                rows = con.execute(
                    sql + " WHERE member_id = ? ORDER BY lot_id", (member_id,)
                ).fetchall()
        return _lots_to_frame(rows)

    def allocations_frame(self) -> pd.DataFrame:
        """Every allocation (see :class:`Store`)."""
        with self._read() as con:
            rows = con.execute(
                "SELECT entry_id, lot_id, points FROM allocations ORDER BY allocation_id"
            ).fetchall()
        return pd.DataFrame(rows, columns=["entry_id", "lot_id", "points"]).astype("int64")

    def members_frame(self) -> pd.DataFrame:
        """Every member's state (see :class:`Store`)."""
        with self._read() as con:
            rows = con.execute("SELECT member_id, state FROM members").fetchall()
        return _members_to_frame({str(m): dict(json.loads(s)) for m, s in rows})

    def balance_parts_as_of(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """The balance figures as they stood at ``at`` (see :class:`Store`)."""
        params = {"m": member_id, "at": at, "until": at + horizon}
        with self._read() as con:
            # lots are reached through the member's entries (index on member, at): a lot's
            # earned_at is the time of the entry that created it
            lots = con.execute(
                "WITH used AS (SELECT a.lot_id AS lot_id, SUM(a.points) AS u "
                "FROM entries e JOIN allocations a ON a.entry_id = e.entry_id "
                "WHERE e.member_id = :m AND e.at <= :at GROUP BY a.lot_id), "
                "held AS (SELECT l.available_at AS avail, l.expires_at AS exp, "
                "l.points - COALESCE(used.u, 0) AS left "
                "FROM entries e JOIN lots l ON l.entry_id = e.entry_id "
                "LEFT JOIN used ON used.lot_id = l.lot_id "
                "WHERE e.member_id = :m AND e.at <= :at) "
                "SELECT COALESCE(SUM(left), 0), "
                "COALESCE(SUM(CASE WHEN left > 0 AND (exp IS NULL OR exp > :at) "
                "AND avail <= :at THEN left END), 0), "
                "COALESCE(SUM(CASE WHEN left > 0 AND (exp IS NULL OR exp > :at) "
                "AND avail > :at THEN left END), 0), "
                "COALESCE(SUM(CASE WHEN left > 0 AND exp > :at AND exp <= :until "
                "AND avail <= :at THEN left END), 0) FROM held",
                params,
            ).fetchone()
            sums = con.execute(
                "SELECT COALESCE(SUM(points), 0), "
                "COALESCE(SUM(CASE WHEN kind = 'earn' THEN points END), 0), MAX(at) "
                "FROM entries WHERE member_id = :m AND at <= :at",
                params,
            ).fetchone()
            undone = con.execute(
                "SELECT COALESCE(SUM(o.points), 0) FROM entries r "
                "JOIN entries o ON o.entry_id = r.reference "
                "WHERE r.member_id = :m AND r.at <= :at AND r.kind = 'reversal' "
                "AND o.kind = 'earn'",
                params,
            ).fetchone()
        return BalanceParts(
            int(lots[1]),
            int(lots[2]),
            int(lots[3]),
            int(lots[0]) - int(sums[0]),
            int(sums[1]) - int(undone[0]),
            None if sums[2] is None else int(sums[2]),
        )

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` for a sound file)."""
        with self._lock:
            row = self._con.execute("PRAGMA integrity_check").fetchone()
        return str(row[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._con.close()
