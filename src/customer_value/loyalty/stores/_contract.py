"""The store contract: where a :class:`~customer_value.loyalty.Ledger` keeps its data.

Every backend implements one small unit-of-work interface
(:class:`StoreTransaction`) behind :class:`Store`: ``_memory`` (process-local
dictionaries, for tests and simulations), ``_sqlite`` (a stdlib :mod:`sqlite3`
file in WAL mode, one host) and ``_postgres`` (psycopg 3, many processes on
many hosts). The rules deciding which lots are spendable, pending, expiring or
due, and the order lots are consumed in, live in ``_rules`` and are derived
for each backend.

Data model (the same in every store)
------------------------------------
``entries``
    Append-only journal: ``entry_id``, ``member_id``, ``kind`` (one of
    :data:`ENTRY_KINDS`), signed ``points`` (earn +, redeem -, clawback -,
    expire -, adjust +/-, reversal the opposite of what it reverses), ``at``
    (int nanoseconds since the epoch, program-local time), ``amount_minor``
    (money in integer minor units: the eligible amount of an earn, the refunded
    amount of a clawback), ``transaction_id``, ``reference`` (the entry a
    clawback or reversal refers to), ``shortfall`` (points a clawback could not
    take back), ``note``, ``recorded_at`` (when the store wrote it: int
    nanoseconds UTC from the store's clock; None for entries written before
    schema version 2).
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
``balances``
    Per-member running total of the points left in lots (``open_points``),
    kept by every write, so that balances cost the same for a member with a
    long history (see ``_balances``).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from customer_value.loyalty.stores._balances import LedgerView, current_parts, past_parts
from customer_value.loyalty.stores._batch import EarnBatch

if TYPE_CHECKING:
    from customer_value.loyalty.stores._single import SingleWrite

__all__ = [
    "ENTRY_COLUMNS",
    "ENTRY_KINDS",
    "LOT_COLUMNS",
    "BalanceParts",
    "EntryRow",
    "LotRow",
    "Store",
    "StoreTransaction",
    "entries_to_frame",
    "lots_to_frame",
    "members_to_frame",
]

ENTRY_KINDS = ("earn", "redeem", "clawback", "adjust", "expire", "reversal")

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
    "recorded_at",
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
    """One journal entry as stored (times in int nanoseconds).

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> store = MemoryStore()
    >>> _ = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), store).adjust(
    ...     "m1", 5, at="2024-01-01", idempotency_key="k")
    >>> with store.transaction() as txn:
    ...     entry = txn.entry_get(1)
    >>> entry.kind, entry.points
    ('adjust', 5)
    """

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
    recorded_at: int | None = None


class LotRow(NamedTuple):
    """One lot of points as stored (times in int nanoseconds, ``expires_at`` None = never).

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> store = MemoryStore()
    >>> _ = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), store).adjust(
    ...     "m1", 5, at="2024-01-01", idempotency_key="k")
    >>> with store.transaction() as txn:
    ...     lot = txn.lot_get(1)
    >>> lot.points, lot.remaining, lot.expires_at is None
    (5, 5, True)
    """

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
    """Raw balance figures of one member at one instant (see ``Ledger.balance``).

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> store = MemoryStore()
    >>> _ = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), store).adjust(
    ...     "m1", 5, at="2024-01-01", idempotency_key="k")
    >>> store.balance_parts("m1", 2 * 10**18, 0).spendable_lots
    5
    """

    spendable_lots: int
    pending: int
    expiring: int
    debt: int
    lifetime_earned: int
    last_entry_at: int | None = None


class StoreTransaction(LedgerView):
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
    def member_entries(self, member_id: str, since: int) -> list[EntryRow]: ...

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
    def open_lots(
        self,
        member_id: str,
        at: int,
        *,
        spendable_only: bool,
        points: int | None = None,
        exclude_entry: int | None = None,
    ) -> list[LotRow]:
        """Lots to take points from, first-expiring first (never-expiring last).

        Unexpired lots with points left earned by ``at`` (rule ``HELD``; with
        ``spendable_only`` past their pending period, rule ``SPENDABLE``), ties
        broken by earning time, then lot id, leaving out the lots of
        ``exclude_entry``. With ``points`` only the first lots whose points add
        up to ``points`` are read (an index scan that stops there).
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

    # --- operations with a default in terms of the ones above; a store whose every
    # statement is a network round trip (PostgreSQL) does each in one trip

    def prefetch(
        self,
        key: str,
        member_ids: Sequence[str] = (),
        transaction_id: str | None = None,
        *,
        entries: int = 0,
        lots: int = 0,
    ) -> None:
        """Announce what an operation reads first: its idempotency key, members, earn.

        A store may lock and read them all at once; the later
        :meth:`idempotency_get`, :meth:`member_get` and
        :meth:`earn_by_transaction` then answer from what it read. ``entries`` and
        ``lots``: how many of each the operation will likely add; a store may draw
        their ids now, so that the writes need not wait for them (ids an operation
        does not use are skipped, as with any database sequence). The default does
        nothing (the reads happen when they are made).
        """

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
        """Append a credit entry of ``points`` (> 0) and its lot; ``(entry_id, lot_id)``."""
        entry_id = self.entry_add(
            member_id,
            kind,
            points,
            at,
            amount_minor=amount_minor,
            transaction_id=transaction_id,
            reference=reference,
            note=note,
        )
        return entry_id, self.lot_add(member_id, entry_id, at, available_at, expires_at, points)

    def spendable_lots(
        self, member_id: str, at: int, points: int, debt: int
    ) -> tuple[int, list[LotRow]]:
        """Points spendable at ``at`` less ``debt``, and the lots a debit of ``points`` takes.

        The lots (:meth:`open_lots` with ``spendable_only``, first-expiring
        first) are read only when the spendable points cover ``points``;
        otherwise the list is empty.
        """
        sums = self.open_sums(member_id, at, at)
        available = sums.open_points - sums.due - sums.pending - debt
        if points > available:
            return available, []
        return available, self.open_lots(member_id, at, spendable_only=True, points=points)

    @abstractmethod
    def bulk_earn(self, batch: EarnBatch) -> None:
        """Append the earn entries of ``batch`` and, for each row worth points, one lot.

        Also the allocations of the debts repaid from the lots (``remaining <
        points``) and the running totals (``batch.open_points()``,
        ``batch.day_totals()``).
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
    def view(self) -> contextlib.AbstractContextManager[LedgerView]:
        """Context manager: one consistent read-only view (balances, tiers).

        Takes no write lock, so it works on a read-only SQLite store and never
        waits for writers.
        """

    def balance_parts(self, member_id: str, at: int, horizon: int) -> BalanceParts:
        """Spendable, pending and expiring (before ``at + horizon``) points of a member.

        From the running total of the member's open lots and two short index
        ranges (pending and due lots): the cost does not grow with the member's
        history (see ``_balances``).
        """
        with self.view() as view:
            sums = view.open_sums(member_id, at, at + horizon)
            state = view.member_get(member_id)
        return BalanceParts(*current_parts(sums, state))

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

    def balance_parts_as_of(
        self, member_id: str, at: int, horizon: int, recorded_at: int | None = None
    ) -> BalanceParts:
        """Like :meth:`balance_parts`, as the ledger stood at a past instant.

        Only entries effective at or before ``at`` count and, with
        ``recorded_at`` (int nanoseconds UTC), only those the store had recorded
        by then: the balance *as effective* at ``at`` and *as recorded* at
        ``recorded_at``. Rebuilt backwards from the present, so the cost grows
        with what happened after the instant, not with the history before it.
        """
        with self.view() as view:
            return BalanceParts(*past_parts(view, member_id, at, horizon, recorded_at))

    def single_write(self, member_id: str) -> SingleWrite | None:
        """A one-call write of one operation on ``member_id`` (``_single``), or None.

        The default: None, every operation is a :meth:`transaction`. A store whose
        transactions cost round trips to a server (PostgreSQL) returns one when it
        can answer the operation's first reads itself.

        Parameters
        ----------
        member_id : str
            The one member the operation writes.

        Returns
        -------
        SingleWrite or None
            What the ledger runs the operation against, then commits.

        Examples
        --------
        >>> from customer_value.loyalty import MemoryStore
        >>> MemoryStore().single_write("m1") is None
        True
        """
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (no-op by default)."""


def entries_to_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(ENTRY_COLUMNS))
    recorded = pd.to_datetime(frame["recorded_at"].astype("Int64"), unit="ns", utc=True)
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
            "recorded_at": recorded,
        }
    )
    return out


def lots_to_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
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


def members_to_frame(states: dict[str, dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(states, orient="index")
    frame.index.name = "member_id"
    return frame.sort_index()
