"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) in the form of Fader & Hardie (2005).

The likelihood needs ``G(u) = ∫_u^∞ (α+y)^-(r+x) (β+y)^-(s+1) dy``, a Gauss
hypergeometric function that :mod:`customer_value.clv._pareto_kernel` sums with its
derivatives (hence an analytic gradient), in log space, for one parameter vector or one
per customer (covariates).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import special

from customer_value._validation import FloatArray
from customer_value.clv._accelerate import accelerated, compiled
from customer_value.clv._base import Data
from customer_value.clv._covariates import COVARIATE_NOTES, Targets, covariate_matrix, fill_doc
from customer_value.clv._dert import ParetoDiscountedTransactionsMixin
from customer_value.clv._frequency import FrequencyModel
from customer_value.clv._pareto_kernel import (
    _GL_NODES,
    _GL_WEIGHTS,
    _pair_log_g,
    _pairs,
    common_shapes,
    doubled,
    per_frequency,
)

__all__ = ["ParetoNBDModel"]


@fill_doc(covariate_notes=COVARIATE_NOTES)
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

    {covariate_notes}

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
        if not self._design().empty:  # per-row parameters: see _pareto_kernel.doubled
            if not accelerated():
                return {**data, **doubled(data)}
            # the compiled kernel reads the plain columns
            pairs: Data = {}
        else:
            px, pu, inverse = _pairs(data["frequency"], data["recency"], data["T"])
            pairs = {"_pair_x": px, "_pair_u": pu, "_pair_inv": inverse.astype(np.float64)}
        xu, code = np.unique(data["frequency"], return_inverse=True)
        return {**data, **pairs, "_xu": xu, "_xcode": code.reshape(-1).astype(np.float64)}

    def _start_values(self, data: Data, weights: FloatArray) -> FloatArray:
        start = super()._start_values(data, weights)
        start[3] = float(np.sum(weights * data["T"]) / weights.sum())
        return start

    def _parts(
        self, params: FloatArray, data: Data, *, grad: bool, compiled_rows: bool = True
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
        """Log-likelihood pieces: ``(loglik, log weight of 'alive at T', log s I, grad)``.

        ``params`` is one vector or one per row (covariates); the gradient has shape
        ``(n, 4)``. ``compiled_rows=False`` keeps per-row parameters on the numpy path.
        """
        r, alpha, s, beta = common_shapes(params)
        if compiled_rows and np.ndim(alpha) == 1 and np.ndim(r) == 0 and accelerated():
            # per-customer alpha, beta and common r, s (covariates): the compiled kernel
            return self._compiled_parts((r, alpha, s, beta), data, grad=grad)
        x, T = data["frequency"], data["T"]
        lg_tx, lg_T, g_tx, g_T = _pair_log_g((r, alpha, s, beta), data, grad=grad)
        log_at, log_bt = np.log(alpha + T), np.log(beta + T)
        rx = r + x
        a_term = -rx * log_at - s * log_bt
        with np.errstate(divide="ignore"):
            log_diff = lg_tx + np.log(-np.expm1(np.minimum(lg_T - lg_tx, 0.0)))
        log_s = np.log(s)
        log_si = log_s + log_diff
        # log(e^a + e^b) written out: np.logaddexp is several times slower; a is finite
        m = np.maximum(a_term, log_si) + np.log1p(np.exp(-np.abs(a_term - log_si)))
        log_alpha, log_beta = np.log(alpha), np.log(beta)
        const = per_frequency(special.gammaln, r, data) - special.gammaln(r)
        ll = const + r * log_alpha + s * log_beta + m
        if not grad or g_tx is None or g_T is None:
            return ll, a_term - m, log_si, None
        w_a = np.exp(a_term - m)
        w_1 = np.exp(log_s + lg_tx - m)
        w_2 = np.exp(log_s + lg_T - m)
        w_i = np.exp(log_si - m)  # s I / e^m
        gr = np.empty((4, x.size))
        gr[0] = per_frequency(special.digamma, r, data) - special.digamma(r) + log_alpha
        gr[0] -= w_a * log_at
        gr[1] = r / alpha - w_a * rx / (alpha + T)
        gr[2] = log_beta - w_a * log_bt + w_i / s
        gr[3] = s / beta - w_a * s / (beta + T)
        gr += w_1 * g_tx.T - w_2 * g_T.T
        return ll, a_term - m, log_si, gr.T

    def _compiled_parts(
        self, params: tuple[float, FloatArray, float, FloatArray], data: Data, *, grad: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
        """:meth:`_parts` by the compiled kernel (:mod:`._compiled_loglik`); the rows it
        leaves (series argument near 1: quadrature) by the numpy path."""
        r, alpha, s, beta = params
        const = per_frequency(special.gammaln, r, data) - special.gammaln(r)
        dig = per_frequency(special.digamma, r, data) - special.digamma(r)
        kernel = compiled("_compiled_loglik")
        pieces, gr, left = kernel.loglik_rows(r, s, alpha, beta, data, const, dig)
        if left.any():
            rows = {k: data[k][left] for k in ("frequency", "recency", "T")}
            sub = np.asarray(
                [np.full(rows["T"].size, r), alpha[left], np.full_like(rows["T"], s), beta[left]]
            )
            ll, alive, log_si, g = self._parts(sub, rows, grad=True, compiled_rows=False)
            pieces[:, left] = ll, alive, log_si
            gr[left] = g
        return pieces[0], pieces[1], pieces[2], gr if grad else None

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
        r, alpha, s, beta = common_shapes(params)
        if np.ndim(alpha) == 1 and np.ndim(r) == 0 and np.ndim(s) == 0 and accelerated():
            # per-customer alpha, beta (covariates): the compiled row kernel
            alive: FloatArray = compiled().p_alive(r, s, alpha, beta, x, tx, T)
            return alive
        data = {"frequency": x, "recency": tx, "T": T}
        out: FloatArray = np.exp(self._parts(params, data, grad=False)[1])
        return out

    def _draw_values(
        self, quantity: str, fulls: FloatArray, data: Data, options: dict[str, float]
    ) -> FloatArray | None:
        """P(alive) or ``E[Y(t)]`` of every customer under every full parameter vector
        (``(D, n)``) by the compiled kernel, or None where the numpy path runs."""
        design = self._design()
        if (
            design.empty
            or quantity not in ("probability_alive", "expected_purchases")
            or not accelerated()
        ):
            return None
        G = np.stack([design.slopes(full[4:]) for full in fulls])  # (D, 4, m)
        if np.any(G[:, [0, 2]]):  # pragma: no cover - covariates scale alpha and beta only
            return None
        logs = np.log(fulls[:, :4])
        values: FloatArray = compiled().draw_block(
            design.bounded_exp(logs[:, [0, 2]].copy()),
            logs[:, [1, 3]],
            G[:, [1, 3]],
            covariate_matrix(design, data),
            data["frequency"],
            data["recency"],
            data["T"],
            options.get("t") if quantity == "expected_purchases" else None,
        )
        return values

    @staticmethod
    def _pareto_factor(s: Any, span: FloatArray) -> FloatArray:
        """``(1 - (1 + span)^-(s-1)) / (s-1)``, with its limit ``log(1 + span)`` at s = 1."""
        lg = np.log1p(span)
        near = np.abs(s - 1.0) < 1e-10
        safe = np.where(near, 2.0, s)
        out: FloatArray = np.where(near, lg, -np.expm1(-(safe - 1.0) * lg) / (safe - 1.0))
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
