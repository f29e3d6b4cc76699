"""Popularity baseline and the fallbacks of the item-item recommender."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from customer_value._estimator import ParamsMixin, check_is_fitted
from customer_value._validation import check_choice, plain
from customer_value.errors import InvalidDataError
from customer_value.recommend._encode import encode

__all__ = ["PopularityRecommender"]


def check_n(n: Any, name: str = "n") -> int:
    """A whole number >= 1."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidDataError(f"{name} must be a whole number >= 1, got {plain(n)!r}")
    return int(n)


def _segment_series(segments: Any, what: str) -> pd.Series:
    if isinstance(segments, pd.Series):
        series = segments
    elif isinstance(segments, dict):
        series = pd.Series(segments, dtype=object)
    else:
        raise InvalidDataError(
            f"{what} must be a pandas Series or a dict of customer id -> segment, "
            f"got {type(segments).__name__}"
        )
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()][0]
        raise InvalidDataError(f"{what}: customer {plain(dup)!r} appears more than once")
    return series


def _ranking(counts: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Item codes by count (descending), ties by code; items never bought left out."""
    order = np.lexsort((np.arange(counts.size), -counts))
    return order[counts[order] > 0].astype(np.int64)


class PopularityRecommender(ParamsMixin):
    """Recommend the items bought by the most customers (overall or per segment).

    The baseline every recommender is reported against, and the fallback for new
    customers.

    Parameters
    ----------
    exclude_bought : bool, default True
        Skip items the customer already bought.

    Attributes
    ----------
    popularity_ : pandas.Series
        Share of customers who bought each item, most popular first (ties by item).
    segment_popularity_ : dict
        The same per segment, when ``segments`` was given to :meth:`fit`.

    Examples
    --------
    >>> from customer_value.recommend import PopularityRecommender
    >>> tx = {"customer_id": ["a", "a", "b", "c"], "item": ["tea", "cups", "tea", "jam"]}
    >>> PopularityRecommender().fit(tx).recommend(["b"], n=2)
      customer_id  rank  item     score      source
    0           b     1  cups  0.333333  popularity
    1           b     2   jam  0.333333  popularity
    """

    def __init__(self, *, exclude_bought: bool = True) -> None:
        self.exclude_bought = exclude_bought

    def __repr__(self) -> str:
        return f"PopularityRecommender(exclude_bought={self.exclude_bought})"

    def fit(
        self,
        transactions: Any,
        *,
        customer_id_col: str = "customer_id",
        item_col: str = "item",
        segments: Any = None,
    ) -> PopularityRecommender:
        """Count the customers who bought each item.

        Parameters
        ----------
        transactions : DataFrame or mapping of column name to array
            One row per purchase line.
        customer_id_col, item_col : str
            Customer and item columns.
        segments : Series or mapping, optional
            Segment of each customer, for per-segment popularity.

        Returns
        -------
        PopularityRecommender
            ``self``, fitted.

        Raises
        ------
        InvalidDataError
            Missing columns or values, a customer listed twice in ``segments``.
        """
        inc = encode(transactions, row_cols=customer_id_col, item_col=item_col, binary=False)
        return self._fit_matrix(inc.matrix, inc.row_labels, inc.item_labels, segments)

    def _fit_matrix(
        self, X: sp.csr_matrix, customers: pd.Index, items: pd.Index, segments: Any
    ) -> PopularityRecommender:
        binary = X.copy()
        binary.data = np.ones_like(binary.data)
        n_customers = X.shape[0]
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.customers_ = customers
        self.items_ = items
        self.ratings_ = binary.tocsr()
        self._order = _ranking(counts)
        self._share = counts / n_customers
        self.popularity_ = pd.Series(self._share[self._order], index=items[self._order])
        self.segment_popularity_: dict[Any, pd.Series] = {}
        self._segment_order: dict[Any, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]
        self._segment_order = {}
        self.customer_segments_: pd.Series | None = None
        if segments is not None:
            seg = _segment_series(segments, "segments").reindex(customers)
            self.customer_segments_ = seg
            codes, levels = pd.factorize(seg, sort=True)
            for k, level in enumerate(levels):
                members = np.flatnonzero(codes == k)
                c = np.asarray(binary[members].sum(axis=0)).ravel()
                order = _ranking(c)
                share = c / members.size
                self._segment_order[level] = (order, share)
                self.segment_popularity_[level] = pd.Series(share[order], index=items[order])
        return self

    def recommend(
        self,
        customers: Any,
        *,
        n: int = 10,
        segments: Any = None,
        unknown: str = "fallback",
    ) -> pd.DataFrame:
        """Top-``n`` popular items per customer (bought items skipped if excluded).

        Parameters
        ----------
        customers : sequence of customer ids
            Customers to recommend for; unknown ones get the same lists with nothing to
            exclude.
        n : int, default 10
            Items per customer.
        segments : Series or mapping, optional
            Segments of customers not in the fitted data.
        unknown : {"fallback", "raise"}, default "fallback"
            ``"raise"`` refuses customers not in the fitted data.

        Returns
        -------
        DataFrame
            ``customer_id``, ``rank``, ``item``, ``score`` (share of customers, in the
            segment for ``"segment_popularity"``) and ``source``.

        Raises
        ------
        InvalidDataError
            ``n`` out of range, an unknown customer with ``unknown="raise"``.
        NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, "popularity_", action="fit(transactions)")
        size = check_n(n)
        check_choice(unknown, "unknown", ("fallback", "raise"))
        wanted = pd.Index(list(customers) if not isinstance(customers, str) else [customers])
        pos = self.customers_.get_indexer(wanted).astype(np.int64)
        if unknown == "raise" and (pos < 0).any():
            first = int(np.flatnonzero(pos < 0)[0])
            raise InvalidDataError(
                f"customers: position {first} has customer {plain(wanted[first])!r}, "
                "who is not in the fitted data"
            )
        nothing = np.empty(0, np.int64)
        return fill_popular(
            (nothing, nothing, np.empty(0)),
            wanted=wanted,
            pos=pos,
            n=size,
            popularity=self,
            ratings=self.ratings_,
            segments=segments,
            items=self.items_,
        )


def _rank_in_row(rows: npt.NDArray[np.int64], n_rows: int) -> npt.NDArray[np.int64]:
    """0, 1, 2, ... within each run of equal ``rows`` (sorted ascending)."""
    per_row = np.bincount(rows, minlength=n_rows)
    return np.arange(rows.size, dtype=np.int64) - (np.cumsum(per_row) - per_row)[rows]


_SOURCES = np.array(["item_item", "segment_popularity", "popularity"], dtype=object)


def _rankings(
    need: npt.NDArray[np.int64],
    pos: npt.NDArray[np.int64],
    popularity: PopularityRecommender,
    segments: Any,
    wanted: pd.Index,
) -> tuple[npt.NDArray[np.int64], list[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]]]:
    """Which ranking each of the rows ``need`` fills from, and the rankings.

    Ranking 0 is everybody's; ranking ``g >= 1`` is the fitted segment ``g - 1``. A
    fitted customer has the segment given to ``fit``, a new one the one in ``segments``.
    """
    levels = list(popularity._segment_order)
    lists = [(popularity._order, popularity._share)]
    lists += [popularity._segment_order[level] for level in levels]
    if not levels:
        return np.zeros(need.size, dtype=np.int64), lists
    known = pos[need] >= 0
    segment = np.array([None], dtype=object).repeat(need.size)
    if popularity.customer_segments_ is not None:
        segment[known] = popularity.customer_segments_.to_numpy(dtype=object)[pos[need[known]]]
    if segments is not None:
        extra = _segment_series(segments, "segments").reindex(wanted).to_numpy(dtype=object)
        segment[~known] = extra[need[~known]]
    # unknown segments (and missing ones) are -1, so everybody's ranking
    ranking = pd.Index(levels, dtype=object).get_indexer(segment).astype(np.int64) + 1
    return ranking, lists


def _skipped_keys(
    found: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]],
    short: npt.NDArray[np.bool_],
    need: npt.NDArray[np.int64],
    pos: npt.NDArray[np.int64],
    ratings: sp.csr_matrix | None,
    n_items: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Sorted ``row * n_items + item`` keys a short row must skip, and bought counts.

    A row skips what it already lists and, when ``ratings`` is given (bought items
    excluded), what its customer bought.
    """
    found_r, found_c, _ = found
    listed = short[found_r]
    keys = [found_r[listed].astype(np.int64) * n_items + found_c[listed]]
    bought = np.zeros(need.size, dtype=np.int64)
    if ratings is not None:
        known = np.flatnonzero(pos[need] >= 0)
        p = pos[need[known]]
        bought[known] = ratings.indptr[p + 1] - ratings.indptr[p]
        row = np.repeat(need[known].astype(np.int64), bought[known])
        first = np.repeat(
            ratings.indptr[p] - (np.cumsum(bought[known]) - bought[known]), bought[known]
        )
        keys.append(row * n_items + ratings.indices[first + np.arange(row.size)])
    return np.sort(np.concatenate(keys)), bought


_SOURCES = np.array(["item_item", "segment_popularity", "popularity"], dtype=object)


def fill_popular(
    found: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]],
    *,
    wanted: pd.Index,
    pos: npt.NDArray[np.int64],
    n: int,
    popularity: PopularityRecommender,
    ratings: sp.csr_matrix,
    segments: Any,
    items: pd.Index,
) -> pd.DataFrame:
    """Top up each customer's list to ``n`` rows from the (segment) popularity ranking.

    ``found`` holds the item-item recommendations as ``(rows, items, scores)``: positions
    in ``wanted``, item codes and scores, grouped by ascending row, best first. A row
    short of ``n`` takes the next items of its segment's ranking (of everybody's when the
    customer has no segment with a ranking), skipping the items it already lists and,
    with ``exclude_bought``, the items the customer bought.

    Notes
    -----
    Vectorised over customers: row ``r`` needs ``n - have_r`` items and skips at most
    ``have_r + bought_r`` of its ranking, so the first ``n + have_r + bought_r`` ranked
    items of every short row are laid out at once; one sorted array of (row, item) keys
    finds the skipped ones, and a rank within the row keeps the first ``n - have_r``.
    """
    found_r, found_c, found_v = found
    n_items = len(items)
    have = np.bincount(found_r, minlength=len(wanted))
    short = have < n
    need = np.flatnonzero(short)
    ranking, lists = _rankings(need, pos, popularity, segments, wanted)
    length = np.array([order.size for order, _ in lists], dtype=np.int64)
    offset = np.cumsum(length) - length
    flat_order = np.concatenate([order for order, _ in lists])
    flat_share = np.concatenate([share[order] for order, share in lists]).astype(np.float64)
    keys, bought = _skipped_keys(
        found, short, need, pos, ratings if popularity.exclude_bought else None, n_items
    )
    # the first n + have + bought ranked items of each short row, in row order
    count = np.minimum(n + have[need] + bought, length[ranking])
    row = np.repeat(need.astype(np.int64), count)
    flat = np.repeat(offset[ranking], count) + _rank_in_row(row, len(wanted))
    source = np.repeat(np.where(ranking > 0, 1, 2), count)
    key = row * n_items + flat_order[flat]
    at = np.minimum(np.searchsorted(keys, key), max(keys.size - 1, 0))
    fresh = keys[at] != key if keys.size else np.ones(key.size, dtype=bool)
    row, flat, source = row[fresh], flat[fresh], source[fresh]
    take = _rank_in_row(row, len(wanted)) < (n - have)[row]
    row, flat, source = row[take], flat[take], source[take]
    rows = np.concatenate([found_r, row]).astype(np.int64, copy=False)
    codes = np.concatenate([found_c, flat_order[flat]]).astype(np.int64, copy=False)
    scores = np.concatenate([found_v, flat_share[flat]]).astype(np.float64, copy=False)
    if row.size:
        # item-item rows first within each row: a stable sort of two sorted runs
        order = np.argsort(rows, kind="stable")
        rows, codes, scores = rows[order], codes[order], scores[order]
        sources = _SOURCES[np.concatenate([np.zeros(found_r.size, np.int64), source])[order]]
    else:
        sources = _SOURCES[:1].repeat(rows.size)
    return pd.DataFrame(
        {
            "customer_id": wanted[rows],
            "rank": _rank_in_row(rows, len(wanted)) + 1,
            "item": items[codes],
            "score": scores,
            "source": sources,
        }
    )
