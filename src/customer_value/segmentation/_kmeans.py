"""k-means kernels: greedy k-means++ seeding, blocked Lloyd iterations, silhouette width.

Private to :mod:`customer_value.segmentation`; :class:`ClusterSegmenter` validates its
input and hands clean float arrays (and positive weights) to these functions, which
assume it, as scikit-learn's ``_kmeans_plusplus`` does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from customer_value._validation import FloatArray, IntArray
from customer_value.errors import InvalidDataError

__all__ = ["TooFewDistinctError", "assign", "kmeans", "moments", "pow2_scale", "silhouette"]

_CHUNK = 1 << 16  # rows per distance block: keeps the n x k block in cache-sized pieces


def pow2_scale(values: FloatArray, axis: int | None = None) -> Any:
    """The largest power of two not above ``max |values|`` (along ``axis``); 1 for 0.

    Dividing by a power of two is exact, so the k-means geometry is unchanged while squares
    of values as large as 1e300 or as small as 1e-300 neither overflow nor underflow.
    """
    biggest = np.max(np.abs(values), axis=axis)
    ok = np.isfinite(biggest) & (biggest > 0)
    return np.exp2(np.floor(np.log2(np.where(ok, biggest, 1.0))))


def moments(X: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-column unit (power of two), weighted mean and standard deviation in that unit.

    ``X / unit`` lies in (-2, 2), so neither the mean nor the squared deviations overflow or
    underflow. A column whose values are all equal gets standard deviation exactly 0 (its
    floating-point mean may differ from the common value in the last bit).
    """
    unit = np.asarray(pow2_scale(X, axis=0), dtype=np.float64)
    scaled = X / unit
    mean = np.average(scaled, axis=0, weights=w)
    sd = np.sqrt(np.average((scaled - mean) ** 2, axis=0, weights=w))
    sd[scaled.max(axis=0) == scaled.min(axis=0)] = 0.0
    return unit, mean, sd


class TooFewDistinctError(Exception):
    """k-means++ ran out of distinct points after ``found`` centres."""

    def __init__(self, found: int) -> None:
        super().__init__(found)
        self.found = found


def _sq_distances(X: FloatArray, x_sq: FloatArray, centers: FloatArray) -> FloatArray:
    """Squared distances of every centre to every row, centre-major (k x n), >= 0.

    Rounding leaves tiny positive values for identical points; they are set to zero
    so that k-means++ can tell when every remaining point coincides with a centre.
    Computed in row blocks: one large matrix product is several times slower with
    threaded BLAS on a busy machine.
    """
    c_sq = np.einsum("ij,ij->i", centers, centers)
    minus_two_c = -2.0 * centers
    out = np.empty((centers.shape[0], X.shape[0]))
    for start in range(0, X.shape[0], _CHUNK):
        stop = min(start + _CHUNK, X.shape[0])
        d = out[:, start:stop]
        np.matmul(minus_two_c, X[start:stop].T, out=d)
        scale = x_sq[None, start:stop] + c_sq[:, None]
        d += scale
        d[d <= 1e-12 * scale] = 0.0
    return out


def _kmeans_plusplus(
    X: FloatArray, x_sq: FloatArray, w: FloatArray, k: int, rng: np.random.Generator
) -> FloatArray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, sec. 2.2).

    Each new centre is the best (lowest potential) of ``2 + ln k`` candidates drawn
    with probability proportional to ``w * D(x)^2``.
    """
    n = X.shape[0]
    n_trials = 2 + int(math.log(k))
    first = int(np.searchsorted(np.cumsum(w), rng.random() * w.sum(), side="right"))
    centers = np.empty((k, X.shape[1]))
    centers[0] = X[min(first, n - 1)]
    closest = _sq_distances(X, x_sq, centers[:1])[0]
    for c in range(1, k):
        weighted = w * closest
        potential = float(weighted.sum())
        if potential <= 0.0:
            # The expanded |x|^2 - 2x.c + |c|^2 form rounds tiny distances to 0; recompute
            # them directly before concluding that every point is already a centre.
            closest = np.min([np.square(X - centre).sum(axis=1) for centre in centers[:c]], axis=0)
            weighted = w * closest
            potential = float(weighted.sum())
            if potential <= 0.0:
                raise TooFewDistinctError(c)
        picks = np.searchsorted(np.cumsum(weighted), rng.random(n_trials) * potential, "right")
        picks = np.minimum(picks, n - 1)
        candidates = _sq_distances(X, x_sq, X[picks])
        np.minimum(candidates, closest[None, :], out=candidates)
        best = int(np.argmin(candidates @ w))
        centers[c] = X[picks[best]]
        closest = candidates[best].copy()
    return centers


def assign(
    X: FloatArray, x_sq: FloatArray, centers: FloatArray, w: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Nearest centre and squared distance for every row, plus the weighted sums and
    sizes of the clusters this assignment implies (the next Lloyd step), in blocks.

    The argmin only needs ``c^2 - 2 x.c``; ``x^2`` is added to the minimum alone.
    Each block is laid out centre-major (k x rows) so that the running minimum over
    the k centres is a handful of contiguous vector passes; ties go to the lower
    centre, as with ``argmin``. Cluster sums are a one-hot matrix product on the
    block while it is still in cache.
    """
    n = X.shape[0]
    k = centers.shape[0]
    labels = np.empty(n, dtype=np.int64)
    mind = np.empty(n)
    sums = np.zeros((k, X.shape[1]))
    size = np.zeros(k)
    c_sq = np.einsum("ij,ij->i", centers, centers)
    minus_two_c = -2.0 * centers
    ks = np.arange(k)[:, None]
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        block = X[start:stop]
        d = minus_two_c @ block.T
        d += c_sq[:, None]
        best = d[0].copy()
        lab = np.zeros(stop - start, dtype=np.int64)
        for j in range(1, k):
            closer = d[j] < best
            np.minimum(best, d[j], out=best)
            lab[closer] = j
        labels[start:stop] = lab
        mind[start:stop] = best
        onehot = (lab[None, :] == ks) * w[None, start:stop]
        sums += onehot @ block
        size += onehot.sum(axis=1)
    mind += x_sq
    np.maximum(mind, 0.0, out=mind)
    return labels, mind, sums, size


def _lloyd(
    X: FloatArray,
    centers: FloatArray,
    w: FloatArray,
    *,
    max_iter: int = 300,
    tol: float = 1e-4,
    x_sq: FloatArray | None = None,
) -> tuple[FloatArray, IntArray, float, int]:
    """Lloyd's iterations from ``centers`` until the labels stop changing or the
    total squared centre shift is at most ``tol`` times the mean feature variance.

    Returns centres, labels, inertia (weighted sum of squared distances) and the
    number of iterations. Empty clusters are moved to the point farthest from its
    centre.
    """
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", X, X)
    mean = np.average(X, axis=0, weights=w)
    threshold = tol * float(np.mean(np.average((X - mean) ** 2, axis=0, weights=w)))
    centers = centers.copy()
    labels, mind, sums, size = assign(X, x_sq, centers, w)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        new = centers.copy()
        filled = size > 0
        new[filled] = sums[filled] / size[filled, None]
        for empty in np.flatnonzero(~filled):
            far = int(np.argmax(w * mind))
            new[empty] = X[far]
            mind[far] = 0.0
        shift = float(((new - centers) ** 2).sum())
        centers = new
        new_labels, mind, sums, size = assign(X, x_sq, centers, w)
        unchanged = bool(np.array_equal(new_labels, labels))
        labels = new_labels
        if unchanged or shift <= threshold:
            break
    inertia = float(w @ mind)
    return centers, labels, inertia, n_iter


def kmeans(
    X: FloatArray,
    w: FloatArray,
    k: int,
    rng: np.random.Generator,
    *,
    n_init: int,
    max_iter: int,
    tol: float,
    restart_sample: int | None = None,
) -> tuple[FloatArray, IntArray, float, int]:
    """Best of ``n_init`` k-means++ runs (lowest inertia).

    With ``restart_sample`` smaller than the data, the restarts run on a random
    subsample of that size and only the winner's centres are refined by Lloyd's
    iterations on all rows.
    """
    n = X.shape[0]
    if restart_sample is not None and n > restart_sample:
        sub = np.sort(rng.choice(n, size=restart_sample, replace=False))
        try:
            centers = kmeans(X[sub], w[sub], k, rng, n_init=n_init, max_iter=max_iter, tol=tol)[0]
        except TooFewDistinctError:
            pass  # the sample missed some distinct rows: restart on all rows
        else:
            return _lloyd(X, centers, w, max_iter=max_iter, tol=tol)
    x_sq = np.einsum("ij,ij->i", X, X)
    best: tuple[FloatArray, IntArray, float, int] | None = None
    for _ in range(n_init):
        init = _kmeans_plusplus(X, x_sq, w, k, rng)
        result = _lloyd(X, init, w, max_iter=max_iter, tol=tol, x_sq=x_sq)
        if best is None or result[2] < best[2]:
            best = result
    if best is None:  # n_init >= 1 is checked by ClusterSegmenter.fit
        raise InvalidDataError("n_init must be at least 1")
    return best


def silhouette(X: FloatArray, labels: IntArray) -> float:
    """Mean silhouette width of a labelled sample (Rousseeuw 1987, eq. 11).

    For each point, ``a`` is its mean Euclidean distance to the other members of its
    cluster and ``b`` the smallest mean distance to another cluster;
    ``s = (b - a) / max(a, b)``, and 0 for a point alone in its cluster.

    Parameters
    ----------
    X : ndarray of shape (m, d)
        The points.
    labels : ndarray of int, shape (m,)
        Cluster of each point (at least two distinct clusters).

    Returns
    -------
    float
        The mean of ``s`` over the points.
    """
    from scipy.spatial.distance import cdist  # deferred: scipy.spatial is slow to import

    codes, counts = np.unique(labels, return_inverse=True, return_counts=True)[1:]
    k = counts.shape[0]
    m = X.shape[0]
    onehot = np.zeros((m, k))
    onehot[np.arange(m), codes] = 1.0
    s = np.empty(m)
    for start in range(0, m, 1024):
        stop = min(start + 1024, m)
        sums = cdist(X[start:stop], X) @ onehot
        own = codes[start:stop]
        rows = np.arange(stop - start)
        own_n = counts[own]
        a = np.divide(sums[rows, own], own_n - 1, out=np.zeros(stop - start), where=own_n > 1)
        means = sums / counts[None, :]
        means[rows, own] = np.inf
        b = means.min(axis=1)
        denom = np.maximum(a, b)
        width = np.divide(b - a, denom, out=np.zeros(stop - start), where=denom > 0)
        width[own_n == 1] = 0.0
        s[start:stop] = width
    return float(s.mean())
