"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007).

Both models share one implementation: the MBG/NBD differs only in letting a customer
drop out right after the first purchase, which shifts the beta-function arguments by one
(``_shift = 1``) and removes the ``frequency > 0`` indicator.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from customer_value._validation import FloatArray
from customer_value.clv._base import Data
from customer_value.clv._bracket import _expectation_bracket
from customer_value.clv._chebyshev import fit_piecewise_chebyshev
from customer_value.clv._covariates import COVARIATE_NOTES, Targets, fill_doc
from customer_value.clv._dert import DiscountedTransactionsMixin
from customer_value.clv._frequency import FrequencyModel

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel"]

# The covariate parameters of both BG models (one text for both docstrings).
_BG_COVARIATE_PARAMETERS = """\
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
        to the mean negative log-likelihood (CLVTools' ``reg.lambdas``)."""

# Rows (and rows of one frequency) from which E[Y | alive] is interpolated in kappa
# (fewer: direct), and the smallest kappa interpolated (below it the bracket's
# small-horizon branch).
_ROWS = 4096
_ROWS_PER_FREQUENCY = 512
_KAPPA_MIN = 1e-3


def _distinct(data: Data) -> tuple[FloatArray, Any]:
    """Distinct frequencies and the index of each row into them (cached when fitting)."""
    if "_ux" in data:
        return data["_ux"], data["_ux_inv"].astype(np.intp)
    ux, inv = np.unique(data["frequency"], return_inverse=True)
    return ux, inv.reshape(-1)


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

    def _expected_alive(
        self, params: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """``E[Y(t) | alive at T, x, T]``: FHL (2005) eq. 10 without the P(alive) factor.

        It depends on ``t`` and ``T`` only through ``kappa = t / (alpha + T)``. With shared
        parameters and many rows of one frequency (CLV grids, a million customers with
        continuous ``T``), ``log E`` is interpolated in ``log kappa`` from a verified
        piecewise Chebyshev approximation (:mod:`customer_value.clv._chebyshev`, error
        below 1e-12 relative at every checked point) instead of one ``hyp2f1`` per row,
        whose cost grows with ``kappa``; everything else is evaluated directly.
        """
        alpha = params[1]
        kappa = np.asarray(t / (alpha + T), dtype=np.float64)
        x = np.broadcast_to(x, kappa.shape)
        if np.ndim(params[0]) or np.ndim(params[2]) or np.ndim(params[3]) or kappa.size < _ROWS:
            return self._alive_kappa(params, kappa, x)
        return self._alive_kappa_interpolated(params, kappa, x)

    def _alive_kappa_interpolated(
        self, params: FloatArray, kappa: FloatArray, x: FloatArray
    ) -> FloatArray:
        out = np.empty(kappa.size)
        codes, ux = pd.factorize(x)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(ux.size + 1))
        # Inside _shared_interpolants (the blocks of one CLV horizon) approximants are
        # reused per parameter vector and frequency, each fitted over a range of log kappa
        # reaching 10 times beyond the largest kappa asked for; elsewhere every call fits
        # its own, so a result never depends on earlier calls.
        key = params.tobytes()
        cache: dict[Any, Any] = {"key": key} if self._kappa_fits is None else self._kappa_fits
        if cache.get("key") != key:
            cache.clear()
            cache["key"] = key
        direct = []
        for j, xj in enumerate(np.asarray(ux, dtype=np.float64)):
            rows = order[bounds[j] : bounds[j + 1]]
            far = rows[kappa[rows] >= _KAPPA_MIN]
            fitted = None
            w = np.log(kappa[far])
            known = cache.get(xj)
            if far.size and known is not None and known[0] <= w.min() and w.max() <= known[1]:
                fitted = known[2]
            elif far.size >= _ROWS_PER_FREQUENCY:
                lo, hi = float(w.min()), float(w.max()) + 1e-9
                if self._kappa_fits is not None:
                    hi += np.log(10.0)

                def log_e(u: FloatArray, xj: float = xj) -> FloatArray:
                    e = self._alive_kappa(params, np.exp(u), np.full(u.size, xj))
                    with np.errstate(divide="ignore"):
                        return np.log(e)

                fitted = fit_piecewise_chebyshev(
                    log_e, lo, hi, atol=1e-12, min_width=1e-2, max_evals=far.size // 2
                )
                if fitted is not None:
                    cache[xj] = (lo, hi, fitted)
            if fitted is None:
                direct.append(rows)
                continue
            out[far] = np.exp(fitted(w))
            near = rows[kappa[rows] < _KAPPA_MIN]
            if near.size:
                direct.append(near)
        if direct:
            rest = np.concatenate(direct)
            out[rest] = self._alive_kappa(params, kappa[rest], x[rest])
        return out

    def _alive_kappa(self, params: FloatArray, kappa: FloatArray, x: FloatArray) -> FloatArray:
        """``E[Y(t) | alive at T, x, T]`` at ``kappa = t / (alpha + T)``, evaluated directly."""
        r, _, a, b = params
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
            bracket = _expectation_bracket(r, a, b_post, x, kappa)
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
                        kappa[degenerate],
                    )
                sides.append((c[degenerate] + shift) / ((a[degenerate] if per_row else a) - 1) * br)
            out[degenerate] = 0.5 * (sides[0] + sides[1])
        # For a vanishing horizon the bracket cancels catastrophically; there the
        # expectation is E[lambda | alive] * t = (r + x) t / (alpha + T) to first order
        # (relative error O(t / (alpha + T)) < 1e-8).
        small = (kappa < 1e-8) | ~np.isfinite(out) & (kappa < 1e-4)
        if small.any():
            out = np.where(small, (r + x) * kappa, out)
        return np.where(kappa > 0, np.maximum(out, 0.0), 0.0)

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


@fill_doc(bg_covariate_parameters=_BG_COVARIATE_PARAMETERS, covariate_notes=COVARIATE_NOTES)
class BetaGeoModel(_BetaGeoFamily):
    """BG/NBD model of repeat purchases and dropout (Fader, Hardie & Lee 2005).

    While active a customer buys as a Poisson process with rate ``lambda ~ Gamma(r,
    alpha)``; after each repeat purchase they drop out with probability ``p ~ Beta(a,
    b)``.

    Parameters
    ----------
    {bg_covariate_parameters}

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

    {covariate_notes}

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


@fill_doc(bg_covariate_parameters=_BG_COVARIATE_PARAMETERS, covariate_notes=COVARIATE_NOTES)
class ModifiedBetaGeoModel(_BetaGeoFamily):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

    As :class:`BetaGeoModel`, but a customer may also drop out right after the first
    purchase, so customers without repeat purchases are not certainly alive.

    Parameters
    ----------
    {bg_covariate_parameters}

    Notes
    -----
    Likelihood (Batislam et al. 2007; the same form as ``lifetimes``):

    .. math::

        L = \\frac{B(a, b+x+1)}{B(a, b)} \\frac{\\Gamma(r+x) \\alpha^r}{\\Gamma(r)
        (\\alpha+T)^{r+x}} + \\frac{B(a+1, b+x)}{B(a, b)}
        \\frac{\\Gamma(r+x) \\alpha^r}{\\Gamma(r) (\\alpha+t_x)^{r+x}}.

    {covariate_notes}

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
