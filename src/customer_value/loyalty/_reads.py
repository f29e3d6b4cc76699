"""Reads of the ledger: balances, tiers, a member's history, the journal and the lots."""

from __future__ import annotations

from typing import Any

import pandas as pd

from customer_value.errors import InvalidDataError
from customer_value.loyalty._args import member_arg, parse_at, recorded_arg
from customer_value.loyalty._core import LedgerCore
from customer_value.loyalty._members import new_state, spend_history, tier_history
from customer_value.loyalty._receipts import Balance
from customer_value.loyalty._rules import NS_PER_DAY
from customer_value.loyalty._tiers import evaluate_tier
from customer_value.loyalty._types import TierStatus

__all__: list[str] = []

_EXPIRING_DAYS = 30
_END = 2**63 - 1  # after every effective time


class _Reads(LedgerCore):
    """The read methods of the ledger."""

    def balance(self, member_id: str, at: Any = None, *, recorded_at: Any = None) -> Balance:
        """The member's available, pending and expiring points at ``at``.

        Parameters
        ----------
        member_id : str
            The member (an unknown member has a zero balance).
        at : datetime-like, optional
            The instant *as effective* (default: now), in the programme's local
            time. Lots expired by ``at`` are not counted even before
            :meth:`expire_due` has run. For an ``at`` before some of the
            member's entries the balance is rebuilt as it was: entries effective
            after ``at`` (and their allocations and lots) are left out. Entries
            count by their effective time, so a backdated entry is included in
            any later balance.
        recorded_at : datetime-like, optional
            The balance *as recorded*: only entries the store had recorded by
            this real instant count (zone-aware values are converted to UTC,
            naive ones are UTC). ``balance(m, at=day, recorded_at=day)`` is what
            the ledger showed on that day, before later backdated entries.

        Returns
        -------
        Balance
            ``available``, ``pending``, ``expiring_30d``, ``lifetime_earned``.

        Raises
        ------
        InvalidDataError
            Bad member id or time.

        Notes
        -----
        Costs do not grow with the member's history: a current balance comes
        from the member's running total and two short index ranges; a past one
        is rolled back from the present over the entries effective (or
        recorded) after the instant asked about.

        Examples
        --------
        >>> import pandas as pd
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1",
        ...                                    "expiry": {"months": 1}}), MemoryStore())
        >>> _ = ledger.adjust("m1", 70, at="2024-01-20", idempotency_key="a1")
        >>> b = ledger.balance("m1", at="2024-02-01")
        >>> b.available, b.expiring_30d
        (70, 70)
        >>> before = pd.Timestamp.now(tz="UTC")
        >>> _ = ledger.redeem("m1", 20, at="2024-01-25", idempotency_key="late")  # backdated
        >>> ledger.balance("m1", at="2024-02-01").available  # as effective
        50
        >>> ledger.balance("m1", at="2024-02-01", recorded_at=before).available  # as recorded
        70
        """
        member_id = member_arg(member_id)
        at_ns = parse_at(at, "at")
        horizon = _EXPIRING_DAYS * NS_PER_DAY
        if recorded_at is not None:
            recorded = recorded_arg(recorded_at)
            parts = self.store.balance_parts_as_of(member_id, at_ns, horizon, recorded)
        else:
            parts = self.store.balance_parts(member_id, at_ns, horizon)
        if recorded_at is None and parts.last_entry_at is not None and parts.last_entry_at > at_ns:
            # entries after `at` exist: rebuild the balance as it stood then
            parts = self.store.balance_parts_as_of(member_id, at_ns, horizon)
        return Balance(
            member_id=member_id,
            at=pd.Timestamp(at_ns, unit="ns"),
            available=parts.spendable_lots - parts.debt,
            pending=parts.pending,
            expiring_30d=parts.expiring,
            lifetime_earned=parts.lifetime_earned,
        )

    def tier(self, member_id: str, at: Any = None, *, recorded_at: Any = None) -> TierStatus:
        """The member's tier at ``at``, with its privileges.

        Parameters
        ----------
        member_id : str
            The member.
        at : datetime-like, optional
            The instant as effective (default: now).
        recorded_at : datetime-like, optional
            The tier as recorded: only entries recorded by this real instant
            count (see :meth:`balance`).

        Returns
        -------
        TierStatus
            From :func:`~customer_value.loyalty.evaluate_tier` on the member's
            earn, clawback and earn-reversal entries, starting from the tier
            recorded at the member's last purchase (for the downgrade policy)
            when it was reached by ``at`` (and, with ``recorded_at``, nothing of
            the member was recorded after that); otherwise from the
            qualification alone.

        Raises
        ------
        InvalidDataError
            The program has no tiers, or a bad member id or time.

        Examples
        --------
        >>> import datetime as dt
        >>> from decimal import Decimal
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program, PurchaseEvent
        >>> program = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 0,
        ...     "tiers": {"basis": "points", "window_months": 12, "levels": [
        ...         {"name": "silver", "threshold": 1000, "privileges": ["priority purchase"]}]}})
        >>> ledger = Ledger(program, MemoryStore())
        >>> _ = ledger.earn(PurchaseEvent("m1", dt.datetime(2024, 3, 1), Decimal(1500)),
        ...                 idempotency_key="e1")
        >>> status = ledger.tier("m1", at="2024-04-01")
        >>> status.tier, status.privileges
        ('silver', ('priority purchase',))
        """
        member_id = member_arg(member_id)
        if self.program.tiers is None:
            raise InvalidDataError("the program has no tiers to evaluate")
        at_ns = parse_at(at, "at")
        recorded = None if recorded_at is None else recorded_arg(recorded_at)
        with self.store.view() as txn:
            history = tier_history(self.program, txn, member_id, at_ns, recorded)
            state = txn.member_get(member_id) or new_state()
            # the stored tier is the latest; it held at `recorded_at` only if nothing of
            # the member was recorded since
            later = recorded is not None and bool(txn.undone(member_id, _END, recorded).entries)
        history = history[history["timestamp"] <= pd.Timestamp(at_ns, unit="ns")]
        since = state["tier_since"]
        if since is None or since > at_ns or later:
            # the stored tier was reached after `at`: it says nothing about `at`
            current, since = None, None
        else:
            current = state["tier"]
        return evaluate_tier(
            self.program,
            spend_history(self.program, history),
            pd.Timestamp(at_ns, unit="ns"),
            current_tier=current,
            tier_since=None if since is None else pd.Timestamp(since, unit="ns"),
        )

    def history(self, member_id: str, *, at: Any = None, recorded_at: Any = None) -> pd.DataFrame:
        """The member's entries in order, with the running balance.

        Parameters
        ----------
        member_id : str
            The member.
        at : datetime-like, optional
            Only entries effective at or before this instant (history as
            effective then).
        recorded_at : datetime-like, optional
            Only entries recorded by this real instant (history as recorded
            then; see :meth:`balance`).

        Returns
        -------
        DataFrame
            Indexed by ``entry_id``: ``at``, ``kind``, ``points`` (signed),
            ``balance`` (running sum of ``points``), ``amount_minor``,
            ``transaction_id``, ``reference``, ``shortfall``, ``note``,
            ``recorded_at`` (UTC; NaT for entries written before recording
            times were kept).

        Raises
        ------
        InvalidDataError
            Bad member id.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> _ = ledger.adjust("m1", 100, at="2024-01-01", idempotency_key="a1")
        >>> _ = ledger.redeem("m1", 30, at="2024-01-02", idempotency_key="r1")
        >>> ledger.history("m1")[["kind", "points", "balance"]]
                    kind  points  balance
        entry_id
        1         adjust     100      100
        2         redeem     -30       70
        """
        member_id = member_arg(member_id)
        frame = self.store.entries_frame(member_id)
        if at is not None:
            frame = frame[frame["at"] <= pd.Timestamp(parse_at(at, "at"), unit="ns")]
        if recorded_at is not None:
            cut = pd.Timestamp(recorded_arg(recorded_at), unit="ns", tz="UTC")
            frame = frame[frame["recorded_at"].isna() | (frame["recorded_at"] <= cut)]
        frame = frame.assign(balance=frame["points"].cumsum().astype("int64"))
        columns = [
            "at",
            "kind",
            "points",
            "balance",
            "amount_minor",
            "transaction_id",
            "reference",
            "shortfall",
            "note",
            "recorded_at",
        ]
        return frame.set_index("entry_id")[columns]

    def entries(self) -> pd.DataFrame:
        """Every entry of every member (the journal), by ``entry_id``.

        Returns
        -------
        DataFrame
            Columns ``entry_id``, ``member_id``, ``kind``, ``points``, ``at``,
            ``amount_minor``, ``transaction_id``, ``reference``, ``shortfall``,
            ``note``.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> _ = ledger.adjust("m1", 10, at="2024-01-01", idempotency_key="a1")
        >>> ledger.entries()["kind"].tolist()
        ['adjust']
        """
        return self.store.entries_frame()

    def lots(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots (of one member or all), by ``lot_id``.

        Parameters
        ----------
        member_id : str, optional
            Restrict to one member.

        Returns
        -------
        DataFrame
            ``lot_id``, ``member_id``, ``entry_id``, ``earned_at``,
            ``available_at``, ``expires_at`` (NaT = never), ``points``,
            ``remaining``.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> _ = ledger.adjust("m1", 10, at="2024-01-01", idempotency_key="a1")
        >>> ledger.lots()["remaining"].tolist()
        [10]
        """
        return self.store.lots_frame(None if member_id is None else member_arg(member_id))
