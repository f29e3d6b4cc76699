"""Programme reports from a ledger: tiers, monthly points flow, redemption rate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import as_frame, require_columns
from customer_value.errors import InvalidDataError
from customer_value.loyalty._args import parse_at
from customer_value.loyalty._ledger import Ledger
from customer_value.loyalty._tiers import evaluate_tiers

__all__ = ["FLOW_COLUMNS", "points_flow", "redemption_rate", "tier_report"]

FLOW_COLUMNS = (
    "earned",
    "adjusted",
    "redeemed",
    "clawed_back",
    "expired",
    "reversed",
    "net",
    "outstanding",
)

NO_TIER = "(no tier)"


def _entries(source: Any) -> pd.DataFrame:
    if isinstance(source, Ledger):
        return source.entries()
    frame = as_frame(source, what="entries")
    require_columns(frame, ["kind", "points", "at"], what="entries")
    return frame


def points_flow(source: Any, *, freq: str = "M") -> pd.DataFrame:
    """Points earned, redeemed, expired ... per calendar period.

    Parameters
    ----------
    source : Ledger or DataFrame
        A ledger, or its entries (``Ledger.entries()``: ``kind``, signed
        ``points``, ``at``).
    freq : {"M", "Q", "Y"}, default "M"
        Calendar month, quarter or year.

    Returns
    -------
    DataFrame
        Indexed by period (``pandas.Period``), int64 columns
        :data:`FLOW_COLUMNS`: ``earned`` (earn entries), ``adjusted`` (net
        manual adjustments), ``redeemed``, ``clawed_back`` and ``expired`` (as
        positive numbers), ``reversed`` (net effect of corrections), ``net``
        (change of the points outstanding) and ``outstanding`` (points held at
        the end of the period, net of debts). Periods without entries are
        included with zeros.

    Raises
    ------
    InvalidDataError
        Missing columns, or an unknown ``freq``.

    Notes
    -----
    ``net = earned + adjusted - redeemed - clawed_back - expired + reversed``
    and ``outstanding`` is its running sum.

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> from customer_value.loyalty import points_flow
    >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    >>> _ = ledger.adjust("m1", 100, at="2024-01-05", idempotency_key="a")
    >>> _ = ledger.redeem("m1", 30, at="2024-03-01", idempotency_key="r")
    >>> points_flow(ledger)[["adjusted", "redeemed", "outstanding"]]
             adjusted  redeemed  outstanding
    period
    2024-01       100         0          100
    2024-02         0         0          100
    2024-03         0        30           70
    """
    if freq not in ("M", "Q", "Y"):
        raise InvalidDataError(f"freq must be 'M', 'Q' or 'Y', got {freq!r}")
    entries = _entries(source)
    if len(entries) == 0:
        empty = pd.DataFrame({c: pd.Series(dtype="int64") for c in FLOW_COLUMNS})
        empty.index = pd.PeriodIndex([], freq=freq, name="period")
        return empty
    at = pd.to_datetime(entries["at"])
    period = at.dt.to_period(freq)
    points = entries["points"].astype("int64")
    table = (
        pd.DataFrame({"period": period, "kind": entries["kind"].astype(str), "points": points})
        .groupby(["period", "kind"])["points"]
        .sum()
        .unstack("kind", fill_value=0)
    )
    full = pd.period_range(table.index.min(), table.index.max(), freq=freq, name="period")
    table = table.reindex(full, fill_value=0)

    def col(kind: str) -> pd.Series:
        if kind in table.columns:
            return table[kind].astype("int64")
        return pd.Series(0, index=table.index, dtype="int64")

    out = pd.DataFrame(
        {
            "earned": col("earn"),
            "adjusted": col("adjust"),
            "redeemed": -col("redeem"),
            "clawed_back": -col("clawback"),
            "expired": -col("expire"),
            "reversed": col("reversal"),
        }
    )
    out["net"] = (
        out["earned"]
        + out["adjusted"]
        - out["redeemed"]
        - out["clawed_back"]
        - out["expired"]
        + out["reversed"]
    )
    out["outstanding"] = out["net"].cumsum()
    return out.astype("int64")


def redemption_rate(source: Any) -> float:
    """Points redeemed as a share of points issued.

    Parameters
    ----------
    source : Ledger or DataFrame
        A ledger or its entries.

    Returns
    -------
    float
        ``redeemed / issued``; issued counts earn entries and positive
        adjustments, redeemed is net of reversed redemptions (identified
        through ``reference`` when the entries carry it, otherwise every
        positive reversal).

    Raises
    ------
    InvalidDataError
        Nothing was issued yet, or missing columns.

    Notes
    -----
    The complement over *settled* points (redeemed or expired) is
    :func:`~customer_value.loyalty.accounting.breakage_rate`.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty import redemption_rate
    >>> entries = pd.DataFrame({"kind": ["earn", "redeem", "earn"], "points": [300, -90, 100],
    ...                         "at": pd.to_datetime(["2024-01-01"] * 3)})
    >>> redemption_rate(entries)
    0.225
    """
    entries = _entries(source)
    kinds = entries["kind"].astype(str).to_numpy()
    points = entries["points"].to_numpy(dtype=np.int64)
    issued = points[kinds == "earn"].sum() + points[(kinds == "adjust") & (points > 0)].sum()
    if issued <= 0:
        raise InvalidDataError("no points were issued yet: the redemption rate is undefined")
    is_reversal = kinds == "reversal"
    if "reference" in entries.columns and "entry_id" in entries.columns:
        # only reversals of redemptions give redeemed points back (not those of debits)
        redeem_ids = entries.loc[kinds == "redeem", "entry_id"].astype("int64")
        refs = pd.to_numeric(entries["reference"], errors="coerce")
        is_reversal &= refs.isin(redeem_ids).to_numpy()
    else:
        is_reversal &= points > 0
    redeemed = -points[kinds == "redeem"].sum() - points[is_reversal].sum()
    return float(redeemed / issued)


def tier_report(ledger: Ledger, at: Any) -> pd.DataFrame:
    """Members and points per tier at ``at``.

    Parameters
    ----------
    ledger : Ledger
        A ledger whose program has tiers (without tiers every member is in
        ``"(no tier)"``).
    at : datetime-like
        Evaluation instant (tier window end; lots expired by then are not
        counted, entries effective after it are left out).

    Returns
    -------
    DataFrame
        Indexed by tier (the program's levels in order, then ``"(no tier)"``):
        ``members``, ``points`` (unexpired points held at ``at``, net of debts),
        ``points_per_member``.

    Raises
    ------
    InvalidDataError
        Bad ledger or time.

    Notes
    -----
    Tiers come from :func:`~customer_value.loyalty.evaluate_tiers` on every
    member's earn, clawback and earn-reversal entries, starting from the tier
    recorded for each member (downgrade policy).

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program, tier_report
    >>> program = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 0,
    ...     "tiers": {"basis": "points", "levels": [{"name": "silver", "threshold": 500}]}})
    >>> ledger = Ledger(program, MemoryStore())
    >>> tx = pd.DataFrame({"member_id": ["a", "b", "c"], "subtotal": [800, 100, 50],
    ...                    "timestamp": pd.to_datetime(["2024-01-02"] * 3)})
    >>> _ = ledger.import_transactions(tx, idempotency_key="jan")
    >>> tier_report(ledger, at="2024-02-01")
               members  points  points_per_member
    tier
    silver           1     800              800.0
    (no tier)        2     150               75.0
    """
    if not isinstance(ledger, Ledger):
        raise InvalidDataError(f"ledger must be a Ledger, got {type(ledger).__name__}")
    when = pd.Timestamp(parse_at(at, "at"), unit="ns")
    members = ledger.store.members_frame()
    entries = ledger.entries()
    ids = pd.Index(sorted(set(members.index) | set(entries["member_id"])), name="member_id")
    # the ledger as it stood at ``when``: entries effective by then, their allocations
    known = entries[entries["at"] <= when]
    alloc = ledger.store.allocations_frame()
    used = alloc[alloc["entry_id"].isin(known["entry_id"])].groupby("lot_id")["points"].sum()
    lots = ledger.lots()
    lots = lots[lots["earned_at"] <= when]
    left = lots["points"] - lots["lot_id"].map(used).fillna(0).astype("int64")
    alive = (left > 0) & (lots["expires_at"].isna() | (lots["expires_at"] > when))
    held = left[alive].groupby(lots.loc[alive, "member_id"]).sum()
    # debt = lots - entries (the ledger invariant), as of ``when``
    debt = left.groupby(lots["member_id"]).sum().reindex(ids, fill_value=0) - known.groupby(
        "member_id"
    )["points"].sum().reindex(ids, fill_value=0)
    held = (held.reindex(ids, fill_value=0) - debt).astype("int64")
    program = ledger.program
    levels: list[str] = []
    if program.tiers is None or len(ids) == 0:
        tier = pd.Series(NO_TIER, index=ids, dtype=object)
    else:
        levels = [lv.name for lv in program.tiers.levels]
        hist = entries[entries["amount_minor"].notna() & (entries["at"] <= when)]
        value_col = program.tiers.basis
        if value_col == "spend":
            scale = Decimal(1).scaleb(-program.currency_decimals)
            values: pd.Series = pd.Series(
                [Decimal(int(v)) * scale for v in hist["amount_minor"].tolist()],
                index=hist.index,
                dtype=object,
            )
        else:
            values = hist["points"].astype("int64")
        history = pd.DataFrame(
            {"member_id": hist["member_id"], "timestamp": hist["at"], value_col: values}
        )
        current = None
        if "tier" in members.columns:
            cur = members[["tier"]].copy()
            if "tier_since" in members.columns:
                cur["tier_since"] = pd.to_datetime(pd.to_numeric(members["tier_since"]), unit="ns")
            current = cur[cur["tier"].notna()]
            if len(current) == 0:
                current = None
        if len(history) == 0 and current is None:
            tier = pd.Series(NO_TIER, index=ids, dtype=object)
        else:
            evaluated = evaluate_tiers(program, history, when, current=current)
            tier = evaluated["tier"].reindex(ids).fillna(NO_TIER).astype(object)
    order = [*levels, NO_TIER]
    grouped = pd.DataFrame({"tier": tier, "points": held}).groupby("tier")
    report = pd.DataFrame({"members": grouped.size(), "points": grouped["points"].sum()}).reindex(
        order, fill_value=0
    )
    report = report.astype("int64")
    report.index.name = "tier"
    counts = report["members"].replace(0, np.nan)
    report["points_per_member"] = (report["points"] / counts).fillna(0.0)
    return report
