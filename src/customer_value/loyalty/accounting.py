"""IFRS 15 / ASC 606 accounting for loyalty points (customer options, material rights).

Points granted with a sale are a separate performance obligation when they give
the customer a material right (IFRS 15.B39-B43, ASC 606-10-55-41 to 45): part of
the transaction price is allocated to them on relative stand-alone selling
prices and recognised as revenue when points are redeemed (or lapse), in
proportion to the points expected to be redeemed. The worked example is IFRS 15
Illustrative Example 52 (paragraphs IE267-IE270), reproduced exactly by
:func:`allocate_transaction_price` and :func:`points_revenue_schedule`.

Money is :class:`decimal.Decimal` throughout; rounding is half-up to
``decimals`` places (0 reproduces the currency-unit figures of the standard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from customer_value._validation import as_frame, require_columns
from customer_value.errors import InvalidDataError

if TYPE_CHECKING:
    from customer_value.loyalty._ledger import Ledger

__all__ = [
    "PointsLiability",
    "PriceAllocation",
    "allocate_transaction_price",
    "breakage_rate",
    "points_liability",
    "points_revenue_schedule",
]


def _decimal(value: Any, name: str, *, positive: bool = False, allow_zero: bool = True) -> Decimal:
    if isinstance(value, (bool, float)):
        raise InvalidDataError(
            f"{name} must be a Decimal, int or decimal string (floats are inexact for money), "
            f"got {value!r}"
        )
    try:
        out = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidDataError(f"{name} must be a number, got {value!r}") from None
    if not out.is_finite():
        raise InvalidDataError(f"{name} must be finite, got {value!r}")
    if out < 0 or (not allow_zero and out == 0) or (positive and out <= 0):
        bound = "> 0" if (positive or not allow_zero) else ">= 0"
        raise InvalidDataError(f"{name} must be {bound}, got {out}")
    return out


def _decimals_arg(decimals: Any) -> Decimal:
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise InvalidDataError(f"decimals must be an integer, got {decimals!r}")
    if not 0 <= int(decimals) <= 8:
        raise InvalidDataError(f"decimals must be between 0 and 8, got {decimals}")
    return Decimal(1).scaleb(-int(decimals))


def _round(value: Decimal, quantum: Decimal) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PriceAllocation:
    """A transaction price split between the goods and the points.

    Parameters
    ----------
    product : Decimal
        Revenue recognised for the goods at the sale.
    points : Decimal
        Contract liability for the points (deferred revenue).
    points_share : Decimal
        ``points_standalone_value / (product_standalone_value + points_standalone_value)``.

    Examples
    --------
    >>> from customer_value.loyalty.accounting import allocate_transaction_price
    >>> allocate_transaction_price(1000, 100, decimals=2).points
    Decimal('90.91')
    """

    product: Decimal
    points: Decimal
    points_share: Decimal


def allocate_transaction_price(
    sale_amount: Any,
    points_standalone_value: Any,
    *,
    product_standalone_value: Any = None,
    decimals: int = 2,
) -> PriceAllocation:
    """Split a sale between goods and points on relative stand-alone selling prices.

    Parameters
    ----------
    sale_amount : Decimal
        The transaction price (consideration received), > 0.
    points_standalone_value : Decimal
        Stand-alone selling price of the points granted, already reduced for
        the likelihood of redemption (IFRS 15.B42), >= 0.
    product_standalone_value : Decimal, optional
        Stand-alone selling price of the goods; default ``sale_amount``.
    decimals : int, default 2
        Decimal places of the rounded allocation (0 for whole currency units).

    Returns
    -------
    PriceAllocation
        ``points`` rounded half-up, ``product = sale_amount - points`` (the two
        add up to the sale exactly).

    Raises
    ------
    InvalidDataError
        Non-positive sale, negative values, float money, bad ``decimals``.

    Notes
    -----
    IFRS 15.73-80 (allocation on relative stand-alone selling prices):

    .. math::

        A_{points} = P \\cdot \\frac{S_{points}}{S_{product} + S_{points}},
        \\qquad A_{product} = P - A_{points}.

    References
    ----------
    IFRS Foundation (2014). *IFRS 15 Revenue from Contracts with Customers*,
    paragraphs 73-80 and B39-B43; Illustrative Example 52, IE267-IE268.

    Examples
    --------
    IFRS 15 Example 52: sales of CU100,000 earn 10,000 points with a
    stand-alone selling price of CU9,500 (9,500 expected redemptions x CU1):

    >>> from customer_value.loyalty.accounting import allocate_transaction_price
    >>> a = allocate_transaction_price(100_000, 9_500, decimals=0)
    >>> a.points, a.product
    (Decimal('8676'), Decimal('91324'))
    """
    quantum = _decimals_arg(decimals)
    sale = _decimal(sale_amount, "sale_amount", positive=True)
    points_value = _decimal(points_standalone_value, "points_standalone_value")
    product_value = (
        sale
        if product_standalone_value is None
        else _decimal(product_standalone_value, "product_standalone_value", positive=True)
    )
    share = points_value / (product_value + points_value)
    points = _round(sale * share, quantum)
    return PriceAllocation(product=sale - points, points=points, points_share=share)


def points_revenue_schedule(
    points_allocation: Any,
    cumulative_redeemed: Sequence[Any],
    expected_total_redemptions: Sequence[Any] | Any,
    *,
    periods: Sequence[Any] | None = None,
    decimals: int = 2,
) -> pd.DataFrame:
    """Revenue recognised on points per period and the remaining contract liability.

    Parameters
    ----------
    points_allocation : Decimal
        Transaction price allocated to the points
        (:func:`allocate_transaction_price`).
    cumulative_redeemed : sequence of int
        Points redeemed since the grant, cumulative at the end of each period
        (non-decreasing, >= 0).
    expected_total_redemptions : int or sequence of int
        Total points expected to be redeemed, as estimated at the end of each
        period (one value for all periods, or one per period); each >= the
        cumulative redemptions of its period and > 0.
    periods : sequence, optional
        Labels of the periods (default 1, 2, ...).
    decimals : int, default 2
        Decimal places of the rounded cumulative revenue.

    Returns
    -------
    DataFrame
        Indexed by period: ``cumulative_redeemed``,
        ``expected_total_redemptions``, ``cumulative_revenue``, ``revenue``
        (this period) and ``contract_liability`` (end of period); money columns
        hold ``Decimal``.

    Raises
    ------
    InvalidDataError
        Lengths differ, redemptions decrease or exceed the expectation, float
        money, bad ``decimals``.

    Notes
    -----
    A change of estimate is handled prospectively through the cumulative
    catch-up (IFRS 15.IE269-IE270): with allocation ``A``, cumulative
    redemptions ``R_t`` and expected redemptions ``E_t``,

    .. math::

        C_t = \\operatorname{round}(A \\cdot R_t / E_t), \\qquad
        \\text{revenue}_t = C_t - C_{t-1}, \\qquad
        \\text{liability}_t = A - C_t .

    Rounding the cumulative figure (not each period's) keeps the periods
    summing to the cumulative revenue.

    References
    ----------
    IFRS Foundation (2014). *IFRS 15 Revenue from Contracts with Customers*,
    Illustrative Example 52 "Customer loyalty programme", IE267-IE270.

    Examples
    --------
    IFRS 15 Example 52: year 1, 4,500 of 9,500 expected points redeemed; year 2,
    8,500 cumulative of 9,700 now expected:

    >>> from customer_value.loyalty.accounting import points_revenue_schedule
    >>> schedule = points_revenue_schedule(8_676, [4_500, 8_500], [9_500, 9_700], decimals=0,
    ...                                    periods=["year 1", "year 2"])
    >>> schedule[["cumulative_revenue", "revenue", "contract_liability"]]
           cumulative_revenue revenue contract_liability
    period
    year 1               4110    4110               4566
    year 2               7603    3493               1073
    """
    quantum = _decimals_arg(decimals)
    allocation = _decimal(points_allocation, "points_allocation")
    redeemed = list(cumulative_redeemed)
    n = len(redeemed)
    if n == 0:
        raise InvalidDataError("cumulative_redeemed is empty: at least one period is needed")
    if isinstance(expected_total_redemptions, (str, bytes)) or not hasattr(
        expected_total_redemptions, "__len__"
    ):
        expected = [expected_total_redemptions] * n
    else:
        expected = list(expected_total_redemptions)
    if len(expected) != n:
        raise InvalidDataError(
            f"expected_total_redemptions has {len(expected)} values for {n} periods"
        )
    labels = list(range(1, n + 1)) if periods is None else list(periods)
    if len(labels) != n:
        raise InvalidDataError(f"periods has {len(labels)} labels for {n} periods")
    rows = []
    previous_r = Decimal(0)
    previous_c = Decimal(0)
    for i in range(n):
        r = _decimal(redeemed[i], f"cumulative_redeemed[{i}]")
        e = _decimal(expected[i], f"expected_total_redemptions[{i}]", positive=True)
        if r < previous_r:
            raise InvalidDataError(
                f"cumulative_redeemed must not decrease; period {i} has {r} after {previous_r}"
            )
        if r > e:
            raise InvalidDataError(
                f"cumulative_redeemed[{i}] = {r} exceeds expected_total_redemptions[{i}] = {e}"
            )
        cumulative = _round(allocation * r / e, quantum)
        rows.append(
            {
                "cumulative_redeemed": int(r) if r == r.to_integral_value() else r,
                "expected_total_redemptions": int(e) if e == e.to_integral_value() else e,
                "cumulative_revenue": cumulative,
                "revenue": cumulative - previous_c,
                "contract_liability": allocation - cumulative,
            }
        )
        previous_r, previous_c = r, cumulative
    frame = pd.DataFrame(rows, index=pd.Index(labels, name="period"))
    return frame


def breakage_rate(
    history: Any,
    *,
    kind_col: str = "kind",
    points_col: str = "points",
) -> float:
    """Share of points that lapse unredeemed, estimated from ledger history.

    Parameters
    ----------
    history : DataFrame or mapping of column name to array
        Ledger entries (:meth:`Ledger.entries <customer_value.loyalty.Ledger.entries>`
        or ``Ledger.history``): ``kind_col`` and signed ``points_col``.
    kind_col, points_col : str
        Column names.

    Returns
    -------
    float
        ``expired / (redeemed + expired)`` in [0, 1].

    Raises
    ------
    InvalidDataError
        Missing columns, or no point was redeemed or expired yet (no evidence).

    Notes
    -----
    Points whose fate is settled were either redeemed or expired; the
    breakage estimate is the expired share of them,

    .. math::

        b = \\frac{X}{D + X}, \\quad D = -\\sum \\text{redeem} - \\sum
        \\text{reversal}^{-}, \\quad X = -\\sum \\text{expire},

    where reversals of redemptions (``reversal`` entries with positive points)
    reduce ``D``. ``1 - b`` times the points issued is the "expected
    redemptions" of :func:`points_revenue_schedule` (IFRS 15.B46: breakage is
    recognised in proportion to the pattern of rights exercised when the
    entity expects to be entitled to it).

    References
    ----------
    IFRS Foundation (2014). *IFRS 15*, B44-B47 (customers' unexercised rights).

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty.accounting import breakage_rate
    >>> entries = pd.DataFrame({"kind": ["earn", "redeem", "expire", "earn"],
    ...                         "points": [1000, -600, -150, 500]})
    >>> breakage_rate(entries)
    0.2
    """
    frame = as_frame(history, what="history")
    require_columns(frame, [kind_col, points_col], what="history")
    kinds = frame[kind_col].astype(str).to_numpy()
    points = pd.to_numeric(frame[points_col], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(points))
    if bad.size:
        pos = int(bad[0])
        raise InvalidDataError(
            f"column {points_col!r}: row {pos} is not a number: {frame[points_col].iloc[pos]!r}"
        )
    redeemed = -points[kinds == "redeem"].sum()
    reversal = points[kinds == "reversal"]
    redeemed -= reversal[reversal > 0].sum()
    expired = -points[kinds == "expire"].sum()
    settled = redeemed + expired
    if settled <= 0:
        raise InvalidDataError(
            "history has no redeemed or expired points: breakage cannot be estimated yet"
        )
    return float(expired / settled)


@dataclass(frozen=True)
class PointsLiability:
    """Outstanding points and the contract liability they carry.

    Parameters
    ----------
    at : pandas.Timestamp
        Measurement date.
    outstanding_points : int
        Unexpired points held by members (spendable and pending, net of debts).
    expected_redemptions : Decimal
        ``outstanding_points * (1 - breakage)``.
    value_per_point : Decimal
        Transaction price allocated per point expected to be redeemed.
    liability : Decimal
        ``expected_redemptions * value_per_point``, rounded.

    Examples
    --------
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> from customer_value.loyalty.accounting import points_liability
    >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    >>> _ = ledger.adjust("m1", 200, at="2024-01-01", idempotency_key="a")
    >>> points_liability(ledger, "2024-12-31", value_per_point="0.5").liability
    Decimal('100.00')
    """

    at: pd.Timestamp
    outstanding_points: int
    expected_redemptions: Decimal
    value_per_point: Decimal
    liability: Decimal


def points_liability(
    ledger: Ledger,
    at: Any,
    *,
    value_per_point: Any,
    breakage: Any = 0,
    decimals: int = 2,
) -> PointsLiability:
    """Contract liability for the points outstanding in a ledger at ``at``.

    Parameters
    ----------
    ledger : Ledger
        The ledger.
    at : datetime-like
        Measurement date (for example the year end). The figure is
        reconstructed from the journal as it stood at ``at`` (later entries
        are ignored); lots expired by then are not outstanding, whether or not
        :meth:`Ledger.expire_due <customer_value.loyalty.Ledger.expire_due>`
        had run.
    value_per_point : Decimal
        Transaction price allocated per point expected to be redeemed (the
        allocation divided by the expected redemptions).
    breakage : Decimal or str, default 0
        Share of the outstanding points not expected to be redeemed, in [0, 1)
        (for example from :func:`breakage_rate`; a float is converted through
        its shortest ``repr``).
    decimals : int, default 2
        Decimal places of the liability.

    Returns
    -------
    PointsLiability
        Outstanding points, expected redemptions and the liability.

    Raises
    ------
    InvalidDataError
        Bad ledger, time, value or breakage.

    Notes
    -----
    .. math::

        L = v \\cdot N \\cdot (1 - b)

    with ``N`` outstanding points, ``b`` breakage and ``v`` the value per
    expected redemption. It equals the allocation not yet recognised as
    revenue in :func:`points_revenue_schedule` when ``v``, ``b`` and ``N``
    describe the same grant (IFRS 15.IE269).

    References
    ----------
    IFRS Foundation (2014). *IFRS 15*, B39-B43, IE267-IE270.

    Examples
    --------
    Example 52 at the end of year 1: 10,000 points granted, 4,500 redeemed,
    9,500 expected in total, CU8,676 allocated.

    >>> from decimal import Decimal
    >>> from customer_value.loyalty import Ledger, MemoryStore, Program
    >>> from customer_value.loyalty.accounting import points_liability
    >>> ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    >>> _ = ledger.adjust("customers", 10_000, at="2024-01-01", idempotency_key="grant")
    >>> _ = ledger.redeem("customers", 4_500, at="2024-06-01", idempotency_key="year-1")
    >>> result = points_liability(ledger, "2024-12-31", value_per_point=Decimal(8676) / 9500,
    ...                           breakage=Decimal(500) / 5500, decimals=0)
    >>> result.outstanding_points, result.liability
    (5500, Decimal('4566'))
    """
    from customer_value.loyalty._args import parse_at
    from customer_value.loyalty._ledger import Ledger

    if not isinstance(ledger, Ledger):
        raise InvalidDataError(f"ledger must be a Ledger, got {type(ledger).__name__}")
    quantum = _decimals_arg(decimals)
    at_ns = parse_at(at, "at")
    value = _decimal(value_per_point, "value_per_point")
    rate = _decimal(str(breakage) if isinstance(breakage, float) else breakage, "breakage")
    if rate >= 1:
        raise InvalidDataError(f"breakage must be in [0, 1), got {rate}")
    when = pd.Timestamp(at_ns, unit="ns")
    entries = ledger.entries()
    past = entries["at"] <= when
    # the journal's signed sum is the points held (net of debts) at `when` ...
    outstanding = int(entries.loc[past, "points"].sum())
    # ... minus what sat in lots already expired at `when` but not yet written off by then
    lots = ledger.lots()
    lapsed = lots[(lots["earned_at"] <= when) & (lots["expires_at"] <= when)]
    if len(lapsed):
        alloc = ledger.store.allocations_frame()
        alloc = alloc.merge(entries[["entry_id", "at"]], on="entry_id", how="left")
        used = alloc[alloc["at"] <= when].groupby("lot_id")["points"].sum()
        left = lapsed["points"] - lapsed["lot_id"].map(used).fillna(0).astype("int64")
        outstanding -= int(left.clip(lower=0).sum())
    expected = Decimal(outstanding) * (1 - rate)
    return PointsLiability(
        at=when,
        outstanding_points=outstanding,
        expected_redemptions=expected,
        value_per_point=value,
        liability=_round(expected * value, quantum),
    )
