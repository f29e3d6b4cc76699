"""Ledger stores: one contract, one module per backend.

:class:`Store` and :class:`StoreTransaction` are the contract a
:class:`~customer_value.loyalty.Ledger` relies on; :class:`MemoryStore`
(process memory), :class:`SQLiteStore` (one file, one host) and
:class:`PostgresStore` (many processes on many hosts) implement it. The lot
rules (spendable, pending, expiring, due, consumption order) are stated once
in ``_rules`` and derived for each backend. Every name here is also exported
from :mod:`customer_value.loyalty`.
"""

from customer_value.loyalty.stores._contract import (
    ENTRY_KINDS,
    BalanceParts,
    EntryRow,
    LotRow,
    Store,
    StoreTransaction,
)
from customer_value.loyalty.stores._memory import MemoryStore
from customer_value.loyalty.stores._postgres import PostgresStore
from customer_value.loyalty.stores._sqlite import SQLiteStore

__all__ = [
    "ENTRY_KINDS",
    "BalanceParts",
    "EntryRow",
    "LotRow",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StoreTransaction",
]
