"""cap_contacts: hand-computed plan, a pandas oracle, properties (cap, idempotence), errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_value.churn import cap_contacts
from customer_value.errors import InvalidDataError


@pytest.fixture
def plan() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 2, 1, 1, 1],
            "timestamp": pd.to_datetime(
                [
                    "2024-03-01",
                    "2024-03-05",
                    "2024-03-09",
                    "2024-03-09",
                    "2024-03-02",
                    "2024-04-01",
                    "2024-11-01",
                    "2024-11-02",
                    "2024-11-03",
                ]
            ),
            "channel": ["sms", "email", "app", "email", "sms", "sms", "app", "sms", "email"],
            "priority": [1, 3, 3, 2, 1, 1, 1, 1, 1],
        }
    )


def test_hand_computed(plan: pd.DataFrame) -> None:
    result = cap_contacts(plan, max_per_period=2, priority_col="priority")
    # customer 1 in March: priorities 3 (Mar 5) and 3 (Mar 9) win; 2 and 1 are dropped.
    # November: three contacts, only the earliest two (equal priority, ties by time)
    assert result.kept.index.tolist() == [1, 2, 4, 5, 6, 7]
    assert result.dropped.index.tolist() == [0, 3, 8]
    assert result.dropped["rank_in_period"].tolist() == [4, 3, 3]
    assert result.dropped["period"].tolist() == ["2024-03", "2024-03", "2024-11"]
    assert set(result.dropped["reason"]) == {"frequency_cap"}
    assert result.report.loc["2024-03"].tolist() == [5, 0, 3, 2, 1]
    assert result.report.loc["2024-11", "dropped"] == 1
    assert result.report["planned"].sum() == len(plan)
    assert repr(result) == "ContactPlan(kept=6, dropped=3, max_per_period=2)"


def test_exempt_period_and_no_priority(plan: pd.DataFrame) -> None:
    result = cap_contacts(plan, max_per_period=1, exempt_periods=["2024-11"])
    # no priority: the earliest contact of each customer and month is kept
    assert result.kept.index.tolist() == [0, 4, 5, 6, 7, 8]
    assert result.report.loc["2024-11"].tolist() == [3, 3, 3, 0, 0]
    # a date inside the period or a Period object work the same
    for label in (pd.Period("2024-11", "M"), "2024-11-15"):
        again = cap_contacts(plan, max_per_period=1, exempt_periods=[label])
        assert again.kept.index.tolist() == result.kept.index.tolist()
    # a single label is one period, not an iterable of characters ('2', '0', ...)
    for single in ("2024-11", pd.Period("2024-11", "M")):
        alone = cap_contacts(plan, max_per_period=1, exempt_periods=single)
        assert alone.kept.index.tolist() == result.kept.index.tolist()


def test_weekly_cap_and_zero(plan: pd.DataFrame) -> None:
    assert len(cap_contacts(plan, max_per_period=0).kept) == 0
    weekly = cap_contacts(plan, max_per_period=1, period="W")
    # Mar 1 (Fri) and Mar 5/9 (Tue/Sat) are in different weeks
    assert weekly.kept.index.tolist() == [0, 1, 4, 5, 6]


def _oracle(frame: pd.DataFrame, cap: int) -> list[int]:
    month = frame["timestamp"].dt.to_period("M")
    ordered = frame.assign(month=month, row=np.arange(len(frame))).sort_values(
        ["customer_id", "month", "priority", "timestamp", "row"],
        ascending=[True, True, False, True, True],
    )
    rank = ordered.groupby(["customer_id", "month"]).cumcount()
    return sorted(ordered.index[rank < cap].tolist())


contacts = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.datetimes(min_value=pd.Timestamp("2023-12-25"), max_value=pd.Timestamp("2024-03-05")),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=60,
)


@given(contacts, st.integers(0, 4))
def test_properties(rows: list[tuple[int, object, int]], cap: int) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "priority"])
    result = cap_contacts(frame, max_per_period=cap, priority_col="priority")
    per = result.kept.groupby(
        [result.kept["customer_id"], result.kept["timestamp"].dt.to_period("M")]
    ).size()
    assert (per <= cap).all()  # never exceeds the cap
    assert len(result.kept) + len(result.dropped) == len(frame)
    assert sorted(result.kept.index) == _oracle(frame, cap)
    again = cap_contacts(result.kept, max_per_period=cap, priority_col="priority")
    pd.testing.assert_frame_equal(again.kept, result.kept)  # idempotent
    assert len(again.dropped) == 0
    if len(result.dropped):
        # everything dropped lost to at least `cap` contacts kept in its (customer, month)
        assert (result.dropped["rank_in_period"] > cap).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"period": "monthly"}, "unknown period 'monthly'"),
        ({"max_per_period": -1}, "max_per_period must be >= 0, got -1"),
        ({"max_per_period": 1.5}, "max_per_period must be a whole number, got 1.5"),
        ({"exempt_periods": ["not a month"]}, "exempt_periods: could not read 'not a month'"),
        ({"priority_col": "rank"}, "missing column\\(s\\) 'rank'"),
        ({"priority_col": "channel"}, "'channel' must be numeric; row 0.*'sms'"),
    ],
)
def test_bad_input(plan: pd.DataFrame, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        cap_contacts(plan, **kwargs)  # type: ignore[arg-type]


def test_missing_customer(plan: pd.DataFrame) -> None:
    bad = plan.astype({"customer_id": object})
    bad.loc[4, "customer_id"] = None
    with pytest.raises(InvalidDataError, match="'customer_id' must not be missing; row 4"):
        cap_contacts(bad)


def test_month_label_exempts_its_own_days_under_a_weekly_cap() -> None:
    # weekly cap of 1; the promotion month is November 2024. Weeks run Monday-Sunday:
    # Oct 28 - Nov 3 is partly in October, whose days are still capped.
    days = [
        "2024-10-29",
        "2024-10-30",
        "2024-11-02",
        "2024-11-12",
        "2024-11-13",
        "2024-11-26",
        "2024-11-27",
        "2024-12-03",
        "2024-12-04",
    ]
    plan = pd.DataFrame({"customer_id": 1, "timestamp": pd.to_datetime(days)})
    for label in ("2024-11", pd.Period("2024-11", "M")):
        result = cap_contacts(plan, max_per_period=1, period="W", exempt_periods=[label])
        assert result.kept.index.tolist() == [0, 2, 3, 4, 5, 6, 7]
        assert result.dropped.index.tolist() == [1, 8]
        assert result.report["exempt"].sum() == 5
    # a date, or a day label, is the one week containing it
    for label in ("2024-11-12", pd.Timestamp("2024-11-14")):
        result = cap_contacts(plan, max_per_period=1, period="W", exempt_periods=[label])
        assert result.kept.index.tolist() == [0, 3, 4, 5, 7]
    # a month label under a quarterly cap stands for its quarter (documented)
    result = cap_contacts(plan, max_per_period=1, period="Q", exempt_periods="2024-11")
    assert len(result.dropped) == 0
    assert len(cap_contacts(plan, max_per_period=1, period="Q").kept) == 1
