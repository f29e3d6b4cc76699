"""Frequent itemsets and association rules by exact sparse counting.

Level-wise search (Agrawal & Srikant 1994): the baskets that contain each frequent
(k-1)-itemset form the columns of a sparse indicator matrix ``M``; one sparse product
``M.T @ X`` counts every (k-1)-itemset extended by every item at once, so no candidate
is counted by scanning baskets and no count is approximate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from customer_value._validation import check_scalar
from customer_value.errors import InvalidDataError
from customer_value.recommend._encode import encode

__all__ = ["RULE_COLUMNS", "association_rules", "frequent_itemsets"]

#: Columns of the table returned by :func:`association_rules`, in order.
RULE_COLUMNS = (
    "antecedents",
    "consequents",
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "count",
)

IntArray = npt.NDArray[np.int64]


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidDataError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def _baskets(
    baskets: Any, basket_col: str | Sequence[str], item_col: str, n_baskets: int | None
) -> tuple[sp.csc_matrix, pd.Index, int]:
    incidence = encode(baskets, row_cols=basket_col, item_col=item_col, what="baskets")
    seen = incidence.matrix.shape[0]
    if n_baskets is None:
        total = seen
    else:
        total = _check_int(n_baskets, "n_baskets", 1)
        if total < seen:
            raise InvalidDataError(
                f"n_baskets ({total}) is smaller than the {seen} distinct baskets in the table"
            )
    matrix = incidence.matrix.astype(np.int32).tocsc()
    return matrix, incidence.item_labels, total


def _mine(
    X: sp.csc_matrix, total: int, min_support: float, max_len: int
) -> list[tuple[IntArray, IntArray]]:
    """Frequent itemsets per size: ``[(itemsets (n, k) of item codes, counts (n,)), ...]``."""
    counts = np.asarray(X.sum(axis=0)).ravel().astype(np.int64)
    keep = np.flatnonzero(counts / total >= min_support)
    levels: list[tuple[IntArray, IntArray]] = []
    if keep.size == 0:
        return levels
    levels.append((keep[:, None].astype(np.int64), counts[keep]))
    Xf = X[:, keep]  # columns: frequent items, in code order
    members: sp.csc_matrix = Xf
    local = np.arange(keep.size, dtype=np.int64)[:, None]  # itemsets in local codes
    for _ in range(2, max_len + 1):
        pair_counts = (members.T @ Xf).tocoo()
        s, j, c = pair_counts.row, pair_counts.col, pair_counts.data.astype(np.int64)
        ok = (j > local[s, -1]) & (c / total >= min_support)
        if not ok.any():
            break
        s, j, c = s[ok], j[ok], c[ok]
        order = np.lexsort((j, s))  # prefixes are sorted, so this keeps itemsets sorted
        s, j, c = s[order], j[order], c[order]
        local = np.column_stack([local[s], j]).astype(np.int64)
        levels.append((keep[local], c))
        members = members[:, s].multiply(Xf[:, j]).tocsc()
    return levels


def frequent_itemsets(
    baskets: Any,
    *,
    min_support: float = 0.01,
    max_len: int = 3,
    basket_col: str | Sequence[str] = "order_id",
    item_col: str = "item",
    n_baskets: int | None = None,
) -> pd.DataFrame:
    """Itemsets contained in at least a share ``min_support`` of the baskets.

    Parameters
    ----------
    baskets : DataFrame or mapping of column name to array
        One row per basket line: the basket key and the item. An item repeated in a
        basket counts once (a basket is a set).
    min_support : float, default 0.01
        Smallest share of baskets, in (0, 1].
    max_len : int, default 3
        Largest itemset size, >= 1.
    basket_col : str or list of str, default "order_id"
        Column(s) identifying a basket: an order id, or for example
        ``["customer_id", "month"]`` for customer-by-period baskets.
    item_col : str, default "item"
        Item column.
    n_baskets : int, optional
        Total number of baskets including empty ones (which a long table cannot hold);
        defaults to the number of distinct basket keys. Supports are divided by it.

    Returns
    -------
    DataFrame
        ``itemsets`` (tuple of items, sorted), ``size``, ``count`` and ``support``,
        ordered by size, then support (descending), then the items.

    Raises
    ------
    InvalidDataError
        Missing columns or values, ``min_support`` outside (0, 1], ``max_len < 1``,
        ``n_baskets`` below the number of baskets in the table.

    Notes
    -----
    Level-wise search (Agrawal & Srikant 1994) with exact counts: the baskets holding
    each frequent (k-1)-itemset are columns of a sparse matrix :math:`M`, and
    :math:`M^\\top X` counts all their one-item extensions in one product. Candidates
    need no subset pruning because every count is exact and support is anti-monotone.

    References
    ----------
    Agrawal, R. & Srikant, R. (1994). Fast algorithms for mining association rules.
    *Proceedings of the 20th VLDB Conference*, 487-499.

    Examples
    --------
    >>> from customer_value.recommend import frequent_itemsets
    >>> baskets = {"order_id": [1, 1, 2, 2, 2, 3, 3, 4],
    ...            "item": ["bread", "milk", "bread", "milk", "eggs", "bread", "eggs",
    ...                     "milk"]}
    >>> sets = frequent_itemsets(baskets, min_support=0.5)
    >>> [(list(s), c) for s, c in zip(sets["itemsets"], sets["count"])]
    [(['bread'], 3), (['milk'], 3), (['eggs'], 2), (['bread', 'eggs'], 2), (['bread', 'milk'], 2)]
    """
    support = check_scalar(min_support, "min_support", low=0.0, high=1.0, low_inclusive=False)
    size = _check_int(max_len, "max_len", 1)
    X, labels, total = _baskets(baskets, basket_col, item_col, n_baskets)
    rows = []
    for sets, counts in _mine(X, total, support, size):
        frame = pd.DataFrame(
            {
                "itemsets": [tuple(labels[row]) for row in sets],
                "size": sets.shape[1],
                "count": counts,
                "support": counts / total,
                "_key": [tuple(row) for row in sets],
            }
        )
        rows.append(frame.sort_values(["count", "_key"], ascending=[False, True], kind="stable"))
    if not rows:
        return pd.DataFrame({"itemsets": [], "size": [], "count": [], "support": []})
    out = pd.concat(rows, ignore_index=True).drop(columns="_key")
    out.attrs.update({"n_baskets": total, "min_support": support, "max_len": size})
    return out


def _lookup(levels: list[tuple[IntArray, IntArray]], sets: IntArray) -> IntArray:
    """Counts of the (frequent) itemsets ``sets`` (rows of item codes, one size)."""
    table, counts = levels[sets.shape[1] - 1]
    if sets.shape[1] == 1:
        index = pd.Index(table[:, 0])
        pos = index.get_indexer(sets[:, 0])
    else:
        index = pd.MultiIndex.from_arrays(list(table.T))
        pos = index.get_indexer(pd.MultiIndex.from_arrays(list(sets.T)))
    found: IntArray = counts[pos]
    return found


def association_rules(
    baskets: Any,
    *,
    min_support: float = 0.01,
    min_confidence: float = 0.5,
    min_lift: float | None = None,
    max_len: int = 3,
    max_consequent_len: int = 1,
    basket_col: str | Sequence[str] = "order_id",
    item_col: str = "item",
    n_baskets: int | None = None,
) -> pd.DataFrame:
    """Association rules ``antecedents -> consequents`` from baskets.

    Parameters
    ----------
    baskets : DataFrame or mapping of column name to array
        One row per basket line (see :func:`frequent_itemsets`).
    min_support : float, default 0.01
        Smallest support of the whole rule (antecedent and consequent together), in (0, 1].
    min_confidence : float, default 0.5
        Smallest confidence, in [0, 1].
    min_lift : float, optional
        Smallest lift, >= 0.
    max_len : int, default 3
        Largest number of items in a rule (antecedent plus consequent), >= 2.
    max_consequent_len : int, default 1
        Largest consequent. The default, single-item consequents, is what R's ``arules``
        reports; larger values also give rules such as ``{a} -> {b, c}``.
    basket_col, item_col, n_baskets
        As in :func:`frequent_itemsets`.

    Returns
    -------
    DataFrame
        Columns :data:`RULE_COLUMNS`: ``antecedents`` and ``consequents`` (tuples of
        items), ``antecedent_support``, ``consequent_support``, ``support``,
        ``confidence``, ``lift``, ``leverage``, ``conviction`` and ``count`` (baskets
        holding the whole rule). Sorted by lift, confidence and support (all
        descending), then by the items, so the order never depends on the row order of
        the input.

    Raises
    ------
    InvalidDataError
        Missing columns or values, thresholds out of range, ``max_len < 2``,
        ``max_consequent_len < 1``.

    Notes
    -----
    With :math:`s(\\cdot)` the share of baskets containing an itemset, a rule
    :math:`A \\Rightarrow C` has support :math:`s(A \\cup C)`, confidence
    :math:`c = s(A \\cup C)/s(A)`, lift :math:`c / s(C)`, leverage
    :math:`s(A \\cup C) - s(A)s(C)` (Piatetsky-Shapiro 1991) and conviction
    :math:`(1 - s(C))/(1 - c)` (Brin et al. 1997), which is ``inf`` for rules with
    confidence 1, as in ``arules`` and ``mlxtend``. Lift above 1 means the items are
    bought together more often than if independent.

    References
    ----------
    Agrawal, R., Imielinski, T. & Swami, A. (1993). Mining association rules between
    sets of items in large databases. *SIGMOD Record* 22(2), 207-216.
    Brin, S., Motwani, R., Ullman, J. D. & Tsur, S. (1997). Dynamic itemset counting and
    implication rules for market basket data. *SIGMOD Record* 26(2), 255-264.
    Hahsler, M., Grün, B. & Hornik, K. (2005). arules - A computational environment for
    mining association rules and frequent item sets. *J. Statistical Software* 14(15).

    Examples
    --------
    >>> from customer_value.recommend import association_rules
    >>> baskets = {"order_id": [1, 1, 2, 2, 2, 3, 3, 4],
    ...            "item": ["bread", "milk", "bread", "milk", "eggs", "bread", "eggs",
    ...                     "milk"]}
    >>> rules = association_rules(baskets, min_support=0.5, min_confidence=0.6)
    >>> rules[["antecedents", "consequents", "confidence", "lift"]].round(3)
      antecedents consequents  confidence   lift
    0      (eggs,)    (bread,)       1.000  1.333
    1     (bread,)     (eggs,)       0.667  1.333
    2     (bread,)     (milk,)       0.667  0.889
    3      (milk,)    (bread,)       0.667  0.889
    """
    support = check_scalar(min_support, "min_support", low=0.0, high=1.0, low_inclusive=False)
    confidence = check_scalar(min_confidence, "min_confidence", low=0.0, high=1.0)
    lift_floor = None if min_lift is None else check_scalar(min_lift, "min_lift", low=0.0)
    size = _check_int(max_len, "max_len", 2)
    cons_len = _check_int(max_consequent_len, "max_consequent_len", 1)
    X, labels, total = _baskets(baskets, basket_col, item_col, n_baskets)
    levels = _mine(X, total, support, size)
    parts: list[dict[str, Any]] = []
    for k in range(2, len(levels) + 1):
        sets, counts = levels[k - 1]
        for m in range(1, min(cons_len, k - 1) + 1):
            for chosen in _combinations(k, m):
                rest = [p for p in range(k) if p not in chosen]
                ante, cons = sets[:, rest], sets[:, list(chosen)]
                parts.append(
                    {
                        "ante": ante,
                        "cons": cons,
                        "n_ac": counts,
                        "n_a": _lookup(levels, ante),
                        "n_c": _lookup(levels, cons),
                    }
                )
    if not parts:
        return pd.DataFrame({c: [] for c in RULE_COLUMNS})
    n_ac = np.concatenate([p["n_ac"] for p in parts]).astype(np.float64)
    n_a = np.concatenate([p["n_a"] for p in parts]).astype(np.float64)
    n_c = np.concatenate([p["n_c"] for p in parts]).astype(np.float64)
    s_ac, s_a, s_c = n_ac / total, n_a / total, n_c / total
    conf = n_ac / n_a
    lift = conf / s_c
    with np.errstate(divide="ignore"):
        conviction = np.where(conf >= 1.0, np.inf, (1.0 - s_c) / np.maximum(1.0 - conf, 0.0))
    ante_keys = [tuple(r) for p in parts for r in p["ante"]]
    cons_keys = [tuple(r) for p in parts for r in p["cons"]]
    frame = pd.DataFrame(
        {
            "antecedents": [tuple(labels[list(k)]) for k in ante_keys],
            "consequents": [tuple(labels[list(k)]) for k in cons_keys],
            "antecedent_support": s_a,
            "consequent_support": s_c,
            "support": s_ac,
            "confidence": conf,
            "lift": lift,
            "leverage": s_ac - s_a * s_c,
            "conviction": conviction,
            "count": n_ac.astype(np.int64),
            "_ante": ante_keys,
            "_cons": cons_keys,
        }
    )
    keep = frame["confidence"].to_numpy() >= confidence
    if lift_floor is not None:
        keep &= frame["lift"].to_numpy() >= lift_floor
    frame = frame.loc[keep]
    frame = frame.sort_values(
        ["lift", "confidence", "support", "_ante", "_cons"],
        ascending=[False, False, False, True, True],
        kind="stable",
    )
    out = frame.drop(columns=["_ante", "_cons"]).reset_index(drop=True)
    out.attrs.update(
        {
            "n_baskets": total,
            "min_support": support,
            "min_confidence": confidence,
            "max_len": size,
            "max_consequent_len": cons_len,
        }
    )
    return out


def _combinations(k: int, m: int) -> list[tuple[int, ...]]:
    from itertools import combinations

    return list(combinations(range(k), m))
