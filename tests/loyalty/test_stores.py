"""The store contract on every backend: atomic transactions, migrations, append-only journal."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.errors import CustomerValueError, InvalidDataError, StoreError
from customer_value.loyalty import (
    Ledger,
    MemoryStore,
    Program,
    PurchaseEvent,
    SQLiteStore,
    Store,
)
from customer_value.loyalty.stores import LotRow
from customer_value.loyalty.stores._postgres_schema import SCHEMA_VERSION as PG_VERSION
from customer_value.loyalty.stores._sqlite_schema import SCHEMA_VERSION as SQLITE_VERSION

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
    assert store.schema_version == SQLITE_VERSION == 4
    Ledger(PROGRAM, store).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    store.close()
    again = SQLiteStore(path, synchronous="normal")
    assert again.schema_version == 4
    assert Ledger(PROGRAM, again).balance("m", at="2024-02-01").available == 5
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = con.execute("SELECT version, description FROM schema_migrations").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4]
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
    # past balances and tiers read without a write lock too
    assert ledger.balance("m", at="2024-01-01 12:00").available == 5
    tiered = Program.from_dict(
        {"name": "t", "base_rate": "1", "tiers": {"levels": [{"name": "a", "threshold": 1}]}}
    )
    assert Ledger(tiered, reader).tier("m", at="2024-02-01").tier is None
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
    with pytest.raises(StoreError, match="schema version 0, this library needs 4; nothing"):
        Ledger(PROGRAM, stale).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    assert stale.migrate() == stale.schema_version == 4
    Ledger(PROGRAM, stale).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    stale.close()
    assert SQLiteStore(path, migrate=False).schema_version == 4


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
    # the same rows, each store stamping its own recording times
    pd.testing.assert_frame_equal(
        got.entries().drop(columns="recorded_at"), want.entries().drop(columns="recorded_at")
    )
    pd.testing.assert_frame_equal(got.lots(), want.lots())
    pd.testing.assert_frame_equal(got.store.allocations_frame(), want.store.allocations_frame())
    lots = want.lots()
    assert (lots["remaining"] < lots["points"]).any(), "the debt should be repaid from a lot"
    # the running totals the import adds (points left per member and per expiry day)
    # against the same purchases earned one by one: balances, pending and expiring
    # points around the expiry days
    single = Ledger(program, MemoryStore())
    single.adjust("a", 100, at="2024-01-01", idempotency_key="plus")
    single.redeem("a", 100, at="2024-01-02", idempotency_key="spend")
    single.reverse(1, at="2024-01-03", idempotency_key="undo")
    for row in table.itertuples():
        sale = PurchaseEvent(
            row.member_id,
            row.timestamp,
            Decimal(int(row.subtotal)),
            transaction_id=row.transaction_id,
        )
        single.earn(sale, idempotency_key=row.transaction_id)
    for at in pd.date_range("2024-02-20", "2024-06-10", freq="9D"):
        for m in ("a", "b", "c"):
            assert got.balance(m, at=at) == single.balance(m, at=at), (m, at)
    assert any(got.balance(m, at="2024-03-20").expiring_30d > 0 for m in "abc")


def _write_version(spec: StoreSpec, ledger: Ledger, upto: int) -> None:
    """A database at schema version ``upto`` holding ``ledger``'s rows, as older releases
    wrote it: the rows under the version 1 schema, then each later migration up to ``upto``."""
    import json

    entries = ledger.store.entries_frame()
    lots = ledger.store.lots_frame()
    allocations = ledger.store.allocations_frame()
    states = {m: ledger.store._members[m] for m in ledger.store._members}  # type: ignore[attr-defined]

    def ns(value: Any) -> int | None:
        return None if pd.isna(value) else int(pd.Timestamp(value).value)

    entry_rows = [
        (
            int(r.entry_id), r.member_id, r.kind, int(r.points), ns(r.at),
            None if pd.isna(r.amount_minor) else int(r.amount_minor), r.transaction_id,
            None if pd.isna(r.reference) else int(r.reference), int(r.shortfall), r.note,
        )
        for r in entries.itertuples()
    ]  # fmt: skip
    lot_rows = [
        (
            int(r.lot_id), r.member_id, int(r.entry_id), ns(r.earned_at), ns(r.available_at),
            ns(r.expires_at), int(r.points), int(r.remaining),
        )
        for r in lots.itertuples()
    ]  # fmt: skip
    alloc_rows = [tuple(int(v) for v in r) for r in allocations.itertuples(index=False)]
    member_rows = [(m, json.dumps(s)) for m, s in states.items()]
    if spec.kind == "sqlite":
        from customer_value.loyalty.stores._sqlite_schema import MIGRATIONS

        con = sqlite3.connect(spec.target, isolation_level=None)
        con.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT "
            "NOT NULL, applied_at TEXT NOT NULL)"
        )
        con.executescript(MIGRATIONS[0][2])
        con.execute("INSERT INTO schema_migrations VALUES (1, 'v1', 'then')")
        con.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entry_rows)
        con.executemany("INSERT INTO lots VALUES (?, ?, ?, ?, ?, ?, ?, ?)", lot_rows)
        con.executemany(
            "INSERT INTO allocations (entry_id, lot_id, points) VALUES (?, ?, ?)", alloc_rows
        )
        con.executemany("INSERT INTO members VALUES (?, ?)", member_rows)
        for version, description, script in MIGRATIONS[1:upto]:
            # a later version's own migration, over the rows written by the earlier one
            con.executescript(script)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, 'then')", (version, description)
            )
        con.close()
        return
    import psycopg

    from customer_value.loyalty.stores._postgres_schema import MIGRATIONS as PG

    def ts(value: int | None) -> str | None:
        return None if value is None else pd.Timestamp(value, tz="UTC").isoformat()

    schema = f'"{spec.schema}"'
    with psycopg.connect(spec.target, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(
            f"CREATE TABLE {schema}.schema_migrations (version integer PRIMARY KEY, "
            "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for statement in PG[0][2]:
            con.execute(statement.replace("{s}", schema))  # type: ignore[arg-type]
        con.execute(
            f"INSERT INTO {schema}.schema_migrations (version, description) VALUES (1, 'v1')"
        )
        with con.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {schema}.entries (entry_id, member_id, kind, points, at, "
                "amount_minor, transaction_id, reference, shortfall, note) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(*r[:4], ts(r[4]), *r[5:]) for r in entry_rows],
            )
            cur.executemany(
                f"INSERT INTO {schema}.lots VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(*r[:3], ts(r[3]), ts(r[4]), ts(r[5]), *r[6:]) for r in lot_rows],
            )
            cur.executemany(
                f"INSERT INTO {schema}.allocations (entry_id, lot_id, points) VALUES (%s, %s, %s)",
                alloc_rows,
            )
            cur.executemany(f"INSERT INTO {schema}.members VALUES (%s, %s)", member_rows)
        for version, description, statements in PG[1:upto]:
            for statement in statements:
                con.execute(statement.replace("{s}", schema))  # type: ignore[arg-type]
            con.execute(
                f"INSERT INTO {schema}.schema_migrations (version, description) "  # type: ignore[arg-type]
                "VALUES (%s, %s)",
                (version, description),
            )
        for table, column in (("entries", "entry_id"), ("lots", "lot_id")):
            # the rows were written with explicit ids: move the identity on, as inserts would
            con.execute(
                f"SELECT setval(pg_get_serial_sequence('{schema}.{table}', '{column}'), "  # type: ignore[arg-type]
                f"(SELECT MAX({column}) FROM {schema}.{table}))"
            )


@pytest.mark.parametrize("upto", [1, 2, 3, 4])
def test_an_old_database_is_upgraded_with_its_balances(
    shared_store_spec: StoreSpec, upto: int
) -> None:
    latest = PG_VERSION if shared_store_spec.kind == "postgres" else SQLITE_VERSION
    if upto >= latest:
        pytest.skip(
            f"the {shared_store_spec.kind} schema is at version {latest}: nothing to upgrade"
        )
    program = Program.from_dict(
        {"name": "p", "base_rate": "1", "expiry": {"months": 3}, "pending_days": 3}
    )
    old = Ledger(program, MemoryStore())
    for i, member in enumerate(["a", "b", "a", "c", "a", "b"]):
        old.adjust(member, 40 + i, at=f"2024-0{1 + i}-05", idempotency_key=f"k{i}")
    old.redeem("a", 50, at="2024-05-20", idempotency_key="r")
    old.adjust("d", 30, at="2024-05-01", idempotency_key="d")
    spent = old.redeem("d", 30, at="2024-05-02", idempotency_key="rd")  # d's lots all spent
    old.expire_due("2024-06-01")
    _write_version(shared_store_spec, old, upto)
    # not yet migrated: reads are refused with the versions, not misread
    stale = shared_store_spec.open(migrate=False)
    for read in (lambda: Ledger(program, stale).balance("a"), stale.entries_frame):
        with pytest.raises(StoreError, match=f"version {upto}, this library needs {latest};"):
            read()
    stale.close()
    store = shared_store_spec.open()  # migrates to the current version
    assert store.schema_version == latest
    new = Ledger(program, store)
    for member in ("a", "b", "c"):
        for at in ("2024-03-01", "2024-05-21", "2024-07-01"):
            assert new.balance(member, at=at) == old.balance(member, at=at), (member, at)
    # the expiring points come from the per-day totals the version 3 migration filled
    assert new.balance("c", at="2024-07-01").expiring_30d == 43
    # SQLite kept no recording times before version 2; PostgreSQL always did
    missing = new.entries()["recorded_at"].isna()
    assert missing.all() if shared_store_spec.kind == "sqlite" else not missing.any()
    assert new.redeem("a", 10, at="2024-07-01", idempotency_key="after").points == -10
    assert (
        new.balance("a", at="2024-07-02").available
        == old.balance("a", at="2024-07-02").available - 10
    )
    # d's redemption reversed: its points go back to a lot spent before the migrations,
    # expiring within 30 days (the running totals of member and day the last migration
    # added count them), which the next expiry run finds (PostgreSQL: through the
    # members' running lower bound of their expiries)
    old.redeem("a", 10, at="2024-07-01", idempotency_key="after")
    for ledger in (old, new):
        ledger.reverse(spent.entry_ids[0], at="2024-07-20", idempotency_key="rev")
    assert new.balance("d", at="2024-07-20") == old.balance("d", at="2024-07-20")
    assert new.balance("d", at="2024-07-20").expiring_30d == 30
    assert new.expire_due("2024-12-31").points == old.expire_due("2024-12-31").points < -30
    for member in ("a", "b", "c", "d"):
        assert new.balance(member, at="2025-01-01") == old.balance(member, at="2025-01-01")
    store.close()


@given(
    remaining=st.integers(-2, 3),
    expires=st.one_of(st.none(), st.integers(-3, 3)),
    available=st.integers(-3, 3),
    earned=st.integers(-3, 3),
    at=st.integers(-3, 3),
    until=st.integers(-3, 3),
)
def test_compiled_rules_agree_with_the_rule_trees(
    remaining: int, expires: int | None, available: int, earned: int, at: int, until: int
) -> None:
    from customer_value.loyalty.stores._rules import (
        DUE,
        EXPIRING,
        HELD,
        LIVE,
        PENDING,
        SPENDABLE,
        predicate,
    )

    lot = LotRow(1, "m", 1, earned, available, expires, 5, remaining)
    params = {"at": at, "until": until}
    for rule in (LIVE, SPENDABLE, PENDING, EXPIRING, DUE, HELD):
        assert predicate(rule)(lot, params) == rule.holds(lambda c: getattr(lot, c), params)
        # a column held fixed reads the constant, never the lot
        then = predicate(rule, {"remaining": 1})(lot, params)
        assert then == rule.holds(lambda c: 1 if c == "remaining" else getattr(lot, c), params)


def test_compiled_rules_are_cached_by_value_not_identity() -> None:
    # the cache was keyed by id(rule): a collected rule's id can be reused by another
    from customer_value.loyalty.stores._rules import SPENDABLE, _and, predicate

    copy = _and(SPENDABLE)
    assert copy is not SPENDABLE
    assert copy == SPENDABLE
    assert predicate(copy) is predicate(SPENDABLE)
    assert predicate(SPENDABLE, {"remaining": 1}) is not predicate(SPENDABLE)


_DAY = 86_400 * 10**9


@given(
    lots=st.lists(
        st.tuples(
            st.integers(0, 3),  # remaining
            st.one_of(st.none(), st.integers(-3 * _DAY, 4 * _DAY)),  # expires_at
            st.integers(-3 * _DAY, 3 * _DAY),  # available_at
        ),
        max_size=12,
    ),
    at=st.integers(-2 * _DAY, 2 * _DAY),
    horizon=st.sampled_from([0, 1, _DAY - 1, _DAY, _DAY + 1, 2 * _DAY, 3 * _DAY]),
    shift=st.sampled_from([0, 1, -1, _DAY // 2]),
)
def test_expiring_from_day_totals_equals_the_expiring_rule(
    lots: list[tuple[int, int | None, int]], at: int, horizon: int, shift: int
) -> None:
    # the expiring sum of a balance, taken from per-day totals and two part-days
    # (_rules.expiry_window), equals the EXPIRING rule summed over every lot
    from customer_value.loyalty.stores._balances import open_sums
    from customer_value.loyalty.stores._rules import (
        EXPIRES_WITHIN,
        EXPIRING,
        PENDING_EXPIRING,
        expiry_day,
        expiry_window,
        predicate,
    )

    rows = [
        LotRow(i, "m", i, 0, available, expires, 5, left)
        for i, (left, expires, available) in enumerate(lots)
    ]
    at += shift  # instants on, just before and just after midnight
    until = at + horizon
    params = {"at": at, "until": until}
    window = expiry_window(at, until)
    days: dict[int, int] = {}
    for lot in rows:
        if lot.expires_at is not None:
            day = expiry_day(lot.expires_at)
            days[day] = days.get(day, 0) + lot.remaining

    def within(lo: int, hi: int) -> int:
        bounds = {"lo": lo, "hi": hi}
        return sum(lot.remaining for lot in rows if predicate(EXPIRES_WITHIN)(lot, bounds))

    row = (
        0,
        0,
        0,
        sum(p for d, p in days.items() if window["first_day"] < d <= window["last_day"]),
        within(at, window["head_end"]),
        within(until, window["tail_end"]),
        sum(lot.remaining for lot in rows if predicate(PENDING_EXPIRING)(lot, params)),
        None,
    )
    direct = sum(lot.remaining for lot in rows if predicate(EXPIRING)(lot, params))
    assert open_sums(row).expiring == direct


@pytest.mark.parametrize("clamp", [False, True])
def test_expiring_balance_agrees_with_the_lots_at_day_boundaries(store: Store, clamp: bool) -> None:
    # expiry at the earning time of day (many instants per day) or at midnight (month-end
    # clamping: a month of lots on one instant); a redemption; pending purchases; balances
    # at midnights, mid-day, and a microsecond around each expiry, window end and pending end
    program = Program.from_dict(
        {
            "name": "p",
            "base_rate": "1",
            "pending_days": 2,
            "expiry": {"months": 1, "clamp_to_month_end": clamp},
        }
    )
    ledger = Ledger(program, store)
    for i in range(40):
        at = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=10 * i, minutes=7 * i)
        ledger.adjust(f"m{i % 2}", 10 + i, at=at, idempotency_key=f"a{i}")
    ledger.redeem("m0", 150, at="2024-01-18", idempotency_key="r")
    for i in range(6):  # purchases pending until 20-22 January
        at = pd.Timestamp("2024-01-18") + pd.Timedelta(hours=11 * i)
        event = PurchaseEvent(f"m{i % 2}", at.to_pydatetime(), Decimal(5), transaction_id=f"T{i}")
        ledger.earn(event, idempotency_key=f"p{i}")
    imported = pd.DataFrame(  # the bulk path keeps the per-day totals too
        {
            "member_id": ["m2"] * 30,
            "timestamp": [
                pd.Timestamp("2024-01-02") + pd.Timedelta(hours=13 * i) for i in range(30)
            ],
            "subtotal": [100 + i for i in range(30)],
        }
    )
    ledger.import_transactions(imported, idempotency_key="imp")
    lots = store.lots_frame()
    last = pd.Timestamp("2024-01-20 12:00")  # after every write: balances as they stand
    days = pd.date_range("2024-01-20", "2024-03-05", freq="D")
    instants = [*days, *(days + pd.Timedelta(hours=13, minutes=1))]
    expires = lots["expires_at"].dropna()
    for n in (-1, 0, 1):
        step = pd.Timedelta(n, "us")
        for series in (expires, expires - pd.Timedelta(days=30), lots["available_at"]):
            instants += [*(series + step)]
    checked = set()
    for member in ("m0", "m1", "m2"):
        mine = lots[lots["member_id"] == member]
        for at in sorted(t for t in instants if t >= last):
            expected = mine["remaining"][
                (mine["available_at"] <= at)
                & (mine["expires_at"] > at)
                & (mine["expires_at"] <= at + pd.Timedelta(days=30))
            ].sum()
            assert ledger.balance(member, at=at).expiring_30d == expected, (member, at)
            checked.add(int(expected))
    assert len(checked) >= 3  # the instants do fall inside the windows (several sums)
