"""What the ledger returns: a balance, the receipt of a write, the summary of an import."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["Balance", "ImportSummary", "LedgerReceipt", "sorted_json"]


def sorted_json(default: Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
    """``json.dumps(obj, sort_keys=True, default=default)`` as a function of ``obj``.

    The same text, with the encoder built once instead of on every call (the
    ledger's texts are small and many: requests, receipts).

    Examples
    --------
    >>> from customer_value.loyalty._receipts import sorted_json
    >>> sorted_json(str)({"b": 1, "a": [None, "x"], "c": {1}})
    '{"a": [null, "x"], "b": 1, "c": "{1}"}'
    """
    encoder = json.JSONEncoder(sort_keys=True, default=default)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has the C encoder
        return encoder.encode
    # the arguments JSONEncoder.iterencode passes for these settings (one-shot, no
    # indent), without its check for circular references (a per-call dict: the texts
    # here are flat records built by the ledger)
    chunks = make(
        None,
        encoder.default,
        json.encoder.encode_basestring_ascii,
        None,
        encoder.key_separator,
        encoder.item_separator,
        True,
        False,
        True,
    )

    def encode(obj: Any) -> str:
        if isinstance(obj, str):  # JSONEncoder.encode's own case (not iterencode's)
            return encoder.encode(obj)
        return "".join(chunks(obj, 0))

    return encode


_JSON = sorted_json()


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
        return _JSON(
            {
                "operation": self.operation,
                "member_id": self.member_id,
                "points": self.points,
                "entry_ids": list(self.entry_ids),
                "at": int(self.at.value),
                "shortfall": self.shortfall,
            }
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
