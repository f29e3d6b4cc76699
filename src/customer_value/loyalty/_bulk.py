"""The ledger's bulk import: a table priced once by the vectorised engine, written in chunks.

Each chunk is one store transaction, stored under ``"<key>#<i>"`` so that a rerun
after a crash skips what was written; members' starting state is frozen at the
first run so the rerun prices the rest exactly as the first run did.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from customer_value._progress import Progress, get_logger
from customer_value._validation import as_frame, describe_row, first_bad, require_columns
from customer_value.errors import InvalidDataError
from customer_value.loyalty._core import LedgerCore
from customer_value.loyalty._idempotency import key_arg, stored_chunk
from customer_value.loyalty._lots import credit
from customer_value.loyalty._members import START_COLUMNS, counters, new_state
from customer_value.loyalty._receipts import ImportSummary
from customer_value.loyalty._rules import (
    NS_PER_DAY,
    PurchaseRun,
    advance_counters,
    available_ns,
    expiry_ns,
)
from customer_value.loyalty._table import price_transactions
from customer_value.loyalty.stores import StoreTransaction
from customer_value.loyalty.stores._batch import EarnBatch

__all__: list[str] = []

Ints = npt.NDArray[np.int64]

_LOG = get_logger("loyalty.ledger")


class _BulkImport(LedgerCore):
    """:meth:`import_transactions` of the ledger."""

    def import_transactions(
        self,
        transactions: Any,
        *,
        idempotency_key: str,
        chunk_size: int = 500_000,
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
        chunk_size : int, default 500_000
            Purchases per transaction. Larger chunks write each member's index
            entries, state and running totals fewer times (a chunk holds most
            members: 1,000,000 purchases take about 20% less time in chunks of
            500,000 than of 200,000), at the cost of memory (about 150 MB more
            at 500,000; on PostgreSQL also up to about 250 MB of the server's
            work memory for the chunk's statement) and of a longer transaction:
            other writers to the chunk's members wait for it. The next chunk is
            prepared in a worker thread while the store writes one.
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
        key = key_arg(idempotency_key)
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
            records = {m: {c: st.get(c) for c in START_COLUMNS} for m, st in sorted(states.items())}
            start_json = json.dumps(records, sort_keys=True)
        members = None
        if records:
            members = pd.DataFrame.from_dict(records, orient="index")
            members = members.astype({"qualifying_purchases": "int64"})
        names = {
            "member_id_col": member_id_col,
            "timestamp_col": timestamp_col,
            "subtotal_col": subtotal_col,
            **columns,
        }
        priced, at_ns = price_transactions(program, frame, members, names, amounts_in_minor_units)
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
        expires_at = expiry_ns(program, at_sorted)
        spendable_at = available_ns(program, at_sorted)

        columns_sorted = _Sorted(
            member_ids,
            at_sorted,
            points,
            earn_points,
            eligible,
            qualifies,
            birthday,
            ref_ids,
            ref_points,
            tx_ids,
            spendable_at,
            expires_at,
        )
        chunks = [slice(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]
        written = replayed = 0
        total_points = 0
        # a worker thread plans the next chunk (groups it by member, builds its batch) and
        # advances the members' counters while the store writes this one: the store's waits
        # on its server release the GIL
        with (
            Progress("import_transactions", total=n, enabled=progress) as bar,
            ThreadPoolExecutor(max_workers=1) as worker,
        ):
            ahead: Future[tuple[str, _Plan]] | None = None
            for number, sl in enumerate(chunks):
                rows = sl.stop - sl.start
                planned = ahead.result() if ahead is not None else None
                ahead = None
                fingerprint = _fingerprint(columns_sorted, sl) if planned is None else planned[0]
                chunk_key = f"{key}#{number}"
                with self.store.transaction() as txn:
                    stored = stored_chunk(txn, key, chunk_key, fingerprint, number)
                    if stored is not None:
                        replayed += 1
                        total_points += int(stored["points"])
                        bar.update(rows)
                        continue
                    plan = _plan(columns_sorted, sl) if planned is None else planned[1]
                    chunk_ids = [t for t in tx_ids[sl].tolist() if t is not None]
                    earned = txn.earned_transactions(chunk_ids) if chunk_ids else []
                    if earned:
                        raise InvalidDataError(
                            f"transactions: transaction_id {earned[0]!r} already earned points "
                            f"({len(earned)} of chunk {number} did); nothing of the chunk "
                            "was written"
                        )
                    last = number + 1 == len(chunks)
                    chunk_points, ahead = self._write_chunk(
                        txn,
                        plan,
                        n if last else 0,
                        worker,
                        None if last else partial(_ahead, columns_sorted, chunks[number + 1]),
                    )
                    if number == 0 and start_json is not None:
                        txn.idempotency_put(start_key, "start", start_json, int(at_sorted[0]))
                    txn.idempotency_put(
                        chunk_key,
                        fingerprint,
                        json.dumps({"rows": rows, "points": chunk_points}),
                        int(at_sorted[sl.stop - 1]),
                    )
                written += 1
                total_points += chunk_points
                bar.update(rows)
        _LOG.info("import_transactions(%s): %d events, %d chunks", key, n, written + replayed)
        return ImportSummary(
            events=n, points=total_points, chunks=written + replayed, replayed_chunks=replayed
        )

    def _write_chunk(
        self,
        txn: StoreTransaction,
        plan: _Plan,
        import_rows: int,
        worker: ThreadPoolExecutor,
        plan_next: Callable[[], tuple[str, _Plan]] | None,
    ) -> tuple[int, Future[tuple[str, _Plan]] | None]:
        """Write a planned chunk in ``txn``: its points, and the next chunk's plan (the
        ``worker`` runs ``plan_next`` after the members' counters of this chunk).

        ``import_rows``: see ``EarnBatch``.
        """
        states = txn.members_get([*plan.members, *plan.referrers])
        batch = plan.batch
        # debts (rare): repaid from the member's earliest lots of the chunk
        debtors = [m for m in plan.members if int(states.get(m, {}).get("debt", 0)) > 0]
        if debtors:
            remaining = batch.remaining.copy()
            for member in debtors:
                debt = int(states[member]["debt"])
                pos = int(np.searchsorted(plan.members_array, member))
                for first in np.flatnonzero(batch.member == pos).tolist():
                    repay = min(debt, int(remaining[first]))
                    remaining[first] -= repay
                    debt -= repay
                    if debt == 0:
                        break
                states[member]["debt"] = debt
            batch = replace(batch, remaining=remaining)
        # the members' counters after the chunk, while the store writes it (the store does
        # not read ``states``; the referral bonuses below wait for them)
        advanced = worker.submit(_advance, states, plan)
        ahead = None if plan_next is None else worker.submit(plan_next)
        txn.bulk_earn(replace(batch, import_rows=import_rows) if import_rows else batch)
        advanced.result()
        # referral bonuses (few): ordinary earn entries for the referrers
        for row in plan.referred:
            referrer = str(plan.ref_ids[row])
            state = states.setdefault(referrer, new_state())
            bonus = int(plan.ref_points[row])
            credit(
                self.program,
                txn,
                state,
                referrer,
                "earn",
                bonus,
                int(batch.at[row]),
                pending=True,
                note=f"referral bonus for {plan.members[int(batch.member[row])]}",
            )
            state["lifetime_earned"] = int(state["lifetime_earned"]) + bonus
        txn.members_put(states)
        return plan.points, ahead


def _advance(states: dict[str, dict[str, Any]], plan: _Plan) -> None:
    """Advance the members' engine counters and lifetime totals in ``states`` by the chunk."""
    for member, run, gained in zip(plan.members, plan.runs, plan.gained, strict=True):
        state = states.setdefault(member, new_state())
        after = advance_counters(counters(state), run)
        state["qualifying_purchases"] = after.qualifying_purchases
        state["last_purchase_at"] = after.last_purchase_at
        state["points_on_day"] = after.points_on_day
        state["points_in_month"] = after.points_in_month
        state["birthday_bonus_year"] = after.birthday_bonus_year
        state["lifetime_earned"] = int(state["lifetime_earned"]) + gained


class _Sorted(NamedTuple):
    """The priced table's columns in time order (the import's rows)."""

    member_ids: npt.NDArray[Any]
    at: Ints
    points: Ints
    earn_points: Ints
    eligible: Ints
    qualifies: npt.NDArray[np.bool_]
    birthday: Ints
    ref_ids: npt.NDArray[Any]
    ref_points: Ints
    tx_ids: npt.NDArray[Any]
    available: Ints
    expires: Ints | None


class _Plan(NamedTuple):
    """A chunk grouped by member, and what follows from its rows alone (no store read)."""

    members: list[str]
    members_array: npt.NDArray[Any]
    batch: EarnBatch
    runs: list[PurchaseRun]
    gained: list[int]
    referrers: list[str]
    referred: list[int]
    ref_ids: npt.NDArray[Any]
    ref_points: Ints
    points: int


def _fingerprint(cols: _Sorted, sl: slice) -> str:
    """The request fingerprint of a chunk: the priced points too (a different category,
    discount or rule under the same key is a different request)."""
    digest = hashlib.sha256()
    for arr in (cols.at[sl], cols.eligible[sl], cols.points[sl], cols.ref_points[sl]):
        digest.update(np.ascontiguousarray(arr).tobytes())
    digest.update("\x1f".join(cols.member_ids[sl].tolist()).encode())
    digest.update("\x1f".join(map(str, cols.tx_ids[sl].tolist())).encode())
    return digest.hexdigest()


def _ahead(cols: _Sorted, sl: slice) -> tuple[str, _Plan]:
    """A chunk's fingerprint and plan, prepared while the previous chunk is written."""
    return _fingerprint(cols, sl), _plan(cols, sl)


def _plan(cols: _Sorted, sl: slice) -> _Plan:
    """Group a chunk by member (time order within a member: the member-keyed indexes are
    then filled page by page instead of at random) and sum each member's run."""
    uniq, inverse = np.unique(cols.member_ids[sl].astype(str), return_inverse=True)
    order = np.argsort(inverse, kind="stable") + sl.start
    inverse = np.sort(inverse, kind="stable")
    at, points, earn_points = cols.at[order], cols.points[order], cols.earn_points[order]
    qualifies, birthday = cols.qualifies[order], cols.birthday[order]
    ref_ids, ref_points = cols.ref_ids[order], cols.ref_points[order]
    referred = np.flatnonzero(ref_points > 0)
    batch = EarnBatch(
        members=uniq.tolist(),
        member=inverse,
        points=points,
        at=at,
        amount_minor=cols.eligible[order],
        transaction_id=cols.tx_ids[order].tolist(),
        available_at=cols.available[order],
        expires_at=None if cols.expires is None else cols.expires[order],
        remaining=points.copy(),
    )
    # members' engine counters after the chunk (vectorised per member)
    size = len(uniq)
    day = at // NS_PER_DAY
    month = at.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    counts = np.bincount(inverse, weights=qualifies, minlength=size).astype(np.int64)
    earned = np.bincount(inverse, weights=points, minlength=size).astype(np.int64)
    last_pos = np.zeros(size, dtype=np.int64)
    last_pos[inverse] = np.arange(len(at))  # time-ordered per member: last write wins
    last_day = day[last_pos][inverse] == day
    last_month = month[last_pos][inverse] == month
    day_pts = np.bincount(inverse, weights=earn_points * last_day, minlength=size)
    month_pts = np.bincount(inverse, weights=earn_points * last_month, minlength=size)
    bday_year = pd.DatetimeIndex(at.view("datetime64[ns]")).year.to_numpy()
    bday_last = np.full(size, -1, dtype=np.int64)
    has_bday = birthday > 0
    np.maximum.at(bday_last, inverse[has_bday], bday_year[has_bday])
    runs = [
        PurchaseRun(n_qual, last_at, on_day, in_month, None if bday < 0 else bday)
        for last_at, n_qual, on_day, in_month, bday in zip(
            at[last_pos].tolist(),
            counts.tolist(),
            day_pts.astype(np.int64).tolist(),
            month_pts.astype(np.int64).tolist(),
            bday_last.tolist(),
            strict=True,
        )
    ]
    return _Plan(
        members=batch.members,
        members_array=uniq,
        batch=batch,
        runs=runs,
        gained=earned.tolist(),
        referrers=[str(r) for r in ref_ids[referred].tolist()],
        referred=referred.tolist(),
        ref_ids=ref_ids,
        ref_points=ref_points,
        points=int(points.sum()) + int(ref_points.sum()),
    )
