"""The BG/NBD expectation bracket ``1 - 2F1(r+x, a-1; c; -kappa)`` (private).

FHL (2005) eq. 10 needs a Gauss hypergeometric function that ``scipy.special.hyp2f1``
gets wrong in places; :func:`_expectation_bracket` evaluates it in one form where that
form is known to be accurate and votes between three forms (or integrates) elsewhere.
Shared by BG/NBD and MBG/NBD (:mod:`customer_value.clv._bgnbd`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from scipy import special

from customer_value._validation import FloatArray

__all__ = ["_SAFE_REGIONS", "_expectation_bracket"]


@cache
def _gauss_legendre_400() -> tuple[FloatArray, FloatArray]:
    """The 400-point Gauss-Legendre rule, computed on first use (0.1 s, not at import)."""
    nodes, weights = np.polynomial.legendre.leggauss(400)
    return nodes, weights


# Regions where form E of the expectation bracket alone is accurate (_expectation_bracket):
# (kappa_low, kappa_high, largest b_post, (smallest a, largest a), largest r)
_SAFE_REGIONS = (
    (1e-4, 1.0, 550.0, (0.05, 30.0), 20.0),
    (1.0, 1e4, 50.0, (0.05, 10.0), 10.0),
)


def _expectation_bracket(
    r: Any, a: Any, b_post: FloatArray, x: FloatArray, kappa: FloatArray
) -> FloatArray:
    """``1 - 2F1(r+x, a-1; c; -kappa)`` with ``c = a + b_post - 1`` (FHL 2005, eq. 10).

    Three equivalent forms (Pfaff and Euler transformations) are evaluated with
    ``scipy.special.hyp2f1``, which is accurate for most parameters but not all:

    * E: ``1 - (1-z)^(a-1) 2F1(c-r-x, a-1; c; z)``,
    * O: ``1 - (1-z)^(r+x) 2F1(r+x, b_post; c; z)`` (the paper's form),
    * P: ``1 - 2F1(r+x, a-1; c; -kappa)``,

    with ``z = kappa / (1 + kappa)``. Where all three agree (to 1e-8) the value is used;
    elsewhere (two forms can agree and both be wrong near ``z = 1``) the bracket is
    integrated numerically.
    ``hyp2f1`` returns NaN for some exactly-integer parameter combinations (scipy 1.17:
    ``hyp2f1(1, 35, 121, 10/11)``); those rows are evaluated again with the parameters
    moved by a few parts in 1e9, which changes the result by as little.

    The vote is paid only outside the regions where form E alone is known to be accurate
    (``_SAFE_REGIONS``; always ``|a - 1| >= 1e-3`` and ``c = a + b_post - 1 >= 1``):

    * ``1e-4 <= kappa <= 1`` (``z <= 1/2``, where its series converges at least like
      ``2^-k``; below ``1e-4`` the bracket cancels) with ``r <= 20``,
      ``0.05 <= a <= 30`` and ``b_post <= 550``;
    * ``1 < kappa <= 1e4`` with ``r <= 10``, ``0.05 <= a <= 10`` and ``b_post <= 50``
      (form E fails near ``z = 1`` only with larger ``b_post``, as in
      ``r = a = 12.25, b = 100``).

    There form E was checked against 30-digit ``mpmath.hyp2f1`` on random parameters
    (about 25,000 draws, largest relative error 4e-11; test
    ``test_safe_form_matches_mpmath``). A non-finite value there, or one of the wrong sign,
    is voted too.
    """
    # per-customer r or a (covariates): no region check, every row is voted
    safe = False if np.ndim(r) or np.ndim(a) else _safe_rows(r, a, b_post, kappa)
    if safe is True:  # the common case: no gathering and scattering of rows
        out = _form_e(r, a, b_post, x, kappa)
    else:
        out = np.full(kappa.size, np.nan)
        if safe is not False and safe.any():
            out[safe] = _form_e(r, a, b_post[safe], x[safe], kappa[safe])
    signed = out * np.sign(a - 1)  # the bracket has the sign of a - 1
    if not (signed.min(initial=0.0) >= 0 and signed.max(initial=0.0) < np.inf):
        rest = ~((signed >= 0) & (signed < np.inf))
        rr = r[rest] if np.ndim(r) else r
        aa = a[rest] if np.ndim(a) else a
        out[rest] = _expectation_bracket_voted(rr, aa, b_post[rest], x[rest], kappa[rest])
    return out


def _safe_rows(r: float, a: float, b_post: FloatArray, kappa: FloatArray) -> Any:
    """Rows inside ``_SAFE_REGIONS`` (also ``c = a + b_post - 1 >= 1``): ``True`` when all
    are (decided from the ranges, without a per-row mask), ``False`` when none can be,
    else a boolean mask."""
    regions = [
        (k_lo, k_hi, b_hi)
        for k_lo, k_hi, b_hi, (a_lo, a_hi), r_hi in _SAFE_REGIONS
        if a_lo <= a <= a_hi and r <= r_hi
    ]
    if abs(a - 1.0) < 1e-3 or not regions or kappa.size == 0:
        return False
    k_min, k_max = float(kappa.min()), float(kappa.max())
    b_min, b_max = float(b_post.min()), float(b_post.max())
    if b_min >= 2.0 - a:
        covered = sorted((k_lo, k_hi) for k_lo, k_hi, b_hi in regions if b_max <= b_hi)
        reach = k_min
        for k_lo, k_hi in covered:
            if k_lo <= reach:
                reach = max(reach, k_hi)
        if covered and covered[0][0] <= k_min and reach >= k_max:
            return True
    mask = np.zeros(kappa.size, dtype=np.bool_)
    for k_lo, k_hi, b_hi in regions:
        mask |= (kappa >= k_lo) & (kappa <= k_hi) & (b_post <= b_hi)
    return mask & (b_post >= 2.0 - a)


def _form_e(r: float, a: float, b_post: FloatArray, x: FloatArray, kappa: FloatArray) -> FloatArray:
    """Form E of :func:`_expectation_bracket` alone (for its accurate region)."""
    n = r + x
    c = a + b_post - 1
    log1mz = -np.log1p(kappa)
    out: FloatArray = -np.expm1((a - 1) * log1mz) - np.exp((a - 1) * log1mz) * (
        special.hyp2f1(c - n, a - 1, c, kappa / (1.0 + kappa)) - 1.0
    )
    return out


def _expectation_bracket_voted(
    r: Any, a: Any, b_post: FloatArray, x: FloatArray, kappa: FloatArray
) -> FloatArray:
    """The bracket where all three forms must agree, else nudged parameters, else
    quadrature (see :func:`_expectation_bracket`)."""
    # r and a per row: with covariates every customer has their own
    r = np.broadcast_to(r, x.shape)
    a = np.broadcast_to(a, x.shape)
    out = _bracket_vote(r, a, b_post, x, kappa)
    out[a + b_post > 1e10] = np.nan  # hyp2f1 is unreliable there: integrate
    lost = np.isnan(out)
    if lost.any():
        out[lost] = _bracket_vote(
            r[lost] * (1 + 1e-9),
            a[lost] * (1 + 3e-9),
            b_post[lost] * (1 + 7e-9),
            x[lost],
            kappa[lost],
        )
    lost = np.isnan(out)
    if lost.any():  # hyp2f1 fails for large parameters with z near 1: integrate instead
        out[lost] = _bracket_quadrature(r[lost], a[lost], b_post[lost], x[lost], kappa[lost])
    return out


def _bracket_quadrature(
    r: FloatArray, a: FloatArray, b_post: FloatArray, x: FloatArray, kappa: FloatArray
) -> FloatArray:
    """The bracket as ``(a-1)/c E[psi(p)]``, ``p ~ Beta(a, b_post)``, by quadrature.

    ``psi(p) = (1 - (1 + p kappa)^-(r+x)) / p`` is the expected number of purchases of a
    customer alive now with dropout probability ``p`` (the Gamma rate integrated out).
    The expectation is a 400-point Gauss-Legendre rule in ``logit(p)`` around the
    posterior mode (the density is smooth and log-concave there); the two tails beyond
    the rule contribute ``psi`` at the cut times the regularised incomplete beta mass.
    """
    n = (r + x)[:, None]
    bp = b_post[:, None]
    k = kappa[:, None]
    a_col = a[:, None]
    mode = np.log(a_col / bp)
    p_star = a_col / (a_col + bp)
    sd = 1.0 / np.sqrt((a_col + bp) * p_star * (1.0 - p_star))
    lo = np.maximum(mode - np.maximum(14.0 * sd, np.minimum(40.0 / a_col, 700.0)), -700.0)
    hi = np.minimum(mode + np.maximum(14.0 * sd, np.minimum(40.0 / bp, 700.0)), 700.0)
    gl_x, gl_w = _gauss_legendre_400()
    theta = lo + (hi - lo) * (gl_x[None, :] + 1.0) / 2.0
    log_p = special.log_expit(theta)
    log_q = special.log_expit(-theta)

    def psi(lp: Any) -> Any:
        p = np.exp(lp)
        return -np.expm1(-n * np.log1p(p * k)) / p

    log_beta = special.betaln(a_col, bp)
    density = np.exp(a_col * log_p + bp * log_q - log_beta)
    body = (psi(log_p) * density) @ gl_w * ((hi - lo)[:, 0] / 2.0)
    p_lo = special.expit(lo)
    p_hi = special.expit(hi)
    huge = np.abs(log_beta[:, 0]) > 1e6
    if huge.any():
        # a and b so large (extreme covariate values) that a log p + b log q - B(a, b)
        # cancels catastrophically: normalise the density by its own quadrature instead.
        log_d = a_col[huge] * log_p[huge] + bp[huge] * log_q[huge]
        dens = np.exp(log_d - log_d.max(axis=1, keepdims=True))
        mass = dens @ gl_w
        body[huge] = np.divide(
            (psi(log_p)[huge] * dens) @ gl_w, mass, out=np.zeros_like(mass), where=mass > 0
        )
    tails = (
        psi(np.log(p_lo))[:, 0] * special.betainc(a_col, bp, p_lo)[:, 0]
        + psi(np.log(p_hi))[:, 0] * special.betaincc(a_col, bp, p_hi)[:, 0]
    )
    c = a + b_post - 1
    out: FloatArray = (a - 1) / c * (body + tails)
    return out


def _bracket_vote(
    r: FloatArray, a: FloatArray, b_post: FloatArray, x: FloatArray, kappa: FloatArray
) -> FloatArray:
    n = r + x
    c = a + b_post - 1
    z = kappa / (1.0 + kappa)
    log1mz = -np.log1p(kappa)
    form_e = -np.expm1((a - 1) * log1mz) - np.exp((a - 1) * log1mz) * (
        special.hyp2f1(c - n, a - 1, c, z) - 1.0
    )
    form_o = -np.expm1(n * log1mz) - np.exp(n * log1mz) * (special.hyp2f1(n, b_post, c, z) - 1.0)
    sign = np.sign(a - 1)  # the bracket has the sign of a - 1

    def ok(v: FloatArray) -> Any:
        return np.isfinite(v) & (v * sign >= 0)

    def close(u: FloatArray, v: FloatArray) -> Any:
        return ok(u) & ok(v) & (np.abs(u - v) <= 1e-8 * np.abs(u) + 1e-300)

    # scipy's hyp2f1 can be wrong in two transformed forms at once (z near 1, large
    # parameters): a value is trusted only when all three forms agree; the caller
    # integrates the rest (see _bracket_quadrature).
    form_p: FloatArray = np.asarray(1.0 - special.hyp2f1(n, a - 1, c, -kappa), dtype=np.float64)
    out = np.where(close(form_e, form_o) & close(form_e, form_p), form_e, np.nan)
    result: FloatArray = out
    return result
