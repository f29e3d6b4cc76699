"""The loyalty ledger: append-only entries, lots spent first-expiring-first, idempotent writes."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from customer_value._progress import Progress, get_logger
from customer_value._time import NS_PER_DAY
from customer_value._validation import as_frame, describe_row, first_bad, require_columns
from customer_value.errors import (
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidDataError,
)
from customer_value.loyalty._engine import (
    advance_state,
    clawback_points,
    evaluate_tier,
    expiry_dates,
    points_for_event,
    points_for_transactions,
)
from customer_value.loyalty._program import Program
from customer_value.loyalty._types import MemberState, PurchaseEvent, TierStatus
from customer_value.loyalty.stores import LotRow, Store, StoreTransaction

__all__ = ["Balance", "ImportSummary", "Ledger", "LedgerReceipt"]

_LOG = get_logger("loyalty.ledger")
_EXPIRING_DAYS = 30
_START_COLUMNS = (
    "tier",
    "birth_month",
    "referred_by",
    "qualifying_purchases",
    "birthday_bonus_year",
)


@dataclass(frozen=True)
class Balance:
    """A member's points at one instant.

    Parameters
    ----------
    member_id : str
        The member.
    at : pandas.Timestamp
        The instant.
    available : int
        Spendable now: unexpired lots past their pending period, minus any debt
        left by clawbacks (negative only when the program allows it).
    pending : int
        Earned but still in the pending period (not spendable yet).
    expiring_30d : int
        Part of ``available`` held in lots expiring within 30 days after ``at``.
    lifetime_earned : int
        Points credited by earn entries (purchases, bonuses, referrals), before
        redemptions, expiries and clawbacks; reversed earns are deducted.

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    >>> ledger.balance("nobody", at="2024-01-01").available
    0
    """

    member_id: str
    at: pd.Timestamp
    available: int
    pending: int
    expiring_30d: int
    lifetime_earned: int


@dataclass(frozen=True)
class LedgerReceipt:
    """The result of one ledger write (stored, and returned again on a replay).

    Parameters
    ----------
    operation : str
        ``"earn"``, ``"redeem"``, ``"refund"``, ``"adjust"``, ``"reverse"`` or
        ``"expire"``.
    member_id : str or None
        The member (None for an expiry run over all members).
    points : int
        Signed change of the member's points (earn > 0, redeem < 0; for an
        expiry run, minus the points expired).
    entry_ids : tuple of int
        The entries written, the member's first.
    at : pandas.Timestamp
        Effective time of the operation.
    shortfall : int, default 0
        Points a clawback or reversal could not take back (program without
        negative balances).

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    >>> receipt = ledger.adjust("m1", 5, at="2024-01-01", idempotency_key="a")
    >>> receipt.operation, receipt.points, receipt.entry_ids
    ('adjust', 5, (1,))
    """

    operation: str
    member_id: str | None
    points: int
    entry_ids: tuple[int, ...]
    at: pd.Timestamp
    shortfall: int = 0

    def _to_json(self) -> str:
        return json.dumps(
            {
                "operation": self.operation,
                "member_id": self.member_id,
                "points": self.points,
                "entry_ids": list(self.entry_ids),
                "at": int(self.at.value),
                "shortfall": self.shortfall,
            },
            sort_keys=True,
        )

    @classmethod
    def _from_json(cls, text: str) -> LedgerReceipt:
        data = json.loads(text)
        return cls(
            operation=str(data["operation"]),
            member_id=data["member_id"],
            points=int(data["points"]),
            entry_ids=tuple(int(i) for i in data["entry_ids"]),
            at=pd.Timestamp(int(data["at"]), unit="ns"),
            shortfall=int(data["shortfall"]),
        )


@dataclass(frozen=True)
class ImportSummary:
    """What :meth:`Ledger.import_transactions` wrote.

    Parameters
    ----------
    events : int
        Purchases in the table.
    points : int
        Points credited (members and referrers) by the import, replayed chunks
        included (a full replay returns the first run's figure).
    chunks : int
        Chunks in the import (each one store transaction).
    replayed_chunks : int
        Chunks already written by an earlier run with the same key (skipped).

    Examples
    --------
    >>> from customer_value.loyalty import ImportSummary
    >>> ImportSummary(events=10, points=500, chunks=1, replayed_chunks=0).points
    500
    """

    events: int
    points: int
    chunks: int
    replayed_chunks: int


def _ns(value: Any, name: str) -> int:
    if value is None:
        return int(pd.Timestamp.now().value)
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InvalidDataError(f"{name} could not be parsed as a timestamp: {value!r}") from None
    if pd.isna(ts):
        raise InvalidDataError(f"{name} must be a timestamp, got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(ts.value)


#: the largest number of points one ledger operation may move; with it every store (SQLite's
#: and PostgreSQL's 64-bit integers, Python's ints) holds the same values and sums
MAX_POINTS = 10**15


def _points_arg(points: Any, name: str, *, allow_negative: bool = False) -> int:
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)):
        raise InvalidDataError(f"{name} must be a whole number of points, got {points!r}")
    value = int(points)
    if abs(value) > MAX_POINTS:
        raise InvalidDataError(f"{name} must be at most {MAX_POINTS:,} in size, got {value}")
    if allow_negative:
        if value == 0:
            raise InvalidDataError(f"{name} must not be 0")
    elif value <= 0:
        raise InvalidDataError(f"{name} must be > 0, got {value}")
    return value


def _at_key(at: Any, at_ns: int) -> int | None:
    """The time as part of a request's fingerprint: ``None`` when the caller said "now".

    A retry of ``redeem(..., at=None)`` after a timeout is the same request even
    though "now" has moved on; it must replay, not conflict.
    """
    return None if at is None else at_ns


def _key_arg(key: Any) -> str:
    if not isinstance(key, str) or not key or "\x00" in key:
        raise InvalidDataError(
            f"idempotency_key must be a non-empty string without NUL characters, got {key!r}"
        )
    return key


def _member_arg(member_id: Any) -> str:
    if not isinstance(member_id, str) or not member_id or "\x00" in member_id:
        raise InvalidDataError(
            f"member_id must be a non-empty string without NUL characters, got {member_id!r}"
        )
    return member_id


def _text_arg(value: Any, name: str) -> str | None:
    """A free-text note or reason: None or a string every store can hold (no NUL)."""
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidDataError(
            f"{name} must be a string without NUL characters or None, got {value!r}"
        )
    return value


def _fingerprint(operation: str, request: dict[str, Any]) -> str:
    text = json.dumps({"op": operation, **request}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _expiry_ns(program: Program, at: int) -> int | None:
    """:func:`~customer_value.loyalty.expiry_date` in integer nanoseconds, without pandas.

    Same rule (calendar months with the day clamped to the month's length, clock
    time kept; with ``clamp_to_month_end`` midnight starting the next month), an
    order of magnitude cheaper per call on the single-operation hot path.
    """
    months = program.expiry.months
    if months is None:
        return None
    days, time_of_day = divmod(at, NS_PER_DAY)
    day = dt.date.fromordinal(_EPOCH_ORDINAL + days)
    target = _add_months(day, months)
    if program.expiry.clamp_to_month_end:
        following = _add_months(target.replace(day=1), 1)
        return (following.toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY
    return (target.toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY + time_of_day


def _confirmed_since(since: int, at: int) -> int:
    """The last anniversary of ``since`` at or before ``at`` (``since`` if none yet).

    A member who qualifies again for the tier they hold is confirmed in it at
    the anniversary re-evaluation: under ``downgrade="anniversary"`` the tier is
    then kept until the next anniversary, not only until the first one.
    """
    start = pd.Timestamp(since, unit="ns")
    when = pd.Timestamp(at, unit="ns")
    years = when.year - start.year
    while years > 0 and start + pd.DateOffset(years=years) > when:
        years -= 1
    return since if years <= 0 else int((start + pd.DateOffset(years=years)).value)


def _new_state() -> dict[str, Any]:
    return {
        "birth_month": None,
        "referred_by": None,
        "tier": None,
        "tier_since": None,
        "qualifying_purchases": 0,
        "last_purchase_at": None,
        "points_on_day": 0,
        "points_in_month": 0,
        "birthday_bonus_year": None,
        "debt": 0,
        "lifetime_earned": 0,
    }


def _to_minor(amount: Decimal, decimals: int) -> int:
    return int(amount.scaleb(decimals))


class Ledger:
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
        Where entries live: :class:`~customer_value.loyalty.MemoryStore` or
        :class:`~customer_value.loyalty.SQLiteStore`.

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
                f"store must be a MemoryStore or SQLiteStore, got {type(store).__name__}"
            )
        self.program = program
        self.store = store

    def __repr__(self) -> str:
        return f"Ledger(program={self.program.name!r}, store={self.store!r})"

    # ------------------------------------------------------------------ helpers
    def _replay(self, txn: StoreTransaction, key: str, fingerprint: str) -> LedgerReceipt | None:
        stored = txn.idempotency_get(key)
        if stored is None:
            return None
        if stored[0] != fingerprint:
            raise IdempotencyConflictError(
                f"idempotency_key {key!r} was already used for a different request"
            )
        return LedgerReceipt._from_json(stored[1])

    def _finish(
        self, txn: StoreTransaction, key: str, fingerprint: str, receipt: LedgerReceipt
    ) -> LedgerReceipt:
        txn.idempotency_put(key, fingerprint, receipt._to_json(), int(receipt.at.value))
        return receipt

    def _expires(self, at: int) -> int | None:
        return _expiry_ns(self.program, at)

    def _credit(
        self,
        txn: StoreTransaction,
        state: dict[str, Any],
        member_id: str,
        entry_id: int,
        points: int,
        at: int,
        *,
        pending: bool,
    ) -> None:
        """Create the lot of a credit and repay the member's debt from it first."""
        if points <= 0:
            return
        available = at + self.program.pending_days * NS_PER_DAY if pending else at
        lot_id = txn.lot_add(member_id, entry_id, at, available, self._expires(at), points)
        debt = int(state.get("debt", 0))
        if debt > 0:
            repay = min(debt, points)
            txn.allocate(entry_id, lot_id, repay)
            state["debt"] = debt - repay

    @staticmethod
    def _consume(txn: StoreTransaction, entry_id: int, lots: list[LotRow], points: int) -> int:
        """Take up to ``points`` from ``lots`` in order; return what was taken."""
        left = points
        for lot in lots:
            if left == 0:
                break
            take = min(lot.remaining, left)
            if take > 0:
                txn.allocate(entry_id, lot.lot_id, take)
                left -= take
        return points - left

    def _plan_take_back(
        self,
        txn: StoreTransaction,
        state: dict[str, Any],
        member_id: str,
        source_entry: int,
        points: int,
        at: int,
    ) -> tuple[list[tuple[LotRow, int]], int, int]:
        """Plan removing ``points`` for a clawback/reversal: the source's own lots first.

        Returns ``(plan, booked, shortfall)``: ``(lot, points)`` to take, the
        points the entry books and the shortfall it records. With negative
        balances allowed the missing points become debt (booked, shortfall 0).
        """
        own = [
            lot
            for lot in txn.lots_of_entry(source_entry)
            if lot.remaining > 0 and (lot.expires_at is None or lot.expires_at > at)
        ]
        others = [
            lot
            for lot in txn.open_lots(member_id, at, spendable_only=False)
            if lot.entry_id != source_entry and lot.earned_at <= at
        ]
        plan: list[tuple[LotRow, int]] = []
        left = points
        for lot in own + others:
            if left == 0:
                break
            take = min(lot.remaining, left)
            if take > 0:
                plan.append((lot, take))
                left -= take
        if left and self.program.returns.allow_negative_balance:
            state["debt"] = int(state.get("debt", 0)) + left
            return plan, points, 0
        return plan, points - left, left

    def _check_order(self, member_id: str, last: int | None, at: int) -> None:
        """Refuse a late purchase that would corrupt the day/month cap counters.

        The counters hold the points of the member's last purchase day and
        month only; a purchase dated on an earlier day (month) than the last one
        would reset them and let the later day (month) exceed its cap.
        """
        program = self.program
        if last is None or at >= last:
            return
        earlier_day = at // NS_PER_DAY != last // NS_PER_DAY
        a, b = pd.Timestamp(at, unit="ns"), pd.Timestamp(last, unit="ns")
        earlier_month = (a.year, a.month) != (b.year, b.month)
        if (program.cap_per_day is not None and earlier_day) or (
            program.cap_per_month is not None and earlier_month
        ):
            raise InvalidDataError(
                f"purchase of member {member_id!r} at {a} is dated before the day/month of "
                f"the member's last purchase ({b}); with per-day/month caps purchases must "
                "be earned in time order"
            )

    def _tier_history(self, txn: StoreTransaction, member_id: str, at: int) -> pd.DataFrame:
        policy = self.program.tiers
        if policy is None:  # pragma: no cover - callers check
            return pd.DataFrame()
        since = pd.Timestamp(at, unit="ns") - pd.DateOffset(months=policy.window_months)
        rows = [
            e for e in txn.member_entries(member_id, int(since.value)) if e.amount_minor is not None
        ]
        return pd.DataFrame(
            {
                "timestamp": pd.to_datetime(np.array([e.at for e in rows], dtype=np.int64)),
                "points": np.array([e.points for e in rows], dtype=np.int64),
                "spend": np.array([e.amount_minor for e in rows], dtype=np.int64),
            }
        )

    def _spend_history(self, frame: pd.DataFrame) -> pd.DataFrame:
        # spend-based tiers count money in currency units; the ledger stores minor units
        if self.program.tiers is not None and self.program.tiers.basis == "spend":
            scale = Decimal(1).scaleb(-self.program.currency_decimals)
            spend = [Decimal(int(v)) * scale for v in frame["spend"].tolist()]
            frame = frame.assign(spend=pd.Series(spend, index=frame.index, dtype=object))
        return frame

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
            Bad member id or birth month.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
        >>> ledger.set_member("m1", birth_month=5)
        >>> int(ledger.store.members_frame().loc["m1", "birth_month"])
        5
        """
        member_id = _member_arg(member_id)
        if birth_month is not None and (
            isinstance(birth_month, bool)
            or not isinstance(birth_month, (int, np.integer))
            or not 1 <= birth_month <= 12
        ):
            raise InvalidDataError(f"birth_month must be 1-12, got {birth_month!r}")
        if referred_by is not None:
            referred_by = _member_arg(referred_by)
        with self.store.transaction() as txn:
            state = txn.member_get(member_id) or _new_state()
            if birth_month is not None:
                state["birth_month"] = int(birth_month)
            if referred_by is not None:
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
        key = _key_arg(idempotency_key)
        member_id = _member_arg(purchase.member_id)
        at = _ns(purchase.at, "purchase.at")
        fingerprint = _fingerprint(
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
        with self.store.transaction() as txn:
            replay = self._replay(txn, key, fingerprint)
            if replay is not None:
                return replay
            if purchase.transaction_id is not None:
                previous = txn.earn_by_transaction(purchase.transaction_id)
                if previous is not None:
                    raise InvalidDataError(
                        f"transaction_id {purchase.transaction_id!r} already earned points "
                        f"(entry {previous.entry_id})"
                    )
            state = txn.member_get(member_id) or _new_state()
            self._check_order(member_id, state["last_purchase_at"], at)
            if program.tiers is not None:
                status = evaluate_tier(
                    program,
                    self._spend_history(self._tier_history(txn, member_id, at)),
                    pd.Timestamp(at, unit="ns"),
                    current_tier=state["tier"],
                    tier_since=None
                    if state["tier_since"] is None
                    else pd.Timestamp(state["tier_since"], unit="ns"),
                )
                if status.tier != state["tier"]:
                    state["tier"] = status.tier
                    state["tier_since"] = at
                elif status.qualified_tier == state["tier"] and state["tier_since"] is not None:
                    state["tier_since"] = _confirmed_since(state["tier_since"], at)
            last = state["last_purchase_at"]
            member_state = MemberState(
                tier=state["tier"],
                birth_month=state["birth_month"],
                referred_by=state["referred_by"],
                qualifying_purchases=int(state["qualifying_purchases"]),
                last_purchase_at=None
                if last is None
                else pd.Timestamp(last, unit="ns").to_pydatetime(),
                points_on_day=int(state["points_on_day"]),
                points_in_month=int(state["points_in_month"]),
                birthday_bonus_year=state["birthday_bonus_year"],
            )
            result = points_for_event(program, purchase, member_state)
            _points_arg(
                result.points or 1, f"points earned by transaction {purchase.transaction_id!r}"
            )
            after = advance_state(program, member_state, purchase, result)
            state["qualifying_purchases"] = after.qualifying_purchases
            state["last_purchase_at"] = at
            state["points_on_day"] = after.points_on_day
            state["points_in_month"] = after.points_in_month
            state["birthday_bonus_year"] = after.birthday_bonus_year
            state["lifetime_earned"] = int(state["lifetime_earned"]) + result.points
            entry_id = txn.entry_add(
                member_id,
                "earn",
                result.points,
                at,
                amount_minor=_to_minor(result.eligible_amount, program.currency_decimals),
                transaction_id=purchase.transaction_id,
            )
            self._credit(txn, state, member_id, entry_id, result.points, at, pending=True)
            txn.member_put(member_id, state)
            entry_ids = [entry_id]
            if result.referrer_id is not None and result.referrer_points > 0:
                referrer = result.referrer_id
                ref_state = txn.member_get(referrer) or _new_state()
                ref_entry = txn.entry_add(
                    referrer,
                    "earn",
                    result.referrer_points,
                    at,
                    reference=entry_id,
                    note=f"referral bonus for {member_id}",
                )
                self._credit(
                    txn, ref_state, referrer, ref_entry, result.referrer_points, at, pending=True
                )
                ref_state["lifetime_earned"] = (
                    int(ref_state["lifetime_earned"]) + result.referrer_points
                )
                txn.member_put(referrer, ref_state)
                entry_ids.append(ref_entry)
            receipt = LedgerReceipt(
                "earn", member_id, result.points, tuple(entry_ids), pd.Timestamp(at, unit="ns")
            )
            return self._finish(txn, key, fingerprint, receipt)

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
        member_id = _member_arg(member_id)
        points = _points_arg(points, "points")
        note = _text_arg(note, "note")
        key = _key_arg(idempotency_key)
        at_ns = _ns(at, "at")
        fingerprint = _fingerprint(
            "redeem",
            {"member_id": member_id, "points": points, "at": _at_key(at, at_ns), "note": note},
        )
        with self.store.transaction() as txn:
            replay = self._replay(txn, key, fingerprint)
            if replay is not None:
                return replay
            state = txn.member_get(member_id) or _new_state()
            lots = txn.open_lots(member_id, at_ns, spendable_only=True)
            available = sum(lot.remaining for lot in lots) - int(state.get("debt", 0))
            if points > available:
                raise InsufficientPointsError(
                    f"member {member_id!r} has {max(available, 0)} points available at "
                    f"{pd.Timestamp(at_ns, unit='ns')}, cannot redeem {points}"
                )
            entry_id = txn.entry_add(member_id, "redeem", -points, at_ns, note=note)
            self._consume(txn, entry_id, lots, points)
            receipt = LedgerReceipt(
                "redeem", member_id, -points, (entry_id,), pd.Timestamp(at_ns, unit="ns")
            )
            return self._finish(txn, key, fingerprint, receipt)

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
        key = _key_arg(idempotency_key)
        at_ns = _ns(at, "at")
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
        refunded_minor = _to_minor(amount, decimals)
        fingerprint = _fingerprint(
            "refund",
            {"transaction_id": transaction_id, "amount": refunded_minor, "at": _at_key(at, at_ns)},
        )
        with self.store.transaction() as txn:
            replay = self._replay(txn, key, fingerprint)
            if replay is not None:
                return replay
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
            state = txn.member_get(member_id) or _new_state()
            plan, booked, short = self._plan_take_back(
                txn, state, member_id, earn.entry_id, claw, at_ns
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
            receipt = LedgerReceipt(
                "refund",
                member_id,
                -booked,
                (entry_id,),
                pd.Timestamp(at_ns, unit="ns"),
                shortfall=short,
            )
            return self._finish(txn, key, fingerprint, receipt)

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
        member_id = _member_arg(member_id)
        points = _points_arg(points, "points", allow_negative=True)
        reason = _text_arg(reason, "reason")
        key = _key_arg(idempotency_key)
        at_ns = _ns(at, "at")
        fingerprint = _fingerprint(
            "adjust",
            {"member_id": member_id, "points": points, "at": _at_key(at, at_ns), "reason": reason},
        )
        with self.store.transaction() as txn:
            replay = self._replay(txn, key, fingerprint)
            if replay is not None:
                return replay
            state = txn.member_get(member_id) or _new_state()
            if points > 0:
                entry_id = txn.entry_add(member_id, "adjust", points, at_ns, note=reason)
                self._credit(txn, state, member_id, entry_id, points, at_ns, pending=False)
            else:
                lots = txn.open_lots(member_id, at_ns, spendable_only=True)
                available = sum(lot.remaining for lot in lots) - int(state.get("debt", 0))
                if -points > available:
                    raise InsufficientPointsError(
                        f"member {member_id!r} has {max(available, 0)} points available at "
                        f"{pd.Timestamp(at_ns, unit='ns')}, cannot remove {-points}"
                    )
                entry_id = txn.entry_add(member_id, "adjust", points, at_ns, note=reason)
                self._consume(txn, entry_id, lots, -points)
            txn.member_put(member_id, state)
            receipt = LedgerReceipt(
                "adjust", member_id, points, (entry_id,), pd.Timestamp(at_ns, unit="ns")
            )
            return self._finish(txn, key, fingerprint, receipt)

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
        reason = _text_arg(reason, "reason")
        key = _key_arg(idempotency_key)
        at_ns = _ns(at, "at")
        fingerprint = _fingerprint(
            "reverse", {"entry_id": int(entry_id), "at": _at_key(at, at_ns), "reason": reason}
        )
        with self.store.transaction() as txn:
            replay = self._replay(txn, key, fingerprint)
            if replay is not None:
                return replay
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
            state = txn.member_get(member_id) or _new_state()
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
                plan, taken, shortfall = self._plan_take_back(
                    txn, state, member_id, entry.entry_id, entry.points, at_ns
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
            receipt = LedgerReceipt(
                "reverse",
                member_id,
                booked,
                (new_id,),
                pd.Timestamp(at_ns, unit="ns"),
                shortfall=shortfall,
            )
            return self._finish(txn, key, fingerprint, receipt)

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
        at_ns = _ns(at, "at")
        key = f"expire-due:{at_ns}" if idempotency_key is None else _key_arg(idempotency_key)
        fingerprint = _fingerprint("expire", {"at": at_ns})
        with self.store.transaction() as txn:
            replay = self._replay(txn, key, fingerprint)
            if replay is not None:
                return replay
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
            receipt = LedgerReceipt(
                "expire", None, -total, tuple(entry_ids), pd.Timestamp(at_ns, unit="ns")
            )
            return self._finish(txn, key, fingerprint, receipt)

    # ------------------------------------------------------------------ reads
    def balance(self, member_id: str, at: Any = None) -> Balance:
        """The member's available, pending and expiring points at ``at``.

        Parameters
        ----------
        member_id : str
            The member (an unknown member has a zero balance).
        at : datetime-like, optional
            The instant (default: now). Lots expired by ``at`` are not counted
            even before :meth:`expire_due` has run. For an ``at`` before some of
            the member's entries the balance is rebuilt as it was: entries
            effective after ``at`` (and their allocations and lots) are left
            out. Entries count by their effective time ``at``, so a backdated
            entry is included in any later balance.

        Returns
        -------
        Balance
            ``available``, ``pending``, ``expiring_30d``, ``lifetime_earned``.

        Raises
        ------
        InvalidDataError
            Bad member id or time.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1",
        ...                                    "expiry": {"months": 1}}), MemoryStore())
        >>> _ = ledger.adjust("m1", 70, at="2024-01-20", idempotency_key="a1")
        >>> b = ledger.balance("m1", at="2024-02-01")
        >>> b.available, b.expiring_30d
        (70, 70)
        """
        member_id = _member_arg(member_id)
        at_ns = _ns(at, "at")
        horizon = _EXPIRING_DAYS * NS_PER_DAY
        parts = self.store.balance_parts(member_id, at_ns, horizon)
        if parts.last_entry_at is not None and parts.last_entry_at > at_ns:
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

    def tier(self, member_id: str, at: Any = None) -> TierStatus:
        """The member's tier at ``at``, with its privileges.

        Parameters
        ----------
        member_id : str
            The member.
        at : datetime-like, optional
            The instant (default: now).

        Returns
        -------
        TierStatus
            From :func:`~customer_value.loyalty.evaluate_tier` on the member's
            earn, clawback and earn-reversal entries, starting from the tier
            recorded at the member's last purchase (for the downgrade policy)
            when it was reached by ``at``; before that, from the qualification
            alone.

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
        member_id = _member_arg(member_id)
        if self.program.tiers is None:
            raise InvalidDataError("the program has no tiers to evaluate")
        at_ns = _ns(at, "at")
        with self.store.transaction() as txn:
            history = self._tier_history(txn, member_id, at_ns)
            state = txn.member_get(member_id) or _new_state()
        history = history[history["timestamp"] <= pd.Timestamp(at_ns, unit="ns")]
        since = state["tier_since"]
        if since is None or since > at_ns:
            # the stored tier was reached after `at`: it says nothing about `at`
            current, since = None, None
        else:
            current = state["tier"]
        return evaluate_tier(
            self.program,
            self._spend_history(history),
            pd.Timestamp(at_ns, unit="ns"),
            current_tier=current,
            tier_since=None if since is None else pd.Timestamp(since, unit="ns"),
        )

    def history(self, member_id: str) -> pd.DataFrame:
        """The member's entries in order, with the running balance.

        Parameters
        ----------
        member_id : str
            The member.

        Returns
        -------
        DataFrame
            Indexed by ``entry_id``: ``at``, ``kind``, ``points`` (signed),
            ``balance`` (running sum of ``points``), ``amount_minor``,
            ``transaction_id``, ``reference``, ``shortfall``, ``note``.

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
        member_id = _member_arg(member_id)
        frame = self.store.entries_frame(member_id)
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
        return self.store.lots_frame(None if member_id is None else _member_arg(member_id))

    # ------------------------------------------------------------------ bulk
    def import_transactions(
        self,
        transactions: Any,
        *,
        idempotency_key: str,
        chunk_size: int = 200_000,
        progress: bool = False,
        member_id_col: str = "member_id",
        timestamp_col: str = "timestamp",
        subtotal_col: str = "subtotal",
        transaction_id_col: str | None = "transaction_id",
        amounts_in_minor_units: bool = False,
        **columns: str,
    ) -> ImportSummary:
        """Bulk-credit a table of purchases: one store transaction per chunk.

        Parameters
        ----------
        transactions : DataFrame or mapping of column name to array
            One row per purchase, the columns of
            :func:`~customer_value.loyalty.points_for_transactions`, plus an
            optional ``transaction_id_col``.
        idempotency_key : str
            Key of the import; chunk ``i`` is stored under ``"<key>#<i>"``, so a
            rerun after a crash skips the chunks already written and a rerun
            with different data raises
            :class:`~customer_value.errors.IdempotencyConflictError`.
        chunk_size : int, default 200_000
            Purchases per transaction.
        progress : bool, default False
            Show a progress line on stderr.
        member_id_col, timestamp_col, subtotal_col : str
            Column names.
        transaction_id_col : str or None, default "transaction_id"
            Column of retailer transaction ids (used if present).
        amounts_in_minor_units : bool, default False
            Integer money columns are minor units.
        **columns : str
            ``discount_col``, ``tax_col``, ``shipping_col``, ``category_col``
            passed on to ``points_for_transactions``.

        Returns
        -------
        ImportSummary
            Events, points written, chunks, chunks skipped as replays.

        Raises
        ------
        InvalidDataError
            Malformed table or options, a transaction id repeated in the table,
            or one that already earned points (the chunk holding it is not
            written).
        IdempotencyConflictError
            The key was used for a different table.

        Notes
        -----
        Points are priced once for the whole table with the vectorised engine
        (members' stored tier, birth month, referrer and purchase count as the
        starting state; the table is taken as the members' complete history
        for the days and months it covers, for the caps). Rows are written in
        time order; each lot becomes spendable after the pending period and
        expires per the program. Members' engine counters and lifetime totals
        are updated in the same transaction as their chunk.

        Examples
        --------
        >>> import pandas as pd
        >>> from customer_value.loyalty import Ledger, MemoryStore, Program
        >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1",
        ...                                    "currency_decimals": 0}), MemoryStore())
        >>> tx = pd.DataFrame({"member_id": ["a", "b", "a"],
        ...                    "timestamp": pd.to_datetime(["2024-01-02", "2024-01-03",
        ...                                                 "2024-01-04"]),
        ...                    "subtotal": [100, 250, 40]})
        >>> ledger.import_transactions(tx, idempotency_key="jan")
        ImportSummary(events=3, points=390, chunks=1, replayed_chunks=0)
        >>> ledger.balance("a", at="2024-02-01").available
        140
        """
        key = _key_arg(idempotency_key)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidDataError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
        unknown = set(columns) - {"discount_col", "tax_col", "shipping_col", "category_col"}
        if unknown:
            raise InvalidDataError(f"unknown column option(s): {', '.join(sorted(unknown))}")
        frame = as_frame(transactions, what="transactions")
        require_columns(frame, [member_id_col, timestamp_col, subtotal_col], what="transactions")
        program = self.program
        # members' starting state, frozen at the first run so that a rerun after a crash
        # prices the remaining chunks exactly as the first run did
        start_key = f"{key}#start"
        with self.store.transaction() as txn:
            snapshot = txn.idempotency_get(start_key)
        start_json: str | None = None
        if snapshot is not None:
            records = json.loads(snapshot[1])
        else:
            wanted = frame[member_id_col].astype(str).unique().tolist()
            with self.store.transaction() as txn:
                states = txn.members_get(wanted)
            records = {
                m: {c: st.get(c) for c in _START_COLUMNS} for m, st in sorted(states.items())
            }
            start_json = json.dumps(records, sort_keys=True)
        members = None
        if records:
            members = pd.DataFrame.from_dict(records, orient="index")
            members = members.astype({"qualifying_purchases": "int64"})
        priced = points_for_transactions(
            program,
            frame,
            members=members,
            member_id_col=member_id_col,
            timestamp_col=timestamp_col,
            subtotal_col=subtotal_col,
            amounts_in_minor_units=amounts_in_minor_units,
            **columns,
        )
        ts = pd.to_datetime(frame[timestamp_col])
        if isinstance(ts.dtype, pd.DatetimeTZDtype):
            ts = ts.dt.tz_localize(None)
        at_ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        order = np.argsort(at_ns, kind="stable")
        n = len(frame)
        member_ids = frame[member_id_col].astype(str).to_numpy(dtype=object)[order]
        at_sorted = at_ns[order]
        points = priced["points"].to_numpy(dtype=np.int64)[order]
        earn_points = priced["earn_points"].to_numpy(dtype=np.int64)[order]
        eligible = priced["eligible_minor"].to_numpy(dtype=np.int64)[order]
        qualifies = priced["qualifies"].to_numpy(dtype=bool)[order]
        birthday = priced["birthday_bonus"].to_numpy(dtype=np.int64)[order]
        ref_points = priced["referrer_points"].to_numpy(dtype=np.int64)[order]
        ref_ids = priced["referrer_id"].to_numpy(dtype=object)[order]
        if transaction_id_col is not None and transaction_id_col in frame.columns:
            raw_ids = frame[transaction_id_col]
            missing = raw_ids.isna().to_numpy()
            as_text = raw_ids.astype(str).to_numpy(dtype=object)
            as_text[missing] = None
            dup = first_bad(pd.Series(as_text, dtype=object).duplicated().to_numpy() & ~missing)
            if dup is not None:
                raise InvalidDataError(
                    f"transactions: column {transaction_id_col!r} must be unique; "
                    f"{describe_row(frame.index, dup)} repeats {transaction_id_col}="
                    f"{as_text[dup]!r}"
                )
            tx_ids = as_text[order]
        else:
            tx_ids = np.full(n, None, dtype=object)
        expires = expiry_dates(program, pd.Series(at_sorted.view("datetime64[ns]")))
        expires_ns = expires.to_numpy(dtype="datetime64[ns]")
        never = np.isnat(expires_ns)
        expires_int = expires_ns.astype(np.int64)
        available_ns = at_sorted + program.pending_days * NS_PER_DAY

        chunks = range(0, n, chunk_size)
        written = replayed = 0
        total_points = 0
        with Progress("import_transactions", total=n, enabled=progress) as bar:
            for number, start in enumerate(chunks):
                stop = min(start + chunk_size, n)
                sl = slice(start, stop)
                digest = hashlib.sha256()
                # the priced points too: a different category, discount or rule under the
                # same key is a different request
                for arr in (at_sorted[sl], eligible[sl], points[sl], ref_points[sl]):
                    digest.update(np.ascontiguousarray(arr).tobytes())
                digest.update("\x1f".join(member_ids[sl].tolist()).encode())
                digest.update("\x1f".join(map(str, tx_ids[sl].tolist())).encode())
                fingerprint = digest.hexdigest()
                chunk_key = f"{key}#{number}"
                with self.store.transaction() as txn:
                    stored_chunk = txn.idempotency_get(chunk_key)
                    if stored_chunk is not None:
                        if stored_chunk[0] != fingerprint:
                            raise IdempotencyConflictError(
                                f"idempotency_key {key!r} was already used for a different "
                                f"import (chunk {number} differs)"
                            )
                        replayed += 1
                        total_points += int(json.loads(stored_chunk[1])["points"])
                        bar.update(stop - start)
                        continue
                    chunk_ids = [t for t in tx_ids[sl].tolist() if t is not None]
                    earned = txn.earned_transactions(chunk_ids) if chunk_ids else []
                    if earned:
                        raise InvalidDataError(
                            f"transactions: transaction_id {earned[0]!r} already earned points "
                            f"({len(earned)} of chunk {number} did); nothing of the chunk "
                            "was written"
                        )
                    chunk_points = self._write_chunk(
                        txn,
                        member_ids[sl],
                        at_sorted[sl],
                        points[sl],
                        earn_points[sl],
                        eligible[sl],
                        qualifies[sl],
                        birthday[sl],
                        ref_ids[sl],
                        ref_points[sl],
                        tx_ids[sl],
                        available_ns[sl],
                        np.where(never[sl], -1, expires_int[sl]),
                    )
                    if number == 0 and start_json is not None:
                        txn.idempotency_put(start_key, "start", start_json, int(at_sorted[0]))
                    txn.idempotency_put(
                        chunk_key,
                        fingerprint,
                        json.dumps({"rows": stop - start, "points": chunk_points}),
                        int(at_sorted[stop - 1]),
                    )
                written += 1
                total_points += chunk_points
                bar.update(stop - start)
        _LOG.info("import_transactions(%s): %d events, %d chunks", key, n, written + replayed)
        return ImportSummary(
            events=n, points=total_points, chunks=written + replayed, replayed_chunks=replayed
        )

    def _write_chunk(
        self,
        txn: StoreTransaction,
        member_ids: np.ndarray[Any, Any],
        at: np.ndarray[Any, Any],
        points: np.ndarray[Any, Any],
        earn_points: np.ndarray[Any, Any],
        eligible: np.ndarray[Any, Any],
        qualifies: np.ndarray[Any, Any],
        birthday: np.ndarray[Any, Any],
        ref_ids: np.ndarray[Any, Any],
        ref_points: np.ndarray[Any, Any],
        tx_ids: np.ndarray[Any, Any],
        available: np.ndarray[Any, Any],
        expires: np.ndarray[Any, Any],
    ) -> int:
        uniq, inverse = np.unique(member_ids.astype(str), return_inverse=True)
        # write each member's rows together (still in time order within the member): the
        # member-keyed indexes are then filled page by page instead of at random
        order = np.argsort(inverse, kind="stable")
        inverse = inverse[order]
        member_ids, at, points, earn_points = (
            member_ids[order],
            at[order],
            points[order],
            earn_points[order],
        )
        eligible, qualifies, birthday = eligible[order], qualifies[order], birthday[order]
        ref_ids, ref_points, tx_ids = ref_ids[order], ref_points[order], tx_ids[order]
        available, expires = available[order], expires[order]
        referrers = [str(r) for r, p in zip(ref_ids, ref_points, strict=True) if p > 0]
        states = txn.members_get([*uniq.tolist(), *referrers])
        remaining = points.copy()
        # debts (rare): repaid from the member's earliest lots of the chunk
        for pos, member in enumerate(uniq.tolist()):
            debt = int(states.get(member, {}).get("debt", 0))
            if debt <= 0:
                continue
            for row in np.flatnonzero(inverse == pos):
                repay = min(debt, int(remaining[row]))
                remaining[row] -= repay
                debt -= repay
                if debt == 0:
                    break
            states[member]["debt"] = debt
        expires_obj = [None if e < 0 else int(e) for e in expires.tolist()]
        amounts = eligible.tolist()
        entries = list(
            zip(
                member_ids.tolist(),
                points.tolist(),
                at.tolist(),
                amounts,
                tx_ids.tolist(),
                strict=True,
            )
        )
        lots = list(
            zip(available.tolist(), expires_obj, points.tolist(), remaining.tolist(), strict=True)
        )
        txn.bulk_earn(entries, lots)
        # referral bonuses (few): ordinary earn entries for the referrers
        for row in np.flatnonzero(ref_points > 0):
            referrer = str(ref_ids[row])
            state = states.setdefault(referrer, _new_state())
            bonus = int(ref_points[row])
            entry_id = txn.entry_add(
                referrer, "earn", bonus, int(at[row]), note=f"referral bonus for {member_ids[row]}"
            )
            self._credit(txn, state, referrer, entry_id, bonus, int(at[row]), pending=True)
            state["lifetime_earned"] = int(state["lifetime_earned"]) + bonus
        # members' engine counters after the chunk (vectorised per member)
        day = at // NS_PER_DAY
        month = at.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        counts = np.bincount(inverse, weights=qualifies, minlength=len(uniq)).astype(np.int64)
        earned = np.bincount(inverse, weights=points, minlength=len(uniq)).astype(np.int64)
        last_pos = np.zeros(len(uniq), dtype=np.int64)
        last_pos[inverse] = np.arange(len(at))  # time-ordered per member: last write wins
        last_day = day[last_pos][inverse] == day
        last_month = month[last_pos][inverse] == month
        day_pts = np.bincount(inverse, weights=earn_points * last_day, minlength=len(uniq))
        month_pts = np.bincount(inverse, weights=earn_points * last_month, minlength=len(uniq))
        bday_year = pd.DatetimeIndex(at.view("datetime64[ns]")).year.to_numpy()
        bday_last = np.full(len(uniq), -1, dtype=np.int64)
        has_bday = birthday > 0
        np.maximum.at(bday_last, inverse[has_bday], bday_year[has_bday])
        members = uniq.tolist()
        for member in members:
            states.setdefault(member, _new_state())
        previous = np.array(
            [
                -1 if states[m]["last_purchase_at"] is None else states[m]["last_purchase_at"]
                for m in members
            ],
            dtype=np.int64,
        )
        known = previous >= 0
        prev_day = np.where(known, previous // NS_PER_DAY, -1)
        prev_month = previous.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        same_day = (known & (prev_day == day[last_pos])).tolist()
        same_month = (known & (prev_month == month[last_pos])).tolist()
        rows = zip(
            members,
            at[last_pos].tolist(),
            counts.tolist(),
            day_pts.astype(np.int64).tolist(),
            month_pts.astype(np.int64).tolist(),
            bday_last.tolist(),
            earned.tolist(),
            same_day,
            same_month,
            strict=True,
        )
        for member, last_at, n_qual, on_day, in_month, bday, gained, s_day, s_month in rows:
            state = states[member]
            state["qualifying_purchases"] = int(state["qualifying_purchases"]) + n_qual
            state["last_purchase_at"] = last_at
            state["points_on_day"] = on_day + (int(state["points_on_day"]) if s_day else 0)
            state["points_in_month"] = in_month + (int(state["points_in_month"]) if s_month else 0)
            if bday >= 0:
                state["birthday_bonus_year"] = bday
            state["lifetime_earned"] = int(state["lifetime_earned"]) + gained
        txn.members_put(states)
        return int(points.sum()) + int(ref_points.sum())
