"""PostgresStore: the ledger store in PostgreSQL (psycopg 3), for many processes on many hosts."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from customer_value.errors import InvalidDataError, StoreError
from customer_value.loyalty.stores._balances import LedgerView
from customer_value.loyalty.stores._contract import (
    Store,
    StoreTransaction,
    entries_to_frame,
    lots_to_frame,
    members_to_frame,
)
from customer_value.loyalty.stores._postgres_schema import MIGRATIONS, SCHEMA_VERSION
from customer_value.loyalty.stores._postgres_single import SINGLE_WRITE_CALL, PostgresSingle
from customer_value.loyalty.stores._postgres_sql import (
    ENTRY_SELECT,
    LOT_SELECT,
    NS_MIGRATE,
    Sql,
    translate,
)
from customer_value.loyalty.stores._postgres_txn import PostgresTransaction

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresStore"]


#: members whose last state a store keeps for single writes (then it starts afresh)
_REMEMBER_MEMBERS = 100_000
#: a transaction touching more members (a bulk import) updates none of them
_REMEMBER_PER_TRANSACTION = 8


def _nothing() -> None:
    return None


def _one(row: Any) -> Any:
    if row is None:  # an aggregate always returns a row
        raise StoreError("PostgresStore: the database returned no row for an aggregate")
    return row


class PostgresStore(Store):
    """A ledger store in PostgreSQL (14 or newer) for many processes on many hosts.

    Concurrency: every ledger operation is one ``READ COMMITTED`` transaction
    that takes PostgreSQL transaction-scoped advisory locks *before* it reads
    anything it will act on: the idempotency key, the retailer transaction id
    of an earn or refund, and each member whose entries, lots or state it
    reads or writes. Two operations on the same member therefore run one after
    the other on any number of hosts, and each statement after the lock sees
    what the previous one committed; operations on different members run in
    parallel. Bulk writes (imports, expiry runs) lock the members' buckets (one
    of :data:`LOCK_BUCKETS` by hash) exclusively in ascending order; single
    writes hold their bucket shared. Should the database still abort a
    transaction (a deadlock between a bulk write and a referral, a unique
    violation raced by another host, a lost connection), nothing is written
    and :class:`~customer_value.errors.StoreError` is raised with ``retryable``
    set: repeat the call with the same idempotency key, which returns the first
    result if the first attempt did commit after all.

    Data: points and money (integer minor units) are ``bigint``, instants
    ``timestamptz`` holding the ledger's program-local times as if they were
    UTC, to the microsecond (an instant with a sub-microsecond part is refused
    with :class:`~customer_value.errors.InvalidDataError`). The journal is
    append-only (a trigger refuses ``UPDATE``/``DELETE``); idempotency keys and
    earns per retailer transaction id are unique by constraint.

    Schema: versioned; :meth:`migrate` applies missing migrations in one
    transaction under an advisory lock (concurrent callers wait). A schema
    newer than this library is refused.

    Parameters
    ----------
    conninfo : str, psycopg.Connection or psycopg_pool.ConnectionPool
        A libpq connection string (``"postgresql://user@host/db"``; the store
        opens and owns one connection, reconnecting after a failure), an open
        psycopg connection (best in autocommit mode, so that the store's
        transactions are real transactions, not savepoints), or a
        ``psycopg_pool.ConnectionPool`` (a connection is borrowed for each
        transaction and each read).
    schema : str, default "public"
        The PostgreSQL schema holding the ledger's tables (created by
        :meth:`migrate` when missing).
    migrate : bool, default True
        Apply missing migrations on construction. Pass False in application
        servers and run :meth:`migrate` from a deployment step; the store then
        refuses to write to an out-of-date schema.

    Raises
    ------
    StoreError
        The schema is newer than this library, or the database cannot be
        reached. (An out-of-date schema with ``migrate=False`` is refused at
        the first write.)

    Examples
    --------
    >>> from customer_value.loyalty import PostgresStore
    >>> PostgresStore.SCHEMA_VERSION
    7
    >>> store = PostgresStore("postgresql://app@db.internal/loyalty")  # doctest: +SKIP
    """

    #: the schema version this library writes
    SCHEMA_VERSION = SCHEMA_VERSION

    def __init__(self, conninfo: Any, *, schema: str = "public", migrate: bool = True) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "PostgresStore needs psycopg 3: pip install 'customer-value[postgres]'"
            ) from exc
        if not isinstance(schema, str) or not schema:
            raise InvalidDataError(f"schema must be a non-empty string, got {schema!r}")
        self.schema = schema
        self._q = Sql(schema)
        self._lock = threading.RLock()
        self._pool: Any = None
        self._conn: psycopg.Connection[Any] | None = None
        self._conninfo: str | None = None
        if isinstance(conninfo, str):
            self._conninfo = conninfo
        elif isinstance(conninfo, psycopg.Connection):
            self._conn = conninfo
        elif hasattr(conninfo, "connection") and hasattr(conninfo, "getconn"):
            self._pool = conninfo
        else:
            raise InvalidDataError(
                "conninfo must be a connection string, a psycopg.Connection or a "
                f"psycopg_pool.ConnectionPool, got {type(conninfo).__name__}"
            )
        self._ready = False
        # the one-call write: its statement, and a cursor kept for the store's own connection
        from psycopg.pq import TransactionStatus

        self._idle = TransactionStatus.IDLE
        self._call_sql = self._q(SINGLE_WRITE_CALL)
        self._cursor: psycopg.Cursor[Any] | None = None
        # the last state this store wrote or read of recent members, with its JSON text
        # as sent when known (single_write)
        self._states: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        if migrate:
            self.migrate()
        else:
            self._check_version(older_ok=True)

    def __repr__(self) -> str:
        where = "pool" if self._pool is not None else "connection"
        return f"PostgresStore({where}, schema={self.schema!r})"

    # ------------------------------------------------------------------ connections
    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        import psycopg

        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
            return
        with self._lock:
            if self._conn is None or (self._conninfo is not None and self._conn.closed):
                try:
                    self._conn = psycopg.connect(str(self._conninfo), autocommit=True)
                except psycopg.Error as exc:
                    raise translate(exc) from exc
            conn = self._conn
            try:
                yield conn
            finally:
                if self._conninfo is not None and conn.broken:
                    conn.close()  # reconnect on next use

    @contextlib.contextmanager
    def _unit(
        self, begin: str, *, locking: bool, check: Callable[[], None]
    ) -> Iterator[PostgresTransaction]:
        """A transaction on a connection of the store, opened with ``begin``.

        On an idle autocommit connection (the store's own; a pool's configured
        with ``autocommit=True``) the transaction's ``BEGIN`` travels with its
        first statements and ``COMMIT`` with its last writes; otherwise psycopg
        opens it (a savepoint inside a transaction already open).
        """
        import psycopg
        from psycopg.pq import TransactionStatus

        if not self._ready:
            check()
        with self._connection() as conn:
            try:
                if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
                    txn = PostgresTransaction(conn, self._q, locking=locking, begin=begin)
                    try:
                        yield txn
                        txn.flush("COMMIT")
                    except BaseException:
                        if conn.info.transaction_status != TransactionStatus.IDLE:
                            with contextlib.suppress(psycopg.Error):
                                conn.execute("ROLLBACK")  # the original error is the one to see
                        raise
                else:
                    with conn.transaction():
                        txn = PostgresTransaction(conn, self._q, locking=locking)
                        if begin != "BEGIN":
                            txn.flush("SET TRANSACTION" + begin.removeprefix("BEGIN"))
                        yield txn
                        txn.flush()
            except psycopg.Error as exc:
                raise translate(exc) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """One READ COMMITTED transaction with per-member locks (see the class notes)."""
        with self._unit("BEGIN", locking=True, check=self._check_version) as txn:
            yield txn
        # committed: what it read or wrote of a few members serves their next single write
        if len(txn.states) <= _REMEMBER_PER_TRANSACTION:
            for member_id, state in txn.states.items():
                self._remember(member_id, state)

    # ------------------------------------------------------------------ single writes
    def single_write(self, member_id: str) -> PostgresSingle | None:
        """A one-call write (:mod:`._postgres_single`) of one operation on ``member_id``.

        Answered from the member's state as this store last wrote or read it (read
        now, without a lock, when unknown); None when the connection is inside a
        transaction of the caller's (the operation then takes :meth:`transaction`).

        Parameters
        ----------
        member_id : str
            The one member the operation writes.

        Returns
        -------
        PostgresSingle or None
            Records the operation; its ``commit`` is one call of ``single_write``.

        Examples
        --------
        >>> from customer_value.loyalty import Ledger, PostgresStore, Program
        >>> store = PostgresStore("postgresql://app@db/loyalty")  # doctest: +SKIP
        >>> program = Program.from_dict({"name": "p", "base_rate": "1"})
        >>> ledger = Ledger(program, store)  # doctest: +SKIP
        >>> ledger.adjust("m1", 5, at="2024-01-01", idempotency_key="a")  # doctest: +SKIP
        LedgerReceipt(operation='adjust', member_id='m1', points=5, ...)
        """
        import psycopg
        from psycopg.pq import TransactionStatus

        if not self._ready:
            self._check_version()
        known = self._states.get(member_id)
        if known is not None:
            state, text = known
        else:
            with self._connection() as conn:
                if not conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
                    return None
                try:
                    row = conn.execute(
                        self._q("SELECT state FROM {s}.members WHERE member_id = %s"),
                        (member_id,),
                    ).fetchone()
                except psycopg.Error as exc:
                    raise translate(exc) from exc
            state, text = (None if row is None else dict(row[0])), None
        return PostgresSingle(
            member_id, state, text, self._single_call, self._remember, self._forget
        )

    def _single_call(self, params: tuple[Any, ...]) -> list[int] | None:
        import psycopg

        with self._connection() as conn:
            if not conn.autocommit or conn.info.transaction_status != self._idle:
                return None  # not a transaction of its own: the usual path
            cur = self._cursor
            if cur is None or cur.connection is not conn or cur.closed:
                cur = conn.cursor()
                if self._pool is None:  # a pool's connections take turns: no cursor kept
                    self._cursor = cur
            try:
                row = cur.execute(self._call_sql, params).fetchone()
            except psycopg.Error as exc:
                raise translate(exc) from exc
        return None if row is None or row[0] is None else list(row[0])

    def _remember(
        self, member_id: str, state: dict[str, Any] | None, text: str | None = None
    ) -> None:
        """Keep the member's state (and its JSON text as sent, when known)."""
        if len(self._states) >= _REMEMBER_MEMBERS:
            self._states.clear()
        self._states[member_id] = (None if state is None else dict(state), text)

    def _forget(self, member_id: str) -> None:
        self._states.pop(member_id, None)

    @contextlib.contextmanager
    def _read(self) -> Iterator[PostgresTransaction]:
        """A read-only REPEATABLE READ transaction: one consistent snapshot."""
        with self._unit(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", locking=False, check=_nothing
        ) as txn:
            yield txn

    # ------------------------------------------------------------------ schema
    def _version(self, fetch: Callable[[str, Any], list[Any]]) -> int:
        exists = fetch("SELECT to_regclass(%s) IS NOT NULL", (self._q("{s}.schema_migrations"),))
        if not (exists and exists[0][0]):
            return 0
        got = fetch("SELECT COALESCE(MAX(version), 0) FROM {s}.schema_migrations", None)
        return int(got[0][0]) if got else 0

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"PostgresStore: schema {self.schema!r} is at version {version}, newer than "
                f"this library supports ({SCHEMA_VERSION}); upgrade customer_value"
            )

    def _check_version(self, *, older_ok: bool = False, reading: bool = False) -> None:
        with self._read() as txn:
            version = self._version(txn.fetch)
        self._refuse_newer(version)
        self._ready = version == SCHEMA_VERSION
        if version < SCHEMA_VERSION and not older_ok:
            done = "nothing was read" if reading else "nothing was written"
            raise StoreError(
                f"PostgresStore: schema {self.schema!r} is at version {version}, this library "
                f"needs {SCHEMA_VERSION}; {done}: run PostgresStore(...).migrate()"
            )

    def migrate(self) -> int:
        """Apply the missing schema migrations (one transaction); return the version.

        Concurrent callers on any host are serialised by an advisory lock; a
        schema newer than this library is refused with
        :class:`~customer_value.errors.StoreError`.

        Examples
        --------
        >>> from customer_value.loyalty import PostgresStore
        >>> PostgresStore.SCHEMA_VERSION  # what migrate() brings a schema to
        7
        >>> PostgresStore("postgresql://deploy@db/cv", migrate=False).migrate()  # doctest: +SKIP
        6
        """
        import psycopg

        with self._connection() as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (NS_MIGRATE,))
                    conn.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
                    conn.execute(
                        self._q(
                            "CREATE TABLE IF NOT EXISTS {s}.schema_migrations ("
                            "version integer PRIMARY KEY, description text NOT NULL, "
                            "applied_at timestamptz NOT NULL DEFAULT now())"
                        )
                    )
                    current = self._version(
                        lambda query, params: conn.execute(self._q(query), params).fetchall()
                    )
                    self._refuse_newer(current)
                    for version, description, statements in MIGRATIONS:
                        if version <= current:
                            continue
                        for statement in statements:
                            conn.execute(self._q(statement))
                        conn.execute(
                            self._q(
                                "INSERT INTO {s}.schema_migrations (version, description) "
                                "VALUES (%s, %s)"
                            ),
                            (version, description),
                        )
            except psycopg.Error as exc:
                raise translate(exc) from exc
        self._ready = True
        return SCHEMA_VERSION

    @property
    def schema_version(self) -> int:
        """The highest migration applied to the schema."""
        with self._read() as txn:
            return self._version(txn.fetch)

    # ------------------------------------------------------------------ reads
    @contextlib.contextmanager
    def view(self) -> Iterator[LedgerView]:
        """One consistent read-only snapshot (REPEATABLE READ), taking no locks."""
        self._check_readable()
        with self._read() as txn:
            yield txn

    def _check_readable(self) -> None:
        # an out-of-date schema (migrate=False) is refused, not misread
        if not self._ready:
            self._check_version(reading=True)

    def _rows(self, query: str, params: Any = None) -> list[Any]:
        self._check_readable()
        with self._read() as txn:
            return txn.fetch(query, params)

    def entries_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The journal as a DataFrame (see :class:`Store`)."""
        sql = f"SELECT {ENTRY_SELECT} FROM {{s}}.entries"
        if member_id is None:
            return entries_to_frame(self._rows(sql + " ORDER BY entry_id"))
        return entries_to_frame(
            self._rows(sql + " WHERE member_id = %s ORDER BY entry_id", (member_id,))
        )

    def lots_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots as a DataFrame (see :class:`Store`)."""
        sql = f"SELECT {LOT_SELECT} FROM {{s}}.lots"
        if member_id is None:
            return lots_to_frame(self._rows(sql + " ORDER BY lot_id"))
        return lots_to_frame(
            self._rows(sql + " WHERE member_id = %s ORDER BY lot_id", (member_id,))
        )

    def allocations_frame(self) -> pd.DataFrame:
        """Every allocation (see :class:`Store`)."""
        rows = self._rows(
            "SELECT entry_id, lot_id, points FROM {s}.allocations ORDER BY allocation_id"
        )
        return pd.DataFrame(rows, columns=["entry_id", "lot_id", "points"]).astype("int64")

    def members_frame(self) -> pd.DataFrame:
        """Every member's state (see :class:`Store`)."""
        rows = self._rows("SELECT member_id, state FROM {s}.members")
        return members_to_frame({str(m): dict(s) for m, s in rows})

    def close(self) -> None:
        """Close the connection the store opened (a passed connection or pool is left open)."""
        with self._lock:
            if self._conninfo is not None and self._conn is not None:
                self._conn.close()
