"""How the contract tests open each store, in this process or in a child process.

A :class:`StoreSpec` is a small, JSON-able description of one store (backend,
file or connection string, PostgreSQL schema) that a test hands to a child
process, which opens the same store with :func:`open_store`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass

from customer_value.loyalty import MemoryStore, PostgresStore, SQLiteStore, Store

KINDS = ("memory", "sqlite", "postgres")


@dataclass(frozen=True)
class StoreSpec:
    kind: str
    target: str = ""  # SQLite file or PostgreSQL conninfo
    schema: str = "public"

    @property
    def shared(self) -> bool:
        """Can several processes open it (MemoryStore lives in one process)?"""
        return self.kind != "memory"

    def open(self, **options: object) -> Store:
        if self.kind == "memory":
            return MemoryStore()
        if self.kind == "sqlite":
            return SQLiteStore(self.target, **options)  # type: ignore[arg-type]
        return PostgresStore(self.target, schema=self.schema, **options)  # type: ignore[arg-type]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Run a read query directly on the backend (``{s}.`` prefixes table names)."""
        if self.kind == "sqlite":
            con = sqlite3.connect(self.target, timeout=30)
            try:
                return list(con.execute(sql.replace("{s}.", "")).fetchall())
            finally:
                con.close()
        import psycopg

        with psycopg.connect(self.target, autocommit=True) as con:
            return list(con.execute(sql.replace("{s}.", f'"{self.schema}".')).fetchall())  # type: ignore[arg-type]


def open_store(spec_json: str, **options: object) -> Store:
    """Open the store a child process was given (``StoreSpec.to_json``)."""
    return StoreSpec(**json.loads(spec_json)).open(**options)
