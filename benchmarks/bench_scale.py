"""Run where the data lives: transactions in Parquet -> summary -> compressed fit -> CLV.

Part 1 (DuckDB, Polars streaming, pandas): 100 million transactions of 10 million
customers over two years, written as Parquet by this script. Each pipeline runs in a fresh
process (its peak RSS is that process's ``ru_maxrss``): summarize_transactions in the
engine (weekly periods, weeks as the unit) -> sufficient_statistics -> BG/NBD and
Gamma-Gamma fits on the compressed tables -> 12-month (52-week) CLV of every customer,
written back to Parquet. Targets: DuckDB and Polars <= 90 s and peak RSS <= 8 GiB each.
The pandas path (read everything into one process) is reported for comparison; it runs
under an address-space cap of 14 GiB so that it cannot take the machine down, and is
reported as out of memory when it hits the cap.

Part 2 (Spark local[2]): 10 million transactions of 1 million customers. Ours:
summarize_transactions + customer_lifetime_value inside Spark (fits on sufficient
statistics in between). Anchor: the recipe users write today, lifetimes'
``summary_data_from_transaction_data`` and ``customer_lifetime_value`` applied per group
of customers with ``applyInPandas``, with the same fitted parameters. Target >= 3x, same
numbers (largest relative CLV difference reported).

Usage: ``python benchmarks/bench_scale.py [scale]``; ``scale`` (default 1) multiplies
every size. Data go to a temporary directory that is removed at the end.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 1.0
N_TX = int(100_000_000 * SCALE)
N_CUSTOMERS = int(10_000_000 * SCALE)
N_TX_SPARK = int(10_000_000 * SCALE)
N_CUSTOMERS_SPARK = int(1_000_000 * SCALE)
DAYS = 730
START = np.datetime64("2023-01-02", "us")
END = "2024-12-31"
PANDAS_CAP = 14 * 2**30
CHILD_TIMEOUT = float(os.environ.get("BENCH_SCALE_TIMEOUT", "900"))  # then reported as stopped
SUMMARY = {"period": "W", "time_unit": "W", "monetary_value_col": "amount"}
CLV = {"horizon": 52, "discount_rate": 0.10}


# --------------------------------------------------------------------------- data
def write_transactions(path: Path, n_tx: int, n_customers: int, seed: int) -> int:
    """Simulate BG/NBD purchasing with Gamma-Gamma spend; returns the number of rows.

    Customers join uniformly over two years; purchase rates (per week) are
    Gamma(r, alpha), dropout probabilities after each purchase Beta(a, b), amounts
    Gamma(p, nu) with nu ~ Gamma(q, gamma) per customer. The rate scale is set so that a
    customer makes ``n_tx / n_customers`` purchases on average.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    per_customer = n_tx / n_customers
    r, a, b = 2.0, 1.0, 30.0
    alpha = r / (0.0285 * per_customer)  # mean weekly rate, tuned to ~per_customer purchases
    p, q, gamma = 6.0, 4.0, 15.0
    schema = pa.schema(
        [("customer_id", pa.int64()), ("date", pa.timestamp("us")), ("amount", pa.float64())]
    )
    rows = 0
    chunk = 1_000_000
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for begin in range(0, n_customers, chunk):
            m = min(chunk, n_customers - begin)
            ids = np.arange(begin, begin + m, dtype=np.int64)
            first = rng.random(m) * DAYS  # first purchase, in days since START
            rate = rng.gamma(r, 1.0 / alpha, size=m) / 7.0  # purchases per day
            drop = rng.beta(a, b, size=m)
            # purchases before dropping out, capped where the window surely ends first
            window = rate * (DAYS - first)
            repeats = np.minimum(rng.geometric(drop) - 1, np.ceil(window + 6 * np.sqrt(window) + 6))
            repeats = repeats.astype(np.int64)
            # repeat purchases: exponential gaps, cumulated per customer, cut at the end
            owner = np.repeat(np.arange(m), repeats)
            gaps = rng.exponential(1.0, size=owner.size) / rate[owner]
            csum = np.cumsum(gaps)
            offsets = np.concatenate(([0.0], csum))[np.concatenate(([0], np.cumsum(repeats)))[:-1]]
            times = first[owner] + csum - offsets[owner]
            keep = times < DAYS
            owner = np.concatenate((np.arange(m), owner[keep]))
            days = np.concatenate((first, times[keep]))
            nu = rng.gamma(q, 1.0 / gamma, size=m)
            amount = np.round(rng.gamma(p, 1.0, size=owner.size) / nu[owner], 2)
            stamps = START + (days * 86_400e6).astype("timedelta64[us]")
            table = pa.Table.from_arrays([ids[owner], stamps, amount], schema=schema)
            writer.write_table(table)
            rows += table.num_rows
    return rows


# --------------------------------------------------------------------------- pipelines
def _fit(stats: Any, spend_stats: Any) -> tuple[Any, Any]:
    from customer_value.clv import BetaGeoModel, GammaGammaModel

    bg = BetaGeoModel().fit(stats, weights="n_customers", time_unit="W")
    gg = GammaGammaModel().fit(spend_stats, weights="n_customers")
    return bg, gg


def run_duckdb(src: str, out: str) -> dict[str, Any]:
    import duckdb

    from customer_value.clv import customer_lifetime_value
    from customer_value.data import sufficient_statistics, summarize_transactions

    duckdb.execute(
        "SET threads = 2; SET memory_limit = '6GB'; SET preserve_insertion_order = false"
    )
    tx = duckdb.read_parquet(src)
    summary = summarize_transactions(tx, observation_end=END, **SUMMARY)
    summary.create("summary")  # materialised once inside DuckDB
    summary = duckdb.table("summary")
    stats = sufficient_statistics(summary)
    spend = sufficient_statistics(
        summary.filter("frequency > 0"), columns=("frequency", "monetary_value")
    )
    bg, gg = _fit(stats, spend)
    clv = customer_lifetime_value(bg, gg, summary, **CLV)
    clv.write_parquet(out)
    return {"params": [*bg.params_.tolist(), *gg.params_.tolist()], "n": int(bg.n_)}


def run_polars(src: str, out: str) -> dict[str, Any]:
    import polars as pl

    from customer_value.clv import customer_lifetime_value
    from customer_value.data import sufficient_statistics, summarize_transactions

    tx = pl.scan_parquet(src)
    summary = summarize_transactions(tx, observation_end=END, **SUMMARY)
    summary = summary.collect(engine="streaming").lazy()  # 10M rows, computed once
    stats = sufficient_statistics(summary)
    spend = sufficient_statistics(
        summary.filter(pl.col("frequency") > 0), columns=("frequency", "monetary_value")
    )
    bg, gg = _fit(stats, spend)
    clv = customer_lifetime_value(bg, gg, summary, **CLV)
    clv.sink_parquet(out, engine="streaming")
    return {"params": [*bg.params_.tolist(), *gg.params_.tolist()], "n": int(bg.n_)}


def run_pandas(src: str, out: str) -> dict[str, Any]:
    import pandas as pd

    from customer_value.clv import customer_lifetime_value
    from customer_value.data import sufficient_statistics, summarize_transactions

    tx = pd.read_parquet(src)
    summary = summarize_transactions(tx, observation_end=END, **SUMMARY)
    del tx
    stats = sufficient_statistics(summary)
    spend = sufficient_statistics(
        summary[summary["frequency"] > 0], columns=("frequency", "monetary_value")
    )
    bg, gg = _fit(stats, spend)
    clv = customer_lifetime_value(bg, gg, summary, **CLV)
    clv.to_frame().to_parquet(out)
    return {"params": [*bg.params_.tolist(), *gg.params_.tolist()], "n": int(bg.n_)}


def child(name: str, src: str, out: str, result: str) -> None:
    """Run one pipeline in this (fresh) process and write its time to ``result``."""
    if name == "pandas":
        resource.setrlimit(resource.RLIMIT_AS, (PANDAS_CAP, PANDAS_CAP))
    start = time.perf_counter()
    try:
        info = {"duckdb": run_duckdb, "polars": run_polars, "pandas": run_pandas}[name](src, out)
        info["seconds"] = time.perf_counter() - start
    except MemoryError:
        info = {"seconds": time.perf_counter() - start, "oom": True}
    Path(result).write_text(json.dumps(info))


def measure(name: str, src: Path, work: Path) -> dict[str, Any]:
    """Run ``name`` in a child process; its wall time and peak RSS (GiB)."""
    result = work / f"{name}.json"
    env = {**os.environ, "POLARS_MAX_THREADS": "2"}
    cmd = [sys.executable, __file__, "--child", name, str(src), str(work / f"{name}.parquet")]
    proc = subprocess.Popen([*cmd, str(result)], env=env)
    deadline = time.perf_counter() + CHILD_TIMEOUT
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return {"timeout": True, "rss_gib": usage.ru_maxrss / 2**20}
        time.sleep(0.5)
    info: dict[str, Any] = json.loads(result.read_text()) if result.exists() else {}
    info["rss_gib"] = usage.ru_maxrss / 2**20
    if status != 0 and "seconds" not in info:
        info.update({"oom": True, "status": status})
    return info


# --------------------------------------------------------------------------- spark
def spark_part(src: Path, n_rows: int) -> list[str]:
    import warnings

    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as sf

    from customer_value.clv import customer_lifetime_value
    from customer_value.data import sufficient_statistics, summarize_transactions

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench_scale")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "6g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        tx = spark.read.parquet(str(src))
        tx.count()  # file listing and JVM warm-up outside the timings

        def ours() -> tuple[Any, Any, Any]:
            summary = summarize_transactions(tx, observation_end=END, **SUMMARY).cache()
            stats = sufficient_statistics(summary)
            spend = sufficient_statistics(
                summary.filter("frequency > 0"), columns=("frequency", "monetary_value")
            )
            bg, gg = _fit(stats, spend)
            clv = customer_lifetime_value(
                bg,
                gg,
                summary,
                horizon=12 * 4.345,
                steps_per_unit=1 / 4.345,
                discount_rate=0.01,
                discount_period=4.345,
            )
            local = clv.toPandas()
            summary.unpersist()
            return bg, gg, local

        start = time.perf_counter()
        bg, gg, ours_clv = ours()
        ours_s = time.perf_counter() - start

        r, alpha, a, b = bg.params_.tolist()
        p, q, v = gg.params_.tolist()

        def recipe(pdf: pd.DataFrame) -> pd.DataFrame:
            warnings.simplefilter("ignore")
            s = summary_data_from_transaction_data(
                pdf,
                "customer_id",
                "date",
                monetary_value_col="amount",
                freq="W",
                observation_period_end=END,
            )
            bgf = BetaGeoFitter()
            bgf.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})
            bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by fit
            ggf = GammaGammaFitter()
            ggf.params_ = pd.Series({"p": p, "q": q, "v": v})
            value = ggf.customer_lifetime_value(
                bgf,
                s["frequency"],
                s["recency"],
                s["T"],
                s["monetary_value"],
                time=12,
                discount_rate=0.01,
                freq="W",
            )
            return pd.DataFrame({"customer_id": s.index.to_numpy(), "clv": value.to_numpy()})

        start = time.perf_counter()
        anchor = (
            tx.groupBy((sf.col("customer_id") % 64).alias("g"))
            .applyInPandas(recipe, "customer_id long, clv double")
            .toPandas()
        )
        anchor_s = time.perf_counter() - start
        merged = ours_clv.merge(anchor, on="customer_id", suffixes=("", "_lt"))
        rel = np.abs(merged["clv"] - merged["clv_lt"]) / np.maximum(np.abs(merged["clv_lt"]), 1e-9)
        same = len(merged) == len(ours_clv) == len(anchor)

        # like for like: scoring a summary already in Spark, same parameters both sides
        summary = summarize_transactions(tx, observation_end=END, **SUMMARY).cache()
        summary.count()

        def score(pdf: pd.DataFrame) -> pd.DataFrame:
            warnings.simplefilter("ignore")
            bgf = BetaGeoFitter()
            bgf.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})
            bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
            ggf = GammaGammaFitter()
            ggf.params_ = pd.Series({"p": p, "q": q, "v": v})
            value = ggf.customer_lifetime_value(
                bgf,
                pdf["frequency"],
                pdf["recency"],
                pdf["T"],
                pdf["monetary_value"],
                time=12,
                discount_rate=0.01,
                freq="W",
            )
            return pd.DataFrame({"customer_id": pdf["customer_id"], "clv": value.to_numpy()})

        start = time.perf_counter()
        ours_scores = customer_lifetime_value(
            bg,
            gg,
            summary,
            horizon=12 * 4.345,
            steps_per_unit=1 / 4.345,
            discount_rate=0.01,
            discount_period=4.345,
        ).toPandas()
        ours_score_s = time.perf_counter() - start
        start = time.perf_counter()
        anchor_scores = (
            summary.groupBy((sf.col("customer_id") % 64).alias("g"))
            .applyInPandas(score, "customer_id long, clv double")
            .toPandas()
        )
        anchor_score_s = time.perf_counter() - start
        scored = ours_scores.merge(anchor_scores, on="customer_id", suffixes=("", "_lt"))
        rel_score = np.abs(scored["clv"] - scored["clv_lt"]) / np.maximum(
            np.abs(scored["clv_lt"]), 1e-9
        )
        summary.unpersist()
    finally:
        spark.stop()
    from _common import table

    rows = [
        (f"Spark local[2], {n_rows:,} tx: summary+fit+CLV", ours_s, anchor_s, ">= 3x"),
        (f"Spark local[2], {len(scored):,} customers: CLV scoring only", ours_score_s,
         anchor_score_s, "like for like"),
    ]  # fmt: skip
    return [
        table("bench_scale: Spark, ours vs applyInPandas + lifetimes", rows),
        f"same customers: {same} ({len(merged):,}); largest relative CLV difference: "
        f"{float(rel.max()):.2e} (end to end), {float(rel_score.max()):.2e} (scoring only)",
    ]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"load average (1/5/15 min) at the end of the table: {one:.1f} / {five:.1f} / {fifteen:.1f}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        work = Path(tmp)
        src = work / "transactions.parquet"
        start = time.perf_counter()
        n_rows = write_transactions(src, N_TX, N_CUSTOMERS, seed=1)
        size = src.stat().st_size / 2**30
        took = time.perf_counter() - start
        print(
            f"wrote {n_rows:,} transactions of {N_CUSTOMERS:,} customers "
            f"({size:.2f} GiB Parquet) in {took:.0f} s",
            flush=True,
        )
        results = {name: measure(name, src, work) for name in ("duckdb", "polars", "pandas")}
        lines = [
            f"bench_scale: {n_rows:,} transactions / {N_CUSTOMERS:,} customers, Parquet -> "
            "summary -> compressed BG/NBD + Gamma-Gamma fit -> 52-week CLV -> Parquet",
            f"| {'engine':<22} | {'seconds':>8} | {'peak RSS (GiB)':>14} | target",
            f"|{'-' * 24}|{'-' * 10}|{'-' * 16}|{'-' * 30}",
        ]
        for name, info in results.items():
            target = "<= 90 s, <= 8 GiB" if name != "pandas" else "reported (cap 14 GiB)"
            label = {"duckdb": "DuckDB", "polars": "Polars (streaming)", "pandas": "pandas"}[name]
            if info.get("timeout"):
                lines.append(
                    f"| {label:<22} | {'>' + str(int(CHILD_TIMEOUT)):>8} | {info['rss_gib']:14.2f} "
                    f"| {target} (stopped after {CHILD_TIMEOUT:.0f} s)"
                )
            elif info.get("oom"):
                lines.append(
                    f"| {label:<22} | {'OOM':>8} | {info['rss_gib']:14.2f} | {target} "
                    f"(out of memory after {info.get('seconds', float('nan')):.0f} s)"
                )
            else:
                lines.append(
                    f"| {label:<22} | {info['seconds']:8.1f} | {info['rss_gib']:14.2f} | {target}"
                )
        params = np.array([info["params"] for info in results.values() if "params" in info])
        spread = float(np.max(np.ptp(params, axis=0) / np.abs(params).max(axis=0)))
        lines.append(
            f"fitted (r, alpha, a, b, p, q, v): largest relative spread across engines {spread:.1e}"
        )
        lines.append(_load())
        print("\n".join(lines), flush=True)

        spark_src = work / "spark.parquet"
        n_spark = write_transactions(spark_src, N_TX_SPARK, N_CUSTOMERS_SPARK, seed=2)
        print("\n".join([*spark_part(spark_src, n_spark), _load()]), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
