"""Customer value: CLV for a million customers and the BG/BB fit, ours vs lifetimes.

Data: 1,000,000 customers simulated from BG/NBD parameters near the CDNOW estimates,
acquired uniformly over 52 weeks with recency and T on a daily grid (times in weeks),
spend from the Gamma-Gamma model; the bundled donations data for the BG/BB.

CLV settings shared by both libraries: 12 monthly cash flows, a month of 4.345 weeks (the
length lifetimes hard-codes for weekly data), 1% a month.

Usage: ``python benchmarks/bench_value.py [scale] [anchor_scale]``: ``scale`` (default 1)
multiplies the number of customers; ``anchor_scale`` (default ``scale``) the number that
lifetimes values (its CLV is slow; the speed-up is then computed per customer and the
row says so).

The BG/BB fit takes milliseconds, so its best of ten runs is reported: on a busy shared
machine single runs vary tenfold (L-BFGS-B's BLAS threads wait for a core).

Long horizons (issue 17, bug 7) on the CDNOW summary (2,357 customers, BG/NBD and
Gamma-Gamma fitted): 120 monthly cash flows against lifetimes (same schedule, same run),
and 5,200 weekly cash flows against ten times our own 520-step time in the same run (a
speed-up >= 1x means the cost grows at most linearly with the number of steps).

Targets: CLV (1M) <= 2 s and >= 20x lifetimes' ``customer_lifetime_value``; BG/BB fit on
the donations data <= 0.1 s; CLV 5,200 steps <= 10x the cost of 520 (>= 1x).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
from _common import table, timed

from customer_value.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
)
from customer_value.datasets import load_cdnow_summary, load_donations

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
ANCHOR_SCALE = float(sys.argv[2]) if len(sys.argv) > 2 else SCALE
N = max(int(1_000_000 * SCALE), 1000)
N_ANCHOR = max(int(1_000_000 * ANCHOR_SCALE), 1000)
BG_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG_PARAMS = {"p": 6.25, "q": 3.74, "v": 15.44}
MONTH = 4.345


def simulated(n: int, seed: int) -> pd.DataFrame:
    """BG/NBD summary on a daily grid, with Gamma-Gamma mean spend for repeaters."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 365, size=n) / 7.0
    sim = BetaGeoModel.from_params(**BG_PARAMS).simulate(n, T, random_state=seed)
    assert isinstance(sim, pd.DataFrame)
    x = sim["frequency"].to_numpy()
    recency = np.floor(sim["recency"].to_numpy() * 7.0) / 7.0
    p, q, v = GG_PARAMS.values()
    nu = rng.gamma(q, 1.0 / v, size=n)
    zbar = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1))), 0.0)
    frame = pd.DataFrame({"frequency": x, "recency": recency, "T": T, "monetary_value": zbar})
    frame.attrs["time_unit"] = "W"
    return frame


def main() -> None:
    warnings.simplefilter("ignore")
    rows: list[tuple[str, float, float | None, str]] = []
    try:
        import lifetimes
    except ImportError:  # pragma: no cover - the dev extra installs it
        lifetimes = None

    data = simulated(N, seed=1)
    bg = BetaGeoModel.from_params(time_unit="W", **BG_PARAMS)
    gg = GammaGammaModel.from_params(**GG_PARAMS)

    def ours_clv(frame: pd.DataFrame) -> pd.Series:
        return customer_lifetime_value(
            bg,
            gg,
            frame,
            horizon=12 * MONTH,
            discount_rate=0.01,
            discount_period=MONTH,
            steps_per_unit=1 / MONTH,
        )

    ours_s, ours = timed(lambda: ours_clv(data), repeat=2)
    anchor_s = None
    note = ""
    if lifetimes is not None:
        sub = data.iloc[:N_ANCHOR]
        their_s, theirs = timed(lambda: lifetimes_clv(lifetimes, bg, gg, sub, months=12))
        gap = np.max(np.abs(ours.iloc[:N_ANCHOR].to_numpy() / theirs.to_numpy() - 1))
        print(f"CLV, max relative gap to lifetimes on {N_ANCHOR:,} customers: {gap:.1e}")
        anchor_s = their_s * N / N_ANCHOR
        if N_ANCHOR != N:
            note = f" (lifetimes on {N_ANCHOR:,}, scaled x{N / N_ANCHOR:g})"
    rows.append((f"CLV 12 months, {N:,} customers{note}"[:48], ours_s, anchor_s, "<= 2 s, >= 20x"))
    if note:
        print(f"note: lifetimes ran on {N_ANCHOR:,} customers; its time is scaled linearly")

    rows += long_horizons(lifetimes)

    donations = load_donations()
    BetaGeoBetaBinomModel().fit(donations)  # warm-up (imports, first calls)
    ours_s, _ = timed(lambda: BetaGeoBetaBinomModel().fit(donations), repeat=10)
    anchor_s = None
    if lifetimes is not None:
        d = donations
        anchor_s, _ = timed(
            lambda: lifetimes.BetaGeoBetaBinomFitter().fit(
                d["frequency"], d["recency"], d["n_periods"], weights=d["weights"]
            ),
            repeat=3,
        )
    rows.append(("BG/BB fit, donations (11,104 donors)", ours_s, anchor_s, "<= 0.1 s"))
    print(table("customer value (clv): ours vs lifetimes", rows))


def lifetimes_clv(
    lifetimes: Any, bg: BetaGeoModel, gg: GammaGammaModel, frame: pd.DataFrame, *, months: int
) -> pd.Series:
    """lifetimes' CLV with our parameters: monthly (4.345-week) cash flows, 1% a month."""
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(dict(bg.params_))
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series(dict(gg.params_))
    out: pd.Series = ggf.customer_lifetime_value(
        bgf,
        frame["frequency"],
        frame["recency"],
        frame["T"],
        frame["monetary_value"],
        time=months,
        discount_rate=0.01,
        freq="W",
    )
    return out


def long_horizons(lifetimes: Any) -> list[tuple[str, float, float | None, str]]:
    """CLV of the CDNOW customers over long horizons (issue 17, bug 7)."""
    cdnow = load_cdnow_summary()
    bg, gg = BetaGeoModel().fit(cdnow), GammaGammaModel().fit(cdnow)

    def ours(steps: int, per_week: float) -> pd.Series:
        return customer_lifetime_value(
            bg,
            gg,
            cdnow,
            horizon=steps / per_week,
            discount_rate=0.01,
            discount_period=MONTH,
            steps_per_unit=per_week,
        )

    rows: list[tuple[str, float, float | None, str]] = []
    ours_s, _ = timed(lambda: ours(120, 1 / MONTH), repeat=2)
    anchor_s = None
    if lifetimes is not None:
        anchor_s, _ = timed(lambda: lifetimes_clv(lifetimes, bg, gg, cdnow, months=120))
    rows.append(("CLV CDNOW, 120 monthly steps (vs lifetimes)", ours_s, anchor_s, ">= 20x"))
    short_s, _ = timed(lambda: ours(520, 1.0), repeat=2)
    long_s, _ = timed(lambda: ours(5200, 1.0), repeat=2)
    rows.append(("CLV CDNOW, 520 weekly steps", short_s, None, "-"))
    rows.append(("CLV CDNOW, 5,200 weekly steps (vs 10 x 520)", long_s, 10 * short_s, ">= 1x"))
    return rows


if __name__ == "__main__":
    main()
