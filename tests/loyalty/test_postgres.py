"""PostgresStore on a real server: bad input, lost connections, races, deadlocks, migrations.

The contract shared with the other stores is tested in test_stores.py,
test_ledger_stateful.py and test_reliability.py; here is what only a server
can show.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InsufficientPointsError, InvalidDataError, StoreError
from customer_value.loyalty import Ledger, MemoryStore, PostgresStore, Program, PurchaseEvent
from customer_value.loyalty.stores._batch import EarnBatch

from .ledger_checks import check_invariants
from .store_specs import StoreSpec
from .test_reliability import HERE, _env

psycopg = pytest.importorskip("psycopg", reason="PostgresStore tests need the [postgres] extra")

PROGRAM = Program.from_dict(
    {
        "name": "p",
        "currency_decimals": 0,
        "base_rate": "1",
        "earn_rules": [{"type": "referral", "points": 300}],
    }
)


@pytest.fixture
def spec(request: pytest.FixtureRequest, tmp_path: Any) -> StoreSpec:
    from .conftest import make_spec

    made: StoreSpec = make_spec("postgres", request, tmp_path)
    return made


def _frames(store: PostgresStore) -> tuple[pd.DataFrame, ...]:
    return (store.entries_frame(), store.lots_frame(), store.allocations_frame())


def _hold_member_lock(conninfo: str, member_id: str) -> Any:
    """Another session holding the member's lock (as a ledger operation would)."""
    from customer_value.loyalty.stores import _postgres_sql as internals

    con = psycopg.connect(conninfo)
    con.execute(
        "SELECT pg_advisory_xact_lock(%s, %s)",
        (internals.NS_MEMBER, internals.hash32("member", member_id)),
    )
    return con


def _wait_for_lock_waiter(conninfo: str) -> int:
    # a backend waiting for an advisory lock (a statement of the operation, or inside the
    # one-call function single_write)
    with psycopg.connect(conninfo, autocommit=True) as con:
        for _ in range(500):
            row = con.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND pid <> pg_backend_pid()"
            ).fetchone()
            if row is not None:
                return int(row[0])
            time.sleep(0.02)
    raise AssertionError("the ledger operation never waited for the lock")


def _while_locked(spec: StoreSpec, member_id: str, operation: Any, meanwhile: Any) -> list[Any]:
    """Run ``operation`` in a thread while ``member_id`` is locked elsewhere; once it waits
    for the lock, ``meanwhile(connection, pid)`` runs on another connection, then the lock
    is released. Returns what the operation returned or raised."""
    blocker = _hold_member_lock(spec.target, member_id)
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(operation())
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    pid = _wait_for_lock_waiter(spec.target)
    with psycopg.connect(spec.target, autocommit=True) as other:
        meanwhile(other, pid)
    blocker.rollback()
    blocker.close()
    worker.join(timeout=60)
    return outcome


def _terminated_while_waiting(
    spec: StoreSpec, store: PostgresStore, member_id: str, operation: Any
) -> None:
    """Terminate the backend of ``operation`` while it waits for ``member_id``'s lock: it
    must raise a retryable StoreError and leave the store unchanged."""
    before = _frames(store)
    outcome = _while_locked(
        spec,
        member_id,
        operation,
        lambda con, pid: con.execute("SELECT pg_terminate_backend(%s)", (pid,)),
    )
    assert len(outcome) == 1
    assert isinstance(outcome[0], StoreError), outcome
    assert outcome[0].retryable
    for old, new in zip(before, _frames(store), strict=True):
        pd.testing.assert_frame_equal(old, new)


def test_terminated_backend_mid_operation_writes_nothing_then_retry_completes_once(
    spec: StoreSpec,
) -> None:
    store = spec.open()
    ledger = Ledger(PROGRAM, store)
    ledger.set_member("bob", referred_by="alice")
    # alice's lock is held elsewhere: bob's earn writes bob's entry and lot, then waits to
    # credit alice's referral bonus; its backend is terminated right there
    sale = PurchaseEvent("bob", "2024-01-02", Decimal(1000), transaction_id="T1")
    _terminated_while_waiting(
        spec,
        store,  # type: ignore[arg-type]
        "alice",
        lambda: ledger.earn(sale, idempotency_key="sale-1"),
    )
    # the store reconnects; the retry with the same key completes, once
    receipt = ledger.earn(sale, idempotency_key="sale-1")
    assert receipt.points == 1000
    assert ledger.earn(sale, idempotency_key="sale-1") == receipt
    entries = ledger.entries()
    assert sorted(entries["member_id"]) == ["alice", "bob"]
    check_invariants(ledger)


def test_terminated_backend_inside_the_one_call_write_writes_nothing(
    spec: StoreSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same on the one-call path: the redemption waits inside single_write for the
    # member's lock held elsewhere, and its backend is terminated there
    store = spec.open()
    ledger = Ledger(PROGRAM, store)
    ledger.adjust("carol", 500, at="2024-01-01", idempotency_key="a")
    trips = _count_trips(monkeypatch)
    _terminated_while_waiting(
        spec,
        store,  # type: ignore[arg-type]
        "carol",
        lambda: ledger.redeem("carol", 200, at="2024-01-02", idempotency_key="r"),
    )
    assert not {"call", "refused"} & set(trips)  # the call raised (only reads were counted)
    trips.clear()
    receipt = ledger.redeem("carol", 200, at="2024-01-02", idempotency_key="r")
    assert trips == ["call"]  # reconnected; the retry completes in one call, once
    assert ledger.redeem("carol", 200, at="2024-01-02", idempotency_key="r") == receipt
    assert ledger.balance("carol", at="2024-01-03").available == 300
    check_invariants(ledger)


RACE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[2])
    from store_specs import open_store
    from customer_value.errors import StoreError
    from customer_value.loyalty import Ledger, Program
    ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), open_store(sys.argv[1]))
    out = []
    for i in range(int(sys.argv[3])):
        try:
            r = ledger.adjust(f"m{i % 7}", 10 + i, at="2024-01-01", idempotency_key=f"k{i}")
            out.append(list(r.entry_ids))
        except StoreError as exc:
            out.append("retryable" if exc.retryable else str(exc))
    print(json.dumps(out))
    """
)


def test_two_processes_racing_on_the_same_idempotency_keys_write_each_once(
    spec: StoreSpec,
) -> None:
    spec.open().close()
    n = 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_SCRIPT, spec.to_json(), HERE, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(2)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    store = spec.open()
    ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), store)
    entries = ledger.entries()
    # every key wrote exactly one entry, and both processes got the same receipt for it
    assert len(entries) == n
    for a, b in zip(*results, strict=True):
        assert a == b or "retryable" in (a, b)
    assert int(entries["points"].sum()) == sum(10 + i for i in range(n))
    check_invariants(ledger)


def test_deadlock_aborts_one_transaction_with_a_retryable_error(spec: StoreSpec) -> None:
    a, b = spec.open(), spec.open()
    ready = threading.Barrier(2)
    errors: list[BaseException] = []

    def cross(store: Any, first: str, second: str) -> None:
        try:
            with store.transaction() as txn:
                txn.member_get(first)  # a read: the lock is taken now (writes are queued)
                txn.member_put(first, {"debt": 0})
                ready.wait()
                txn.member_get(second)
                txn.member_put(second, {"debt": 0})
        except StoreError as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=cross, args=(a, "x", "y")),
        threading.Thread(target=cross, args=(b, "y", "x")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(errors) == 1, errors
    assert isinstance(errors[0], StoreError)
    assert errors[0].retryable
    assert "DeadlockDetected" in str(errors[0])
    # the survivor committed both members, the victim nothing
    assert sorted(a.members_frame().index) == ["x", "y"]


def test_serialization_failure_is_a_retryable_store_error(spec: StoreSpec) -> None:
    store = spec.open()

    def write_then_fail() -> None:
        with store.transaction() as txn:
            txn.member_put("m", {"debt": 0})
            # what a SERIALIZABLE peer would see; raised by the server, not mocked
            txn._conn.execute(  # type: ignore[attr-defined]
                "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure'; END $$"
            )

    with pytest.raises(StoreError, match="concurrent writer") as info:
        write_then_fail()
    assert info.value.retryable
    assert len(store.members_frame()) == 0


def test_same_transaction_id_from_two_keys_earns_once(spec: StoreSpec) -> None:
    ledger = Ledger(PROGRAM, spec.open())
    sale = PurchaseEvent("m", "2024-01-02", Decimal(100), transaction_id="T9")
    ledger.earn(sale, idempotency_key="a")
    with pytest.raises(InvalidDataError, match="already earned"):
        ledger.earn(sale, idempotency_key="b")

    # the unique index is the backstop when a bulk import races a single earn
    def bulk_duplicate() -> None:
        with spec.open().transaction() as txn:
            at = np.array([10**18])
            txn.bulk_earn(
                EarnBatch(
                    ["m"],
                    np.array([0]),
                    np.array([5]),
                    at,
                    np.array([500]),
                    ["T9"],
                    at,
                    None,
                    np.array([5]),
                )
            )

    with pytest.raises(StoreError, match="entries_earn_transaction"):
        bulk_duplicate()
    assert len(ledger.entries()) == 1


def test_sub_microsecond_instants_are_refused_not_rounded(spec: StoreSpec) -> None:
    ledger = Ledger(PROGRAM, spec.open())
    with pytest.raises(InvalidDataError, match="microsecond"):
        ledger.adjust(
            "m", 5, at=pd.Timestamp("2024-01-01") + pd.Timedelta(1, "ns"), idempotency_key="k"
        )
    assert len(ledger.entries()) == 0
    ledger.adjust("m", 5, at=pd.Timestamp("2024-01-01 00:00:00.000001"), idempotency_key="k2")
    assert ledger.entries()["at"].iloc[0] == pd.Timestamp("2024-01-01 00:00:00.000001")


def test_migrations_are_explicit_versioned_and_refuse_newer(spec: StoreSpec) -> None:
    stale = PostgresStore(spec.target, schema=spec.schema, migrate=False)
    latest = PostgresStore.SCHEMA_VERSION
    with pytest.raises(StoreError, match=f"version 0, this library needs {latest}; nothing was"):
        Ledger(PROGRAM, stale).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    threads = [
        threading.Thread(target=lambda: PostgresStore(spec.target, schema=spec.schema))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = PostgresStore(spec.target, schema=spec.schema, migrate=False)
    assert store.schema_version == latest >= 5
    assert stale.migrate() == latest  # a no-op now
    assert store.migrate() == latest
    assert spec.query("SELECT count(*) FROM {s}.schema_migrations") == [(latest,)]
    Ledger(PROGRAM, store).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    with psycopg.connect(spec.target, autocommit=True) as con:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            con.execute(f'UPDATE "{spec.schema}".entries SET points = 1000')
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            con.execute(f'DELETE FROM "{spec.schema}".entries')
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            con.execute(f'TRUNCATE "{spec.schema}".entries CASCADE')
        # a lot refers to an existing entry (checked per statement since version 5): a
        # statement with one lot of a missing entry writes none of its lots
        lot = (
            f'INSERT INTO "{spec.schema}".lots (member_id, entry_id, earned_at, available_at, '
            "points, remaining) SELECT 'm', e, now(), now(), 5, 5 FROM unnest(%s::bigint[]) e"
        )
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="does not exist"):
            con.execute(lot, ([1, 1, 10**9],))
        with pytest.raises(psycopg.errors.RaiseException, match="cannot change"):
            con.execute(f'UPDATE "{spec.schema}".lots SET entry_id = entry_id + 1')
        con.execute(f'UPDATE "{spec.schema}".lots SET remaining = remaining')
        con.execute(lot, ([1],))
        assert spec.query("SELECT count(*) FROM {s}.lots") == [(2,)]
        con.execute(
            f'INSERT INTO "{spec.schema}".schema_migrations (version, description) '
            "VALUES (99, 'future')"
        )
    with pytest.raises(StoreError, match="version 99, newer than this library"):
        PostgresStore(spec.target, schema=spec.schema)
    with pytest.raises(StoreError, match="version 99, newer"):
        store.migrate()


def test_accepts_a_connection_or_a_pool(spec: StoreSpec) -> None:
    pool_mod = pytest.importorskip("psycopg_pool", reason="pool support needs psycopg_pool")
    con = psycopg.connect(spec.target, autocommit=True)
    by_conn = PostgresStore(con, schema=spec.schema)
    Ledger(PROGRAM, by_conn).adjust("m", 5, at="2024-01-01", idempotency_key="a")
    with pool_mod.ConnectionPool(
        spec.target, min_size=1, max_size=2, kwargs={"autocommit": True}, open=True
    ) as pool:
        by_pool = PostgresStore(pool, schema=spec.schema)
        assert "pool" in repr(by_pool)
        ledger = Ledger(PROGRAM, by_pool)
        ledger.adjust("m", 7, at="2024-01-02", idempotency_key="b")
        assert ledger.balance("m", at="2024-02-01").available == 12
    by_conn.close()  # a passed connection stays open
    assert not con.closed
    con.close()
    with pytest.raises(InvalidDataError, match="conninfo must be"):
        PostgresStore(42)
    with pytest.raises(StoreError, match="connection failed"):
        PostgresStore("host=127.0.0.1 port=1 connect_timeout=2")


def _key_committed_elsewhere(
    spec: StoreSpec, member_id: str, operation: Any, fingerprint: str, result: str
) -> list[Any]:
    """Run ``operation`` while ``member_id`` is locked elsewhere; meanwhile another host
    commits idempotency key ``'k'``; return what the operation returned or raised."""
    return _while_locked(
        spec,
        member_id,
        operation,
        lambda con, pid: con.execute(
            f'INSERT INTO "{spec.schema}".idempotency (key, fingerprint, result, created_at) '
            "VALUES ('k', %s, %s, now())",
            (fingerprint, result),
        ),
    )


def test_unique_violation_on_an_idempotency_key_writes_nothing_then_replays(
    spec: StoreSpec,
) -> None:
    # another host writes the same key without this library's advisory lock (an older
    # client, a manual fix): the unique constraint is the backstop. Our earn has read "no
    # such key", written bob's entry and waits for the referrer's lock; the other host
    # commits the key meanwhile; our insert of the key then violates the constraint
    store = spec.open()
    ledger = Ledger(PROGRAM, store)
    ledger.set_member("bob", referred_by="alice")
    twin = Ledger(PROGRAM, MemoryStore())
    twin.set_member("bob", referred_by="alice")
    sale = PurchaseEvent("bob", "2024-01-05", Decimal(40), transaction_id="T1")
    first = twin.earn(sale, idempotency_key="k")
    fingerprint, result = twin.store._idem["k"]  # type: ignore[attr-defined]
    outcome = _key_committed_elsewhere(
        spec, "alice", lambda: ledger.earn(sale, idempotency_key="k"), fingerprint, result
    )
    assert len(outcome) == 1
    assert isinstance(outcome[0], StoreError), outcome
    assert outcome[0].retryable
    assert "idempotency_pkey" in str(outcome[0])
    assert ledger.entries().empty  # the failed attempt wrote nothing
    # the retry with the same key returns the result the other host stored
    assert ledger.earn(sale, idempotency_key="k") == first
    assert ledger.entries().empty


def test_a_key_committed_by_another_host_while_waiting_for_the_member_replays(
    spec: StoreSpec,
) -> None:
    # the same race one step earlier: the other host commits the key while our operation
    # waits for the member's lock, before it has read the key: it replays the stored result
    ledger = Ledger(PROGRAM, spec.open())
    twin = Ledger(PROGRAM, MemoryStore())
    first = twin.adjust("carol", 40, at="2024-01-05", idempotency_key="k")
    fingerprint, result = twin.store._idem["k"]  # type: ignore[attr-defined]
    outcome = _key_committed_elsewhere(
        spec,
        "carol",
        lambda: ledger.adjust("carol", 40, at="2024-01-05", idempotency_key="k"),
        fingerprint,
        result,
    )
    assert outcome == [first]
    assert ledger.entries().empty


def test_a_large_bulk_import_refreshes_the_planner_statistics(spec: StoreSpec) -> None:
    n = 10_000  # the threshold for ANALYZE after a bulk write
    table = pd.DataFrame(
        {
            "member_id": ["one"] * n,
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(range(n), unit="min"),
            "subtotal": [3] * n,
        }
    )
    ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), spec.open())
    ledger.import_transactions(table, idempotency_key="big", chunk_size=n)
    analyzed = spec.query(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = "
        f"'{spec.schema}' AND last_analyze IS NOT NULL ORDER BY relname"
    )
    assert [r[0] for r in analyzed] == ["allocations", "balances", "entries", "expiry_days", "lots"]
    assert ledger.balance("one", at="2024-02-01").available == 3 * n


def test_an_import_refreshes_the_statistics_once_and_only_when_it_doubles_the_journal(
    spec: StoreSpec,
) -> None:
    # four chunks of 10,000 into an empty journal: one ANALYZE, on the last chunk; a
    # second import of 10,000 (a quarter more) runs none
    n = 10_000
    table = pd.DataFrame(
        {
            "member_id": [f"m{i % 7}" for i in range(5 * n)],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(range(5 * n), unit="min"),
            "subtotal": [3] * (5 * n),
        }
    )
    ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), spec.open())
    query = (
        "SELECT analyze_count FROM pg_stat_user_tables WHERE schemaname = "
        f"'{spec.schema}' AND relname = 'entries'"
    )
    summary = ledger.import_transactions(table[: 4 * n], idempotency_key="big", chunk_size=n)
    assert summary.chunks == 4
    assert spec.query(query) == [(1,)]
    ledger.import_transactions(table[4 * n :], idempotency_key="more", chunk_size=n)
    assert spec.query(query) == [(1,)]
    assert ledger.balance("m0", at="2024-03-01").available == 3 * len(table[::7])


def _count_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Round trips from here on: ``call`` (single_write wrote), ``refused`` (it wrote
    nothing) or ``statements`` (one trip of the per-statement path)."""
    from customer_value.loyalty.stores._postgres_txn import PostgresTransaction

    trips: list[str] = []
    fetch_all = PostgresTransaction._fetch_all
    single_call = PostgresStore._single_call

    def counted_fetch(self: PostgresTransaction, queries: Any) -> Any:
        trips.append("statements")
        return fetch_all(self, queries)

    def counted_call(self: PostgresStore, params: Any) -> Any:
        result = single_call(self, params)
        trips.append("refused" if result is None else "call")
        return result

    monkeypatch.setattr(PostgresTransaction, "_fetch_all", counted_fetch)
    monkeypatch.setattr(PostgresStore, "_single_call", counted_call)
    return trips


def test_an_earn_or_a_redemption_is_one_round_trip(
    spec: StoreSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each round trip is a network wait and a wake-up of client and server: once the store
    # knows the member's state, an earn or a redemption is one call of single_write
    ledger = Ledger(PROGRAM, spec.open())
    ledger.adjust("m", 500, at="2024-01-01", idempotency_key="warm")
    trips = _count_trips(monkeypatch)
    sale = PurchaseEvent("m", "2024-01-02", Decimal(100), transaction_id="T1")
    earned = ledger.earn(sale, idempotency_key="e")
    assert trips == ["call"]
    trips.clear()
    redeemed = ledger.redeem("m", 50, at="2024-01-03", idempotency_key="r")
    assert trips == ["call"]
    trips.clear()
    # a replay: single_write finds the key and writes nothing; the per-statement path
    # returns the stored receipt (locks + reads, then COMMIT)
    assert ledger.redeem("m", 50, at="2024-01-03", idempotency_key="r") == redeemed
    assert trips == ["refused", "statements", "statements"]
    trips.clear()
    # above the balance: refused by single_write, then by the per-statement path with the
    # usual error (nothing written either time)
    with pytest.raises(InsufficientPointsError, match="550 points available"):
        ledger.redeem("m", 551, at="2024-01-03", idempotency_key="r2")
    assert trips == ["refused", "statements", "statements"]
    assert ledger.balance("m", at="2024-01-04").available == 550
    # the receipts name the entries written, in order
    entries = ledger.entries()
    assert entries["kind"].tolist() == ["adjust", "earn", "redeem"]
    assert entries["entry_id"].tolist()[1:] == [*earned.entry_ids, *redeemed.entry_ids]
    lots = ledger.lots()
    assert lots["entry_id"].tolist() == entries["entry_id"].tolist()[:2]
    check_invariants(ledger)


def test_a_state_changed_by_another_host_is_not_used(
    spec: StoreSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two hosts earn for the same member: each store remembers the state it last wrote;
    # single_write compares it with the stored one under the member's lock and refuses a
    # stale one, and the per-statement path then prices the purchase from the real state
    program = Program.from_dict(
        {
            "name": "p",
            "currency_decimals": 0,
            "base_rate": "1",
            "earn_rules": [{"type": "first_purchase", "points": 50}],
        }
    )
    here, there = Ledger(program, spec.open()), Ledger(program, spec.open())
    sale = [PurchaseEvent("m", f"2024-01-0{i + 1}", Decimal(100)) for i in range(3)]
    assert here.earn(sale[0], idempotency_key="s0").points == 150  # the first purchase
    assert there.earn(sale[1], idempotency_key="s1").points == 100
    trips = _count_trips(monkeypatch)
    assert here.earn(sale[2], idempotency_key="s2").points == 100
    assert trips == ["refused", "statements", "statements"]
    trips.clear()
    assert here.earn(sale[2], idempotency_key="s3").points == 100  # known again: one call
    assert trips == ["call"]
    state = here.store.members_frame().loc["m"]
    assert int(state["qualifying_purchases"]) == 4
    assert int(state["lifetime_earned"]) == 450
    check_invariants(here)


def _back_to_version_5(con: Any, s: str) -> None:
    """Undo versions 6 and 7 in schema ``s`` (quoted), keeping the data: as deployed at
    version 5."""
    from customer_value.loyalty.stores._postgres_schema import MIGRATIONS
    from customer_value.loyalty.stores._postgres_single import SINGLE_WRITE_V4

    con.execute(f"ALTER TABLE {s}.balances DROP COLUMN next_expiry")  # and its index
    con.execute(f"DROP FUNCTION {s}.single_write")
    con.execute(SINGLE_WRITE_V4.replace("{s}", s))
    # the generated column (its indexes go with it), then the indexes of before
    con.execute(f"ALTER TABLE {s}.lots DROP COLUMN has_points, RESET (fillfactor)")
    for index in (
        "lots_member_open ON {s}.lots (member_id, expires_at, earned_at, lot_id)",
        "lots_member_pending ON {s}.lots (member_id, available_at)",
        "lots_due ON {s}.lots (expires_at)",
    ):
        con.execute(f"CREATE INDEX {index.format(s=s)} WHERE remaining > 0")
    con.execute(
        f"CREATE INDEX lots_member_never ON {s}.lots (member_id, earned_at, lot_id) "
        "WHERE remaining > 0 AND expires_at IS NULL"
    )
    version, _, statements = MIGRATIONS[4]
    assert version == 5
    check = next(st for st in statements if "FUNCTION {s}.lots_entry_exists" in st)
    con.execute(check.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").replace("{s}", s))
    con.execute(f"DELETE FROM {s}.schema_migrations WHERE version >= 6")


def test_a_version_5_schema_is_migrated_to_heap_only_lot_updates(spec: StoreSpec) -> None:
    store = spec.open()
    ledger = Ledger(PROGRAM, store)
    ledger.adjust("m", 100, at="2024-01-01", idempotency_key="a")
    ledger.adjust("m", 100, at="2024-01-02", idempotency_key="b")
    ledger.redeem("m", 130, at="2024-01-03", idempotency_key="r")  # the first lot spent
    s = f'"{spec.schema}"'
    with psycopg.connect(spec.target, autocommit=True) as con:
        _back_to_version_5(con, s)
    stale = PostgresStore(spec.target, schema=spec.schema, migrate=False)
    assert stale.schema_version == 5
    assert stale.migrate() == PostgresStore.SCHEMA_VERSION
    # the generated column holds the rule for the lots already there
    rows = spec.query(f"SELECT remaining, has_points FROM {s}.lots ORDER BY lot_id")
    assert rows == [(0, False), (70, True)]
    indexes = dict(
        spec.query(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = '{spec.schema}' "
            "AND tablename = 'lots' AND indexdef LIKE '%WHERE%'"
        )
    )
    assert sorted(indexes) == ["lots_member_never", "lots_member_open", "lots_member_pending"]
    assert all("has_points" in d and "remaining" not in d for d in indexes.values())
    settings = spec.query(
        "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON "
        f"n.oid = p.pronamespace WHERE n.nspname = '{spec.schema}' "
        "AND p.proname IN ('single_write', 'lots_entry_exists') ORDER BY 1"
    )
    assert settings == [("lots_entry_exists", None), ("single_write", None)]
    ledger = Ledger(PROGRAM, stale)
    assert ledger.redeem("m", 20, at="2024-01-04", idempotency_key="r2").points == -20
    assert ledger.balance("m", at="2024-01-05").available == 50
    # points taken from a lot that keeps some: an update in place (no index entries)
    with psycopg.connect(spec.target) as con:
        con.execute(f"UPDATE {s}.lots SET remaining = remaining - 1 WHERE remaining > 1")
        hot = con.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
            f"WHERE schemaname = '{spec.schema}' AND relname = 'lots'"
        ).fetchall()
        con.rollback()
    assert hot == [(1, 1)]
    check_invariants(ledger)


def test_a_version_3_schema_is_migrated_to_the_one_call_write(spec: StoreSpec) -> None:
    store = spec.open()
    Ledger(PROGRAM, store).adjust("m", 500, at="2024-01-01", idempotency_key="a")
    # back to version 3 (as deployed before single_write existed), with its data: the
    # later migrations undone
    s = f'"{spec.schema}"'
    with psycopg.connect(spec.target, autocommit=True) as con:
        _back_to_version_5(con, s)
        con.execute(f"DROP FUNCTION {s}.single_write")
        for trigger, table in (
            ("lots_entry_exists", "lots"),
            ("lots_entry_fixed", "lots"),
            ("entries_no_truncate", "entries"),
        ):
            con.execute(f"DROP TRIGGER {trigger} ON {s}.{table}")
        con.execute(f"DROP FUNCTION {s}.lots_entry_exists, {s}.lots_entry_fixed")
        con.execute(
            f"ALTER TABLE {s}.lots ADD CONSTRAINT lots_entry_id_fkey FOREIGN KEY (entry_id) "
            f"REFERENCES {s}.entries (entry_id)"
        )
        con.execute(f"DELETE FROM {s}.schema_migrations WHERE version >= 4")
    stale = PostgresStore(spec.target, schema=spec.schema, migrate=False)
    latest = PostgresStore.SCHEMA_VERSION
    with pytest.raises(StoreError, match=f"version 3, this library needs {latest}; nothing was"):
        Ledger(PROGRAM, stale).redeem("m", 5, at="2024-01-02", idempotency_key="r")
    assert stale.migrate() == latest
    ledger = Ledger(PROGRAM, stale)
    assert ledger.redeem("m", 5, at="2024-01-02", idempotency_key="r").points == -5
    assert ledger.balance("m", at="2024-01-03").available == 495
    installed = spec.query(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE p.proname = 'single_write' AND n.nspname = '{spec.schema}'"
    )
    assert len(installed) == 1
    check_invariants(ledger)


def test_expiry_runs_find_members_by_a_running_lower_bound_of_their_expiries(
    spec: StoreSpec,
) -> None:
    # balances.next_expiry (version 7) is at or before the earliest expiry of the member's
    # open lots: credits lower it, points given back to a lot lower it, an expiry run sets
    # it to the earliest expiry of what is left; the runs find members through it
    expiring = Program.from_dict({**PROGRAM.to_dict(), "expiry": {"months": 12}})
    store = spec.open()
    ledger = Ledger(expiring, store)
    s = f'"{spec.schema}"'

    def bounds() -> dict[str, Any]:
        rows = spec.query(f"SELECT member_id, next_expiry FROM {s}.balances ORDER BY 1")
        return {m: None if x is None else pd.Timestamp(x).tz_convert(None) for m, x in rows}

    ledger.adjust("a", 100, at="2024-03-01", idempotency_key="a1")
    ledger.adjust("a", 100, at="2024-01-01", idempotency_key="a0")  # backdated: lowers
    ledger.adjust("b", 50, at="2024-02-01", idempotency_key="b0")
    assert bounds() == {"a": pd.Timestamp("2025-01-01"), "b": pd.Timestamp("2025-02-01")}
    spent = ledger.redeem("a", 100, at="2024-06-01", idempotency_key="r")
    assert bounds()["a"] == pd.Timestamp("2025-01-01")  # a lower bound, left as it was
    # due: b's lot; a is visited (its bound) and left with the earliest expiry of its open
    # lots, b with that of the lot the run expires (a bound: visited once more)
    assert ledger.expire_due("2025-02-15").points == -50
    assert bounds() == {"a": pd.Timestamp("2025-03-01"), "b": pd.Timestamp("2025-02-01")}
    # the redemption reversed: its points go back to a lot that expired on 1 January
    ledger.reverse(spent.entry_ids[0], at="2025-02-20", idempotency_key="rev")
    assert bounds()["a"] == pd.Timestamp("2025-01-01")
    assert ledger.expire_due("2025-02-21").points == -100
    assert bounds()["b"] is None  # visited: no open lot left
    assert ledger.expire_due("2025-03-02").points == -100
    assert ledger.expire_due("2025-03-03").points == 0
    assert bounds() == {"a": None, "b": None}
    assert ledger.balance("a", at="2025-03-02").available == 0
    check_invariants(ledger)
    # a version 6 database: the bound is filled in from the open lots by the migration
    ledger.adjust("c", 10, at="2025-01-10", idempotency_key="c0")
    ledger.adjust("c", 10, at="2024-12-10", idempotency_key="c1")
    with psycopg.connect(spec.target, autocommit=True) as con:
        _back_to_version_5(con, s)
    stale = PostgresStore(spec.target, schema=spec.schema, migrate=False)
    assert stale.migrate() == PostgresStore.SCHEMA_VERSION
    assert bounds()["c"] == pd.Timestamp("2025-12-10")
    assert Ledger(expiring, stale).expire_due("2026-01-01").points == -10


def test_a_redemption_reads_only_the_lots_it_needs_once_its_plan_is_generic(
    spec: StoreSpec,
) -> None:
    # One member holds every lot of the schema, as in a table where a few members hold
    # most lots. After five calls PL/pgSQL keeps generic plans for single_write, chosen
    # without the member's id; for the passes over the spendable lots such a plan read all
    # of the member's lots (16-22 ms a redemption at 50,000 lots) until version 7 bounded
    # them by the points still needed. Counted: the lots' tuples the server reads
    never = Program.from_dict({**PROGRAM.to_dict(), "expiry": None})
    n = 3_000
    purchases = pd.DataFrame(
        {
            "member_id": "m",
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), unit="min"),
            "subtotal": 10,
        }
    )
    s = f'"{spec.schema}"'
    with psycopg.connect(spec.target, autocommit=True) as con:
        ledger = Ledger(never, PostgresStore(con, schema=spec.schema))
        ledger.import_transactions(purchases, idempotency_key="import")
        con.execute(f"ANALYZE {s}.lots")

        def lots_read() -> int:
            con.execute("SELECT pg_stat_force_next_flush()")  # before its next query
            with psycopg.connect(spec.target, autocommit=True) as other:
                row = other.execute(
                    "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) "
                    f"FROM pg_stat_user_tables WHERE schemaname = '{spec.schema}' "
                    "AND relname = 'lots'"
                ).fetchone()
            assert row is not None
            return int(row[0])

        end = pd.Timestamp("2024-06-01")
        for i in range(8):  # past the five custom plans
            ledger.redeem("m", 1, at=end, idempotency_key=f"warm{i}")
        before = lots_read()
        for i in range(5):
            assert ledger.redeem("m", 15, at=end, idempotency_key=f"r{i}").points == -15
        read = lots_read() - before
        # each takes 15 points from two lots of 10: a pass reads at most 15 lots (the
        # points still needed) and the two lots taken are updated; not the member's 3,000
        assert read <= 5 * (15 + 2 + 3), read
        assert ledger.balance("m", at=end).available == n * 10 - 8 - 75
        check_invariants(ledger)


def test_the_statements_of_each_migration_are_pinned() -> None:
    # single_write is assembled from the per-statement SQL and the rules of _rules, and
    # version 6's lot column and indexes from the rule HAS_POINTS: a change there changes
    # the statements, which a deployed database only gets from a new migration. Pin the
    # newest migration's digest together with that migration; the statements of older
    # ones never change (a database at version 3 still migrates through version 4's)
    import hashlib

    from customer_value.loyalty.stores._postgres_schema import MIGRATIONS
    from customer_value.loyalty.stores._postgres_single import (
        SINGLE_WRITE_FUNCTION,
        SINGLE_WRITE_V6,
    )

    pinned = {
        4: "d15334e80f927d37ce03c3f261cf9c1e713edcaedad731d663b566e1a525674c",
        6: "8e5381e8de8432d42ae4a4b22a40297ce01c16abd610d33302e5350ecfa6fc04",
        7: "34876862913001682fe4287da3679ab4dcf8190e5ffb17dd5c4af626ba35dfd0",
    }
    for version, digest in pinned.items():
        number, _, statements = MIGRATIONS[version - 1]
        assert number == version
        assert hashlib.sha256("\x00".join(statements).encode()).hexdigest() == digest
    assert SINGLE_WRITE_V6 in MIGRATIONS[5][2]
    assert SINGLE_WRITE_FUNCTION in MIGRATIONS[6][2]
