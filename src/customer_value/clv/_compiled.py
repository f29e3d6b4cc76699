"""Optional compiled kernel for the per-customer Pareto/NBD P(alive) (private).

With covariates every customer has their own ``alpha`` and ``beta``, so ``log G`` at
``t_x`` and at ``T`` (:mod:`customer_value.clv._pareto_kernel`) is summed once per
customer and parameter vector - 400 million hypergeometric series for the bootstrap
intervals of a million customers x 200 draws. numpy pays for every pass over the rows
and for the bookkeeping of the grouped Taylor path; :func:`_p_alive_rows` sums each
row's series term by term in one compiled loop, and :func:`_draw_rows` evaluates all
parameter draws of one customer in step (loops over the draws that compile to vector
instructions), both in threads over slices of the rows.

Imported only when :func:`customer_value.clv._pareto_kernel.accelerated` is true (numba
installed - the ``[fast]`` extra - and not switched off with ``CUSTOMER_VALUE_NUMBA=0``);
otherwise the numpy path runs. Both evaluate the same formulas (Fader & Hardie 2005
note, eq. 22 after Euler's transformation; Gauss-Legendre quadrature where the series
argument nears 1); the tests hold them to 1e-12 relative agreement. The compiled code
is cached on disk (``cache=True``): only the first use on a machine compiles.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import numpy as np

from customer_value._validation import FloatArray
from customer_value.clv._pareto_kernel import _GL_NODES, _GL_WEIGHTS

try:
    import numba
except ImportError:  # pragma: no cover - the caller checks accelerated() first
    numba = None  # type: ignore[assignment]

__all__: list[str] = []

F = TypeVar("F", bound=Callable[..., Any])

# Rows beyond which the kernel runs in threads (below, the pool costs more than it saves).
_THREAD_ROWS = 16_384
# z above which log G is integrated instead of summed: the series needs ~800 terms at
# 0.95 (the numpy path's threshold for rows that share their series coefficients).
_Z_QUADRATURE = 0.95
# Coefficients cached per (frequency, branch) for frequencies below _CACHED_X: enough
# for z <= 0.95 (about 800 terms); longer series go on with the recurrence.
_CACHED_X = 64
_MAX_CACHED = 1024
_NODES = np.ascontiguousarray(_GL_NODES)
_WEIGHTS = np.ascontiguousarray(_GL_WEIGHTS)


def _jit(fn: F) -> F:
    """numba's ``njit`` (cached on disk, releasing the GIL); the plain function without
    numba."""
    if numba is None:  # pragma: no cover
        return fn
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(fn))


@_jit
def _series(b: float, c: float, z: float) -> float:
    """``2F1(1, b; c; z)`` for ``c > b > 0``, ``0 <= z < 1``: positive terms whose ratio
    ``z (b+n)/(c+n)`` stays below ``z``, so the tail after a term is below ``term z/(1-z)``."""
    total = 1.0
    term = 1.0
    n = 0.0
    tol = 1e-17 * (1.0 - z)
    while n < 20_000.0:
        term *= z * (b + n) / (c + n)
        total += term
        n += 1.0
        if term * z <= tol * total:
            break
    return total


@_jit
def _quadrature(r: float, alpha: float, s: float, beta: float, x: float, u: float) -> float:
    """``log G(u)`` by Gauss-Legendre in ``w = log(min(alpha, beta) + t)``: the values of
    :func:`customer_value.clv._pareto_kernel._log_g_quadrature` for one row."""
    k = r + s + x
    small = min(alpha, beta)
    lo = np.log(small + u)
    mid = max(lo, np.log(max(alpha, beta)) + 1.0)
    hi = mid + 60.0 / k
    logs = np.empty(2)
    for panel in range(2):
        start = lo if panel == 0 else mid
        half = 0.5 * ((mid if panel == 0 else hi) - start)
        if not half > 0.0:
            logs[panel] = np.log(1e-300)
            continue
        log_f = np.empty(_NODES.size)
        for j in range(_NODES.size):
            w = start + half + half * _NODES[j]
            tau = np.exp(w) - small
            log_f[j] = -(r + x) * np.log(alpha + tau) - (s + 1.0) * np.log(beta + tau) + w
        top = log_f.max()
        acc = 0.0
        for j in range(_NODES.size):
            acc += np.exp(log_f[j] - top) * (half * _WEIGHTS[j])
        logs[panel] = np.log(max(acc, 1e-300)) + top
    return float(max(logs[0], logs[1]) + np.log1p(np.exp(-abs(logs[0] - logs[1]))))


@_jit
def _log_g(r: float, alpha: float, s: float, beta: float, x: float, u: float) -> float:
    """``log G(u)`` for one row: :func:`customer_value.clv._pareto_kernel._log_g`."""
    rx = r + x
    la = np.log(alpha + u)
    lb = np.log(beta + u)
    base = -rx * la - s * lb
    if alpha >= beta:
        b = rx
        z = (alpha - beta) / (alpha + u)
    else:
        b = s + 1.0
        z = (beta - alpha) / (beta + u)
        base += la - lb
    if z > _Z_QUADRATURE:
        return _quadrature(r, alpha, s, beta, x, u)
    k = rx + s
    return float(base + np.log(_series(b, k + 1.0, z) / k))


@_jit
def _series_pair_recurrence(b: float, c: float, z1: float, z2: float) -> tuple[float, float]:
    """:func:`_series` at ``z1 >= z2`` in one loop (the sums share ``(b)_n / (c)_n``)."""
    s1 = 1.0
    s2 = 1.0
    q = 1.0
    p1 = 1.0
    p2 = 1.0
    n = 0.0
    tol = 1e-17 * (1.0 - z1)
    while n < 20_000.0:
        q *= (b + n) / (c + n)
        p1 *= z1
        p2 *= z2
        term = q * p1
        s1 += term
        s2 += q * p2
        n += 1.0
        if term * z1 <= tol * s1:
            break
        if p2 < 1e-250:  # negligible; spares subnormal arithmetic
            p2 = 0.0
    return s1, s2


@_jit
def _series_pair(
    coef: FloatArray, filled: Any, slot: int, b: float, c: float, z1: float, z2: float
) -> tuple[float, float]:
    """:func:`_series_pair_recurrence` with the coefficients ``q_n = (b)_n / (c)_n`` read
    from ``coef[slot]`` (``filled[slot]`` of them computed so far, extended here): rows
    sharing ``(b, c)`` - one frequency and branch under one parameter vector - compute
    them once. Four terms per step, ``z^n (q_n + z (q_(n+1) + z (q_(n+2) + z q_(n+3))))``
    (the steps' products overlap in the processor); after a step the rest is below
    ``step z^4 / (1 - z)`` (``q_n`` decreases)."""
    if slot < 0:
        return _series_pair_recurrence(b, c, z1, z2)
    s1 = 1.0
    s2 = 1.0
    p1 = z1
    p2 = z2
    z1_4 = (z1 * z1) * (z1 * z1)
    z2_4 = (z2 * z2) * (z2 * z2)
    tol = 1.1e-16 * (1.0 - z1)  # half an ulp of the sum
    have = filled[slot]
    n = 1
    while n + 3 < _MAX_CACHED:
        if n + 3 >= have:  # extend the cached coefficients by a block
            top = min(have + 32, _MAX_CACHED)
            q = coef[slot, have - 1]
            for j in range(have, top):
                q *= (b + j - 1) / (c + j - 1)
                coef[slot, j] = q
            have = top
            filled[slot] = top
        q0 = coef[slot, n]
        q1 = coef[slot, n + 1]
        q2 = coef[slot, n + 2]
        q3 = coef[slot, n + 3]
        step = p1 * (q0 + z1 * (q1 + z1 * (q2 + z1 * q3)))
        s1 += step
        s2 += p2 * (q0 + z2 * (q1 + z2 * (q2 + z2 * q3)))
        n += 4
        if step * z1_4 <= tol * s1:
            return s1, s2
        p1 *= z1_4
        p2 = p2 * z2_4 if p2 > 1e-250 else 0.0  # negligible: spares subnormal arithmetic
    # beyond the cache (z close to 0.95 and slowly decaying coefficients): the recurrence
    q = coef[slot, n - 1]
    while n < 20_000:
        q *= (b + n - 1) / (c + n - 1)
        term = q * p1
        s1 += term
        s2 += q * p2
        p1 *= z1
        p2 *= z2
        n += 1
        if term * z1 <= tol * s1:
            break
    return s1, s2


@_jit
def _p_alive_row(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: float,
    tx: float,
    T: float,
    coef: FloatArray,
    filled: Any,
) -> float:
    """P(alive at T) for one customer: ``1 / (1 + s I / A)`` with ``A = (alpha+T)^-(r+x)
    (beta+T)^-s`` and ``I = G(t_x) - G(T)``.

    Divided by ``A``, the two ``G`` of one branch share their powers and coefficients:
    ``s I / A = (s f / k) [S(z_tx) e^L - S(z_T)]`` with ``S = 2F1(1, b; k+1; .)``,
    ``L = (r+x-d) log((alpha+T)/(alpha+t_x)) + (s+d) log((beta+T)/(beta+t_x))`` and ``d = 0,
    f = 1`` (``alpha >= beta``) or ``d = 1, f = (alpha+T)/(beta+T)``: two series in one
    loop and four elementary functions instead of the twelve of the log-space form.
    ``coef`` and ``filled`` cache the series coefficients for one ``(r, s)``.
    """
    rx = r + x
    k = rx + s
    slot = 2 * int(x) if x == np.floor(x) and 0.0 <= x < _CACHED_X else -2
    if alpha >= beta:
        b = rx
        z1 = (alpha - beta) / (alpha + tx)
        z2 = (alpha - beta) / (alpha + T)
        slot += 1
    else:
        b = s + 1.0
        z1 = (beta - alpha) / (beta + tx)
        z2 = (beta - alpha) / (beta + T)
    if z1 > _Z_QUADRATURE:  # G(t_x) by quadrature: the log-space form
        lg_tx = _log_g(r, alpha, s, beta, x, tx)
        lg_T = _log_g(r, alpha, s, beta, x, T)
        a_term = -rx * np.log(alpha + T) - s * np.log(beta + T)
        log_si = np.log(s) + lg_tx + np.log(-np.expm1(min(lg_T - lg_tx, 0.0)))
        m = max(a_term, log_si) + np.log1p(np.exp(-abs(a_term - log_si)))
        return float(np.exp(a_term - m))
    s1, s2 = _series_pair(coef, filled, max(slot, -1), b, k + 1.0, z1, z2)
    d = 0.0 if alpha >= beta else 1.0
    c = s / k if alpha >= beta else s * (alpha + T) / (beta + T) / k
    ratio_a = (alpha + T) / (alpha + tx)
    return _p_alive_tail(rx - d, s + d, ratio_a, (beta + T) / (beta + tx), c, s1, s2)


@_jit
def _p_alive_tail(
    lead: float, trail: float, ratio_a: float, ratio_b: float, c: float, s1: float, s2: float
) -> float:
    """P(alive) from the series ``s1``, ``s2`` at ``t_x`` and ``T``: ``L = lead
    log(ratio_a) + trail log(ratio_b)`` with ``lead = r+x-d``, ``trail = s+d``, ``ratio_a
    = (alpha+T)/(alpha+t_x)``, ``ratio_b = (beta+T)/(beta+t_x)`` and ``c = s f / k``
    (:func:`_p_alive_row`)."""
    # log and exp rather than log1p and expm1 (twice as fast): where L is small their
    # absolute error of 1e-16 meets a factor L in s I / A, so P(alive) keeps ~1e-15
    L = lead * np.log(ratio_a) + trail * np.log(ratio_b)
    if L < 600.0:
        ratio = c * (max(s1 - s2, 0.0) + s1 * (np.exp(L) - 1.0))
        return float(1.0 / (1.0 + ratio))
    log_ratio = np.log(c) + L + np.log(s1 - s2 * np.exp(-L))
    return float(np.exp(-log_ratio - np.log1p(np.exp(-log_ratio))))


@_jit
def _cache() -> tuple[FloatArray, Any]:
    """Empty coefficient cache: ``coef[slot, n]`` with ``filled[slot]`` valid entries."""
    coef = np.empty((2 * _CACHED_X, _MAX_CACHED))
    coef[:, 0] = 1.0
    return coef, np.ones(2 * _CACHED_X, dtype=np.int64)


@_jit
def _p_alive_rows(
    r: float,
    s: float,
    alpha: FloatArray,
    beta: FloatArray,
    x: FloatArray,
    tx: FloatArray,
    T: FloatArray,
    out: FloatArray,
    lo: int,
    hi: int,
) -> None:
    coef, filled = _cache()
    for i in range(lo, hi):
        out[i] = _p_alive_row(r, alpha[i], s, beta[i], x[i], tx[i], T[i], coef, filled)


@_jit
def _log1p(y: float) -> float:
    """``log1p``; through ``log`` (three times faster) where ``1 + y`` loses at most
    1e-14 of the result."""
    return float(np.log(1.0 + y) if y > 0.01 else np.log1p(y))


@_jit
def _expm1(v: float) -> float:
    """``expm1``; through ``exp`` where ``e^v - 1`` loses at most 1e-14 of the result."""
    return float(np.exp(v) - 1.0 if abs(v) > 0.01 else np.expm1(v))


@_jit
def _bounded_exp(eta: float) -> float:
    """``exp`` of a log-parameter clipped to ``+-200`` (as ``CovariateDesign.bounded_exp``)."""
    return float(np.exp(min(max(eta, -200.0), 200.0)))


@_jit
def _terms(z: float) -> int:
    """Terms ``N`` after which ``sum_(n>N) q_n z^n <= z^(N+1) / (1 - z) <= 1e-17``
    (``q_n <= 1``, and the series is at least 1)."""
    if z < 1e-300:
        return 1
    return int(np.ceil(np.log(1e-17 * (1.0 - z)) / np.log(z)))


@_jit
def _draw_rows(
    r: FloatArray,
    s: FloatArray,
    log_alpha: FloatArray,
    log_beta: FloatArray,
    slope_alpha: FloatArray,
    slope_beta: FloatArray,
    t: float,
    X: FloatArray,
    x: FloatArray,
    tx: FloatArray,
    T: FloatArray,
    order: Any,
    out: FloatArray,
    lo: int,
    hi: int,
) -> None:
    """``out[i, d]`` for customers ``i = order[j]``, ``lo <= j < hi``: P(alive) (``t <
    0``) or ``E[Y(t)]`` under draw ``d`` (:func:`_p_alive_row` and, for the expectation,
    ``P(alive) (r+x) (beta+T) / (alpha+T) [1 - ((beta+T)/(beta+T+t))^(s-1)] / (s-1)``,
    Schmittlein et al. 1987).

    Draw ``d`` has shapes ``r[d]``, ``s[d]`` and per-customer ``alpha = exp(log_alpha[d]
    + slope_alpha[:, d] . X[i])`` (likewise ``beta``). One customer at a time, every
    step is a loop over the draws with a fixed trip count, which the compiler turns into
    vector instructions: the series of all draws run the same number of terms (enough for
    the largest argument), each draw reading its own coefficients ``(b)_n / (c)_n`` of
    both branches from tables built once per frequency (``order`` groups the customers
    by frequency). Draws whose argument exceeds 0.95 take the quadrature of
    :func:`_p_alive_row`.
    """
    n_draws = r.size
    n_cov = slope_alpha.shape[0]
    tables = np.empty((2, _MAX_CACHED + 1, n_draws))  # (b)_n / (c)_n per branch
    tables[:, 0, :] = 1.0
    have = 0
    current = -1.0
    ea = np.empty(n_draws)
    eb = np.empty(n_draws)
    z1 = np.empty(n_draws)
    z2 = np.empty(n_draws)
    first = np.empty(n_draws, dtype=np.bool_)
    quad = np.empty(n_draws, dtype=np.bool_)
    s1 = np.empty(n_draws)
    s2 = np.empty(n_draws)
    alpha = np.empty(n_draws)
    beta = np.empty(n_draws)
    ratio_a = np.empty(n_draws)
    ratio_b = np.empty(n_draws)
    c = np.empty(n_draws)
    mult = np.empty(n_draws)
    span = np.empty(n_draws)
    coef, filled = _cache()  # for the quadrature of _p_alive_row (never read there)
    for j in range(lo, hi):
        i = order[j]
        xi = x[i]
        if xi != current:  # a new frequency: new coefficient tables
            current = xi
            have = 0
        for d in range(n_draws):
            ea[d] = log_alpha[d]
            eb[d] = log_beta[d]
        for col in range(n_cov):
            xc = X[i, col]
            for d in range(n_draws):
                ea[d] += slope_alpha[col, d] * xc
                eb[d] += slope_beta[col, d] * xc
        for d in range(n_draws):
            alpha[d] = _bounded_exp(ea[d])
            beta[d] = _bounded_exp(eb[d])
        top = 0.0
        for d in range(n_draws):
            a = alpha[d]
            b = beta[d]
            first[d] = a >= b
            big = max(a, b)
            z1[d] = abs(a - b) / (big + tx[i])
            z2[d] = abs(a - b) / (big + T[i])
            quad[d] = z1[d] > _Z_QUADRATURE
            if quad[d]:  # left to the quadrature below
                z1[d] = 0.0
                z2[d] = 0.0
            top = max(top, z1[d])
        n_terms = min(_terms(top), _MAX_CACHED)
        for n in range(have + 1, n_terms + 1):
            for d in range(n_draws):
                c_n = r[d] + s[d] + xi + n  # c = r + s + x + 1, at n - 1
                tables[0, n, d] = tables[0, n - 1, d] * (s[d] + n) / c_n
                tables[1, n, d] = tables[1, n - 1, d] * (r[d] + xi + n - 1.0) / c_n
        have = max(have, n_terms)
        # Horner from the last term down, all draws in step: no powers of z to keep, one
        # multiply-add per term and argument
        for d in range(n_draws):
            s1[d] = 0.0
            s2[d] = 0.0
        for n in range(n_terms, -1, -1):
            q_other = tables[0, n]
            q_first = tables[1, n]
            for d in range(n_draws):
                q1 = q_first[d]
                q0 = q_other[d]
                q = q1 if first[d] else q0
                s1[d] = q + z1[d] * s1[d]
                s2[d] = q + z2[d] * s2[d]
        Ti = T[i]
        txi = tx[i]
        for d in range(n_draws):  # the divisions, in vector instructions
            a = alpha[d]
            b = beta[d]
            k = r[d] + xi + s[d]
            ratio_a[d] = (a + Ti) / (a + txi)
            ratio_b[d] = (b + Ti) / (b + txi)
            c[d] = s[d] / k if first[d] else s[d] * (a + Ti) / (b + Ti) / k
            mult[d] = (r[d] + xi) * (b + Ti) / (a + Ti)  # E[Y(t) | alive] / factor
            span[d] = t / (b + Ti)
        for d in range(n_draws):  # elementary functions: one draw at a time
            rd = r[d]
            sd = s[d]
            if quad[d]:
                p = _p_alive_row(rd, alpha[d], sd, beta[d], xi, txi, Ti, coef, filled)
            else:
                shift = 0.0 if first[d] else 1.0
                lead = rd + xi - shift
                p = _p_alive_tail(lead, sd + shift, ratio_a[d], ratio_b[d], c[d], s1[d], s2[d])
            if t < 0.0:
                out[i, d] = min(max(p, 0.0), 1.0)
                continue
            lg = _log1p(span[d])
            near = abs(sd - 1.0) < 1e-10  # the limit log(1 + span) at s = 1
            factor = lg if near else -_expm1(-(sd - 1.0) * lg) / (sd - 1.0)
            out[i, d] = p * (mult[d] * factor)


@functools.cache
def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="customer_value")


def _in_threads(kernel: Callable[..., None], args: list[Any], n: int, work: int) -> None:
    """``kernel(*args, lo, hi)`` over ``[0, n)``, in one slice per core when ``work`` (row
    evaluations) is large (the kernels release the GIL)."""
    parts = _threads() if work >= _THREAD_ROWS else 1
    cuts = np.linspace(0, n, parts + 1).astype(np.intp).tolist()
    jobs = [_pool().submit(kernel, *args, lo, hi) for lo, hi in itertools.pairwise(cuts)]
    for job in jobs:
        job.result()


def p_alive(
    r: float, s: float, alpha: FloatArray, beta: FloatArray, x: Any, tx: Any, T: Any
) -> FloatArray:
    """``P(alive at T)`` per customer for shared ``r``, ``s`` and per-row ``alpha``,
    ``beta`` (a covariate Pareto/NBD), by the compiled kernel in threads.

    Prior validation is assumed (positive parameters, ``0 <= t_x <= T``, equal lengths).
    """
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (alpha, beta, x, tx, T)]
    out = np.empty(arrays[0].size)
    _in_threads(_p_alive_rows, [float(r), float(s), *arrays, out], out.size, out.size)
    return out


def draw_block(
    shapes: FloatArray,
    logs: FloatArray,
    slopes: FloatArray,
    X: FloatArray,
    x: Any,
    tx: Any,
    T: Any,
    t: float | None,
) -> FloatArray:
    """P(alive) (``t`` None) or ``E[Y(t)]`` for every customer under every parameter draw.

    ``shapes``: ``(D, 2)`` of ``r, s``; ``logs``: ``(D, 2)`` of ``log alpha_0, log
    beta_0``; ``slopes``: ``(D, 2, m)``, the covariate slopes of ``log alpha`` and ``log
    beta``; ``X``: ``(n, m)``. Returns ``(D, n)``, in threads over slices of the
    customers (grouped by frequency), as the transposed view of a C-ordered ``(n, D)``
    array: the draws of one customer are written side by side (the customers are visited
    in frequency order, so a draw-major array would take a cache line per value), and
    :func:`order_statistics` reads them the same way. Prior validation is assumed.
    """
    head: list[Any] = [np.ascontiguousarray(shapes[:, j], dtype=np.float64) for j in (0, 1)]
    head += [np.ascontiguousarray(logs[:, j], dtype=np.float64) for j in (0, 1)]
    head += [np.ascontiguousarray(slopes[:, j, :].T, dtype=np.float64) for j in (0, 1)]
    head.append(-1.0 if t is None else float(t))
    rows = [np.ascontiguousarray(a, dtype=np.float64) for a in (X, x, tx, T)]
    # grouped by frequency (the coefficient tables), dealt in turn to the threads' slices
    # so that each gets the same mix of frequencies
    by_x = np.argsort(rows[1], kind="stable")
    order = np.concatenate([by_x[k :: _threads()] for k in range(_threads())])
    out = np.empty((order.size, shapes.shape[0]))
    _in_threads(_draw_rows, [*head, *rows, order, out], order.size, out.size)
    return out.T


@_jit
def _order_statistics_rows(
    values: FloatArray,
    by_row: bool,
    low: int,
    high: int,
    out: FloatArray,
    lo: int,
    hi: int,
) -> None:
    """``out[j, i]``: order statistics ``low, low+1`` and ``high, high+1`` (0-based) of
    customer ``i``'s draws, for ``lo <= i < hi``: column ``i`` of ``values`` (draws x
    customers), or row ``i`` when ``by_row`` (customers x draws).

    One pass per column keeping the ``low + 2`` smallest and the ``D - high`` largest
    values sorted: after the first few values nearly every new one fails a single
    comparison, so this is linear in the draws (a partition moves every value).
    """
    n_draws = values.shape[1] if by_row else values.shape[0]
    k_low = low + 2
    k_high = n_draws - high
    small = np.empty(k_low)
    large = np.empty(k_high)  # ascending; large[0] is the high-th order statistic
    for i in range(lo, hi):
        n_small = 0
        n_large = 0
        nan = False
        for d in range(n_draws):
            v = values[i, d] if by_row else values[d, i]
            nan |= v != v
            if n_small < k_low or v < small[n_small - 1]:
                j = min(n_small, k_low - 1)
                while j > 0 and small[j - 1] > v:
                    small[j] = small[j - 1]
                    j -= 1
                small[j] = v
                n_small = min(n_small + 1, k_low)
            if n_large < k_high or v > large[0]:
                if n_large < k_high:
                    j = n_large
                    while j > 0 and large[j - 1] > v:
                        large[j] = large[j - 1]
                        j -= 1
                    large[j] = v
                    n_large += 1
                else:
                    j = 0
                    while j + 1 < k_high and large[j + 1] < v:
                        large[j] = large[j + 1]
                        j += 1
                    large[j] = v
        out[0, i] = small[low]
        out[1, i] = small[low + 1]
        out[2, i] = large[0]
        out[3, i] = large[1] if k_high > 1 else large[0]
        if nan:  # the caller falls back to numpy's ordering (NaN last)
            out[0, i] = np.nan


def order_statistics(values: FloatArray, low: int, high: int) -> FloatArray:
    """Order statistics ``low, low+1, high, high+1`` (0-based; the last two capped at
    ``D - 1``) of every column of ``values`` (``D`` draws x customers), shape ``(4, n)``;
    a column with NaN gets NaN in row 0 (the caller falls back to numpy). An array whose
    draws of one customer lie side by side (a slice of what :func:`draw_block` returns)
    is read customer by customer, without a copy."""
    n = values.shape[1]
    by_row = values.dtype == np.float64 and values.strides[0] == values.itemsize
    stored = values.T if by_row else np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty((4, n))
    args = [stored, bool(by_row), int(low), int(high), out]
    _in_threads(_order_statistics_rows, args, n, values.size)
    return out
