"""Top-n per row: the pre-filtered selection equals a plain per-row sort, ties included."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_value.recommend import _topn
from customer_value.recommend._topn import top_n_per_row


def _brute(matrix: sp.csr_matrix, n: int) -> list[tuple[int, int, float]]:
    out: list[tuple[int, int, float]] = []
    for r in range(matrix.shape[0]):
        lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
        entries = [
            (-float(v), int(c))
            for c, v in zip(matrix.indices[lo:hi], matrix.data[lo:hi], strict=True)
            if v > -np.inf
        ]
        out += [(r, c, -v) for v, c in sorted(entries)[:n]]
    return out


def _random_csr(seed: int, rows: int, cols: int, density: float, levels: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    m = sp.random(rows, cols, density=density, format="csr", random_state=rng)
    # few distinct values: many ties, also at the n-th place; some excluded (-inf)
    m.data = np.round(m.data * levels) / levels
    m.data[rng.random(m.nnz) < 0.1] = -np.inf
    # unsorted columns within rows, as sparse products leave them
    for r in range(rows):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        order = rng.permutation(hi - lo)
        m.indices[lo:hi] = m.indices[lo:hi][order]
        m.data[lo:hi] = m.data[lo:hi][order]
    m.has_sorted_indices = False
    return m


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 12),
    density=st.sampled_from([0.02, 0.3, 0.9]),
    levels=st.sampled_from([2, 10, 10_000]),
)
def test_equals_a_sort_per_row(seed: int, n: int, density: float, levels: int) -> None:
    m = _random_csr(seed, rows=23, cols=300, density=density, levels=levels)
    rows, cols, vals = top_n_per_row(m, n)
    assert list(zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True)) == _brute(m, n)


@pytest.mark.parametrize("n", [1, 3, 10])
def test_last_row_reaching_the_end_of_the_data(n: int) -> None:
    # the pre-filter's segment edges must stay inside the data when the last long row
    # ends at the last stored entry; the largest value sits in that very last entry
    data = np.arange(1.0, 201.0)
    m = sp.csr_matrix((data, np.arange(200), [0, 0, 200]), shape=(2, 200))
    rows, cols, vals = top_n_per_row(m, n)
    assert rows.tolist() == [1] * n
    assert vals.tolist() == list(np.arange(200.0, 200.0 - n, -1.0))
    assert cols.tolist() == list(range(199, 199 - n, -1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_budget_paths_agree(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # a tiny block budget sends the final ordering through the single three-key sort
    # and the padded partition through one row per block
    m = _random_csr(seed, rows=40, cols=200, density=0.5, levels=5)
    expected = _brute(m, 4)
    monkeypatch.setattr(_topn, "_BUDGET", 1)
    rows, cols, vals = top_n_per_row(m, 4)
    assert list(zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True)) == expected
