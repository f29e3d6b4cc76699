"""SQLite files of the ledger: opening them with clear errors, and the versioned schema."""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

from customer_value._time import NS_PER_DAY
from customer_value.errors import InvalidDataError, StoreError

__all__ = ["DAY_SQL", "MIGRATIONS", "SCHEMA_VERSION", "check_ledger_file", "connect"]

#: ``_rules.expiry_day`` of an int-nanosecond column ``{}`` (SQLite's ``/`` truncates)
DAY_SQL = f"(({{0}}) / {NS_PER_DAY} - (({{0}}) % {NS_PER_DAY} < 0))"

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "entries, lots, allocations, idempotency, members",
        """
        CREATE TABLE members (
            member_id TEXT PRIMARY KEY,
            state TEXT NOT NULL
        );
        CREATE TABLE entries (
            entry_id INTEGER PRIMARY KEY,
            member_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN
                ('earn', 'redeem', 'clawback', 'adjust', 'expire', 'reversal')),
            points INTEGER NOT NULL,
            at INTEGER NOT NULL,
            amount_minor INTEGER,
            transaction_id TEXT,
            reference INTEGER REFERENCES entries (entry_id),
            shortfall INTEGER NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
            note TEXT
        );
        CREATE INDEX entries_member ON entries (member_id, at);
        CREATE INDEX entries_transaction ON entries (transaction_id)
            WHERE transaction_id IS NOT NULL;
        CREATE INDEX entries_reference ON entries (reference) WHERE reference IS NOT NULL;
        CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
            BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
        CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
            BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
        CREATE TABLE lots (
            lot_id INTEGER PRIMARY KEY,
            member_id TEXT NOT NULL,
            entry_id INTEGER NOT NULL REFERENCES entries (entry_id),
            earned_at INTEGER NOT NULL,
            available_at INTEGER NOT NULL,
            expires_at INTEGER,
            points INTEGER NOT NULL CHECK (points > 0),
            remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points)
        );
        CREATE INDEX lots_member_open ON lots (member_id, expires_at, available_at, remaining)
            WHERE remaining > 0;
        CREATE INDEX lots_entry ON lots (entry_id);
        CREATE INDEX lots_due ON lots (expires_at) WHERE remaining > 0;
        CREATE TABLE allocations (
            allocation_id INTEGER PRIMARY KEY,
            entry_id INTEGER NOT NULL REFERENCES entries (entry_id),
            lot_id INTEGER NOT NULL REFERENCES lots (lot_id),
            points INTEGER NOT NULL CHECK (points <> 0)
        );
        CREATE INDEX allocations_entry ON allocations (entry_id);
        CREATE INDEX allocations_lot ON allocations (lot_id);
        CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        """,
    ),
    (
        2,
        "recording times, running balances, open-lot indexes in consumption order",
        """
        ALTER TABLE entries ADD COLUMN recorded_at INTEGER;
        CREATE INDEX entries_member_recorded ON entries (member_id, recorded_at);
        CREATE TABLE balances (
            member_id TEXT PRIMARY KEY,
            open_points INTEGER NOT NULL CHECK (open_points >= 0)
        ) WITHOUT ROWID;
        INSERT INTO balances (member_id, open_points)
            SELECT member_id, SUM(remaining) FROM lots WHERE remaining > 0 GROUP BY member_id;
        DROP INDEX lots_member_open;
        CREATE INDEX lots_member_open ON lots (member_id, expires_at, earned_at, lot_id)
            WHERE remaining > 0;
        CREATE INDEX lots_member_pending ON lots (member_id, available_at) WHERE remaining > 0;
        """,
    ),
    (
        3,
        "points left per member and expiry day (expiring balances)",
        f"""
        CREATE TABLE expiry_days (
            member_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            points INTEGER NOT NULL CHECK (points >= 0),
            PRIMARY KEY (member_id, day)
        ) WITHOUT ROWID;
        INSERT INTO expiry_days (member_id, day, points)
            SELECT member_id, {DAY_SQL.format("expires_at")}, SUM(remaining) FROM lots
            WHERE remaining > 0 AND expires_at IS NOT NULL GROUP BY 1, 2;
        """,
    ),
    (
        4,
        "running totals for every member and expiry day with lots",
        # versions 2 and 3 filled them from the open lots only; points given back to a spent
        # lot (a reversed redemption) update the rows in place, so were not counted
        f"""
        INSERT INTO balances (member_id, open_points)
            SELECT DISTINCT member_id, 0 FROM lots WHERE true
            ON CONFLICT (member_id) DO NOTHING;
        INSERT INTO expiry_days (member_id, day, points)
            SELECT DISTINCT member_id, {DAY_SQL.format("expires_at")}, 0 FROM lots
            WHERE expires_at IS NOT NULL ON CONFLICT (member_id, day) DO NOTHING;
        """,
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]


def connect(path: str, timeout: float, read_only: bool) -> sqlite3.Connection:
    """Open ``path``, with errors that say which path and why."""
    if path != ":memory:" and not path.startswith("file:"):
        where = Path(path)
        if where.is_dir():
            raise InvalidDataError(f"SQLiteStore: {path} is a directory, not a database file")
        if not where.parent.is_dir():
            raise InvalidDataError(
                f"SQLiteStore: the directory of {path} does not exist ({where.parent})"
            )
        if read_only and not where.exists():
            raise InvalidDataError(f"SQLiteStore: {path} does not exist (opening read-only)")
    try:
        if read_only:
            uri = "file:" + urllib.parse.quote(str(Path(path).resolve())) + "?mode=ro"
            return sqlite3.connect(
                uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        return sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"SQLiteStore: cannot open {path}: {exc}") from exc


def check_ledger_file(con: sqlite3.Connection, path: str) -> None:
    """Refuse a file that is not SQLite, or an SQLite database of something else."""
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"SQLiteStore: {path} is not an SQLite database ({exc})") from exc
    if tables and "schema_migrations" not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise StoreError(
            f"SQLiteStore: {path} is an SQLite database but not a customer_value ledger "
            f"(no schema_migrations table; it holds {shown})"
        )
