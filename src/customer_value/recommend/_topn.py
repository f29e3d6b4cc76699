"""Deterministic top-n per row of a CSR matrix, vectorised (no Python loop over rows)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

_BUDGET = 1 << 23  # cells of one padded block (64 MiB of float64)
_SEGMENT = 8  # entries per segment of the pre-filter (see top_n_per_row)


def top_n_per_row(
    matrix: sp.csr_matrix, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The ``n`` largest stored entries of each row as ``(rows, cols, values)``.

    Rows come in order; within a row, by value (descending), ties by column (ascending),
    so the result never depends on how the product that made ``matrix`` was computed.
    Explicit entries equal to ``-inf`` are never returned.

    Notes
    -----
    Long rows are first cut down to candidates with a lower bound on their ``n``-th
    largest value: cut each row into segments of ``_SEGMENT`` consecutive entries; the
    ``n``-th largest of the segment maxima (found the same way, recursively) is the
    ``n``-th largest of ``n`` distinct entries, so it cannot exceed the row's ``n``-th
    largest value, and every entry below it can go. One ``np.maximum.reduceat`` and one
    comparison per level, in compiled code, leave at most ``_SEGMENT`` entries per
    segment whose maximum reaches the bound (about ``_SEGMENT * n`` without ties), on
    which the exact selection (padded partition, then a sort) runs.
    """
    lengths = np.diff(matrix.indptr).astype(np.int64)
    values = matrix.data.astype(np.float64, copy=False)
    values, lengths, kept = _prefilter(values, lengths, n)
    cols = matrix.indices if kept is None else matrix.indices[kept]
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return _exact_top(values, cols, indptr, lengths, n)


def _prefilter(
    values: npt.NDArray[np.float64], lengths: npt.NDArray[np.int64], n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64] | None]:
    """Drop entries below a lower bound of their row's ``n``-th largest value.

    Returns the surviving values, the new row lengths and the positions kept (``None``
    when nothing was filtered).
    """
    if lengths.size == 0 or lengths.max() <= _SEGMENT * n or lengths.mean() <= _SEGMENT * n / 2:
        return values, lengths, None
    n_segments = -(-lengths // _SEGMENT)
    first_seg = np.cumsum(n_segments) - n_segments
    row_start = np.cumsum(lengths) - lengths
    # segment k of the whole table starts at _SEGMENT * k shifted by its row's offset;
    # every segment starts inside its row and the next start closes it (rows are
    # contiguous in CSR order, and empty rows have no segments)
    edges = np.repeat(row_start - _SEGMENT * first_seg, n_segments)
    edges += _SEGMENT * np.arange(edges.size, dtype=np.int64)
    maxima = np.maximum.reduceat(values, edges)
    bound = _nth_largest(maxima, n_segments, n)
    # only segments whose maximum reaches the bound can hold survivors: look inside
    # those alone instead of comparing every entry
    hit = np.flatnonzero((maxima >= np.repeat(bound, n_segments)) & (maxima > -np.inf))
    hit_row = np.searchsorted(first_seg, hit, side="right") - 1
    start = edges[hit]
    span = np.minimum(_SEGMENT, row_start[hit_row] + lengths[hit_row] - start)
    step = np.arange(_SEGMENT)
    pos = np.minimum(start[:, None] + step, values.size - 1)  # padding stays in bounds
    found = values[pos]
    # -inf never survives: the cut is at least the most negative finite number
    cut = np.maximum(bound[hit_row], np.finfo(np.float64).min)
    keep = (found >= cut[:, None]) & (step < span[:, None])
    counts = np.bincount(hit_row, weights=keep.sum(axis=1), minlength=lengths.size)
    return found[keep], counts.astype(np.int64), pos[keep]


def _nth_largest(
    values: npt.NDArray[np.float64], lengths: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.float64]:
    """Exact ``n``-th largest value of each row (``-inf`` for rows shorter than ``n``)."""
    values, lengths, _ = _prefilter(values, lengths, n)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    threshold = np.full(lengths.size, -np.inf)
    long_rows = np.flatnonzero(lengths >= n)
    _padded_nth(values, indptr, lengths, long_rows, n, threshold)
    return threshold


def _padded_nth(
    values: npt.NDArray[np.float64],
    indptr: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    long_rows: npt.NDArray[np.int64],
    n: int,
    out: npt.NDArray[np.float64],
) -> None:
    """``out[r]`` = the ``n``-th largest value of row ``r``, for each of ``long_rows``.

    Computed on padded blocks of rows of similar length (rows grouped by the power of
    two above it).
    """
    if long_rows.size == 0:
        return
    width_class = np.ceil(np.log2(lengths[long_rows])).astype(np.int64)
    for cls in np.unique(width_class):
        members = long_rows[width_class == cls]
        width = int(lengths[members].max())
        step = max(1, _BUDGET // width)
        for start in range(0, members.size, step):
            rows = members[start : start + step]
            out[rows] = _kth_largest(values, indptr, lengths, rows, width, n)


def _exact_top(
    values: npt.NDArray[np.float64],
    cols: npt.NDArray[np.integer],
    indptr: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    n: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    entry_row = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    keep = values > -np.inf
    long_rows = np.flatnonzero(lengths > n)
    if long_rows.size:
        threshold = np.full(lengths.size, -np.inf)
        _padded_nth(values, indptr, lengths, long_rows, n, threshold)
        keep &= values >= threshold[entry_row]
    return _sort_rows(entry_row[keep], cols[keep].astype(np.int64), values[keep], lengths.size, n)


def _sort_rows(
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    vals: npt.NDArray[np.float64],
    n_rows: int,
    n: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Order entries (grouped by ascending row) by value descending, then column; keep n.

    The few entries per row are sorted as a padded table, one small sort per row
    (``np.lexsort`` along axis 1), far cheaper than one sort of every entry by three
    keys; a row with very many tied entries falls back to that single sort.
    """
    counts = np.bincount(rows, minlength=n_rows)
    width = int(counts.max()) if counts.size else 0
    if width == 0 or n_rows * width > _BUDGET:
        order = np.lexsort((cols, -vals, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        rank = np.arange(rows.size, dtype=np.int64) - np.searchsorted(rows, rows, side="left")
        first = rank < n  # boundary ties beyond n fall off, by column order
        return rows[first], cols[first], vals[first]
    offset = np.arange(rows.size, dtype=np.int64) - (np.cumsum(counts) - counts)[rows]
    neg = np.full((n_rows, width), np.inf)  # padding sorts last
    neg[rows, offset] = -vals
    col = np.full((n_rows, width), np.iinfo(np.int64).max)
    col[rows, offset] = cols
    order = np.lexsort((col, neg), axis=1)[:, :n]
    neg = np.take_along_axis(neg, order, axis=1)
    col = np.take_along_axis(col, order, axis=1)
    real = neg < np.inf
    row = np.broadcast_to(np.arange(n_rows, dtype=np.int64)[:, None], real.shape)
    return row[real], col[real], -neg[real]


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
