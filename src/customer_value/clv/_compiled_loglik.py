"""Optional compiled kernel for the covariate Pareto/NBD likelihood's ``log G`` (private).

Fitting a covariate Pareto/NBD evaluates ``log G`` at ``t_x`` and at ``T`` with its
gradient in ``(r, alpha, s, beta)`` for every customer (each has their own ``alpha`` and
``beta``) at every optimiser step: 2 million hypergeometric series with derivatives per
step for a million customers. The numpy path (:func:`customer_value.clv._pareto_kernel.
_pair_log_g`) sorts the rows into Taylor buckets per frequency to vectorise them; this
kernel sums each customer's two series term by term in one compiled loop, the series
coefficients cached per frequency and branch, in threads over slices of the customers.

Imported only when :func:`customer_value.clv._accelerate.accelerated` is true. It
evaluates the same formulas as :func:`customer_value.clv._pareto_kernel._log_g`
(Fader & Hardie 2005 note, eq. 22 after Euler's transformation); rows whose series
argument exceeds 0.95 are left to the numpy quadrature. The tests hold both paths to
1e-10 on the log-likelihood and its gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from customer_value._validation import FloatArray
from customer_value.clv._compiled import _CACHED_X, _Z_QUADRATURE, _in_threads, _jit

__all__: list[str] = []

# Series coefficients kept per (frequency, branch): z <= 0.95 needs at most ~1000 terms
# for the derivative in z (terms n q_n z^(n-1)); a row needing more is integrated.
_TERMS = 2048
_SCRATCH = 2 * _CACHED_X  # the slot of rows whose frequency is not cached
_TOL = 1e-17  # relative size of the last term summed (as the numpy path)


@_jit
def _extend(coef: FloatArray, filled: Any, slot: int, b: float, c: float, upto: int) -> None:
    """Fill ``coef[slot, n] = (q_n, q_n db_n, -q_n dc_n, n q_n, db_n, dc_n)`` for
    ``n < upto``.

    ``q_n = (b)_n / (c)_n``, ``db_n = sum_(j<n) 1/(b+j)``, ``dc_n = sum_(j<n) 1/(c+j)``:
    the power-series coefficients at ``z = 0`` of ``S = 2F1(1, b; c; z)``, ``dS/db``,
    ``dS/dc`` and (shifted by one power) ``dS/dz`` (:func:`_pareto_kernel._coefficients`).
    """
    have = filled[slot]
    if have >= upto:
        return
    q = coef[slot, have - 1, 0]
    db = coef[slot, have - 1, 4]
    dc = coef[slot, have - 1, 5]
    for n in range(have, upto):
        db += 1.0 / (b + n - 1)
        dc += 1.0 / (c + n - 1)
        q *= (b + n - 1) / (c + n - 1)
        coef[slot, n, 0] = q
        coef[slot, n, 1] = q * db
        coef[slot, n, 2] = -q * dc
        coef[slot, n, 3] = n * q
        coef[slot, n, 4] = db
        coef[slot, n, 5] = dc
    filled[slot] = upto


@_jit
def _pair_series(
    coef: FloatArray, filled: Any, slot: int, b: float, c: float, z1: float, z2: float
) -> tuple[bool, float, float, float, float, float, float, float, float]:
    """``S, dS/db, dS/dc, dS/dz`` at ``z1 >= z2`` for ``S = 2F1(1, b; c; z)``: positive
    terms summed until the last one at ``z1`` is below 1e-17 (1 - z1) of the sums
    (:func:`_pareto_kernel._series`); first False past ``_TERMS`` terms. The sums live
    in registers (an output array would be stored and reloaded every term)."""
    s1 = 1.0
    b1 = 0.0
    c1 = 0.0
    d1 = 0.0
    s2 = 1.0
    b2 = 0.0
    c2 = 0.0
    d2 = 0.0
    p1 = 1.0  # z1^(n-1)
    p2 = 1.0
    tol = _TOL * (1.0 - z1)
    n = 1
    done = False
    while n < _TERMS:
        if n >= filled[slot]:
            _extend(coef, filled, slot, b, c, min(n + 64, _TERMS))
        q0 = coef[slot, n, 0]
        qb = coef[slot, n, 1]
        qc = coef[slot, n, 2]
        qz = coef[slot, n, 3]
        t1 = p1 * z1
        t2 = p2 * z2
        s1 += q0 * t1
        b1 += qb * t1
        c1 += qc * t1
        d1 += qz * p1
        s2 += q0 * t2
        b2 += qb * t2
        c2 += qc * t2
        d2 += qz * p2
        if qz * p1 <= tol * d1 and q0 * t1 <= tol * s1:
            done = True
            break
        p1 = t1
        p2 = t2 if t2 > 1e-250 else 0.0  # negligible: spares subnormal arithmetic
        n += 1
    return done, s1, b1, c1, d1, s2, b2, c2, d2


@_jit
def _log_g_and_grad(
    r: float,
    s: float,
    alpha: float,
    beta: float,
    x: float,
    u: float,
    la: float,
    lb: float,
    S: float,
    Sb: float,
    Sc: float,
    Sz: float,
) -> tuple[float, float, float, float, float]:
    """``log G(u)`` and its gradient in ``(r, alpha, s, beta)`` from ``la = log(alpha +
    u)``, ``lb = log(beta + u)``, the series ``S`` and its derivatives
    (:func:`customer_value.clv._pareto_kernel._log_g`)."""
    rx = r + x
    k = rx + s
    apu = alpha + u
    bpu = beta + u
    first = alpha >= beta
    other = 0.0 if first else 1.0
    logg = -rx * la - s * lb + other * (la - lb) + np.log(S / k)
    gb = Sb / S
    gz = Sz / S
    common = Sc / S - 1.0 / k
    if first:
        g0 = common - la + gb
        g2 = common - lb
        g1 = gz * bpu / (apu * apu) - rx / apu
        g3 = -gz / apu - s / bpu
    else:
        g0 = common - la
        g2 = common - lb + gb
        g1 = -gz / bpu - (rx - 1.0) / apu
        g3 = gz * apu / (bpu * bpu) - (s + 1.0) / bpu
    return logg, g0, g1, g2, g3


@_jit
def _loglik_rows(
    r: float,
    s: float,
    alpha: FloatArray,
    beta: FloatArray,
    x: FloatArray,
    tx: FloatArray,
    T: FloatArray,
    const: FloatArray,
    dig: FloatArray,
    out: FloatArray,
    grad: FloatArray,
    quad: Any,
    lo: int,
    hi: int,
) -> None:
    """Row ``i`` of the log-likelihood pieces (``out[:, i]``: log-likelihood, log weight
    of "alive at T", ``log s I``) and the gradient (``grad[i]``) of
    :meth:`customer_value.clv.ParetoNBDModel._parts`; ``quad[i]`` where the row is left
    to the numpy path (series argument above 0.95).

    ``const = log Gamma(r+x) - log Gamma(r)`` and ``dig`` its derivative in ``r``.
    """
    coef = np.empty((2 * _CACHED_X + 1, _TERMS, 6))
    coef[:, 0, 0] = 1.0
    coef[:, 0, 4:] = 0.0
    filled = np.ones(2 * _CACHED_X + 1, dtype=np.int64)
    log_s = np.log(s)
    for i in range(lo, hi):
        a = alpha[i]
        bt = beta[i]
        xi = x[i]
        if a >= bt:
            b = r + xi
            z1 = (a - bt) / (a + tx[i])
            z2 = (a - bt) / (a + T[i])
            branch = 1
        else:
            b = s + 1.0
            z1 = (bt - a) / (bt + tx[i])
            z2 = (bt - a) / (bt + T[i])
            branch = 0
        quad[i] = z1 > _Z_QUADRATURE
        if quad[i]:
            continue
        if xi == np.floor(xi) and 0.0 <= xi < _CACHED_X:
            slot = 2 * int(xi) + branch
        else:
            slot = _SCRATCH
            filled[slot] = 1
        ok, s1, b1, c1, d1, s2, b2, c2, d2 = _pair_series(
            coef, filled, slot, b, r + s + xi + 1.0, z1, z2
        )
        if not ok:
            quad[i] = True
            continue
        ti = T[i]
        log_at = np.log(a + ti)
        log_bt = np.log(bt + ti)
        lg1, g10, g11, g12, g13 = _log_g_and_grad(
            r, s, a, bt, xi, tx[i], np.log(a + tx[i]), np.log(bt + tx[i]), s1, b1, c1, d1
        )
        lg2, g20, g21, g22, g23 = _log_g_and_grad(
            r, s, a, bt, xi, ti, log_at, log_bt, s2, b2, c2, d2
        )
        # ParetoNBDModel._parts, one row: L = e^a_term + s (G(t_x) - G(T)) in log space,
        # with the weights of its two parts from the same exponentials
        rx = r + xi
        a_term = -rx * log_at - s * log_bt
        drop = min(lg2 - lg1, 0.0)
        share = -np.expm1(drop)  # (G(t_x) - G(T)) / G(t_x), 0 at t_x = T
        log_si = log_s + lg1 + np.log(share)  # -inf at t_x = T
        small = np.exp(-abs(a_term - log_si))
        m = max(a_term, log_si) + np.log1p(small)
        log_a = np.log(a)
        log_b = np.log(bt)
        out[0, i] = const[i] + r * log_a + s * log_b + m
        out[1, i] = a_term - m
        out[2, i] = log_si
        # e^(a_term - m) and e^(log_si - m): 1 / (1 + small) for the larger, small / (1 +
        # small) for the other
        w_a = (1.0 if a_term >= log_si else small) / (1.0 + small)
        w_1 = np.exp(log_s + lg1 - m)
        w_2 = w_1 * np.exp(drop)
        w_i = w_1 * share
        grad[i, 0] = dig[i] + log_a - w_a * log_at + w_1 * g10 - w_2 * g20
        grad[i, 1] = r / a - w_a * rx / (a + ti) + w_1 * g11 - w_2 * g21
        grad[i, 2] = log_b - w_a * log_bt + w_i / s + w_1 * g12 - w_2 * g22
        grad[i, 3] = s / bt - w_a * s / (bt + ti) + w_1 * g13 - w_2 * g23


def loglik_rows(
    r: float,
    s: float,
    alpha: FloatArray,
    beta: FloatArray,
    data: dict[str, FloatArray],
    const: FloatArray,
    dig: FloatArray,
) -> tuple[FloatArray, FloatArray, Any]:
    """Per-row log-likelihood pieces ``(3, n)`` (log-likelihood, log weight of "alive at
    T", ``log s I``), gradient ``(n, 4)`` in ``(r, alpha, s, beta)`` and the mask of rows
    left to the numpy path, for shared ``r``, ``s`` and per-row ``alpha``, ``beta``.

    Prior validation is assumed (positive parameters, ``0 <= t_x <= T``, equal lengths).
    """
    columns = (alpha, beta, data["frequency"], data["recency"], data["T"], const, dig)
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in columns]
    n = arrays[0].size
    out = np.empty((3, n))
    grad = np.empty((n, 4))
    quad = np.empty(n, dtype=np.bool_)
    _in_threads(_loglik_rows, [float(r), float(s), *arrays, out, grad, quad], n, n)
    return out, grad, quad
