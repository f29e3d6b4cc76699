"""Time-based holdout evaluation of recommendations, next to the popularity baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._time import parse_datetimes, parse_timestamp
from customer_value._validation import as_frame, require_columns
from customer_value.errors import InvalidDataError
from customer_value.recommend._popularity import PopularityRecommender, check_n

__all__ = ["METRIC_COLUMNS", "evaluate_recommender", "ranking_metrics", "time_split"]

#: Columns of the tables returned by :func:`ranking_metrics` and :func:`evaluate_recommender`.
METRIC_COLUMNS = (
    "precision",
    "recall",
    "map",
    "ndcg",
    "hit_rate",
    "coverage",
    "n_customers",
)


def time_split(
    transactions: Any, *, cutoff: Any, datetime_col: str = "date"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a purchase log at a date: training rows before ``cutoff``, holdout from it.

    Parameters
    ----------
    transactions : DataFrame or mapping of column name to array
        The purchase log.
    cutoff : date-like
        First day of the holdout period.
    datetime_col : str, default "date"
        Date column.

    Returns
    -------
    tuple of DataFrame
        ``(train, holdout)``, each keeping the input's columns and index.

    Raises
    ------
    InvalidDataError
        Missing or unparsable dates, an unparsable cutoff, or an empty side.

    Examples
    --------
    >>> from customer_value.recommend import time_split
    >>> tx = {"customer_id": [1, 1, 2], "item": ["a", "b", "a"],
    ...       "date": ["2024-01-05", "2024-02-10", "2024-02-11"]}
    >>> train, holdout = time_split(tx, cutoff="2024-02-01")
    >>> len(train), len(holdout)
    (1, 2)
    """
    frame = as_frame(transactions, what="transactions")
    require_columns(frame, [datetime_col], what="transactions")
    ns = parse_datetimes(frame[datetime_col], datetime_col, index=frame.index, what="transactions")
    cut = parse_timestamp(cutoff, "cutoff")
    before = ns < cut.as_unit("ns").value
    if before.all() or not before.any():
        side = "holdout" if before.all() else "training"
        raise InvalidDataError(f"cutoff {cut.date()} leaves the {side} period empty")
    return frame.loc[before], frame.loc[~before]


def ranking_metrics(
    recommendations: pd.DataFrame,
    relevant: Any,
    *,
    k: int = 10,
    catalogue_size: int | None = None,
    customer_id_col: str = "customer_id",
    item_col: str = "item",
) -> pd.Series:
    """Precision, recall, MAP, NDCG and hit rate at ``k``, and catalogue coverage.

    Parameters
    ----------
    recommendations : DataFrame
        ``customer_id``, ``rank`` (1 = best) and ``item``, as from a ``recommend`` method.
    relevant : DataFrame or mapping of column name to array
        The items each customer went on to buy (one row per customer and item;
        duplicates count once). Only customers present here are scored.
    k : int, default 10
        Cut-off.
    catalogue_size : int, optional
        Number of recommendable items, for coverage; NaN when not given.
    customer_id_col, item_col : str
        Columns of ``relevant`` (``recommendations`` uses the standard names).

    Returns
    -------
    Series
        :data:`METRIC_COLUMNS`, averaged over the scored customers.

    Raises
    ------
    InvalidDataError
        ``k`` out of range, missing columns, or no relevant items.

    Notes
    -----
    For customer :math:`u` with relevant set :math:`R_u` and hits :math:`h_i` at ranks
    :math:`i \\le k`: precision :math:`\\sum h_i / k`, recall :math:`\\sum h_i / |R_u|`,
    average precision :math:`\\sum_i P@i\\, h_i / \\min(|R_u|, k)`, NDCG
    :math:`\\sum_i h_i/\\log_2(i+1)` over its maximum
    :math:`\\sum_{i \\le \\min(|R_u|,k)} 1/\\log_2(i+1)` (Järvelin & Kekäläinen 2002), hit
    rate :math:`[\\sum h_i > 0]`; coverage is the share of the catalogue recommended to
    anyone (Ge, Delgado-Battenfeld & Jannach 2010). A customer with fewer than ``k``
    recommendations is scored as if the rest were misses.

    References
    ----------
    Järvelin, K. & Kekäläinen, J. (2002). Cumulated gain-based evaluation of IR
    techniques. *ACM TOIS* 20(4), 422-446.
    Ge, M., Delgado-Battenfeld, C. & Jannach, D. (2010). Beyond accuracy: evaluating
    recommender systems by coverage and serendipity. *RecSys '10*, 257-260.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.recommend import ranking_metrics
    >>> recs = pd.DataFrame({"customer_id": [1, 1, 2, 2], "rank": [1, 2, 1, 2],
    ...                      "item": ["a", "b", "a", "c"]})
    >>> bought = {"customer_id": [1, 2], "item": ["b", "d"]}
    >>> ranking_metrics(recs, bought, k=2, catalogue_size=4).round(3).to_dict()
    {'precision': 0.25, 'recall': 0.5, 'map': 0.25, 'ndcg': 0.315, 'hit_rate': 0.5,
     'coverage': 0.75, 'n_customers': 2.0}
    """
    size = check_n(k, "k")
    require_columns(recommendations, ["customer_id", "rank", "item"], what="recommendations")
    truth = as_frame(relevant, what="relevant")
    require_columns(truth, [customer_id_col, item_col], what="relevant")
    truth = truth[[customer_id_col, item_col]].drop_duplicates()
    truth.columns = pd.Index(["customer_id", "item"])
    n_relevant = truth.groupby("customer_id").size()
    recs = recommendations.loc[recommendations["rank"] <= size, ["customer_id", "rank", "item"]]
    recs = recs[recs["customer_id"].isin(n_relevant.index)]
    hits = recs.merge(truth, on=["customer_id", "item"], how="inner")
    rank = hits["rank"].to_numpy(dtype=np.float64)
    hits = hits.assign(
        gain=1.0 / np.log2(rank + 1.0),
        order=hits.sort_values(["customer_id", "rank"]).groupby("customer_id").cumcount() + 1,
    )
    hits["precision_at"] = hits["order"] / hits["rank"]
    per = pd.DataFrame(index=n_relevant.index)
    grouped = hits.groupby("customer_id")
    per["hits"] = grouped.size().reindex(per.index, fill_value=0)
    per["ap_sum"] = grouped["precision_at"].sum().reindex(per.index, fill_value=0.0)
    per["dcg"] = grouped["gain"].sum().reindex(per.index, fill_value=0.0)
    ideal_len = np.minimum(n_relevant.to_numpy(), size)
    discounts = np.cumsum(1.0 / np.log2(np.arange(2, size + 2)))
    idcg = discounts[ideal_len - 1]
    n_rel = n_relevant.to_numpy(dtype=np.float64)
    h = per["hits"].to_numpy(dtype=np.float64)
    coverage = float("nan")
    if catalogue_size is not None:
        coverage = recs["item"].nunique() / check_n(catalogue_size, "catalogue_size")
    return pd.Series(
        {
            "precision": float(np.mean(h / size)),
            "recall": float(np.mean(h / n_rel)),
            "map": float(np.mean(per["ap_sum"].to_numpy() / ideal_len)),
            "ndcg": float(np.mean(per["dcg"].to_numpy() / idcg)),
            "hit_rate": float(np.mean(h > 0)),
            "coverage": coverage,
            "n_customers": float(len(per)),
        }
    )


def evaluate_recommender(
    model: Any,
    train: Any,
    holdout: Any,
    *,
    k: int = 10,
    customer_id_col: str = "customer_id",
    item_col: str = "item",
    fit_kwargs: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Fit ``model`` and the popularity baseline on ``train``; score both on ``holdout``.

    Parameters
    ----------
    model : recommender
        Anything with ``fit(train, customer_id_col=..., item_col=..., **fit_kwargs)`` and
        ``recommend(customers, n=k)``, such as :class:`ItemItemRecommender`.
    train, holdout : DataFrame or mapping of column name to array
        Purchases before and after the cut-off (see :func:`time_split`).
    k : int, default 10
        Cut-off.
    customer_id_col, item_col : str
        Columns of both tables.
    fit_kwargs : dict, optional
        Extra arguments for ``model.fit``.

    Returns
    -------
    DataFrame
        One row per recommender (``model`` then ``popularity``), columns
        :data:`METRIC_COLUMNS`.

    Raises
    ------
    InvalidDataError
        No holdout customer was seen in training or has a new item.

    Notes
    -----
    The scored customers are those seen in training who bought, in the holdout, at
    least one item they had not bought in training (when the model excludes bought
    items, re-purchases cannot be recommended and would only lower every score alike).
    Items new in the holdout stay in the relevant sets: no recommender could have
    named them, so they lower recall for both rows equally.

    Examples
    --------
    >>> from customer_value.recommend import (ItemItemRecommender, evaluate_recommender,
    ...                                       time_split)
    >>> from customer_value.datasets import make_basket_transactions
    >>> tx = make_basket_transactions(n_customers=300, seed=1)
    >>> train, holdout = time_split(tx, cutoff="2024-10-01")
    >>> table = evaluate_recommender(ItemItemRecommender(), train, holdout, k=10)
    >>> table.index.tolist()
    ['model', 'popularity']
    >>> bool(table.loc["model", "recall"] > table.loc["popularity", "recall"])
    True
    """
    size = check_n(k, "k")
    train_frame = as_frame(train, what="train")
    hold = as_frame(holdout, what="holdout")
    require_columns(hold, [customer_id_col, item_col], what="holdout")
    model.fit(train_frame, customer_id_col=customer_id_col, item_col=item_col, **(fit_kwargs or {}))
    baseline = PopularityRecommender(exclude_bought=getattr(model, "exclude_bought", True))
    baseline.fit(train_frame, customer_id_col=customer_id_col, item_col=item_col)
    pairs = hold[[customer_id_col, item_col]].drop_duplicates()
    pairs = pairs[pairs[customer_id_col].isin(train_frame[customer_id_col])]
    if baseline.exclude_bought:
        seen = train_frame[[customer_id_col, item_col]].drop_duplicates()
        merged = pairs.merge(seen, how="left", indicator=True)
        pairs = merged.loc[merged["_merge"] == "left_only", [customer_id_col, item_col]]
    if pairs.empty:
        raise InvalidDataError(
            "holdout: no customer seen in training bought a new item; nothing to evaluate"
        )
    customers = pd.unique(pairs[customer_id_col])
    catalogue = int(train_frame[item_col].nunique())
    rows = {}
    for name, rec in (("model", model), ("popularity", baseline)):
        recs = rec.recommend(customers, n=size)
        rows[name] = ranking_metrics(
            recs,
            pairs,
            k=size,
            catalogue_size=catalogue,
            customer_id_col=customer_id_col,
            item_col=item_col,
        )
    return pd.DataFrame(rows).T.loc[:, list(METRIC_COLUMNS)]
