"""nps_by vs a straightforward pandas groupby, same data, same run.

10,000,000 responses (0-10 ratings, 1% missing) in 1,000 groups, generated here. The
anchor is the obvious pandas code: ``groupby(group)[rating].agg`` with a Python function
computing the shares, the score and its standard error per group.
Target: nps_by <= 1 s.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _common import table, timed

from customer_value.survey import nps_by

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
N_GROUPS = 1_000


def make_responses(n: int, n_groups: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 11, size=n).astype(np.float64)
    ratings[rng.random(n) < 0.01] = np.nan
    return pd.DataFrame({"store": rng.integers(0, n_groups, size=n), "rating": ratings})


def anchor(df: pd.DataFrame) -> pd.DataFrame:
    def one(s: pd.Series) -> pd.Series:
        s = s.dropna()
        pro = (s >= 9).mean()
        det = (s <= 6).mean()
        se = 100 * np.sqrt((pro + det - (pro - det) ** 2) / len(s))
        return pd.Series({"score": 100 * (pro - det), "standard_error": se, "n": len(s)})

    return df.groupby("store")["rating"].apply(one).unstack()


def main() -> None:
    df = make_responses(N, N_GROUPS)
    ours_s, ours = timed(lambda: nps_by(df, "rating", "store"), repeat=3)
    anchor_s, theirs = timed(lambda: anchor(df))
    diff = float(np.abs(ours["score"].to_numpy() - theirs["score"].to_numpy()).max())
    diff_se = float(
        np.abs(ours["standard_error"].to_numpy() - theirs["standard_error"].to_numpy()).max()
    )
    print(f"max |ours - pandas| score: {diff:.2e}, standard error: {diff_se:.2e}")
    rows: list[tuple[str, float, float | None, str]] = [
        (f"nps_by {N:,} responses / {N_GROUPS:,} groups", ours_s, anchor_s, "ours <= 1 s")
    ]
    print(table("bench_survey: nps_by vs pandas groupby-apply", rows))


if __name__ == "__main__":
    main()
