"""Regression tests for engine bugs found in the issue-8 audit: time zones of text timestamps."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.loyalty import (
    MemberState,
    Program,
    PurchaseEvent,
    advance_state,
    points_for_event,
    points_for_transactions,
)

PROGRAM = Program.from_dict(
    {"name": "p", "base_rate": "1", "currency_decimals": 0, "caps": {"per_day": 150}}
)


def test_text_timestamps_with_an_offset_use_the_local_day_like_one_event() -> None:
    # "2024-01-31 23:30+09:00" and "2024-01-31 08:00+09:00" are the same local day in
    # Tokyo; the text column used to be converted to UTC, splitting them over two days
    stamps = ["2024-01-31T08:00+09:00", "2024-01-31T23:30+09:00"]
    tx = pd.DataFrame({"member_id": ["a", "a"], "timestamp": stamps, "subtotal": [100, 100]})
    got = points_for_transactions(PROGRAM, tx)["points"].tolist()
    state, want = MemberState(), []
    for stamp in stamps:
        event = PurchaseEvent("a", pd.Timestamp(stamp).to_pydatetime(), Decimal(100))
        result = points_for_event(PROGRAM, event, state)
        state = advance_state(PROGRAM, state, event, result)
        want.append(result.points)
    assert got == want == [100, 50]


def test_mixed_utc_offsets_are_refused() -> None:
    tx = pd.DataFrame(
        {
            "member_id": ["a", "a"],
            "timestamp": ["2024-01-31T23:30+09:00", "2024-01-31T20:00-05:00"],
            "subtotal": [100, 100],
        }
    )
    with pytest.raises(InvalidDataError, match="'timestamp' mixes UTC offsets"):
        points_for_transactions(PROGRAM, tx)
