"""Item-item similarity kernel: weighting, blocked sparse products, top-k per item."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from customer_value.recommend._topn import top_n_per_row

_BLOCK_FLOPS = 40_000_000  # multiply-adds per block of the similarity product

_T = TypeVar("_T")
_R = TypeVar("_R")

_Triples = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _entry_rows(m: sp.csr_matrix) -> npt.NDArray[np.int64]:
    """Row of each stored entry of a CSR matrix."""
    return np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))


def weigh(X: sp.csr_matrix, similarity: str, k1: float, b: float) -> sp.csr_matrix:
    """Item x customer matrix weighted for the chosen similarity (unnormalised).

    Column indices come out sorted within each row (a CSR transpose leaves them so).
    """
    item_rows: sp.csr_matrix = X.T.tocsr().astype(np.float64, copy=False)
    if similarity == "cosine":
        return item_rows
    n_items = float(item_rows.shape[0])
    customer = item_rows.indices
    df = np.bincount(customer, minlength=item_rows.shape[1]).astype(np.float64)
    idf = np.log(n_items) - np.log1p(df)
    counts = item_rows.data
    if similarity == "tfidf":
        data = np.sqrt(counts) * idf[customer]
    else:  # bm25
        lengths = np.asarray(item_rows.sum(axis=1)).ravel()
        norm = ((1.0 - b) + b * lengths / lengths.mean())[_entry_rows(item_rows)]
        data = counts * (k1 + 1.0) / (k1 * norm + counts) * idf[customer]
    return sp.csr_matrix((data, customer, item_rows.indptr), shape=item_rows.shape)


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


def row_slice(m: sp.csr_matrix, lo: int, hi: int) -> sp.csr_matrix:
    """Rows ``lo:hi`` of a CSR matrix as a view (no copy of the stored entries)."""
    start, stop = m.indptr[lo], m.indptr[hi]
    return sp.csr_matrix(
        (m.data[start:stop], m.indices[start:stop], m.indptr[lo : hi + 1] - start),
        shape=(hi - lo, m.shape[1]),
        copy=False,
    )


def _columns_from(m: sp.csr_matrix, lo: int) -> sp.csr_matrix:
    """The entries of a CSR matrix in columns ``lo:`` (same shape, same column numbers)."""
    if lo == 0:
        return m
    keep = m.indices >= lo
    kept = np.concatenate([[0], np.cumsum(keep)])
    return sp.csr_matrix((m.data[keep], m.indices[keep], kept[m.indptr]), shape=m.shape)


def _first_k(triples: _Triples, k: int) -> _Triples:
    """The first ``k`` entries of each row of ``(rows, cols, values)`` grouped by row."""
    r, c, v = triples
    rank = np.arange(r.size) - np.searchsorted(r, r)
    first = rank < k
    return r[first], c[first], v[first]


def _upper_cost(X: sp.csr_matrix) -> npt.NDArray[np.float64]:
    """Expected multiply-adds of item ``i``'s row of the upper triangle of :math:`X^\\top X`.

    ``X`` is customers x items. Each of item ``i``'s ``c_i`` customers pairs it with
    their items from ``i`` on: on average the mean basket size times the share of all
    purchases that fall on items ``>= i``. Only the sizes of the blocks depend on it.
    """
    counts = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
    total = max(float(counts.sum()), 1.0)
    from_here = np.cumsum(counts[::-1])[::-1] / total
    per_customer = total / max(X.shape[0], 1)
    return np.asarray(counts * per_customer * from_here + 1.0, dtype=np.float64)


def item_similarity(
    X: sp.csr_matrix, *, kind: str, shrink: float, k1: float, b: float, k: int, jobs: int
) -> sp.csr_matrix:
    """Items x items matrix holding the ``k`` most similar other items of each item.

    ``X`` is the customers x items matrix (sorted columns); the options are validated by
    the caller.

    Notes
    -----
    The similarity matrix :math:`A A^\\top` of the weighted item rows :math:`A` is
    symmetric, so only its upper triangle is multiplied out (half the multiply-adds),
    in blocks of consecutive items ``lo:hi`` sized by their multiply-adds
    (``_BLOCK_FLOPS``): :math:`Q = A_{lo:hi} A_{lo:}^\\top` holds :math:`s_{ij}` for
    the block items :math:`i` and every item :math:`j \\ge lo`. Its rows give each
    block item its best partners from ``lo`` on (itself dropped); its columns after the
    block give each later item its best partners inside the block. Each part is cut to
    its top ``k`` (:func:`top_n_per_row`) and the union over the blocks, which covers
    every pair once, is cut again: top-``k`` of a union is top-``k`` of the parts'
    top-``k`` lists, and :math:`s_{ij}` and :math:`s_{ji}` are the same products summed
    in the same (customer) order, so the result equals the full row-by-row product.

    Blocks run from the last to the first, and the ``k``-th best partner an item found
    in its own block is a lower bound of its final ``k``-th best similarity: in the
    columns of earlier blocks, only entries reaching that bound are kept, so the
    column-wise cut never transposes the whole block product. With threads, a block
    waits for the bounds of the later blocks (started before it) before that filter.
    """
    weighted = weigh(X, kind, k1, b)  # items x customers
    rows = _entry_rows(weighted)
    # row norms scaled by the row maximum, so huge or tiny weights neither overflow
    # nor underflow when squared
    scale = np.ones(weighted.shape[0])
    filled = np.flatnonzero(np.diff(weighted.indptr))
    if filled.size:
        scale[filled] = np.maximum.reduceat(np.abs(weighted.data), weighted.indptr[filled])
    scale[scale == 0] = 1.0
    norms = scale * np.sqrt(
        np.bincount(rows, weights=(weighted.data * (1.0 / scale)[rows]) ** 2, minlength=scale.size)
    )
    if kind != "bm25" and shrink == 0:
        # plain cosine: normalise once, so the products are the similarities
        inverse = np.zeros_like(norms)
        np.divide(1.0, norms, out=inverse, where=norms > 0)  # all-zero rows stay zero
        weighted = sp.csr_matrix(
            (weighted.data * inverse[rows], weighted.indices, weighted.indptr),
            shape=weighted.shape,
        )
    n_items = weighted.shape[0]

    other = weighted.T.tocsr()  # customers x items, columns sorted
    # k-th best similarity of each item within its own block: a lower bound of its
    # final k-th best, so smaller candidates for it can be dropped before any sorting
    bound = np.full(n_items, -np.inf)
    # blocks run from the last to the first; a block sets its event once its items'
    # bounds are written and waits for the later blocks' events before filtering with
    # them (those started before it and never wait for it, so no deadlock)
    order = blocks(_upper_cost(X), _BLOCK_FLOPS)[::-1]
    written = [threading.Event() for _ in order]

    def block(index: int) -> _Triples:
        lo, hi = order[index]
        try:
            # s_ij for block items i (rows) and every item j >= lo (global columns)
            q: sp.csr_matrix = (row_slice(weighted, lo, hi) @ _columns_from(other, lo)).tocsr()
            if kind != "bm25" and shrink > 0:
                rows = _entry_rows(q) + lo
                q.data = q.data / (norms[rows] * norms[q.indices] + shrink)
            # block items: their best partners from lo on; one extra, then drop the
            # item itself (never its own neighbour): cheaper than masking the diagonal
            r2, c2, v2 = top_n_per_row(q, k + 1)
            r2 = r2 + lo
            mine = c2 != r2
            r2, c2, v2 = _first_k((r2[mine], c2[mine], v2[mine]), k)
            full = np.flatnonzero(np.bincount(r2 - lo, minlength=hi - lo) == k)
            bound[lo + full] = v2[np.searchsorted(r2, lo + full, side="right") - 1]
        finally:
            written[index].set()
        for event in written[:index]:
            event.wait()
        # items after the block: their best partners inside it, among the entries that
        # reach the item's bound
        j = q.indices
        keep = np.flatnonzero((j >= hi) & (q.data >= bound[j]))
        i = np.searchsorted(q.indptr, keep, side="right") - 1 + lo
        later = sp.csr_matrix((q.data[keep], (j[keep], i)), shape=(n_items, n_items))
        r1, c1, v1 = top_n_per_row(later, k)
        return np.concatenate([r1, r2]), np.concatenate([c1, c2]), np.concatenate([v1, v2])

    parts = map_blocks(block, range(len(order)), jobs)
    union = sp.csr_matrix(
        (
            np.concatenate([p[2] for p in parts]),
            (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])),
        ),
        shape=(n_items, n_items),
    )
    r, c, v = top_n_per_row(union, k)
    return sp.csr_matrix((v, (r, c)), shape=(n_items, n_items))
