"""BG/NBD, Pareto/NBD: fit, predictions and simulation, ours vs lifetimes.

Data: customers simulated from BG/NBD (Pareto/NBD) parameters near the CDNOW
estimates, acquired uniformly over 52 weeks with recency and T on a daily grid
(times in weeks). Both libraries fit the same frame in the same run.

Usage: ``python benchmarks/bench_btyd.py [scale]``; ``scale`` (default 1) multiplies
every size: 1,000,000 customers for the BG/NBD fit, predictions and simulation, and
100,000 for the Pareto/NBD fit. lifetimes' generator is timed on 5,000 customers only
(it takes minutes for a million) and reported per that size. Our timings are the best
of three runs; lifetimes' (8-16 s each on the development machine) of one.

Targets: BG/NBD fit (1M) >= 30x lifetimes; Pareto/NBD fit (100k) >= 30x lifetimes;
expected_purchases + probability_alive (1M, two calls or one alive_and_expected_purchases)
>= 2x lifetimes (issue 17); simulate (1M)
<= 1 s.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from _common import table, timed

from customer_value.clv import BetaGeoModel, ParetoNBDModel

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
N_BG = max(int(1_000_000 * SCALE), 1000)
N_PARETO = max(int(100_000 * SCALE), 1000)
N_GENERATOR = 5_000
BG_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PARETO_PARAMS = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}


def daily_summary(model: BetaGeoModel | ParetoNBDModel, n: int, seed: int) -> pd.DataFrame:
    """Simulated summary with T and recency rounded down to whole days (in weeks)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 365, size=n) / 7.0
    sim = model.simulate(n, T, random_state=seed)
    assert isinstance(sim, pd.DataFrame)
    recency = np.floor(sim["recency"].to_numpy() * 7.0) / 7.0
    return pd.DataFrame(
        {"frequency": sim["frequency"].to_numpy(), "recency": recency, "T": T},
        index=sim.index,
    )


def main() -> None:
    warnings.simplefilter("ignore")
    rows: list[tuple[str, float, float | None, str]] = []
    try:
        import lifetimes
    except ImportError:  # pragma: no cover - the dev extra installs it
        lifetimes = None

    bg_data = daily_summary(BetaGeoModel.from_params(**BG_PARAMS), N_BG, seed=1)
    x, tx, T = (bg_data[c].to_numpy() for c in ("frequency", "recency", "T"))
    ours_s, ours = timed(lambda: BetaGeoModel().fit(bg_data), repeat=3)
    anchor_s = None
    if lifetimes is not None:
        anchor_s, theirs = timed(lambda: lifetimes.BetaGeoFitter().fit(x, tx, T))
        gap = np.max(np.abs(ours.params_.to_numpy() / theirs.params_.to_numpy() - 1))
        print(f"BG/NBD params, max relative gap to lifetimes: {gap:.1e}")
    rows.append((f"BG/NBD fit, {N_BG:,} customers", ours_s, anchor_s, ">= 30x lifetimes"))

    pareto_data = daily_summary(ParetoNBDModel.from_params(**PARETO_PARAMS), N_PARETO, seed=2)
    px, ptx, pT = (pareto_data[c].to_numpy() for c in ("frequency", "recency", "T"))
    ours_s, pareto = timed(lambda: ParetoNBDModel().fit(pareto_data), repeat=3)
    anchor_s = None
    if lifetimes is not None:
        anchor_s, theirs = timed(lambda: lifetimes.ParetoNBDFitter().fit(px, ptx, pT))
        gap = np.max(np.abs(pareto.params_.to_numpy() / theirs.params_.to_numpy() - 1))
        print(f"Pareto/NBD params, max relative gap to lifetimes: {gap:.1e}")
    rows.append((f"Pareto/NBD fit, {N_PARETO:,} customers", ours_s, anchor_s, ">= 30x lifetimes"))

    def predict() -> tuple[pd.Series, pd.Series]:
        return ours.expected_purchases(39, bg_data), ours.probability_alive(bg_data)

    ours_s, _ = timed(predict, repeat=3)
    anchor_s = None
    if lifetimes is not None:
        fitter = lifetimes.BetaGeoFitter()
        fitter.params_ = ours.params_.rename(None)

        def their_predict() -> None:
            fitter.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T)
            fitter.conditional_probability_alive(x, tx, T)

        anchor_s, _ = timed(their_predict)
    rows.append((f"BG/NBD E[purchases] + P(alive), {N_BG:,}", ours_s, anchor_s, ">= 2x lifetimes"))
    # the same two columns from one call (data validated and P(alive) computed once)
    both_s, _ = timed(lambda: ours.alive_and_expected_purchases(39, bg_data), repeat=3)
    rows.append((f"  same, alive_and_expected_purchases, {N_BG:,}", both_s, anchor_s, ">= 2x"))

    ours_s, _ = timed(lambda: ours.simulate(N_BG, 52.0, random_state=3), repeat=3)
    rows.append((f"BG/NBD simulate, {N_BG:,} customers", ours_s, None, "<= 1 s"))
    if lifetimes is not None:
        from lifetimes.generate_data import beta_geometric_nbd_model

        gen_ours, _ = timed(lambda: ours.simulate(N_GENERATOR, 52.0, random_state=4))
        gen_s, _ = timed(
            lambda: beta_geometric_nbd_model(52.0, *ours.params_.to_numpy(), size=N_GENERATOR)
        )
        rows.append(
            (f"BG/NBD simulate, {N_GENERATOR:,} (lifetimes generator)", gen_ours, gen_s, "-")
        )
    print(table("BTYD models: customer_value vs lifetimes (same data, same run)", rows))


if __name__ == "__main__":
    main()
