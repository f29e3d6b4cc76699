"""Covariate Pareto/NBD fit and per-customer intervals, ours vs pymc-marketing.

Data: customers simulated from a Pareto/NBD with 5 normal covariates (sd 0.5) in each
process (``alpha_i = alpha exp(-g_p' x)``, ``beta_i = beta exp(-g_d' x)``; the same
convention in both libraries), r=0.55, alpha=10.58, s=0.61, beta=11.67, T uniform on a
daily grid over 52 weeks.

Anchor: pymc-marketing's ``ParetoNBDModel`` with ``purchase_covariate_cols`` /
``dropout_covariate_cols`` and ``fit(method="map")`` on a 10,000-customer subset (same
rows as ours). pymc-marketing (with PyMC, PyTensor, ArviZ: about 800 MB) is not part of
the dev extra: install it in a separate environment and point ``PYMC_PYTHON`` at its
interpreter (``python -m venv .bench-pymc && .bench-pymc/bin/pip install pymc-marketing``;
the default is ``.bench-pymc/bin/python``). Without it the anchor column is empty.
MAP with pymc-marketing's weak default priors is close to, not equal to, the MLE.

Usage: ``python benchmarks/bench_covariates.py [scale] [coverage_reps] [paths]``; ``scale``
(default 1) multiplies the 1,000,000 customers of the large fit and of the intervals;
``coverage_reps`` (default 0) runs the interval-coverage simulation (issue 15: 90%
intervals of E[Y(39)] contain the true expectation in 87-93% of replications); ``paths``
(default ``numba,numpy``) which paths time the covariate Pareto/NBD fit and intervals.

Targets (issue 15): fit 1M customers x 5+5 covariates <= 10 s; intervals for 1M
customers x 200 draws <= 10 s with bounded memory, for the plain BG/NBD and for the
covariate Pareto/NBD (its bootstrap needs two hypergeometric evaluations per customer
and draw; the delta method 29 evaluations per customer). Peak memory is the resident
memory above the level before the call (sampled every 5 ms).

Two paths: with numba installed (the ``[fast]`` extra, part of the dev extra) the
covariate Pareto/NBD fit and intervals run in compiled kernels; the numpy path is what a plain
``pip install customer-value`` runs. Both are timed (``CUSTOMER_VALUE_NUMBA=0`` selects
numpy), and so is the compiled path's first call: with an empty numba cache (the
compilation, in a fresh process) and with the kernels already cached on disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import table, timed, timed_peak

from customer_value.clv import BetaGeoModel, ParetoNBDModel, prediction_intervals
from customer_value.clv._accelerate import accelerated

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
COVERAGE_REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 0
# "numba,numpy" (default: both where numba is installed) or one of them
PATHS = sys.argv[3].split(",") if len(sys.argv) > 3 else ["numba", "numpy"]
N_BIG = max(int(1_000_000 * SCALE), 2_000)
N_ANCHOR = 10_000
NAMES = [f"x{i}" for i in range(5)]
SPEC = {"purchase_covariates": NAMES, "dropout_covariates": NAMES}
COEF = {
    **{f"purchase.{c}": v for c, v in zip(NAMES, [0.3, -0.2, 0.1, 0.0, 0.25], strict=True)},
    **{f"dropout.{c}": v for c, v in zip(NAMES, [-0.3, 0.2, 0.0, 0.1, -0.15], strict=True)},
}
BASE = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}


def simulated(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)) * 0.5, columns=NAMES)
    generator = ParetoNBDModel.from_params(**SPEC, **BASE, **COEF)
    T = rng.integers(1, 365, size=n) / 7.0
    sim = generator.simulate(n, T, random_state=seed + 1, covariates=X)
    assert isinstance(sim, pd.DataFrame)
    return pd.concat([sim[["frequency", "recency", "T"]], X], axis=1)


def anchor_fit(data: pd.DataFrame) -> dict[str, float] | None:
    python = os.environ.get("PYMC_PYTHON", ".bench-pymc/bin/python")
    if not Path(python).exists():
        return None
    script = Path(__file__).with_name("_pymc_anchor.py")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        data.assign(customer_id=np.arange(len(data))).to_csv(path, index=False)
        done = subprocess.run(
            [python, str(script), str(path)], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        print(f"pymc-marketing anchor failed: {done.stderr[-500:]}")
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def coverage(reps: int) -> str:
    truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    profiles = pd.DataFrame(
        {"frequency": [0, 1, 2, 5, 10], "recency": [0, 10.0, 30.0, 35.0, 38.0], "T": [39.0] * 5}
    )
    target = truth.expected_purchases(39, profiles).to_numpy()
    lines = []
    for method in ("delta", "bootstrap"):
        hits = np.zeros(5)
        for rep in range(reps):
            sim = truth.simulate(2000, 39.0, random_state=1000 + rep)
            out = prediction_intervals(
                BetaGeoModel().fit(sim), profiles, t=39, method=method, random_state=rep
            )
            hits += (out["lower"].to_numpy() <= target) & (target <= out["upper"].to_numpy())
        lines.append(
            f"{method}: 90% intervals of E[Y(39)] cover the truth in "
            f"{', '.join(f'{int(h)}/{reps}' for h in hits)} replications at 5 customer "
            f"histories (pooled {hits.sum() / (5 * reps):.3f}; target 0.87-0.93)"
        )
    return "\n".join(lines)


_FIRST_CALL = """
import sys, time, warnings
import pandas as pd
from customer_value.clv import ParetoNBDModel, prediction_intervals
warnings.simplefilter("ignore")
model = ParetoNBDModel.load(sys.argv[1])
data = pd.read_csv(sys.argv[2])
start = time.perf_counter()
prediction_intervals(model, data, t=39, method="bootstrap", n_draws=200, random_state=0)
print(time.perf_counter() - start)
"""


def first_calls(fitted: ParetoNBDModel, data: pd.DataFrame) -> list[tuple[str, float, None, str]]:
    """The compiled path's first call on 2,000 customers x 200 draws in a fresh process:
    with an empty numba cache (compilation) and with the cache on disk; then warm."""
    rows: list[tuple[str, float, None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        model_path, data_path = Path(tmp) / "model.json", Path(tmp) / "data.csv"
        fitted.save(model_path)
        data.to_csv(data_path, index=False)
        # the second run with the default cache finds every kernel on disk
        runs = [("no cache: compile", str(Path(tmp) / "numba")), ("", None), ("cached", None)]
        for label, cache in runs:
            env = {**os.environ, "CUSTOMER_VALUE_NUMBA": "1"}
            if cache is not None:
                env["NUMBA_CACHE_DIR"] = cache
            done = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL, str(model_path), str(data_path)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            seconds = float(done.stdout.strip().splitlines()[-1])
            if label:
                rows.append((f"1st call, {label} [numba], 2k x 200", seconds, None, "once"))
    s, _ = timed(
        lambda: prediction_intervals(
            fitted, data, t=39, method="bootstrap", n_draws=200, random_state=0
        ),
        repeat=3,
    )
    rows.append(("warm call [numba], 2k x 200", s, None, "-"))
    return rows


def _memory(mb: float | None) -> str:
    peak = "peak n/a" if mb is None else f"peak +{mb:,.0f} MB"
    return f"<= 10 s; {peak}"


def main() -> None:
    warnings.simplefilter("ignore")
    rows: list[tuple[str, float, float | None, str]] = []
    small = simulated(N_ANCHOR, seed=0)
    ours_s, ours = timed(lambda: ParetoNBDModel(**SPEC).fit(small))
    anchor = anchor_fit(small)
    rows.append(
        (
            f"Pareto/NBD 5+5 covariates fit, {N_ANCHOR:,} customers",
            ours_s,
            None if anchor is None else anchor["seconds"],
            "ratio vs pymc-marketing MAP",
        )
    )
    if anchor is not None:
        ours_coef = ours.params_[list(COEF)].to_numpy()
        theirs = np.array(anchor["purchase"] + anchor["dropout"])
        print(
            f"largest coefficient difference MLE vs MAP: {np.max(np.abs(ours_coef - theirs)):.3f}"
        )
    big = simulated(N_BIG, seed=2)
    paths = [p for p in PATHS if p == "numpy" or accelerated()]
    fits: dict[str, ParetoNBDModel] = {}
    for path in paths:
        os.environ["CUSTOMER_VALUE_NUMBA"] = "1" if path == "numba" else "0"
        big_s, fits[path] = timed(lambda: ParetoNBDModel(**SPEC).fit(big))
        case = f"Pareto/NBD 5+5 cov fit, {N_BIG:,} [{path}]"
        rows.append((case, big_s, None, "<= 10 s"))
    os.environ.pop("CUSTOMER_VALUE_NUMBA", None)
    fitted = fits.get("numba", fits.get("numpy"))
    if fitted is None:  # neither path requested: the default one
        fitted = ParetoNBDModel(**SPEC).fit(big)
    if "numba" in paths:  # also loads the kernels before the BG/NBD rows
        rows += first_calls(fitted, big.iloc[:2_000])
    bg_data = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426).simulate(
        N_BIG, 52.0, random_state=3
    )
    bg = BetaGeoModel().fit(bg_data)
    s, mb, _ = timed_peak(
        lambda: prediction_intervals(
            bg,
            bg_data,
            quantity="probability_alive",
            method="bootstrap",
            n_draws=200,
            random_state=0,
        )
    )
    rows.append((f"BG/NBD P(alive) bootstrap, {N_BIG:,} x 200 draws", s, None, _memory(mb)))
    s, mb, _ = timed_peak(lambda: prediction_intervals(bg, bg_data, t=39))
    rows.append((f"BG/NBD E[Y(39)] delta method, {N_BIG:,}", s, None, _memory(mb)))
    for path in paths:
        os.environ["CUSTOMER_VALUE_NUMBA"] = "1" if path == "numba" else "0"
        s, mb, _ = timed_peak(lambda: prediction_intervals(fitted, big, t=39))
        rows.append((f"Pareto/NBD+cov delta, {N_BIG:,} [{path}]", s, None, _memory(mb)))
        s, mb, _ = timed_peak(
            lambda: prediction_intervals(
                fitted, big, t=39, method="bootstrap", n_draws=200, random_state=0
            )
        )
        case = f"Pareto/NBD+cov bootstrap, {N_BIG:,} x 200 [{path}]"
        rows.append((case, s, None, _memory(mb)))
    os.environ.pop("CUSTOMER_VALUE_NUMBA", None)
    print(table("Covariates and intervals (seconds; speed-up = anchor / ours)", rows))
    print(
        "Pareto/NBD+cov rows: intervals of E[Y(39)]; rows without [path]: "
        f"{'numba' if accelerated() else 'numpy'} (BG/NBD: order statistics only)"
    )
    if COVERAGE_REPS:
        print(coverage(COVERAGE_REPS))


if __name__ == "__main__":
    main()
