"""Coverage by simulation: covariate parameter recovery and per-customer intervals.

Two Monte-Carlo checks (issue 15), too slow for the test suite at these replication
counts (the tests run 20 replications of the first):

1. **Parameter recovery with covariates.** ``RECOVERY_SEEDS`` data sets of 800
   customers each, simulated from a Pareto/NBD and a BG/NBD with one binary covariate
   in each process (the truths of ``tests/clv/test_covariates.py``); each is fitted and
   the 95% Wald interval of every parameter checked against the truth. Prints the
   coverage per parameter and the mean estimate minus the truth.
2. **Interval coverage.** ``INTERVAL_REPS`` data sets of 2,000 customers simulated from
   the published CDNOW BG/NBD parameters over 39 weeks; for five customer histories the
   90% interval of ``E[Y(39)]`` (delta method and parametric bootstrap with 200 draws)
   is checked against the expectation under the true parameters. Target 87-93%.

Usage: ``python benchmarks/coverage_covariates.py [recovery_seeds] [interval_reps]``
(defaults 200 and 300). Not run by ``make bench`` (it takes tens of minutes).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

from customer_value.clv import BetaGeoModel, ParetoNBDModel, prediction_intervals

RECOVERY_SEEDS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
INTERVAL_REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 300
SPEC = {"purchase_covariates": ["g"], "dropout_covariates": ["g"]}
TRUTHS: list[tuple[type[Any], dict[str, float]]] = [
    (
        ParetoNBDModel,
        {"r": 0.8, "alpha": 8.0, "s": 0.9, "beta": 10.0, "purchase.g": 0.6, "dropout.g": -0.5},
    ),
    (
        BetaGeoModel,
        {
            "r": 0.8,
            "alpha": 8.0,
            "a": 0.8,
            "b": 2.5,
            "purchase.g": 0.6,
            "dropout.a.g": 0.7,
            "dropout.b.g": -0.4,
        },
    ),
]


def recovery(seeds: int) -> None:
    for cls, truth in TRUTHS:
        generator = cls.from_params(**SPEC, **truth)
        hits = dict.fromkeys(truth, 0)
        estimates: dict[str, list[float]] = {k: [] for k in truth}
        failed = 0
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            cov = pd.DataFrame({"g": rng.integers(0, 2, 800).astype(float)})
            sim = generator.simulate(800, 40.0, random_state=rng, covariates=cov)
            try:
                fitted = cls(**SPEC).fit(sim.assign(g=cov["g"].to_numpy()))
            except Exception:  # a boundary fit on an unlucky sample counts as a miss
                failed += 1
                continue
            ci = fitted.confidence_intervals(0.95)
            for k, v in truth.items():
                hits[k] += int(ci.loc[k, "ci_lower"] <= v <= ci.loc[k, "ci_upper"])
                estimates[k].append(float(fitted.params_[k]))
        print(f"\n{cls.__name__}: 95% Wald intervals over {seeds} data sets of 800 customers")
        if failed:
            print(f"  ({failed} fits refused as boundary fits; counted as misses)")
        print(f"  {'parameter':<14}{'truth':>8}{'coverage':>10}{'bias':>9}{'MC s.e.':>9}")
        for k, v in truth.items():
            est = np.asarray(estimates[k])
            bias = est.mean() - v
            print(
                f"  {k:<14}{v:>8.3f}{hits[k] / seeds:>10.3f}{bias:>9.3f}"
                f"{est.std() / math.sqrt(est.size):>9.3f}"
            )


def intervals(reps: int) -> None:
    truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    profiles = pd.DataFrame(
        {"frequency": [0, 1, 2, 5, 10], "recency": [0, 10.0, 30.0, 35.0, 38.0], "T": [39.0] * 5}
    )
    target = truth.expected_purchases(39, profiles).to_numpy()
    hits = {"delta": np.zeros(5), "bootstrap": np.zeros(5)}
    for rep in range(reps):
        sim = truth.simulate(2000, 39.0, random_state=1000 + rep)
        fitted = BetaGeoModel().fit(sim)
        for method, count in hits.items():
            out = prediction_intervals(
                fitted, profiles, t=39, method=method, n_draws=200, random_state=rep
            )
            count += (out["lower"].to_numpy() <= target) & (target <= out["upper"].to_numpy())
    print(f"\nBG/NBD (CDNOW parameters), 90% intervals of E[Y(39)], {reps} replications")
    for method, count in hits.items():
        print(
            f"  {method:<10} covered {', '.join(f'{int(h)}' for h in count)} of {reps} at "
            f"histories x=0,1,2,5,10 (pooled {count.sum() / (5 * reps):.3f}; target 0.87-0.93)"
        )


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"load average {os.getloadavg()[0]:.1f}")
    if RECOVERY_SEEDS:
        recovery(RECOVERY_SEEDS)
    if INTERVAL_REPS:
        intervals(INTERVAL_REPS)


if __name__ == "__main__":
    main()
