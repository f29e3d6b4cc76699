"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007).

Both models share one implementation: the MBG/NBD differs only in letting a customer
drop out right after the first purchase, which shifts the beta-function arguments by one
(``_shift = 1``) and removes the ``frequency > 0`` indicator.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

import numpy as np
from scipy import special

from customer_value._validation import FloatArray
from customer_value.clv._base import Data
from customer_value.clv._covariates import Targets
from customer_value.clv._dert import DiscountedTransactionsMixin
from customer_value.clv._frequency import FrequencyModel

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel"]


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


def _distinct(data: Data) -> tuple[FloatArray, Any]:
    """Distinct frequencies and the index of each row into them (cached when fitting)."""
    if "_ux" in data:
        return data["_ux"], data["_ux_inv"].astype(np.intp)
    ux, inv = np.unique(data["frequency"], return_inverse=True)
    return ux, inv.reshape(-1)


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


class _BetaGeoFamily(DiscountedTransactionsMixin, FrequencyModel):
    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _flat_hints: ClassVar[dict[frozenset[str], str]] = {
        frozenset({"r", "alpha"}): "r/alpha is the mean purchase rate",
        frozenset({"a", "b"}): "a/(a+b) is the mean probability of dropping out after a "
        "purchase; a and b growing together means every customer has the same one",
    }
    _shift: ClassVar[int] = 0
    # alpha_i = alpha0 exp(-gamma_p' x_i); a_i = a0 exp(gamma_a' x_i), b_i = b0 exp(gamma_b' x_i)
    # (Fader & Hardie 2007, section 3: separate coefficients for a and b)
    _covariate_targets: ClassVar[Targets] = {
        "purchase": ((1, -1.0, "alpha"),),
        "dropout": ((2, 1.0, "a"), (3, 1.0, "b")),
    }

    def _augment(self, data: Data) -> Data:
        extra = {}
        for column, key in (("frequency", "_ux"), ("recency", "_utx"), ("T", "_uT")):
            values, inverse = np.unique(data[column], return_inverse=True)
            extra[key] = values
            extra[key + "_inv"] = inverse.reshape(-1).astype(np.float64)
        return {**data, **extra}

    def _active(self, x: FloatArray) -> Any:
        """Rows whose likelihood has the second (dropped-after-last-purchase) term."""
        return (x + self._shift) >= 1

    def _log_odds_dead(
        self, params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """``log(P(dead) / P(alive))`` at T; ``-inf`` where the customer cannot be dead."""
        r, alpha, a, b = params
        m = self._shift
        active = self._active(x)
        denom = np.where(active, b + (x + m - 1), 1.0)
        # one log each: log(a / denom) and log((alpha + T) / (alpha + t_x)) via log1p
        d = np.log(a / denom) + (r + x) * np.log1p((T - tx) / (alpha + tx))
        d[~active] = -np.inf
        out: FloatArray = d
        return out

    def _loglik_grad(self, params: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        r, alpha, a, b = params
        m = self._shift
        x, tx, T = data["frequency"], data["recency"], data["T"]
        per_row = params.ndim == 2  # covariates: every customer has own parameters
        if per_row:
            ux, inv = x, np.arange(x.size)
        else:
            ux, inv = _distinct(data)
        # Terms depending on the frequency only: computed once per distinct frequency and
        # gathered with a single fancy-index.
        active_u = (ux + m) >= 1
        denom_u = np.where(active_u, b + ux + m - 1, 1.0)
        psi_ab = special.digamma(a + b)
        psi_abx_u = special.digamma(a + b + ux + m)
        per_x = np.stack(
            [
                special.gammaln(r + ux)
                - special.gammaln(r)
                + special.betaln(a, b + ux + m)
                - special.betaln(a, b),
                special.digamma(r + ux) - special.digamma(r),
                psi_ab - psi_abx_u,
                special.digamma(b + ux + m) - psi_abx_u - special.digamma(b) + psi_ab,
                np.where(active_u, np.log(a) - np.log(denom_u), -np.inf),
                1.0 / denom_u,
            ]
        )
        if not per_row:
            per_x = per_x[:, inv]
        const, dg_r, da, db, d_const, inv_denom = per_x
        if "_uT" in data and not per_row:  # logs and reciprocals once per distinct T and recency
            iT, itx = data["_uT_inv"].astype(np.intp), data["_utx_inv"].astype(np.intp)
            log_at = np.log(alpha + data["_uT"])[iT]
            inv_at = (1.0 / (alpha + data["_uT"]))[iT]
            log_atx = np.log(alpha + data["_utx"])[itx]
            inv_atx = (1.0 / (alpha + data["_utx"]))[itx]
        else:
            log_at, inv_at = np.log(alpha + T), 1.0 / (alpha + T)
            log_atx, inv_atx = np.log(alpha + tx), 1.0 / (alpha + tx)
        log_gap = log_at - log_atx
        rx = r + x
        d = d_const + rx * log_gap
        # logaddexp(0, d) and expit(d) from one exponential
        e = np.exp(-np.abs(d))
        ll = const + r * np.log(alpha) - rx * log_at + np.maximum(d, 0.0) + np.log1p(e)
        pi = np.where(d >= 0, 1.0, e) / (1.0 + e)  # share of the "dropped out" term
        grad = np.empty((4, x.size))
        grad[0] = dg_r + np.log(alpha) - log_at + pi * log_gap
        grad[1] = r / alpha - rx * inv_at + pi * rx * (inv_at - inv_atx)
        grad[2] = da + pi / a
        grad[3] = db - pi * inv_denom
        return ll, grad.T

    def _loglik(self, params: FloatArray, data: Data) -> FloatArray:
        r, alpha, a, b = params
        x, tx, T = data["frequency"], data["recency"], data["T"]
        log_at = np.log(alpha + T)
        d = self._log_odds_dead(params, x, tx, T)
        out: FloatArray = (
            special.gammaln(r + x)
            - special.gammaln(r)
            + r * np.log(alpha)
            + special.betaln(a, b + x + self._shift)
            - special.betaln(a, b)
            - (r + x) * log_at
            + np.logaddexp(0.0, d)
        )
        return out

    # ------------------------------------------------------------------ predictions
    def _p_alive(
        self, params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        out: FloatArray = special.expit(-self._log_odds_dead(params, x, tx, T))
        return out

    def _expected(
        self, params: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        out: FloatArray = self._expected_alive(params, t, x, T) * self._p_alive(params, x, tx, T)
        return out

    def _expected_alive(
        self, params: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """``E[Y(t) | alive at T, x, T]``: FHL (2005) eq. 10 without the P(alive) factor."""
        r, alpha, a, b = params
        m = self._shift
        per_row = np.ndim(a) > 0  # covariates: every customer has own parameters
        if per_row:
            r = np.broadcast_to(r, x.shape)
            a = np.where(np.abs(a - 1.0) < 1e-7, 1.0 + 1e-7, a)  # removable singularity
            a = np.broadcast_to(a, x.shape)
        elif abs(a - 1.0) < 1e-7:  # removable singularity at a = 1
            a = 1.0 + 1e-7
        b_post = b + x + m
        c = a + b_post - 1
        with np.errstate(all="ignore"):
            bracket = _expectation_bracket(r, a, b_post, x, t / (alpha + T))
        with np.errstate(all="ignore"):  # NaN rows are replaced below
            out: FloatArray = c / (a - 1) * bracket
        degenerate = np.abs(c) < 1e-6  # a + b = 1 with x = 0: c * 2F1(...; c; .) -> finite
        if degenerate.any():
            step = 1e-5  # central difference around c = 0: error O(step^2)
            sides = []
            for shift in (step, -step):
                with np.errstate(all="ignore"):
                    br = _expectation_bracket(
                        r[degenerate] if per_row else r,
                        a[degenerate] if per_row else a,
                        b_post[degenerate] + shift,
                        x[degenerate],
                        (t / (alpha + T))[degenerate],
                    )
                sides.append((c[degenerate] + shift) / ((a[degenerate] if per_row else a) - 1) * br)
            out[degenerate] = 0.5 * (sides[0] + sides[1])
        # For a vanishing horizon the bracket cancels catastrophically; there the
        # expectation is E[lambda | alive] * t = (r + x) t / (alpha + T) to first order
        # (relative error O(t / (alpha + T)) < 1e-8).
        z = t / (alpha + T)
        small = (z < 1e-8) | ~np.isfinite(out) & (z < 1e-4)
        if small.any():
            out = np.where(small, (r + x) * z, out)
        return np.where(t > 0, np.maximum(out, 0.0), 0.0)

    def _expected_new(self, params: FloatArray, t: FloatArray) -> FloatArray:
        zero = np.zeros_like(t)
        return self._expected(params, t, zero, zero, zero)

    def _pmf(self, params: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

        r, alpha, a, b = params
        m = self._shift
        p = alpha / (alpha + t)
        log_b0 = special.betaln(a, b)
        stay = special.betaln(a, b + n + m) - log_b0 + stats.nbinom.logpmf(n, r, p)
        active = (n + m) >= 1
        safe = np.where(active, b + n + m - 1, b)
        drop = np.where(
            active,
            special.betaln(a + 1, safe) - log_b0 + stats.nbinom.logsf(n - 1, r, p),
            -np.inf,
        )
        out: FloatArray = np.exp(np.logaddexp(stay, drop))
        return out

    def _simulate_arrays(
        self, params: FloatArray, T: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        r, alpha, a, b = params
        n = T.size
        lam = rng.gamma(r, 1.0 / alpha, size=n)
        p = np.clip(rng.beta(a, b, size=n), 1e-12, 1.0)
        # Repeat purchases made before dropping out: >= 1 for BG/NBD (no dropout at the
        # first purchase), >= 0 for MBG/NBD.
        lives = rng.geometric(p).astype(np.float64) - self._shift
        arrivals = rng.poisson(lam * T).astype(np.float64)
        x = np.minimum(lives, arrivals)
        # The x-th of N uniform arrival times on (0, T) is T * Beta(x, N - x + 1).
        pos = x > 0
        tx = np.zeros(n)
        tx[pos] = T[pos] * rng.beta(x[pos], arrivals[pos] - x[pos] + 1)
        # Dropout happens right after the last purchase made alive; beyond T the
        # remaining purchases arrive at rate lambda (memoryless).
        death = np.full(n, np.inf)
        inside = lives <= arrivals
        death[inside] = tx[inside]
        later = ~inside & (lam > 0)
        death[later] = T[later] + rng.gamma(lives[later] - arrivals[later], 1.0) / lam[later]
        return x, tx, T.astype(np.float64), death


class BetaGeoModel(_BetaGeoFamily):
    """BG/NBD model of repeat purchases and dropout (Fader, Hardie & Lee 2005).

    While active a customer buys as a Poisson process with rate ``lambda ~ Gamma(r,
    alpha)``; after each repeat purchase they drop out with probability ``p ~ Beta(a,
    b)``.

    Parameters
    ----------
    purchase_covariates : sequence of str, optional
        Columns of the customer table that scale the purchase process:
        ``alpha_i = alpha * exp(-gamma_p' x_i)`` (a positive coefficient raises the
        purchase rate). Named once here; ``fit`` and every prediction read them from the
        data, each customer with their own values.
    dropout_covariates : sequence of str, optional
        Columns that shift the dropout probability ``p ~ Beta(a_i, b_i)`` with
        ``a_i = a * exp(gamma_a' x_i)`` and ``b_i = b * exp(gamma_b' x_i)``: two
        coefficients per column, ``dropout.a.<col>`` and ``dropout.b.<col>`` (Fader &
        Hardie 2007, section 3). A common coefficient for ``a`` and ``b`` (CLVTools)
        would leave the mean dropout probability ``a / (a + b)`` unchanged.
    shared_covariates : sequence of str, optional
        Columns with one coefficient used for every scaled parameter of both processes.
    l2_purchase, l2_dropout : float, default 0
        L2 penalties ``lambda sum(gamma^2)`` on the coefficients of each process, added
        to the mean negative log-likelihood (CLVTools' ``reg.lambdas``).

    Notes
    -----
    The likelihood of a customer with ``x`` repeat purchases, the last at ``t_x``, observed
    for ``T`` is (FHL 2005, eq. 6)

    .. math::

        L = \\frac{B(a, b+x)}{B(a, b)} \\frac{\\Gamma(r+x) \\alpha^r}{\\Gamma(r)
        (\\alpha+T)^{r+x}} + \\delta_{x>0} \\frac{B(a+1, b+x-1)}{B(a, b)}
        \\frac{\\Gamma(r+x) \\alpha^r}{\\Gamma(r) (\\alpha+t_x)^{r+x}},

    evaluated in log space with ``logaddexp``. The conditional expectation (eq. 10) uses
    Euler's transformation of the Gauss hypergeometric function so that none of its
    parameters grows with ``x`` (stable for frequencies in the hundreds).

    Covariates (see "Customer attributes and covariates" in the user guide) are fitted
    with internally standardised columns; coefficients are reported for the columns as
    given. Each customer's parameters are clipped to ``exp(+-200)`` so that extreme
    covariate values still give finite predictions. With all coefficients zero the
    model is exactly the plain one.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
    way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.

    Fader, P. S. & Hardie, B. G. S. (2007). Incorporating time-invariant covariates into
    the Pareto/NBD and BG/NBD models. http://brucehardie.com/notes/019/

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.datasets import load_cdnow_summary
    >>> model = BetaGeoModel().fit(load_cdnow_summary())
    >>> model.params_.round(3).tolist()
    [0.243, 4.414, 0.793, 2.426]
    >>> round(model.log_likelihood_, 2)
    -9582.43
    """

    _shift: ClassVar[int] = 0
    _p_alive_at_zero_is_one: ClassVar[bool] = True


class ModifiedBetaGeoModel(_BetaGeoFamily):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

    As :class:`BetaGeoModel`, but a customer may also drop out right after the first
    purchase, so customers without repeat purchases are not certainly alive.

    Parameters
    ----------
    purchase_covariates : sequence of str, optional
        Columns of the customer table that scale the purchase process:
        ``alpha_i = alpha * exp(-gamma_p' x_i)`` (a positive coefficient raises the
        purchase rate). Named once here; ``fit`` and every prediction read them from the
        data, each customer with their own values.
    dropout_covariates : sequence of str, optional
        Columns that shift the dropout probability ``p ~ Beta(a_i, b_i)`` with
        ``a_i = a * exp(gamma_a' x_i)`` and ``b_i = b * exp(gamma_b' x_i)``: two
        coefficients per column, ``dropout.a.<col>`` and ``dropout.b.<col>`` (Fader &
        Hardie 2007, section 3). A common coefficient for ``a`` and ``b`` (CLVTools)
        would leave the mean dropout probability ``a / (a + b)`` unchanged.
    shared_covariates : sequence of str, optional
        Columns with one coefficient used for every scaled parameter of both processes.
    l2_purchase, l2_dropout : float, default 0
        L2 penalties ``lambda sum(gamma^2)`` on the coefficients of each process, added
        to the mean negative log-likelihood (CLVTools' ``reg.lambdas``).

    Notes
    -----
    Likelihood (Batislam et al. 2007; the same form as ``lifetimes``):

    .. math::

        L = \\frac{B(a, b+x+1)}{B(a, b)} \\frac{\\Gamma(r+x) \\alpha^r}{\\Gamma(r)
        (\\alpha+T)^{r+x}} + \\frac{B(a+1, b+x)}{B(a, b)}
        \\frac{\\Gamma(r+x) \\alpha^r}{\\Gamma(r) (\\alpha+t_x)^{r+x}}.

    Covariates (see "Customer attributes and covariates" in the user guide) are fitted
    with internally standardised columns; coefficients are reported for the columns as
    given. Each customer's parameters are clipped to ``exp(+-200)`` so that extreme
    covariate values still give finite predictions. With all coefficients zero the
    model is exactly the plain one.

    References
    ----------
    Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and
    comparison of models for customer base analysis. *International Journal of Research
    in Marketing* 24(3), 201-209.

    Fader, P. S. & Hardie, B. G. S. (2007). Incorporating time-invariant covariates into
    the Pareto/NBD and BG/NBD models. http://brucehardie.com/notes/019/

    Examples
    --------
    >>> from customer_value.clv import ModifiedBetaGeoModel
    >>> from customer_value.datasets import load_cdnow_summary
    >>> model = ModifiedBetaGeoModel().fit(load_cdnow_summary())
    >>> model.params_.round(3).tolist()
    [0.525, 6.183, 0.891, 1.614]
    """

    _shift: ClassVar[int] = 1
