"""Idempotency records: requests stored by earlier versions still replay; the JSON texts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given

from customer_value.errors import IdempotencyConflictError
from customer_value.loyalty import (
    Ledger,
    LedgerReceipt,
    MemoryStore,
    Program,
    PurchaseEvent,
    SQLiteStore,
    Store,
)
from customer_value.loyalty._receipts import sorted_json

PROGRAM = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 2})

#: (key, fingerprint, result) as the code before the single-write speed-ups (commit
#: 1eb1569) stored them for the four calls of ``_calls``
STORED = [
    (
        "e1",
        "bd140c9dc75d9dd5cfd99934cc9905eff55bbb570cbc3969d7328b18b301559c",
        '{"at": 1709289000000000000, "entry_ids": [1], "member_id": "m1", '
        '"operation": "earn", "points": 11, "shortfall": 0}',
    ),
    (
        "r1",
        "98764e09ab7c07b7b631060d000f9a8e61c7091487bde20517a39acceace39a3",
        '{"at": 1709337600000000000, "entry_ids": [2], "member_id": "m1", '
        '"operation": "redeem", "points": -5, "shortfall": 0}',
    ),
    (
        "a1",
        "fb42ee0bce041e4496baff9282845bf53a9bef5a8819a0dda0b9cedd9b65eeb8",
        '{"at": 1709424000000000000, "entry_ids": [3], "member_id": "m1", '
        '"operation": "adjust", "points": 7, "shortfall": 0}',
    ),
    (
        "r2",
        "22cae1c1d8ad7dd69b1baa32c3541dcb151b91f4b50ea361201be18288fe1214",
        '{"at": 1796142662765697000, "entry_ids": [4], "member_id": "m1", '
        '"operation": "redeem", "points": -1, "shortfall": 0}',
    ),
]


def _calls(ledger: Ledger) -> list[LedgerReceipt]:
    event = PurchaseEvent(
        "m1",
        dt.datetime(2024, 3, 1, 10, 30),
        Decimal("12.50"),
        discount=Decimal("1.25"),
        category="fresh",
        transaction_id="T1",
    )
    return [
        ledger.earn(event, idempotency_key="e1"),
        ledger.redeem("m1", 5, at="2024-03-02", idempotency_key="r1", note="coffee"),
        ledger.adjust("m1", 7, at=dt.datetime(2024, 3, 3), reason="goodwill", idempotency_key="a1"),
        ledger.redeem("m1", 1, idempotency_key="r2"),  # "now": not part of the fingerprint
    ]


def _store(kind: str, tmp_path: Path) -> Store:
    return MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "l.db")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_fingerprints_and_results_as_stored_by_earlier_versions(kind: str, tmp_path: Path) -> None:
    store = _store(kind, tmp_path)
    _calls(Ledger(PROGRAM, store))
    with store.transaction() as txn:
        stored = [(key, *(txn.idempotency_get(key) or ("", ""))) for key, _, _ in STORED]
    assert [(k, f) for k, f, _ in stored] == [(k, f) for k, f, _ in STORED]
    # the results of the first three (the fourth was at "now")
    assert [r for _, _, r in stored[:3]] == [r for _, _, r in STORED[:3]]
    store.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_requests_stored_by_earlier_versions_replay(kind: str, tmp_path: Path) -> None:
    store = _store(kind, tmp_path)
    with store.transaction() as txn:
        for key, fingerprint, result in STORED:
            txn.idempotency_put(key, fingerprint, result, 0)
    ledger = Ledger(PROGRAM, store)
    receipts = _calls(ledger)
    assert [r._to_json() for r in receipts] == [r for _, _, r in STORED]
    assert len(ledger.history("m1")) == 0  # replays write nothing
    with pytest.raises(IdempotencyConflictError):
        ledger.redeem("m1", 6, at="2024-03-02", idempotency_key="r1", note="coffee")
    store.close()


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.decimals(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(_JSON_VALUES)
def test_sorted_json_is_json_dumps(value: Any) -> None:
    assert sorted_json(str)(value) == json.dumps(value, sort_keys=True, default=str)
    try:
        expected = json.dumps(value, sort_keys=True)
    except TypeError:  # a Decimal without ``default``: refused the same way
        with pytest.raises(TypeError):
            sorted_json()(value)
    else:
        assert sorted_json()(value) == expected
