"""Item-to-item recommender on implicit feedback, with popularity fallbacks."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from customer_value._estimator import ParamsMixin, check_is_fitted
from customer_value._validation import as_frame, check_choice, check_scalar, plain, require_present
from customer_value.errors import InvalidDataError
from customer_value.recommend._encode import encode
from customer_value.recommend._popularity import PopularityRecommender, check_n, fill_popular
from customer_value.recommend._similarity import blocks, item_similarity, map_blocks, row_slice
from customer_value.recommend._topn import top_n_per_row

__all__ = ["RECOMMENDATION_COLUMNS", "ItemItemRecommender"]

#: Columns of the tables returned by ``recommend`` methods, in order.
RECOMMENDATION_COLUMNS = ("customer_id", "rank", "item", "score", "source")

_CHUNK_FLOPS = 40_000_000  # multiply-adds per chunk of customers when scoring


class ItemItemRecommender(ParamsMixin):
    """Recommend items similar to what each customer bought (item-based kNN).

    Parameters
    ----------
    similarity : {"cosine", "tfidf", "bm25"}, default "cosine"
        Weighting of the customer x item matrix before the item-item dot products:
        plain cosine, TF-IDF (square-rooted counts x inverse customer frequency, then
        cosine), or Okapi BM25 (not normalised).
    n_neighbours : int, default 20
        Neighbours kept per item (the item itself is never its own neighbour).
    shrinkage : float, default 0.0
        Cosine and TF-IDF only: ``dot / (norm_i * norm_j + shrinkage)``, which damps
        similarities resting on few shared customers.
    bm25_k1, bm25_b : float, default 1.2 and 0.75
        BM25 saturation and length normalisation.
    exclude_bought : bool, default True
        Never recommend an item the customer already bought.
    n_jobs : int, default 1
        Threads for the similarity product and the scoring (scipy releases the GIL).

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix
        Items x items; row ``i`` holds the ``n_neighbours`` most similar items of ``i``.
    items_, customers_ : pandas.Index
        Item and customer labels in matrix order (sorted).
    popularity_ : PopularityRecommender
        The fallback for customers without item-item candidates.
    categories_ : pandas.Series or None
        Category of each item when ``category_col`` was given.

    Notes
    -----
    With customer x item matrix :math:`R` (purchase counts, or ``weight_col`` sums),
    weighted to :math:`A`, the similarity of items :math:`i, j` is
    :math:`s_{ij} = a_i^\\top a_j / (\\lVert a_i\\rVert \\lVert a_j\\rVert + \\lambda)` for
    cosine and TF-IDF, and :math:`a_i^\\top a_j` for BM25; each row keeps its
    ``n_neighbours`` largest values (ties by item order). The score of item :math:`j`
    for customer :math:`u` is :math:`\\sum_i r_{ui} s_{ij}` (Sarwar et al. 2001;
    Deshpande & Karypis 2004). The weightings follow the ``implicit`` package's
    ``CosineRecommender``, ``TFIDFRecommender`` and ``BM25Recommender``, whose top-N
    lists these equal on the same data. Their inverse customer frequency is
    :math:`\\log N_{items} - \\log(1 + n_u)` for a customer who bought :math:`n_u`
    items, which is 0 or negative for customers who bought (nearly) everything: such
    customers then add nothing, or dissimilarity, to the item pairs they share.

    Customers with fewer than ``n`` item-item candidates are filled from the most
    popular items of their segment (when ``segments`` was given), else of everybody;
    the ``source`` column says which.

    References
    ----------
    Sarwar, B., Karypis, G., Konstan, J. & Riedl, J. (2001). Item-based collaborative
    filtering recommendation algorithms. *WWW '01*, 285-295.
    Deshpande, M. & Karypis, G. (2004). Item-based top-N recommendation algorithms.
    *ACM TOIS* 22(1), 143-177.

    Examples
    --------
    >>> from customer_value.recommend import ItemItemRecommender
    >>> tx = {"customer_id": ["a", "a", "b", "b", "c", "c", "d"],
    ...       "item": ["tea", "cups", "tea", "cups", "tea", "honey", "tea"]}
    >>> model = ItemItemRecommender(n_neighbours=5).fit(tx)
    >>> model.recommend(["d", "new"], n=2).round(3)
      customer_id  rank   item  score      source
    0           d     1   cups  0.707   item_item
    1           d     2  honey  0.500   item_item
    2         new     1    tea  1.000  popularity
    3         new     2   cups  0.500  popularity
    """

    def __init__(
        self,
        *,
        similarity: str = "cosine",
        n_neighbours: int = 20,
        shrinkage: float = 0.0,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        exclude_bought: bool = True,
        n_jobs: int = 1,
    ) -> None:
        self.similarity = similarity
        self.n_neighbours = n_neighbours
        self.shrinkage = shrinkage
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.exclude_bought = exclude_bought
        self.n_jobs = n_jobs

    def __repr__(self) -> str:
        state = ""
        if hasattr(self, "similarity_"):
            state = f", fitted on {len(self.customers_)} customers x {len(self.items_)} items"
        return (
            f"ItemItemRecommender(similarity={self.similarity!r}, "
            f"n_neighbours={self.n_neighbours}, shrinkage={self.shrinkage}{state})"
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        transactions: Any,
        *,
        customer_id_col: str = "customer_id",
        item_col: str = "item",
        weight_col: str | None = None,
        category_col: str | None = None,
        segments: Any = None,
    ) -> ItemItemRecommender:
        """Learn the item-item similarities from a purchase log.

        Parameters
        ----------
        transactions : DataFrame or mapping of column name to array
            One row per purchase line.
        customer_id_col, item_col : str
            Customer and item columns.
        weight_col : str, optional
            Positive strength of each line (quantity, rating); default 1 per line.
            Repeated (customer, item) lines add up.
        category_col : str, optional
            Item category (one per item), for :meth:`recommend_categories`.
        segments : Series or mapping, optional
            Segment of each customer (customer id -> segment), for segment-popularity
            fallbacks.

        Returns
        -------
        ItemItemRecommender
            ``self``, fitted.

        Raises
        ------
        InvalidDataError
            Missing columns or values, non-positive weights, an item in two categories,
            options out of range.
        """
        kind = check_choice(self.similarity, "similarity", ("cosine", "tfidf", "bm25"))
        if (
            isinstance(self.n_neighbours, bool)
            or not isinstance(self.n_neighbours, (int, np.integer))
            or self.n_neighbours < 1
        ):
            raise InvalidDataError(
                f"n_neighbours must be a whole number >= 1, got {self.n_neighbours!r}"
            )
        shrink = check_scalar(self.shrinkage, "shrinkage", low=0.0)
        if kind == "bm25" and shrink > 0:
            raise InvalidDataError("shrinkage applies to cosine and tfidf similarity, not bm25")
        k1 = check_scalar(self.bm25_k1, "bm25_k1", low=0.0)
        b = check_scalar(self.bm25_b, "bm25_b", low=0.0, high=1.0)
        jobs = int(check_scalar(self.n_jobs, "n_jobs", low=1))
        incidence = encode(
            transactions,
            row_cols=customer_id_col,
            item_col=item_col,
            weight_col=weight_col,
            binary=False,
        )
        X = incidence.matrix
        self.customers_ = incidence.row_labels
        self.items_ = incidence.item_labels
        self.ratings_ = X
        self.popularity_ = PopularityRecommender(exclude_bought=self.exclude_bought)._fit_matrix(
            X, incidence.row_labels, incidence.item_labels, segments
        )
        self.categories_ = (
            None
            if category_col is None
            else _item_categories(transactions, item_col, category_col, self.items_)
        )
        self.similarity_ = item_similarity(
            X, kind=kind, shrink=shrink, k1=k1, b=b, k=int(self.n_neighbours), jobs=jobs
        )
        self._jobs = jobs
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(self, "similarity_", action="fit(transactions)")

    # ------------------------------------------------------------ recommend
    def _positions(self, customers: Any, unknown: str) -> tuple[pd.Index, npt.NDArray[np.int64]]:
        check_choice(unknown, "unknown", ("fallback", "raise"))
        wanted = self.customers_ if customers is None else pd.Index(_as_list(customers))
        pos = self.customers_.get_indexer(wanted).astype(np.int64)
        if unknown == "raise" and (pos < 0).any():
            first = int(np.flatnonzero(pos < 0)[0])
            raise InvalidDataError(
                f"customers: position {first} has customer {plain(wanted[first])!r}, "
                "who is not in the fitted data (use unknown='fallback' for popular items)"
            )
        return wanted, pos

    def _scoring_matrix(self) -> sp.csr_matrix:
        """The right-hand side of :meth:`_scores`: similarities, -inf on the diagonal.

        The similarity matrix has an empty diagonal (an item is never its own
        neighbour), so with ``exclude_bought`` the diagonal carries the exclusion: a
        bought item ``i`` adds :math:`r_{ui} \\cdot (-\\infty)` to its own score, and
        ratings are positive, so every bought item scores -inf within the same sparse
        product, without a second pass or a mask.
        """
        if not self.exclude_bought:
            return self.similarity_
        banned = sp.diags(np.full(len(self.items_), -np.inf), format="csr")
        out: sp.csr_matrix = (self.similarity_ + banned).tocsr()
        return out

    def _scores(self, pos: npt.NDArray[np.int64], right: sp.csr_matrix) -> sp.csr_matrix:
        """Scores of known customers ``pos`` (rows); ``right`` is :meth:`_scoring_matrix`."""
        if pos.size and pos[-1] - pos[0] == pos.size - 1 and (np.diff(pos) == 1).all():
            R = row_slice(self.ratings_, int(pos[0]), int(pos[-1]) + 1)  # no copy
        else:
            R = self.ratings_[pos]
        out: sp.csr_matrix = (R @ right).tocsr()
        return out

    def recommend(
        self,
        customers: Any = None,
        *,
        n: int = 10,
        segments: Any = None,
        unknown: str = "fallback",
    ) -> pd.DataFrame:
        """Top-``n`` items per customer.

        Parameters
        ----------
        customers : sequence of customer ids, optional
            Defaults to every fitted customer, in sorted order.
        n : int, default 10
            Items per customer, >= 1.
        segments : Series or mapping, optional
            Segments of customers not in the fitted data, for the segment-popularity
            fallback (fitted customers keep the segment given to :meth:`fit`).
        unknown : {"fallback", "raise"}, default "fallback"
            Customers not in the fitted data get the popular items of their segment
            (else of everybody); ``"raise"`` refuses them instead.

        Returns
        -------
        DataFrame
            :data:`RECOMMENDATION_COLUMNS`: ``customer_id``, ``rank`` (1 = best),
            ``item``, ``score`` (item-item score, or the share of customers who bought
            the item for popularity fallbacks) and ``source`` (``"item_item"``,
            ``"segment_popularity"`` or ``"popularity"``); customers in the order given.
            Fewer than ``n`` rows only when the catalogue runs out.

        Raises
        ------
        InvalidDataError
            ``n`` out of range, ``unknown="raise"`` with an unknown customer.
        NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        size = check_n(n)
        wanted, pos = self._positions(customers, unknown)
        known = np.flatnonzero(pos >= 0)

        right = self._scoring_matrix()

        def score(chunk: npt.NDArray[np.int64]) -> tuple[Any, Any, Any]:
            r, c, v = top_n_per_row(self._scores(pos[known][chunk], right), size)
            return known[chunk][r], c, v

        parts = map_blocks(score, self._chunks(pos[known]), int(self.n_jobs))
        found = (
            np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64),
            np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64),
            np.concatenate([p[2] for p in parts]) if parts else np.empty(0),
        )
        return fill_popular(
            found,
            wanted=wanted,
            pos=pos,
            n=size,
            popularity=self.popularity_,
            ratings=self.ratings_,
            segments=segments,
            items=self.items_,
        )

    def _chunks(self, pos: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
        if pos.size == 0:
            return []
        degree = np.diff(self.ratings_.indptr)[pos].astype(np.float64)
        fan = np.diff(self.similarity_.indptr).mean() if self.similarity_.nnz else 1.0
        bounds = blocks(degree * fan + 1.0, _CHUNK_FLOPS)
        return [np.arange(a, z) for a, z in bounds]

    def explain(
        self, customers: Any, *, n: int = 10, n_reasons: int = 3, segments: Any = None
    ) -> pd.DataFrame:
        """Recommendations with the past purchases that led to each.

        Parameters
        ----------
        customers : sequence of customer ids
            Customers to explain (unknown ones get popularity fallbacks, no reasons).
        n : int, default 10
            Items per customer.
        n_reasons : int, default 3
            Past items listed per recommendation, >= 1.
        segments : Series or mapping, optional
            As in :meth:`recommend`.

        Returns
        -------
        DataFrame
            The :meth:`recommend` table plus ``because`` (tuple of past items, largest
            contribution :math:`r_{ui} s_{ij}` first) and ``because_share`` (their share
            of the score). Popularity rows have an empty ``because`` and share 0.

        Raises
        ------
        InvalidDataError
            Options out of range.
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> from customer_value.recommend import ItemItemRecommender
        >>> tx = {"customer_id": ["a", "a", "b", "b", "c", "c", "d"],
        ...       "item": ["tea", "cups", "tea", "cups", "tea", "honey", "tea"]}
        >>> model = ItemItemRecommender().fit(tx)
        >>> model.explain(["d"], n=1)[["item", "because", "because_share"]]
            item because  because_share
        0   cups  (tea,)            1.0
        """
        reasons = check_n(n_reasons, "n_reasons")
        recs = self.recommend(customers, n=n, segments=segments)
        out = recs.copy()
        out["because"], out["because_share"] = self._reasons(recs, reasons)
        return out

    def _reasons(self, recs: pd.DataFrame, reasons: int) -> tuple[list[tuple[Any, ...]], Any]:
        """Past items behind each item-item row of ``recs``, vectorised over all rows.

        Every (recommendation, past item) pair is laid out once; its contribution
        :math:`r_{ui} s_{ij}` is looked up in the sorted (row, column) keys of the
        similarity matrix; one sort by (row, -contribution, past item) ranks them.
        """
        because: list[tuple[Any, ...]] = [()] * len(recs)
        share = np.zeros(len(recs))
        rows = np.flatnonzero(recs["source"].to_numpy() == "item_item")
        if rows.size == 0 or self.similarity_.nnz == 0:
            return because, share  # no similarity: no past item contributes
        R, S = self.ratings_, self.similarity_
        n_items = S.shape[1]
        user = self.customers_.get_indexer(pd.Index(recs["customer_id"].to_numpy()[rows]))
        item = self.items_.get_indexer(pd.Index(recs["item"].to_numpy()[rows]))
        degree = np.diff(R.indptr)[user]
        pair_rec = np.repeat(np.arange(rows.size), degree)
        start = np.repeat(R.indptr[user] - (np.cumsum(degree) - degree), degree)
        entry = start + np.arange(pair_rec.size)
        past = R.indices[entry].astype(np.int64)
        # similarity s_{past, item}: binary search of the pair's key among S's keys
        S_sorted = S.copy()
        S_sorted.sort_indices()
        key_rows = np.repeat(np.arange(n_items, dtype=np.int64), np.diff(S_sorted.indptr))
        keys = key_rows * n_items + S_sorted.indices
        wanted = past * n_items + item[pair_rec]
        at = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        sim = np.where(keys[at] == wanted, S_sorted.data[at], 0.0)
        contrib = R.data[entry] * sim
        positive = contrib > 0
        total = np.bincount(pair_rec[positive], weights=contrib[positive], minlength=rows.size)
        pair_rec, past, contrib = pair_rec[positive], past[positive], contrib[positive]
        order = np.lexsort((past, -contrib, pair_rec))
        pair_rec, past, contrib = pair_rec[order], past[order], contrib[order]
        rank = np.arange(pair_rec.size) - np.searchsorted(pair_rec, pair_rec)
        top = rank < reasons
        pair_rec, past, contrib = pair_rec[top], past[top], contrib[top]
        kept = np.bincount(pair_rec, weights=contrib, minlength=rows.size)
        share[rows] = np.where(total > 0, kept / np.where(total > 0, total, 1.0), 0.0)
        labels = np.asarray(self.items_, dtype=object)[past]
        bounds = np.searchsorted(pair_rec, np.arange(1, rows.size))
        for row, chunk in zip(rows, np.split(labels, bounds), strict=True):
            because[row] = tuple(chunk)
        return because, share

    def similar_items(self, items: Any, *, n: int = 10) -> pd.DataFrame:
        """The ``n`` nearest neighbours of each of ``items``.

        Parameters
        ----------
        items : sequence of item labels
            Items seen in the fitted data.
        n : int, default 10
            Neighbours per item (at most ``n_neighbours`` are stored).

        Returns
        -------
        DataFrame
            ``item``, ``rank``, ``similar_item``, ``similarity``.

        Raises
        ------
        InvalidDataError
            An item never seen in the fitted data (named with its position).
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> from customer_value.recommend import ItemItemRecommender
        >>> tx = {"customer_id": ["a", "a", "b", "b", "c", "c"],
        ...       "item": ["tea", "cups", "tea", "cups", "tea", "honey"]}
        >>> ItemItemRecommender().fit(tx).similar_items(["cups"])
           item  rank similar_item  similarity
        0  cups     1          tea    0.816497
        """
        self._check_fitted()
        size = check_n(n)
        wanted = pd.Index(_as_list(items))
        pos = self.items_.get_indexer(wanted)
        if (pos < 0).any():
            first = int(np.flatnonzero(pos < 0)[0])
            raise InvalidDataError(
                f"items: position {first} has item {plain(wanted[first])!r}, "
                "which never occurs in the fitted data"
            )
        r, c, v = top_n_per_row(self.similarity_[pos].tocsr(), size)
        rank = np.arange(r.size) - np.searchsorted(r, r) + 1
        return pd.DataFrame(
            {
                "item": wanted[r],
                "rank": rank,
                "similar_item": self.items_[c],
                "similarity": v,
            }
        )

    def recommend_categories(self, customers: Any = None, *, n: int = 3) -> pd.DataFrame:
        """Top-``n`` categories per known customer: item scores summed by category.

        Parameters
        ----------
        customers : sequence of customer ids, optional
            Fitted customers (default: all).
        n : int, default 3
            Categories per customer.

        Returns
        -------
        DataFrame
            ``customer_id``, ``rank``, ``category``, ``score`` (sum of the item-item
            scores of the category's items, bought items excluded when
            ``exclude_bought``).

        Raises
        ------
        InvalidDataError
            Fitted without ``category_col``, or an unknown customer.
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> from customer_value.recommend import ItemItemRecommender
        >>> tx = {"customer_id": ["a", "a", "b", "b", "c"],
        ...       "item": ["tea", "cups", "tea", "honey", "tea"],
        ...       "category": ["drinks", "kitchen", "drinks", "food", "drinks"]}
        >>> model = ItemItemRecommender().fit(tx, category_col="category")
        >>> model.recommend_categories(["c"], n=2)[["category", "score"]].round(3)
          category  score
        0     food  0.577
        1  kitchen  0.577
        """
        self._check_fitted()
        size = check_n(n)
        if self.categories_ is None:
            raise InvalidDataError("fit with category_col= to get category recommendations")
        wanted, pos = self._positions(customers, "raise")
        codes, levels = pd.factorize(self.categories_, sort=True)
        C = sp.csr_matrix(
            (np.ones(codes.size), (np.arange(codes.size), codes)),
            shape=(codes.size, len(levels)),
        )
        parts: list[pd.DataFrame] = []
        right = self._scoring_matrix()
        for chunk in self._chunks(pos):
            S = self._scores(pos[chunk], right)
            S.data[~np.isfinite(S.data)] = 0.0
            S.eliminate_zeros()
            r, c, v = top_n_per_row((S @ C).tocsr(), size)
            rank = np.arange(r.size) - np.searchsorted(r, r) + 1
            parts.append(
                pd.DataFrame(
                    {
                        "customer_id": wanted[chunk[r]],
                        "rank": rank,
                        "category": levels[c],
                        "score": v,
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)


def _item_categories(
    transactions: Any, item_col: str, category_col: str, items: pd.Index
) -> pd.Series:
    frame = as_frame(transactions, what="transactions")
    if category_col not in frame.columns:
        raise InvalidDataError(f"transactions is missing column {category_col!r}")
    pairs = frame[[item_col, category_col]]
    require_present(pairs[category_col], category_col, index=frame.index, what="transactions")
    per_item = pairs.drop_duplicates().groupby(item_col, sort=True)[category_col]
    counts = per_item.nunique()
    if (counts > 1).any():
        item = counts.index[np.flatnonzero(counts.to_numpy() > 1)[0]]
        found = sorted(map(str, pairs.loc[pairs[item_col] == item, category_col].unique()))
        raise InvalidDataError(
            f"transactions: item {plain(item)!r} has several categories in "
            f"{category_col!r}: {', '.join(found)}; each item needs one"
        )
    return per_item.first().reindex(items)
