"""Sample size, power and minimum detectable effect for proportions and means."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from customer_value._validation import check_scalar
from customer_value.errors import InvalidDataError

__all__ = [
    "PowerAnalysis",
    "mde_means",
    "mde_proportions",
    "sample_size_means",
    "sample_size_proportions",
]


@dataclass(frozen=True)
class PowerAnalysis:
    """A sample size or a minimum detectable effect, with the settings behind it.

    Attributes
    ----------
    n_treatment, n_control : int
        Customers per group (rounded up when solved for).
    effect : float
        Absolute effect on the outcome scale (uplift in rate, or difference of means).
    effect_size : float
        Standardised effect: Cohen's *h* for proportions, Cohen's *d* for means.
    alpha, power : float
        Two-sided significance level and power.

    Examples
    --------
    >>> from customer_value.experiment import sample_size_proportions
    >>> sample_size_proportions(0.10, 0.02, ratio=0.25).total  # a 20% hold-out
    11984
    """

    n_treatment: int
    n_control: int
    effect: float
    effect_size: float
    alpha: float
    power: float

    def __repr__(self) -> str:
        return (
            f"PowerAnalysis(n_treatment={self.n_treatment}, n_control={self.n_control}, "
            f"effect={self.effect:.4g}, effect_size={self.effect_size:.4f}, "
            f"alpha={self.alpha:g}, power={self.power:g})"
        )

    @property
    def total(self) -> int:
        """Customers in both groups."""
        return self.n_treatment + self.n_control


def _rate(value: float, name: str) -> float:
    """A probability strictly inside (0, 1)."""
    return check_scalar(value, name, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)


def _settings(alpha: float, power: float, ratio: float) -> tuple[float, float, float]:
    a, p = _rate(alpha, "alpha"), _rate(power, "power")
    if p <= a:
        raise InvalidDataError(f"power ({p:g}) must exceed alpha ({a:g})")
    r = check_scalar(ratio, "ratio", low=0.0, low_inclusive=False)
    return a, p, r


def _effect(value: float, name: str) -> float:
    """The effect to detect: finite and non-zero."""
    effect = check_scalar(value, name)
    if effect == 0:
        raise InvalidDataError(f"{name} must not be 0: no sample size detects no effect")
    return effect


def _analysis(
    n_treatment: int, ratio: float, effect: float, size: float, alpha: float, power: float
) -> PowerAnalysis:
    """The result, with ``n_control = ceil(ratio x n_treatment)``."""
    return PowerAnalysis(
        n_treatment, math.ceil(n_treatment * ratio - 1e-9), effect, size, alpha, power
    )


def _normal_power(h: float, n1: float, ratio: float, alpha: float) -> float:
    """Two-sided power of a z test with standardised effect ``h`` (Cohen 1988, ch. 6)."""
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    crit = stats.norm.isf(alpha / 2)
    shift = abs(h) * math.sqrt(n1 * ratio / (1 + ratio))
    return float(stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift))


def _t_power(d: float, n1: float, ratio: float, alpha: float) -> float:
    """Two-sided power of the two-sample t test (noncentral t; Cohen 1988, ch. 2)."""
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s to import

    n2 = n1 * ratio
    df = n1 + n2 - 2
    nc = abs(d) * math.sqrt(n1 * n2 / (n1 + n2))
    crit = stats.t.isf(alpha / 2, df)
    value = float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))
    if not np.isfinite(value):  # scipy's nct fails far in the tail, where power is ~1
        return _normal_power(d, n1, ratio, alpha)
    return min(1.0, value)


def _cohen_h(p1: float, p2: float) -> float:
    return float(2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2)))


def _solve_n(power_of_n: Callable[[float], float], target: float, low: float) -> float:
    from scipy import optimize  # deferred with scipy.stats

    def f(n: float) -> float:
        return power_of_n(n) - target

    if f(low) >= 0:
        return low
    high = max(low * 2, 10.0)
    while f(high) < 0:
        high *= 2
        if high > 1e13:
            raise InvalidDataError("the effect is too small to detect with any sample size")
    return float(optimize.brentq(f, low, high, xtol=1e-10, rtol=1e-12))


def sample_size_proportions(
    baseline: float,
    uplift: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> PowerAnalysis:
    """Customers needed to detect an absolute uplift in a conversion or retention rate.

    Parameters
    ----------
    baseline : float
        Expected control rate, in (0, 1).
    uplift : float
        Absolute uplift to detect (``0.02`` = two points), with ``baseline + uplift`` in
        (0, 1); non-zero.
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
        Probability of detecting the uplift when it is real.
    ratio : float, default 1.0
        ``n_control / n_treatment``; a small hold-out has ``ratio < 1``.

    Returns
    -------
    PowerAnalysis
        ``n_treatment`` (rounded up) and ``n_control = ceil(ratio x n_treatment)``.

    Raises
    ------
    InvalidDataError
        Rates outside (0, 1), zero uplift, levels out of range.

    Notes
    -----
    Normal approximation on Cohen's arcsine effect size
    :math:`h = 2\\arcsin\\sqrt{p_1} - 2\\arcsin\\sqrt{p_0}`; the power of the two-sided
    test with :math:`n_1` and :math:`n_2 = r n_1` customers is
    :math:`\\Phi(|h|\\sqrt{n_1 r/(1+r)} - z_{1-\\alpha/2}) +
    \\Phi(-|h|\\sqrt{n_1 r/(1+r)} - z_{1-\\alpha/2})`, solved for :math:`n_1`
    (Cohen 1988, ch. 6; as ``statsmodels``' ``NormalIndPower``).

    References
    ----------
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences* (2nd ed.).
    Lawrence Erlbaum.

    Examples
    --------
    >>> from customer_value.experiment import sample_size_proportions
    >>> plan = sample_size_proportions(0.10, 0.02)
    >>> plan.n_treatment, plan.n_control
    (3835, 3835)
    """
    a, p, r = _settings(alpha, power, ratio)
    p0, lift = _rate(baseline, "baseline"), _effect(uplift, "uplift")
    _rate(p0 + lift, "baseline + uplift")
    h = _cohen_h(p0 + lift, p0)
    n1 = _solve_n(lambda n: _normal_power(h, n, r, a), p, 1e-6)
    return _analysis(math.ceil(n1 - 1e-9), r, lift, h, a, p)


def mde_proportions(
    baseline: float,
    n_treatment: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> PowerAnalysis:
    """Smallest absolute uplift over ``baseline`` detectable with the given groups.

    Parameters
    ----------
    baseline : float
        Control rate, in (0, 1).
    n_treatment : int
        Treated customers (control: ``ratio x n_treatment``).
    alpha, power, ratio
        As in :func:`sample_size_proportions`.

    Returns
    -------
    PowerAnalysis
        ``effect`` is the minimum detectable (positive) uplift.

    Raises
    ------
    InvalidDataError
        Values out of range, or no uplift within (0, 1 - baseline) is detectable.

    Examples
    --------
    >>> from customer_value.experiment import mde_proportions
    >>> round(mde_proportions(0.10, 3835).effect, 4)
    0.02
    """
    a, p, r = _settings(alpha, power, ratio)
    p0, n1 = _rate(baseline, "baseline"), check_scalar(n_treatment, "n_treatment", low=1.0)
    h_max = _cohen_h(1.0, p0)
    if _normal_power(h_max, n1, r, a) < p:
        raise InvalidDataError(
            f"with {n1:g} treated customers no uplift over {p0:g} reaches power {p:g}"
        )
    from scipy import optimize  # deferred with scipy.stats

    h = float(optimize.brentq(lambda x: _normal_power(x, n1, r, a) - p, 1e-12, h_max, xtol=1e-14))
    p1 = float(np.sin(h / 2 + np.arcsin(np.sqrt(p0))) ** 2)
    return _analysis(int(n1), r, p1 - p0, h, a, p)


def sample_size_means(
    std: float,
    difference: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> PowerAnalysis:
    """Customers needed to detect a difference in mean revenue (two-sample t test).

    Parameters
    ----------
    std : float
        Standard deviation of the outcome per customer (from past data), > 0.
    difference : float
        Difference of means to detect, non-zero.
    alpha, power, ratio
        As in :func:`sample_size_proportions`.

    Returns
    -------
    PowerAnalysis
        Group sizes; ``effect_size`` is Cohen's :math:`d = \\text{difference}/\\text{std}`.

    Raises
    ------
    InvalidDataError
        Values out of range.

    Notes
    -----
    Power of the two-sided two-sample t test from the noncentral t distribution with
    :math:`n_1 + n_2 - 2` degrees of freedom and noncentrality
    :math:`d\\sqrt{n_1 n_2/(n_1+n_2)}` (Cohen 1988, ch. 2; as ``statsmodels``'
    ``TTestIndPower``), solved for :math:`n_1`. Heavy-tailed spend needs more customers
    than this suggests; see :func:`compare_means` for the bootstrap check.

    Examples
    --------
    >>> from customer_value.experiment import sample_size_means
    >>> sample_size_means(std=40.0, difference=5.0).n_treatment
    1006
    """
    a, p, r = _settings(alpha, power, ratio)
    sd = check_scalar(std, "std", low=0.0, low_inclusive=False)
    diff = _effect(difference, "difference")
    d = diff / sd
    n1 = _solve_n(lambda n: _t_power(d, n, r, a), p, max(2.0, 3.0 / (1 + r)))
    return _analysis(math.ceil(n1 - 1e-9), r, diff, d, a, p)


def mde_means(
    std: float,
    n_treatment: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> PowerAnalysis:
    """Smallest difference of means detectable with the given groups.

    Parameters
    ----------
    std : float
        Standard deviation of the outcome per customer, > 0.
    n_treatment : int
        Treated customers, >= 2.
    alpha, power, ratio
        As in :func:`sample_size_proportions`.

    Returns
    -------
    PowerAnalysis
        ``effect`` is the minimum detectable difference, ``effect_size`` Cohen's *d*.

    Raises
    ------
    InvalidDataError
        Values out of range.

    Examples
    --------
    >>> from customer_value.experiment import mde_means
    >>> round(mde_means(40.0, 1006).effect, 2)
    5.0
    """
    a, p, r = _settings(alpha, power, ratio)
    sd = check_scalar(std, "std", low=0.0, low_inclusive=False)
    n1 = check_scalar(n_treatment, "n_treatment", low=2.0)
    if n1 * (1 + r) <= 2:
        raise InvalidDataError("the two groups need more than 2 customers together")
    high = 1.0
    while _t_power(high, n1, r, a) < p:
        high *= 2
    from scipy import optimize  # deferred with scipy.stats

    d = float(optimize.brentq(lambda x: _t_power(x, n1, r, a) - p, 1e-12, high, xtol=1e-14))
    return _analysis(int(n1), r, d * sd, d, a, p)
