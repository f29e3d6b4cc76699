"""MemoryStore: the ledger store in process memory (tests, simulations)."""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import pandas as pd

from customer_value.errors import CustomerValueError
from customer_value.loyalty.stores._balances import LedgerView, OpenSums, Undone, open_sums
from customer_value.loyalty.stores._batch import EarnBatch
from customer_value.loyalty.stores._contract import (
    EntryRow,
    LotRow,
    Store,
    StoreTransaction,
    entries_to_frame,
    lots_to_frame,
    members_to_frame,
)
from customer_value.loyalty.stores._rules import (
    DUE,
    EXPIRES_WITHIN,
    HELD,
    PENDING,
    PENDING_EXPIRING,
    SPENDABLE,
    expiry_day,
    expiry_key,
    expiry_window,
    predicate,
)

__all__ = ["MemoryStore"]

_TOP = 2**63


class _Member:
    """One member's indexes: entries by time and by recording, open lots by expiry and
    by the end of their pending period, the running total of points left and the points
    left per expiry day (``days``, its keys sorted in ``day_list``)."""

    __slots__ = (
        "by_at",
        "by_available",
        "by_expiry",
        "day_list",
        "days",
        "entry_ids",
        "lot_ids",
        "open",
        "recorded",
    )

    def __init__(self) -> None:
        self.entry_ids: list[int] = []
        self.recorded: list[int] = []  # parallel to entry_ids, non-decreasing
        self.by_at: list[tuple[int, int]] = []
        self.lot_ids: list[int] = []
        self.by_expiry: list[tuple[int, int, int, int]] = []
        self.by_available: list[tuple[int, int]] = []
        self.open = 0
        self.days: dict[int, int] = {}
        self.day_list: list[int] = []

    def add(self, expires_at: int | None, points: int) -> None:
        """Move the running totals by ``points`` left in a lot expiring at ``expires_at``."""
        self.open += points
        if expires_at is not None:
            day = expiry_day(expires_at)
            if day not in self.days:
                bisect.insort(self.day_list, day)
            self.days[day] = self.days.get(day, 0) + points

    def show(self, lot: LotRow) -> None:
        bisect.insort(self.by_expiry, expiry_key(partial(getattr, lot)))
        bisect.insort(self.by_available, (lot.available_at, lot.lot_id))

    def hide(self, lot: LotRow) -> None:
        for keys, key in (
            (self.by_expiry, expiry_key(partial(getattr, lot))),
            (self.by_available, (lot.available_at, lot.lot_id)),
        ):
            del keys[bisect.bisect_left(keys, key)]


def _after(at: int) -> tuple[int, int, int, int]:
    """Sort key just after every lot expiring at or before ``at``."""
    return (0, at, _TOP, _TOP)


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
        member = s._member(member_id)
        recorded = max(time.time_ns(), member.recorded[-1] if member.recorded else 0)
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
            recorded,
        )
        s._entries.append(row)
        member.entry_ids.append(entry_id)
        member.recorded.append(recorded)
        bisect.insort(member.by_at, (int(at), entry_id))
        if kind == "earn" and transaction_id is not None and transaction_id not in s._earn_by_tx:
            s._earn_by_tx[transaction_id] = entry_id
            self.undo.append(lambda: s._earn_by_tx.pop(transaction_id, None))
        if reference is not None:
            s._referencing.setdefault(reference, []).append(entry_id)
            self.undo.append(lambda: s._referencing[reference].pop())

        def _undo() -> None:
            s._entries.pop()
            member.entry_ids.pop()
            member.recorded.pop()
            member.by_at.remove((int(at), entry_id))

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
        member = self._s._members_idx.get(member_id)
        if member is None:
            return []
        later = member.by_at[bisect.bisect_right(member.by_at, (since, _TOP)) :]
        return [entries[i - 1] for i in sorted(i for _, i in later)]

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
        lot = LotRow(
            lot_id, member_id, entry_id, earned_at, available_at, expires_at, points, points
        )
        s._lots.append(lot)
        member = s._member(member_id)
        member.lot_ids.append(lot_id)
        member.show(lot)
        member.add(expires_at, points)
        s._lots_by_entry.setdefault(entry_id, []).append(lot_id)

        def _undo() -> None:
            s._lots.pop()
            member.lot_ids.pop()
            member.hide(lot)
            member.add(expires_at, -points)
            s._lots_by_entry[entry_id].pop()

        self.undo.append(_undo)
        return lot_id

    def lot_get(self, lot_id: int) -> LotRow:
        return self._s._lots[lot_id - 1]

    def lots_of_entry(self, entry_id: int) -> list[LotRow]:
        return [self._s._lots[i - 1] for i in self._s._lots_by_entry.get(entry_id, [])]

    def open_lots(
        self,
        member_id: str,
        at: int,
        *,
        spendable_only: bool,
        points: int | None = None,
        exclude_entry: int | None = None,
    ) -> list[LotRow]:
        member = self._s._members_idx.get(member_id)
        if member is None:
            return []
        lots = self._s._lots
        rule = SPENDABLE if spendable_only else HELD
        params = {"at": at}
        out: list[LotRow] = []
        got = 0
        keys = member.by_expiry
        for pos in range(bisect.bisect_right(keys, _after(at)), len(keys)):
            lot = lots[keys[pos][3] - 1]
            if lot.entry_id == exclude_entry or not predicate(rule)(lot, params):
                continue
            out.append(lot)
            got += lot.remaining
            if points is not None and got >= points:
                break
        return out

    def due_lots(self, at: int) -> list[LotRow]:
        lots = self._s._lots
        params = {"at": at}
        out: list[LotRow] = []
        for member_id in sorted(self._s._members_idx):
            keys = self._s._members_idx[member_id].by_expiry
            for key in keys[: bisect.bisect_right(keys, _after(at))]:
                lot = lots[key[3] - 1]
                if predicate(DUE)(lot, params):
                    out.append(lot)
        out.sort(key=lambda lot: (lot.member_id, lot.lot_id))
        return out

    def open_sums(self, member_id: str, at: int, until: int) -> OpenSums:
        return self._s._open_sums(member_id, at, until)

    def undone(self, member_id: str, at: int, recorded_at: int | None) -> Undone:
        return self._s._undone(member_id, at, recorded_at)

    def allocate(self, entry_id: int, lot_id: int, points: int) -> None:
        s = self._s
        lot = s._lots[lot_id - 1]
        remaining = lot.remaining - points
        if remaining < 0 or remaining > lot.points:
            raise CustomerValueError(
                f"allocation of {points} points would leave lot {lot_id} with {remaining}"
            )
        member = s._member(lot.member_id)
        new = lot._replace(remaining=remaining)
        s._lots[lot_id - 1] = new
        member.add(lot.expires_at, -points)
        if lot.remaining > 0 and remaining == 0:
            member.hide(lot)
        elif lot.remaining == 0 and remaining > 0:
            member.show(new)
        s._allocations.append((entry_id, lot_id, points))
        s._alloc_by_entry.setdefault(entry_id, []).append((lot_id, points))

        def _undo() -> None:
            s._lots[lot_id - 1] = lot
            member.add(lot.expires_at, points)
            if lot.remaining > 0 and remaining == 0:
                member.show(lot)
            elif lot.remaining == 0 and remaining > 0:
                member.hide(new)
            s._allocations.pop()
            s._alloc_by_entry[entry_id].pop()

        self.undo.append(_undo)

    def allocations_of(self, entry_id: int) -> list[tuple[int, int]]:
        return list(self._s._alloc_by_entry.get(entry_id, []))

    def bulk_earn(self, batch: EarnBatch) -> None:
        # the rows of entry_add + lot_add (+ allocate for a debt repayment) appended in one
        # pass, each member's sorted indexes re-sorted once, and one undo for the batch
        s = self._s
        first_entry, first_lot = len(s._entries) + 1, len(s._lots) + 1
        n_alloc = len(s._allocations)
        now = time.time_ns()
        touched: dict[str, tuple[_Member, int, dict[int, int]]] = {}
        for name in batch.members:
            member = s._member(name)
            touched[name] = (member, member.open, dict(member.days))
        new_tx: list[str] = []
        lot_id = first_lot
        expiries = [None] * len(batch) if batch.expires_at is None else batch.expires_at.tolist()
        rows = zip(
            batch.member_ids(),
            batch.points.tolist(),
            batch.at.tolist(),
            batch.amount_minor.tolist(),
            batch.transaction_id,
            batch.available_at.tolist(),
            expiries,
            batch.remaining.tolist(),
            strict=True,
        )
        for entry_id, (member_id, points, at, amount, tx, avail, expires, left) in enumerate(
            rows, first_entry
        ):
            member = touched[member_id][0]
            recorded = max(now, member.recorded[-1]) if member.recorded else now
            s._entries.append(
                EntryRow(
                    entry_id, member_id, "earn", points, at, amount, tx, None, 0, None, recorded
                )
            )
            member.entry_ids.append(entry_id)
            member.recorded.append(recorded)
            member.by_at.append((at, entry_id))
            if tx is not None and tx not in s._earn_by_tx:
                s._earn_by_tx[tx] = entry_id
                new_tx.append(tx)
            if points <= 0:
                continue
            lot = LotRow(lot_id, member_id, entry_id, at, avail, expires, points, left)
            s._lots.append(lot)
            s._lots_by_entry[entry_id] = [lot_id]
            member.lot_ids.append(lot_id)
            if left > 0:
                member.by_expiry.append(expiry_key(partial(getattr, lot)))
                member.by_available.append((avail, lot_id))
            if left < points:
                s._allocations.append((entry_id, lot_id, points - left))
                s._alloc_by_entry.setdefault(entry_id, []).append((lot_id, points - left))
            lot_id += 1
        # the running totals of the batch (the day index is sorted once, below)
        for code, total in zip(*batch.open_points(), strict=True):
            touched[batch.members[code]][0].open += total
        codes, days, totals = batch.day_totals()
        for code, day, total in zip(codes.tolist(), days.tolist(), totals, strict=True):
            member_days = touched[batch.members[code]][0].days
            member_days[day] = member_days.get(day, 0) + total
        for member, _, _ in touched.values():
            if len(member.day_list) != len(member.days):
                member.day_list[:] = sorted(member.days)
            member.by_at.sort()
            member.by_expiry.sort()
            member.by_available.sort()

        def _undo() -> None:
            for entry_id in range(first_entry, len(s._entries) + 1):
                s._lots_by_entry.pop(entry_id, None)
                s._alloc_by_entry.pop(entry_id, None)
            for tx in new_tx:
                s._earn_by_tx.pop(tx, None)
            del s._entries[first_entry - 1 :], s._lots[first_lot - 1 :]
            del s._allocations[n_alloc:]
            for member, open_before, days_before in touched.values():
                count = sum(1 for e in member.entry_ids if e >= first_entry)
                del member.entry_ids[len(member.entry_ids) - count :]
                del member.recorded[len(member.recorded) - count :]
                member.lot_ids[:] = [x for x in member.lot_ids if x < first_lot]
                member.by_at[:] = [k for k in member.by_at if k[1] < first_entry]
                member.by_expiry[:] = [k for k in member.by_expiry if k[3] < first_lot]
                member.by_available[:] = [k for k in member.by_available if k[1] < first_lot]
                member.open, member.days = open_before, days_before
                member.day_list[:] = sorted(days_before)

        self.undo.append(_undo)


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
        self._members_idx: dict[str, _Member] = {}
        self._earn_by_tx: dict[str, int] = {}
        self._referencing: dict[int, list[int]] = {}
        self._lots: list[LotRow] = []
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

    def _member(self, member_id: str) -> _Member:
        member = self._members_idx.get(member_id)
        if member is None:
            member = self._members_idx[member_id] = _Member()
        return member

    @contextlib.contextmanager
    def view(self) -> Iterator[LedgerView]:
        """A consistent read view (the store's lock is held)."""
        with self._lock:
            yield _MemoryTransaction(self)

    def _open_sums(self, member_id: str, at: int, until: int) -> OpenSums:
        member = self._members_idx.get(member_id)
        if member is None:
            return OpenSums(0, 0, 0, 0, None)
        lots = self._lots
        keys = member.by_expiry
        now = bisect.bisect_right(keys, _after(at))
        params = {"at": at, "until": until}

        def total(rule: Any, candidates: Any) -> int:
            got = (lots[i - 1] for i in candidates)
            return sum(lot.remaining for lot in got if predicate(rule)(lot, params))

        # index ranges, read in place (a slice would copy the member's whole index)
        due = total(DUE, (keys[i][3] for i in range(now)))
        ready = member.by_available
        start = bisect.bisect_right(ready, (at, _TOP))
        pending = total(PENDING, (ready[i][1] for i in range(start, len(ready))))
        # the expiring sum from the per-day totals (see ``_rules.expiry_window``)
        window = expiry_window(at, until)
        days = member.day_list
        whole = range(
            bisect.bisect_right(days, window["first_day"]),
            bisect.bisect_right(days, window["last_day"]),
        )

        def within(lo: int, hi: int) -> int:
            keys_in = range(
                bisect.bisect_right(keys, _after(lo)), bisect.bisect_right(keys, _after(hi))
            )
            got = (lots[keys[i][3] - 1] for i in keys_in)
            bounds = {"lo": lo, "hi": hi}
            return sum(lot.remaining for lot in got if predicate(EXPIRES_WITHIN)(lot, bounds))

        return open_sums(
            (
                member.open,
                due,
                pending,
                sum(member.days[days[i]] for i in whole),
                within(at, window["head_end"]),
                within(until, window["tail_end"]),
                total(PENDING_EXPIRING, (ready[i][1] for i in range(start, len(ready)))),
                member.by_at[-1][0] if member.by_at else None,
            )
        )

    def _undone(self, member_id: str, at: int, recorded_at: int | None) -> Undone:
        member = self._members_idx.get(member_id)
        if member is None:
            return Undone([], [], [], 0)
        entries, lots = self._entries, self._lots
        ids = {i for _, i in member.by_at[bisect.bisect_right(member.by_at, (at, _TOP)) :]}
        if recorded_at is not None:
            ids.update(member.entry_ids[bisect.bisect_right(member.recorded, recorded_at) :])
        rows = [entries[i - 1] for i in sorted(ids)]
        made = [lots[j - 1] for e in rows for j in self._lots_by_entry.get(e.entry_id, [])]
        allocations = []
        for e in rows:
            for lot_id, points in self._alloc_by_entry.get(e.entry_id, []):
                lot = lots[lot_id - 1]
                source = entries[lot.entry_id - 1]
                allocations.append((points, lot, source.at, source.recorded_at))
        reversed_earns = sum(
            entries[e.reference - 1].points
            for e in rows
            if e.kind == "reversal"
            and e.reference is not None
            and entries[e.reference - 1].kind == "earn"
        )
        return Undone(rows, made, allocations, reversed_earns)

    def entries_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The journal as a DataFrame (see :class:`Store`)."""
        with self._lock:
            if member_id is None:
                rows = list(self._entries)
            else:
                member = self._members_idx.get(member_id)
                ids = [] if member is None else member.entry_ids
                rows = [self._entries[i - 1] for i in ids]
        return entries_to_frame(rows)

    def lots_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots as a DataFrame (see :class:`Store`)."""
        with self._lock:
            if member_id is None:
                rows = list(self._lots)
            else:
                member = self._members_idx.get(member_id)
                ids = [] if member is None else member.lot_ids
                rows = [self._lots[i - 1] for i in ids]
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
