"""PostgresStore's SQL vocabulary: time conversion, advisory-lock keys, errors, the schema name."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import pandas as pd

from customer_value.errors import InvalidDataError, StoreError
from customer_value.loyalty.stores._contract import ENTRY_COLUMNS, LOT_COLUMNS

__all__ = [
    "ANALYZE_ROWS",
    "ENTRY_SELECT",
    "LOCK_BUCKETS",
    "LOT_SELECT",
    "NS_BUCKET",
    "NS_KEY",
    "NS_MEMBER",
    "NS_MIGRATE",
    "NS_TX",
    "Sql",
    "at_bound",
    "bucket",
    "hash32",
    "ns_sql",
    "pyformat",
    "select",
    "table",
    "to_ts",
    "translate",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)

# advisory-lock namespaces (first int4 of pg_advisory_xact_lock(int4, int4))
NS_BUCKET = 0x4C590001
NS_MEMBER = 0x4C590002
NS_KEY = 0x4C590003
NS_TX = 0x4C590004
NS_MIGRATE = 0x4C590005
#: a bulk write of at least this many rows refreshes the planner statistics
ANALYZE_ROWS = 10_000
#: member buckets a bulk write locks exclusively (single-member writes share them)
LOCK_BUCKETS = 256

_TIME_COLUMNS = {"at", "earned_at", "available_at", "expires_at", "recorded_at"}


def ns_sql(column: str) -> str:
    # extract(epoch) is numeric (exact) from PostgreSQL 14 on
    return f"(extract(epoch from {column}) * 1000000000)::bigint"


def select(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(ns_sql(prefix + c) if c in _TIME_COLUMNS else prefix + c for c in columns)


ENTRY_SELECT = select(ENTRY_COLUMNS)
LOT_SELECT = select(LOT_COLUMNS)


def to_ts(ns: int | None) -> dt.datetime | None:
    """An int-nanosecond instant as a UTC ``datetime`` (timestamptz keeps microseconds)."""
    if ns is None:
        return None
    micros, rest = divmod(int(ns), 1000)
    if rest:
        raise InvalidDataError(
            f"PostgresStore keeps instants to the microsecond (timestamptz); "
            f"{pd.Timestamp(int(ns), unit='ns')} has {rest} ns below that"
        )
    return _EPOCH + micros * _MICROSECOND


def at_bound(ns: int) -> dt.datetime:
    """A comparison bound: ``column op ns`` equals ``column op floor-to-microsecond(ns)``.

    Stored instants are whole microseconds, so for ``>``, ``<=`` and friends the
    floor of the bound gives the same answer as the exact nanosecond value.
    """
    return _EPOCH + (int(ns) // 1000) * _MICROSECOND


def hash32(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}\x1f{value}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def bucket(member_id: str) -> int:
    return hash32("member", member_id) % LOCK_BUCKETS


def table(name: str) -> str:
    return "{s}." + name


def pyformat(name: str) -> str:
    return f"%({name})s"


def translate(exc: Exception) -> StoreError:
    """A typed error for a psycopg failure (the transaction was rolled back)."""
    import psycopg
    import psycopg.errors as pe

    sqlstate = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, (pe.SerializationFailure, pe.DeadlockDetected)):
        return StoreError(
            f"PostgresStore: a concurrent writer conflicted ({type(exc).__name__}); nothing "
            "was written, retry with the same idempotency key",
            retryable=True,
        )
    if isinstance(exc, pe.UniqueViolation):
        return StoreError(
            "PostgresStore: a concurrent writer recorded the same request first "
            f"({exc.diag.constraint_name}); nothing was written, retry with the same "
            "idempotency key to get its result",
            retryable=True,
        )
    if isinstance(exc, pe.IntegrityError):
        return StoreError(f"PostgresStore: constraint violated, nothing was written: {exc}")
    if isinstance(exc, pe.ReadOnlySqlTransaction):
        return StoreError(f"PostgresStore: the database is read-only: {exc}")
    if isinstance(exc, psycopg.OperationalError) or sqlstate.startswith("08"):
        return StoreError(
            f"PostgresStore: the database connection failed ({exc}); the operation may be "
            "retried with the same idempotency key (it is either complete or absent)",
            retryable=True,
        )
    return StoreError(f"PostgresStore: {type(exc).__name__}: {exc}")


class Sql:
    """Puts the quoted schema name into ``{s}`` (cached per query text)."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._quoted = '"' + schema.replace('"', '""') + '"'
        self._cache: dict[str, str] = {}

    def __call__(self, query: str) -> Any:
        out = self._cache.get(query)
        if out is None:
            out = query.replace("{s}", self._quoted)
            self._cache[query] = out
        return out
