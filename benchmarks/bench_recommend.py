"""recommend: item-item top-10 vs implicit, association rules vs mlxtend.

Targets (issue 18): item-item similarity and top-10 for 1,000,000 customers x 50,000
items (20,000,000 interactions) <= 60 s and <= 8 GiB, with the ratio against
``implicit.nearest_neighbours.CosineRecommender`` on the same data; association rules on
1,000,000 baskets with the ratio against ``mlxtend`` (apriori + association_rules).

Each case runs in its own forked process; "peak RSS" is that process's high-water mark,
which includes the input data it inherited; "CPU" is its user + system time (all threads),
which a loaded machine inflates less than the wall time. The load average is printed with
the table: the machine is shared, so compare the ratios, measured in the same run.
mlxtend needs a dense one-hot table and is measured on a subset of the baskets (stated in
the table); ours runs on the same subset for the ratio and on the full million. The
item-item case also counts, over the first 2,000 customers, how many top-10 lists equal
implicit's: the scores (relative 1e-6) and the items in order (which may differ only where
scores tie: 0/1 purchases give many exact ties, broken by item order here and in no
documented order by implicit).

Usage: python benchmarks/bench_recommend.py [scale]   (scale 1.0 = the sizes above)
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from customer_value.recommend import ItemItemRecommender, association_rules

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
N_CUSTOMERS = int(1_000_000 * SCALE)
N_ITEMS = max(100, int(50_000 * SCALE))
N_LINES = int(20_000_000 * SCALE)
N_BASKETS = int(1_000_000 * SCALE)
MLXTEND_BASKETS = int(min(N_BASKETS, 100_000))
N_THREADS = 2


def _peak_rss_gib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(fn: Callable[[], Any], queue: Any) -> None:
    start, cpu = time.perf_counter(), _cpu()
    info = fn()
    queue.put((time.perf_counter() - start, _peak_rss_gib(), (_cpu() - cpu, info)))


def measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds, peak RSS (GiB) and (CPU seconds, what ``fn`` returned), forked."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result  # type: ignore[no-any-return]


def interactions(seed: int = 0) -> pd.DataFrame:
    """Customers and items with Zipf-like item popularity (exponent 0.8)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8
    items = rng.choice(N_ITEMS, N_LINES, p=weights / weights.sum()).astype(np.int32)
    customers = rng.integers(0, N_CUSTOMERS, N_LINES, dtype=np.int32)
    return pd.DataFrame({"customer_id": customers, "item": items})


def baskets(n: int, seed: int = 1) -> pd.DataFrame:
    """Baskets of 1 + Poisson(3) items from 2,000, Zipf-like, with planted pairs."""
    rng = np.random.default_rng(seed)
    n_items = 2_000
    weights = 1.0 / np.arange(1, n_items + 1) ** 1.0
    size = 1 + rng.poisson(3.0, n)
    order = np.repeat(np.arange(n), size)
    item = rng.choice(n_items, order.size, p=weights / weights.sum())
    partner = np.where(item % 7 == 0, (item + 1) % n_items, -1)
    add = (partner >= 0) & (rng.random(order.size) < 0.5)
    order = np.concatenate([order, order[add]])
    item = np.concatenate([item, partner[add]])
    return pd.DataFrame({"order_id": order, "item": item})


def ours_itemitem(log: pd.DataFrame) -> Callable[[], Any]:
    def run() -> Any:
        start, cpu = time.perf_counter(), _cpu()
        model = ItemItemRecommender(n_neighbours=20, n_jobs=N_THREADS).fit(log)
        fitted = (time.perf_counter() - start, _cpu() - cpu)
        recs = model.recommend(n=10)
        sample = recs[(recs["customer_id"] < 2_000) & (recs["source"] == "item_item")]
        top = sample.groupby("customer_id")[["item", "score"]].agg(tuple)
        return fitted, {u: (r["item"], np.array(r["score"])) for u, r in top.iterrows()}

    return run


def implicit_itemitem(log: pd.DataFrame) -> Callable[[], Any]:
    def run() -> Any:
        from implicit.nearest_neighbours import CosineRecommender

        X = sp.csr_matrix(
            (np.ones(len(log)), (log["customer_id"].to_numpy(), log["item"].to_numpy())),
            shape=(N_CUSTOMERS, N_ITEMS),
        )
        X.sum_duplicates()
        model = CosineRecommender(K=21, num_threads=N_THREADS)  # 20 neighbours + itself
        start, cpu = time.perf_counter(), _cpu()
        model.fit(X, show_progress=False)
        fitted = (time.perf_counter() - start, _cpu() - cpu)
        users = np.arange(N_CUSTOMERS)
        ids, scores = model.recommend(users, X, N=10, filter_already_liked_items=True)
        top = {}
        for u in range(min(2_000, N_CUSTOMERS)):
            real = (ids[u] >= 0) & (scores[u] > 0)
            top[u] = (tuple(ids[u][real]), scores[u][real])
        return fitted, top

    return run


def ours_rules(data: pd.DataFrame) -> Callable[[], Any]:
    def run() -> Any:
        return len(association_rules(data, min_support=0.001, min_confidence=0.2, max_len=3))

    return run


def mlxtend_rules(data: pd.DataFrame) -> Callable[[], Any]:
    def run() -> Any:
        from mlxtend.frequent_patterns import apriori
        from mlxtend.frequent_patterns import association_rules as mlx_rules

        onehot = pd.crosstab(data["order_id"], data["item"]).astype(bool)
        sets = apriori(onehot, min_support=0.001, max_len=3, low_memory=True)
        rules = mlx_rules(sets, len(onehot), metric="confidence", min_threshold=0.2)
        return int((rules["consequents"].map(len) == 1).sum())

    return run


def main() -> None:
    rows: list[str] = []
    header = (
        f"| {'case':<58} | {'time (s)':>8} | {'CPU (s)':>7} | {'peak RSS (GiB)':>14} | "
        f"{'ratio':>7} |\n"
        f"|{'-' * 60}|{'-' * 10}|{'-' * 9}|{'-' * 16}|{'-' * 9}|"
    )
    log = interactions()
    label = f"{N_CUSTOMERS:,} customers x {N_ITEMS:,} items, {N_LINES:,} lines"
    t_ours, m_ours, (c_ours, ((f_ours, fc_ours), top_ours)) = measure(ours_itemitem(log))
    try:
        t_imp, m_imp, (c_imp, ((f_imp, fc_imp), top_imp)) = measure(implicit_itemitem(log))
    except ImportError:
        t_imp = m_imp = c_imp = f_imp = fc_imp = float("nan")
        top_imp = {}
    same_items = sum(top_ours.get(u, ((),))[0] == ids for u, (ids, _) in top_imp.items())
    same_scores = sum(
        u in top_ours
        and len(top_ours[u][1]) == len(sc)
        and np.allclose(top_ours[u][1], sc, rtol=1e-6, atol=0)
        for u, (_, sc) in top_imp.items()
    )
    rows.append(
        f"| {'ours: fit + top-10 for all, ' + label:<58} | {t_ours:8.1f} | {c_ours:7.1f} | "
        f"{m_ours:14.2f} | {'1.0':>7} |"
    )
    rows.append(
        f"| {'  of which similarity (fit)':<58} | {f_ours:8.1f} | {fc_ours:7.1f} | {'':>14} | "
        f"{'1.0':>7} |"
    )
    rows.append(
        f"| {'implicit CosineRecommender (K=21), same data':<58} | {t_imp:8.1f} | "
        f"{c_imp:7.1f} | {m_imp:14.2f} | {t_imp / t_ours:6.2f}x |"
    )
    rows.append(
        f"| {'  of which similarity (fit)':<58} | {f_imp:8.1f} | {fc_imp:7.1f} | {'':>14} | "
        f"{f_imp / f_ours:6.2f}x |"
    )
    agree = f"  first {len(top_imp):,} customers: same scores {same_scores:,}, items {same_items:,}"
    rows.append(f"| {agree:<58} | {'':>8} | {'':>7} | {'':>14} | {'':>7} |")
    del log
    full = baskets(N_BASKETS)
    subset = full[full["order_id"] < MLXTEND_BASKETS]
    t_full, m_full, (c_full, n_full) = measure(ours_rules(full))
    t_sub, m_sub, (c_sub, n_sub) = measure(ours_rules(subset))
    try:
        t_mlx, m_mlx, (c_mlx, n_mlx) = measure(mlxtend_rules(subset))
    except ImportError:
        t_mlx = m_mlx = c_mlx = float("nan")
        n_mlx = -1
    rows.append(
        f"| {f'ours: rules, {N_BASKETS:,} baskets ({n_full} rules)':<58} | "
        f"{t_full:8.1f} | {c_full:7.1f} | {m_full:14.2f} | {'-':>7} |"
    )
    rows.append(
        f"| {f'ours: rules, {MLXTEND_BASKETS:,}-basket subset ({n_sub} rules)':<58} | "
        f"{t_sub:8.1f} | {c_sub:7.1f} | {m_sub:14.2f} | {'1.0':>7} |"
    )
    rows.append(
        f"| {f'mlxtend apriori+rules, same subset ({n_mlx} rules)':<58} | "
        f"{t_mlx:8.1f} | {c_mlx:7.1f} | {m_mlx:14.2f} | {t_mlx / t_sub:6.2f}x |"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"recommend: ours vs implicit / mlxtend (ratio = anchor time / ours); load {load}")
    print(header)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
