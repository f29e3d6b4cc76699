"""Deterministic top-n per row of a CSR matrix, vectorised (no Python loop over rows)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

_BUDGET = 1 << 23  # cells of one padded block (64 MiB of float64)


def top_n_per_row(
    matrix: sp.csr_matrix, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The ``n`` largest stored entries of each row as ``(rows, cols, values)``.

    Rows come in order; within a row, by value (descending), ties by column (ascending),
    so the result never depends on how the product that made ``matrix`` was computed.
    Explicit entries equal to ``-inf`` are never returned.
    """
    indptr = matrix.indptr.astype(np.int64)
    lengths = np.diff(indptr)
    values = matrix.data.astype(np.float64, copy=False)
    entry_row = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    keep = values > -np.inf
    long_rows = np.flatnonzero(lengths > n)
    if long_rows.size:
        # Rows longer than n: threshold at their n-th largest value, computed on padded
        # blocks of rows of similar length (rows grouped by the power of two above it).
        threshold = np.full(lengths.size, -np.inf)
        width_class = np.ceil(np.log2(lengths[long_rows])).astype(np.int64)
        for cls in np.unique(width_class):
            members = long_rows[width_class == cls]
            width = int(lengths[members].max())
            step = max(1, _BUDGET // width)
            for start in range(0, members.size, step):
                rows = members[start : start + step]
                threshold[rows] = _kth_largest(values, indptr, lengths, rows, width, n)
        keep &= values >= threshold[entry_row]
    rows = entry_row[keep]
    cols = matrix.indices[keep].astype(np.int64)
    vals = values[keep]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    rank = np.arange(rows.size, dtype=np.int64) - np.searchsorted(rows, rows, side="left")
    first = rank < n  # boundary ties beyond n fall off, by column order
    return rows[first], cols[first], vals[first]


def _kth_largest(
    values: npt.NDArray[np.float64],
    indptr: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    width: int,
    n: int,
) -> npt.NDArray[np.float64]:
    lens = lengths[rows]
    starts = indptr[rows]
    local = np.repeat(np.arange(rows.size), lens)
    offset = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
    padded = np.full((rows.size, width), -np.inf)
    padded[local, offset] = values[np.repeat(starts, lens) + offset]
    kth: npt.NDArray[np.float64] = np.partition(padded, width - n, axis=1)[:, width - n]
    return kth
