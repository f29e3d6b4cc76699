"""Item-item similarity kernel: weighting, blocked sparse products, top-k per item."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from customer_value.recommend._topn import top_n_per_row

_BLOCK_FLOPS = 40_000_000  # multiply-adds per block of the similarity product

_T = TypeVar("_T")
_R = TypeVar("_R")


def weigh(X: sp.csr_matrix, similarity: str, k1: float, b: float) -> sp.csr_matrix:
    """Item x customer matrix weighted for the chosen similarity (unnormalised)."""
    item_rows = X.T.tocsr().astype(np.float64)
    if similarity == "cosine":
        return item_rows
    n_items = float(item_rows.shape[0])
    coo = item_rows.tocoo()
    df = np.bincount(coo.col, minlength=item_rows.shape[1]).astype(np.float64)
    idf = np.log(n_items) - np.log1p(df)
    if similarity == "tfidf":
        data = np.sqrt(coo.data) * idf[coo.col]
    else:  # bm25
        lengths = np.asarray(item_rows.sum(axis=1)).ravel()
        norm = (1.0 - b) + b * lengths / lengths.mean()
        data = coo.data * (k1 + 1.0) / (k1 * norm[coo.row] + coo.data) * idf[coo.col]
    return sp.csr_matrix((data, (coo.row, coo.col)), shape=item_rows.shape)


def blocks(cost: npt.NDArray[np.float64], budget: float) -> list[tuple[int, int]]:
    """Split consecutive rows into blocks whose summed cost stays near ``budget``."""
    edges = np.searchsorted(np.cumsum(cost), np.arange(budget, cost.sum() + budget, budget))
    bounds = np.unique(np.concatenate([[0], np.minimum(edges + 1, cost.size), [cost.size]]))
    return [(int(a), int(z)) for a, z in pairwise(bounds) if z > a]


def map_blocks(func: Callable[[_T], _R], items: Sequence[_T], jobs: int) -> list[_R]:
    """``[func(x) for x in items]``, on ``jobs`` threads (scipy and numpy release the GIL)."""
    if jobs == 1 or len(items) < 2:
        return [func(x) for x in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(func, items))


def item_similarity(
    X: sp.csr_matrix, *, kind: str, shrink: float, k1: float, b: float, k: int, jobs: int
) -> sp.csr_matrix:
    """Items x items matrix holding the ``k`` most similar other items of each item.

    ``X`` is the customers x items matrix; the options are validated by the caller.
    The weighted item rows are multiplied with all items in blocks of consecutive items
    sized by their multiply-adds (``_BLOCK_FLOPS``), and each block's product is cut to
    its top ``k + 1`` per row straight away (:func:`top_n_per_row`), so no dense or
    whole-matrix intermediate exists.
    """
    weighted = weigh(X, kind, k1, b)  # items x customers
    # row norms scaled by the row maximum, so huge or tiny weights neither overflow
    # nor underflow when squared
    scale = np.asarray(abs(weighted).max(axis=1).todense()).ravel()
    scale[scale == 0] = 1.0
    scaled = sp.diags(1.0 / scale) @ weighted
    norms = scale * np.sqrt(np.asarray(scaled.multiply(scaled).sum(axis=1)).ravel())
    if kind != "bm25" and shrink == 0:
        # plain cosine: normalise once, so the products are the similarities
        inverse = np.zeros_like(norms)
        np.divide(1.0, norms, out=inverse, where=norms > 0)  # all-zero rows stay zero
        weighted = sp.diags(inverse) @ weighted
    other = weighted.T.tocsr()  # customers x items
    n_items = weighted.shape[0]
    degree = np.diff(other.indptr).astype(np.float64)
    cost = weighted.copy()
    cost.data = np.ones_like(cost.data)
    cost_per_item = cost @ degree + 1.0

    def block(bounds: tuple[int, int]) -> tuple[Any, Any, Any]:
        lo, hi = bounds
        dots = (weighted[lo:hi] @ other).tocsr()
        if kind != "bm25" and shrink > 0:
            rows = np.repeat(np.arange(lo, hi), np.diff(dots.indptr))
            dots.data = dots.data / (norms[rows] * norms[dots.indices] + shrink)
        # one extra candidate per row, then drop the item itself (never its own
        # neighbour) and keep k: cheaper than masking the diagonal of the product
        r, c, v = top_n_per_row(dots, k + 1)
        r = r + lo
        other_item = c != r
        r, c, v = r[other_item], c[other_item], v[other_item]
        rank = np.arange(r.size) - np.searchsorted(r, r)
        first = rank < k
        return r[first], c[first], v[first]

    parts = map_blocks(block, blocks(cost_per_item, _BLOCK_FLOPS), jobs)
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items))
