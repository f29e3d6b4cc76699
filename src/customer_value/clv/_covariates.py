"""Time-invariant covariates of the customer-base models (private).

A covariate shifts a model parameter of each customer by an exponential factor of a
linear predictor; the model's own likelihood is evaluated with per-customer parameters
and the chain rule turns its per-row gradient into the gradient in the base parameters
and the coefficients. A model without covariates is the special case of an empty design:
the same likelihood, evaluated with one parameter vector for every row.

Parametrisation (Fader & Hardie 2007; CLVTools, Bachmann, Meierer & Naef 2021)
------------------------------------------------------------------------------
For a customer with covariates ``x_i``, a targeted parameter ``theta_j`` becomes

.. math::

    \\theta_{ij} = \\theta_{j0} \\exp(\\sigma_j \\, \\gamma_j' x_i),

with ``sigma_j = -1`` for the scale parameters of the gamma rate distributions (Pareto/NBD
``alpha`` and ``beta``, BG/NBD ``alpha``), so that a *positive* coefficient raises the
mean rate ``r / alpha_i`` (purchase) or ``s / beta_i`` (dropout), exactly as CLVTools
(``alpha_i = alpha0 exp(-gamma_trans' x)``, ``beta_i = beta0 exp(-gamma_life' x)``), and
``sigma_j = +1`` for the beta-distribution parameters of the BG/NBD dropout probability
(``a_i = a0 exp(gamma_a' x)``, ``b_i = b0 exp(gamma_b' x)``, Fader & Hardie 2007, section
3). The shape parameters (``r``, ``s``) are common to all customers.

Each model lists its targets per process in ``_covariate_targets``; a covariate named for
a process gets one coefficient per target of that process. A *shared* covariate gets one
coefficient used for every target of both processes (CLVTools' ``names.cov.constr``).
L2 regularisation adds ``lambda_p sum(gamma_p^2) + lambda_d sum(gamma_d^2)`` to the mean
negative log-likelihood (the form of CLVTools' ``reg.lambdas``; a shared coefficient is
penalised with ``lambda_p + lambda_d``).

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). Incorporating time-invariant covariates into the
Pareto/NBD and BG/NBD models. http://brucehardie.com/notes/019/

Bachmann, P., Meierer, M. & Naef, J. (2021). The role of time-varying contextual factors
in latent attrition models for customer base analysis. *Marketing Science* 40(4), 783-809
(CLVTools, https://github.com/bachmannpatrick/CLVTools, ``src/pnbd.cpp`` and
``src/bgnbd.cpp``: ``*_staticcov_alpha_i``, ``*_staticcov_beta_i``, ``*_a_i``, ``*_b_i``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from customer_value._validation import FloatArray, check_scalar, describe_row, first_bad, plain
from customer_value.errors import InvalidDataError

__all__ = [
    "COVARIATE_NOTES",
    "COVARIATE_PREFIX",
    "CovariateDesign",
    "build_design",
    "check_identifiable",
    "covariate_arrays",
    "covariate_matrix",
    "fill_doc",
]

COVARIATE_PREFIX = "x:"
"""Key prefix of covariate arrays in the model's data dictionaries."""

_LOG_PARAM_BOUND = 200.0  # per-customer log-parameters are clipped here (finite likelihood)

Targets = dict[str, tuple[tuple[int, float, str], ...]]

_Documented = TypeVar("_Documented")

COVARIATE_NOTES = """\
    Covariates (see "Customer attributes and covariates" in the user guide) are fitted
    with internally standardised columns; coefficients are reported for the columns as
    given. Each customer's parameters are clipped to ``exp(+-200)`` so that extreme
    covariate values still give finite predictions. With all coefficients zero the
    model is exactly the plain one."""
"""The Notes paragraph every covariate model's docstring shares (``{covariate_notes}``)."""


def fill_doc(**fragments: str) -> Callable[[_Documented], _Documented]:
    """Decorator: put docstring text shared by several models in place of its marker.

    Each line ``    {name}`` of the decorated object's docstring becomes
    ``fragments[name]`` (already indented), so a paragraph common to several classes is
    written once. A missing marker is a programming error.
    """

    def apply(obj: _Documented) -> _Documented:
        doc = obj.__doc__
        if doc is None:  # python -OO strips docstrings
            return obj
        for name, text in fragments.items():
            marker = "    {" + name + "}"
            if marker not in doc:
                raise RuntimeError(f"docstring of {obj!r} has no {marker.strip()} marker")
            doc = doc.replace(marker, text)
        obj.__doc__ = doc
        return obj

    return apply


@dataclass(frozen=True)
class CovariateDesign:
    """Which coefficient multiplies which covariate into which parameter."""

    n_base: int
    columns: tuple[str, ...]
    coef_names: tuple[str, ...]
    coef_column: tuple[int, ...]
    coef_targets: tuple[tuple[tuple[int, float], ...], ...]
    coef_process: tuple[str, ...]
    penalty: tuple[float, ...]

    @property
    def empty(self) -> bool:
        return not self.coef_names

    def keys(self) -> tuple[str, ...]:
        return tuple(COVARIATE_PREFIX + c for c in self.columns)

    # ------------------------------------------------------------------ algebra
    def slopes(self, gamma: FloatArray) -> FloatArray:
        """``G`` with ``log theta_ij = log theta_j0 + (G x_i)_j``, shape ``(k, columns)``."""
        G = np.zeros((self.n_base, len(self.columns)))
        for c, col in enumerate(self.coef_column):
            for j, sign in self.coef_targets[c]:
                G[j, col] += sign * gamma[c]
        return G

    def linear_predictors(self, base: FloatArray, gamma: FloatArray, X: FloatArray) -> FloatArray:
        """Per-customer log-parameters ``log theta_j0 + sigma_j gamma_j' x_i``, shape (k, n)."""
        eta: FloatArray = np.log(base)[:, None] + np.einsum("jc,nc->jn", self.slopes(gamma), X)
        return eta

    def bounded_exp(self, eta: FloatArray) -> FloatArray:
        """``exp`` of log-parameters clipped to ``+-200`` (in place; finite likelihood)."""
        out: FloatArray = np.exp(
            np.clip(eta, -_LOG_PARAM_BOUND, _LOG_PARAM_BOUND, out=eta), out=eta
        )
        return out

    def row_params(self, full: FloatArray, X: FloatArray) -> FloatArray:
        """Per-customer natural parameters, shape ``(k, n)``, clipped to ``exp(+-200)``."""
        k = self.n_base
        return self.bounded_exp(self.linear_predictors(full[:k], full[k:], X))

    def chain_rule_sum(
        self, full: FloatArray, P: FloatArray, X: FloatArray, g: FloatArray, weights: FloatArray
    ) -> FloatArray:
        """Weighted sum over rows of the gradient in ``full``, from the per-row gradient
        ``g`` (n, k) in the per-row parameters ``P``.

        With ``h_ij = g_ij P_ij`` (the derivative in ``log P_ij``): ``d ll_i / d theta_j0
        = h_ij / theta_j0`` and ``d ll_i / d gamma_c = sum_j sigma_j h_ij x_ic``, so the
        weighted sum over rows is ``X' (w h)``, one ``(m, k)`` product; the per-row
        gradient in the coefficients is never formed.
        """
        k = self.n_base
        hw = g * P.T
        hw *= weights[:, None]
        out = np.empty(k + len(self.coef_names))
        out[:k] = hw.sum(axis=0) / full[:k]
        xh = np.einsum("nc,nj->cj", X, hw)  # no BLAS (see _identification.wsum)
        for c, col in enumerate(self.coef_column):
            out[k + c] = sum(sign * xh[col, j] for j, sign in self.coef_targets[c])
        return out

    def jacobian_factors(self, full: FloatArray, P: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``d P_ij / d full`` in factored form: ``S[i, j] * (L[j] @ (1, x_i))``.

        A targeted parameter ``P_ij = theta_j0 exp(sigma_j gamma_j' x_i)`` has the
        derivative ``P_ij (e_j / theta_j0 + sum_c sigma_c x_ic e_c)``: the row scale
        ``S[i, j] = P_ij`` times a fixed linear map ``L[j]`` (``K x (1 + columns)``) of
        ``(1, x_i)``; an untargeted one has ``S = 1`` and ``L[j] = e_j``.
        """
        k, K = self.n_base, self.n_base + len(self.coef_names)
        L = np.zeros((k, K, 1 + len(self.columns)))
        targeted = {j for targets in self.coef_targets for j, _ in targets}
        for j in range(k):
            L[j, j, 0] = 1.0 / full[j] if j in targeted else 1.0
        for c, col in enumerate(self.coef_column):
            for j, sign in self.coef_targets[c]:
                L[j, k + c, 1 + col] += sign
        S = np.ones((P.shape[1], k))
        for j in sorted(targeted):
            S[:, j] = P[j]
        return S, L

    def penalty_value(self, gamma: FloatArray) -> tuple[float, FloatArray]:
        lam = np.asarray(self.penalty, dtype=np.float64)
        return float(np.sum(lam * gamma**2)), 2.0 * lam * gamma

    def standardising_transform(
        self, X: FloatArray, weights: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Linear map ``theta = A y`` in which every covariate is centred and scaled.

        Optimising in ``y`` is optimising the same likelihood with covariates
        ``(x - mean) / sd``; the intercepts absorb the centring. The estimate and its
        covariance are reported for the covariates as given.
        """
        k, m = self.n_base, len(self.coef_names)
        total = float(weights.sum())
        mean = weights @ X / total
        sd = np.sqrt(weights @ (X - mean) ** 2 / total)
        sd = np.where(sd > 0, sd, 1.0)
        A = np.eye(k + m)
        for c, col in enumerate(self.coef_column):
            A[k + c, k + c] = 1.0 / sd[col]
            for j, sign in self.coef_targets[c]:
                A[j, k + c] -= sign * mean[col] / sd[col]
        return A, mean


def build_design(
    model_name: str,
    base_names: tuple[str, ...],
    targets: Targets,
    *,
    purchase: Sequence[str],
    dropout: Sequence[str],
    shared: Sequence[str],
    l2_purchase: float,
    l2_dropout: float,
) -> CovariateDesign:
    """Coefficient layout from the covariate names given to the model's constructor."""
    lists = {
        "purchase": _names(purchase, "purchase_covariates"),
        "dropout": _names(dropout, "dropout_covariates"),
        "shared": _names(shared, "shared_covariates"),
    }
    lam_p = check_scalar(l2_purchase, "l2_purchase", low=0.0)
    lam_d = check_scalar(l2_dropout, "l2_dropout", low=0.0)
    used = [c for cols in lists.values() for c in cols]
    if used and not targets:
        raise InvalidDataError(
            f"{model_name} does not take covariates (ParetoNBDModel, BetaGeoModel, "
            "ModifiedBetaGeoModel, BetaGeoBetaBinomModel and ShiftedBetaGeoModel do)"
        )
    for process in ("purchase", "dropout"):
        if lists[process] and not targets.get(process):
            raise InvalidDataError(
                f"{model_name} has no {process} process: name its covariates in "
                + " or ".join(f"{p}_covariates" for p in targets)
            )
    if lists["shared"] and len(targets) < 2:
        raise InvalidDataError(
            f"{model_name} has one process only: shared_covariates needs two; use "
            + " or ".join(f"{p}_covariates" for p in targets)
        )
    for c in lists["shared"]:
        if c in lists["purchase"] or c in lists["dropout"]:
            raise InvalidDataError(
                f"covariate {c!r} is shared and also named for one process: name it once"
            )
    columns = tuple(dict.fromkeys(used))
    names: list[str] = []
    col_of: list[int] = []
    tgt: list[tuple[tuple[int, float], ...]] = []
    proc: list[str] = []
    pen: list[float] = []
    for process, lam in (("purchase", lam_p), ("dropout", lam_d)):
        labels = targets.get(process, ())
        for j, sign, label in labels:
            for c in lists[process]:
                prefix = process if len(labels) == 1 else f"{process}.{label}"
                names.append(f"{prefix}.{c}")
                col_of.append(columns.index(c))
                tgt.append(((j, sign),))
                proc.append(process)
                pen.append(lam)
    all_targets = tuple((j, s) for p in ("purchase", "dropout") for j, s, _ in targets.get(p, ()))
    for c in lists["shared"]:
        names.append(f"shared.{c}")
        col_of.append(columns.index(c))
        tgt.append(all_targets)
        proc.append("shared")
        pen.append(lam_p + lam_d)
    clash = [n for n in names if n in base_names]
    if clash:  # pragma: no cover - base names have no dots
        raise InvalidDataError(f"coefficient name {clash[0]!r} clashes with a parameter")
    return CovariateDesign(
        n_base=len(base_names),
        columns=columns,
        coef_names=tuple(names),
        coef_column=tuple(col_of),
        coef_targets=tuple(tgt),
        coef_process=tuple(proc),
        penalty=tuple(pen),
    )


def _names(values: Sequence[str], option: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    out = tuple(values)
    for v in out:
        if not isinstance(v, str) or not v:
            raise InvalidDataError(f"{option} must be column names (strings), got {plain(v)!r}")
    if len(set(out)) != len(out):
        dup = next(v for v in out if out.count(v) > 1)
        raise InvalidDataError(f"{option} names column {dup!r} twice")
    return out


def covariate_arrays(
    frame: pd.DataFrame, columns: tuple[str, ...], *, what: str
) -> dict[str, FloatArray]:
    """Validated covariate columns: present, numeric (bool allowed), finite.

    A text or categorical column is refused with a hint to encode it; the message names
    the column, the first bad row and its value.
    """
    out: dict[str, FloatArray] = {}
    for c in columns:
        if c not in frame.columns:
            raise InvalidDataError(
                f"{what}: covariate column {c!r} is missing; the model was built with "
                f"covariates {', '.join(repr(x) for x in columns)} and every prediction "
                "uses each customer's own values"
            )
        series = frame[c]
        kind = series.dtype.kind
        if (
            isinstance(series.dtype, pd.CategoricalDtype)
            or kind in "OUSV"
            or (kind not in "biuf" and series.dtype != bool)
        ):
            values = series.to_numpy()
            pos = next(
                (i for i, v in enumerate(values) if not isinstance(v, (int, float, np.number))),
                0,
            )
            raise InvalidDataError(
                f"{what}: covariate column {c!r} must be numeric, found dtype {series.dtype} "
                f"({describe_row(frame.index, pos)} has {c}={plain(values[pos])!r}); encode a "
                "categorical attribute as 0/1 indicator columns (pandas.get_dummies with "
                "drop_first=True)"
            )
        arr = series.to_numpy(dtype=np.float64)
        pos2 = first_bad(~np.isfinite(arr))
        if pos2 is not None:
            raise InvalidDataError(
                f"{what}: covariate column {c!r} must be finite (no NaN or inf); "
                f"{describe_row(frame.index, pos2)} has {c}={plain(arr[pos2])!r}"
            )
        out[COVARIATE_PREFIX + c] = arr
    return out


def covariate_matrix(design: CovariateDesign, data: dict[str, FloatArray]) -> FloatArray:
    """The ``(n, m)`` covariate matrix of ``data`` (cached under ``"_X"`` when fitting)."""
    cached = data.get("_X")
    if cached is not None:
        return cached
    keys = design.keys()
    if not keys:
        return np.zeros((0, 0))
    return np.column_stack([data[k] for k in keys])


def check_identifiable(
    design: CovariateDesign, X: FloatArray, weights: FloatArray, *, what: str
) -> None:
    """Refuse a constant covariate or one that is a linear combination of others.

    Either makes the information matrix singular: the coefficients (and the intercept)
    are not identified.
    """
    rows = weights > 0
    Xw = X[rows]
    for col, c in enumerate(design.columns):
        v = Xw[:, col]
        if v.size and np.all(v == v[0]):
            raise InvalidDataError(
                f"{what}: covariate column {c!r} is constant (every row has {c}="
                f"{plain(v[0])!r}): its coefficient is not identified next to the intercept"
            )
    for process in ("purchase", "dropout"):
        cols = sorted(
            {
                design.coef_column[i]
                for i, p in enumerate(design.coef_process)
                if p in (process, "shared")
            }
        )
        if not cols:
            continue
        M = np.column_stack([np.ones(Xw.shape[0]), Xw[:, cols]])
        M = (M - np.r_[0.0, M[:, 1:].mean(axis=0)]) / np.r_[1.0, M[:, 1:].std(axis=0)]
        # M = QR: the leading columns M[:, :j] have the singular values of R[:j, :j], so
        # one QR of the tall matrix replaces an SVD of it per leading block
        R: FloatArray = np.asarray(np.linalg.qr(M, mode="r"))
        for upto in range(2, M.shape[1] + 1):
            if np.linalg.matrix_rank(R[:upto, :upto], tol=1e-8 * np.sqrt(M.shape[0])) < upto:
                bad = design.columns[cols[upto - 2]]
                others = [design.columns[c] for c in cols[: upto - 2]]
                raise InvalidDataError(
                    f"{what}: covariate column {bad!r} of the {process} process is a linear "
                    f"combination of the intercept{' and ' if others else ''}"
                    f"{', '.join(repr(o) for o in others)} (collinear covariates): the "
                    "information matrix is singular; drop one of them"
                )


_HESSIAN_BLOCK = 65_536  # rows per block of the per-row Jacobians (bounded memory)


def hessian_natural(
    design: CovariateDesign,
    full: FloatArray,
    X: FloatArray,
    weights: FloatArray,
    loglik_grad: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    *,
    base: FloatArray | None = None,
) -> FloatArray:
    """Hessian of ``-sum_i w_i ll_i`` in the full natural vector, from per-row Hessians.

    Every row's log-likelihood depends on the full vector only through its own ``k``
    natural parameters ``P_i`` (``k`` = 4 for the Pareto/NBD however many coefficients
    there are). So ``k + 1`` evaluations of the per-row gradient ``g_i`` (forward
    differences with relative steps of 1e-6 in each ``P_ij``, as the plain Hessian)
    give every row's ``k x k`` Hessian ``H_i``, and the chain rule gives

    .. math::

        \\nabla^2 = \\sum_i w_i \\big(A_i' H_i A_i + \\sum_j g_{ij} \\nabla^2 P_{ij}\\big),
        \\qquad A_i = \\partial P_i / \\partial \\text{full},

    instead of one gradient evaluation per element of the full vector. ``loglik_grad``
    maps per-row parameters ``(k, n)`` to the per-row log-likelihood and its gradient
    ``(n, k)`` in them; ``base``, when known, is that gradient at ``full`` (one
    evaluation fewer). The penalty is not included.
    """
    k = design.n_base
    K = k + len(design.coef_names)
    P = design.row_params(full, X)
    g0 = loglik_grad(P)[1] if base is None else base
    n = g0.shape[0]
    H = np.empty((n, k, k))
    for j in range(k):
        step = 1e-6 * P[j]
        moved = P.copy()
        moved[j] = P[j] + step
        H[:, :, j] = (loglik_grad(moved)[1] - g0) / step[:, None]
    H = 0.5 * (H + H.transpose(0, 2, 1))
    # A_i = S_i L (1, x_i) (design.jacobian_factors), so sum_i w_i A_i' H_i A_i is
    # sum_{j,l} L_j G_jl L_l' with G_jl = sum_i w_i S_ij S_il H_ijl z_i z_i', z_i = (1, x_i):
    # per row one product per pair (j <= l) and per pair of covariates (a <= b)
    S, L = design.jacobian_factors(full, P)
    pairs = [(j, m) for j in range(k) for m in range(j, k)]
    nz = 1 + X.shape[1]
    upper = np.triu_indices(nz)
    G = np.zeros((len(pairs), upper[0].size))
    total = np.zeros((K, K))
    for lo in range(0, n, _HESSIAN_BLOCK):
        rows = slice(lo, min(n, lo + _HESSIAN_BLOCK))
        w = weights[rows]
        Z = np.empty((w.size, nz))
        Z[:, 0] = 1.0
        Z[:, 1:] = X[rows]
        V = np.column_stack([w * S[rows, j] * S[rows, m] * H[rows, j, m] for j, m in pairs])
        ZZ = Z[:, upper[0]] * Z[:, upper[1]]
        G += np.einsum("np,nq->pq", V, ZZ)  # no BLAS (see _identification.wsum)
        # second derivatives of the targeted P_ij = theta_j0 exp(sign gamma' x_i)
        gw = g0[rows] * w[:, None]
        for j in range(k):
            cols = [
                (c, sign)
                for c in range(len(design.coef_names))
                for jj, sign in design.coef_targets[c]
                if jj == j
            ]
            if not cols:
                continue
            idx = np.array([k + c for c, _ in cols])
            V = np.column_stack([sign * X[rows, design.coef_column[c]] for c, sign in cols])
            pg = gw[:, j] * P[j, rows]
            total[np.ix_(idx, idx)] += np.einsum("n,na,nb->ab", pg, V, V)
            cross = np.einsum("n,na->a", pg, V) / full[j]
            total[j, idx] += cross
            total[idx, j] += cross
    for p, (j, m) in enumerate(pairs):
        Gjm = np.zeros((nz, nz))
        Gjm[upper] = G[p]
        Gjm = Gjm + np.triu(Gjm, 1).T
        block = L[j] @ Gjm @ L[m].T
        total += block if j == m else block + block.T
    return np.asarray(-(total + total.T) / 2.0, dtype=np.float64)


def refuse_without_data(model_name: str, design: CovariateDesign, method: str) -> None:
    """A covariate model's new-customer quantity needs the customers' covariates."""
    if design.columns:
        raise InvalidDataError(
            f"{model_name}.{method}: the model has covariates "
            f"({', '.join(repr(c) for c in design.columns)}), so the result depends on "
            "them: pass data with one row per customer and those columns"
        )
