"""Idempotency of ledger writes: key checks, request fingerprints, replays.

Every write stores its receipt under its idempotency key together with a
fingerprint of the request, in the same store transaction as the entries: the
same key with the same request returns the first receipt and writes nothing;
the same key with a different request raises
:class:`~customer_value.errors.IdempotencyConflictError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from customer_value.errors import (
    CustomerValueError,
    IdempotencyConflictError,
    InvalidDataError,
)
from customer_value.loyalty._receipts import LedgerReceipt, sorted_json
from customer_value.loyalty.stores import Store, StoreTransaction
from customer_value.loyalty.stores._single import SingleWriteUnsupportedError

__all__ = [
    "at_key",
    "finish",
    "idempotent",
    "key_arg",
    "replay",
    "request_fingerprint",
    "stored_chunk",
]


def key_arg(key: Any) -> str:
    """A valid idempotency key (a non-empty string)."""
    if not isinstance(key, str) or not key or "\x00" in key:
        raise InvalidDataError(
            f"idempotency_key must be a non-empty string without NUL characters, got {key!r}"
        )
    return key


def at_key(at: Any, at_ns: int) -> int | None:
    """The time as part of a request's fingerprint: ``None`` when the caller said "now".

    A retry of ``redeem(..., at=None)`` after a timeout is the same request even
    though "now" has moved on; it must replay, not conflict.
    """
    return None if at is None else at_ns


#: ``json.dumps(..., sort_keys=True, default=str)``, built once (the same text: the
#: fingerprints of stored requests must not change)
_CANONICAL = sorted_json(str)


def request_fingerprint(operation: str, request: dict[str, Any]) -> str:
    """SHA-256 of the operation and its canonical request."""
    text = _CANONICAL({"op": operation, **request})
    return hashlib.sha256(text.encode()).hexdigest()


def replay(txn: StoreTransaction, key: str, request: str) -> LedgerReceipt | None:
    """The stored receipt of ``key`` (``None`` if new); a different request conflicts."""
    stored = txn.idempotency_get(key)
    if stored is None:
        return None
    if stored[0] != request:
        raise IdempotencyConflictError(
            f"idempotency_key {key!r} was already used for a different request"
        )
    return LedgerReceipt._from_json(stored[1])


def finish(txn: StoreTransaction, key: str, request: str, receipt: LedgerReceipt) -> LedgerReceipt:
    """Store ``receipt`` under ``key`` (same transaction as the write) and return it."""
    txn.idempotency_put(key, request, receipt._to_json(), int(receipt.at.value))
    return receipt


def idempotent(
    store: Store,
    key: str,
    request: str,
    write: Callable[[StoreTransaction], LedgerReceipt],
    members: Sequence[str] = (),
    transaction_id: str | None = None,
    new: tuple[int, int] = (0, 0),
    *,
    single: bool = False,
) -> LedgerReceipt:
    """One idempotent ledger write: ``write(txn)`` runs unless ``key`` already holds a result.

    In one store transaction: the stored receipt of ``key`` is returned (a different
    request under the same key raises); otherwise ``write`` makes its entries and its
    receipt is stored under ``key`` before the transaction commits. ``members`` and
    ``transaction_id`` are what ``write`` reads first, ``new`` the entries and lots it
    likely adds (``StoreTransaction.prefetch``). With ``single`` (an operation on one
    member whose writes a ``SingleWrite`` may cover: an earn, redemption or adjustment)
    the store is first offered the whole operation as one call (:func:`_single_write`).
    """
    if single and len(members) == 1:
        done = _single_write(store, key, request, write, members[0])
        if done is not None:
            return done
    with store.transaction() as txn:
        txn.prefetch(key, members, transaction_id, entries=new[0], lots=new[1])
        done = replay(txn, key, request)
        if done is not None:
            return done
        return finish(txn, key, request, write(txn))


def _single_write(
    store: Store,
    key: str,
    request: str,
    write: Callable[[StoreTransaction], LedgerReceipt],
    member_id: str,
) -> LedgerReceipt | None:
    """``write`` run against the store's ``SingleWrite`` and sent in one call; None when
    the store offers none, the operation does more than it covers, refuses (decided
    again with fresh reads by the usual path) or a presumption did not hold."""
    attempt = store.single_write(member_id)
    if attempt is None:
        return None
    try:
        receipt = write(attempt)
    except (CustomerValueError, SingleWriteUnsupportedError):
        return None
    ids = attempt.commit(key, request, receipt._to_json(), int(receipt.at.value), receipt.entry_ids)
    if ids is None:
        return None
    return LedgerReceipt(
        receipt.operation, receipt.member_id, receipt.points, ids, receipt.at, receipt.shortfall
    )


def stored_chunk(txn: StoreTransaction, key: str, chunk: str, request: str, number: int) -> Any:
    """The stored result of an import chunk (``None`` if new); different data conflicts."""
    stored = txn.idempotency_get(chunk)
    if stored is None:
        return None
    if stored[0] != request:
        raise IdempotencyConflictError(
            f"idempotency_key {key!r} was already used for a different "
            f"import (chunk {number} differs)"
        )
    return json.loads(stored[1])
