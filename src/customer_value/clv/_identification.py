"""Boundary and identification checks of a maximum-likelihood fit (private).

After the optimiser stops, :meth:`IdentificationChecks._check_identified` probes the
log-likelihood along the flattest direction of the Hessian: a likelihood still rising
(or flat) towards the edge of the parameter space raises
:class:`~customer_value.errors.ConvergenceError`, a barely identified interior maximum
warns with :class:`~customer_value.errors.CustomerValueWarning`.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from customer_value._validation import FloatArray
from customer_value.clv._core import Data, ModelCore
from customer_value.errors import ConvergenceError, CustomerValueWarning

if TYPE_CHECKING:  # scipy.optimize is imported where used (issue 20)
    from scipy import optimize

__all__ = ["IdentificationChecks", "wsum", "wsum_rows"]

_FLAT_FACTOR = math.log(100.0)  # probe: move the most-moved parameter by a factor of 100
_FLAT_RISING = 0.05  # log-likelihood lost over that move: below it, still rising (boundary)
# 1.92 = chi2(1).ppf(0.95) / 2 (scipy.special, not scipy.stats: import time): below it,
# inside the 95% LR region
_FLAT_LR = 0.5 * float(special.chdtri(1, 0.05))
_FLAT_CURVATURE = 1.0  # smallest log-scale Hessian eigenvalue below which the probe runs


def wsum(weights: FloatArray, values: FloatArray) -> float:
    """Weighted sum without BLAS: multi-threaded BLAS spins badly on a busy machine."""
    return float(np.sum(weights * values))


def wsum_rows(weights: FloatArray, values: FloatArray) -> FloatArray:
    """Weighted column sums of an (n, k) array, without BLAS (see :func:`wsum`)."""
    out: FloatArray = np.einsum("i,ij->j", weights, values)
    return out


class IdentificationChecks(ModelCore):
    """The flat-likelihood probe run on the Hessian of a fit (private)."""

    def _check_identified(
        self,
        params: FloatArray,
        hess: FloatArray,
        data: Data,
        weights: FloatArray,
        result: optimize.OptimizeResult | None,
    ) -> None:
        """Raise or warn when the likelihood is flat along some direction of ``log(params)``.

        The flattest direction ``v`` is the eigenvector of the smallest eigenvalue of the
        Hessian in log parameters (``D H D``, ``D = diag(params)``); when that eigenvalue
        is below 1 (a quadratic drop of less than 10 over the probe), the log-likelihood
        is evaluated where the most-moved parameter has changed by a factor of 100 along
        ``±v`` (and along ``v`` with its small components set to 0, which is the exact
        ridge when the eigenvector is blurred by rounding). With the other parameters
        held fixed this bounds the profile likelihood from below, so a small loss proves
        the data cannot tell the estimate from values 100 times larger or smaller:

        * a loss below 0.05 - the likelihood is flat or still rising towards the edge of
          the parameter space (a boundary fit, such as BG/NBD's ``a, b -> inf`` with
          ``a/(a+b)`` fixed): :class:`~customer_value.errors.ConvergenceError`;
        * a loss below 1.92 (half the 95% chi-square(1) quantile): the 95% likelihood-ratio
          region spans two orders of magnitude, the Wald intervals are meaningless:
          :class:`~customer_value.errors.CustomerValueWarning`.

        Both messages name the parameters involved and what the data do identify. With
        covariates the check runs on the model's own parameters, coefficients held fixed.
        """
        full = params
        k = len(self._param_names)
        params, hess = full[:k], hess[:k, :k]
        scaled = hess * np.outer(params, params)
        try:
            eig, vec = np.linalg.eigh(scaled)
        except np.linalg.LinAlgError:  # pragma: no cover - checked positive definite above
            return
        if not (np.isfinite(eig[0]) and eig[0] < _FLAT_CURVATURE):
            return
        v = vec[:, 0] / np.max(np.abs(vec[:, 0]))
        candidates = [v, np.where(np.abs(v) >= 0.25, np.sign(v), 0.0)]
        # At a boundary fit the Hessian is mostly rounding error: also probe the direction
        # in which the parameters that are already far out keep going.
        far = np.abs(np.log(params)) > math.log(1e3)
        if far.any():
            candidates.append(np.where(far, np.sign(np.log(params)), 0.0))
        theta = np.log(params)
        base = wsum(weights, self._full_loglik(full, data))
        worst: tuple[float, float, FloatArray] | None = None  # (loss, sign, direction)
        for direction in candidates:
            for sign in (1.0, -1.0):
                moved = np.exp(theta + sign * _FLAT_FACTOR * direction)
                with np.errstate(all="ignore"):
                    value = wsum(weights, self._full_loglik(np.r_[moved, full[k:]], data))
                loss = base - value if np.isfinite(value) else math.inf
                if worst is None or loss < worst[0]:
                    worst = (loss, sign, direction)
        if worst is None or worst[0] >= _FLAT_LR:
            return
        loss, sign, direction = worst
        name = type(self).__name__
        moves, identified = self._describe_flat(params, direction, sign)
        if loss < _FLAT_RISING:
            raise ConvergenceError(
                f"{name}.fit: the log-likelihood is still rising (or flat) towards the edge of "
                f"the parameter space: {moves} changes it by only {loss:.2g}, so the estimate "
                f"({self._describe_params_of(full)}) is a boundary fit, not a maximum; "
                f"{identified}. More customers, a longer observation period or more repeat "
                "purchases can identify the model",
                result=result,
            )
        warnings.warn(
            f"{name}.fit: the data barely identify the parameters: {moves} changes the "
            f"log-likelihood by only {loss:.2g} (< 1.92, the 95% likelihood-ratio cutoff), so "
            f"the standard errors and confidence intervals of those parameters are not "
            f"reliable; {identified}",
            CustomerValueWarning,
            stacklevel=4,
        )

    def _describe_flat(
        self, params: FloatArray, direction: FloatArray, sign: float
    ) -> tuple[str, str]:
        """Words for "moving along ``sign * direction``" and for what the data identify."""
        names = self._param_names
        moving = [i for i in range(len(names)) if abs(direction[i]) >= 0.25]
        verbs = [
            f"{'multiplying' if sign * direction[i] > 0 else 'dividing'} {names[i]!r}"
            for i in moving
        ]
        moves = " and ".join(verbs) + " by up to 100"
        same_sign = len({bool(direction[i] > 0) for i in moving}) == 1
        if len(moving) == 1:
            identified = f"{names[moving[0]]!r} is not identified by these data"
        elif len(moving) == 2:
            i, j = moving
            if same_sign:
                value = float(params[i] / params[j])
                identified = f"only the ratio {names[i]}/{names[j]} = {value:.4g} is identified"
            else:
                value = float(params[i] * params[j])
                identified = f"only the product {names[i]}*{names[j]} = {value:.4g} is identified"
        else:
            identified = "only combinations across that direction are identified"
        hint = self._flat_hints.get(frozenset(names[i] for i in moving))
        if hint is not None and same_sign:
            identified += f" ({hint})"
        return moves, identified
