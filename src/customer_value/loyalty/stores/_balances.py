"""Balances from running totals: current ones in constant time, past ones by rolling back.

Every store keeps, per member, the running total of points left in its lots
(``open_points``) and indexes its open lots by expiry and by the end of their
pending period. A current balance is then three small range sums
(:func:`current_parts`)::

    spendable = open_points - due - pending

because every open lot is exactly one of *due* (expired), *pending* or
*spendable* at an instant (the rules of ``_rules``). Pending and due lots are
the recent and the overdue ones, so the cost does not grow with the member's
history.

A past balance is rebuilt backwards from the present (:func:`past_parts`):
undo what the ledger learnt *after* the instant asked about, instead of
replaying everything before it. The entries undone are those not yet
effective at ``at`` or, for a balance *as recorded*, not yet recorded at
``recorded_at``; the cost grows with what happened after the instant, never
with the length of the history before it. With ``U`` those entries, for every
lot ``l`` whose creating entry is known::

    remaining_then(l) = remaining_now(l) + sum(allocations of U to l)

and for the member::

    sum(entries known) = open_points - debt_now - sum(U.points)
    debt_then = sum(remaining_then) - sum(entries known)
    lifetime_then = lifetime_now - sum(earns in U) + sum(earns reversed by U)

(the ledger's invariant ``sum(entries) = sum(lots.remaining) - debt``). Each
backend supplies the few rows this needs (:class:`LedgerView`); the arithmetic
and the rules are here, once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from customer_value.loyalty.stores._rules import BALANCE_RULES, predicate

__all__ = [
    "FIRST_BATCH",
    "LedgerView",
    "OpenSums",
    "Undone",
    "current_parts",
    "in_expiry_order",
    "is_known",
    "open_sums",
    "past_parts",
    "take_in_order",
    "undone_rows",
    "undone_sql",
]


@dataclass(frozen=True)
class OpenSums:
    """Sums over a member's open lots (points left) at one instant."""

    open_points: int
    due: int
    pending: int
    expiring: int
    last_at: int | None


@dataclass(frozen=True)
class Undone:
    """What a rollback to ``(at, recorded_at)`` undoes for one member.

    ``entries``: the member's entries not known then; ``lots``: the lots they
    created; ``allocations``: ``(points, lot, lot_entry_at,
    lot_entry_recorded_at)`` for every allocation of those entries;
    ``reversed_earns``: the points of the earn entries that reversals among
    ``entries`` reversed.
    """

    entries: Sequence[Any]
    lots: Sequence[Any]
    allocations: Sequence[tuple[int, Any, int, int | None]]
    reversed_earns: int


class LedgerView(ABC):
    """Reads of one consistent view of a store, for the balance arithmetic."""

    @abstractmethod
    def open_sums(self, member_id: str, at: int, until: int) -> OpenSums:
        """``open_points`` and the due, pending and expiring sums of the open lots at ``at``."""

    @abstractmethod
    def undone(self, member_id: str, at: int, recorded_at: int | None) -> Undone:
        """The member's entries effective after ``at`` or recorded after ``recorded_at``."""

    @abstractmethod
    def member_get(self, member_id: str) -> dict[str, Any] | None:
        """The member's state dictionary, or None for an unknown member."""

    @abstractmethod
    def member_entries(self, member_id: str, since: int) -> list[Any]:
        """The member's entries with ``at > since``, by entry id."""


def is_known(at: int, recorded: int | None, then: int, recorded_at: int | None) -> bool:
    """Was an entry (effective ``at``, recorded ``recorded``) known at ``(then, recorded_at)``?

    Entries written before recording times were kept (``recorded`` None) count
    as recorded from the start.
    """
    if at > then:
        return False
    return recorded_at is None or recorded is None or recorded <= recorded_at


Parts = tuple[int, int, int, int, int, "int | None"]


def current_parts(sums: OpenSums, state: dict[str, Any] | None) -> Parts:
    """``(spendable, pending, expiring, debt, lifetime_earned, last_at)`` now."""
    state = state or {}
    return (
        sums.open_points - sums.due - sums.pending,
        sums.pending,
        sums.expiring,
        int(state.get("debt", 0)),
        int(state.get("lifetime_earned", 0)),
        sums.last_at,
    )


_THEN = {"remaining": 1}


def _categories(lot: Any, params: dict[str, int]) -> list[bool]:
    # the balance rules with "points left" taken as true: a lot's points *then* decide
    # what it adds, not its points now
    return [predicate(rule, _THEN)(lot, params) for _, rule in BALANCE_RULES]


def past_parts(
    view: LedgerView, member_id: str, at: int, horizon: int, recorded_at: int | None
) -> Parts:
    """``(spendable, pending, expiring, debt, lifetime_earned, last_at)`` at a past instant.

    ``at`` is the effective instant; with ``recorded_at`` only the entries
    recorded by then count (the ledger as it stood at that moment).
    """
    sums = view.open_sums(member_id, at, at + horizon)
    undone = view.undone(member_id, at, recorded_at)
    state = view.member_get(member_id) or {}
    params = {"at": at, "until": at + horizon}
    # sums over the lots of known entries, with their points as they were then
    total = sums.open_points
    parts = [sums.open_points - sums.due - sums.pending, sums.pending, sums.expiring]

    def add(lot: Any, points: int) -> None:
        nonlocal total
        total += points
        for i, hit in enumerate(_categories(lot, params)):
            if hit:
                parts[i] += points

    for lot in undone.lots:
        if lot.remaining:
            add(lot, -int(lot.remaining))
    for points, lot, lot_at, lot_recorded in undone.allocations:
        if is_known(lot_at, lot_recorded, at, recorded_at):
            add(lot, int(points))
    entries_then = (
        sums.open_points - int(state.get("debt", 0)) - sum(e.points for e in undone.entries)
    )
    lifetime = (
        int(state.get("lifetime_earned", 0))
        - sum(e.points for e in undone.entries if e.kind == "earn")
        + undone.reversed_earns
    )
    return (parts[0], parts[1], parts[2], total - entries_then, lifetime, None)


def open_sums(row: Sequence[Any]) -> OpenSums:
    """:class:`OpenSums` from the row of ``_rules.open_sums_sql`` (every store builds it).

    ``(open_points, due, pending, days, head, tail, pending_expiring, last_at)``; the
    expiring sum is ``days + head - tail - pending_expiring`` (``_rules.expiry_window``).
    """
    open_points, due, pending, days, head, tail, pending_expiring, last = row
    expiring = int(days) + int(head) - int(tail) - int(pending_expiring)
    return OpenSums(
        int(open_points), int(due), int(pending), expiring, None if last is None else int(last)
    )


#: lots read by the first batch of a pass (enough for most debits)
FIRST_BATCH = 16


def take_in_order(
    batches: Callable[[int, int], Sequence[Any]], points: int | None, first: int = FIRST_BATCH
) -> list[Any]:
    """Lots from ``batches(offset, limit)`` until their points left reach ``points``."""
    out: list[Any] = []
    got, offset, size = 0, 0, first
    while True:
        batch = batches(offset, size)
        for lot in batch:
            out.append(lot)
            got += int(lot.remaining)
            if points is not None and got >= points:
                return out
        if len(batch) < size:
            return out
        offset += len(batch)
        size *= 4


def undone_sql(
    param: Callable[[str], str],
    table: Callable[[str], str],
    entry_select: Callable[[str], str],
    lot_select: Callable[[str], str],
    ns: Callable[[str], str],
) -> tuple[str, str, str, str]:
    """The four queries of :meth:`LedgerView.undone` (member ``:m``, ``:at``, ``:rec``).

    ``entry_select(prefix)`` and ``lot_select(prefix)`` give the select lists of
    entry and lot rows; ``ns`` turns a time column into int nanoseconds.
    """
    entries, lots, allocations = table("entries"), table("lots"), table("allocations")
    # the member's entries the rollback undoes: two index ranges, (member, at) and
    # (member, recorded_at); a NULL :rec compares as unknown, i.e. recorded in time
    where = f"member_id = {param('m')} AND (at > {param('at')} OR recorded_at > {param('rec')})"
    undone = f"SELECT entry_id FROM {entries} WHERE {where}"
    return (
        f"SELECT {entry_select('')} FROM {entries} WHERE {where} ORDER BY entry_id",
        f"SELECT {lot_select('')} FROM {lots} WHERE entry_id IN ({undone}) ORDER BY lot_id",
        f"SELECT a.points, {lot_select('l.')}, {ns('s.at')}, {ns('s.recorded_at')} "
        f"FROM {allocations} a JOIN {lots} l ON l.lot_id = a.lot_id "
        f"JOIN {entries} s ON s.entry_id = l.entry_id "
        f"WHERE a.entry_id IN ({undone}) ORDER BY a.allocation_id",
        f"SELECT COALESCE(SUM(o.points), 0) FROM {entries} r "
        f"JOIN {entries} o ON o.entry_id = r.reference "
        f"WHERE r.entry_id IN ({undone}) AND r.kind = 'reversal' AND o.kind = 'earn'",
    )


def undone_rows(
    entry_rows: Sequence[Sequence[Any]],
    lot_rows: Sequence[Sequence[Any]],
    allocation_rows: Sequence[Sequence[Any]],
    reversed_earns: Any,
    entry: Callable[..., Any],
    lot: Callable[..., Any],
) -> Undone:
    """:class:`Undone` from the rows of :func:`undone_sql` (``entry``/``lot`` build rows)."""
    allocations = [
        (int(r[0]), lot(*r[1:-2]), int(r[-2]), None if r[-1] is None else int(r[-1]))
        for r in allocation_rows
    ]
    return Undone(
        [entry(*r) for r in entry_rows],
        [lot(*r) for r in lot_rows],
        allocations,
        int(reversed_earns),
    )


def in_expiry_order(
    fetch: Callable[[bool, int, int], Sequence[Any]], points: int | None
) -> list[Any]:
    """Lots in consumption order from the two index passes ``fetch(never_expiring, offset,
    limit)`` (see ``_rules.pass_sql``), stopping once they hold ``points``."""
    first = take_in_order(lambda offset, limit: fetch(False, offset, limit), points)
    got = sum(int(lot.remaining) for lot in first)
    if points is not None and got >= points:
        return first
    rest = None if points is None else points - got
    return first + take_in_order(lambda offset, limit: fetch(True, offset, limit), rest)
