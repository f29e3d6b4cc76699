"""PostgresStore's SQL vocabulary: time conversion, advisory-lock keys, errors, the schema name."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from customer_value.errors import InvalidDataError, StoreError
from customer_value.loyalty.stores._contract import ENTRY_COLUMNS, LOT_COLUMNS
from customer_value.loyalty.stores._rules import (
    HAS_POINTS,
    HELD,
    SPENDABLE,
    Expr,
    open_sums_sql,
    pass_sql,
)

__all__ = [
    "ALLOCATE_SQL",
    "ANALYZE_ROWS",
    "CREDIT_CTES",
    "CREDIT_INSERT_SQL",
    "CREDIT_TOTALS",
    "DAY_SQL",
    "DEBIT_SQL",
    "EARN_BY_TX_SQL",
    "ENTRY_INSERT_SQL",
    "ENTRY_SELECT",
    "IDEMPOTENCY_PUT_SQL",
    "LOCK_BUCKETS",
    "LOT_SELECT",
    "MEMBER_PUT_SQL",
    "NS_BUCKET",
    "NS_KEY",
    "NS_MEMBER",
    "NS_MIGRATE",
    "NS_TX",
    "PREFETCH_SQL",
    "STORED",
    "SUMS_NOW_SQL",
    "SUMS_SQL",
    "TAKEN_DAY",
    "Sql",
    "at_bound",
    "bucket",
    "hash32",
    "lots_sql",
    "member_locks",
    "ns_sql",
    "plpgsql",
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

#: ``_rules.expiry_day`` of a timestamptz column ``{}`` (which holds program-local time
#: as if it were UTC): its date, counted in days from the epoch
DAY_SQL = "((({0}) AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"

_TIME_COLUMNS = {"at", "earned_at", "available_at", "expires_at", "recorded_at"}

#: parts of the lot rules kept as generated columns of ``lots`` (schema version 6), rendered
#: as those columns in every statement: the partial indexes of open lots are on them
STORED: dict[Expr, str] = {HAS_POINTS: "has_points"}


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


def member_locks(member_id: str) -> tuple[int, int]:
    """The member's advisory-lock key (namespace ``NS_MEMBER``) and its bucket."""
    key = hash32("member", member_id)
    return key, key % LOCK_BUCKETS


def bucket(member_id: str) -> int:
    return member_locks(member_id)[1]


def table(name: str) -> str:
    return "{s}." + name


def pyformat(name: str) -> str:
    return f"%({name})s"


_NAMED = re.compile(r"%\((\w+)\)s")


def plpgsql(query: str, names: Mapping[str, str] | None = None) -> str:
    """``query`` with its ``%(name)s`` parameters as PL/pgSQL variables ``v_name``.

    ``names`` maps a parameter to another expression (a variable, ``NULL``). The
    function of :mod:`._postgres_single` is assembled from the statements the
    per-statement path sends, rendered by this, so that each is written once.
    """
    given = names or {}
    return _NAMED.sub(lambda m: given.get(m[1], "v_" + m[1]), query)


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


@functools.cache
def lots_sql(
    spendable_only: bool, never_expiring: bool, columns: str = LOT_SELECT, *, paged: bool = True
) -> str:
    """One pass of the lots in consumption order (a batch of ``%(n)s`` from ``%(o)s``)."""
    rule = (SPENDABLE if spendable_only else HELD).sql(pyformat, stored=STORED)
    which, order = pass_sql(never_expiring)
    return (
        f"SELECT {columns} FROM {{s}}.lots WHERE member_id = %(m)s AND {which} "
        f"AND {rule} AND entry_id IS DISTINCT FROM %(x)s::bigint ORDER BY {order}"
        + (" LIMIT %(n)s OFFSET %(o)s" if paged else "")
    )


SUMS_SQL = open_sums_sql(pyformat, table, ns_sql, stored=STORED)
#: the same without a horizon (``until == at``: nothing is expiring)
SUMS_NOW_SQL = open_sums_sql(pyformat, table, ns_sql, horizon=False, stored=STORED)

#: a debit's first reads in one statement: the sums (without a horizon), then for each lot
#: of the first batch of either pass whether it never expires and its columns (one row
#: with NULLs when there is none)
DEBIT_SQL = (
    f"SELECT sums.*, lots.* FROM ({SUMS_NOW_SQL}) AS sums LEFT JOIN LATERAL ("
    + " UNION ALL ".join(
        f"(SELECT {never} AS never, batch.* FROM ({lots_sql(True, never)}) AS batch)"
        for never in (False, True)
    )
    + ") AS lots ON true"
)

#: the day a lot taken from (CTE ``taken``) expires on
TAKEN_DAY = DAY_SQL.format("taken.expires_at")

#: a credit of ``%(p)s`` points to member ``%(m)s`` in a lot expiring at ``%(x)s`` on day
#: ``%(d)s`` (None: never): the member's running totals (CTEs of the statement writing the
#: lot). ``balances.next_expiry`` (schema version 7) is at or before the earliest expiry of
#: the member's open lots: a credit lowers it to its lot's (LEAST ignores NULLs; unchanged,
#: it keeps the update heap-only)
CREDIT_TOTALS = (
    "open AS (INSERT INTO {s}.balances AS b (member_id, open_points, next_expiry) "
    "VALUES (%(m)s, %(p)s, %(x)s) ON CONFLICT (member_id) DO UPDATE SET "
    "open_points = b.open_points + excluded.open_points, "
    "next_expiry = LEAST(b.next_expiry, excluded.next_expiry)), "
    "days AS (INSERT INTO {s}.expiry_days AS d (member_id, day, points) "
    "SELECT %(m)s, %(d)s, %(p)s WHERE %(d)s::integer IS NOT NULL ON CONFLICT (member_id, day) "
    "DO UPDATE SET points = d.points + excluded.points)"
)

#: ``%(p)s`` points of lot ``%(lot)s`` taken by entry ``%(e)s``: the lot, the member's running
#: totals and the allocation (the CHECK constraint on ``lots.remaining`` refuses overspending).
#: Points given back (``%(p)s`` < 0) may reopen a lot: ``next_expiry`` goes down to its expiry
ALLOCATE_SQL = (
    "WITH taken AS (UPDATE {s}.lots SET remaining = remaining - %(p)s "
    "WHERE lot_id = %(lot)s RETURNING lot_id, member_id, expires_at), "
    "open AS (UPDATE {s}.balances b SET open_points = b.open_points - %(p)s, "
    "next_expiry = CASE WHEN %(p)s < 0 THEN LEAST(b.next_expiry, taken.expires_at) "
    "ELSE b.next_expiry END FROM taken WHERE b.member_id = taken.member_id), "
    "days AS (UPDATE {s}.expiry_days d SET points = d.points - %(p)s FROM taken "
    f"WHERE d.member_id = taken.member_id AND d.day = {TAKEN_DAY}) "
    "INSERT INTO {s}.allocations (entry_id, lot_id, points) "
    "SELECT %(e)s, lot_id, %(p)s FROM taken"
)

#: the state of member ``%(m)s`` (JSON text ``%(state)s``; None: left as it is)
MEMBER_PUT_SQL = (
    "INSERT INTO {s}.members (member_id, state) SELECT %(m)s, %(state)s::jsonb "
    "WHERE %(state)s::text IS NOT NULL "
    "ON CONFLICT (member_id) DO UPDATE SET state = excluded.state"
)

#: the stored result of idempotency key ``%(key)s``
IDEMPOTENCY_PUT_SQL = (
    "INSERT INTO {s}.idempotency (key, fingerprint, result, created_at) "
    "VALUES (%(key)s, %(fp)s, %(result)s, %(created)s)"
)

#: the reads of :meth:`PostgresTransaction.prefetch` as one row (NULLs for what is absent)
PREFETCH_SQL = (
    "SELECT i.fingerprint, i.result, m.state, "
    "CASE WHEN %(ne)s THEN nextval(pg_get_serial_sequence('{s}.entries', 'entry_id')) END, "
    "CASE WHEN %(nl)s THEN nextval(pg_get_serial_sequence('{s}.lots', 'lot_id')) END, "
    "e.* FROM (SELECT 1) AS one "
    "LEFT JOIN {s}.idempotency i ON i.key = %(k)s "
    "LEFT JOIN {s}.members m ON m.member_id = %(m)s "
    f"LEFT JOIN LATERAL (SELECT {ENTRY_SELECT} FROM {{s}}.entries "
    "WHERE transaction_id = %(tx)s AND kind = 'earn' ORDER BY entry_id LIMIT 1) e ON true"
)

EARN_BY_TX_SQL = (
    f"SELECT {ENTRY_SELECT} FROM {{s}}.entries "
    "WHERE transaction_id = %s AND kind = 'earn' ORDER BY entry_id LIMIT 1"
)

#: the id of a new row: drawn ahead by ``prefetch`` (a parameter), else from the sequence
_NEW_ID = "COALESCE({}::bigint, nextval(pg_get_serial_sequence('{{s}}.{}', '{}')))"
_NEW_ENTRY = _NEW_ID.format("%(e)s", "entries", "entry_id")

#: an entry (parameters ``e``: its id or None, then its columns); returns its id
ENTRY_INSERT_SQL = (
    "INSERT INTO {s}.entries (entry_id, member_id, kind, points, at, amount_minor, "
    f"transaction_id, reference, shortfall, note) VALUES ({_NEW_ENTRY}, %(m)s, %(k)s, "
    "%(p)s, %(t)s, %(amount)s, %(tx)s, %(ref)s, %(shortfall)s, %(note)s) RETURNING entry_id"
)

#: a credit entry (CTE ``entry``), its lot (``lot``; parameter ``l``: its id or None) and
#: the member's running totals
CREDIT_CTES = (
    "entry AS (INSERT INTO {s}.entries (entry_id, member_id, kind, points, at, "
    f"amount_minor, transaction_id, reference, note) VALUES ({_NEW_ENTRY}, %(m)s, %(k)s, "
    "%(p)s, %(t)s, %(amount)s, %(tx)s, %(ref)s, %(note)s) RETURNING entry_id), "
    "lot AS (INSERT INTO {s}.lots (lot_id, member_id, entry_id, earned_at, available_at, "
    f"expires_at, points, remaining) SELECT {_NEW_ID.format('%(l)s', 'lots', 'lot_id')}, "
    "%(m)s, entry_id, %(t)s, %(a)s, %(x)s, %(p)s, %(p)s FROM entry RETURNING entry_id, lot_id), "
    f"{CREDIT_TOTALS}"
)

#: a credit entry, its lot and the member's running totals; returns both ids
CREDIT_INSERT_SQL = f"WITH {CREDIT_CTES} SELECT entry_id, lot_id FROM lot"
