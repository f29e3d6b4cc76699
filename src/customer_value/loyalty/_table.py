"""The vectorised table path of the points engine: a million purchases at once.

Identical results to :func:`~customer_value.loyalty.points_for_event` replayed in
time order with :func:`~customer_value.loyalty.advance_state`: the per-row work is
integer arithmetic on minor units, the multipliers are combined exactly once
per distinct combination, and the rules (rounding, limits, multipliers) are the
ones of :mod:`customer_value.loyalty._rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from customer_value._validation import as_frame, describe_row, first_bad, require_columns
from customer_value.errors import InvalidDataError
from customer_value.loyalty._columns import money_minor, timestamps_ns
from customer_value.loyalty._policies import MAX_POINTS
from customer_value.loyalty._program import Program
from customer_value.loyalty._rules import (
    NS_PER_DAY,
    check_referral,
    promotion_multiplier,
    tier_multiplier,
)

__all__ = ["COLUMN_DEFAULTS", "POINTS_COLUMNS", "points_for_transactions", "price_transactions"]

#: the column options of :func:`points_for_transactions` and their defaults
COLUMN_DEFAULTS = {
    "member_id_col": "member_id",
    "timestamp_col": "timestamp",
    "subtotal_col": "subtotal",
    "discount_col": "discount",
    "tax_col": "tax",
    "shipping_col": "shipping",
    "category_col": "category",
}

_INT64_SAFE = 2**62

#: Columns of the frame returned by :func:`points_for_transactions`, in order.
POINTS_COLUMNS: tuple[str, ...] = (
    "member_id",
    "eligible_minor",
    "qualifies",
    "category_multiplier",
    "promotion_multiplier",
    "tier_multiplier",
    "birthday_multiplier",
    "rounded_points",
    "cap_transaction",
    "cap_day",
    "cap_month",
    "earn_points",
    "first_purchase_bonus",
    "birthday_bonus",
    "bonus_points",
    "points",
    "referrer_id",
    "referrer_points",
)


def _grouped_capped(
    values: npt.NDArray[np.int64], starts: npt.NDArray[np.bool_], cap: int
) -> npt.NDArray[np.int64]:
    """Sequential cap within contiguous groups: e_i = min(x_i, cap - sum_{j<i} e_j).

    For non-negative ``x`` this equals the first difference of
    ``min(cumsum(x), cap)`` within each group.
    """
    cum = np.cumsum(values)
    start_idx = np.flatnonzero(starts)
    group_of = np.cumsum(starts) - 1
    offset = (cum[start_idx] - values[start_idx])[group_of]
    capped_cum = np.minimum(cum - offset, cap)
    prev = np.empty_like(capped_cum)
    prev[0] = 0
    prev[1:] = capped_cum[:-1]
    prev[starts] = 0
    return np.asarray(capped_cum - prev, dtype=np.int64)


def _grouped_exclusive_cumsum(
    values: npt.NDArray[np.int64], starts: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Sum of the earlier values of each contiguous group (0 at a group's first row)."""
    cum = np.cumsum(values)
    start_idx = np.flatnonzero(starts)
    group_of = np.cumsum(starts) - 1
    offset = (cum[start_idx] - values[start_idx])[group_of]
    return np.asarray(cum - values - offset, dtype=np.int64)


def _members_lookup(
    members: pd.DataFrame | None, ids: pd.Index[Any], column: str
) -> npt.NDArray[Any] | None:
    """Values of ``members[column]`` for each id (None where absent)."""
    if members is None or column not in members.columns:
        return None
    series = members[column]
    if not series.index.is_unique:
        dup = series.index[series.index.duplicated()][0]
        raise InvalidDataError(f"members: index must be unique member ids; {dup!r} repeats")
    return np.asarray(series.reindex(ids).to_numpy(dtype=object), dtype=object)


def _check_referrals(members: pd.DataFrame | None) -> None:
    """No member of the table refers themselves or closes a referral cycle."""
    if members is None or "referred_by" not in members.columns:
        return
    referrer = {
        str(m): None if (r is None or pd.isna(r)) else str(r)
        for m, r in members["referred_by"].items()
    }
    acyclic: set[str] = set()
    for member, ref in referrer.items():
        check_referral(member, ref, referrer.get, acyclic=acyclic)


def _fractions_to_int_arrays(
    fracs: list[Fraction],
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], bool]:
    nums = [f.numerator for f in fracs]
    dens = [f.denominator for f in fracs]
    small = max(nums) < _INT64_SAFE and max(dens) < _INT64_SAFE
    dtype: Any = np.int64 if small else object
    return np.array(nums, dtype=dtype), np.array(dens, dtype=dtype), small


def points_for_transactions(
    program: Program,
    transactions: Any,
    *,
    members: pd.DataFrame | None = None,
    member_id_col: str = "member_id",
    timestamp_col: str = "timestamp",
    subtotal_col: str = "subtotal",
    discount_col: str = "discount",
    tax_col: str = "tax",
    shipping_col: str = "shipping",
    category_col: str = "category",
    amounts_in_minor_units: bool = False,
) -> pd.DataFrame:
    """Points for every purchase of a table, vectorised; identical to :func:`points_for_event`.

    Parameters
    ----------
    program : Program
        The validated program.
    transactions : DataFrame or mapping of column name to array
        One row per purchase: ``member_id_col``, ``timestamp_col`` and
        ``subtotal_col`` are required; ``discount_col``, ``tax_col``,
        ``shipping_col`` (default 0) and ``category_col`` (default none) are
        optional. Money columns are integers, ``Decimal`` objects, decimal
        strings, or floats that are whole minor units (checked, then converted
        to exact integers).
    members : DataFrame, optional
        Indexed by member id; optional columns ``tier``, ``birth_month``,
        ``referred_by``, ``qualifying_purchases``, ``birthday_bonus_year`` give
        each member's state before the first purchase in the table (see
        :class:`~customer_value.loyalty.MemberState`). Absent members start new.
    member_id_col, timestamp_col, subtotal_col : str
        Names of the required columns.
    discount_col, tax_col, shipping_col, category_col : str
        Names of the optional columns.
    amounts_in_minor_units : bool, default False
        Integer money columns are minor units (cents) instead of currency units.

    Returns
    -------
    DataFrame
        Indexed like ``transactions``, columns :data:`POINTS_COLUMNS`:
        ``eligible_minor`` (eligible amount in minor units), ``qualifies``, the
        four multipliers (``Decimal``), ``rounded_points``, the cap reductions,
        ``earn_points``, the bonuses, ``points``, ``referrer_id`` and
        ``referrer_points``. Integer columns are int64.

    Raises
    ------
    InvalidDataError
        Missing columns, unparsable timestamps, negative or inexact money, an
        unknown tier.

    Notes
    -----
    The formula is the one of :func:`points_for_event`. Each member's purchases
    are processed in time order (ties in table order), the table being the
    member's complete history for the days and months it covers (day and
    month cap counters start at 0). The sequential cap
    ``e_i = min(x_i, C - sum_{j<i} e_j)`` is computed without a loop as the
    first difference of ``min(cumsum(x), C)`` within each (member, day) and
    then (member, month) group of the sorted table. Multipliers are combined
    exactly per distinct (category, active promotions, tier, birth month)
    combination, so the per-row work is integer arithmetic on minor units.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.loyalty import Program, points_for_transactions
    >>> program = Program.from_dict({"name": "p", "base_rate": "1", "currency_decimals": 0,
    ...                              "caps": {"per_day": 150}})
    >>> tx = pd.DataFrame({"member_id": ["a", "a", "b"],
    ...                    "timestamp": pd.to_datetime(["2024-01-05 09:00", "2024-01-05 12:00",
    ...                                                 "2024-01-05 09:00"]),
    ...                    "subtotal": [100, 100, 80]})
    >>> points_for_transactions(program, tx)[["points", "cap_day"]]
       points  cap_day
    0     100        0
    1      50       50
    2      80        0
    """
    names = {
        "member_id_col": member_id_col,
        "timestamp_col": timestamp_col,
        "subtotal_col": subtotal_col,
        "discount_col": discount_col,
        "tax_col": tax_col,
        "shipping_col": shipping_col,
        "category_col": category_col,
    }
    priced, _ = price_transactions(program, transactions, members, names, amounts_in_minor_units)
    return priced


def price_transactions(
    program: Program,
    transactions: Any,
    members: pd.DataFrame | None,
    column_names: Mapping[str, str],
    amounts_in_minor_units: bool,
) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """:func:`points_for_transactions` and the parsed timestamps (ns), parsed once.

    The ledger's bulk import writes the rows at these instants instead of parsing
    the column a second time (with possibly different rules). ``column_names`` maps the
    column options of :func:`points_for_transactions` (``member_id_col``, ...) to names;
    options left out take their default.
    """
    names = {**COLUMN_DEFAULTS, **column_names}
    member_id_col, timestamp_col = names["member_id_col"], names["timestamp_col"]
    subtotal_col, discount_col = names["subtotal_col"], names["discount_col"]
    tax_col, shipping_col = names["tax_col"], names["shipping_col"]
    category_col = names["category_col"]
    frame = as_frame(transactions, what="transactions")
    require_columns(frame, [member_id_col, timestamp_col, subtotal_col], what="transactions")
    n = len(frame)
    decimals = program.currency_decimals
    scale = 10**decimals

    def money(col: str) -> npt.NDArray[np.int64]:
        if col not in frame.columns:
            return np.zeros(n, dtype=np.int64)
        return money_minor(frame, col, decimals, in_minor=amounts_in_minor_units)

    subtotal = money(subtotal_col)
    eligible = np.maximum(subtotal - money(discount_col), 0)
    if program.eligible_amount.include_tax:
        eligible = eligible + money(tax_col)
    if program.eligible_amount.include_shipping:
        eligible = eligible + money(shipping_col)
    minimum_minor = int(program.minimum_spend.scaleb(decimals))
    qualifies = (eligible > 0) & (eligible >= minimum_minor)

    ts = timestamps_ns(frame, timestamp_col)
    day = np.floor_divide(ts, NS_PER_DAY)
    month_index = ts.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    year = month_index // 12 + 1970
    month_of_year = month_index % 12 + 1

    member_codes, member_ids = pd.factorize(frame[member_id_col], sort=False)
    if (member_codes < 0).any():
        pos = int(np.flatnonzero(member_codes < 0)[0])
        raise InvalidDataError(
            f"transactions: column {member_id_col!r} is missing; "
            f"{describe_row(frame.index, pos)} has {member_id_col}="
            f"{frame[member_id_col].iloc[pos]!r}"
        )
    member_codes = np.asarray(member_codes, dtype=np.int64)
    n_members = len(member_ids)

    # -- categories and promotions
    cat_mult = program.category_multipliers
    promotions = program.promotions
    universe: list[str] = list(cat_mult)
    for promo in promotions:
        for c in promo.categories or ():
            if c not in universe:
                universe.append(c)
    if category_col in frame.columns and universe:
        cat_codes = np.asarray(
            pd.Index(universe, dtype=object).get_indexer(
                pd.Index(frame[category_col], dtype=object)
            ),
            dtype=np.int64,
        )
    else:
        cat_codes = np.full(n, -1, dtype=np.int64)
    promo_mask = np.zeros(n, dtype=np.int64)
    epoch = dt.date(1970, 1, 1)
    for j, promo in enumerate(promotions):
        active = (day >= (promo.start - epoch).days) & (day <= (promo.end - epoch).days)
        if promo.categories is not None:
            allowed = np.array([universe.index(c) for c in promo.categories], dtype=np.int64)
            active &= np.isin(cat_codes, allowed)
        promo_mask |= active.astype(np.int64) << j

    # -- member state columns
    tiers_obj = _members_lookup(members, member_ids, "tier")
    tier_names: list[str | None] = [None]
    member_tier_code = np.zeros(n_members, dtype=np.int64)
    if tiers_obj is not None:
        codes, uniques = pd.factorize(pd.Series(tiers_obj, dtype=object), use_na_sentinel=True)
        for name in uniques:
            tier_multiplier(program, str(name))  # validates the name
            tier_names.append(str(name))
        member_tier_code = np.asarray(codes, dtype=np.int64) + 1  # NA -> 0 (no tier)
    tier_code = member_tier_code[member_codes]

    bday_rule = program.birthday_bonus
    birth = _members_lookup(members, member_ids, "birth_month")
    member_birth = np.zeros(n_members, dtype=np.int64)
    if birth is not None:
        member_birth = (
            pd.to_numeric(pd.Series(birth), errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        )
    in_birth_month = (member_birth[member_codes] == month_of_year) & (bday_rule is not None)

    # -- exact multiplier per distinct combination
    key = (cat_codes + 1) + (len(universe) + 1) * (
        tier_code + len(tier_names) * in_birth_month.astype(np.int64)
    )
    promo_codes, promo_uniques = pd.factorize(promo_mask, sort=False)
    key = key + (len(universe) + 1) * len(tier_names) * 2 * np.asarray(promo_codes, np.int64)
    combo_codes, combo_keys = pd.factorize(key, sort=False)
    combo_codes = np.asarray(combo_codes, dtype=np.int64)
    promo_values = np.asarray(promo_uniques, dtype=np.int64)
    cat_list: list[Decimal] = []
    promo_list: list[Decimal] = []
    tier_list: list[Decimal] = []
    bday_list: list[Decimal] = []
    fracs: list[Fraction] = []
    block = (len(universe) + 1) * len(tier_names) * 2
    for k in np.asarray(combo_keys, dtype=np.int64):
        p_code, rest = divmod(int(k), block)
        rest, c_code = divmod(rest, len(universe) + 1)
        b_flag, t_code = divmod(rest, len(tier_names))
        c_name = universe[c_code - 1] if c_code > 0 else None
        cm = cat_mult.get(c_name, Decimal(1)) if c_name is not None else Decimal(1)
        mask = int(promo_values[p_code])
        pm = promotion_multiplier(
            program, [p.multiplier for j, p in enumerate(promotions) if mask >> j & 1]
        )
        tm = tier_multiplier(program, tier_names[t_code])
        bm = bday_rule.multiplier if (b_flag and bday_rule is not None) else Decimal(1)
        cat_list.append(cm)
        promo_list.append(pm)
        tier_list.append(tm)
        bday_list.append(bm)
        fracs.append(
            Fraction(program.base_rate)
            * Fraction(cm)
            * Fraction(pm)
            * Fraction(tm)
            * Fraction(bm)
            / scale
        )
    nums, dens, small = _fractions_to_int_arrays(fracs)

    # -- exact rounding of eligible * num / den
    rounded = np.zeros(n, dtype=np.int64)
    if small and int(eligible.max(initial=0)) * int(nums.max()) < _INT64_SAFE:
        num = eligible * nums[combo_codes]
        den = dens[combo_codes]
        q, r = np.divmod(num, den)
        twice = 2 * r
    else:  # exact Python integers (very large amounts or rates)
        num = eligible.astype(object) * nums.astype(object)[combo_codes]
        den = dens.astype(object)[combo_codes]
        q = np.floor_divide(num, den)
        twice = 2 * np.remainder(num, den)
    if program.rounding == "floor":
        res = q
    elif program.rounding == "half_up":
        res = q + (twice >= den)
    else:
        res = q + ((twice > den) | ((twice == den) & (q % 2 == 1)))
    res = np.where(qualifies, np.asarray(res), 0)
    too_many = first_bad(np.asarray(res > MAX_POINTS, dtype=bool))
    if too_many is not None:
        raise InvalidDataError(
            f"transactions: {describe_row(frame.index, too_many)} would earn {res[too_many]} "
            "points, above "
            f"the limit of {MAX_POINTS} points per purchase; check the amount and the "
            "programme's rates"
        )
    rounded = res.astype(np.int64)

    # -- caps in (member, time, row) order
    # sort by (member, timestamp, row): rank the (timestamp, row) pairs with one stable
    # sort, then a single sort on the unique key member * n + rank (faster than lexsort)
    time_rank = np.empty(n, dtype=np.int64)
    time_rank[np.argsort(ts, kind="stable")] = np.arange(n, dtype=np.int64)
    order = np.argsort(member_codes * n + time_rank)
    m_s = member_codes[order]
    day_s = day[order]
    month_s = month_index[order]
    x = rounded[order]
    after_tx = (
        x if program.cap_per_transaction is None else np.minimum(x, program.cap_per_transaction)
    )
    new_member = np.ones(n, dtype=bool)
    new_member[1:] = m_s[1:] != m_s[:-1]
    if program.cap_per_day is not None:
        day_start = new_member.copy()
        day_start[1:] |= day_s[1:] != day_s[:-1]
        after_day = _grouped_capped(after_tx, day_start, program.cap_per_day)
    else:
        after_day = after_tx
    if program.cap_per_month is not None:
        month_start = new_member.copy()
        month_start[1:] |= month_s[1:] != month_s[:-1]
        after_month = _grouped_capped(after_day, month_start, program.cap_per_month)
        if program.cap_per_day is not None:
            # The final points equal the sequential rule's, but the sequential rule
            # charges the day cap with the points actually credited (after the month
            # cap); attribute the reductions the same way.
            used_today = _grouped_exclusive_cumsum(after_month, day_start)
            after_day = np.minimum(after_tx, np.maximum(program.cap_per_day - used_today, 0))
    else:
        after_month = after_day

    # -- bonuses
    q_s = qualifies[order]
    prior = _members_lookup(members, member_ids, "qualifying_purchases")
    prior_count = np.zeros(n_members, dtype=np.int64)
    if prior is not None:
        prior_count = (
            pd.to_numeric(pd.Series(prior), errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        )
    q_int = q_s.astype(np.int64)
    cum_q = np.cumsum(q_int)
    member_start_idx = np.flatnonzero(new_member)
    group_of = np.cumsum(new_member) - 1
    before_in_group = cum_q - q_int - (cum_q[member_start_idx] - q_int[member_start_idx])[group_of]
    first_s = q_s & (before_in_group + prior_count[m_s] == 0)
    fp = program.first_purchase_bonus
    first_bonus_s = np.where(first_s, fp.points if fp is not None else 0, 0).astype(np.int64)

    bday_bonus_s = np.zeros(n, dtype=np.int64)
    if bday_rule is not None and bday_rule.points > 0:
        last_year_obj = _members_lookup(members, member_ids, "birthday_bonus_year")
        last_year = np.full(n_members, -1, dtype=np.int64)
        if last_year_obj is not None:
            last_year = (
                pd.to_numeric(pd.Series(last_year_obj), errors="coerce")
                .fillna(-1)
                .to_numpy(dtype=np.int64)
            )
        year_s = year[order]
        cand = q_s & in_birth_month[order] & (year_s != last_year[m_s])
        idx = np.flatnonzero(cand)
        if idx.size:
            first_of_year = np.ones(idx.size, dtype=bool)
            first_of_year[1:] = (m_s[idx][1:] != m_s[idx][:-1]) | (
                year_s[idx][1:] != year_s[idx][:-1]
            )
            bday_bonus_s[idx[first_of_year]] = bday_rule.points

    referrer_s = np.full(n, None, dtype=object)
    referrer_pts_s = np.zeros(n, dtype=np.int64)
    ref = program.referral_bonus
    referred = _members_lookup(members, member_ids, "referred_by")
    if ref is not None and referred is not None:
        ref_by = np.array(
            [None if (r is None or pd.isna(r)) else r for r in referred],
            dtype=object,
        )
        _check_referrals(members)
        has_ref = np.array([r is not None for r in ref_by], dtype=bool)  # one per member
        trig = first_s & has_ref[m_s]
        referrer_s[trig] = ref_by[m_s[trig]]
        referrer_pts_s[trig] = ref.points

    # -- back to table order
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    earn = after_month[inv]
    first_bonus = first_bonus_s[inv]
    bday_bonus = bday_bonus_s[inv]
    cat_arr = np.array(cat_list, dtype=object)
    promo_arr = np.array(promo_list, dtype=object)
    tier_arr = np.array(tier_list, dtype=object)
    bday_arr = np.array(bday_list, dtype=object)
    after_tx_t = after_tx[inv]
    after_day_t = after_day[inv]
    columns: dict[str, Any] = {
        "member_id": frame[member_id_col].to_numpy(),
        "eligible_minor": eligible,
        "qualifies": qualifies,
        "category_multiplier": cat_arr[combo_codes],
        "promotion_multiplier": promo_arr[combo_codes],
        "tier_multiplier": tier_arr[combo_codes],
        "birthday_multiplier": bday_arr[combo_codes],
        "rounded_points": rounded,
        "cap_transaction": rounded - after_tx_t,
        "cap_day": after_tx_t - after_day_t,
        "cap_month": after_day_t - earn,
        "earn_points": earn,
        "first_purchase_bonus": first_bonus,
        "birthday_bonus": bday_bonus,
        "bonus_points": first_bonus + bday_bonus,
        "points": earn + first_bonus + bday_bonus,
        "referrer_id": referrer_s[inv],
        "referrer_points": referrer_pts_s[inv],
    }
    # Series first (object columns stay object, no type inference), then one frame
    # without copying or consolidating the blocks: several times faster at 1M rows.
    series = {
        name: pd.Series(
            values,
            index=frame.index,
            dtype=object if np.asarray(values).dtype == object else None,
            copy=False,
        )
        for name, values in columns.items()
    }
    out = pd.DataFrame(series, copy=False)
    return out, ts
