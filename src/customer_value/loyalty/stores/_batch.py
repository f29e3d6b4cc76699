"""One chunk of a bulk import as columns, and the running totals it adds, computed once.

The ledger's bulk import hands each store an :class:`EarnBatch`: numpy columns
(no tuple per row), rows grouped by member and in time order within a member.
The totals every store keeps on each write - the points left per member
(``balances``) and per member and expiry day (``expiry_days``, the day of
``_rules.expiry_day``) - are summed here with numpy, so no backend sums them
again (in Python, or in SQL with its own rendering of the day rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from customer_value.loyalty.stores._rules import expiry_day

__all__ = ["EarnBatch"]

Ints = npt.NDArray[np.int64]

#: the largest int64
_SAFE = 2**63 - 1


@dataclass(frozen=True)
class EarnBatch:
    """Earn entries and their lots, one row per purchase (columns of equal length).

    Row ``i`` is an earn entry of ``points[i]`` for ``members[member[i]]`` at
    ``at[i]`` and, when ``points[i] > 0``, one lot of ``points[i]`` points
    spendable from ``available_at[i]``, expiring at ``expires_at[i]`` (``None``:
    the program's points never expire) with ``remaining[i]`` points left
    (fewer when the member's debt was repaid from it; the repayment is recorded
    as an allocation). Instants are int nanoseconds, money integer minor units.

    Examples
    --------
    >>> import numpy as np
    >>> day = 86_400 * 10**9
    >>> batch = EarnBatch(members=["a", "b"], member=np.array([0, 0, 1]),
    ...     points=np.array([5, 0, 7]), at=np.array([0, day, day]),
    ...     amount_minor=np.array([500, 10, 700]), transaction_id=[None, None, "T1"],
    ...     available_at=np.array([0, day, day]), expires_at=np.array([day, 2 * day, 2 * day]),
    ...     remaining=np.array([3, 0, 7]))
    >>> batch.credited().tolist(), batch.member_ids()
    ([True, False, True], ['a', 'a', 'b'])
    >>> batch.open_points()
    ([0, 1], [3, 7])
    >>> codes, days, sums = batch.day_totals()
    >>> codes.tolist(), days.tolist(), sums
    ([0, 1], [1, 2], [3, 7])
    """

    members: list[str]
    member: Ints
    points: Ints
    at: Ints
    amount_minor: Ints
    transaction_id: list[str | None]
    available_at: Ints
    expires_at: Ints | None
    remaining: Ints
    #: on the last chunk of a bulk import, the rows of the whole import (0 on the others):
    #: a store may then refresh what depends on its tables' sizes (PostgreSQL's planner
    #: statistics) once per import rather than after every chunk
    import_rows: int = 0

    def __len__(self) -> int:
        return len(self.member)

    def member_ids(self) -> list[str]:
        """The member id of every row."""
        return np.asarray(self.members, dtype=object)[self.member].tolist()  # type: ignore[no-any-return]

    def credited(self) -> npt.NDArray[np.bool_]:
        """Rows that open a lot (a purchase worth no points opens none)."""
        return self.points > 0

    def open_points(self) -> tuple[list[int], list[int]]:
        """``(member positions, points left in their new lots)`` of members given a lot."""
        lots = self.credited()
        sums = _sums(self.member[lots], self.remaining[lots], len(self.members))
        codes = np.unique(self.member[lots]).tolist()
        return codes, [sums[c] for c in codes]

    def day_totals(self) -> tuple[Ints, Ints, list[int]]:
        """``(member positions, expiry days, points left)`` of the new lots, per member and day.

        Sorted by member, then day; empty when the points never expire.
        """
        lots = self.credited()
        if self.expires_at is None or not lots.any():
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, []
        member, day = self.member[lots], expiry_day(self.expires_at[lots])
        first = int(day.min())
        span = int(day.max()) - first + 1
        keys, groups = np.unique(member * span + (day - first), return_inverse=True)
        codes, days = np.divmod(keys, span)
        return codes, days + first, _sums(groups, self.remaining[lots], len(keys))


def _sums(groups: Ints, values: Ints, size: int) -> list[int]:
    """Exact sums of ``values`` per group ``0 .. size - 1`` (Python integers)."""
    if not len(values) or int(values.max()) * len(values) <= _SAFE:
        out = np.zeros(size, dtype=np.int64)
        np.add.at(out, groups, values)
        return out.tolist()
    totals = [0] * size  # int64 could overflow: Python integers
    for g, v in zip(groups.tolist(), values.tolist(), strict=True):
        totals[g] += v
    return totals
