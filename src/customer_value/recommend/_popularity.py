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
        empty = pd.DataFrame(
            {"_row": np.empty(0, np.int64), "_item": np.empty(0, np.int64), "score": []}
        )
        empty["source"] = pd.Series(dtype=object)
        return fill_popular(
            empty,
            wanted=wanted,
            pos=pos,
            n=size,
            popularity=self,
            ratings=self.ratings_,
            segments=segments,
            items=self.items_,
        )

    def _list_for(self, segment: Any) -> tuple[str, npt.NDArray[np.int64], npt.NDArray[Any]]:
        if segment is not None and segment in self._segment_order:
            order, share = self._segment_order[segment]
            return "segment_popularity", order, share
        return "popularity", self._order, self._share


def fill_popular(
    frame: pd.DataFrame,
    *,
    wanted: pd.Index,
    pos: npt.NDArray[np.int64],
    n: int,
    popularity: PopularityRecommender,
    ratings: sp.csr_matrix,
    segments: Any,
    items: pd.Index,
) -> pd.DataFrame:
    """Top up each customer's list to ``n`` rows from the (segment) popularity ranking."""
    have = np.bincount(frame["_row"].to_numpy(), minlength=len(wanted))
    need = np.flatnonzero(have < n)
    extra_seg = None if segments is None else _segment_series(segments, "segments").reindex(wanted)
    fitted_seg = popularity.customer_segments_
    rows_r: list[npt.NDArray[np.int64]] = []
    rows_c: list[npt.NDArray[np.int64]] = []
    rows_v: list[npt.NDArray[np.float64]] = []
    rows_s: list[str] = []
    frame = frame.sort_values("_row", kind="stable").reset_index(drop=True)
    taken_rows = frame["_row"].to_numpy()
    taken_items = frame["_item"].to_numpy()
    simple: dict[Any, list[int]] = {}
    for row in need:
        p = pos[row]
        segment = None
        if p >= 0 and fitted_seg is not None:
            segment = fitted_seg.iloc[p]
        elif p < 0 and extra_seg is not None:
            segment = extra_seg.iloc[row]
        if segment is not None and pd.isna(segment):
            segment = None
        if p < 0 or (have[row] == 0 and not popularity.exclude_bought):
            simple.setdefault(segment, []).append(int(row))
            continue
        source, order, share = popularity._list_for(segment)
        lo, hi = np.searchsorted(taken_rows, [row, row + 1])
        skip = set(taken_items[lo:hi].tolist())
        if popularity.exclude_bought:
            skip.update(ratings.indices[ratings.indptr[p] : ratings.indptr[p + 1]].tolist())
        picked = [j for j in order[: n + len(skip)] if j not in skip][: n - have[row]]
        rows_r.append(np.full(len(picked), row, dtype=np.int64))
        rows_c.append(np.asarray(picked, dtype=np.int64))
        rows_v.append(share[np.asarray(picked, dtype=np.int64)])
        rows_s.extend([source] * len(picked))
    for segment, members in simple.items():
        source, order, share = popularity._list_for(segment)
        top = order[:n]
        m = np.asarray(members, dtype=np.int64)
        rows_r.append(np.repeat(m, top.size))
        rows_c.append(np.tile(top, m.size))
        rows_v.append(np.tile(share[top], m.size))
        rows_s.extend([source] * (m.size * top.size))
    if rows_r:
        extra = pd.DataFrame(
            {
                "_row": np.concatenate(rows_r),
                "_item": np.concatenate(rows_c),
                "score": np.concatenate(rows_v).astype(np.float64),
                "source": rows_s,
            }
        )
        frame = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
    frame = frame.sort_values("_row", kind="stable").reset_index(drop=True)
    rows = frame["_row"].to_numpy()
    rank = np.arange(rows.size) - np.searchsorted(rows, rows) + 1
    return pd.DataFrame(
        {
            "customer_id": wanted[rows],
            "rank": rank.astype(np.int64),
            "item": items[frame["_item"].to_numpy()],
            "score": frame["score"].to_numpy(dtype=np.float64),
            "source": frame["source"].to_numpy(dtype=object),
        }
    )
