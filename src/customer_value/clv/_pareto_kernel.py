"""The Gauss hypergeometric kernel of the Pareto/NBD likelihood (private).

``log G(u)`` of Fader & Hardie's (2005) note, with its gradient in ``(r, alpha, s,
beta)``, for one parameter vector or one per row (covariates). Euler's transformation
turns each branch (``alpha >= beta`` or ``alpha < beta``) into ``2F1(1, b; c; z)`` with
``0 <= z < 1`` and ``c > b``, a series of positive terms whose parameters barely grow
with the frequency. Summing that series ourselves gives the value *and* its derivatives
in ``b``, ``c`` and ``z`` (hence an analytic gradient), stays in log space, and never
overflows for large frequencies or large T, where ``scipy.special.hyp2f1`` on the
untransformed parameters (what ``lifetimes`` calls) loses accuracy or overflows. Rows
whose ``z`` is close to 1 are integrated by Gauss-Legendre quadrature instead.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
from scipy import special

from customer_value._validation import FloatArray
from customer_value.clv._base import Data

__all__: list[str] = []

_MAX_TERMS = 20_000
# One Gauss-Legendre rule for both quadratures (log G near z = 1, and the pmf mixture).
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(96)


def _series(
    b: FloatArray, c: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``S = 2F1(1, b; c; z)`` and its partial derivatives in ``b``, ``c``, ``z``.

    Requires ``c > b > 0`` and ``0 <= z < 1``: all terms are positive and their ratio
    ``z (b+n)/(c+n)`` stays below ``z``, so the loop (over terms, vectorised over rows)
    converges geometrically. Rows drop out of the loop as they converge; past
    ``_MAX_TERMS`` terms the remainder is added as a geometric tail.
    """
    n_rows = b.size
    S = np.ones(n_rows)
    Sb = np.zeros(n_rows)
    Sc = np.zeros(n_rows)
    Sz = np.zeros(n_rows)
    idx = np.arange(n_rows)
    bb, cc, zz = b.copy(), c.copy(), z.copy()
    q = bb / cc  # q_n = (b)_n / (c)_n z^(n-1), so that term_n = z q_n
    db = 1.0 / bb  # sum_{j<n} 1/(b+j): d log (b)_n / db
    dc = 1.0 / cc
    s_acc, sb_acc, sc_acc, sz_acc = S.copy(), Sb.copy(), Sc.copy(), Sz.copy()
    n = 1
    while idx.size:
        term = zz * q
        s_acc += term
        sb_acc += term * db
        sc_acc -= term * dc
        sz_acc += n * q
        ratio = zz * (bb + n) / (cc + n)
        q = q * ratio
        db = db + 1.0 / (bb + n)
        dc = dc + 1.0 / (cc + n)
        n += 1
        small = (n * q <= 1e-17 * (1.0 - zz) * sz_acc) & (zz * q <= 1e-17 * (1.0 - zz) * s_acc)
        if n >= _MAX_TERMS:
            # Geometric tail with the current ratio (a slight underestimate).
            tail = zz * q / (1.0 - ratio)
            s_acc += tail
            sb_acc += tail * db
            sc_acc -= tail * dc
            sz_acc += n * q / (1.0 - ratio)
            small = np.ones(idx.size, dtype=np.bool_)
        if small.any():
            done = idx[small]
            S[done], Sb[done], Sc[done], Sz[done] = (
                s_acc[small],
                sb_acc[small],
                sc_acc[small],
                sz_acc[small],
            )
            keep = ~small
            idx = idx[keep]
            bb, cc, zz, q, db, dc = bb[keep], cc[keep], zz[keep], q[keep], db[keep], dc[keep]
            s_acc, sb_acc, sc_acc, sz_acc = s_acc[keep], sb_acc[keep], sc_acc[keep], sz_acc[keep]
    return S, Sb, Sc, Sz


# Per-row fast path (covariates): rows sharing the frequency x (and the branch) share
# b and c, so 2F1(1, b; c; z) and its derivatives are, per bucket of z values of width
# 0.05 (0.025 above 0.8), a short Taylor polynomial around the bucket centre z0 whose
# coefficients come once per bucket from the power series at 0. The polynomial converges
# like (half width / (1 - z0))^m: 13 to 27 terms reach 1e-17 on z <= 0.95.
_Z_COARSE, _Z_FINE, _Z_FINE_FROM = 0.05, 0.025, 0.8  # bucket widths, and where they change
_Z_EDGES = np.r_[
    np.arange(0.0, _Z_FINE_FROM, _Z_COARSE), np.arange(_Z_FINE_FROM, 0.95 + 1e-9, _Z_FINE)
]
_N_COARSE = round(_Z_FINE_FROM / _Z_COARSE)
_N_BUCKETS = _Z_EDGES.size - 1  # buckets cover 0 <= z <= 0.95 (_Z_QUADRATURE_PER_ROW)
_N_ORIGIN = 2000  # power-series terms at 0 used for the re-expansion
_SMALL_GROUP = 64  # groups with fewer rows are summed by _series directly
_BLOCK_ROWS = 1 << 15  # rows per matrix product (bounded memory)


@functools.cache
def _recentre(bucket: int) -> tuple[FloatArray, int, float]:
    """``B`` with ``B[n, m] = C(n, m) z0^(n-m)`` (Taylor coefficients at ``z0`` from
    those at 0, all terms positive), the number of Taylor terms, and ``z0``.

    ``B`` keeps the rows ``n`` up to where every column's terms have fallen below
    1e-20 of the column's total ``(1 - z0)^-(m+1)`` (the coefficients at 0 are at most
    1, times harmonic sums below 10).
    """
    z0 = 0.5 * float(_Z_EDGES[bucket] + _Z_EDGES[bucket + 1])
    ratio = 0.5 * float(_Z_EDGES[bucket + 1] - _Z_EDGES[bucket]) / (1.0 - z0)
    m_terms = int(np.ceil(np.log(1e-17) / np.log(ratio))) + 2
    n = np.arange(_N_ORIGIN + 1, dtype=np.float64)[:, None]
    m = np.arange(m_terms + 2, dtype=np.float64)[None, :]
    with np.errstate(under="ignore", divide="ignore"):
        log_b = (
            special.gammaln(n + 1)
            - special.gammaln(m + 1)
            - special.gammaln(np.maximum(n - m, 0) + 1)
        ) + np.maximum(n - m, 0.0) * np.log(z0)
        recentre = np.where(n >= m, np.exp(log_b), 0.0)
    negligible = log_b + (m + 1) * np.log1p(-z0) < np.log(1e-21)
    past = (n >= m) & ~negligible
    last = int(np.max(np.nonzero(past.any(axis=1))[0])) + 1
    return recentre[: last + 1], m_terms, z0


def _coefficients(b: float, c: float, n_terms: int) -> FloatArray:
    """Columns ``q_n``, ``q_n db_n`` and ``-q_n dc_n``, n = 0..N.

    ``q_n = (b)_n / (c)_n``, ``db_n = sum_(j<n) 1/(b+j)``, ``dc_n = sum_(j<n) 1/(c+j)``:
    the power-series coefficients of ``S``, ``dS/db`` and ``dS/dc`` at ``z = 0``.
    """
    j = np.arange(n_terms, dtype=np.float64)
    out = np.zeros((n_terms + 1, 3))
    out[0, 0] = 1.0
    with np.errstate(under="ignore"):
        np.cumprod((b + j) / (c + j), out=out[1:, 0])
    out[1:, 1] = out[1:, 0] * np.cumsum(1.0 / (b + j))
    out[1:, 2] = -out[1:, 0] * np.cumsum(1.0 / (c + j))
    return out


def _bucket(z: FloatArray) -> Any:
    """Index of the bucket of ``_Z_EDGES`` holding each ``z`` (arithmetic on the two
    uniform grids: several times faster than ``searchsorted``; a value within rounding of
    an edge may land in either neighbour, where its polynomial is as accurate)."""
    fine = z >= _Z_FINE_FROM
    position = np.where(fine, _N_COARSE + (z - _Z_FINE_FROM) / _Z_FINE, z / _Z_COARSE)
    return np.clip(position.astype(np.intp), 0, _N_BUCKETS - 1)


def _series_by_group(
    b: FloatArray,
    c: FloatArray,
    z: FloatArray,
    group: Any,
    *,
    small: Any = None,
    derivatives: bool = True,
) -> FloatArray:
    """:func:`_series` for rows in groups of equal ``(b, c)`` with ``0 <= z <= 0.95``.

    ``group`` numbers the rows sharing ``b`` and ``c`` (non-negative integers). Within a
    group the rows are bucketed by ``z``; in a bucket with centre ``z0`` the four values are
    ``sum_m t_m (z - z0)^m``, one matrix product of the powers of ``z - z0`` with the
    Taylor coefficients ``t_m`` of ``S``, ``dS/db``, ``dS/dc`` and ``dS/dz`` at ``z0``
    (re-expanded from the series at 0 with positive terms only: no cancellation).
    Small groups (``small``, default :func:`_small_group`) go through :func:`_series`.
    Returns the rows ``S, dS/db, dS/dc, dS/dz``, or ``S`` alone (shape ``(1, n)``)
    without ``derivatives``.
    """
    small = _small_group(group) if small is None else small
    key = np.where(small, -1, group * _N_BUCKETS + _bucket(z))
    if key.max() < np.iinfo(np.int16).max:
        key = key.astype(np.int16)  # numpy's stable sort of 16-bit integers is a radix sort
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    sorted_z = z[order]
    cuts = np.r_[0, np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1, key.size]
    n_out = 4 if derivatives else 1
    res = np.empty((n_out, z.size))  # in sorted order: every bucket is a contiguous slice
    origins: dict[int, FloatArray] = {}
    needed: dict[int, int] = {}  # series terms at 0 each group's buckets need
    for seg_key in sorted_key[cuts[:-1]].tolist():
        if seg_key >= 0:
            g, k = divmod(seg_key, _N_BUCKETS)
            needed[g] = max(needed.get(g, 0), _recentre(k)[0].shape[0] - 1)
    for lo_cut, hi_cut in itertools.pairwise(cuts):
        this = int(sorted_key[lo_cut])
        if this < 0:
            rows = order[lo_cut:hi_cut]
            res[:, lo_cut:hi_cut] = np.vstack(_series(b[rows], c[rows], z[rows])[:n_out])
            continue
        g, k = divmod(this, _N_BUCKETS)
        recentre, m_terms, z0 = _recentre(k)
        if g not in origins:
            first = int(order[lo_cut])
            origins[g] = _coefficients(float(b[first]), float(c[first]), needed[g])
        origin = origins[g]
        taylor = recentre.T @ origin[: recentre.shape[0]]  # (m_terms + 2, 3)
        coef = np.empty((m_terms + 1, 4))
        coef[:, :3] = taylor[: m_terms + 1]
        coef[:, 3] = np.arange(1.0, m_terms + 2.0) * taylor[1:, 0]
        coef = coef[:, :n_out]
        for lo in range(lo_cut, hi_cut, _BLOCK_ROWS):
            hi = min(hi_cut, lo + _BLOCK_ROWS)
            step = sorted_z[lo:hi] - z0
            powers = np.empty((m_terms + 1, hi - lo))
            powers[0] = 1.0
            for m in range(1, m_terms + 1):
                np.multiply(powers[m - 1], step, out=powers[m])
            # einsum, not BLAS: threaded BLAS spins on a busy machine for this shape
            np.einsum("mk,mn->kn", coef, powers, out=res[:, lo:hi])
    out = np.empty((n_out, z.size))
    for row in range(n_out):  # row by row: a 2-d fancy scatter is several times slower
        out[row][order] = res[row]
    return out


def _small_group(group: Any) -> Any:
    """Rows whose group has fewer than ``_SMALL_GROUP`` rows (summed by :func:`_series`)."""
    return np.bincount(group)[group] < _SMALL_GROUP


_Z_QUADRATURE = 1.0 - 1e-3  # beyond this the 2F1 series converges too slowly
# With per-customer parameters (covariates) the series loop of _series runs as long as its
# slowest row: there (rows of small groups) integrate from z = 0.8 on (the quadrature
# agrees with the series to 4e-13 in log G at every z); rows of large groups take the
# Taylor buckets of _series_by_group up to z = 0.95.
_Z_QUADRATURE_PER_ROW = 0.8
_Z_QUADRATURE_GROUPED = 0.95


def _log_g_quadrature(params: Any, x: FloatArray, u: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``log G(u)`` and its gradient by quadrature, for rows whose series argument is near 1.

    ``G(u) = int_u^inf (alpha+t)^-(r+x) (beta+t)^-(s+1) dt`` (Fader & Hardie 2005 note,
    eq. 22), integrated in ``w = log(m + t)`` with ``m = min(alpha, beta)``, where the
    integrand ``(M - m + e^w)^-(n) e^(-(p-1) w)`` (``M = max(alpha, beta)`` with power ``n``,
    ``m`` with power ``p``) is smooth: one Gauss-Legendre panel from ``log(m + u)`` to
    ``log(M)`` and one beyond, where it decays like ``e^(-k w)``. The gradient is the
    derivative under the integral sign.
    """
    r, alpha, s, beta = (np.broadcast_to(p, x.shape) for p in params)
    k = r + s + x
    small, large = np.minimum(alpha, beta), np.maximum(alpha, beta)
    lo = np.log(small + u)
    mid = np.maximum(lo, np.log(large) + 1.0)
    hi = mid + 60.0 / k  # the tail beyond is below e^-60 of the integrand at mid
    logs = []
    moments = []
    for a_, b_ in ((lo, mid), (mid, hi)):
        half = 0.5 * (b_ - a_)
        w = (a_ + half)[:, None] + half[:, None] * _GL_NODES[None, :]
        tau = np.exp(w) - small[:, None]  # t + m = e^w
        la, lb = np.log(alpha[:, None] + tau), np.log(beta[:, None] + tau)
        # integrand in w: f(t) dt/dw, dt/dw = e^w = m + t
        log_f = -(r + x)[:, None] * la - (s + 1.0)[:, None] * lb + w
        log_f = np.where(half[:, None] > 0, log_f, -np.inf)
        top = np.max(log_f, axis=1)
        top = np.where(np.isfinite(top), top, 0.0)
        wts = np.exp(log_f - top[:, None]) * (half[:, None] * _GL_WEIGHTS[None, :])
        logs.append(np.log(np.maximum(wts.sum(axis=1), 1e-300)) + top)
        moments.append(
            (
                wts.sum(axis=1),
                (wts * la).sum(axis=1),
                (wts / (alpha[:, None] + tau)).sum(axis=1),
                (wts * lb).sum(axis=1),
                (wts / (beta[:, None] + tau)).sum(axis=1),
                top,
            )
        )
    total = np.logaddexp(logs[0], logs[1])
    grad = np.zeros((x.size, 4))
    for _m0, m_la, m_ia, m_lb, m_ib, top in moments:
        share = np.exp(top - total)
        grad[:, 0] -= share * m_la
        grad[:, 1] -= share * (r + x) * m_ia
        grad[:, 2] -= share * m_lb
        grad[:, 3] -= share * (s + 1.0) * m_ib
    return total, grad


def _log_g(
    params: Any,
    x: FloatArray,
    u: FloatArray,
    *,
    grad: bool,
    z_quadrature: Any = _Z_QUADRATURE,
    x_code: Any = None,
) -> tuple[FloatArray, FloatArray | None]:
    """``log G(u)`` and, optionally, its gradient in (r, alpha, s, beta), shape (n, 4).

    ``params``: four scalars, or per-row arrays (``r`` and ``s`` may stay scalars).

    Fader & Hardie (2005 note), the likelihood and its two branches, after Euler's
    transformation: with ``k = r + s + x``,

    * ``alpha >= beta``: ``log G = -(r+x) log(α+u) - s log(β+u) - log k
      + log 2F1(1, r+x; k+1; (α-β)/(α+u))``;
    * ``alpha < beta``: ``log G = -(r+x-1) log(α+u) - (s+1) log(β+u) - log k
      + log 2F1(1, s+1; k+1; (β-α)/(β+u))``.
    """
    # r and s may be scalars (common to all rows), alpha and beta one value per row
    r, alpha, s, beta = (p if np.ndim(p) == 0 else np.broadcast_to(p, x.shape) for p in params)
    rx = r + x
    k = rx + s
    apu = alpha + u
    bpu = beta + u
    la = np.log(apu)
    lb = np.log(bpu)
    # The branch is chosen per row: with covariates alpha and beta differ by customer.
    # Branch arithmetic with 0/1 factors instead of np.where (several times faster).
    first = alpha >= beta
    one = first.astype(np.float64)  # 1 in the first branch
    other = 1.0 - one
    b_arr = np.asarray(s + 1.0 + one * (rx - s - 1.0), dtype=np.float64)
    z = np.abs(alpha - beta) / np.maximum(apu, bpu)  # the larger of alpha+u, beta+u
    # second branch: -(r+x-1) la - (s+1) lb = -(r+x) la - s lb + (la - lb)
    base = -rx * la - s * lb + other * (la - lb)
    group = small = None
    if x_code is not None:
        # rows with equal x and branch share b and c (r and s common to all rows)
        group = 2 * np.asarray(x_code, dtype=np.intp) + first
        small = _small_group(group)
        z_quadrature = np.where(small, z_quadrature, _Z_QUADRATURE_GROUPED)
    near_one = z > z_quadrature
    if near_one.any():
        z = np.where(near_one, 0.0, z)  # the series is skipped there (value replaced below)
    if group is not None:
        series = _series_by_group(b_arr, k + 1.0, z, group, small=small, derivatives=grad)
        S = series[0]
    else:
        S, Sb, Sc, Sz = _series(b_arr, k + 1.0, z)
    inv_k = 1.0 / k
    logg: FloatArray = base + np.log(S * inv_k)
    if near_one.any():
        q_log, q_grad = _log_g_quadrature(
            [np.broadcast_to(p, x.shape)[near_one] for p in (r, alpha, s, beta)],
            x[near_one],
            u[near_one],
        )
        logg[near_one] = q_log
    if not grad:
        return logg, None
    if group is not None:
        Sb, Sc, Sz = series[1], series[2], series[3]
    inv_s = 1.0 / S
    gb, gz = Sb * inv_s, Sz * inv_s
    common = Sc * inv_s - inv_k  # d/dr and d/ds of -log k + log S through c = k + 1
    gb_first = gb * one
    inv_a, inv_b = 1.0 / apu, 1.0 / bpu
    # dz/dalpha and dz/dbeta: first branch (b+u)/(a+u)^2 and -1/(a+u), second branch
    # -1/(b+u) and (a+u)/(b+u)^2
    out = np.empty((4, x.size))  # returned transposed: (n, 4)
    out[0] = common - la + gb_first
    out[1] = gz * (one * bpu * inv_a * inv_a - other * inv_b) - (rx - other) * inv_a
    out[2] = common - lb + (gb - gb_first)
    out[3] = gz * (other * apu * inv_b * inv_b - one * inv_a) - (s + other) * inv_b
    grad_out: FloatArray = out.T
    if near_one.any():
        grad_out[near_one] = q_grad
    return logg, grad_out


def _pairs(x: FloatArray, tx: FloatArray, T: FloatArray) -> tuple[FloatArray, FloatArray, Any]:
    """Distinct (x, time) pairs over the t_x and T columns, and each row's index into them."""
    xs = np.concatenate([x, x])
    us = np.concatenate([tx, T])
    order = np.lexsort((us, xs))
    xs_s, us_s = xs[order], us[order]
    new = np.ones(xs_s.size, dtype=np.bool_)
    new[1:] = (xs_s[1:] != xs_s[:-1]) | (us_s[1:] != us_s[:-1])
    inverse = np.empty(xs.size, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return xs_s[new], us_s[new], inverse


def common_shapes(params: Any) -> tuple[Any, Any, Any, Any]:
    """``(r, alpha, s, beta)``, with ``r`` and ``s`` as floats when every row shares them.

    Covariates scale ``alpha`` and ``beta`` only, so a covariate model's per-row
    parameters have common shapes: then rows of one frequency share the series
    coefficients (:func:`_series_by_group`) and per-frequency terms are computed once.
    """
    r, alpha, s, beta = params
    if np.ndim(r) == 1 and r.size and r.min() == r.max() and s.min() == s.max():
        return float(r[0]), alpha, float(s[0]), beta
    return r, alpha, s, beta


def per_frequency(fn: Any, r: Any, data: Data) -> FloatArray:
    """``fn(r + x)`` per row, evaluated once per distinct frequency when ``r`` is shared."""
    x = data["frequency"]
    if np.ndim(r) == 0 and "_xu" in data:
        out: FloatArray = fn(r + data["_xu"])[data["_xcode"].astype(np.intp)]
        return out
    values: FloatArray = fn(r + x)
    return values


def doubled(data: Data) -> Data:
    """The arrays the per-row kernel reads, for the t_x rows then the T rows (cached
    by the model's ``_augment`` while fitting)."""
    x = data["frequency"]
    code = np.unique(x, return_inverse=True)[1].reshape(-1).astype(np.float64)
    return {
        "_x2": np.concatenate([x, x]),
        "_u2": np.concatenate([data["recency"], data["T"]]),
        "_xu": np.unique(x),
        "_xcode": code,
        "_xcode2": np.concatenate([code, code]),
    }


def _pair_log_g(
    params: Any, data: Data, *, grad: bool
) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray | None]:
    """``log G`` at ``t_x`` and at ``T``: once per distinct (x, time) pair for one
    parameter vector, once per row for per-row parameters (covariates).

    ``params`` as returned by :func:`common_shapes`.
    """
    x = data["frequency"]
    n = x.size
    r, alpha, s, beta = params
    if np.ndim(alpha) == 1:  # per-customer parameters (covariates): no pairs to share
        # t_x and T in one call; rows sharing x share the series coefficients when the
        # shape parameters r and s are common to all customers (as covariates leave them).
        extra = data if "_x2" in data else doubled(data)
        shared = np.ndim(r) == 0 and np.ndim(s) == 0
        both = [p if np.ndim(p) == 0 else np.concatenate([p, p]) for p in (r, alpha, s, beta)]
        lg, g = _log_g(
            both,
            extra["_x2"],
            extra["_u2"],
            grad=grad,
            z_quadrature=_Z_QUADRATURE_PER_ROW,
            x_code=extra["_xcode2"] if shared else None,
        )
        if g is None:
            return lg[:n], lg[n:], None, None
        return lg[:n], lg[n:], g[:n], g[n:]
    if "_pair_x" in data:
        px, pu, inverse = data["_pair_x"], data["_pair_u"], data["_pair_inv"].astype(np.intp)
    else:
        px, pu, inverse = _pairs(x, data["recency"], data["T"])
    logg_u, grad_u = _log_g(np.asarray(params, dtype=np.float64), px, pu, grad=grad)
    logg = logg_u[inverse]
    if grad_u is None:
        return logg[:n], logg[n:], None, None
    g = grad_u[inverse]
    return logg[:n], logg[n:], g[:n], g[n:]
