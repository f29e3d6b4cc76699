"""Piecewise Chebyshev interpolation of a smooth, costly function of one variable (private).

Used where one expensive function is needed at very many points of an interval: the
BG/NBD expectation of an alive customer depends, for one frequency, only on
``kappa = t / (alpha + T)``, and a CLV horizon of thousands of steps asks for it at
millions of ``kappa`` values, each a ``hyp2f1`` that slows down as ``kappa`` grows.

The interval is split into panels until, on each panel, the degree-24 interpolant in the
Chebyshev points of the first kind

* has coefficients that have decayed below the tolerance (the usual a-priori sign of
  convergence, Trefethen 2013, chapters 3 and 8), and
* agrees within the tolerance with the function itself at the 24 points halfway between
  the nodes (an a-posteriori check with fresh evaluations).

A panel that cannot meet both with a width above ``min_width``, a non-finite value, or
more evaluations than ``max_evals`` abandons the approximation (``None``): the caller
then evaluates the function directly, so nothing is ever returned less accurate than the
tolerance at every checked point.

References
----------
Trefethen, L. N. (2013). *Approximation Theory and Approximation Practice*. SIAM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from customer_value._validation import FloatArray

__all__ = ["PiecewiseChebyshev", "fit_piecewise_chebyshev"]

DEGREE = 24
_K = np.arange(DEGREE + 1, dtype=np.float64)
# first-kind Chebyshev points, and the points halfway between neighbouring ones (in angle)
_NODES = np.cos(np.pi * (_K + 0.5) / (DEGREE + 1))
_CHECKS = np.cos(np.pi * (_K[1:]) / (DEGREE + 1))
# T_k(node_j): the interpolant's coefficients are a discrete cosine transform of the values
_BASIS = np.cos(np.outer(_K, np.pi * (_K + 0.5) / (DEGREE + 1)))


@dataclass(frozen=True)
class PiecewiseChebyshev:
    """Panels ``[edges[i], edges[i+1]]``, each with Chebyshev coefficients ``coef[i]``."""

    edges: FloatArray
    coef: FloatArray

    def __call__(self, u: FloatArray) -> FloatArray:
        """The interpolant at ``u`` (points outside the interval use the end panels)."""
        panel = np.clip(np.searchsorted(self.edges, u, side="right") - 1, 0, len(self.coef) - 1)
        lo, hi = self.edges[panel], self.edges[panel + 1]
        y = (2.0 * u - (lo + hi)) / (hi - lo)
        # Clenshaw's recurrence, gathering each point's coefficient of degree k
        b1 = np.zeros_like(y)
        b2 = np.zeros_like(y)
        two_y = 2.0 * y
        for k in range(DEGREE, 0, -1):
            b1, b2 = two_y * b1 - b2 + self.coef[panel, k], b1
        out: FloatArray = y * b1 - b2 + self.coef[panel, 0]
        return out


def _coefficients(values: FloatArray) -> FloatArray:
    coef: FloatArray = (2.0 / (DEGREE + 1)) * (_BASIS @ values)
    coef[0] /= 2.0
    return coef


def fit_piecewise_chebyshev(
    f: Callable[[FloatArray], FloatArray],
    lo: float,
    hi: float,
    *,
    atol: float,
    min_width: float,
    max_evals: int,
) -> PiecewiseChebyshev | None:
    """Approximate ``f`` on ``[lo, hi]`` to ``atol`` (absolute), or ``None``.

    ``f`` is called on arrays of points and must return finite values; the interval is
    bisected until every panel passes the coefficient-decay and midpoint checks (module
    docstring). ``None`` when a value is not finite, a panel narrower than ``min_width``
    still fails, or more than ``max_evals`` evaluations would be needed.
    """
    panels: list[tuple[float, float, FloatArray]] = []
    pending = [(lo, hi)]
    evals = 0
    while pending:
        a, b = pending.pop()
        evals += 2 * DEGREE + 1
        if evals > max_evals:
            return None
        half, mid = 0.5 * (b - a), 0.5 * (a + b)
        values = f(mid + half * _NODES)
        if not np.all(np.isfinite(values)):
            return None
        coef = _coefficients(values)
        good = bool(np.max(np.abs(coef[-3:])) <= atol)
        if good:
            probe = PiecewiseChebyshev(np.array([a, b]), coef[None, :])
            points = mid + half * _CHECKS
            exact = f(points)
            if not np.all(np.isfinite(exact)):
                return None
            good = bool(np.max(np.abs(probe(points) - exact)) <= atol)
        if good:
            panels.append((a, b, coef))
        elif b - a < min_width:
            return None
        else:
            pending += [(a, mid), (mid, b)]
    panels.sort(key=lambda p: p[0])
    edges = np.array([p[0] for p in panels] + [panels[-1][1]])
    return PiecewiseChebyshev(edges, np.array([p[2] for p in panels]))
