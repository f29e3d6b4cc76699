"""The attributes every part of the :class:`~customer_value.loyalty.Ledger` relies on."""

from __future__ import annotations

from customer_value.loyalty._program import Program
from customer_value.loyalty.stores import Store

__all__ = ["LedgerCore"]


class LedgerCore:
    """Base of the ledger's parts: the programme and the store (set by ``Ledger``)."""

    program: Program
    store: Store
