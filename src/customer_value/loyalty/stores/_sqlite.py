"""SQLiteStore: the ledger store in one SQLite file (stdlib sqlite3, WAL mode)."""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from customer_value.errors import InvalidDataError, StoreError
from customer_value.loyalty.stores._balances import LedgerView
from customer_value.loyalty.stores._contract import (
    ENTRY_COLUMNS,
    LOT_COLUMNS,
    Store,
    StoreTransaction,
    entries_to_frame,
    lots_to_frame,
    members_to_frame,
)
from customer_value.loyalty.stores._sqlite_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    check_ledger_file,
    connect,
)
from customer_value.loyalty.stores._sqlite_txn import SQLiteTransaction

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SQLiteStore(Store):
    """A durable ledger store in one SQLite file (stdlib :mod:`sqlite3`, WAL mode).

    Every ledger operation is one ``BEGIN IMMEDIATE`` transaction: the write
    lock is taken before anything is read, so two processes working on the same
    member are serialised and a check made inside the transaction (enough
    points, idempotency key unused) still holds when it commits. Waiting
    writers block up to ``busy_timeout`` seconds and the ``BEGIN`` is retried
    with jittered back-off when SQLite still reports the file busy. A crash (even
    ``SIGKILL``) between ``BEGIN`` and ``COMMIT`` leaves no trace of the
    operation: WAL recovery discards uncommitted frames.

    The schema is versioned: a ``schema_migrations`` table records applied
    migrations, and opening a file applies missing ones inside one transaction
    (concurrent openers are serialised by the same lock). A file written by a
    newer version of this library is refused.

    Parameters
    ----------
    path : str or path-like
        The database file (created when missing). ``":memory:"`` gives a private
        in-memory database (not shareable between processes).
    synchronous : {"FULL", "NORMAL", "EXTRA", "OFF"}, default "FULL"
        SQLite's ``PRAGMA synchronous``. ``"FULL"`` syncs the WAL on every
        commit: a committed operation survives power loss. ``"NORMAL"`` is
        crash-safe for the process and the file stays consistent, but the last
        commits may be lost on power failure.
    busy_timeout : float, default 30.0
        Seconds a writer waits for the lock held by another connection.
    retries : int, default 20
        Extra attempts at ``BEGIN IMMEDIATE`` after a busy error.
    cache_mb : float, default 64
        SQLite page cache of this connection, in MiB (bulk imports into a large
        ledger slow down sharply when the indexes do not fit).
    read_only : bool, default False
        Open an existing ledger for reading only (reports, a copy on a
        replica): balances, history and frames work, every write raises
        :class:`~customer_value.errors.StoreError`.
    migrate : bool, default True
        Apply missing schema migrations when opening. With False an out-of-date
        file is refused; call :meth:`migrate` from a deployment step.

    Raises
    ------
    InvalidDataError
        Bad ``synchronous``, negative ``busy_timeout``/``retries``, or
        ``cache_mb <= 0``.
    StoreError
        The file's schema version is newer than this library knows (or older,
        with ``migrate=False`` or ``read_only=True``); the file is not SQLite, or
        an SQLite database of something else (the message names the path).
    InvalidDataError
        The path is a directory, its directory does not exist, or (read-only)
        the file does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from customer_value.loyalty import Ledger, Program, SQLiteStore
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = SQLiteStore(pathlib.Path(tmp) / "ledger.sqlite")
    ...     ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), store)
    ...     _ = ledger.adjust("m1", 80, at="2024-01-01", idempotency_key="k1")
    ...     print(ledger.balance("m1", at="2024-02-01").available, store.schema_version)
    ...     store.close()
    80 4
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        retries: int = 20,
        cache_mb: float = 64,
        read_only: bool = False,
        migrate: bool = True,
    ) -> None:
        sync = str(synchronous).upper()
        if sync not in _SYNCHRONOUS:
            raise InvalidDataError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
            )
        if not busy_timeout >= 0:
            raise InvalidDataError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidDataError(f"retries must be an integer >= 0, got {retries!r}")
        if not cache_mb > 0:
            raise InvalidDataError(f"cache_mb must be > 0, got {cache_mb!r}")
        self.path = str(path)
        self.synchronous = sync
        self.busy_timeout = float(busy_timeout)
        self.retries = retries
        self.read_only = bool(read_only)
        self._lock = threading.RLock()
        self._con = connect(self.path, self.busy_timeout, self.read_only)
        con = self._con
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            check_ledger_file(con, self.path)
            if not self.read_only:
                self._retry(lambda: con.execute("PRAGMA journal_mode = WAL"))
                con.execute(f"PRAGMA synchronous = {sync}")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute(f"PRAGMA cache_size = {-int(cache_mb * 1024)}")
            self._ready = False
            if migrate and not self.read_only:
                self.migrate()
            else:
                self._check_version(older_ok=True)
        except BaseException:
            con.close()
            raise

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r}{mode})"

    def _retry(self, fn: Callable[[], Any]) -> Any:
        delay = 0.005
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == self.retries:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        return None  # pragma: no cover

    def _check_version(self, *, older_ok: bool = False, reading: bool = False) -> None:
        current = self._version()
        self._ready = current == SCHEMA_VERSION
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this library "
                f"supports ({SCHEMA_VERSION}); upgrade customer_value"
            )
        if current < SCHEMA_VERSION and not older_ok:
            done = "nothing was read" if reading else "nothing was written"
            raise StoreError(
                f"{self.path}: schema version {current}, this library needs {SCHEMA_VERSION}; "
                f"{done}: call SQLiteStore(...).migrate() first"
            )

    def _version(self) -> int:
        with self._lock:
            exists = self._con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchone()
            if exists is None:
                return 0
            row = self._con.execute(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
            ).fetchone()
        return int(row[0])

    def migrate(self) -> int:
        """Apply the missing schema migrations in one transaction; return the version.

        Concurrent openers are serialised by the write lock; a file written by a
        newer version of this library is refused with
        :class:`~customer_value.errors.StoreError`.

        Examples
        --------
        >>> from customer_value.loyalty import SQLiteStore
        >>> store = SQLiteStore(":memory:", migrate=False)
        >>> store.migrate(), store.migrate()
        (4, 4)
        """
        with self._transaction() as _:
            con = self._con
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                "applied_at TEXT NOT NULL)"
            )
            row = con.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
            current = int(row[0])
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {current} is newer than this library "
                    f"supports ({SCHEMA_VERSION}); upgrade customer_value"
                )
            for version, description, sql in MIGRATIONS:
                if version <= current:
                    continue
                for statement in sql.split(";\n"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, datetime('now'))",
                    (version, description),
                )
        self._ready = True
        return SCHEMA_VERSION

    @property
    def schema_version(self) -> int:
        """The highest migration applied to the file."""
        return self._version()

    def transaction(self) -> contextlib.AbstractContextManager[StoreTransaction]:
        """One ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""
        if not self._ready:
            self._check_version()
        return self._transaction()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[StoreTransaction]:
        if self.read_only:
            raise StoreError(f"{self.path}: the store was opened read-only; nothing was written")
        with self._lock:
            con = self._con
            self._retry(lambda: con.execute("BEGIN IMMEDIATE"))
            try:
                yield SQLiteTransaction(con)
            except BaseException:
                if con.in_transaction:  # SQLite may already have rolled back (disk full ...)
                    con.execute("ROLLBACK")
                raise
            try:
                self._retry(lambda: con.execute("COMMIT"))
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # a deferred transaction gives the reads one consistent snapshot; an out-of-date
        # file (opened read-only or with migrate=False) is refused, not misread
        if not self._ready:
            self._check_version(reading=True)
        with self._lock:
            con = self._con
            con.execute("BEGIN")
            try:
                yield con
            finally:
                con.execute("COMMIT")

    @contextlib.contextmanager
    def view(self) -> Iterator[LedgerView]:
        """One consistent read snapshot (a deferred read transaction)."""
        with self._read() as con:
            yield SQLiteTransaction(con)

    def entries_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The journal as a DataFrame (see :class:`Store`)."""
        sql = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
        with self._read() as con:
            if member_id is None:
                rows = con.execute(sql + " ORDER BY entry_id").fetchall()
            else:
                rows = con.execute(
                    sql + " WHERE member_id = ? ORDER BY entry_id", (member_id,)
                ).fetchall()
        return entries_to_frame(rows)

    def lots_frame(self, member_id: str | None = None) -> pd.DataFrame:
        """The lots as a DataFrame (see :class:`Store`)."""
        sql = f"SELECT {', '.join(LOT_COLUMNS)} FROM lots"
        with self._read() as con:
            if member_id is None:
                rows = con.execute(sql + " ORDER BY lot_id").fetchall()
            else:
                rows = con.execute(
                    sql + " WHERE member_id = ? ORDER BY lot_id", (member_id,)
                ).fetchall()
        return lots_to_frame(rows)

    def allocations_frame(self) -> pd.DataFrame:
        """Every allocation (see :class:`Store`)."""
        with self._read() as con:
            rows = con.execute(
                "SELECT entry_id, lot_id, points FROM allocations ORDER BY allocation_id"
            ).fetchall()
        return pd.DataFrame(rows, columns=["entry_id", "lot_id", "points"]).astype("int64")

    def members_frame(self) -> pd.DataFrame:
        """Every member's state (see :class:`Store`)."""
        with self._read() as con:
            rows = con.execute("SELECT member_id, state FROM members").fetchall()
        return members_to_frame({str(m): dict(json.loads(s)) for m, s in rows})

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` for a sound file)."""
        with self._lock:
            row = self._con.execute("PRAGMA integrity_check").fetchone()
        return str(row[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._con.close()
