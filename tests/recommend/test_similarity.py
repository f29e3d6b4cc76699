"""Similarity kernel: the half (upper-triangle) product equals a full dense product."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from customer_value.recommend import _similarity
from customer_value.recommend._similarity import item_similarity, weigh
from customer_value.recommend._topn import top_n_per_row


def _dense_top_k(X: sp.csr_matrix, k: int, shrink: float) -> sp.csr_matrix:
    """Top-k other items per item from the whole dense X^T X, row by row."""
    dots = (X.T @ X).toarray()  # integer counts: exact in any summation order
    w = weigh(X, "cosine", 0.0, 0.0)
    rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    # the kernel's norms (scaled by the row maximum), so equal values stay equal
    scale = np.ones(w.shape[0])
    np.maximum.at(scale, rows, np.abs(w.data))
    norms = scale * np.sqrt(np.bincount(rows, (w.data * (1.0 / scale)[rows]) ** 2, w.shape[0]))
    sims = dots / (norms[:, None] * norms[None, :] + shrink)
    sims[dots == 0] = 0.0
    np.fill_diagonal(sims, 0.0)
    r, c, v = top_n_per_row(sp.csr_matrix(sims), k)
    return sp.csr_matrix((v, (r, c)), shape=sims.shape)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("budget", [10, 300, 10**9])
def test_upper_triangle_blocks_equal_the_full_product(
    seed: int, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small integer counts: many exact ties, also at the k-th place, which must be
    # broken by item order exactly as a full row-by-row selection does
    rng = np.random.default_rng(seed)
    n_customers, n_items = int(rng.integers(10, 200)), int(rng.integers(3, 90))
    lines = int(rng.integers(10, 1500))
    X = sp.csr_matrix(
        (
            rng.choice([1.0, 2.0] if seed % 2 else [1.0], lines),
            (rng.integers(0, n_customers, lines), rng.integers(0, n_items, lines)),
        ),
        shape=(n_customers, n_items),
    )
    X.sum_duplicates()
    X.sort_indices()
    k = int(rng.integers(1, 12))
    monkeypatch.setattr(_similarity, "_BLOCK_FLOPS", budget)
    want = _dense_top_k(X, k, shrink=1.0)
    for jobs in (1, 2):
        got = item_similarity(X, kind="cosine", shrink=1.0, k1=1.2, b=0.75, k=k, jobs=jobs)
        got.sort_indices()
        want.sort_indices()
        assert got.indptr.tolist() == want.indptr.tolist()
        assert got.indices.tolist() == want.indices.tolist()
        np.testing.assert_allclose(got.data, want.data, rtol=1e-14, atol=0)
