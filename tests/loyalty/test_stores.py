"""The store contract on every backend: atomic transactions, migrations, append-only journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from customer_value.errors import CustomerValueError, InvalidDataError
from customer_value.loyalty import Ledger, MemoryStore, Program, SQLiteStore, Store

from .store_specs import StoreSpec

PROGRAM = Program.from_dict({"name": "p", "base_rate": "1"})


@pytest.fixture
def store(store_spec: StoreSpec) -> Store:
    return store_spec.open()


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    ledger = Ledger(PROGRAM, store)
    ledger.adjust("m", 100, at="2024-01-01", idempotency_key="a")

    def half_done() -> None:
        with store.transaction() as txn:
            entry = txn.entry_add("m", "redeem", -60, 0)
            lot = txn.open_lots("m", 2**62, spendable_only=True)[0]
            txn.allocate(entry, lot.lot_id, 60)
            txn.member_put("x", {"debt": 0})
            txn.idempotency_put("k", "f", "{}", 0)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        half_done()
    assert len(ledger.entries()) == 1
    assert ledger.lots()["remaining"].tolist() == [100]
    assert len(store.allocations_frame()) == 0
    assert "x" not in store.members_frame().index
    with store.transaction() as txn:
        assert txn.idempotency_get("k") is None


def test_lot_cannot_go_negative(store: Store) -> None:
    ledger = Ledger(PROGRAM, store)
    ledger.adjust("m", 10, at="2024-01-01", idempotency_key="a")

    def overspend() -> None:
        with store.transaction() as txn:
            txn.allocate(1, 1, 11)

    with pytest.raises((CustomerValueError, sqlite3.IntegrityError)):
        overspend()
    assert ledger.lots()["remaining"].tolist() == [10]


def test_sqlite_schema_is_versioned_and_reopenable(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    store = SQLiteStore(path)
    assert store.schema_version == 1
    Ledger(PROGRAM, store).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    store.close()
    again = SQLiteStore(path, synchronous="normal")
    assert again.schema_version == 1
    assert Ledger(PROGRAM, again).balance("m", at="2024-02-01").available == 5
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = con.execute("SELECT version, description FROM schema_migrations").fetchall()
    assert [r[0] for r in rows] == [1]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE entries SET points = 1000")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM entries")
    con.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'now')")
    con.commit()
    con.close()
    again.close()
    with pytest.raises(CustomerValueError, match="schema version 99 is newer"):
        SQLiteStore(path)
    assert "v.db" in repr(again)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"synchronous": "sometimes"}, "synchronous must be one of"),
        ({"busy_timeout": -1}, "busy_timeout must be >= 0"),
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"retries": 1.5}, "retries must be an integer >= 0"),
    ],
)
def test_sqlite_bad_options(tmp_path: Path, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        SQLiteStore(tmp_path / "x.db", **kwargs)  # type: ignore[arg-type]


def test_frames_have_stable_columns(store: Store) -> None:
    assert list(store.entries_frame().columns)[:4] == ["entry_id", "member_id", "kind", "points"]
    assert len(store.lots_frame()) == 0
    assert list(store.allocations_frame().columns) == ["entry_id", "lot_id", "points"]
    assert "MemoryStore" in repr(MemoryStore())
