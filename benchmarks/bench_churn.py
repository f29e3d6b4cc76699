"""churn: churn_risk with value at risk, cohort_retention and cap_contacts vs plain pandas.

Targets (issue 9): churn_risk with value at risk for 1,000,000 customers <= 1.5 s and (issue
17) >= 1x the bare pandas computation;
cohort_retention on 10,000,000 transactions <= 5 s; cap_contacts on 5,000,000 planned
contacts <= 5 s. Each is timed against a straightforward pandas implementation of the
same result on the same data in the same run, and the results are compared.

Usage: python benchmarks/bench_churn.py [scale]   (scale 1.0 = the sizes above)
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _common import table, timed
from scipy import special

from customer_value.churn import cap_contacts, churn_risk, cohort_retention
from customer_value.clv import BetaGeoModel, GammaGammaModel

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
N_CUSTOMERS = int(1_000_000 * SCALE)
N_TX = int(10_000_000 * SCALE)
N_CONTACTS = int(5_000_000 * SCALE)
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def pandas_risk(summary: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma written directly on Series (FHL 2005 eqs. 10 and 13)."""
    r, alpha, a, b = BGNBD.values()
    p, q, v = GG.values()
    x, tx, T = summary["frequency"], summary["recency"], summary["T"]
    ratio = a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
    p_alive = 1 / (1 + ratio.where(x > 0, 0.0))
    z = horizon / (alpha + T + horizon)
    hyp = pd.Series(special.hyp2f1(r + x, b + x, a + b + x - 1, z), index=summary.index)
    expected = (
        (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + horizon)) ** (r + x) * hyp)
    ) / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    spend = p * (v + x * summary["monetary_value"]) / (p * x + q - 1)
    out = pd.DataFrame({"p_alive": p_alive, "churn_probability": 1 - p_alive})
    out["risk_level"] = pd.cut(
        out["churn_probability"], [-np.inf, 0.3, 0.6, np.inf], right=False,
        labels=["low", "medium", "high"],
    )  # fmt: skip
    out["value_at_risk"] = (1 - p_alive) / p_alive * expected * spend
    return out


def pandas_cohorts(tx: pd.DataFrame) -> pd.DataFrame:
    month = tx["date"].dt.to_period("M")
    first = month.groupby(tx["customer_id"]).transform("min")
    age = month.astype("int64") - first.astype("int64")
    active = (
        pd.DataFrame({"cohort": first, "age": age, "customer": tx["customer_id"]})
        .drop_duplicates()
        .groupby(["cohort", "age"])
        .size()
        .unstack(fill_value=0)
    )
    sizes = tx.groupby(first)["customer_id"].nunique()
    return active.div(sizes, axis=0)


def pandas_cap(plan: pd.DataFrame, cap: int) -> pd.DataFrame:
    ordered = plan.assign(month=plan["timestamp"].dt.to_period("M")).sort_values(
        ["customer_id", "month", "priority", "timestamp"],
        ascending=[True, True, False, True],
        kind="stable",
    )
    rank = ordered.groupby(["customer_id", "month"]).cumcount()
    return plan.loc[ordered.index[rank.to_numpy() < cap].sort_values()]


Row = tuple[str, float, float | None, str]
START = np.datetime64("2022-01-01T00:00:00", "s").astype("datetime64[ns]")


def bench_risk(rng: np.random.Generator) -> Row:
    model = BetaGeoModel.from_params(**BGNBD)
    summary = model.simulate(N_CUSTOMERS, rng.uniform(1, 78, N_CUSTOMERS), random_state=1)
    assert isinstance(summary, pd.DataFrame)
    summary = summary[["frequency", "recency", "T"]]
    summary["monetary_value"] = np.where(
        summary["frequency"] > 0, np.round(rng.gamma(6.0, 6.0, N_CUSTOMERS), 2), 0.0
    )
    spend = GammaGammaModel.from_params(**GG)
    ours_s, ours = timed(
        lambda: churn_risk(model, summary, spend_model=spend, horizon=52), repeat=3
    )
    anchor_s, theirs = timed(lambda: pandas_risk(summary, 52.0))
    diff = float(np.nanmax(np.abs(ours["value_at_risk"] - theirs["value_at_risk"])))
    same = bool((ours["risk_level"].astype(str) == theirs["risk_level"].astype(str)).all())
    print(f"churn_risk: max |VaR ours - pandas| = {diff:.2e}; same risk levels: {same}")
    return (
        f"churn_risk + value at risk, {N_CUSTOMERS:,} customers",
        ours_s,
        anchor_s,
        "<= 1.5 s, >= 1x pandas",
    )


def bench_cohorts(rng: np.random.Generator) -> Row:
    n_cust = N_TX // 10
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cust, N_TX),
            "date": START + rng.integers(0, 730 * 86_400, N_TX).astype("timedelta64[s]"),
        }
    )
    ours_s, matrix = timed(lambda: cohort_retention(tx), repeat=2)
    anchor_s, oracle = timed(lambda: pandas_cohorts(tx))
    values = matrix.to_numpy()
    mask = ~np.isnan(values)
    diff = float(np.abs(values[mask] - oracle.to_numpy()[mask]).max())
    print(f"cohort_retention: max |ours - pandas| over observable cells = {diff:.2e}")
    return (f"cohort_retention, {N_TX:,} transactions", ours_s, anchor_s, "<= 5 s")


def bench_cap(rng: np.random.Generator) -> Row:
    plan = pd.DataFrame(
        {
            "customer_id": rng.integers(0, N_CONTACTS // 8, N_CONTACTS),
            "timestamp": START + rng.integers(0, 365 * 86_400, N_CONTACTS).astype("timedelta64[s]"),
            "channel": rng.choice(np.array(["sms", "email", "app"]), N_CONTACTS),
            "priority": rng.integers(0, 5, N_CONTACTS),
        }
    )
    ours_s, capped = timed(
        lambda: cap_contacts(plan, max_per_period=2, priority_col="priority"), repeat=2
    )
    anchor_s, kept = timed(lambda: pandas_cap(plan, 2))
    print(f"cap_contacts: same kept rows as pandas: {capped.kept.index.equals(kept.index)}")
    return (f"cap_contacts, {N_CONTACTS:,} planned contacts", ours_s, anchor_s, "<= 5 s")


def main() -> None:
    rng = np.random.default_rng(0)
    rows = [bench_risk(rng), bench_cohorts(rng), bench_cap(rng)]
    print(table(f"churn benchmarks (scale {SCALE:g})", rows))


if __name__ == "__main__":
    main()
