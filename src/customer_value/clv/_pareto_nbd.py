"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) in the form of Fader & Hardie (2005).

The likelihood needs ``G(u) = ∫_u^∞ (α+y)^-(r+x) (β+y)^-(s+1) dy``, which Fader & Hardie
write with a Gauss hypergeometric function in one of two branches (``α >= β`` or
``α < β``). After Euler's transformation each branch becomes ``2F1(1, b; c; z)`` with
``0 <= z < 1`` and ``c > b``, a series of positive terms whose parameters barely grow
with the frequency. Summing that series ourselves gives the value *and* its derivatives
in ``b``, ``c`` and ``z`` (hence an analytic gradient), stays in log space, and never
overflows for large frequencies or large T, where ``scipy.special.hyp2f1`` on the
untransformed parameters (what ``lifetimes`` calls) loses accuracy or overflows.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, ClassVar

import numpy as np
from scipy import special

from customer_value._validation import FloatArray
from customer_value.clv._base import Data
from customer_value.clv._covariates import Targets
from customer_value.clv._dert import ParetoDiscountedTransactionsMixin
from customer_value.clv._frequency import FrequencyModel

__all__ = ["ParetoNBDModel"]

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
_Z_EDGES = np.r_[np.arange(0.0, 0.8, 0.05), np.arange(0.8, 0.95 + 1e-9, 0.025)]
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


def _series_by_group(
    b: FloatArray, c: FloatArray, z: FloatArray, group: Any
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """:func:`_series` for rows in groups of equal ``(b, c)`` with ``0 <= z <= 0.95``.

    ``group`` numbers the rows sharing ``b`` and ``c`` (non-negative integers). Within a
    group the rows are bucketed by ``z``; in a bucket with centre ``z0`` the four values are
    ``sum_m t_m (z - z0)^m``, one matrix product of the powers of ``z - z0`` with the
    Taylor coefficients ``t_m`` of ``S``, ``dS/db``, ``dS/dc`` and ``dS/dz`` at ``z0``
    (re-expanded from the series at 0 with positive terms only: no cancellation).
    Small groups go through :func:`_series`.
    """
    bucket = np.clip(np.searchsorted(_Z_EDGES, z, side="right") - 1, 0, _N_BUCKETS - 1)
    key = np.where(_small_group(group), -1, group * _N_BUCKETS + bucket)
    if key.max() < np.iinfo(np.int16).max:
        key = key.astype(np.int16)  # numpy's stable sort of 16-bit integers is a radix sort
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    sorted_z = z[order]
    cuts = np.r_[0, np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1, key.size]
    res = np.empty((4, z.size))  # in sorted order: every bucket is a contiguous slice
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
            res[:, lo_cut:hi_cut] = np.vstack(_series(b[rows], c[rows], z[rows]))
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
        for lo in range(lo_cut, hi_cut, _BLOCK_ROWS):
            hi = min(hi_cut, lo + _BLOCK_ROWS)
            step = sorted_z[lo:hi] - z0
            powers = np.empty((m_terms + 1, hi - lo))
            powers[0] = 1.0
            for m in range(1, m_terms + 1):
                np.multiply(powers[m - 1], step, out=powers[m])
            # einsum, not BLAS: threaded BLAS spins on a busy machine for this shape
            np.einsum("mk,mn->kn", coef, powers, out=res[:, lo:hi])
    out = np.empty((4, z.size))
    out[:, order] = res
    return out[0], out[1], out[2], out[3]


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
    params: FloatArray,
    x: FloatArray,
    u: FloatArray,
    *,
    grad: bool,
    z_quadrature: Any = _Z_QUADRATURE,
    x_code: Any = None,
) -> tuple[FloatArray, FloatArray | None]:
    """``log G(u)`` and, optionally, its gradient in (r, alpha, s, beta), shape (n, 4).

    Fader & Hardie (2005 note), the likelihood and its two branches, after Euler's
    transformation: with ``k = r + s + x``,

    * ``alpha >= beta``: ``log G = -(r+x) log(α+u) - s log(β+u) - log k
      + log 2F1(1, r+x; k+1; (α-β)/(α+u))``;
    * ``alpha < beta``: ``log G = -(r+x-1) log(α+u) - (s+1) log(β+u) - log k
      + log 2F1(1, s+1; k+1; (β-α)/(β+u))``.
    """
    r, alpha, s, beta = (np.broadcast_to(p, x.shape) for p in params)
    k = r + s + x
    la = np.log(alpha + u)
    lb = np.log(beta + u)
    # The branch is chosen per row: with covariates alpha and beta differ by customer.
    first = alpha >= beta
    b_par = np.where(first, r + x, s + 1.0)
    z = np.where(first, (alpha - beta) / (alpha + u), (beta - alpha) / (beta + u))
    base = np.where(first, -(r + x) * la - s * lb, -(r + x - 1.0) * la - (s + 1.0) * lb)
    group = None
    if x_code is not None:
        # rows with equal x and branch share b and c (r and s common to all rows)
        group = 2 * np.asarray(x_code, dtype=np.intp) + first
        z_quadrature = np.where(_small_group(group), z_quadrature, _Z_QUADRATURE_GROUPED)
    near_one = z > z_quadrature
    if near_one.any():
        z = np.where(near_one, 0.0, z)  # the series is skipped there (value replaced below)
    b_arr = np.asarray(b_par, dtype=np.float64)
    if group is not None:
        S, Sb, Sc, Sz = _series_by_group(b_arr, k + 1.0, z, group)
    else:
        S, Sb, Sc, Sz = _series(b_arr, k + 1.0, z)
    logg: FloatArray = base - np.log(k) + np.log(S)
    if near_one.any():
        q_log, q_grad = _log_g_quadrature(
            [p[near_one] for p in (r, alpha, s, beta)], x[near_one], u[near_one]
        )
        logg[near_one] = q_log
    if not grad:
        return logg, None
    gb, gc, gz = Sb / S, Sc / S, Sz / S
    out = np.empty((x.size, 4))
    ratio = np.where(first, (beta + u) / (alpha + u), (alpha + u) / (beta + u))
    dz_dalpha = np.where(first, ratio / (alpha + u), -1.0 / (beta + u))
    dz_dbeta = np.where(first, -1.0 / (alpha + u), ratio / (beta + u))
    out[:, 0] = -la - 1.0 / k + np.where(first, gb, 0.0) + gc
    out[:, 1] = -np.where(first, r + x, r + x - 1.0) / (alpha + u) + gz * dz_dalpha
    out[:, 2] = -lb - 1.0 / k + np.where(first, 0.0, gb) + gc
    out[:, 3] = -np.where(first, s, s + 1.0) / (beta + u) + gz * dz_dbeta
    if near_one.any():
        out[near_one] = q_grad
    return logg, out


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


def _pair_log_g(
    params: FloatArray, data: Data, *, grad: bool
) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray | None]:
    """``log G`` at ``t_x`` and at ``T``, computed once per distinct (x, time) pair."""
    x = data["frequency"]
    n = x.size
    if params.ndim == 2:  # per-customer parameters (covariates): no pairs to share
        # t_x and T in one call; rows sharing x share the series coefficients when the
        # shape parameters r and s are common to all customers (as covariates leave them).
        code: Any = None
        if np.ptp(params[0]) == 0 and np.ptp(params[2]) == 0:
            code = data.get("_xcode")
            code = np.unique(x, return_inverse=True)[1] if code is None else code
        lg, g = _log_g(
            np.hstack([params, params]),
            np.concatenate([x, x]),
            np.concatenate([data["recency"], data["T"]]),
            grad=grad,
            z_quadrature=_Z_QUADRATURE_PER_ROW,
            x_code=None if code is None else np.concatenate([code, code]),
        )
        if g is None:
            return lg[:n], lg[n:], None, None
        return lg[:n], lg[n:], g[:n], g[n:]
    if "_pair_x" in data:
        px, pu, inverse = data["_pair_x"], data["_pair_u"], data["_pair_inv"].astype(np.intp)
    else:
        px, pu, inverse = _pairs(x, data["recency"], data["T"])
    logg_u, grad_u = _log_g(params, px, pu, grad=grad)
    logg = logg_u[inverse]
    if grad_u is None:
        return logg[:n], logg[n:], None, None
    g = grad_u[inverse]
    return logg[:n], logg[n:], g[:n], g[n:]


class ParetoNBDModel(ParetoDiscountedTransactionsMixin, FrequencyModel):
    """Pareto/NBD model of repeat purchases and dropout (Schmittlein et al. 1987).

    While active a customer buys as a Poisson process with rate ``lambda ~ Gamma(r,
    alpha)``; their lifetime is exponential with rate ``mu ~ Gamma(s, beta)`` and can end
    at any time, not only after a purchase.

    Parameters
    ----------
    purchase_covariates : sequence of str, optional
        Columns of the customer table that scale the purchase process:
        ``alpha_i = alpha * exp(-gamma_p' x_i)``, so a positive coefficient raises the
        purchase rate (CLVTools' convention). Named once here; ``fit`` and every
        prediction read them from the data, each customer with their own values.
    dropout_covariates : sequence of str, optional
        Columns that scale the dropout process: ``beta_i = beta * exp(-gamma_d' x_i)``
        (a positive coefficient raises the dropout rate).
    shared_covariates : sequence of str, optional
        Columns with one coefficient in both processes (CLVTools' ``names.cov.constr``).
    l2_purchase, l2_dropout : float, default 0
        L2 penalties ``lambda sum(gamma^2)`` on the coefficients of each process, added
        to the mean negative log-likelihood (CLVTools' ``reg.lambdas``).

    Notes
    -----
    The likelihood (Schmittlein et al. 1987; written as in Fader & Hardie's 2005 note) is

    .. math::

        L = \\frac{\\Gamma(r+x) \\alpha^r \\beta^s}{\\Gamma(r)} \\Big[
        \\frac{1}{(\\alpha+T)^{r+x} (\\beta+T)^s}
        + s \\int_{t_x}^{T} (\\alpha+y)^{-(r+x)} (\\beta+y)^{-(s+1)} \\, dy \\Big],

    with the integral written as ``G(t_x) - G(T)``, ``G`` a Gauss hypergeometric function
    in the branch ``alpha >= beta`` or ``alpha < beta`` (see :func:`_log_g`). The series
    is summed in a form whose terms are all positive, in log space, with derivatives,
    so the fit has an analytic gradient and the likelihood stays finite when
    ``recency == T``, for frequencies in the hundreds and for T in the thousands.
    P(alive) is the share of the likelihood from "alive at T", and the conditional
    expectation ``P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]``
    (Schmittlein et al. 1987), both free of hypergeometric functions given the likelihood.

    Covariates (see "Customer attributes and covariates" in the user guide) are fitted
    with internally standardised columns; coefficients are reported for the columns as
    given. Each customer's parameters are clipped to ``exp(+-200)`` so that extreme
    covariate values still give finite predictions. With all coefficients zero the
    model is exactly the plain one.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers:
    who are they and what will they do next? *Management Science* 33(1), 1-24.

    Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/

    Fader, P. S. & Hardie, B. G. S. (2007). Incorporating time-invariant covariates into
    the Pareto/NBD and BG/NBD models. http://brucehardie.com/notes/019/

    Examples
    --------
    >>> from customer_value.clv import ParetoNBDModel
    >>> from customer_value.datasets import load_cdnow_summary
    >>> model = ParetoNBDModel().fit(load_cdnow_summary())
    >>> model.params_.round(2).tolist()
    [0.55, 10.58, 0.61, 11.67]

    With a covariate (here given, not fitted), each customer is predicted with their own
    purchase rate:

    >>> cov = ParetoNBDModel.from_params(r=0.55, alpha=10.6, s=0.61, beta=11.7,
    ...     purchase_covariates=["female"], **{"purchase.female": 0.5})
    >>> cov.expected_purchases(52, {"frequency": [2, 2], "recency": [30.0, 30.0],
    ...     "T": [38.0, 38.0], "female": [0, 1]}).round(2).tolist()
    [1.88, 2.05]
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _flat_hints: ClassVar[dict[frozenset[str], str]] = {
        frozenset({"r", "alpha"}): "r/alpha is the mean purchase rate",
        frozenset({"s", "beta"}): "s/beta is the mean dropout rate; s and beta growing "
        "together means every customer has the same one",
    }
    # alpha_i = alpha0 exp(-gamma_p' x_i), beta_i = beta0 exp(-gamma_d' x_i) (CLVTools)
    _covariate_targets: ClassVar[Targets] = {
        "purchase": ((1, -1.0, "alpha"),),
        "dropout": ((3, -1.0, "beta"),),
    }

    def _augment(self, data: Data) -> Data:
        px, pu, inverse = _pairs(data["frequency"], data["recency"], data["T"])
        code = np.unique(data["frequency"], return_inverse=True)[1].astype(np.float64)
        return {
            **data,
            "_pair_x": px,
            "_pair_u": pu,
            "_pair_inv": inverse.astype(np.float64),
            "_xcode": code,
        }

    def _start_values(self, data: Data, weights: FloatArray) -> FloatArray:
        start = super()._start_values(data, weights)
        start[3] = float(np.sum(weights * data["T"]) / weights.sum())
        return start

    def _parts(
        self, params: FloatArray, data: Data, *, grad: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
        """Log-likelihood pieces: ``(loglik, log weight of 'alive at T', log s I, grad)``."""
        r, alpha, s, beta = params
        x, T = data["frequency"], data["T"]
        lg_tx, lg_T, g_tx, g_T = _pair_log_g(params, data, grad=grad)
        log_at, log_bt = np.log(alpha + T), np.log(beta + T)
        a_term = -(r + x) * log_at - s * log_bt
        with np.errstate(divide="ignore"):
            log_diff = lg_tx + np.log(-np.expm1(np.minimum(lg_T - lg_tx, 0.0)))
        log_si = np.log(s) + log_diff
        m = np.logaddexp(a_term, log_si)
        const = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        ll = const + m
        if not grad or g_tx is None or g_T is None:
            return ll, a_term - m, log_si, None
        w_a = np.exp(a_term - m)
        w_1 = np.exp(np.log(s) + lg_tx - m)
        w_2 = np.exp(np.log(s) + lg_T - m)
        w_i = np.exp(log_si - m)  # s I / e^m
        gr = np.empty((x.size, 4))
        gr[:, 0] = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - w_a * log_at
        gr[:, 1] = r / alpha - w_a * (r + x) / (alpha + T)
        gr[:, 2] = np.log(beta) - w_a * log_bt + w_i / s
        gr[:, 3] = s / beta - w_a * s / (beta + T)
        gr += w_1[:, None] * g_tx - w_2[:, None] * g_T
        return ll, a_term - m, log_si, gr

    def _loglik_grad(self, params: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        ll, _, _, grad = self._parts(params, data, grad=True)
        if grad is None:  # pragma: no cover - grad=True always returns it
            raise RuntimeError("gradient missing")
        return ll, grad

    def _loglik(self, params: FloatArray, data: Data) -> FloatArray:
        return self._parts(params, data, grad=False)[0]

    # ------------------------------------------------------------------ predictions
    def _p_alive(
        self, params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        data = {"frequency": x, "recency": tx, "T": T}
        out: FloatArray = np.exp(self._parts(params, data, grad=False)[1])
        return out

    @staticmethod
    def _pareto_factor(s: Any, span: FloatArray) -> FloatArray:
        """``(1 - (1 + span)^-(s-1)) / (s-1)``, with its limit ``log(1 + span)`` at s = 1."""
        lg = np.log1p(span)
        near = np.abs(s - 1.0) < 1e-10
        safe = np.where(near, 2.0, s)
        out: FloatArray = np.where(near, lg, -np.expm1(-(safe - 1.0) * lg) / (safe - 1.0))
        return out

    def _expected(
        self, params: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        out: FloatArray = self._expected_alive(params, t, x, T) * self._p_alive(params, x, tx, T)
        return out

    def _expected_alive(
        self, params: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """``E[Y(t) | alive at T, x, T]`` (Schmittlein et al. 1987, without P(alive))."""
        r, alpha, s, beta = params
        factor = self._pareto_factor(s, t / (beta + T))
        out: FloatArray = (r + x) * (beta + T) / (alpha + T) * factor
        return out

    def _expected_new(self, params: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, s, beta = params
        out: FloatArray = r * beta / alpha * self._pareto_factor(s, t / beta)
        return out

    def _pmf(self, params: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        """Mixture over the Pareto lifetime tau: NB(r, alpha/(alpha+min(tau, t))) at n.

        The lifetime's CDF ``F`` is the integration variable, so the density is flat and a
        96-point Gauss-Legendre rule over ``[0, F(t)]`` (``_GL_NODES``) suffices. Element-wise
        in ``n``, ``t`` and the parameters (per-customer parameters of a covariate model).
        """
        from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

        r, alpha, s, beta = (np.reshape(np.asarray(p, dtype=np.float64), (-1, 1)) for p in params)
        horizon = np.reshape(t, (-1, 1))
        survive = (beta / (beta + horizon)) ** s
        p_t = alpha / (alpha + horizon)
        mass = 1.0 - survive
        u = (_GL_NODES[None, :] + 1.0) / 2.0 * mass
        tau = beta * np.expm1(-np.log1p(-u) / s)
        p_tau = alpha / (alpha + tau)
        counts = np.reshape(n, (-1, 1))
        pmf_nodes = np.exp(stats.nbinom.logpmf(counts, r, p_tau))
        integral = (pmf_nodes * _GL_WEIGHTS[None, :]).sum(axis=1) * mass[:, 0] / 2.0
        at_t = survive[:, 0] * np.exp(stats.nbinom.logpmf(counts[:, 0], r[:, 0], p_t[:, 0]))
        out: FloatArray = np.broadcast_to(at_t + integral, n.shape).copy()
        return out

    def _simulate_arrays(
        self, params: FloatArray, T: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        r, alpha, s, beta = params
        n = T.size
        lam = rng.gamma(r, 1.0 / alpha, size=n)
        mu = rng.gamma(s, 1.0 / beta, size=n)
        death = rng.exponential(1.0, size=n) / np.maximum(mu, 1e-300)
        active_until = np.minimum(death, T)
        x = rng.poisson(lam * active_until).astype(np.float64)
        tx = np.zeros(n)
        pos = x > 0
        # the last of x uniform arrival times on (0, active_until)
        tx[pos] = active_until[pos] * rng.random(int(pos.sum())) ** (1.0 / x[pos])
        return x, tx, T.astype(np.float64), death
