"""The store contract on every backend: atomic transactions, migrations, append-only journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from customer_value.errors import CustomerValueError, InvalidDataError, StoreError
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


def test_sqlite_read_only_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    writer = SQLiteStore(path)
    Ledger(PROGRAM, writer).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    reader = SQLiteStore(path, read_only=True)
    assert "read_only=True" in repr(reader)
    ledger = Ledger(PROGRAM, reader)
    assert ledger.balance("m", at="2024-02-01").available == 5
    # the reader sees what the writer commits later
    Ledger(PROGRAM, writer).adjust("m", 7, at="2024-01-02", idempotency_key="b")
    assert ledger.balance("m", at="2024-02-01").available == 12
    with pytest.raises(StoreError, match="read-only"):
        ledger.adjust("m", 1, at="2024-01-03", idempotency_key="c")
    with pytest.raises(StoreError, match="read-only"):
        reader.migrate()
    assert len(ledger.entries()) == 2
    reader.close()
    writer.close()
    with pytest.raises(InvalidDataError, match=r"missing\.db does not exist"):
        SQLiteStore(tmp_path / "missing.db", read_only=True)


def test_sqlite_paths_that_cannot_be_a_ledger_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match="is a directory"):
        SQLiteStore(tmp_path)
    with pytest.raises(InvalidDataError, match=r"directory of .*nowhere.* does not exist"):
        SQLiteStore(tmp_path / "nowhere" / "ledger.db")
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database" * 100)
    with pytest.raises(StoreError, match=r"notes\.txt is not an SQLite database"):
        SQLiteStore(text)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"other\.db is an SQLite database but not a .*customers"):
        SQLiteStore(other)
    # nothing was added to the foreign file
    con = sqlite3.connect(other)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    con.close()
    assert tables == ["customers"]


def test_sqlite_migrate_is_explicit_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    stale = SQLiteStore(path, migrate=False)
    with pytest.raises(StoreError, match="schema version 0, this library needs 1; nothing"):
        Ledger(PROGRAM, stale).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    assert stale.migrate() == stale.schema_version == 1
    Ledger(PROGRAM, stale).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    stale.close()
    assert SQLiteStore(path, migrate=False).schema_version == 1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda led: led.adjust("m", 5, at="2024-01-02", reason={"a": 1}, idempotency_key="x"),
            "reason",
        ),
        (lambda led: led.redeem("m", 5, at="2024-01-02", note=["n"], idempotency_key="x"), "note"),
        (
            lambda led: led.redeem("m", 5, at="2024-01-02", note="a\x00b", idempotency_key="x"),
            "NUL",
        ),
        (lambda led: led.adjust("m", 2**63, at="2024-01-02", idempotency_key="x"), "at most"),
        (lambda led: led.adjust("m", -(2**63), at="2024-01-02", idempotency_key="x"), "at most"),
        (lambda led: led.adjust("m\x00", 5, at="2024-01-02", idempotency_key="x"), "member_id"),
        (lambda led: led.reverse(1, at="2024-01-02", reason=3.5, idempotency_key="x"), "reason"),
    ],
)
def test_every_store_refuses_the_same_bad_values(store: Store, call: Any, match: str) -> None:
    ledger = Ledger(PROGRAM, store)
    ledger.adjust("m", 100, at="2024-01-01", idempotency_key="a")
    before = ledger.entries()
    with pytest.raises(InvalidDataError, match=match):
        call(ledger)
    pd.testing.assert_frame_equal(ledger.entries(), before)


def test_every_store_refuses_an_earn_too_large_to_hold(store: Store) -> None:
    from decimal import Decimal

    from customer_value.loyalty import PurchaseEvent

    big = Program.from_dict({"name": "p", "base_rate": "1000000000000"})
    ledger = Ledger(big, store)
    sale = PurchaseEvent("m", "2024-01-01", Decimal(10**9), transaction_id="T1")
    with pytest.raises(InvalidDataError, match="points earned by transaction 'T1'"):
        ledger.earn(sale, idempotency_key="e")
    assert len(ledger.entries()) == 0


def test_bulk_import_writes_the_same_rows_in_every_store(store: Store) -> None:
    program = Program.from_dict(
        {
            "name": "p",
            "base_rate": "1",
            "currency_decimals": 0,
            "pending_days": 3,
            "expiry": {"months": 2},
            "returns": {"allow_negative_balance": True},
        }
    )
    table = pd.DataFrame(
        {
            "member_id": ["a", "b", "a", "c", "b", "a"] * 5,
            "timestamp": pd.date_range("2024-02-01", periods=30, freq="37h"),
            "subtotal": [10, 0, 250, 40, 7, 1] * 5,
            "transaction_id": [f"T{i}" for i in range(30)],
        }
    )
    ledgers = [Ledger(program, store), Ledger(program, MemoryStore())]
    for ledger in ledgers:
        ledger.adjust("a", 100, at="2024-01-01", idempotency_key="plus")
        ledger.redeem("a", 100, at="2024-01-02", idempotency_key="spend")
        # a reversal of the credit with negative balances allowed leaves debt to repay
        ledger.reverse(1, at="2024-01-03", idempotency_key="undo")
        ledger.import_transactions(table, idempotency_key="bulk", chunk_size=7)
    got, want = ledgers
    pd.testing.assert_frame_equal(got.entries(), want.entries())
    pd.testing.assert_frame_equal(got.lots(), want.lots())
    pd.testing.assert_frame_equal(got.store.allocations_frame(), want.store.allocations_frame())
    lots = want.lots()
    assert (lots["remaining"] < lots["points"]).any(), "the debt should be repaid from a lot"
    for m in ("a", "b", "c"):
        assert got.balance(m, at="2024-03-20") == want.balance(m, at="2024-03-20")
